"""What every CLI command shares: messages on stderr that never wrap, failing with one, and a
progress bar. Light to import: `critiquelab <command> --help` loads every domain's CLI module,
so those import services (SQLAlchemy, FastAPI) inside their commands, not at the top."""

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from typer.core import TyperGroup

# soft_wrap: an error line is never broken at the terminal's width (tests and scripts grep
# for it, and a console narrower than a long path would otherwise split it).
err = Console(stderr=True, soft_wrap=True, highlight=False)


def say(level: str, message: str) -> None:
    colour = "red" if level == "error" else "yellow"
    err.print(f"[{colour}]{level}:[/{colour}] {escape(message)}")


def fail(message: str) -> NoReturn:
    say("error", message)
    raise typer.Exit(code=1)


def progress(label: str) -> Progress:
    """A bar on stderr that disappears when done (stdout stays the command's result)."""
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    )


class CommandGroup(TyperGroup):
    """The root command: a service's AppError (bad input, not found, conflict) ends any
    command with its message and exit code 1, so commands need not catch it one by one."""

    def invoke(self, ctx: Any) -> Any:  # typer's click Context, which typer keeps private
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from app.core.errors import AppError  # imported on this path only: start-up

            if not isinstance(exc, AppError):
                raise
            fail(exc.message)
