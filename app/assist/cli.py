"""`critiquelab assist ...`: assistance generation jobs and evaluation of the model's scores."""

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import typer

from app.core.console import fail

assist_cli = typer.Typer(
    no_args_is_help=True, help="Model assistance: generation jobs and evaluation."
)


@assist_cli.command("generate")
def generate(
    answers: Annotated[
        bool, typer.Option(help="also sample a model answer for questions without one")
    ] = False,
) -> None:
    """Enqueue assistance for every answer that has none (for the configured model and prompt)."""
    from app.assist.prompts import prompt_format
    from app.assist.service import request_missing_assistance, request_missing_model_answers
    from app.core.database import session_scope
    from app.core.settings import get_settings

    settings = get_settings()
    with session_scope() as s:
        n_answers = request_missing_model_answers(s) if answers else 0
        n = request_missing_assistance(
            s, settings.model_name, prompt_format(settings.prompt_format).version
        )
    typer.echo(json.dumps({"assistance_jobs": n, "model_answer_jobs": n_answers}))


def evaluate_on_paper_labels(limit: int | None) -> None:
    """ROC AUC of the model's helpfulness score against the paper's imported helpful labels
    (`critiquelab assist evaluate`; app/cli.py adds the labels collected in the app)."""
    from dataclasses import asdict

    from app.assist.client import model_client
    from app.assist.evaluate import evaluate_helpfulness
    from app.assist.prompts import prompt_format
    from app.core.database import session_scope
    from app.core.settings import get_settings

    settings = get_settings()

    async def go() -> dict[str, object]:
        async with model_client() as client:
            with session_scope() as s:
                result = await evaluate_helpfulness(
                    s, client, prompt_format(settings.prompt_format), limit
                )
        return asdict(result)

    print_evaluation(go)


def print_evaluation(evaluate: Callable[[], Coroutine[Any, Any, dict[str, object]]]) -> None:
    """Run an evaluation against the model; print its numbers with the model and prompt
    format as one JSON object, or fail with the backend's error."""
    import asyncio

    from app.assist.client import ModelError
    from app.core.settings import get_settings

    try:
        out = asyncio.run(evaluate())
    except ModelError as exc:
        fail(str(exc))
    settings = get_settings()
    out.update(model=settings.model_name, prompt_format=settings.prompt_format)
    typer.echo(json.dumps(out, sort_keys=True))
