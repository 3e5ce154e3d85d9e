"""The one CLI, `critiquelab`: each domain's commands (its cli.py) on one typer app, and the
commands that span domains (serve, worker, export, analyze, simulate).

Start-up stays light (`--help` builds every command): command bodies import what they use,
so `critiquelab export --help` loads neither FastAPI nor SQLAlchemy."""

from pathlib import Path
from typing import Annotated

import typer

from app.assist.cli import assist_cli, evaluate_on_paper_labels
from app.core.console import CommandGroup, fail, progress
from app.corpus.cli import corpus_cli
from app.experiments.cli import experiments_cli
from app.judgements.cli import judgements_cli
from app.review.cli import reviews_cli
from app.users.cli import users_cli
from app.writing.cli import writing_cli

cli = typer.Typer(
    cls=CommandGroup,
    no_args_is_help=True,
    add_completion=False,
    help="critiquelab: critique-assistance experiments",
)
db_cli = typer.Typer(no_args_is_help=True, help="Database schema.")
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(corpus_cli)  # import, stats, demo
cli.add_typer(assist_cli, name="assist")
cli.add_typer(experiments_cli, name="experiments")
cli.add_typer(writing_cli, name="writing")
cli.add_typer(reviews_cli, name="reviews")
cli.add_typer(judgements_cli, name="judgements")


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


@cli.command()
def worker(
    once: Annotated[bool, typer.Option(help="run what is runnable now, then exit")] = False,
    poll: Annotated[float, typer.Option(help="seconds between polls when idle")] = 1.0,
) -> None:
    """Run background jobs (uploads' imports, assistance, model answers, reports)."""
    import asyncio
    import logging

    from app import tasks  # noqa: F401  (registers every domain's jobs)
    from app.jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    done = asyncio.run(run_worker(once=once, poll_s=poll))
    typer.echo(f"worker ran {done} jobs")


@assist_cli.command("evaluate")
def assist_evaluate(
    limit: Annotated[int | None, typer.Option(help="score only the first N judgements")] = None,
    labels: Annotated[
        str, typer.Option(help="paper: the imported labels; app: those collected in the app")
    ] = "paper",
) -> None:
    """ROC AUC of the model's helpfulness score against human helpful labels."""
    # Here, not in app/assist/cli.py: the app's labels are the judgements domain's, which
    # builds on assist.
    if labels == "app":
        from app.judgements.cli import evaluate_cmd

        evaluate_cmd(limit=limit, samples=1000)
    elif labels == "paper":
        evaluate_on_paper_labels(limit)
    else:
        fail(f"--labels must be paper or app, not {labels!r}")


def _known_experiment(experiment: int | None) -> None:
    """An --experiment that names no experiment is an error, not an empty export."""
    if experiment is None:
        return
    from app.core.database import session_scope
    from app.experiments import design

    with session_scope(writes=False) as s:
        design.get(s, experiment)  # NotFound: the root command prints it and exits 1


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
    from app.core.database import session_scope
    from app.export.service import count_tasks, export_chunks, export_lines

    fmt = format or ("parquet" if output.suffix == ".parquet" else "jsonl")
    if fmt == "paper":  # the helpfulness judgements, in the paper's release format
        from app.judgements.cli import export as export_judgements

        export_judgements(output)
        return
    if fmt not in ("jsonl", "parquet"):
        fail(f"--format {fmt}: expected jsonl, parquet or paper")
    _known_experiment(experiment)
    from app.integrity.service import refresh_now

    refresh_now(experiment)  # the integrity check of tasks submitted since the last export
    n = 0
    tmp = output.with_name(output.name + ".partial")
    with progress("exporting") as bar, session_scope(writes=False) as s:
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
    from app.core.database import session_scope
    from app.export.service import count_tasks, export_lines

    if input is not None and not input.is_file():
        fail(f"{input}: no such file")
    with progress("analysing") as bar:
        if input is not None:
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
    from app.core.database import session_scope

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
    with progress("labeling") as bar:
        task = bar.add_task("simulate", total=passages * 6)
        with session_scope() as s:
            exp_id = run(s, params, lambda n: bar.update(task, completed=n))
    typer.echo(exp_id)


def main() -> None:
    cli()
