"""`critiquelab import | stats | demo`: the corpus from the command line."""

import json
from pathlib import Path
from typing import Annotated

import typer

from app.core.console import fail, progress, say

corpus_cli = typer.Typer()


@corpus_cli.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=False)],
    format: Annotated[str, typer.Option("--format", help="native | paper")] = "native",
) -> None:
    """Import a JSONL file, all or nothing; prints what was added as JSON."""
    from app.core.database import session_scope
    from app.corpus.importer import import_file
    from app.corpus.parsing import ImportFileError, ImportFormat

    try:
        fmt = ImportFormat(format)
    except ValueError:
        fail(f"--format must be native or paper, not {format!r}")
    if not file.is_file():
        fail(f"{file}: no such file")
    with progress("checking {task.description}") as bar:
        task = bar.add_task(file.name, total=None)
        try:
            with session_scope() as s:
                added = import_file(
                    s, file, fmt, progress=lambda d, t: bar.update(task, completed=d, total=t)
                )
        except ImportFileError as exc:
            # Exit 2 for a bad input file (file:line:field), 1 for other failures.
            say("error", f"{exc} (nothing was imported)")
            raise typer.Exit(code=2) from None
    typer.echo(json.dumps({"added": added}, sort_keys=True))


@corpus_cli.command()
def stats() -> None:
    """Print the count of every entity as one JSON object."""
    from app.core.database import session_scope
    from app.corpus.stats import entity_counts

    with session_scope(writes=False) as s:
        typer.echo(json.dumps(entity_counts(s), sort_keys=True))


@corpus_cli.command()
def demo(
    force: Annotated[
        bool, typer.Option(help="load it in production too, with generated passwords")
    ] = False,
) -> None:
    """Load the demo data and demo users (idempotent); prints the logins."""
    import secrets

    from app.core.database import session_scope
    from app.core.settings import get_settings
    from app.corpus.demo import DEMO_USERS, load_demo
    from app.users.repository import UserRepository
    from app.users.service import create_user

    production = get_settings().environment == "production"
    if production and not force:
        fail(
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
