"""What each export record adds to the report's numbers (paper figures 1, 2, 15, 16, sec. 3.3.1)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.analysis.bootstrap import PassageSums

SOURCES = ("model", "human", "human_misleading")
CONDITIONS = tuple(f"{s}/{a}" for s in SOURCES for a in ("assist", "no_assist"))
ARMS = ("assist", "no_assist")
SEVERITIES = (1, 2, 3, 4)
CATEGORIES = ("accuracy", "coverage", "coherence", "other")
RANKS = tuple(range(1, 9))


@dataclass(frozen=True)
class Metric:
    name: str
    title: str
    unit: str
    groups: tuple[str, ...]


METRICS: tuple[Metric, ...] = (
    Metric("critiques_per_answer", "Critiques per answer", "critiques", CONDITIONS),
    Metric(
        "used_assistance_per_answer",
        "Critiques from model assistance, per answer",
        "critiques",
        CONDITIONS,
    ),
    Metric(
        "written_per_answer",
        "Critiques written by the labeler, per answer",
        "critiques",
        CONDITIONS,
    ),
    Metric(
        "critiques_per_answer_by_arm", "Critiques per answer, assisted or not", "critiques", ARMS
    ),
    *(
        Metric(
            f"severity_{s}_per_answer",
            f"Severity {s} critiques per answer",
            "critiques",
            CONDITIONS,
        )
        for s in SEVERITIES
    ),
    *(
        Metric(
            f"category_{c}_per_answer",
            f"{c.capitalize()} critiques per answer",
            "critiques",
            CONDITIONS,
        )
        for c in CATEGORIES
    ),
    Metric("minutes_per_task", "Time per task", "minutes", CONDITIONS),
    Metric("fraction_with_critique", "Answers with at least one critique", "fraction", CONDITIONS),
    Metric("mean_rating", "Mean 1-7 rating", "Likert", CONDITIONS),
    Metric("intended_found", "Intended critiques found", "fraction", ARMS),
    Metric("fraction_valid", "Critiques judged valid by the author", "fraction", ARMS),
    Metric("valid_per_answer", "Valid critiques per misleading answer", "critiques", ARMS),
    Metric(
        "valid_novel_per_answer", "Valid novel critiques per misleading answer", "critiques", ARMS
    ),
    Metric("used_edited", "Used model critiques that were edited", "fraction", ("all",)),
    Metric(
        "used_rank_share",
        "Which ranks labelers used",
        "fraction of used",
        tuple(str(r) for r in RANKS),
    ),
)
# Derived: ratio of two estimates, bootstrapped jointly.
RATIOS = {
    ("assist_effect", "critiques_per_answer"): (
        ("critiques_per_answer_by_arm", "assist"),
        ("critiques_per_answer_by_arm", "no_assist"),
    ),
    ("assist_effect", "intended_found"): (
        ("intended_found", "assist"),
        ("intended_found", "no_assist"),
    ),
}


@dataclass
class Tally:
    sums: PassageSums = field(default_factory=PassageSums)
    tasks: int = 0
    experiments: set[int] = field(default_factory=set)
    schema_versions: set[str] = field(default_factory=set)
    reviewed_tasks: int = 0


def tally(records: Iterable[dict[str, Any]], progress: Any = None) -> Tally:
    """One pass over the records; `progress(n)` is called every 1,000 records."""
    t = Tally()
    add = t.sums.add
    for rec in records:
        t.tasks += 1
        if progress is not None and t.tasks % 1000 == 0:
            progress(t.tasks)
        t.experiments.add(rec["experiment_id"])
        t.schema_versions.add(rec["schema_version"])
        p, cond = rec["passage_id"], rec["condition"]
        arm = "assist" if rec["assist"] else "no_assist"
        critiques = rec["critiques"]
        used = [c for c in critiques if c["used_assistance_id"] is not None]
        add(("critiques_per_answer", cond), p, len(critiques))
        add(("critiques_per_answer_by_arm", arm), p, len(critiques))
        add(("used_assistance_per_answer", cond), p, len(used))
        add(("written_per_answer", cond), p, len(critiques) - len(used))
        for s in SEVERITIES:
            add((f"severity_{s}_per_answer", cond), p, sum(c["severity"] == s for c in critiques))
        for cat in CATEGORIES:
            add(
                (f"category_{cat}_per_answer", cond),
                p,
                sum(c["category"] == cat for c in critiques),
            )
        duration = rec["timing"]["duration_s"]
        if duration is not None:
            add(("minutes_per_task", cond), p, duration / 60.0)
        add(("fraction_with_critique", cond), p, 1.0 if critiques else 0.0)
        add(("mean_rating", cond), p, rec["rating"])
        if used:
            ranks = {a["id"]: a["rank"] for a in rec["assistance"]}
            add(("used_edited", "all"), p, sum(bool(c["edited"]) for c in used), len(used))
            for r in RANKS:
                add(
                    ("used_rank_share", str(r)),
                    p,
                    sum(ranks.get(c["used_assistance_id"]) == r for c in used),
                    len(used),
                )
        review = rec.get("review")
        if review is not None:
            t.reviewed_tasks += 1
            intended = rec["intended_critiques"]
            if intended:
                add(
                    ("intended_found", arm),
                    p,
                    len(set(review["covered_intended_ids"])),
                    len(intended),
                )
            judged = [c for c in critiques if c["review_valid"] is not None]
            valid = [c for c in judged if c["review_valid"]]
            if judged:
                add(("fraction_valid", arm), p, len(valid), len(judged))
            add(("valid_per_answer", arm), p, len(valid))
            add(("valid_novel_per_answer", arm), p, sum(bool(c["review_novel"]) for c in valid))
    return t
