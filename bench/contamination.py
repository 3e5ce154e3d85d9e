"""Benchmark: the integrity flags against planted contamination (issue 21), over seeds.

    .venv/bin/python bench/contamination.py [--seeds 11,12,13] [--share 0.333]

For each seed, a fresh SQLite database gets the simulation of tests/integrity/
test_contamination.py (24 passages, 12 labelers, find rate 0.25 unassisted and 0.4 assisted;
the first `--share` of the labelers paste near copies of the model's critiques in their
no-assist tasks, and leave the page meanwhile), checked at the default thresholds, exported
and analysed. Prints per seed: contaminated tasks, the share caught, false flags among the
other tasks, which flags fired on each side, and the assisted/unassisted ratio of critiques
per answer over all tasks and without flagged ones.
"""

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(seed: int, share: float, folder: Path) -> dict[str, object]:
    url = f"sqlite:///{folder / f'contamination-{seed}.sqlite3'}"
    os.environ["CRITIQUELAB_DATABASE_URL"] = url
    import orjson

    from app.analysis.report import analyze
    from app.analysis.simulate import contaminated_labelers, simulate
    from app.core import database, settings
    from app.core.migrations import upgrade
    from app.export.service import export_lines, pseudonym
    from app.integrity import service as integrity
    from app.users.repository import UserRepository
    from tests.integrity.test_contamination import PLANTED

    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    database.get_sessionmaker.cache_clear()
    upgrade(url=url)
    params = replace(PLANTED, contaminated_share=share, seed=seed)  # the test's setup
    with database.session_scope() as s:
        exp_id = simulate(s, params)
        integrity.refresh(s, exp_id)
        records = [orjson.loads(line) for line in export_lines(s, exp_id)]
        users = UserRepository(s)
        bad = set()
        for name in contaminated_labelers(params):
            user = users.get_by_username(name)
            assert user is not None
            bad.add(pseudonym(user.id))
    contaminated = {r["task_id"] for r in records if r["labeler"] in bad and not r["assist"]}
    flagged = {r["task_id"] for r in records if r["integrity"]["flags"]}
    honest = len(records) - len(contaminated)
    flags_on: dict[str, Counter[str]] = {"contaminated": Counter(), "other": Counter()}
    for r in records:
        side = "contaminated" if r["task_id"] in contaminated else "other"
        flags_on[side].update(r["integrity"]["flags"])
    report = analyze(records, seed=1, samples=1000)
    every = report["assist_over_no_assist"]["critiques_per_answer"]
    clean = report["assist_over_no_assist_without_flagged"]["critiques_per_answer"]
    return {
        "seed": seed,
        "tasks": len(records),
        "contaminated": len(contaminated),
        "caught": round(len(contaminated & flagged) / max(1, len(contaminated)), 3),
        "false_flags": round(len(flagged - contaminated) / honest, 3),
        "flags_on_contaminated": dict(flags_on["contaminated"]),
        "flags_on_other": dict(flags_on["other"]),
        "effect_all": [round(every["value"], 2), round(every["se"], 2)],
        "effect_without_flagged": [round(clean["value"], 2), round(clean["se"], 2)],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="11,12,13")
    ap.add_argument("--share", type=float, default=1 / 3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for seed in map(int, args.seeds.split(",")):
            print(json.dumps(run(seed, args.share, Path(folder))), flush=True)


if __name__ == "__main__":
    main()
