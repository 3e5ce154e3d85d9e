"""Benchmark: `critiquelab analyze --input` on a large export file, and where its time goes.

    .venv/bin/python bench/analysis.py --critiques 1000000

Writes a synthetic schema-v3 export (no database: records of the shape `critiquelab export`
writes, 3 labeler critiques a task on average, 6 conditions, 8 assistance critiques on
assisted tasks, reviews of the misleading answers, 6 tasks a question, 5 questions a
passage, 5% of tasks flagged), then runs the CLI in a child process (wall time, peak RSS) and, in this process,
the same analysis split into its steps: reading and parsing, the per-record tally, the
per-passage sums and the bootstrap, and writing the report.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCES = ("model", "human", "human_misleading")
QUESTIONS = 5  # a passage
WORDS = tuple(
    [
        "the",
        "answer",
        "omits",
        "a",
        "detail",
        "about",
        "the",
        "narrator",
        "and",
        "misstates",
        "when",
        "it",
        "happened",
    ]
)


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def write_export(path: Path, critiques: int, seed: int = 0, passage_words: int = 300) -> int:
    """A synthetic export with about `critiques` labeler critiques; returns the task count."""
    rng = random.Random(seed)
    ts = "2026-11-24T10:00:00.123456+00:00"
    done = tasks = 0
    cid = aid = 0
    with path.open("wb") as fh:
        passage = 0
        while done < critiques:
            passage += 1
            ptext = _text(rng, passage_words)
            intended = [
                {
                    "id": passage * 10 + k,
                    "position": k,
                    "text": _text(rng, 12),
                    "severity": 3,
                    "category": "accuracy",
                    "category_text": None,
                }
                for k in (1, 2)
            ]
            for source, assist, q in (
                (s, a, q) for q in range(QUESTIONS) for s in SOURCES for a in (True, False)
            ):
                tasks += 1
                shown = []
                if assist:
                    for rank in range(1, 9):
                        aid += 1
                        shown.append(
                            {
                                "id": aid,
                                "text": _text(rng, 15),
                                "temperature": 0.1 * rank,
                                "helpfulness_score": 1 - rank / 10,
                                "score_missing_reason": None,
                                "rank": rank,
                                "model_name": "m",
                                "prompt_format": "paper-v1",
                            }
                        )
                reviewed = source == "human_misleading"
                written = []
                for _ in range(rng.choice((1, 2, 3, 4, 5)) if assist else rng.choice((1, 2, 3, 4))):
                    cid += 1
                    used = rng.choice(shown)["id"] if shown and rng.random() < 0.5 else None
                    written.append(
                        {
                            "id": cid,
                            "text": _text(rng, 14),
                            "severity": rng.randint(1, 4),
                            "category": rng.choice(("accuracy", "coverage", "coherence")),
                            "category_text": None,
                            "used_assistance_id": used,
                            "edited": None if used is None else rng.random() < 0.15,
                            "edit_distance": None,
                            "review_valid": (rng.random() < 0.7) if reviewed else None,
                            "review_novel": (rng.random() < 0.3) if reviewed else None,
                            "provenance": None,
                            "closest_model_critique_id": None,
                            "model_similarity": None,
                        }
                    )
                done += len(written)
                rec = {
                    "schema_version": "3",
                    "task_id": tasks,
                    "experiment_id": 1,
                    "labeler": f"{tasks % 97:032x}",
                    "passage_id": passage,
                    "passage_title": f"P{passage}",
                    "passage_text": ptext,
                    "question_id": passage * QUESTIONS + q,
                    "question_text": "What does the story say about the narrator?",
                    "answer_id": (passage * QUESTIONS + q) * 3 + SOURCES.index(source),
                    "answer_text": _text(rng, 40),
                    "answer_source": source,
                    "answer_temperature": 0.5 if source == "model" else None,
                    "answer_model_name": "m" if source == "model" else None,
                    "condition": f"{source}/{'assist' if assist else 'no_assist'}",
                    "assist": assist,
                    "assistance": shown,
                    "critiqueability_score": 0.6 if assist else None,
                    "critiques": written,
                    "rating": rng.randint(1, 7),
                    "timing": {
                        "assigned_at": ts,
                        "opened_at": ts,
                        "first_edit_at": ts,
                        "passage_revealed_at": None,
                        "submitted_at": ts,
                        "duration_s": rng.uniform(200, 900),
                        "active_time_s": None,
                    },
                    "intended_critiques": intended if reviewed else [],
                    "review": {
                        "review_id": passage,
                        "submitted_at": ts,
                        "reviewer_is_author": True,
                        "author_permission": None,
                        "covered_intended_ids": [intended[0]["id"]] if rng.random() < 0.4 else [],
                    }
                    if reviewed
                    else None,
                    "integrity": {
                        "provenance": None,
                        "checked": True,
                        "flags": ["mostly_pasted"] if rng.random() < 0.05 else [],
                        "evidence": {},
                        "excluded": False,
                        "exclusion": None,
                    },
                }
                fh.write(orjson.dumps(rec, option=orjson.OPT_APPEND_NEWLINE))
    return tasks


def split(path: Path, samples: int) -> dict[str, float]:
    """The analysis of `path` step by step, in this process (seconds per step)."""
    from app.analysis import report
    from app.analysis.metrics import tally

    out: dict[str, float] = {}
    t0 = time.perf_counter()
    # Parsing alone: read and orjson.loads every line, keeping nothing.
    for _ in report.read_export(path):
        pass
    out["read_parse_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    t = tally(report.read_export(path))
    out["read_parse_tally_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    t.sums.estimate(report.DEFAULT_SEED, samples)
    out["sums_bootstrap_s"] = time.perf_counter() - t0
    return {k: round(v, 2) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--critiques", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    cli = str(Path(sys.executable).with_name("critiquelab"))
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.jsonl"
        t0 = time.perf_counter()
        tasks = write_export(export, args.critiques)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(
            [cli, "analyze", "--input", str(export), "-o", str(Path(tmp) / "report"),
             "--samples", str(args.samples)],
            check=True,
            env=dict(os.environ),
            capture_output=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - t0
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(
            json.dumps(
                {
                    "labeler_critiques": args.critiques,
                    "tasks": tasks,
                    "file_mb": round(export.stat().st_size / 1e6, 1),
                    "write_export_s": round(built, 1),
                    "analyze_s": round(elapsed, 2),
                    "peak_rss_mb": round(peak_kib / 1024, 1),
                    **split(export, args.samples),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
