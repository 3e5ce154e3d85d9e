"""How well the configured model's helpfulness score ranks the paper's human labels (ROC AUC)."""

import asyncio
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.assist.client import ModelClient
from app.assist.prompts import Context, PromptFormat
from app.assist.repository import AssistRepository
from app.assist.scoring import Score
from app.assist.service import context_of_answer
from app.assist.sweep import yes_no


@dataclass(frozen=True)
class Evaluation:
    judgements: int
    scored: int
    unscored: int
    roc_auc: float | None
    positives: int
    negatives: int


def roc_auc(scores: list[float], labels: list[bool]) -> float | None:
    """Probability that a random helpful critique outscores a random unhelpful one (ties 1/2)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    # Rank-sum (Mann-Whitney U) with average ranks for ties: O(n log n).
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    u = rank_sum - len(pos) * (len(pos) + 1) / 2
    return u / (len(pos) * len(neg))


async def evaluate_helpfulness(
    session: Session,
    client: ModelClient,
    fmt: PromptFormat,
    limit: int | None = None,
    concurrency: int = 16,
) -> Evaluation:
    rows = AssistRepository(session).judgements_with_context(limit)
    items = [(context_of_answer(answer), j.critique_text, j.helpful) for j, answer in rows]
    gate = asyncio.Semaphore(concurrency)

    async def score_one(ctx: Context, critique: str) -> Score:
        async with gate:
            return (await yes_no(client, fmt.helpfulness(ctx, critique)))[0]

    scores = await asyncio.gather(*(score_one(ctx, c) for ctx, c, _ in items))
    pairs = [
        (s.value, y) for s, (_, _, y) in zip(scores, items, strict=True) if s.value is not None
    ]
    labels = [y for _, y in pairs]
    return Evaluation(
        judgements=len(items),
        scored=len(pairs),
        unscored=len(items) - len(pairs),
        roc_auc=roc_auc([s for s, _ in pairs], labels),
        positives=sum(labels),
        negatives=len(labels) - sum(labels),
    )
