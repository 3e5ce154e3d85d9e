"""Benchmark: the labeler loop over the JSON API on PostgreSQL (next, 3 critiques, rating,
submit) at concurrency 1, 8 and 32; and the task page's server time with a ~3,800-token
passage and 8 assistance critiques.

    .venv/bin/python bench/labeler_loop.py [--loops 96]

Prints loops/s and p50/p95 latency per request kind at each concurrency, then the median
server time of GET /tasks/{id} for the long passage.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loops", type=int, default=96, help="tasks labeled per concurrency level")
    args = ap.parse_args()
    from bench.app_server import start_app
    from tests.support.model_server import free_port
    from tests.support.postgres import PostgresServer

    pg = PostgresServer.start()
    server = None
    try:
        url = pg.url("postgres")
        os.environ["CRITIQUELAB_DATABASE_URL"] = url
        os.environ.setdefault("CRITIQUELAB_SECRET_KEY", "bench-secret-key")
        from app.assist.scoring import Score
        from app.assist.service import store_assistance
        from app.assist.sweep import Assistance, SweptCritique
        from app.core.database import session_scope
        from app.core.migrations import upgrade
        from app.corpus.repository import CorpusRepository
        from app.experiments import design
        from app.users.service import api_token_for
        from tests.support.experiments import corpus, labelers, launched, store_fake_assistance

        upgrade(url=url)
        levels = (1, 8, 32)
        with session_scope() as db:
            # Each labeler takes one task per passage: enough passages for every loop.
            answers = corpus(db, passages=args.loops + 10)
            store_fake_assistance(db, answers)
            names = labelers(db, max(levels))
            launched(db, names)
        with session_scope() as db:
            tokens = [api_token_for(db, n) for n in names]

        server, base = start_app(free_port())

        async def run_level(concurrency: int) -> dict[str, object]:
            timings: dict[str, list[float]] = defaultdict(list)
            per_worker = args.loops // concurrency

            async def timed(
                client: httpx.AsyncClient, kind: str, method: str, path: str, **kw: object
            ) -> httpx.Response:
                t0 = time.perf_counter()
                r = await client.request(method, path, **kw)
                timings[kind].append(time.perf_counter() - t0)
                r.raise_for_status()
                return r

            async def worker(token: str) -> int:
                done = 0
                async with httpx.AsyncClient(
                    base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}
                ) as c:
                    for _ in range(per_worker):
                        task_id = (await timed(c, "next", "POST", "/api/v1/tasks/next")).json()[
                            "task_id"
                        ]
                        if task_id is None:
                            break
                        for i in range(3):
                            await timed(
                                c,
                                "critique",
                                "POST",
                                f"/api/v1/tasks/{task_id}/critiques",
                                json={"text": f"Flaw {i}.", "severity": 2, "category": "accuracy"},
                            )
                        await timed(
                            c, "rating", "PUT", f"/api/v1/tasks/{task_id}/rating", json={"value": 4}
                        )
                        await timed(c, "submit", "POST", f"/api/v1/tasks/{task_id}/submit", json={})
                        done += 1
                return done

            t0 = time.perf_counter()
            loops = sum(await asyncio.gather(*(worker(t) for t in tokens[:concurrency])))
            elapsed = time.perf_counter() - t0
            out: dict[str, object] = {
                "concurrency": concurrency,
                "loops": loops,
                "loops_per_s": round(loops / elapsed, 1),
            }
            for kind, values in timings.items():
                q = statistics.quantiles(values, n=20) if len(values) > 1 else values * 19
                out[kind] = {
                    "p50_ms": round(statistics.median(values) * 1000, 1),
                    "p95_ms": round(q[18] * 1000, 1),
                }
            return out

        for level in levels:
            print(json.dumps(asyncio.run(run_level(level))), flush=True)

        # The task page with a long passage and 8 model critiques.
        with session_scope() as db:
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
            from app.assist.prompts import prompt_format
            from app.core.settings import get_settings

            s = get_settings()
            store_assistance(
                db,
                answer.id,
                Assistance(crit, Score(0.5), s.model_name, prompt_format(s.prompt_format).version),
            )
            from app.users.service import create_user

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
            # Two labelers take the answer's two tasks; time the one with the assistance.
            from app.experiments import assignment
            from app.models import Task, User

            reader = None
            for name in ("longreader", "longreader2"):
                uid = db.query(User.id).filter(User.username == name).scalar()
                tid = assignment.next_task(db, uid).task_id
                if db.get(Task, tid).assistance_set_id is not None:  # type: ignore[union-attr]
                    reader, task_id = name, tid
        with httpx.Client(base_url=base, timeout=60) as c:
            page = c.get("/login")
            import re

            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            c.post(
                "/login", data={"username": reader, "password": "password-123", "csrf_token": csrf}
            )
            times = []
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
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        pg.stop()


if __name__ == "__main__":
    main()
