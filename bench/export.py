"""Benchmark: export throughput and peak memory at 10k, 100k (and 1M) labeler-critique rows.

    .venv/bin/python bench/export.py --sizes 10000,100000,1000000

Bulk-inserts submitted tasks (3 critiques and a rating each) into a throwaway PostgreSQL 15,
then, per size, runs child processes one after the other: the export loop alone through the
Python record builder that every database can use (the previous PostgreSQL path, today's
SQLite one: the baseline) and through the PostgreSQL-built lines, then `critiquelab export`
(JSONL) and `critiquelab export -o FILE.parquet` with their start-up. Reports rows/s
(labeler critiques exported per second) and each child's peak RSS.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def grow_to(url: str, critiques: int, have: int) -> None:
    """Add submitted tasks until the database holds `critiques` labeler critiques."""
    from sqlalchemy import insert, select

    from app.core.database import session_scope
    from app.experiments import assignment
    from app.models import Condition, LabelerCritique, Rating, Task
    from tests.support.experiments import corpus, labelers, launched

    with session_scope() as db:
        if have == 0:
            corpus(db, passages=1)
            names = labelers(db, 1)
            launched(db, names, sources=("model",))
        cond = db.scalar(select(Condition).where(Condition.assist.is_(False)))
        task0 = db.scalar(select(Task).where(Task.condition_id == cond.id, Task.slot == 0))  # type: ignore[union-attr]
        assert cond is not None and task0 is not None
        labeler = db.scalar(select(Task.labeler_id).where(Task.labeler_id.is_not(None))) or 1
        now = assignment.now()
        start_slot = have // 3 + 1
        n_tasks = (critiques - have) // 3
        step = 5000
        for base in range(start_slot, start_slot + n_tasks, step):
            slots = range(base, min(base + step, start_slot + n_tasks))
            ids = db.scalars(
                insert(Task).returning(Task.id),
                [
                    dict(
                        experiment_id=task0.experiment_id,
                        condition_id=cond.id,
                        answer_id=task0.answer_id,
                        question_id=task0.question_id,
                        passage_id=task0.passage_id,
                        slot=s,
                        status="submitted",
                        labeler_id=labeler,
                        assigned_at=now,
                        opened_at=now,
                        submitted_at=now,
                    )
                    for s in slots
                ],
            ).all()
            db.execute(insert(Rating), [dict(task_id=i, value=4) for i in ids])
            db.execute(
                insert(LabelerCritique),
                [
                    dict(
                        task_id=i,
                        position=p,
                        text=f"Critique {p} of task {i}: the answer misses a detail.",
                        severity=2,
                        category="coverage",
                    )
                    for i in ids
                    for p in (1, 2, 3)
                ],
            )


# A child that times only the export loop (the CLI's imports cost about 1 s on their own:
# app.core.database imports FastAPI), printing the seconds.
IN_PROCESS = """
import sys, time
from app.core.database import session_scope
from app.export.service import export_chunks, python_lines
chunks = export_chunks if sys.argv[2] == "postgres" else python_lines
with session_scope(writes=False) as s, open(sys.argv[1], "wb") as fh:
    t0 = time.perf_counter()
    for chunk in chunks(s):
        fh.write(chunk)
    print(time.perf_counter() - t0)
"""


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A throwaway PostgreSQL 15 migrated to head, also the app's database; its URL."""
    from tests.support.postgres import PostgresServer

    pg = PostgresServer.start()
    try:
        url = pg.url("postgres")
        os.environ["CRITIQUELAB_DATABASE_URL"] = url
        from app.core.migrations import upgrade

        upgrade(url=url)
        yield url
    finally:
        pg.stop()


def _run(cmd: list[str]) -> tuple[float, float, str]:
    """Seconds, peak RSS (MB) and stdout of one child."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.PIPE)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{cmd} failed ({status})")
    return elapsed, usage.ru_maxrss / 1024, stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    args = ap.parse_args()
    with throwaway_database() as url:
        have = 0
        cli = str(Path(sys.executable).with_name("critiquelab"))
        for size in (int(s) for s in args.sizes.split(",")):
            t0 = time.perf_counter()
            grow_to(url, size, have)
            have = size
            built = time.perf_counter() - t0
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "export.jsonl"
                runs = {
                    "python_loop": [sys.executable, "-c", IN_PROCESS, str(out), "python"],
                    "postgres_loop": [sys.executable, "-c", IN_PROCESS, str(out), "postgres"],
                    "cli_jsonl": [cli, "export", "-o", str(out)],
                    "cli_parquet": [cli, "export", "-o", str(Path(tmp) / "export.parquet")],
                }
                result: dict[str, object] = {"labeler_critiques": size, "insert_s": round(built, 1)}
                for name, cmd in runs.items():
                    elapsed, rss, stdout = _run(cmd)
                    if name.endswith("_loop"):  # the loop alone, without start-up
                        elapsed = float(stdout.strip())
                    result[f"{name}_s"] = round(elapsed, 2)
                    result[f"{name}_rows_per_s"] = round(size / elapsed)
                    result[f"{name}_peak_rss_mb"] = round(rss, 1)
                    if name == "cli_jsonl":
                        result["tasks"] = sum(1 for _ in out.open("rb"))
                        result["file_mb"] = round(out.stat().st_size / 1e6, 1)
                # PostgreSQL-built lines against the Python record builder, loops alone.
                result["speedup"] = round(
                    float(result["python_loop_s"]) / float(result["postgres_loop_s"]),  # type: ignore[arg-type]
                    2,
                )
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
