"""Faults under load (issue 14): concurrent labelers over the JSON API on PostgreSQL while the
app is killed with SIGKILL and restarted, PostgreSQL is restarted (`pg_ctl restart -m fast`),
and the worker is killed in the middle of a job. Every acknowledged (2xx) critique, rating
and submit is kept in a client-side ledger and compared with the database afterwards.

    .venv/bin/python bench/faults.py [--labelers 50] [--seconds 40] [--no-worker]

Clients retry a failed request (connection error, timeout, 5xx) with backoff, reusing the
same Idempotency-Key for critique creation and submit, so a write whose answer was lost is
answered again, not stored twice. Prints one line per fault (how long the service was down,
and how long after it was back the first acknowledged write came) and the ledger check.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.model_server import free_port  # noqa: E402
from tests.support.postgres import PG_BIN, PostgresServer, _as_postgres  # noqa: E402

RETRYABLE = (httpx.TransportError, httpx.TimeoutException)
FAULTS = ("app", "postgres", "worker")


def restart_postgres(server: PostgresServer) -> None:
    # -l: the new postmaster must not inherit (and hold open) our output pipes.
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(server.datadir),
                "-l",
                str(server.datadir.parent / "log"),
            ]
            + ["-m", "fast", "-w", "restart"]
        ),
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )


class Process:
    """A `critiquelab` command in its own process group, so SIGKILL takes all of it (the
    uvicorn supervisor and its worker processes alike)."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args, self.log = args, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cli = str(Path(sys.executable).with_name("critiquelab"))
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [cli, *self.args],
                env=dict(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill9(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()


@dataclass
class Ledger:
    """What the server acknowledged (2xx), as the clients saw it."""

    critiques: dict[int, tuple[int, int, str]] = field(
        default_factory=dict
    )  # id: labeler, task, text
    ratings: dict[int, tuple[int, int]] = field(default_factory=dict)  # task: labeler, value
    submits: dict[int, int] = field(default_factory=dict)  # task: labeler
    handed: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # task: labelers
    ok_times: list[float] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # retried attempts


@dataclass
class Fault:
    name: str
    started: float
    back: float = 0.0  # the service is up again (restarted / accepting connections)
    detail: str = ""


class Labeler:
    def __init__(
        self, base: str, token: str, uid: int, ledger: Ledger, deadline: float, think: float
    ) -> None:
        self.base, self.uid, self.ledger, self.deadline = base, uid, ledger, deadline
        self.think = think
        self.headers = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(uid)
        self.done = 0

    async def call(
        self, client: httpx.AsyncClient, method: str, path: str, key: bool = False, **kw: Any
    ) -> httpx.Response:
        """Until the server answers other than 5xx; one Idempotency-Key for every try."""
        headers = dict(self.headers)
        if key:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        pause = 0.05
        for _ in range(400):
            try:
                resp = await client.request(method, path, headers=headers, **kw)
            except RETRYABLE as exc:
                self.ledger.failures.append((time.monotonic(), f"{path}: {type(exc).__name__}"))
            else:
                if resp.status_code < 500:
                    if resp.is_success:
                        self.ledger.ok_times.append(time.monotonic())
                    return resp
                self.ledger.failures.append((time.monotonic(), f"{path}: {resp.status_code}"))
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
        raise RuntimeError(f"{method} {path}: no answer after 400 tries")

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=20) as client:
            while time.monotonic() < self.deadline:
                nxt = await self.call(client, "POST", "/api/v1/tasks/next")
                task_id = nxt.json().get("task_id") if nxt.is_success else None
                if task_id is None:
                    return
                self.ledger.handed[task_id].add(self.uid)
                await self.label(client, task_id)

    async def label(self, client: httpx.AsyncClient, task_id: int) -> None:
        view = await self.call(client, "GET", f"/api/v1/tasks/{task_id}")
        if not view.is_success:
            return
        for n in range(self.rng.randint(1, 3)):
            text = f"labeler {self.uid} task {task_id} critique {n}"
            body = {"text": text, "severity": 1 + n % 4, "category": "accuracy"}
            r = await self.call(
                client, "POST", f"/api/v1/tasks/{task_id}/critiques", True, json=body
            )
            if r.is_success:
                self.ledger.critiques[r.json()["id"]] = (self.uid, task_id, text)
            await asyncio.sleep(self.rng.uniform(0, 2 * self.think))
        await asyncio.sleep(self.rng.uniform(0, 2 * self.think))
        value = self.rng.randint(1, 7)
        r = await self.call(client, "PUT", f"/api/v1/tasks/{task_id}/rating", json={"value": value})
        if r.is_success:
            self.ledger.ratings[task_id] = (self.uid, value)
        r = await self.call(client, "POST", f"/api/v1/tasks/{task_id}/submit", True, json={})
        if r.is_success:
            self.ledger.submits[task_id] = self.uid
            self.done += 1


def _seed(
    labelers: int, passages: int, assisted_answers: int
) -> tuple[list[str], list[int], list[int]]:
    """Users, a launched experiment, and answers whose assistance the worker must compute."""
    from app.core.database import session_scope
    from app.corpus.repository import CorpusRepository
    from app.models import AnswerSource
    from app.users.service import api_token_for
    from tests.support.experiments import corpus, launched, store_fake_assistance, user_id
    from tests.support.experiments import labelers as make_labelers

    with session_scope() as db:
        answers = corpus(db, passages=passages)
        store_fake_assistance(db, answers)
        names = make_labelers(db, labelers)
        launched(db, names)
        repo = CorpusRepository(db)
        for_worker = []
        for p in range(assisted_answers):
            passage, _ = repo.get_or_create_passage(f"W{p}", "The keeper lit the lamp at dusk.")
            question, _ = repo.get_or_create_question(passage, "What did the keeper do?")
            answer, _ = repo.get_or_create_answer(question, AnswerSource.model.value, f"A{p}.")
            for_worker.append(answer.id)
        db.flush()
    with session_scope() as db:
        tokens = [api_token_for(db, n) for n in names]
        uids = [user_id(db, n) for n in names]
    return tokens, uids, for_worker


async def _wait_http(base: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/health")).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{base} did not come up")


def _request_assistance(answer_ids: list[int]) -> list[int]:
    """Enqueue the assistance jobs the worker will be killed in; their job ids."""
    from app.assist.prompts import prompt_format
    from app.assist.service import request_assistance
    from app.core.database import session_scope
    from app.core.settings import get_settings

    s = get_settings()
    with session_scope() as db:
        request_assistance(db, answer_ids, s.model_name, prompt_format(s.prompt_format).version)
    return [j for j, *_ in _job_states()][-len(answer_ids) :]


def _job_states() -> list[tuple[int, str, int, str | None]]:
    from sqlalchemy import select

    from app.core.database import session_scope
    from app.models import Job

    with session_scope(writes=False) as db:
        query = select(Job.id, Job.status, Job.attempts, Job.locked_by).order_by(Job.id)
        return [tuple(r) for r in db.execute(query)]  # type: ignore[misc]


def check(ledger: Ledger, worker_answers: list[int], worker_jobs: list[int]) -> dict[str, int]:
    """The ledger against the database: lost, duplicated, held by two."""
    from sqlalchemy import func, select

    from app.core.database import session_scope
    from app.models import AssistanceSet, Job, LabelerCritique, Rating, Task, TaskStatus

    with session_scope(writes=False) as db:
        critiques = {c.id: (c.task_id, c.text) for c in db.scalars(select(LabelerCritique))}
        ratings = {r.task_id: r.value for r in db.scalars(select(Rating))}
        tasks = {t.id: t for t in db.scalars(select(Task))}
        dup_critiques = db.scalar(
            select(func.count()).select_from(
                select(LabelerCritique.task_id, LabelerCritique.text)
                .group_by(LabelerCritique.task_id, LabelerCritique.text)
                .having(func.count() > 1)
                .subquery()
            )
        )
        sets = db.execute(
            select(AssistanceSet.answer_id, func.count())
            .where(AssistanceSet.answer_id.in_(worker_answers))
            .group_by(AssistanceSet.answer_id)
        ).all()
        jobs = db.execute(select(Job.status, Job.attempts).where(Job.id.in_(worker_jobs))).all()
    lost_critiques = sum(
        1 for cid, (_, task, text) in ledger.critiques.items() if critiques.get(cid) != (task, text)
    )
    lost_ratings = sum(1 for task, (_, v) in ledger.ratings.items() if ratings.get(task) != v)
    lost_submits = sum(
        1
        for task, uid in ledger.submits.items()
        if tasks[task].status != TaskStatus.submitted or tasks[task].labeler_id != uid
    )
    return {
        "acknowledged critiques": len(ledger.critiques),
        "acknowledged ratings": len(ledger.ratings),
        "acknowledged submits": len(ledger.submits),
        "lost critiques": lost_critiques,
        "lost ratings": lost_ratings,
        "lost submits": lost_submits,
        "duplicated critiques": int(dup_critiques or 0),
        "tasks held by two labelers": sum(1 for who in ledger.handed.values() if len(who) > 1),
        "worker answers without assistance": len(worker_answers) - len(sets),
        "worker answers with duplicate assistance": sum(1 for _, n in sets if n > 1),
        "worker jobs not succeeded": sum(1 for status, _ in jobs if status != "succeeded"),
        "worker job attempts spent": sum(attempts for _, attempts in jobs),
        "retried attempts": len(ledger.failures),
    }


async def _run(args: argparse.Namespace, pg: PostgresServer, logs: Path) -> dict[str, Any]:
    faults_wanted = [f for f in args.faults.split(",") if f]
    worker_fault = "worker" in faults_wanted
    tokens, uids, worker_answers = _seed(
        args.labelers,
        passages=args.passages or max(60, int(args.seconds * 6)),
        assisted_answers=1 if worker_fault else 0,  # one job: its takeover is the lease
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = Process(
        ["serve", "--port", str(port), "--workers", str(args.app_workers)], logs / "app.log"
    )
    worker = Process(["worker", "--poll", "0.2"], logs / "worker.log")
    model = None
    if worker_fault:
        from tests.support.model_server import ModelServerProcess

        model = ModelServerProcess(log_dir=logs).start(timeout_s=180)
        os.environ["CRITIQUELAB_MODEL_URL"] = model.url
    app.start()
    if worker_fault:
        worker.start()  # it works through the launch's jobs before the fault's jobs come
    await _wait_http(base)
    ledger = Ledger()
    t0 = time.monotonic()
    clients = [
        Labeler(base, tok, uid, ledger, t0 + args.seconds, args.think)
        for tok, uid in zip(tokens, uids, strict=True)
    ]
    load = asyncio.gather(*(c.run() for c in clients))
    faults: list[Fault] = []
    worker_jobs: list[int] = []

    async def at(offset: float, action: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(max(0.0, t0 + offset - time.monotonic()))
        await action()

    async def kill_app() -> None:
        f = Fault("app: kill -9, restart", time.monotonic())
        await asyncio.to_thread(app.kill9)
        app.start()
        await _wait_http(base)
        f.back = time.monotonic()
        faults.append(f)

    async def restart_db() -> None:
        f = Fault("PostgreSQL: pg_ctl restart -m fast", time.monotonic())
        await asyncio.to_thread(restart_postgres, pg)
        f.back = time.monotonic()
        faults.append(f)

    async def running_jobs() -> list[int]:
        states = await asyncio.to_thread(_job_states)
        return [j for j, s, _, _ in states if s == "running" and j in worker_jobs]

    async def kill_worker() -> None:
        worker_jobs.extend(await asyncio.to_thread(_request_assistance, worker_answers))
        deadline = time.monotonic() + 120
        while not await running_jobs():
            if time.monotonic() > deadline:
                raise RuntimeError("the worker never started a job")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # mid-job
        running = await running_jobs()
        held_by = {j: by for j, _, _, by in await asyncio.to_thread(_job_states)}
        f = Fault("worker: kill -9 mid-job, restart", time.monotonic())
        await asyncio.to_thread(worker.kill9)
        worker.start()
        f.back = time.monotonic()
        # Recovered when another worker holds the jobs it held (after their lease ran out),
        # and done when they succeed.
        taken = None
        while True:
            states = {j: (s, by) for j, s, _, by in await asyncio.to_thread(_job_states)}
            if taken is None and all(
                states[j][0] == "succeeded" or states[j][1] != held_by[j] for j in running
            ):
                taken = time.monotonic() - f.back
            if all(states[j][0] == "succeeded" for j in running):
                break
            await asyncio.sleep(0.05)
        f.detail = (
            f"lease {args.lease:g} s; its job taken over {taken:.1f} s and done "
            f"{time.monotonic() - f.back:.1f} s after the restart"
        )
        faults.append(f)

    plan = {"app": kill_app, "postgres": restart_db, "worker": kill_worker}
    step = args.seconds / (len(faults_wanted) + 1)
    await asyncio.gather(load, *(at(step * (i + 1), plan[f]) for i, f in enumerate(faults_wanted)))
    if worker_fault:  # every assistance job ends
        deadline = time.monotonic() + 120
        while any(s != "succeeded" for j, s, _, _ in _job_states() if j in worker_jobs):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    elapsed = time.monotonic() - t0
    app.stop()
    worker.stop()
    if model is not None:
        model.stop()
    rows = []
    for f in faults:
        first_ok = min((t for t in ledger.ok_times if t > f.back), default=None)
        failed = sum(1 for t, _ in ledger.failures if f.started <= t <= (first_ok or f.back) + 0.5)
        rows.append(
            {
                "fault": f.name,
                "down_s": round(f.back - f.started, 2),
                "first_ack_after_back_s": round(first_ok - f.back, 2) if first_ok else None,
                "failed_attempts_retried": failed,
                "detail": f.detail,
            }
        )
    result = check(ledger, worker_answers, worker_jobs)
    return {
        "labelers": args.labelers,
        "seconds": round(elapsed, 1),
        "tasks_submitted": sum(c.done for c in clients),
        "faults": rows,
        "ledger": result,
    }


@contextlib.contextmanager
def migrated_postgres(**env: str) -> Iterator[PostgresServer]:
    """A throwaway, migrated PostgreSQL that this process and the `critiquelab` processes
    it starts use (through the environment, with `env` on top); all undone at exit."""
    from app.core import database, settings
    from app.core.migrations import upgrade

    pg = PostgresServer.start()
    saved = dict(os.environ)

    def fresh() -> None:
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()
        database.get_sessionmaker.cache_clear()

    try:
        url = pg.url("postgres")
        os.environ.update(
            CRITIQUELAB_DATABASE_URL=url,
            CRITIQUELAB_SECRET_KEY=os.environ.get("CRITIQUELAB_SECRET_KEY", "bench-secret-key"),
            CRITIQUELAB_EXPORT_SALT=os.environ.get("CRITIQUELAB_EXPORT_SALT", "bench-export-salt"),
            CRITIQUELAB_ENVIRONMENT="test",
            CRITIQUELAB_MODEL_NAME="smollm2-135m-instruct",
            **env,
        )
        fresh()
        upgrade(url=url)
        yield pg
    finally:
        database.get_engine().dispose()
        os.environ.clear()
        os.environ.update(saved)
        fresh()
        pg.stop()


def run(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labelers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=40, help="how long labelers keep labeling")
    ap.add_argument("--faults", default=",".join(FAULTS), help="app,postgres,worker in order")
    ap.add_argument("--app-workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--think", type=float, default=0.05, help="mean pause between writes")
    ap.add_argument("--passages", type=int, default=0, help="corpus size (default: 6 a second)")
    ap.add_argument("--lease", type=float, default=3.0, help="CRITIQUELAB_JOB_LEASE_S")
    ap.add_argument("--logs", type=Path, default=None)
    args = ap.parse_args(argv)
    logs = args.logs or Path(os.environ.get("TMPDIR", "/tmp")) / f"critiquelab-faults-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    with migrated_postgres(
        CRITIQUELAB_JOB_LEASE_S=str(args.lease),
        CRITIQUELAB_JOB_HEARTBEAT_S=str(args.lease / 4),
        CRITIQUELAB_CRITIQUE_MAX_TOKENS="24",
    ) as pg:
        return asyncio.run(_run(args, pg, logs))


def main() -> None:
    result = run()
    print(
        f"{result['labelers']} labelers, {result['seconds']} s, {result['tasks_submitted']} tasks submitted"
    )
    print(f"{'fault':<38} {'down s':>7} {'first ack s':>12} {'retried':>8}  detail")
    for row in result["faults"]:
        print(
            f"{row['fault']:<38} {row['down_s']:>7} {row['first_ack_after_back_s']!s:>12} "
            f"{row['failed_attempts_retried']:>8}  {row['detail']}"
        )
    for k, v in result["ledger"].items():
        print(f"{k:<42} {v}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
