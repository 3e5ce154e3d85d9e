"""The report recovers effects planted in a simulated experiment, from the export file alone."""

from pathlib import Path

import orjson
import pytest
from sqlalchemy.orm import Session

from app.analysis.bootstrap import PassageSums
from app.analysis.report import analyze, read_export, write_report
from app.analysis.simulate import SimParams, simulate
from app.core.errors import AppError
from app.export.service import export_lines

PLANTED = SimParams(
    passages=36,
    flaws=4,
    find_rate=0.25,
    assist_find_rate=0.5,
    use_rate=0.6,
    edit_rate=0.2,
    valid_rate=0.7,
    minutes=8.0,
    assist_minutes=14.0,
    seed=7,
)


# The simulation is fully seeded (labelers' draws and the experiment's assignment order), so
# this test is deterministic; 2.5 bars leaves room for the ~15 checks made on one draw.
def _within(est: dict[str, float], expected: float, bars: float = 2.5) -> bool:
    return abs(est["value"] - expected) <= bars * est["se"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_analysis_recovers_planted_effects(db: Session, tmp_path: Path) -> None:
    exp_id = simulate(db, PLANTED)
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"".join(export_lines(db, exp_id)))
    report = analyze(read_export(export), seed=1, samples=1000)
    from_db = analyze((orjson.loads(x) for x in export_lines(db, exp_id)), seed=1, samples=1000)
    assert report == from_db  # the export file alone gives the same numbers, exactly

    p, m = PLANTED, report["metrics"]
    assert report["tasks"] == 6 * p.passages and report["passages"] == p.passages
    assert report["reviewed_tasks"] == 2 * p.passages
    arms = m["critiques_per_answer_by_arm"]["groups"]
    assert _within(arms["assist"], p.flaws * p.assist_find_rate)
    assert _within(arms["no_assist"], p.flaws * p.find_rate)
    effect = report["assist_over_no_assist"]["critiques_per_answer"]
    assert _within(effect, p.assist_find_rate / p.find_rate)
    assert effect["value"] - effect["se"] > 1.0  # assistance helps, beyond the error bar
    found = m["intended_found"]["groups"]
    assert _within(found["assist"], p.assist_find_rate) and _within(found["no_assist"], p.find_rate)
    valid = m["fraction_valid"]["groups"]
    assert _within(valid["assist"], p.valid_rate) and _within(valid["no_assist"], p.valid_rate)
    assert _within(m["used_edited"]["groups"]["all"], p.edit_rate)
    for source in ("model", "human", "human_misleading"):
        minutes = m["minutes_per_task"]["groups"]
        assert _within(minutes[f"{source}/assist"], p.assist_minutes)
        assert _within(minutes[f"{source}/no_assist"], p.minutes)
        used = m["used_assistance_per_answer"]["groups"][f"{source}/assist"]
        assert _within(used, p.flaws * p.assist_find_rate * p.use_rate)
        assert m["used_assistance_per_answer"]["groups"][f"{source}/no_assist"]["value"] == 0
    # Only the first `flaws` ranks point at real flaws, so only they are used.
    ranks = m["used_rank_share"]["groups"]
    assert sum(ranks[str(r)]["value"] for r in range(1, 5)) == pytest.approx(1.0)

    written = write_report(report, tmp_path / "report")
    names = {f.name for f in written}
    assert {"report.json", "report.md", "report.html", "fig1_critiques_per_answer.svg"} <= names
    assert "fig16_found_and_rating.png" in names
    assert orjson.loads((tmp_path / "report" / "report.json").read_bytes()) == report
    assert "Intended critiques found" in (tmp_path / "report" / "report.md").read_text()
    assert (
        'src="figures/fig1_critiques_per_answer.svg"'
        in (tmp_path / "report" / "report.html").read_text()
    )


def test_a_broken_export_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    fields = ("experiment_id", "passage_id", "condition", "assist", "critiques", "assistance")
    whole = {"schema_version": "3", "rating": 4, "timing": {}, "intended_critiques": []}
    whole |= {"review": None, "integrity": {}, **dict.fromkeys(fields)}
    bad.write_bytes(orjson.dumps(whole) + b"\n{oops\n")
    with pytest.raises(AppError, match=r"bad.jsonl:2: not JSON"):
        list(read_export(bad))
    cut = tmp_path / "cut.jsonl"
    cut.write_text('{"schema_version": "3", "experiment_id": 1}\n')
    with pytest.raises(AppError, match=r"cut.jsonl:1: no field 'assist'"):
        list(read_export(cut))
    old = tmp_path / "old.jsonl"
    old.write_text('{"schema_version": "1"}\n')
    with pytest.raises(AppError, match=r"old.jsonl:1: schema_version '1'"):
        list(read_export(old))


def test_a_version_2_export_is_refused_with_a_re_export_hint(tmp_path: Path) -> None:
    """Version 2 (before issue 21) cannot say which tasks are flagged: re-export."""
    v2 = {"schema_version": "2", "rating": 4, "timing": {}, "intended_critiques": []}
    fields = ("experiment_id", "passage_id", "condition", "assist", "critiques", "assistance")
    v2 |= {"review": None, **dict.fromkeys(fields)}
    old = tmp_path / "v2.jsonl"
    old.write_bytes(orjson.dumps(v2) + b"\n")
    with pytest.raises(AppError) as err:
        list(read_export(old))
    assert err.value.field == "schema_version"
    assert "v2.jsonl:1: schema_version '2'; this analysis reads version 3" in err.value.message
    assert "re-export" in err.value.message


def test_the_bootstrap_resamples_passages_and_is_seeded() -> None:
    sums = PassageSums()
    # Two passages, each with many tasks: the spread comes from passages, not tasks.
    for task in range(100):
        sums.add(("m", "g"), 1, 1.0)
        sums.add(("m", "g"), 2, 0.0)
        sums.add(("m", "g"), 2 if task % 2 else 1, 0.0, 0.0)
    a = sums.estimate(seed=3, samples=4000)[("m", "g")]
    b = sums.estimate(seed=3, samples=4000)[("m", "g")]
    assert a == b and a.value == pytest.approx(0.5)
    # Resampling 2 passages: the mean of {1, 0} draws has SD 0.5 / sqrt(2) ~ 0.354.
    assert a.se == pytest.approx(0.354, abs=0.02)
