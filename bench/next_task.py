"""Benchmark: 200 labelers call POST /api/v1/tasks/next at once, on PostgreSQL, over loopback.

    .venv/bin/python bench/next_task.py [--labelers 200] [--workers 1] [--rounds 3] [--sqlite]

Starts a throwaway PostgreSQL 15 (as the test suite does), migrates it, builds a corpus with
more tasks than labelers, starts `critiquelab serve`, fires every labeler's request at the
same instant (one round per wave, tasks submitted between rounds), and prints per-request
p50/p95 latency and how many tasks were handed out twice (must be 0).
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labelers", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--app-root", type=Path, default=ROOT, help="the checkout whose app runs")
    ap.add_argument("--sqlite", action="store_true", help="an SQLite file, not PostgreSQL")
    args = ap.parse_args()

    from bench.app_server import start_app
    from bench.raw_client import RawClient
    from tests.support.model_server import free_port
    from tests.support.postgres import PostgresServer

    pg = None if args.sqlite else PostgresServer.start(durable=True)
    try:
        if pg is None:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-next-')}/bench.db"
        else:
            url = pg.url("postgres")
        os.environ["CRITIQUELAB_DATABASE_URL"] = url
        os.environ.setdefault("CRITIQUELAB_SECRET_KEY", "bench-secret-key")
        from sqlalchemy import update

        from app.core.database import session_scope
        from app.core.migrations import upgrade
        from app.core.security import hash_password
        from app.experiments import assignment
        from app.models import Task, TaskStatus, User
        from app.users.service import api_token_for
        from tests.support.experiments import corpus, launched, store_fake_assistance

        upgrade(url=url)
        names = [f"lab{i}" for i in range(args.labelers)]
        password = hash_password("password-123")  # one argon2 hash for every account
        with session_scope() as db:
            answers = corpus(db, passages=args.rounds * 20 + 20)
            store_fake_assistance(db, answers)
            db.add_all(
                User(username=n, password_hash=password, role="labeler", is_active=True)
                for n in names
            )
            db.flush()
            launched(db, names)
        with session_scope() as db:
            tokens = [api_token_for(db, n) for n in names]

        os.environ["PYTHONPATH"] = os.pathsep.join([str(args.app_root.resolve()), str(ROOT)])
        server, base = start_app(free_port(), args.workers)

        async def wave() -> tuple[list[float], list[int | None]]:
            async def one(token: str) -> tuple[float, int | None]:
                client = RawClient(base, {"Authorization": f"Bearer {token}"})
                t0 = time.perf_counter()
                r = await client.request("POST", "/api/v1/tasks/next")
                if r.status_code != 200:
                    raise RuntimeError(f"next task: {r.status_code} {r.text[:200]}")
                return time.perf_counter() - t0, r.json()["task_id"]

            results = await asyncio.gather(*(one(t) for t in tokens))
            return [r[0] for r in results], [r[1] for r in results]

        latencies: list[float] = []
        doubles = 0
        handed = 0
        try:
            for _ in range(args.rounds):
                lat, ids = asyncio.run(wave())
                got = [i for i in ids if i is not None]
                doubles += len(got) - len(set(got))
                handed += len(got)
                latencies += lat
                with session_scope() as db:
                    db.execute(
                        update(Task)
                        .where(Task.status == TaskStatus.assigned)
                        .values(status=TaskStatus.submitted, submitted_at=assignment.now())
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
        q = statistics.quantiles(latencies, n=20)
        print(
            json.dumps(
                {
                    "requests": len(latencies),
                    "concurrency": args.labelers,
                    "app_root": str(args.app_root),
                    "database": "sqlite" if pg is None else "postgresql",
                    "app_workers": args.workers,
                    "tasks_handed_out": handed,
                    "handed_out_twice": doubles,
                    "p50_ms": round(statistics.median(latencies) * 1000, 1),
                    "p95_ms": round(q[18] * 1000, 1),
                    "max_ms": round(max(latencies) * 1000, 1),
                }
            )
        )
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
