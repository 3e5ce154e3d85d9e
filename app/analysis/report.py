"""The analysis report: numbers as JSON, figures, and a Markdown and HTML summary.

Computed from export records alone (a file or the database's export stream give the same
bytes, so the same numbers), with a seeded passage-level bootstrap.
"""

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from app.analysis.bootstrap import Estimate
from app.analysis.metrics import METRICS, RATIOS, tally
from app.core.errors import AppError

ANALYSIS_VERSION = "1"
DEFAULT_SEED = 20220614  # the paper's arXiv date: any fixed seed, written into the report
DEFAULT_SAMPLES = 2000


# The record fields the analysis reads (a line missing one is named, not a traceback).
_NEEDED = frozenset(
    ("experiment_id", "passage_id", "condition", "assist", "critiques", "assistance")
    + ("rating", "timing", "intended_critiques", "review")
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
            if missing and rec["schema_version"] == "2":
                name = min(missing)
                raise AppError(f"{path}:{lineno}: no field {name!r} (truncated?)", field=name)
            if rec["schema_version"] != "2":
                raise AppError(
                    f"{path}:{lineno}: schema_version {rec['schema_version']!r}; "
                    "this analysis reads version 2 (re-export with this critiquelab)",
                    field="schema_version",
                )
            yield rec


def analyze(
    records: Iterable[dict[str, Any]],
    seed: int = DEFAULT_SEED,
    samples: int = DEFAULT_SAMPLES,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    t = tally(records, progress)
    estimates = t.sums.estimate(seed, samples, ratios=RATIOS)
    metrics: dict[str, Any] = {}
    for m in METRICS:
        metrics[m.name] = {
            "title": m.title,
            "unit": m.unit,
            "groups": {
                g: estimates.get((m.name, g), Estimate(None, None, 0)).as_json() for g in m.groups
            },
        }
    derived = {
        name: estimates.get(("assist_effect", name), Estimate(None, None, 0)).as_json()
        for _, name in RATIOS
    }
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
    for name, est in report["assist_over_no_assist"].items():
        val = "–" if est["value"] is None else f"{est['value']:.2f} ± {(est['se'] or 0):.2f}"
        lines.append(f"- {name.replace('_', ' ')}: assisted / unassisted = {val}")
    for m in report["metrics"].values():
        lines += [
            "",
            f"## {m['title']} ({m['unit']})",
            "",
            "| group | estimate | n |",
            "|---|---|---|",
        ]
        for g, est in m["groups"].items():
            lines.append(f"| {g} | {fmt(est, m['unit'])} | {est['n']:g} |")
    return "\n".join(lines) + "\n"


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
