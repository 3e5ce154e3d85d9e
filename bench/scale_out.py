"""Scale-out (issue 12): several app processes and job workers on one PostgreSQL, with
concurrent labelers over the JSON API, then the invariants checked in the database.

    .venv/bin/python bench/scale_out.py [--labelers 50] [--apps 2] [--app-workers 1]
                                        [--job-workers 2] [--seconds 15] [--assist-passages 1]

Each app is its own `critiquelab serve` (its own port, as separate hosts behind a reverse
proxy would be); each labeler sends its requests round-robin over the apps, so one loop's
next, task and submit land on different processes. Loop: `POST /tasks/next`,
`GET /tasks/{id}`, `POST /tasks/{id}/submit` with 3 critiques, a rating and an
Idempotency-Key; one submit in four is sent again with the same key to the other app (a
retry after a lost answer) and must be replayed, not stored twice. Meanwhile the job
workers (`critiquelab worker`) generate the assistance of `--assist-passages` passages'
answers with the real model server (the shipped SmolLM2), so assist tasks of those answers
become takeable during the run.

Checked afterwards: no task handed to two labelers, no labeler given a passage twice, at
most one labeler per condition per answer (labelers_per_condition = 1), every acknowledged
submit stored once with exactly its critiques and rating, replays answered as replays, at
most one assistance set per answer, assist tasks only with their stored assistance, and
tests/support/experiments.py:check_invariants.
"""

import argparse
import asyncio
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.faults import Process, _wait_http, migrated_postgres  # noqa: E402
from tests.support.model_server import ModelServerProcess, free_port  # noqa: E402

CRITIQUES = 3


@dataclass
class Ledger:
    handed: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # task: uids
    submits: dict[int, tuple[int, list[str], int]] = field(default_factory=dict)
    replays: int = 0
    replays_not_marked: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    loops: int = 0
    no_task: dict[str, int] = field(default_factory=lambda: defaultdict(int))


async def labeler(
    bases: list[str], token: str, uid: int, ledger: Ledger, deadline: float, seed: int
) -> None:
    rng = random.Random(seed)
    turn = seed  # round-robin over the apps, each labeler starting elsewhere
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:

        async def call(method: str, path: str, **kw: Any) -> httpx.Response:
            nonlocal turn
            turn += 1
            r = await client.request(method, bases[turn % len(bases)] + path, **kw)
            if r.status_code >= 400:
                ledger.errors[f"{method} {path.split('/')[-1]} {r.status_code}"] += 1
            return r

        while time.monotonic() < deadline:
            r = await call("POST", "/api/v1/tasks/next")
            if not r.is_success:
                continue
            task_id = r.json()["task_id"]
            if task_id is None:
                ledger.no_task[r.json()["reason"]] += 1
                await asyncio.sleep(0.2)  # nothing takeable now: assistance may come
                continue
            ledger.handed[task_id].add(uid)
            if not (await call("GET", f"/api/v1/tasks/{task_id}")).is_success:
                continue
            texts = [f"labeler {uid} task {task_id} flaw {n}" for n in range(CRITIQUES)]
            body = {
                "critiques": [
                    {"text": t, "severity": 1 + n, "category": "accuracy"}
                    for n, t in enumerate(texts)
                ],
                "rating": rng.randint(1, 7),
            }
            key = {"Idempotency-Key": uuid.uuid4().hex}
            path = f"/api/v1/tasks/{task_id}/submit"
            r = await call("POST", path, json=body, headers=key)
            if not r.is_success:
                continue
            ledger.submits[task_id] = (uid, texts, body["rating"])
            ledger.loops += 1
            if rng.random() < 0.25:  # a retry of the same submit, through another app
                again = await call("POST", path, json=body, headers=key)
                ledger.replays += 1
                if again.headers.get("Idempotent-Replayed") != "true" or again.json() != r.json():
                    ledger.replays_not_marked += 1


def _seed(labelers: int, passages: int, assist_passages: int) -> tuple[list[str], list[int]]:
    """A launched experiment (6 conditions: 3 sources x assisted or not, one labeler per
    condition) over `passages` passages; the answers of the first `assist_passages`
    passages have no stored assistance, so their assist tasks wait for the workers.
    Labelers share one password hash (argon2 per account would dominate the set-up)."""
    from sqlalchemy import select

    from app.core.database import session_scope
    from app.core.security import hash_password
    from app.models import Role, User
    from app.users import tokens as api_tokens
    from tests.support.experiments import corpus, launched, store_fake_assistance

    names = [f"lab{i}" for i in range(labelers)]
    password = hash_password("password-123")
    with session_scope() as db:
        answers = corpus(db, passages=passages)
        store_fake_assistance(db, answers[assist_passages * 3 :])
        db.add_all(
            User(
                username=n,
                password_hash=password,
                role=Role.labeler.value,
                is_active=True,
                token_version=0,
            )
            for n in names
        )
        db.flush()
        launched(db, names)
    with session_scope() as db:
        users = {u.username: u for u in db.scalars(select(User).where(User.username.in_(names)))}
        tokens = [api_tokens.issue(db, users[n], "scale-out") for n in names]
        uids = [users[n].id for n in names]
    return tokens, uids


def check(ledger: Ledger) -> dict[str, Any]:
    """The ledger and the database against the invariants (every count must be 0)."""
    from sqlalchemy import func, select

    from app.assist.prompts import prompt_format
    from app.core.database import session_scope
    from app.core.settings import get_settings
    from app.models import (
        AssistanceSet,
        Condition,
        LabelerCritique,
        PassageExposure,
        Rating,
        Task,
        TaskRelease,
        TaskStatus,
    )
    from tests.support.experiments import check_invariants

    s = get_settings()
    version = prompt_format(s.prompt_format).version
    with session_scope(writes=False) as db:
        tasks = {t.id: t for t in db.scalars(select(Task))}
        assist = {c.id: c.assist for c in db.scalars(select(Condition))}
        held = [t for t in tasks.values() if t.status != TaskStatus.pending]
        critiques: dict[int, list[str]] = defaultdict(list)
        for task_id, text in db.execute(
            select(LabelerCritique.task_id, LabelerCritique.text).order_by(
                LabelerCritique.task_id, LabelerCritique.position
            )
        ):
            critiques[task_id].append(text)
        ratings = dict(db.execute(select(Rating.task_id, Rating.value)).tuples().all())
        exposures = db.execute(
            select(PassageExposure.user_id, PassageExposure.passage_id, func.count())
            .group_by(PassageExposure.user_id, PassageExposure.passage_id)
            .having(func.count() > 1)
        ).all()
        sets = db.execute(
            select(AssistanceSet.answer_id, func.count())
            .where(AssistanceSet.model_name == s.model_name)
            .where(AssistanceSet.prompt_format == version)
            .group_by(AssistanceSet.answer_id)
        ).all()
        releases = db.scalar(select(func.count()).select_from(TaskRelease))
        try:
            check_invariants(db)
            invariants = "hold"
        except AssertionError as exc:
            invariants = f"FAILED: {exc}"
    per_answer_condition: dict[tuple[int, int], set[int]] = defaultdict(set)
    per_labeler_passage: dict[tuple[int, int], int] = defaultdict(int)
    for t in held:
        assert t.labeler_id is not None
        per_answer_condition[(t.answer_id, t.condition_id)].add(t.labeler_id)
        per_labeler_passage[(t.labeler_id, t.passage_id)] += 1
    wrong_submits = sum(
        1
        for task_id, (uid, texts, rating) in ledger.submits.items()
        if tasks[task_id].status != TaskStatus.submitted
        or tasks[task_id].labeler_id != uid
        or critiques.get(task_id) != texts
        or ratings.get(task_id) != rating
    )
    return {
        "tasks handed out": len(ledger.handed),
        "acknowledged submits": len(ledger.submits),
        "submit retries replayed": ledger.replays,
        "assisted tasks handed out": sum(1 for t in held if assist[t.condition_id]),
        "tasks handed to two labelers": sum(1 for uids in ledger.handed.values() if len(uids) > 1),
        "tasks released (expired, skipped)": int(releases or 0),
        "labeler given a passage twice": sum(1 for n in per_labeler_passage.values() if n > 1)
        + len(exposures),
        "answer with two labelers in one condition": sum(
            1 for uids in per_answer_condition.values() if len(uids) > 1
        ),
        "acknowledged submits not stored exactly once": wrong_submits,
        "replays not answered as replays": ledger.replays_not_marked,
        "answers with two assistance sets": sum(1 for _, n in sets if n > 1),
        "assist tasks without their assistance": sum(
            1 for t in held if assist[t.condition_id] and t.assistance_set_id is None
        ),
        "check_invariants": invariants,
    }


def _job_counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from app.core.database import session_scope
    from app.models import Job

    with session_scope(writes=False) as db:
        rows = db.execute(
            select(Job.status, Job.attempts, func.count()).group_by(Job.status, Job.attempts)
        )
        counts: dict[str, int] = defaultdict(int)
        for status, attempts, n in rows:
            counts[status] += n
            if attempts:
                counts["with a failed attempt"] += n
    return counts


async def _jobs_done(timeout_s: float) -> dict[str, int]:
    """Wait for the workers to finish every job (the launch's assistance jobs)."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = await asyncio.to_thread(_job_counts)
        if not counts.get("queued") and not counts.get("running"):
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return {
        "jobs succeeded": counts.get("succeeded", 0),
        "jobs not finished": counts.get("queued", 0) + counts.get("running", 0),
        "jobs failed": counts.get("failed", 0),
        "jobs with a failed attempt": counts.get("with a failed attempt", 0),
    }


async def _run(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    model = ModelServerProcess(log_dir=logs) if args.assist_passages else None
    if model is not None:  # it starts (tens of seconds) while the rest is set up
        os.environ["CRITIQUELAB_MODEL_URL"] = model.url
        starting = threading.Thread(target=model.start, kwargs={"timeout_s": 240}, daemon=True)
        starting.start()
    t_setup = time.monotonic()
    tokens, uids = _seed(args.labelers, args.passages, args.assist_passages)
    seed_s = time.monotonic() - t_setup
    ports = [free_port() for _ in range(args.apps)]
    apps = [
        Process(
            ["serve", "--port", str(p), "--workers", str(args.app_workers)], logs / f"app{i}.log"
        )
        for i, p in enumerate(ports)
    ]
    workers = [
        Process(["worker", "--poll", "0.2"], logs / f"worker{i}.log")
        for i in range(args.job_workers)
    ]
    for proc in (*apps, *workers):
        proc.start()
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for base in bases:
            await _wait_http(base)
        setup_s = time.monotonic() - t_setup
        ledger = Ledger()
        t0 = time.monotonic()
        await asyncio.gather(
            *(
                labeler(bases, tok, uid, ledger, t0 + args.seconds, i)
                for i, (tok, uid) in enumerate(zip(tokens, uids, strict=True))
            )
        )
        elapsed = time.monotonic() - t0
        jobs = await _jobs_done(args.jobs_timeout)
    finally:
        for proc in (*apps, *workers):
            proc.stop()
        if model is not None:
            model.stop()
    result = check(ledger)
    result.update(jobs)
    return {
        "labelers": args.labelers,
        "apps": args.apps,
        "app_workers": args.app_workers,
        "job_workers": args.job_workers,
        "seed_s": round(seed_s, 1),
        "setup_s": round(setup_s, 1),
        "seconds": round(elapsed, 1),
        "loops_per_s": round(ledger.loops / elapsed, 1),
        "errors": dict(ledger.errors),
        "no_task_answers": dict(ledger.no_task),
        "checks": result,
    }


def run(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labelers", type=int, default=50)
    ap.add_argument("--apps", type=int, default=2, help="`critiquelab serve` processes")
    ap.add_argument("--app-workers", type=int, default=1, help="uvicorn workers per app")
    ap.add_argument("--job-workers", type=int, default=2, help="`critiquelab worker` processes")
    ap.add_argument("--seconds", type=float, default=15, help="how long labelers keep labeling")
    ap.add_argument("--passages", type=int, default=200)
    ap.add_argument(
        "--assist-passages", type=int, default=1, help="passages whose assistance workers make"
    )
    ap.add_argument("--jobs-timeout", type=float, default=180, help="wait for the jobs (s)")
    ap.add_argument("--logs", type=Path, default=None)
    args = ap.parse_args(argv)
    logs = args.logs or Path(os.environ.get("TMPDIR", "/tmp")) / f"critiquelab-scale-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    with migrated_postgres(CRITIQUELAB_CRITIQUE_MAX_TOKENS="16"):
        return asyncio.run(_run(args, logs))


def main() -> None:
    print(json.dumps(run(), indent=1))


if __name__ == "__main__":
    main()
