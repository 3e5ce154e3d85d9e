"""`critiquelab experiments ...`: create, launch, pause, resume."""

from typing import Annotated

import typer

from app.core.console import say

experiments_cli = typer.Typer(
    no_args_is_help=True, help="Experiments: create, launch, pause, resume."
)


@experiments_cli.command("create")
def create(
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
    from app.core.database import session_scope
    from app.experiments import design

    d = design.Design(
        name=name,
        sources=[s.strip() for s in sources.split(",") if s.strip()],
        labelers=[u.strip() for u in labelers.split(",") if u.strip()],
        question_ids=[int(q) for q in questions.split(",")] if questions else None,
        labelers_per_condition=labelers_per_condition,
        task_expiry_s=int(expiry_hours * 3600),
    )
    with session_scope() as s:
        exp = design.create(s, d)
        problems = design.fill_problems(s, exp.id)
        typer.echo(exp.id)
    for p in problems:
        say("warning", f"cannot be filled: {p}")


@experiments_cli.command("launch")
def launch(experiment_id: int) -> None:
    """Create the tasks of a draft and enqueue their assistance."""
    from app.core.database import session_scope
    from app.experiments import design

    with session_scope() as s:
        n = design.launch(s, experiment_id)
    typer.echo(f"launched experiment {experiment_id}: {n} tasks")


@experiments_cli.command("pause")
def pause(experiment_id: int) -> None:
    """Stop handing out the experiment's tasks."""
    _set_paused(experiment_id, True)


@experiments_cli.command("resume")
def resume(experiment_id: int) -> None:
    """Hand out the experiment's tasks again."""
    _set_paused(experiment_id, False)


def _set_paused(experiment_id: int, paused: bool) -> None:
    from app.core.database import session_scope
    from app.experiments import design

    with session_scope() as s:
        design.set_paused(s, experiment_id, paused)
