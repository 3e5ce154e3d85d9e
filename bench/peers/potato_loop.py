"""Side by side: the labeling loop on Potato 2.12 (`potato-annotation`) and on critiquelab.

    python3.11 -m venv /tmp/potato-venv
    /tmp/potato-venv/bin/pip install potato-annotation==2.12.1 gunicorn
    .venv/bin/python bench/peers/potato_loop.py [--loops 192] [--levels 1,8,32] [--rounds 2]
    .venv/bin/python bench/peers/potato_loop.py --potato-server werkzeug   # `potato start`
    .venv/bin/python bench/peers/potato_loop.py --no-ours --loops 20       # Potato only, smoke

Potato runs from its own virtual environment (--potato-python), never ours. The script
writes a Potato project in a temp dir (2,000 instances: passage ~2.4k chars + question +
answer; a `text` scheme with 3 boxes for the critiques and a 7-point `likert` for the
rating), serves it the way Potato's published image does (gunicorn, 1 worker, 8 threads:
`GUNICORN_WORKERS=1`, `GUNICORN_THREADS=8`, potato/deploy) or with `potato start`
(Werkzeug, threaded), and signs in one fresh account per client (`POST /auth`,
passwordless; the Flask session cookie is carried by the client).

Potato's loop is what its annotation page does for one item (potato/static/annotation.js):
  1. `GET /annotate`: the page with the current instance (HTML, the instance id in it)
  2. `POST /updateinstance`: the 3 critiques and the rating as JSON
     (`{"instance_id", "annotations": {"critiques:critique_1": text, ..., "rating:4": "4"}}`)
  3. `POST /annotate` `{"action": "next_instance"}` with `X-Potato-Navigation: 1`
     (the page's Next button; the header makes it answer JSON instead of a page)
critiquelab's loop is bench/labeler_loop.py's (`POST /api/v1/tasks/next`,
`GET /api/v1/tasks/{id}`, `POST /api/v1/tasks/{id}/submit`), on PostgreSQL 15 with its
default durability, one `critiquelab serve` process. Every request on both opens a new TCP
connection (`Connection: close`), through the same lean client (bench/raw_client.py).

Each level runs on Potato and on critiquelab one after the other, --rounds times (the
order alternates), with fresh accounts each time, so the machine's load drift falls on
both. After each Potato run its annotation store (annotation_output/<user>/
user_state.json) is read back: the instances holding 3 critiques and a rating must equal
the loops counted. Prints one JSON line per run, then one summary per level with ratios.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.labeler_loop import (  # noqa: E402
    Failed,
    _postmaster_pid,
    _start_server,
    build_experiment,
    client_loops,
    measure,
    run_level,
    timed_request,
)
from bench.raw_client import RawClient  # noqa: E402

INSTANCE_ID = re.compile(rb'name="instance_id" type="hidden" value="([^"]*)"')
SCHEMES = [
    {
        "annotation_type": "text",
        "name": "critiques",
        "description": "Three critiques of the answer.",
        "labels": ["critique_1", "critique_2", "critique_3"],
    },
    {
        "annotation_type": "likert",
        "name": "rating",
        "description": "How good is the answer? (1-7)",
        "size": 7,
        "min_label": "Very poor",
        "max_label": "Excellent",
    },
]


# --- the Potato project and server ---------------------------------------------------


def write_project(folder: Path, n_instances: int, assignment: str) -> Path:
    """A Potato task: data/instances.jsonl and config.yaml (JSON is valid YAML)."""
    (folder / "data").mkdir(parents=True)
    with open(folder / "data" / "instances.jsonl", "w") as out:
        for i in range(n_instances):
            passage = f"Passage number {i}. " + "The keeper wrote the weather. " * 80
            question = f"What does passage {i} say?"
            answer = f"Answer to question {i}: the keeper wrote the weather."
            text = f"{passage}\n\nQuestion: {question}\n\nAnswer: {answer}"
            row = {"id": f"t{i}", "text": text, "passage": passage}
            out.write(json.dumps({**row, "question": question, "answer": answer}) + "\n")
    config = {
        "annotation_task_name": "critique-bench",
        "task_dir": str(folder),
        "output_annotation_dir": str(folder / "annotation_output"),
        "data_files": ["data/instances.jsonl"],
        "item_properties": {"id_key": "id", "text_key": "text"},
        "user_config": {"allow_all_users": True, "users": []},
        "require_password": False,  # passwordless: POST /auth creates the account
        # One labeler per instance, as critiquelab's experiment hands each task to one
        # labeler. Potato's default order, fixed_order, assigns every labeler the whole
        # list from the top, so concurrent labelers annotate the same instances;
        # least_annotated with a cap of 1 hands out instances nobody holds.
        "num_annotators_per_item": 1,
        "assignment_strategy": assignment,
        "host": "127.0.0.1",
        "annotation_schemes": SCHEMES,
    }
    path = folder / "config.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


def start_potato(
    potato_python: str, config: Path, port: int, mode: str, threads: int
) -> tuple[subprocess.Popen[bytes], str]:
    folder = config.parent
    log = open(folder / "server.log", "ab")  # noqa: SIM115
    env = dict(os.environ, POTATO_NONINTERACTIVE="1")
    env.pop("PYTHONPATH", None)
    if mode == "gunicorn":
        gunicorn = Path(potato_python).with_name("gunicorn")
        if not gunicorn.exists():
            raise SystemExit(
                f"{gunicorn} missing: {Path(potato_python).parent}/pip install gunicorn"
            )
        cmd = [
            str(gunicorn),
            "--workers",
            "1",
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            f"potato.flask_server:create_app('{config}')",
        ]
    else:  # `potato start`: Flask's Werkzeug server, threaded=True, no reloader
        cmd = [potato_python, "-m", "potato", "start", str(config), "-p", str(port)]
        cmd += ["--host", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"Potato exited: see {folder / 'server.log'}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("Potato did not start")


async def potato_login(base: str, names: list[str]) -> list[RawClient]:
    clients = []
    for name in names:
        c = RawClient(base, cookies=True)
        r = await c.request("POST", "/auth", form={"email": name})
        if r.status_code != 302 or "session" not in c.cookies:
            raise RuntimeError(f"Potato login of {name}: {r.status_code} {r.text[:200]}")
        clients.append(c)
    return clients


async def run_potato_level(
    clients: list[RawClient], loops_wanted: int, server_pid: int
) -> dict[str, Any]:
    concurrency = len(clients)
    per_client = max(1, loops_wanted // concurrency)
    timings: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    nav = {"X-Potato-Navigation": "1"}

    async def timed(c: RawClient, kind: str, method: str, path: str, **kw: Any) -> Any:
        return await timed_request(c, timings, errors, kind, method, path, **kw)

    async def one_loop(c: RawClient) -> str | None:
        page = await timed(c, "annotate", "GET", "/annotate")
        found = INSTANCE_ID.search(page.content) if page.status_code == 200 else None
        if found is None:  # a redirect (/done: nothing left) or a page without an item
            errors[f"annotate no item {page.status_code}"] += 1
            return None
        iid = found.group(1).decode()
        annotations = {
            f"critiques:critique_{k + 1}": f"Flaw {k} of {iid}: the answer misses a point."
            for k in range(3)
        }
        annotations["rating:4"] = "4"
        body = {
            "instance_id": iid,
            "annotations": annotations,
            "cleared_schemas": [],
            "span_annotations": [],
            "client_timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        saved = await timed(c, "update", "POST", "/updateinstance", json=body)
        if saved.json().get("status") != "success":
            errors["update refused"] += 1
            raise Failed(saved.text[:200])
        moved = await timed(
            c,
            "next",
            "POST",
            "/annotate",
            json={"action": "next_instance", "instance_id": iid},
            headers=nav,
        )
        if moved.status_code != 200:
            errors[f"next {moved.status_code}"] += 1
        return iid

    async def client(c: RawClient) -> int:
        return await client_loops(c, per_client, one_loop, timings["loop"])

    return await measure([client(c) for c in clients], server_pid, None, timings, errors)


def stored_annotations(output_dir: Path, names: list[str]) -> dict[str, list[str]]:
    """Per user, the instances Potato stored with 3 non-empty critiques (naming that
    instance) and a 1-7 rating, read from its files."""
    found: dict[str, list[str]] = {}
    for name in names:
        path = output_dir / name / "user_state.json"
        if not path.exists():
            found[name] = []
            continue
        state = json.loads(path.read_text())
        complete = []
        for iid, pairs in state.get("instance_id_to_label_to_value", {}).items():
            crit = [v for lab, v in pairs if lab["schema"] == "critiques" and iid in str(v)]
            rating = [v for lab, v in pairs if lab["schema"] == "rating" and v in "1234567"]
            if len(crit) == 3 and len(rating) == 1:
                complete.append(iid)
        found[name] = complete
    return found


# --- the run ---------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "load_avg": os.getloadavg()}


def _potato_versions(potato_python: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m\n"
        "for p in ('potato-annotation','flask','werkzeug','gunicorn'):\n"
        "    try: print(p, m.version(p))\n"
        "    except Exception: print(p, '-')\n"
    )
    out = subprocess.run([potato_python, "-c", code], capture_output=True, text=True, check=True)
    return dict(line.split() for line in out.stdout.splitlines())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--potato-python", default="/tmp/potato-venv/bin/python")
    ap.add_argument("--potato-server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    ap.add_argument(
        "--assignment",
        default="least_annotated",
        help="Potato assignment_strategy (its default: fixed_order, see write_project)",
    )
    ap.add_argument("--threads", type=int, default=8, help="gunicorn threads (Potato's: 8)")
    ap.add_argument("--tasks", type=int, default=2000, help="Potato instances; our tasks")
    ap.add_argument("--loops", type=int, default=192, help="loops per level per system")
    ap.add_argument("--levels", default="1,8,32")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds per level")
    ap.add_argument("--no-ours", action="store_true", help="Potato only")
    ap.add_argument("--keep", action="store_true", help="keep the Potato project dir")
    args = ap.parse_args()

    from tests.support.model_server import free_port
    from tests.support.postgres import PostgresServer

    levels = [int(x) for x in args.levels.split(",")]
    per_run = max(1, args.loops // args.rounds)
    needed = sum(max(1, per_run // c) * c for c in levels) * args.rounds + 5
    if needed > args.tasks:
        raise SystemExit(f"{args.tasks} instances < {needed} loops: raise --tasks")
    print(json.dumps({"machine": _machine(), "potato": _potato_versions(args.potato_python)}))
    systems = ["potato"] if args.no_ours else ["potato", "critiquelab"]
    folder = Path(tempfile.mkdtemp(prefix="potato-bench-"))
    potato = ours = pg = None
    try:
        config = write_project(folder / "task", args.tasks, args.assignment)
        potato, pbase = start_potato(
            args.potato_python, config, free_port(), args.potato_server, args.threads
        )
        output_dir = folder / "task" / "annotation_output"
        names = {
            (r, c): [f"r{r}_c{c}_{i}" for i in range(c)] for r in range(args.rounds) for c in levels
        }
        if not args.no_ours:
            pg = PostgresServer.start(durable=True)
            os.environ["CRITIQUELAB_DATABASE_URL"] = url = pg.url("postgres")
            os.environ.setdefault("CRITIQUELAB_SECRET_KEY", "bench-secret-key-0123456789abcdef")
            from app.core.database import session_scope
            from app.core.migrations import upgrade
            from app.users.service import api_token_for

            upgrade(url=url)
            accounts = [n for group in names.values() for n in group] + ["warm"]
            build_experiment(args.tasks, accounts)
            with session_scope() as db:
                tokens = {k: [api_token_for(db, n) for n in group] for k, group in names.items()}
                warm_token = api_token_for(db, "warm")
            ours, obase = _start_server(free_port(), False)
            pg_pid = _postmaster_pid(pg)
            asyncio.run(run_level(obase, [warm_token], 5, "issue", ours.pid, pg_pid))
        # Warm-up (imports, template compilation) on an account of its own, not counted.
        warm = asyncio.run(potato_login(pbase, ["warm"]))
        asyncio.run(run_potato_level(warm, 5, potato.pid))
        print(json.dumps({"potato_server": args.potato_server, "potato_dir": str(folder)}))

        runs: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        checks: list[dict[str, Any]] = []
        for level in levels:
            for r in range(args.rounds):
                order = systems if r % 2 == 0 else systems[::-1]
                for system in order:
                    if system == "potato":
                        clients = asyncio.run(potato_login(pbase, names[(r, level)]))
                        result = asyncio.run(run_potato_level(clients, per_run, potato.pid))
                        stored = stored_annotations(output_dir, names[(r, level)])
                        n_stored = sum(len(v) for v in stored.values())
                        check = {
                            "stored": n_stored,
                            "stored_equals_loops": n_stored == result["loops"],
                        }
                        result["store_check"] = check
                        checks.append(check)
                    else:
                        assert ours is not None
                        result = asyncio.run(
                            run_level(obase, tokens[(r, level)], per_run, "issue", ours.pid, pg_pid)
                        )
                    result["system"] = system
                    result["round"] = r
                    runs[(system, level)].append(result)
                    print(json.dumps(result), flush=True)

        # Whole store: every instance annotated by how many labelers.
        everyone = [n for group in names.values() for n in group] + ["warm"]
        per_instance = Counter(
            iid for v in stored_annotations(output_dir, everyone).values() for iid in v
        )
        print(
            json.dumps(
                {
                    "potato_store": {
                        "instances_annotated": len(per_instance),
                        "annotations": sum(per_instance.values()),
                        "instances_with_2_or_more_labelers": sum(
                            1 for n in per_instance.values() if n > 1
                        ),
                        "every_run_stored_its_loops": all(c["stored_equals_loops"] for c in checks),
                    }
                }
            )
        )
        summarize(runs, levels, systems)
        print(json.dumps({"load_avg_end": os.getloadavg()}))
    finally:
        for proc in (potato, ours):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if pg is not None:
            pg.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def summarize(
    runs: dict[tuple[str, int], list[dict[str, Any]]], levels: list[int], systems: list[str]
) -> None:
    """Per level and system the mean over rounds; then critiquelab / Potato."""
    means: dict[tuple[str, int], dict[str, float]] = {}
    for (system, level), results in runs.items():
        mean = {
            k: round(statistics.mean(r[k] for r in results), 1)
            for k in ("loops_per_s", "app_cpu_ms_per_loop", "pg_cpu_ms_per_loop")
        }
        mean["server_cpu_ms_per_loop"] = round(
            mean["app_cpu_ms_per_loop"] + mean["pg_cpu_ms_per_loop"], 1
        )
        for q in ("p50_ms", "p95_ms"):
            mean[f"loop_{q}"] = round(statistics.mean(r["loop"][q] for r in results), 1)
        mean["errors"] = sum(sum(r["errors"].values()) for r in results)
        means[(system, level)] = mean
        print(json.dumps({"summary": system, "concurrency": level, **mean}))
    if len(systems) < 2:
        return
    for level in levels:
        p, o = means[("potato", level)], means[("critiquelab", level)]
        print(
            json.dumps(
                {
                    "ratio": level,
                    "loops_per_s_critiquelab_over_potato": round(
                        o["loops_per_s"] / p["loops_per_s"], 2
                    ),
                    "server_cpu_per_loop_potato_over_critiquelab_app": round(
                        p["app_cpu_ms_per_loop"] / o["app_cpu_ms_per_loop"], 2
                    ),
                    "server_cpu_per_loop_potato_over_critiquelab_app_plus_pg": round(
                        p["server_cpu_ms_per_loop"] / o["server_cpu_ms_per_loop"], 2
                    ),
                    "p50_potato_over_critiquelab": round(p["loop_p50_ms"] / o["loop_p50_ms"], 2),
                }
            )
        )


if __name__ == "__main__":
    main()
