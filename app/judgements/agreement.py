"""Agreement between labelers on in-app judgements, and the model's helpfulness score
against them, each with a bootstrap over passages (the paper's unit of resampling).

- Krippendorff's alpha (nominal) for helpful / not, over critiques judged by 2+ labelers
  (a critique is its answer and text, so the same critique in two batches is one unit).
- Kendall's tau-b between two labelers' rankings of one question's critiques: ranked
  critiques by rank, the unhelpful ones tied below them; the mean over every pair of
  labelers who judged the same question.
- ROC AUC of the model's helpfulness score against the collected helpful labels.

Intervals are the 2.5 and 97.5 percentiles of a seeded bootstrap that draws passages with
replacement; `se` is its standard deviation (the report's z = 1 bar).
"""

import asyncio
import math
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assist.evaluate import roc_auc
from app.assist.prompts import Context
from app.models import Answer, Passage, Question
from app.models.judgements import JudgementCritique, JudgementStatus, JudgementTask


@dataclass(frozen=True)
class Verdict:
    passage_id: int
    question_id: int
    task_id: int
    unit: tuple[int, str]  # (answer id, critique text)
    helpful: bool
    rank: int | None


def verdicts(session: Session) -> list[Verdict]:
    rows = session.execute(
        select(
            JudgementTask.passage_id,
            JudgementTask.question_id,
            JudgementTask.id,
            JudgementCritique.answer_id,
            JudgementCritique.text,
            JudgementCritique.helpful,
            JudgementCritique.rank,
        )
        .join(JudgementTask, JudgementTask.id == JudgementCritique.task_id)
        .where(JudgementTask.status == JudgementStatus.submitted)
        .order_by(JudgementTask.id, JudgementCritique.position)
    )
    return [Verdict(p, q, t, (a, text), bool(h), r) for p, q, t, a, text, h, r in rows]


def krippendorff_alpha(units: Sequence[Sequence[bool]]) -> float | None:
    """Nominal alpha from each unit's values (one per labeler; units with one are unpaired)."""
    o: dict[tuple[bool, bool], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, c in enumerate(values):
            for j, k in enumerate(values):
                if i != j:
                    o[(c, k)] += 1 / (m - 1)
    n_c = {c: sum(v for (a, _), v in o.items() if a == c) for c in (False, True)}
    n = sum(n_c.values())
    if n < 2:
        return None
    d_o = (o[(False, True)] + o[(True, False)]) / n
    d_e = 2 * n_c[False] * n_c[True] / (n * (n - 1))
    return None if d_e == 0 else 1 - d_o / d_e


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float | None:
    concordant = discordant = ties_x = ties_y = 0
    for i, j in combinations(range(len(x)), 2):
        dx, dy = x[i] - x[j], y[i] - y[j]
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif (dx > 0) == (dy > 0):
            concordant += 1
        else:
            discordant += 1
    pairs_x = concordant + discordant + ties_y
    pairs_y = concordant + discordant + ties_x
    if pairs_x == 0 or pairs_y == 0:
        return None
    return (concordant - discordant) / math.sqrt(pairs_x * pairs_y)


def _taus(vs: Sequence[Verdict]) -> list[float]:
    by_question: dict[int, dict[int, dict[tuple[int, str], float]]] = defaultdict(dict)
    tasks: dict[int, list[Verdict]] = defaultdict(list)
    for v in vs:
        tasks[v.task_id].append(v)
    for task_id, items in tasks.items():
        bottom = 1 + max((v.rank or 0) for v in items)
        by_question[items[0].question_id][task_id] = {
            v.unit: float(v.rank) if v.rank is not None else float(bottom) for v in items
        }
    taus = []
    for per_task in by_question.values():
        for a, b in combinations(per_task.values(), 2):
            common = sorted(set(a) & set(b))
            tau = kendall_tau_b([a[u] for u in common], [b[u] for u in common])
            if tau is not None:
                taus.append(tau)
    return taus


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _interval(
    by_passage: dict[int, list[Any]],
    statistic: Callable[[list[list[Any]]], float | None],
    samples: int,
    seed: int,
) -> dict[str, Any]:
    """The statistic on all passages, and its bootstrap over passages."""
    passages = sorted(by_passage)
    value = statistic([by_passage[p] for p in passages])
    rng = random.Random(seed)
    draws = []
    for _ in range(samples if passages else 0):
        drawn = [by_passage[rng.choice(passages)] for _ in passages]
        if (x := statistic(drawn)) is not None:
            draws.append(x)
    draws.sort()
    out: dict[str, Any] = {"value": value, "se": None, "ci95": None, "passages": len(passages)}
    if len(draws) >= 2:
        mean = sum(draws) / len(draws)
        out["se"] = math.sqrt(sum((d - mean) ** 2 for d in draws) / (len(draws) - 1))
        out["ci95"] = [draws[int(0.025 * (len(draws) - 1))], draws[int(0.975 * (len(draws) - 1))]]
    return out


def agreement(session: Session, samples: int = 1000, seed: int = 0) -> dict[str, Any]:
    vs = verdicts(session)
    by_passage: dict[int, list[Verdict]] = defaultdict(list)
    for v in vs:
        by_passage[v.passage_id].append(v)

    def alpha(groups: list[list[Verdict]]) -> float | None:
        # A passage drawn twice is two copies: its units must not merge into one.
        units: dict[tuple[int, tuple[int, str]], list[bool]] = defaultdict(list)
        for copy, group in enumerate(groups):
            for v in group:
                units[(copy, v.unit)].append(v.helpful)
        return krippendorff_alpha(list(units.values()))

    def tau(groups: list[list[Verdict]]) -> float | None:
        return _mean([t for group in groups for t in _taus(group)])

    units: dict[tuple[int, str], int] = defaultdict(int)
    for v in vs:
        units[v.unit] += 1
    return {
        "tasks": len({v.task_id for v in vs}),
        "critiques_judged_twice_or_more": sum(1 for n in units.values() if n >= 2),
        "helpful_alpha": _interval(by_passage, alpha, samples, seed),
        "ranking_tau_b": _interval(by_passage, tau, samples, seed),
    }


Scorer = Callable[[Context, str], Awaitable[float | None]]


async def evaluate(
    session: Session,
    score: Scorer,
    limit: int | None = None,
    samples: int = 1000,
    seed: int = 0,
    concurrency: int = 16,
) -> dict[str, Any]:
    """ROC AUC of `score` (the model's helpfulness) against the collected helpful labels."""
    vs = verdicts(session)[:limit] if limit else verdicts(session)
    contexts = {
        aid: Context(passage=ptext, question=qtext, answer=atext, title=title)
        for aid, atext, qtext, ptext, title in session.execute(
            select(Answer.id, Answer.text, Question.text, Passage.text, Passage.title)
            .join(Question, Question.id == Answer.question_id)
            .join(Passage, Passage.id == Question.passage_id)
            .where(Answer.id.in_({v.unit[0] for v in vs}))
        )
    }
    gate = asyncio.Semaphore(concurrency)

    async def one(v: Verdict) -> float | None:
        async with gate:
            return await score(contexts[v.unit[0]], v.unit[1])

    scores = await asyncio.gather(*(one(v) for v in vs))
    by_passage: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for v, s in zip(vs, scores, strict=True):
        if s is not None:
            by_passage[v.passage_id].append((s, v.helpful))

    def auc(groups: list[list[tuple[float, bool]]]) -> float | None:
        pairs = [p for g in groups for p in g]
        return roc_auc([s for s, _ in pairs], [y for _, y in pairs])

    scored = sum(len(g) for g in by_passage.values())
    return {
        "judgements": len(vs),
        "scored": scored,
        "unscored": len(vs) - scored,
        "roc_auc": _interval(by_passage, auc, samples, seed),
    }
