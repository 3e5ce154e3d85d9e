"""The analysis report: numbers as JSON, figures, and a Markdown and HTML summary.

Computed from export records alone (a file or the database's export stream give the same
bytes, so the same numbers), with a seeded passage-level bootstrap.
"""

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from app.analysis.bootstrap import Estimate
from app.analysis.metrics import METRICS, RATIOS, Tally, tally
from app.core.errors import AppError

ANALYSIS_VERSION = "2"  # 2: beside every number, the same without flagged or excluded tasks
READS_EXPORT_VERSION = "3"
DEFAULT_SEED = 20220614  # the paper's arXiv date: any fixed seed, written into the report
DEFAULT_SAMPLES = 2000


# The record fields the analysis reads (a line missing one is named, not a traceback).
_NEEDED = frozenset(
    ("experiment_id", "passage_id", "condition", "assist", "critiques", "assistance")
    + ("rating", "timing", "intended_critiques", "review", "integrity")
)


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    """Records of an export file; a broken line is an error naming file and line."""
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise AppError(f"{path}:{lineno}: not JSON ({exc})", field="file") from exc
            if not isinstance(rec, dict) or "schema_version" not in rec:
                raise AppError(f"{path}:{lineno}: not a critiquelab export record", field="file")
            missing = _NEEDED - rec.keys()
            if missing and rec["schema_version"] == READS_EXPORT_VERSION:
                name = min(missing)
                raise AppError(f"{path}:{lineno}: no field {name!r} (truncated?)", field=name)
            if rec["schema_version"] != READS_EXPORT_VERSION:
                # Version 2 has no integrity flags: the analysis could not leave flagged
                # tasks out, so it asks for the data again rather than guess.
                raise AppError(
                    f"{path}:{lineno}: schema_version {rec['schema_version']!r}; this analysis "
                    f"reads version {READS_EXPORT_VERSION} (re-export with this critiquelab: "
                    "`critiquelab export`)",
                    field="schema_version",
                )
            yield rec


def analyze(
    records: Iterable[dict[str, Any]],
    seed: int = DEFAULT_SEED,
    samples: int = DEFAULT_SAMPLES,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Every metric over all tasks (`groups`) and, side by side, without the tasks that are
    flagged or excluded (`without_flagged`); the integrity section gives the share of
    flagged tasks by condition (contamination that differs by arm biases the effect)."""
    t = tally(records, progress)
    every = t.sums.estimate(seed, samples, ratios=RATIOS)
    clean = t.clean_sums.estimate(seed, samples, ratios=RATIOS)

    def est(estimates: dict[Any, Estimate], key: tuple[str, str]) -> dict[str, float | None]:
        return estimates.get(key, Estimate(None, None, 0)).as_json()

    metrics: dict[str, Any] = {}
    for m in METRICS:
        metrics[m.name] = {
            "title": m.title,
            "unit": m.unit,
            "groups": {g: est(every, (m.name, g)) for g in m.groups},
            "without_flagged": {g: est(clean, (m.name, g)) for g in m.groups},
        }
    derived = {name: est(every, ("assist_effect", name)) for _, name in RATIOS}
    derived_clean = {name: est(clean, ("assist_effect", name)) for _, name in RATIOS}
    return {
        "analysis_version": ANALYSIS_VERSION,
        "export_schema_versions": sorted(t.schema_versions),
        "experiments": sorted(t.experiments),
        "tasks": t.tasks,
        "passages": t.sums.n_passages,
        "reviewed_tasks": t.reviewed_tasks,
        "bootstrap": {
            "unit": "passage",
            "samples": samples,
            "seed": seed,
            "error_bar": "z=1 (bootstrap SD)",
        },
        "metrics": metrics,
        "assist_over_no_assist": derived,
        "assist_over_no_assist_without_flagged": derived_clean,
        "integrity": _integrity(t),
    }


def _integrity(t: Tally) -> dict[str, Any]:
    by_condition = {}
    for cond in sorted(t.integrity):
        row = t.integrity[cond]
        by_condition[cond] = {
            "tasks": row.tasks,
            "flagged": row.flagged,
            "flagged_share": row.flagged / row.tasks if row.tasks else None,
            "excluded": row.excluded,
            "left_out": row.left_out,
            "unchecked": row.unchecked,
            "flags": dict(sorted(row.flags.items())),
        }
    return {
        "tasks_without_flagged": t.clean_tasks,
        "left_out_tasks": t.tasks - t.clean_tasks,
        "flagged_tasks": sum(r.flagged for r in t.integrity.values()),
        "excluded_tasks": sum(r.excluded for r in t.integrity.values()),
        "unchecked_tasks": sum(r.unchecked for r in t.integrity.values()),
        "by_condition": by_condition,
    }


def fmt(est: dict[str, Any], unit: str) -> str:
    if est["value"] is None:
        return "–"
    if unit == "fraction" or unit.startswith("fraction"):
        v, se = 100 * est["value"], 100 * (est["se"] or 0.0)
        return f"{v:.1f}% ± {se:.1f}"
    return f"{est['value']:.2f} ± {(est['se'] or 0.0):.2f}"


def markdown(report: dict[str, Any]) -> str:
    b = report["bootstrap"]
    lines = [
        "# critiquelab analysis",
        "",
        f"{report['tasks']} labeling tasks on {report['passages']} passages "
        f"(experiments {', '.join(map(str, report['experiments'])) or 'none'}); "
        f"{report['reviewed_tasks']} tasks with an intended-critique review.",
        f"Error bars: ± 1 bootstrap SD over passages ({b['samples']} samples, seed {b['seed']}).",
        "",
        "## Effect of assistance",
        "",
    ]
    clean_effect = report["assist_over_no_assist_without_flagged"]
    for name, est in report["assist_over_no_assist"].items():
        lines.append(
            f"- {name.replace('_', ' ')}: assisted / unassisted = {_ratio(est)} "
            f"(without flagged or excluded tasks: {_ratio(clean_effect[name])})"
        )
    integrity = report["integrity"]
    lines += [
        "",
        "## Study integrity",
        "",
        f"{integrity['flagged_tasks']} tasks flagged, {integrity['excluded_tasks']} excluded; "
        f'{integrity["left_out_tasks"]} left out of the "without" columns '
        f"({integrity['unchecked_tasks']} not checked).",
        "",
        "| condition | tasks | flagged | share flagged | excluded | flags |",
        "|---|---|---|---|---|---|",
    ]
    for cond, row in integrity["by_condition"].items():
        share = "–" if row["flagged_share"] is None else f"{100 * row['flagged_share']:.1f}%"
        flags = ", ".join(f"{k} {v}" for k, v in row["flags"].items()) or "–"
        lines.append(
            f"| {cond} | {row['tasks']} | {row['flagged']} | {share} | {row['excluded']} | {flags} |"
        )
    for m in report["metrics"].values():
        lines += [
            "",
            f"## {m['title']} ({m['unit']})",
            "",
            "| group | all tasks | n | without flagged or excluded | n |",
            "|---|---|---|---|---|",
        ]
        for g, est in m["groups"].items():
            clean = m["without_flagged"][g]
            lines.append(
                f"| {g} | {fmt(est, m['unit'])} | {est['n']:g} "
                f"| {fmt(clean, m['unit'])} | {clean['n']:g} |"
            )
    return "\n".join(lines) + "\n"


def _ratio(est: dict[str, Any]) -> str:
    return "–" if est["value"] is None else f"{est['value']:.2f} ± {(est['se'] or 0):.2f}"


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    """report.json, report.md, report.html and figures/*.svg|png under `out`."""
    import matplotlib.pyplot as plt

    from app.analysis.figures import render_all

    out.mkdir(parents=True, exist_ok=True)
    written = []
    (out / "report.json").write_bytes(
        orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    written += [out / "report.json", out / "report.md"]
    figs = out / "figures"
    figs.mkdir(exist_ok=True)
    names = []
    for name, fig in render_all(report).items():
        fig.savefig(figs / f"{name}.svg")
        fig.savefig(figs / f"{name}.png", dpi=110)
        plt.close(fig)
        names.append(name)
        written += [figs / f"{name}.svg", figs / f"{name}.png"]
    from app.core.templating import templates

    html = templates.get_template("analysis/report_file.html").render(
        report=report, figures={n: f"figures/{n}.svg" for n in names}, fmt=fmt
    )
    (out / "report.html").write_text(html, encoding="utf-8")
    written.append(out / "report.html")
    return written
