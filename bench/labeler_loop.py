"""Benchmark: the labeler loop over the JSON API on PostgreSQL.

    .venv/bin/python bench/labeler_loop.py [--tasks 2000] [--loops 192] [--levels 1,8,32]
    .venv/bin/python bench/labeler_loop.py --tasks 100000          # flat cost at 100k tasks
    .venv/bin/python bench/labeler_loop.py --profile               # per-endpoint SQL and CPU
    .venv/bin/python bench/labeler_loop.py --app-root /tmp/before  # another checkout's app
    .venv/bin/python bench/labeler_loop.py --shape drafts --task-page  # the older loop shape

Loop (`--shape issue`, issue 12): `POST /api/v1/tasks/next`, `GET /api/v1/tasks/{id}`,
`POST /api/v1/tasks/{id}/submit` carrying 3 critiques and a rating (with an
Idempotency-Key, as a retrying script sends it). One account per client, a new TCP
connection per request (`Connection: close`), one `critiquelab serve` process. The
experiment has `--tasks` tasks (passages x 3 sources x 2 conditions), every answer's
assistance (8 model critiques) stored, built with bulk inserts and launched with the app's
own launch. Every level uses its own fresh accounts in that one experiment.

Prints, per concurrency level: loops/s, p50/p95 of the loop and of each request, and CPU
per loop of the app (psutil over the server's process tree) and of PostgreSQL (the
postmaster's tree). `--profile` serves the app in a child that counts SQL statements,
transactions and pool checkouts per endpoint and the app's CPU per request, at
concurrency 1, and prints one table row per endpoint.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.raw_client import RawClient  # noqa: E402


def _app_root() -> Path:
    """The checkout whose app is measured (--app-root), importable before anything else."""
    for i, arg in enumerate(sys.argv):
        if arg == "--app-root" and i + 1 < len(sys.argv):
            return Path(sys.argv[i + 1]).resolve()
        if arg.startswith("--app-root="):
            return Path(arg.split("=", 1)[1]).resolve()
    return ROOT


APP_ROOT = _app_root()
sys.path.insert(0, str(APP_ROOT))
if APP_ROOT != ROOT:
    sys.path.insert(1, str(ROOT))  # bench.app_server from this checkout


class Failed(Exception):
    """A request answered 4xx/5xx: counted, and the client goes on with its next loop."""


async def timed_request(
    c: Any,
    timings: dict[str, list[float]],
    errors: dict[str, int],
    kind: str,
    method: str,
    path: str,
    **kw: Any,
) -> Any:
    """A request, its duration recorded under `kind`; a 4xx/5xx is counted and raises Failed."""
    t0 = time.perf_counter()
    r = await c.request(method, path, **kw)
    timings[kind].append(time.perf_counter() - t0)
    if r.status_code >= 400:
        errors[f"{kind} {r.status_code}"] += 1
        raise Failed(r.text[:200])
    return r


async def measure(
    clients: list[Awaitable[int]],
    server_pid: int,
    pg_pid: int | None,
    timings: dict[str, list[float]],
    errors: dict[str, int],
) -> dict[str, Any]:
    """The clients run together (each returns its loops): loops/s, CPU per loop of the
    server's process tree, of PostgreSQL's and of this load generator (it shares the cores),
    the errors, and the quantiles of each kind of timing the clients recorded."""
    app_cpu0 = _tree_cpu(server_pid)
    pg_cpu0 = _tree_cpu(pg_pid) if pg_pid else 0.0
    load0 = os.getloadavg()[0]
    client_cpu0 = time.process_time()
    t0 = time.perf_counter()
    loops = sum(await asyncio.gather(*clients))
    elapsed = time.perf_counter() - t0
    client_cpu = time.process_time() - client_cpu0
    app_cpu = _tree_cpu(server_pid) - app_cpu0
    pg_cpu = (_tree_cpu(pg_pid) - pg_cpu0) if pg_pid else 0.0
    out: dict[str, Any] = {
        "concurrency": len(clients),
        "loops": loops,
        "loops_per_s": round(loops / elapsed, 1),
        "app_cpu_ms_per_loop": round(app_cpu / max(loops, 1) * 1000, 1),
        "pg_cpu_ms_per_loop": round(pg_cpu / max(loops, 1) * 1000, 1),
        "client_cpu_ms_per_loop": round(client_cpu / max(loops, 1) * 1000, 1),
        "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "errors": dict(errors),
    }
    for kind, values in timings.items():
        out[kind] = _quantiles(values)
    return out


async def client_loops(
    c: Any,
    loops: int,
    one_loop: Callable[[Any], Awaitable[object | None]],
    durations: list[float],
) -> int:
    """One client's loops, each timed into `durations`; a failed loop (Failed) is skipped, and
    the client stops when one_loop finds nothing left to do (None)."""
    done = 0
    for _ in range(loops):
        t0 = time.perf_counter()
        try:
            if await one_loop(c) is None:
                break
        except Failed:
            continue
        durations.append(time.perf_counter() - t0)
        done += 1
    return done


def _quantiles(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=20) if len(values) > 1 else values * 19
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(q[18] * 1000, 1),
    }


def _tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def build_experiment(n_tasks: int, accounts: list[str], critiques_per_set: int = 8) -> int:
    """A launched experiment of about n_tasks tasks (6 per passage), with every answer's
    assistance stored, and the given labeler accounts in its pool. Bulk inserts for the
    corpus; the app's own design.create and design.launch for the experiment."""
    from sqlalchemy import insert

    from app.assist.prompts import prompt_format
    from app.core.database import session_scope
    from app.core.security import hash_password
    from app.core.settings import get_settings
    from app.experiments import design
    from app.models import (
        Answer,
        AnswerSource,
        AssistanceCritique,
        AssistanceSet,
        Passage,
        Question,
        User,
    )

    s = get_settings()
    model, version = s.model_name, prompt_format(s.prompt_format).version
    n_passages = -(-n_tasks // 6)
    sources = [src.value for src in AnswerSource]
    t0 = time.perf_counter()
    password = hash_password("password-123")  # one argon2 hash for every account
    with session_scope() as db:
        db.add_all(
            User(
                username=n, password_hash=password, role="labeler", is_active=True, token_version=0
            )
            for n in accounts
        )
        db.flush()
        step = 2000
        for start in range(0, n_passages, step):
            rows = range(start, min(start + step, n_passages))
            pids = db.scalars(
                insert(Passage).returning(Passage.id, sort_by_parameter_order=True),
                [
                    {
                        "title": f"P{p}",
                        "text": f"Passage number {p}. " + "The keeper wrote the weather. " * 40,
                        "content_hash": uuid.uuid4().hex,
                    }
                    for p in rows
                ],
            ).all()
            qids = db.scalars(
                insert(Question).returning(Question.id, sort_by_parameter_order=True),
                [
                    {
                        "passage_id": pid,
                        "text": f"What does passage {pid} say?",
                        "content_hash": "q",
                    }
                    for pid in pids
                ],
            ).all()
            aids = db.scalars(
                insert(Answer).returning(Answer.id, sort_by_parameter_order=True),
                [
                    {
                        "question_id": qid,
                        "source": src,
                        "text": f"Answer {k} to question {qid}.",
                        "content_hash": src,
                    }
                    for qid in qids
                    for k, src in enumerate(sources)
                ],
            ).all()
            sids = db.scalars(
                insert(AssistanceSet).returning(AssistanceSet.id, sort_by_parameter_order=True),
                [
                    {
                        "answer_id": aid,
                        "model_name": model,
                        "prompt_format": version,
                        "critiqueability_score": 0.5,
                    }
                    for aid in aids
                ],
            ).all()
            db.execute(
                insert(AssistanceCritique),
                [
                    {
                        "assistance_set_id": sid,
                        "text": f"Model critique {k}: the answer leaves out a detail.",
                        "temperature": k / 10,
                        "helpfulness_score": 0.9 - k / 20,
                        "rank": k + 1,
                        "model_name": model,
                        "prompt_format": version,
                        "latency_ms": 10.0,
                    }
                    for sid in sids
                    for k in range(critiques_per_set)
                ],
            )
    built = time.perf_counter() - t0
    with session_scope() as db:
        exp = design.create(
            db, design.Design(name=f"bench-{n_tasks}", sources=sources, labelers=accounts, seed=1)
        )
        t1 = time.perf_counter()
        n = design.launch(db, exp.id)
        launch_s = time.perf_counter() - t1
    print(
        json.dumps(
            {
                "experiment_tasks": n,
                "passages": n_passages,
                "corpus_build_s": round(built, 1),
                "launch_s": round(launch_s, 1),
            }
        ),
        flush=True,
    )
    return exp.id


async def run_level(
    base: str,
    tokens: list[str],
    loops_wanted: int,
    shape: str,
    server_pid: int,
    pg_pid: int | None,
    idempotency_keys: bool = True,
    client_kind: str = "raw",
) -> dict[str, Any]:
    concurrency = len(tokens)
    per_client = max(1, loops_wanted // concurrency)
    timings: dict[str, list[float]] = defaultdict(list)
    critiques = [
        {"text": f"Flaw {i}: the answer misses a point.", "severity": 2, "category": "accuracy"}
        for i in range(3)
    ]

    errors: dict[str, int] = defaultdict(int)

    async def timed(c: Any, kind: str, method: str, path: str, **kw: Any) -> Any:
        r = await timed_request(c, timings, errors, kind, method, path, **kw)
        return r.json() if r.status_code != 204 else None

    async def client(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        limits = httpx.Limits(max_keepalive_connections=0)
        session: Any = (
            RawClient(base, headers)
            if client_kind == "raw"
            else httpx.AsyncClient(base_url=base, timeout=120, headers=headers, limits=limits)
        )
        async with session as c:
            return await client_loops(c, per_client, one_loop, timings["loop"])

    async def one_loop(c: Any) -> int | None:
        task_id = (await timed(c, "next", "POST", "/api/v1/tasks/next"))["task_id"]
        if task_id is None:
            return None
        if shape == "issue":
            await timed(c, "get", "GET", f"/api/v1/tasks/{task_id}")
            await timed(
                c,
                "submit",
                "POST",
                f"/api/v1/tasks/{task_id}/submit",
                json={"critiques": critiques, "rating": 4},
                headers={"Idempotency-Key": uuid.uuid4().hex} if idempotency_keys else {},
            )
        else:
            for body in critiques:
                await timed(c, "critique", "POST", f"/api/v1/tasks/{task_id}/critiques", json=body)
            await timed(c, "rating", "PUT", f"/api/v1/tasks/{task_id}/rating", json={"value": 4})
            await timed(c, "submit", "POST", f"/api/v1/tasks/{task_id}/submit", json={})
        return int(task_id)

    return await measure([client(t) for t in tokens], server_pid, pg_pid, timings, errors)


def _postmaster_pid(pg: Any) -> int | None:
    try:
        return int((Path(pg.datadir) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _start_server(
    port: int, profile: bool, root: Path = APP_ROOT, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(ROOT)]))
    if profile:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-profiled", str(port)]
        if root != ROOT:
            cmd += ["--app-root", str(root)]
        proc = subprocess.Popen(cmd, env=env, cwd=root)
    else:
        cli = str(Path(sys.executable).with_name("critiquelab"))
        proc = subprocess.Popen(
            [cli, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "ab"),  # noqa: SIM115
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            httpx.get(base + "/health", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the app did not start")


def serve_profiled(port: int) -> None:
    """The app with counters: per endpoint (method + route template) the SQL statements,
    transactions (BEGIN; COMMIT/ROLLBACK), pool checkouts (one pre-ping each on
    PostgreSQL) and the process CPU spent inside the app (meaningful at concurrency 1).
    GET /__bench/stats answers them; POST /__bench/reset clears them."""
    import contextvars

    import uvicorn
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    from app.main import create_app

    current: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
        "bench_counts", default=None
    )
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def bump(name: str) -> None:
        counts = current.get()
        if counts is not None:
            counts[name] += 1

    statements: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
        "bench_sql", default=None
    )
    last_sql: dict[str, list[str]] = {}

    def count_statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        bump("statements")
        seen = statements.get()
        if seen is not None:
            seen.append(" ".join(sql.split())[:140])

    event.listen(Engine, "before_cursor_execute", count_statement)
    event.listen(Engine, "begin", lambda *a: bump("begin"))
    event.listen(Engine, "commit", lambda *a: bump("commit"))
    event.listen(Engine, "rollback", lambda *a: bump("rollback"))
    event.listen(Pool, "checkout", lambda *a: bump("checkouts"))
    inner = create_app()
    profiles = _install_cprofile() if os.environ.get("BENCH_CPROFILE") else []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        if scope["path"] == "/__bench/stats":
            body = json.dumps({"stats": stats, "last_sql": last_sql}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["path"] == "/__bench/cprofile":
            body = _cprofile_report(profiles).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["path"] == "/__bench/reset":
            for prof in profiles:
                prof.disable()
                prof.clear()
                prof.enable()
            stats.clear()
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        counts: dict[str, float] = defaultdict(float)
        current.set(counts)
        sql: list[str] = []
        statements.set(sql)
        cpu0 = time.process_time()
        await inner(scope, receive, send)
        counts["cpu_ms"] = (time.process_time() - cpu0) * 1000
        route = scope.get("route")
        key = f"{scope['method']} {getattr(route, 'path', scope['path'])}"
        last_sql[key] = sql
        row = stats[key]
        row["requests"] += 1
        for name, value in counts.items():
            row[name] += value

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _install_cprofile() -> list[Any]:
    """cProfile in every thread (the event loop and the thread pool running handlers):
    where the app's CPU goes, function by function. It slows what it measures; read the
    shares, not the milliseconds."""
    import cProfile
    import threading

    profiles: list[cProfile.Profile] = []

    def start(*_: Any) -> None:
        sys.setprofile(None)
        prof = cProfile.Profile(time.thread_time)
        profiles.append(prof)
        prof.enable()

    threading.setprofile(start)
    main = cProfile.Profile(time.thread_time)
    profiles.append(main)
    main.enable()
    return profiles


def _cprofile_report(profiles: list[Any]) -> str:
    import io
    import pstats

    for prof in profiles:
        prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=out)
    for prof in profiles[1:]:
        stats.add(prof)
    if os.environ.get("BENCH_CPROFILE", "").endswith(".prof"):
        stats.dump_stats(os.environ["BENCH_CPROFILE"])
    stats.sort_stats("tottime").print_stats(45)
    stats.sort_stats("cumulative").print_stats(90)
    return out.getvalue()


def print_profile(stats: dict[str, dict[str, float]]) -> None:
    for route, row in sorted(stats.items()):
        n = row["requests"] or 1
        trips = sum(
            row.get(k, 0) for k in ("statements", "begin", "commit", "rollback", "checkouts")
        )
        print(
            json.dumps(
                {
                    "endpoint": route,
                    "requests": int(n),
                    "statements": round(row.get("statements", 0) / n, 1),
                    "round_trips": round(trips / n, 1),
                    "transactions": round(row.get("begin", 0) / n, 1),
                    "pool_checkouts": round(row.get("checkouts", 0) / n, 1),
                    "app_cpu_ms": round(row["cpu_ms"] / n, 2),
                }
            ),
            flush=True,
        )


def task_page(base: str, db_session: Any) -> None:
    """The task page (GET /tasks/{id}) with a ~3,800-token passage and 8 model critiques."""
    import re

    from app.assist.prompts import prompt_format
    from app.assist.scoring import Score
    from app.assist.service import store_assistance
    from app.assist.sweep import Assistance, SweptCritique
    from app.core.settings import get_settings
    from app.corpus.repository import CorpusRepository
    from app.experiments import assignment, design
    from app.models import Task, User
    from app.users.service import create_user

    with db_session() as db:
        repo = CorpusRepository(db)
        words = (
            "The keeper wrote the wind, the sea state and the ships in her ledger every night. "
            * 180
        ).strip()
        passage, _ = repo.get_or_create_passage("Long", words)
        question, _ = repo.get_or_create_question(passage, "What did she write?")
        answer, _ = repo.get_or_create_answer(question, "model", "She wrote about the weather.")
        crit = [
            SweptCritique(
                f"Model critique number {k}: " + "detail " * 30,
                0.1 * k,
                Score(0.9 - k / 20),
                k + 1,
                10.0,
            )
            for k in range(8)
        ]
        s = get_settings()
        store_assistance(
            db,
            answer.id,
            Assistance(crit, Score(0.5), s.model_name, prompt_format(s.prompt_format).version),
        )
        create_user(db, "longreader", "password-123", "labeler")
        create_user(db, "longreader2", "password-123", "labeler")
        exp = design.create(
            db,
            design.Design(
                name="long",
                sources=["model"],
                labelers=["longreader", "longreader2"],
                question_ids=[question.id],
            ),
        )
        design.launch(db, exp.id)
        db.flush()
        reader, task_id = None, None
        for name in ("longreader", "longreader2"):
            uid = db.query(User.id).filter(User.username == name).scalar()
            tid = assignment.next_task(db, uid).task_id
            if db.get(Task, tid).assistance_set_id is not None:  # type: ignore[union-attr]
                reader, task_id = name, tid
    with httpx.Client(base_url=base, timeout=60) as c:
        page = c.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        c.post("/login", data={"username": reader, "password": "password-123", "csrf_token": csrf})
        times = []
        html = ""
        for _ in range(30):
            t0 = time.perf_counter()
            html = c.get(f"/tasks/{task_id}").text
            times.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "task_page": {
                    "passage_chars": len(words),
                    "has_8_critiques": html.count('class="assistance-item"') == 8,
                    "median_ms": round(statistics.median(times) * 1000, 1),
                }
            }
        )
    )


def compare(args: argparse.Namespace, levels: list[int], baseline: Path) -> None:
    """This checkout and `baseline` served side by side on one database and experiment;
    each level runs on one then the other, --rounds times, each time with fresh accounts,
    so load from other work on the machine falls on both alike. Prints each run, then per
    level and tree the mean over rounds."""
    from tests.support.model_server import free_port
    from tests.support.postgres import PostgresServer

    trees = {"baseline": baseline, "new": APP_ROOT}
    per_run = max(1, args.loops // args.rounds)
    pg = PostgresServer.start(durable=True)
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        os.environ["CRITIQUELAB_DATABASE_URL"] = url = pg.url("postgres")
        os.environ.setdefault("CRITIQUELAB_SECRET_KEY", "bench-secret-key-0123456789abcdef")
        from app.core.database import session_scope
        from app.core.migrations import upgrade
        from app.users.service import api_token_for

        upgrade(url=url)
        names = {
            (t, r, c): [f"{t}{r}_c{c}_{i}" for i in range(c)]
            for t in trees
            for r in range(args.rounds)
            for c in levels
        }
        build_experiment(args.tasks, [n for group in names.values() for n in group])
        with session_scope() as db:
            tokens = {k: [api_token_for(db, n) for n in group] for k, group in names.items()}
        for tree, root in trees.items():
            servers[tree] = _start_server(free_port(), args.profile, root, args.app_workers)
        pg_pid = _postmaster_pid(pg)
        print(json.dumps({k: str(v) for k, v in trees.items()}), flush=True)
        if args.profile:
            for tree, (proc, base) in servers.items():
                warm = tokens[(tree, 0, 1)]
                asyncio.run(run_level(base, warm, 5, args.shape, proc.pid, pg_pid))
                httpx.post(base + "/__bench/reset")
        runs: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        for level in levels:
            for r in range(args.rounds):
                for tree, (proc, base) in servers.items():
                    result = asyncio.run(
                        run_level(
                            base,
                            tokens[(tree, r, level)],
                            per_run,
                            args.shape,
                            proc.pid,
                            pg_pid,
                            not args.no_idempotency_key,
                            args.client,
                        )
                    )
                    result["tree"] = tree
                    runs[(tree, level)].append(result)
                    print(json.dumps(result), flush=True)
        for (tree, level), results in runs.items():
            if any(r["loops"] < max(1, per_run // level) * level for r in results):
                # Fewer loops than asked: the experiment ran out of tasks for these accounts
                # (a bigger --tasks is needed); the numbers would not compare.
                print(json.dumps({"summary": tree, "concurrency": level, "short": "out of tasks"}))
                continue
            mean = {
                k: round(statistics.mean(r[k] for r in results), 1)
                for k in (
                    "loops_per_s",
                    "app_cpu_ms_per_loop",
                    "pg_cpu_ms_per_loop",
                    "client_cpu_ms_per_loop",
                )
            }
            for q in ("p50_ms", "p95_ms"):
                mean[f"loop_{q}"] = round(statistics.mean(r["loop"][q] for r in results), 1)
            errors = sum(sum(r["errors"].values()) for r in results)
            print(json.dumps({"summary": tree, "concurrency": level, **mean, "errors": errors}))
        if args.profile:
            for tree, (_, base) in servers.items():
                print(json.dumps({"profile": tree}))
                print_profile(httpx.get(base + "/__bench/stats").json()["stats"])
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
        pg.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=2000, help="tasks in the experiment")
    ap.add_argument("--loops", type=int, default=192, help="loops per concurrency level")
    ap.add_argument("--levels", default="1,8,32")
    ap.add_argument("--shape", choices=("issue", "drafts"), default="issue")
    ap.add_argument("--profile", action="store_true", help="per-endpoint SQL and CPU, c=1")
    ap.add_argument("--task-page", action="store_true")
    ap.add_argument(
        "--no-idempotency-key", action="store_true", help="submit without an Idempotency-Key"
    )
    ap.add_argument("--app-root", default=str(ROOT), help="the checkout whose app runs")
    ap.add_argument(
        "--baseline-tree",
        help="another checkout served beside this one on the same database; each level runs "
        "on both, interleaved --rounds times (load drift on a shared machine hits both)",
    )
    ap.add_argument("--rounds", type=int, default=2, help="with --baseline-tree")
    ap.add_argument(
        "--app-workers", type=int, default=1, help="app processes (critiquelab serve --workers)"
    )
    ap.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: bench/raw_client.py (lean) or httpx (5-9 ms of CPU a loop)",
    )
    ap.add_argument("--serve-profiled", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_profiled:
        serve_profiled(args.serve_profiled)
        return

    from tests.support.model_server import free_port
    from tests.support.postgres import PostgresServer

    levels = [int(x) for x in args.levels.split(",")] if not args.profile else [1]
    if args.baseline_tree:
        compare(args, levels, Path(args.baseline_tree).resolve())
        return
    pg = PostgresServer.start(durable=True)
    server = None
    try:
        url = pg.url("postgres")
        os.environ["CRITIQUELAB_DATABASE_URL"] = url
        os.environ.setdefault("CRITIQUELAB_SECRET_KEY", "bench-secret-key-0123456789abcdef")
        from app.core.database import session_scope
        from app.core.migrations import upgrade
        from app.users.service import api_token_for

        upgrade(url=url)
        accounts = {c: [f"c{c}_{i}" for i in range(c)] for c in levels}
        build_experiment(args.tasks, [n for names in accounts.values() for n in names])
        with session_scope() as db:
            tokens = {c: [api_token_for(db, n) for n in names] for c, names in accounts.items()}
        server, base = _start_server(free_port(), args.profile, workers=args.app_workers)
        pg_pid = _postmaster_pid(pg)
        print(json.dumps({"app_root": str(APP_ROOT), "shape": args.shape}), flush=True)
        if args.profile:  # warm up (imports, caches), then count
            asyncio.run(run_level(base, tokens[1], 10, args.shape, server.pid, pg_pid))
            httpx.post(base + "/__bench/reset")
        for level in levels:
            result = asyncio.run(
                run_level(
                    base,
                    tokens[level],
                    args.loops,
                    args.shape,
                    server.pid,
                    pg_pid,
                    not args.no_idempotency_key,
                    args.client,
                )
            )
            print(json.dumps(result), flush=True)
        if args.profile:
            found = httpx.get(base + "/__bench/stats").json()
            print_profile(found["stats"])
            if os.environ.get("BENCH_SQL_LOG"):
                print(json.dumps(found["last_sql"], indent=1))
            if os.environ.get("BENCH_CPROFILE"):
                print(httpx.get(base + "/__bench/cprofile", timeout=120).text)
        if args.task_page:
            task_page(base, session_scope)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        pg.stop()


if __name__ == "__main__":
    main()
