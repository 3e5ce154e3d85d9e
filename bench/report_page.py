"""Benchmark: the report page as a cached job, at 100k and 1M labeler-critique rows.

    .venv/bin/python bench/report_page.py --sizes 100000,1000000

Fills a throwaway PostgreSQL 15 as bench/export.py does (submitted tasks, 3 critiques each),
then per size times: the content-version read every page view makes (two aggregates), the
worker's computation of the report (export stream, analysis, six SVG figures: what every
view of the page cost before, when the report was recomputed per request), a view of the
page with the stored report, and the PNG download of one figure (drawn on request).
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_s(fn: object, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(size: int) -> dict[str, object]:
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from app.analysis import cache, tasks
    from app.core.database import session_scope
    from app.main import create_app
    from app.models import Experiment, User
    from app.users.service import api_token_for, create_user

    with session_scope() as s:
        exp_id = s.scalar(select(Experiment.id))
        assert exp_id is not None
        if s.scalar(select(User.id).where(User.username == "bench-rita")) is None:
            create_user(s, "bench-rita", "password-123", "researcher")
    with session_scope() as s:
        token = api_token_for(s, "bench-rita")

    def version() -> None:
        with session_scope(writes=False) as s:
            cache.content_version(s, exp_id)

    result: dict[str, object] = {"labeler_critiques": size}
    result["content_version_ms"] = round(1000 * _median_s(version, 20), 1)
    with session_scope() as s:
        report_id = cache.request(s, exp_id, cache.content_version(s, exp_id)[0]).id
    t0 = time.perf_counter()
    tasks.compute(report_id)
    result["compute_s"] = round(time.perf_counter() - t0, 1)

    headers = {"Authorization": f"Bearer {token}"}
    base = f"/research/experiments/{exp_id}/report"
    with TestClient(create_app()) as client:
        page = client.get(base, headers=headers)
        assert page.status_code == 200 and page.text.count("<svg") == 6, page.text[:300]
        result["page_kb"] = round(len(page.content) / 1024)
        result["cached_view_ms"] = round(
            1000 * _median_s(lambda: client.get(base, headers=headers), 10), 1
        )
        png = f"{base}/figures/fig1_critiques_per_answer.png"
        result["png_download_ms"] = round(
            1000 * _median_s(lambda: client.get(png, headers=headers), 5), 1
        )
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    args = ap.parse_args()
    from bench.export import grow_to, throwaway_database

    with throwaway_database() as url:
        have = 0
        for size in (int(s) for s in args.sizes.split(",")):
            grow_to(url, size, have)
            have = size
            print(json.dumps(measure(size)), flush=True)


if __name__ == "__main__":
    main()
