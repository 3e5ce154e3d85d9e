"""What each export record adds to the report's numbers (paper figures 1, 2, 15, 16, sec. 3.3.1)."""

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
class ConditionIntegrity:
    tasks: int = 0
    flagged: int = 0
    excluded: int = 0
    left_out: int = 0  # flagged or excluded
    unchecked: int = 0
    flags: dict[str, int] = field(default_factory=dict)


@dataclass
class Tally:
    sums: PassageSums = field(default_factory=PassageSums)
    # The same sums without flagged or excluded tasks (issue 21); passages numbered alike,
    # so both are resampled with the same draws.
    clean_sums: PassageSums = field(default_factory=PassageSums)
    tasks: int = 0
    clean_tasks: int = 0
    experiments: set[int] = field(default_factory=set)
    schema_versions: set[str] = field(default_factory=set)
    reviewed_tasks: int = 0
    integrity: dict[str, ConditionIntegrity] = field(default_factory=dict)


class _Columns:
    """A few numbers per record, appended in record order; summed per passage by numpy."""

    NAMES = (
        "passage", "condition", "assist", "left_out", "critiques", "used", "duration", "rating",
        "edited", "reviewed", "intended", "covered", "judged", "valid", "valid_novel",
        *(f"severity_{s}" for s in SEVERITIES),
        *(f"category_{c}" for c in CATEGORIES),
        *(f"rank_{r}" for r in RANKS),
    )  # fmt: skip

    def __init__(self) -> None:
        self.values = array("d")  # 8 bytes a number: ~270 bytes a record, no Python objects

    def arrays(self) -> dict[str, np.ndarray]:
        table = np.frombuffer(self.values, dtype=float).reshape(-1, len(self.NAMES))
        return {name: table[:, j] for j, name in enumerate(self.NAMES)}


def tally(records: Iterable[dict[str, Any]], progress: Any = None) -> Tally:
    """One pass over the records; `progress(n)` is called every 1,000 records.

    Each record becomes one row of numbers; the per-passage sums of every (metric, group)
    are then `np.bincount`s over those rows, which add in record order, so the sums are
    exactly those of adding record by record.
    """
    t = Tally()
    passages = t.sums.passage_index
    conditions: dict[str, int] = {}
    cols = _Columns()
    append = cols.values.extend
    sev_index = {s: i for i, s in enumerate(SEVERITIES)}
    cat_index = {c: i for i, c in enumerate(CATEGORIES)}
    nan = float("nan")
    for rec in records:
        if (rec.get("study") or {}).get("is_check"):
            continue  # a gold check (app/studies) is not a task of the design
        t.tasks += 1
        if progress is not None and t.tasks % 1000 == 0:
            progress(t.tasks)
        t.experiments.add(rec["experiment_id"])
        t.schema_versions.add(rec["schema_version"])
        critiques = rec["critiques"]
        severities = [0] * len(SEVERITIES)
        categories = [0] * len(CATEGORIES)
        ranks_used = [0] * len(RANKS)
        used = edited = 0
        rank_of: dict[int, int] | None = None
        for c in critiques:
            s = sev_index.get(c["severity"])
            if s is not None:
                severities[s] += 1
            k = cat_index.get(c["category"])
            if k is not None:
                categories[k] += 1
            if c["used_assistance_id"] is not None:
                used += 1
                edited += bool(c["edited"])
                if rank_of is None:
                    rank_of = {a["id"]: a["rank"] for a in rec["assistance"]}
                r = rank_of.get(c["used_assistance_id"])
                if r in RANKS:
                    ranks_used[r - 1] += 1
        review = rec.get("review")
        intended = covered = judged = valid = valid_novel = 0
        if review is not None:
            t.reviewed_tasks += 1
            intended = len(rec["intended_critiques"])
            covered = len(set(review["covered_intended_ids"]))
            for c in critiques:
                if c["review_valid"] is not None:
                    judged += 1
                    if c["review_valid"]:
                        valid += 1
                        valid_novel += bool(c["review_novel"])
        duration = rec["timing"]["duration_s"]
        left_out = _integrity(t, rec)
        append(
            (
                passages(rec["passage_id"]),
                conditions.setdefault(rec["condition"], len(conditions)),
                1.0 if rec["assist"] else 0.0,
                1.0 if left_out else 0.0,
                len(critiques),
                used,
                nan if duration is None else duration / 60.0,
                rec["rating"],
                edited,
                1.0 if review is not None else 0.0,
                intended,
                covered,
                judged,
                valid,
                valid_novel,
                *severities,
                *categories,
                *ranks_used,
            )
        )
    arrays = cols.arrays()
    _sum(t.sums, arrays, list(conditions))
    keep = arrays["left_out"] == 0
    t.clean_tasks = int(keep.sum())
    t.clean_sums.share_passages(t.sums)
    _sum(t.clean_sums, {k: v[keep] for k, v in arrays.items()}, list(conditions))
    return t


def _integrity(t: Tally, rec: dict[str, Any]) -> bool:
    """Counts the record's flags and exclusion; whether it is left out of the clean sums."""
    info = rec["integrity"]
    row = t.integrity.setdefault(rec["condition"], ConditionIntegrity())
    row.tasks += 1
    flags = info["flags"]
    if not info["checked"]:
        row.unchecked += 1
    for f in flags or ():
        row.flags[f] = row.flags.get(f, 0) + 1
    row.flagged += bool(flags)
    row.excluded += bool(info["excluded"])
    left_out = bool(flags) or bool(info["excluded"])
    row.left_out += left_out
    return left_out


def _sum(sums: PassageSums, c: dict[str, np.ndarray], conditions: list[str]) -> None:
    """Every (metric, group) that some record contributes to, as the per-record loop did."""
    add = sums.add_rows
    p = c["passage"].astype(np.intp)
    arm = np.where(c["assist"] > 0, "assist", "no_assist")
    for j, cond in enumerate(conditions):
        m = c["condition"] == j
        n = c["critiques"][m]
        add(("critiques_per_answer", cond), p[m], n)
        add(("used_assistance_per_answer", cond), p[m], c["used"][m])
        add(("written_per_answer", cond), p[m], n - c["used"][m])
        for s in SEVERITIES:
            add((f"severity_{s}_per_answer", cond), p[m], c[f"severity_{s}"][m])
        for cat in CATEGORIES:
            add((f"category_{cat}_per_answer", cond), p[m], c[f"category_{cat}"][m])
        timed = m & ~np.isnan(c["duration"])
        add(("minutes_per_task", cond), p[timed], c["duration"][timed])
        add(("fraction_with_critique", cond), p[m], (n > 0).astype(float))
        add(("mean_rating", cond), p[m], c["rating"][m])
    used = c["used"] > 0
    add(("used_edited", "all"), p[used], c["edited"][used], c["used"][used])
    for r in RANKS:
        add(("used_rank_share", str(r)), p[used], c[f"rank_{r}"][used], c["used"][used])
    for a in ARMS:
        m = arm == a
        add(("critiques_per_answer_by_arm", a), p[m], c["critiques"][m])
        rev = m & (c["reviewed"] > 0)
        has_intended = rev & (c["intended"] > 0)
        add(
            ("intended_found", a),
            p[has_intended],
            c["covered"][has_intended],
            c["intended"][has_intended],
        )
        has_judged = rev & (c["judged"] > 0)
        add(("fraction_valid", a), p[has_judged], c["valid"][has_judged], c["judged"][has_judged])
        add(("valid_per_answer", a), p[rev], c["valid"][rev])
        add(("valid_novel_per_answer", a), p[rev], c["valid_novel"][rev])
