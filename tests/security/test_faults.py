"""Faults under load, short (issue 14; the full run is bench/faults.py, results in
bench/README.md): 8 labelers label over the JSON API on PostgreSQL while the app is killed
with SIGKILL and restarted, and PostgreSQL is restarted. Every write the clients saw
acknowledged is in the database once; no task went to two labelers; after each fault the
first acknowledged write comes within 5 s of the service being back."""

import os

import pytest

from bench.faults import run


def test_no_acknowledged_write_is_lost_or_doubled_through_an_app_kill_and_a_db_restart() -> None:
    if "postgresql" not in os.environ.get("CRITIQUELAB_TEST_BACKENDS", "postgresql"):
        pytest.skip("PostgreSQL is not among CRITIQUELAB_TEST_BACKENDS")
    result = run(["--labelers", "8", "--seconds", "14", "--faults", "app,postgres"])
    ledger = result["ledger"]
    assert ledger["acknowledged submits"] > 20, result
    assert ledger["acknowledged critiques"] >= ledger["acknowledged submits"], result
    for problem in (
        "lost critiques",
        "lost ratings",
        "lost submits",
        "duplicated critiques",
        "tasks held by two labelers",
    ):
        assert ledger[problem] == 0, (problem, result)
    faults = {f["fault"].split(":")[0]: f for f in result["faults"]}
    assert set(faults) == {"app", "PostgreSQL"}, result
    for fault in faults.values():
        assert fault["first_ack_after_back_s"] is not None, result
        assert fault["first_ack_after_back_s"] <= 5, result
