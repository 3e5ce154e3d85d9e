"""`critiquelab writing ...`: ask labelers to write answers."""

import json
from typing import Annotated

import typer

from app.core.console import fail

writing_cli = typer.Typer(no_args_is_help=True, help="Answer writing by labelers.")


@writing_cli.command("assign")
def assign(
    writer: Annotated[str, typer.Option(help="the labeler who writes")],
    questions: Annotated[str, typer.Option(help="comma-separated question ids")],
) -> None:
    """Ask a labeler to write the honest and misleading answers of some questions."""
    from app.core.database import session_scope
    from app.writing import service

    try:
        ids = [int(q) for q in questions.split(",") if q.strip()]
    except ValueError:
        fail(f"--questions must be comma-separated ids, got {questions!r}")
    with session_scope() as s:
        tasks = service.assign(s, writer, ids)
        typer.echo(json.dumps({"writing_task_ids": [t.id for t in tasks]}))
