"""`critiquelab judgements ...`: batches and the paper-format export from the command line."""

import json
from pathlib import Path
from typing import Annotated

import typer

judgements_cli = typer.Typer(
    no_args_is_help=True, help="Helpfulness judgements: batches and the paper-format export."
)


def _ids(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"not a list of ids: {value!r}") from exc


@judgements_cli.command("export")
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to write")],
) -> None:
    """Every judgement (imported and collected in the app) in the paper's release format."""
    from app.core.database import session_scope
    from app.judgements.export import export_file

    with session_scope(writes=False) as s:
        n = export_file(s, str(output))
    typer.echo(f"wrote {n} records to {output}")


@judgements_cli.command("create")
def create(
    name: Annotated[str, typer.Option(help="the batch's name")],
    questions: Annotated[str, typer.Option(help="question ids, comma-separated")],
    labelers: Annotated[str, typer.Option(help="usernames, comma-separated")],
    per_critique: Annotated[int, typer.Option(help="labelers judging each critique")] = 1,
    split: Annotated[str, typer.Option(help="the records' split: train, valid, test")] = "train",
) -> None:
    """Create a judgement batch and assign its tasks; prints the batch as JSON."""
    from pydantic import ValidationError

    from app.core.database import session_scope
    from app.core.errors import AppError
    from app.judgements import batches
    from app.judgements.schemas import BatchIn

    try:
        spec = BatchIn(
            name=name,
            question_ids=_ids(questions),
            labelers=[u.strip() for u in labelers.split(",") if u.strip()],
            judgements_per_critique=per_critique,
            split=split,
        )
    except ValidationError as exc:
        raise AppError.from_validation(exc) from exc
    with session_scope() as s:
        batch = batches.create_batch(s, spec)
        (out,) = batches.progress(s, batch.id)
        result = out.model_dump()
    typer.echo(json.dumps(result, sort_keys=True))


@judgements_cli.command("agreement")
def agreement_cmd(
    samples: Annotated[int, typer.Option(help="bootstrap samples")] = 1000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
) -> None:
    """Agreement between labelers on in-app judgements (Krippendorff's alpha for helpful,
    Kendall's tau-b for rankings), with passage-bootstrap intervals; one JSON object."""
    from app.core.database import session_scope
    from app.judgements.agreement import agreement

    with session_scope(writes=False) as s:
        typer.echo(json.dumps(agreement(s, samples, seed), sort_keys=True))


@judgements_cli.command("evaluate")
def evaluate_cmd(
    limit: Annotated[int | None, typer.Option(help="score only the first N judgements")] = None,
    samples: Annotated[int, typer.Option(help="bootstrap samples")] = 1000,
) -> None:
    """ROC AUC of the configured model's helpfulness score against the helpful labels
    collected in the app, with a passage-bootstrap interval (`critiquelab assist evaluate`
    does the same on the paper's imported labels)."""
    from app.assist.cli import print_evaluation
    from app.assist.client import model_client
    from app.assist.prompts import Context, prompt_format
    from app.assist.sweep import yes_no
    from app.core.database import session_scope
    from app.core.settings import get_settings
    from app.judgements.agreement import evaluate

    settings = get_settings()
    fmt = prompt_format(settings.prompt_format)

    async def go() -> dict[str, object]:
        async with model_client() as client:

            async def score(ctx: Context, critique: str) -> float | None:
                return (await yes_no(client, fmt.helpfulness(ctx, critique)))[0].value

            with session_scope(writes=False) as s:
                return await evaluate(s, score, limit, samples)

    print_evaluation(go)
