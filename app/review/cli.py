"""`critiquelab reviews ...`: intended-critique reviews."""

import json
from typing import Annotated

import typer

reviews_cli = typer.Typer(no_args_is_help=True, help="Intended-critique reviews.")


@reviews_cli.command("list")
def list_reviews(experiment: Annotated[int | None, typer.Option()] = None) -> None:
    """One JSON line per review: who reviews, whether it is done."""
    from dataclasses import asdict

    from app.core.database import session_scope
    from app.review.view import listing

    with session_scope(writes=False) as s:
        for row in listing(s, experiment):
            typer.echo(json.dumps(asdict(row)))


@reviews_cli.command("delegate")
def delegate(
    review_id: int,
    to: Annotated[str, typer.Option(help="username of the new reviewer")],
    permission: Annotated[str, typer.Option(help="the author's permission: how and when given")],
) -> None:
    """Hand a review to someone else when its author is unavailable."""
    from app.core.database import session_scope
    from app.review import service

    with session_scope() as s:
        service.delegate(s, review_id, to, permission)
    typer.echo(f"review {review_id} handed to {to}")
