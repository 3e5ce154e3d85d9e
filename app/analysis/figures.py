"""The report's figures (matplotlib, no display): bars with z = 1 bootstrap error bars."""

import io
import threading
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from app.analysis.metrics import ARMS, CATEGORIES, SEVERITIES, SOURCES  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "critiquelab", "font.size": 9})
COLORS = {"assist": "#2f5fb3", "no_assist": "#9aa5b1"}


def _val(report: dict[str, Any], metric: str, group: str) -> tuple[float, float]:
    est = report["metrics"][metric]["groups"][group]
    return (est["value"] or 0.0, est["se"] or 0.0)


def _by_source(ax: Any, report: dict[str, Any], metric: str, ylabel: str) -> None:
    width = 0.38
    for i, arm in enumerate(ARMS):
        vals = [_val(report, metric, f"{s}/{arm}") for s in SOURCES]
        ax.bar(
            [x + (i - 0.5) * width for x in range(len(SOURCES))],
            [v for v, _ in vals],
            width,
            yerr=[e for _, e in vals],
            capsize=3,
            color=COLORS[arm],
            label=arm.replace("_", " "),
        )
    ax.set_xticks(range(len(SOURCES)), [s.replace("_", " ") for s in SOURCES])
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)


def critiques_per_answer(report: dict[str, Any]) -> Figure:
    """Paper Fig. 1: assisted bars split into used-assistance and written critiques."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    width = 0.38
    xs = range(len(SOURCES))
    used = [_val(report, "used_assistance_per_answer", f"{s}/assist") for s in SOURCES]
    written = [_val(report, "written_per_answer", f"{s}/assist") for s in SOURCES]
    total_a = [_val(report, "critiques_per_answer", f"{s}/assist") for s in SOURCES]
    total_n = [_val(report, "critiques_per_answer", f"{s}/no_assist") for s in SOURCES]
    left = [x - width / 2 for x in xs]
    ax.bar(left, [v for v, _ in used], width, color="#7fa6e8", label="assist: used model critique")
    ax.bar(
        left,
        [v for v, _ in written],
        width,
        bottom=[v for v, _ in used],
        color=COLORS["assist"],
        yerr=[e for _, e in total_a],
        capsize=3,
        label="assist: written",
    )
    ax.bar(
        [x + width / 2 for x in xs],
        [v for v, _ in total_n],
        width,
        color=COLORS["no_assist"],
        yerr=[e for _, e in total_n],
        capsize=3,
        label="no assist",
    )
    ax.set_xticks(list(xs), [s.replace("_", " ") for s in SOURCES])
    ax.set_ylabel("critiques per answer")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def severity_and_category(report: dict[str, Any]) -> Figure:
    """Paper Fig. 2: critiques per answer by severity and by category, assisted or not."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, keys, label in (
        (a1, [f"severity_{s}_per_answer" for s in SEVERITIES], [str(s) for s in SEVERITIES]),
        (a2, [f"category_{c}_per_answer" for c in CATEGORIES], list(CATEGORIES)),
    ):
        width = 0.38
        for i, arm in enumerate(ARMS):
            # Pooled over sources: the mean of the three sources' estimates.
            vals = [[_val(report, k, f"{s}/{arm}") for s in SOURCES] for k in keys]
            means = [sum(v for v, _ in row) / len(row) for row in vals]
            errs = [(sum(e * e for _, e in row) ** 0.5) / len(row) for row in vals]
            ax.bar(
                [x + (i - 0.5) * width for x in range(len(keys))],
                means,
                width,
                yerr=errs,
                capsize=3,
                color=COLORS[arm],
                label=arm.replace("_", " "),
            )
        ax.set_xticks(range(len(keys)), label)
        ax.set_ylabel("critiques per answer")
    a1.set_xlabel("severity")
    a2.set_xlabel("category")
    a1.legend(frameon=False)
    fig.tight_layout()
    return fig


def time_per_task(report: dict[str, Any]) -> Figure:
    """Paper Fig. 15."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    _by_source(ax, report, "minutes_per_task", "minutes per task")
    fig.tight_layout()
    return fig


def found_and_rating(report: dict[str, Any]) -> Figure:
    """Paper Fig. 16: answers with a critique, and the mean rating."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
    _by_source(a1, report, "fraction_with_critique", "fraction with ≥ 1 critique")
    _by_source(a2, report, "mean_rating", "mean rating (1-7)")
    fig.tight_layout()
    return fig


def intended_check(report: dict[str, Any]) -> Figure:
    """Section 3.3.1: the authors' review of critiques of misleading answers."""
    metrics = ("intended_found", "fraction_valid", "valid_per_answer", "valid_novel_per_answer")
    fig, axes = plt.subplots(1, len(metrics), figsize=(10, 3))
    for ax, m in zip(axes, metrics, strict=True):
        vals = [_val(report, m, arm) for arm in ARMS]
        ax.bar(
            range(2),
            [v for v, _ in vals],
            yerr=[e for _, e in vals],
            capsize=3,
            color=[COLORS[a] for a in ARMS],
        )
        ax.set_xticks(range(2), ["assist", "no assist"])
        ax.set_title(report["metrics"][m]["title"], fontsize=8)
    fig.tight_layout()
    return fig


def assistance_use(report: dict[str, Any]) -> Figure:
    """Which helpfulness ranks labelers used."""
    fig, ax = plt.subplots(figsize=(5, 3))
    groups = list(report["metrics"]["used_rank_share"]["groups"])
    vals = [_val(report, "used_rank_share", g) for g in groups]
    ax.bar(
        groups, [v for v, _ in vals], yerr=[e for _, e in vals], capsize=3, color=COLORS["assist"]
    )
    ax.set_xlabel("rank of the used model critique (1 = most helpful)")
    ax.set_ylabel("share of used critiques")
    fig.tight_layout()
    return fig


FIGURES = {
    "fig1_critiques_per_answer": critiques_per_answer,
    "fig2_severity_category": severity_and_category,
    "fig15_time_per_task": time_per_task,
    "fig16_found_and_rating": found_and_rating,
    "intended_check": intended_check,
    "assistance_use": assistance_use,
}


def render_all(report: dict[str, Any]) -> dict[str, Figure]:
    return {name: make(report) for name, make in FIGURES.items()}


_DRAWING = threading.Lock()  # pyplot's figure bookkeeping is not thread-safe
DOWNLOAD_DPI = 110  # as `critiquelab analyze` writes figures/*.png


def png(report: dict[str, Any], name: str) -> bytes:
    """One figure as PNG (a download from the report page); KeyError for an unknown name."""
    make = FIGURES[name]
    with _DRAWING:
        fig = make(report)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DOWNLOAD_DPI)
        plt.close(fig)
    return buf.getvalue()


def svg_file(inline: str) -> str:
    """A stored inline SVG as a standalone file (the XML declaration that svg() cut off)."""
    return '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + inline


def svg(fig: Figure) -> str:
    """Inline SVG for the researcher page."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]
