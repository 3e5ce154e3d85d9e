"""Scale-out (issue 12; the full run with the model is bench/scale_out.py, results in
bench/README.md): two `critiquelab serve` processes and two `critiquelab worker`
processes on one PostgreSQL, 50 labelers whose requests alternate between the apps, while
the workers run the launch's assistance jobs. Afterwards: no task handed out twice, no
labeler given a passage twice, at most one labeler per condition per answer, every
acknowledged submit stored exactly once (and its retry through the other app replayed),
every job finished, and the design invariants of tests/support/experiments.py."""

import os

import pytest

from bench.scale_out import run


def test_two_apps_and_two_workers_on_one_postgres_keep_every_invariant() -> None:
    if "postgresql" not in os.environ.get("CRITIQUELAB_TEST_BACKENDS", "postgresql"):
        pytest.skip("PostgreSQL is not among CRITIQUELAB_TEST_BACKENDS")
    result = run(
        ["--labelers", "50", "--apps", "2", "--job-workers", "2", "--seconds", "10"]
        + ["--passages", "120", "--assist-passages", "0", "--jobs-timeout", "60"]
    )
    checks = result["checks"]
    assert checks["acknowledged submits"] >= 25, result
    assert checks["submit retries replayed"] > 0, result
    assert checks["assisted tasks handed out"] > 0, result
    assert checks["jobs succeeded"] == 360, result  # one per answer of an assist condition
    assert checks["check_invariants"] == "hold", result
    for problem in (
        "tasks handed to two labelers",
        "labeler given a passage twice",
        "answer with two labelers in one condition",
        "acknowledged submits not stored exactly once",
        "replays not answered as replays",
        "answers with two assistance sets",
        "assist tasks without their assistance",
        "jobs not finished",
        "jobs failed",
        "jobs with a failed attempt",
    ):
        assert checks[problem] == 0, (problem, result)
    assert not result["errors"], result
