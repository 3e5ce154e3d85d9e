"""`critiquelab users ...`: accounts and API tokens from the command line."""

import json
from typing import Annotated

import typer

users_cli = typer.Typer(no_args_is_help=True, help="User accounts.")


@users_cli.command("create")
def create(
    username: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="labeler | admin | researcher")],
) -> None:
    """Create a user."""
    from app.core.database import session_scope
    from app.users.service import create_user

    with session_scope() as s:
        user = create_user(s, username, password, role)
        typer.echo(f"created {user.role} {user.username} (id {user.id})")


@users_cli.command("token")
def token(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    expires_days: Annotated[
        int | None, typer.Option(help="days until it expires [default: CRITIQUELAB_API_TOKEN_DAYS]")
    ] = None,
) -> None:
    """Make a new bearer token for the JSON API and print it (it is shown only now)."""
    from app.core.database import session_scope
    from app.users.service import api_token_for

    with session_scope() as s:
        typer.echo(api_token_for(s, username, name, expires_days))


@users_cli.command("tokens")
def tokens_of(username: str) -> None:
    """List a user's API tokens (id, name, state, expiry, last use) as JSON lines."""
    from app.core.database import session_scope
    from app.users import service, tokens

    with session_scope(writes=False) as s:
        user = service.user_named(s, username)
        for t, _ in tokens.listed(s, user.id):
            last_used = t.last_used_at.isoformat() if t.last_used_at else None
            row = {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "state": tokens.state(t),
                "created_at": t.created_at.isoformat(),
                "expires_at": t.expires_at.isoformat(),
                "last_used_at": last_used,
            }
            typer.echo(json.dumps(row))


@users_cli.command("revoke-token")
def revoke_token(token_id: int) -> None:
    """Revoke one API token by its id (see `users tokens`)."""
    from app.core.database import session_scope
    from app.users import tokens

    with session_scope() as s:
        tokens.revoke(s, token_id)
    typer.echo(f"revoked token {token_id}")


@users_cli.command("set-password")
def set_password(
    username: str, password: Annotated[str, typer.Option(prompt=True, hide_input=True)]
) -> None:
    """Set a user's password; their sessions and API tokens end at once."""
    from app.core.database import session_scope
    from app.users import service

    with session_scope() as s:
        service.set_password(s, service.user_named(s, username).id, password)
    typer.echo(f"password set for {username}; their sessions and tokens are revoked")
