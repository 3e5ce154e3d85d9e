"""Agreement between judges and the model's score against their labels, with bootstraps."""

import asyncio
import math

import pytest
from sqlalchemy.orm import Session

from app.assist.prompts import Context
from app.judgements import service
from app.judgements.agreement import agreement, evaluate, kendall_tau_b, krippendorff_alpha
from app.judgements.schemas import JudgementSubmitIn
from app.models import Answer
from tests.judgements.helpers import batch, judged_corpus, tasks_of


def test_krippendorffs_alpha_by_hand() -> None:
    assert krippendorff_alpha([[True, True], [False, False]]) == 1.0
    # o_TT = o_FF = 2, o_TF = o_FT = 1: D_o = 2/6, D_e = 2*3*3/(6*5), alpha = 4/9.
    alpha = krippendorff_alpha([[True, True], [False, False], [True, False]])
    assert alpha is not None and math.isclose(alpha, 4 / 9)
    assert krippendorff_alpha([[True], [False]]) is None  # nothing paired
    assert krippendorff_alpha([[True, True]]) is None  # no variation to agree on


def test_kendalls_tau_b_by_hand() -> None:
    assert kendall_tau_b([1, 2, 3], [1, 2, 3]) == 1.0
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == -1.0
    # C = 5, D = 0, one pair tied in x only: 5 / sqrt(5 * 6).
    tau = kendall_tau_b([1, 2, 3, 3], [1, 2, 3, 4])
    assert tau is not None and math.isclose(tau, 5 / math.sqrt(30))
    assert kendall_tau_b([1, 1], [1, 2]) is None


def _judge_alike(db: Session, names: list[str], flip: str | None = None) -> None:
    """Every judge: the first model critique of each answer helpful, ranked by answer id;
    `flip` judges the opposite way round."""
    for name in names:
        for task in tasks_of(db, name):
            cs = service.critiques_of(db, task.id)
            helpful = sorted(
                (c for c in cs if c.text.startswith("Critique 0")), key=lambda c: c.answer_id
            )
            if name == flip:
                helpful = sorted(
                    (c for c in cs if c.text.startswith("Critique 1")),
                    key=lambda c: -c.answer_id,
                )
            rank = {c.id: i + 1 for i, c in enumerate(helpful)}
            body = {
                "critiques": [
                    {"id": c.id, "helpful": c.id in rank, "rank": rank.get(c.id)} for c in cs
                ],
                "is_critiqueable": True,
                "has_better_critique": False,
            }
            service.submit(db, task.labeler_id, task.id, JudgementSubmitIn.model_validate(body))
    db.commit()


def test_judges_who_agree_get_alpha_and_tau_of_one_with_bootstrap_intervals(
    db: Session,
) -> None:
    qids, names = judged_corpus(db, passages=3, n_labelers=2)
    batch(db, qids, names, per=2)
    _judge_alike(db, names)
    out = agreement(db, samples=200, seed=1)
    assert out["tasks"] == 6 and out["critiques_judged_twice_or_more"] == 18
    for key in ("helpful_alpha", "ranking_tau_b"):
        assert out[key]["value"] == pytest.approx(1.0)
        assert out[key]["ci95"] == pytest.approx([1.0, 1.0])
        assert out[key]["passages"] == 3


def test_judges_who_disagree_get_negative_agreement(db: Session) -> None:
    qids, names = judged_corpus(db, passages=3, n_labelers=2)
    batch(db, qids, names, per=2)
    _judge_alike(db, names, flip=names[1])
    out = agreement(db, samples=200, seed=1)
    assert out["helpful_alpha"]["value"] < 0 and out["ranking_tau_b"]["value"] < 0
    low, high = out["helpful_alpha"]["ci95"]
    assert low <= out["helpful_alpha"]["value"] <= high


def test_the_models_score_against_collected_labels(db: Session) -> None:
    qids, names = judged_corpus(db, passages=3, n_labelers=1)
    batch(db, qids, names)
    _judge_alike(db, names)
    answers = {a.id: a.text for a in db.query(Answer)}
    seen: list[Context] = []

    async def perfect(ctx: Context, critique: str) -> float | None:
        seen.append(ctx)
        return 0.9 if critique.startswith("Critique 0") else 0.1

    out = asyncio.run(evaluate(db, perfect, samples=100))
    assert out["judgements"] == out["scored"] == 18 and out["unscored"] == 0
    assert out["roc_auc"]["value"] == 1.0 and out["roc_auc"]["passages"] == 3
    assert {c.answer for c in seen} == set(answers.values())

    async def unsure(ctx: Context, critique: str) -> float | None:
        return None

    assert asyncio.run(evaluate(db, unsure, samples=10))["unscored"] == 18
