"""Planted contamination (issue 21): a third of the labelers paste near copies of the
model's critiques in their no-assist tasks. At the default thresholds the flags catch
>= 90% of those tasks with <= 5% false flags, and the analysis without flagged tasks gets
the planted effect's direction back where the contaminated one loses it."""

import orjson
import pytest
from sqlalchemy.orm import Session

from app.analysis.report import analyze, markdown
from app.analysis.simulate import SimParams, contaminated_labelers, simulate
from app.export.service import export_lines, pseudonym
from app.integrity import service as integrity
from tests.support.experiments import user_id

PLANTED = SimParams(
    name="contaminated",
    passages=24,
    labelers=12,
    flaws=4,
    find_rate=0.25,
    assist_find_rate=0.4,  # assistance helps: 1.6 vs 1.0 critiques per answer
    contaminated_share=1 / 3,  # 4 of 12 labelers paste the model's critiques when unassisted
    contaminated_find_rate=0.9,
    seed=11,
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_flags_find_planted_contamination_and_the_clean_analysis_recovers_the_effect(
    db: Session,
) -> None:
    exp_id = simulate(db, PLANTED)
    integrity.refresh(db, exp_id)
    records = [orjson.loads(line) for line in export_lines(db, exp_id)]
    bad = {pseudonym(user_id(db, name)) for name in contaminated_labelers(PLANTED)}
    contaminated = {r["task_id"] for r in records if r["labeler"] in bad and not r["assist"]}
    flagged = {r["task_id"] for r in records if r["integrity"]["flags"]}
    honest = len(records) - len(contaminated)
    caught = len(contaminated & flagged) / len(contaminated)
    false_flags = len(flagged - contaminated) / honest
    print(
        f"contaminated {len(contaminated)} of {len(records)} tasks; caught {caught:.1%}; "
        f"false flags {false_flags:.1%} of {honest}"
    )
    assert len(contaminated) >= 20
    assert caught >= 0.9 and false_flags <= 0.05

    report = analyze(records, seed=1, samples=1000)
    every = report["assist_over_no_assist"]["critiques_per_answer"]
    clean = report["assist_over_no_assist_without_flagged"]["critiques_per_answer"]
    print(
        f"assisted / unassisted critiques per answer: all {every['value']:.2f} ± "
        f"{every['se']:.2f}; without flagged {clean['value']:.2f} ± {clean['se']:.2f}"
    )
    assert every["value"] < 1.0  # contamination hides (here reverses) the planted effect
    assert clean["value"] - clean["se"] > 1.0  # without flagged tasks: assistance helps
    by_condition = report["integrity"]["by_condition"]
    for source in ("model", "human", "human_misleading"):
        unassisted = by_condition[f"{source}/no_assist"]["flagged_share"]
        assisted = by_condition[f"{source}/assist"]["flagged_share"]
        print(f"{source}: flagged share no_assist {unassisted:.1%}, assist {assisted:.1%}")
        assert unassisted > assisted  # contamination that differs by arm shows here
    arms = report["metrics"]["critiques_per_answer_by_arm"]
    assert arms["without_flagged"]["no_assist"]["value"] < arms["groups"]["no_assist"]["value"]
    assert "without flagged or excluded" in markdown(report)
