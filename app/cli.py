"""The one CLI: `critiquelab serve | db upgrade | users ... | import | demo | stats`."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from app.core.database import session_scope
from app.core.errors import AppError

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, help="critiquelab: critique-assistance experiments"
)
db_cli = typer.Typer(no_args_is_help=True, help="Database schema.")
users_cli = typer.Typer(no_args_is_help=True, help="User accounts.")
assist_cli = typer.Typer(
    no_args_is_help=True, help="Model assistance: generation jobs and evaluation."
)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
experiments_cli = typer.Typer(
    no_args_is_help=True, help="Experiments: create, launch, pause, resume."
)
cli.add_typer(assist_cli, name="assist")
cli.add_typer(experiments_cli, name="experiments")
writing_cli = typer.Typer(no_args_is_help=True, help="Answer writing by labelers.")
reviews_cli = typer.Typer(no_args_is_help=True, help="Intended-critique reviews.")
cli.add_typer(writing_cli, name="writing")
cli.add_typer(reviews_cli, name="reviews")
from app.judgements.cli import judgements_cli  # noqa: E402 - the domain owns its sub-app

cli.add_typer(judgements_cli, name="judgements")
# soft_wrap: an error line is never broken at the terminal's width (tests and scripts grep
# for it, and a console narrower than a long path would otherwise split it).
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _say(level: str, message: str) -> None:
    colour = "red" if level == "error" else "yellow"
    err.print(f"[{colour}]{level}:[/{colour}] {escape(message)}")


def _fail(message: str) -> None:
    _say("error", message)
    raise typer.Exit(code=1)


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    reload: bool = False,
) -> None:
    """Run the web app (migrate first with `critiquelab db upgrade`)."""
    import uvicorn

    uvicorn.run(
        "app.main:create_app", factory=True, host=host, port=port, workers=workers, reload=reload
    )


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations to the configured database."""
    from app.core.migrations import upgrade

    upgrade(revision)
    typer.echo(f"database at {revision}")


@users_cli.command("create")
def users_create(
    username: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="labeler | admin | researcher")],
) -> None:
    """Create a user."""
    from app.users.service import create_user

    try:
        with session_scope() as s:
            user = create_user(s, username, password, role)
            typer.echo(f"created {user.role} {user.username} (id {user.id})")
    except AppError as exc:
        _fail(exc.message)


@users_cli.command("token")
def users_token(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    expires_days: Annotated[
        int | None, typer.Option(help="days until it expires [default: CRITIQUELAB_API_TOKEN_DAYS]")
    ] = None,
) -> None:
    """Make a new bearer token for the JSON API and print it (it is shown only now)."""
    from app.users.service import api_token_for

    try:
        with session_scope() as s:
            typer.echo(api_token_for(s, username, name, expires_days))
    except AppError as exc:
        _fail(exc.message)


@users_cli.command("tokens")
def users_tokens(username: str) -> None:
    """List a user's API tokens (id, name, state, expiry, last use) as JSON lines."""
    from app.users import service, tokens

    try:
        with session_scope(writes=False) as s:
            user = service.user_named(s, username)
            for token, _ in tokens.listed(s, user.id):
                typer.echo(
                    json.dumps(
                        {
                            "id": token.id,
                            "name": token.name,
                            "prefix": token.prefix,
                            "state": tokens.state(token),
                            "created_at": token.created_at.isoformat(),
                            "expires_at": token.expires_at.isoformat(),
                            "last_used_at": token.last_used_at.isoformat()
                            if token.last_used_at
                            else None,
                        }
                    )
                )
    except AppError as exc:
        _fail(exc.message)


@users_cli.command("revoke-token")
def users_revoke_token(token_id: int) -> None:
    """Revoke one API token by its id (see `users tokens`)."""
    from app.users import tokens

    try:
        with session_scope() as s:
            tokens.revoke(s, token_id)
    except AppError as exc:
        _fail(exc.message)
    typer.echo(f"revoked token {token_id}")


@users_cli.command("set-password")
def users_set_password(
    username: str, password: Annotated[str, typer.Option(prompt=True, hide_input=True)]
) -> None:
    """Set a user's password; their sessions and API tokens end at once."""
    from app.users import service

    try:
        with session_scope() as s:
            service.set_password(s, service.user_named(s, username).id, password)
    except AppError as exc:
        _fail(exc.message)
    typer.echo(f"password set for {username}; their sessions and tokens are revoked")


@cli.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=False)],
    format: Annotated[str, typer.Option("--format", help="native | paper")] = "native",
) -> None:
    """Import a JSONL file, all or nothing; prints what was added as JSON."""
    from app.corpus.importer import import_file
    from app.corpus.parsing import ImportFileError, ImportFormat

    try:
        fmt = ImportFormat(format)
    except ValueError:
        _fail(f"--format must be native or paper, not {format!r}")
        return
    if not file.is_file():
        _fail(f"{file}: no such file")
    with Progress(
        TextColumn("checking {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(file.name, total=None)
        try:
            with session_scope() as s:
                added = import_file(
                    s, file, fmt, progress=lambda d, t: bar.update(task, completed=d, total=t)
                )
        except ImportFileError as exc:
            # Exit 2 for a bad input file (file:line:field), 1 for other failures.
            _say("error", f"{exc} (nothing was imported)")
            raise typer.Exit(code=2) from None
    typer.echo(json.dumps({"added": added}, sort_keys=True))


@cli.command()
def stats() -> None:
    """Print the count of every entity as one JSON object."""
    from app.corpus.stats import entity_counts

    with session_scope(writes=False) as s:
        typer.echo(json.dumps(entity_counts(s), sort_keys=True))


@cli.command()
def demo(
    force: Annotated[
        bool, typer.Option(help="load it in production too, with generated passwords")
    ] = False,
) -> None:
    """Load the demo data and demo users (idempotent); prints the logins."""
    import secrets

    from app.core.settings import get_settings
    from app.corpus.demo import DEMO_USERS, load_demo
    from app.users.repository import UserRepository
    from app.users.service import create_user

    production = get_settings().environment == "production"
    if production and not force:
        _fail(
            "refusing to load the demo in production: its users have known passwords "
            "(--force loads it with generated passwords)"
        )
    with session_scope() as s:
        generated: dict[str, str] = {}
        if production:
            # Create the demo users first, with random passwords; load_demo keeps users that
            # exist, so none gets the known one.
            users = UserRepository(s)
            for username, role in DEMO_USERS:
                if users.get_by_username(username) is None:
                    generated[username] = secrets.token_urlsafe(12)
                    create_user(s, username, generated[username], role)
        logins, added = load_demo(s)
    if generated:
        added["users"] = len(generated)
    typer.echo(f"demo data loaded (added: {json.dumps(added, sort_keys=True)})")
    typer.echo("demo logins (username / password / role):")
    for username, password, role in logins:
        if production:
            password = generated.get(username, "(unchanged)")
        typer.echo(f"  {username:<12} {password:<20} {role}")


@cli.command()
def worker(
    once: Annotated[bool, typer.Option(help="run what is runnable now, then exit")] = False,
    poll: Annotated[float, typer.Option(help="seconds between polls when idle")] = 1.0,
) -> None:
    """Run background jobs (assistance generation, model answers) from the database."""
    import asyncio
    import logging

    from app.jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    done = asyncio.run(run_worker(once=once, poll_s=poll))
    typer.echo(f"worker ran {done} jobs")


@assist_cli.command("generate")
def assist_generate(
    answers: Annotated[
        bool, typer.Option(help="also sample a model answer for questions without one")
    ] = False,
) -> None:
    """Enqueue assistance for every answer that has none (for the configured model and prompt)."""
    from app.assist.prompts import prompt_format
    from app.assist.service import request_missing_assistance, request_missing_model_answers
    from app.core.settings import get_settings

    settings = get_settings()
    with session_scope() as s:
        n_answers = request_missing_model_answers(s) if answers else 0
        n = request_missing_assistance(
            s, settings.model_name, prompt_format(settings.prompt_format).version
        )
    typer.echo(json.dumps({"assistance_jobs": n, "model_answer_jobs": n_answers}))


@assist_cli.command("evaluate")
def assist_evaluate(
    limit: Annotated[int | None, typer.Option(help="score only the first N judgements")] = None,
    labels: Annotated[
        str, typer.Option(help="paper: the imported labels; app: those collected in the app")
    ] = "paper",
) -> None:
    """ROC AUC of the model's helpfulness score against human helpful labels."""
    import asyncio

    if labels == "app":
        from app.judgements.cli import evaluate_cmd

        evaluate_cmd(limit=limit, samples=1000)
        return
    if labels != "paper":
        _fail(f"--labels must be paper or app, not {labels!r}")
    from dataclasses import asdict

    from app.assist.client import ModelError
    from app.assist.evaluate import evaluate_helpfulness
    from app.assist.jobs import model_client
    from app.assist.prompts import prompt_format
    from app.core.settings import get_settings

    async def go() -> dict[str, object]:
        async with model_client() as client:
            with session_scope() as s:
                result = await evaluate_helpfulness(
                    s, client, prompt_format(get_settings().prompt_format), limit
                )
        return asdict(result)

    try:
        out = asyncio.run(go())
    except ModelError as exc:
        _fail(str(exc))
        return
    settings = get_settings()
    out.update(model=settings.model_name, prompt_format=settings.prompt_format)
    typer.echo(json.dumps(out, sort_keys=True))


@experiments_cli.command("create")
def experiments_create(
    name: Annotated[str, typer.Option()],
    labelers: Annotated[str, typer.Option(help="comma-separated usernames")],
    sources: Annotated[
        str, typer.Option(help="comma-separated answer sources")
    ] = "model,human,human_misleading",
    questions: Annotated[
        str | None, typer.Option(help="comma-separated question ids (default: all)")
    ] = None,
    labelers_per_condition: int = 1,
    expiry_hours: float = 4.0,
) -> None:
    """Create a draft experiment; prints its id."""
    from app.experiments import design

    d = design.Design(
        name=name,
        sources=[s.strip() for s in sources.split(",") if s.strip()],
        labelers=[u.strip() for u in labelers.split(",") if u.strip()],
        question_ids=[int(q) for q in questions.split(",")] if questions else None,
        labelers_per_condition=labelers_per_condition,
        task_expiry_s=int(expiry_hours * 3600),
    )
    try:
        with session_scope() as s:
            exp = design.create(s, d)
            problems = design.fill_problems(s, exp.id)
            typer.echo(exp.id)
    except AppError as exc:
        _fail(exc.message)
        return
    for p in problems:
        _say("warning", f"cannot be filled: {p}")


@experiments_cli.command("launch")
def experiments_launch(experiment_id: int) -> None:
    """Create the tasks of a draft and enqueue their assistance."""
    from app.experiments import design

    try:
        with session_scope() as s:
            n = design.launch(s, experiment_id)
    except AppError as exc:
        _fail(exc.message)
        return
    typer.echo(f"launched experiment {experiment_id}: {n} tasks")


@experiments_cli.command("pause")
def experiments_pause(experiment_id: int) -> None:
    from app.experiments import design

    try:
        with session_scope() as s:
            design.set_paused(s, experiment_id, True)
    except AppError as exc:
        _fail(exc.message)


@experiments_cli.command("resume")
def experiments_resume(experiment_id: int) -> None:
    from app.experiments import design

    try:
        with session_scope() as s:
            design.set_paused(s, experiment_id, False)
    except AppError as exc:
        _fail(exc.message)


@writing_cli.command("assign")
def writing_assign(
    writer: Annotated[str, typer.Option(help="the labeler who writes")],
    questions: Annotated[str, typer.Option(help="comma-separated question ids")],
) -> None:
    """Ask a labeler to write the honest and misleading answers of some questions."""
    from app.writing import service

    try:
        ids = [int(q) for q in questions.split(",") if q.strip()]
    except ValueError:
        _fail(f"--questions must be comma-separated ids, got {questions!r}")
        return
    try:
        with session_scope() as s:
            tasks = service.assign(s, writer, ids)
            typer.echo(json.dumps({"writing_task_ids": [t.id for t in tasks]}))
    except AppError as exc:
        _fail(exc.message)


@reviews_cli.command("list")
def reviews_list(experiment: Annotated[int | None, typer.Option()] = None) -> None:
    """One JSON line per review: who reviews, whether it is done."""
    from dataclasses import asdict

    from app.review.view import listing

    with session_scope(writes=False) as s:
        for row in listing(s, experiment):
            typer.echo(json.dumps(asdict(row)))


@reviews_cli.command("delegate")
def reviews_delegate(
    review_id: int,
    to: Annotated[str, typer.Option(help="username of the new reviewer")],
    permission: Annotated[str, typer.Option(help="the author's permission: how and when given")],
) -> None:
    """Hand a review to someone else when its author is unavailable."""
    from app.review import service

    try:
        with session_scope() as s:
            service.delegate(s, review_id, to, permission)
    except AppError as exc:
        _fail(exc.message)
        return
    typer.echo(f"review {review_id} handed to {to}")


def _known_experiment(experiment: int | None) -> None:
    """An --experiment that names no experiment is an error, not an empty export."""
    if experiment is None:
        return
    from app.experiments import design

    with session_scope(writes=False) as s:
        try:
            design.get(s, experiment)
        except AppError as exc:
            _fail(exc.message)


@cli.command()
def export(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="file to write (.jsonl, or .parquet)")
    ],
    experiment: Annotated[int | None, typer.Option(help="only this experiment")] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="jsonl or parquet (default: from the file's suffix), or paper: the "
            "helpfulness judgements in the paper's release format",
        ),
    ] = None,
) -> None:
    """Every submitted labeling task: JSON lines (schema: app/export/export_schema.json), or a
    Parquet table of labeler critiques (app/export/parquet.py)."""
    from app.export.service import count_tasks, export_chunks, export_lines

    fmt = format or ("parquet" if output.suffix == ".parquet" else "jsonl")
    if fmt == "paper":  # the helpfulness judgements, in the paper's release format
        from app.judgements.cli import export as export_judgements

        export_judgements(output)
        return
    if fmt not in ("jsonl", "parquet"):
        _fail(f"--format {fmt}: expected jsonl, parquet or paper")
    _known_experiment(experiment)
    from app.integrity.service import refresh_now

    refresh_now(experiment)  # the integrity check of tasks submitted since the last export
    n = 0
    tmp = output.with_name(output.name + ".partial")
    with (
        Progress(
            TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
        ) as bar,
        session_scope(writes=False) as s,
    ):
        task = bar.add_task("export", total=count_tasks(s, experiment))
        if fmt == "parquet":
            from app.export.parquet import write_parquet

            n = write_parquet(export_lines(s, experiment), tmp)
        else:
            with tmp.open("wb") as fh:
                for chunk in export_chunks(s, experiment):
                    fh.write(chunk)
                    n += chunk.count(b"\n")
                    bar.update(task, completed=n)
    tmp.replace(output)  # a complete file or none
    typer.echo(f"exported {n} labeling tasks to {output}")


@cli.command()
def analyze(
    output: Annotated[Path, typer.Option("-o", "--output", help="directory for the report")],
    experiment: Annotated[int | None, typer.Option(help="only this experiment")] = None,
    input: Annotated[
        Path | None, typer.Option("--input", help="an export file instead of the database")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="bootstrap seed")] = None,
    samples: Annotated[int, typer.Option(help="bootstrap samples")] = 2000,
) -> None:
    """The report (JSON numbers, figures, Markdown and HTML) from an export or the database."""
    import orjson

    from app.analysis.export_file import analyze_file
    from app.analysis.report import DEFAULT_SEED, write_report
    from app.analysis.report import analyze as run
    from app.export.service import count_tasks, export_lines

    with Progress(
        TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        try:
            if input is not None:
                if not input.is_file():
                    _fail(f"{input}: no such file")
                task = bar.add_task("analyse", total=None)
                report = analyze_file(
                    input,
                    experiment,
                    seed if seed is not None else DEFAULT_SEED,
                    samples,
                    lambda n: bar.update(task, completed=n),
                )
            else:
                _known_experiment(experiment)
                from app.integrity.service import refresh_now

                refresh_now(experiment)  # flags of tasks submitted since the last check
                with session_scope(writes=False) as s:
                    task = bar.add_task("analyse", total=count_tasks(s, experiment))
                    report = run(
                        (orjson.loads(line) for line in export_lines(s, experiment)),
                        seed if seed is not None else DEFAULT_SEED,
                        samples,
                        lambda n: bar.update(task, completed=n),
                    )
        except AppError as exc:
            _fail(exc.message)
            return
    written = write_report(report, output)
    left_out = report["integrity"]["left_out_tasks"]
    typer.echo(
        f"analysed {report['tasks']} labeling tasks ({left_out} flagged or excluded, shown "
        f"beside every number without them); wrote {len(written)} files to {output}"
    )


@cli.command()
def simulate(
    name: Annotated[
        str, typer.Option(help="experiment name (also prefixes its users)")
    ] = "simulated",
    passages: int = 30,
    labelers: int = 12,
    find_rate: Annotated[float, typer.Option(help="per-flaw find rate without assistance")] = 0.25,
    assist_find_rate: Annotated[
        float, typer.Option(help="per-flaw find rate with assistance")
    ] = 0.4,
    use_rate: float = 0.6,
    edit_rate: float = 0.15,
    valid_rate: float = 0.75,
    minutes: float = 10.0,
    assist_minutes: float = 12.0,
    seed: int = 0,
    contaminated_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="share of labelers who paste the model's critiques when unassisted",
        ),
    ] = 0.0,
) -> None:
    """Build a synthetic experiment with planted effects through the real services; prints its id."""
    from app.analysis.simulate import SimParams
    from app.analysis.simulate import simulate as run

    params = SimParams(
        name=name,
        passages=passages,
        labelers=labelers,
        find_rate=find_rate,
        assist_find_rate=assist_find_rate,
        use_rate=use_rate,
        edit_rate=edit_rate,
        valid_rate=valid_rate,
        minutes=minutes,
        assist_minutes=assist_minutes,
        seed=seed,
        contaminated_share=contaminated_share,
    )
    with Progress(
        TextColumn("labeling"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("simulate", total=passages * 6)
        try:
            with session_scope() as s:
                exp_id = run(s, params, lambda n: bar.update(task, completed=n))
        except AppError as exc:
            _fail(exc.message)
            return
    typer.echo(exp_id)


def main() -> None:
    try:
        cli()
    except AppError as exc:  # pragma: no cover - last resort, commands catch their own
        _say("error", exc.message)
        sys.exit(1)
