"""The model-similarity check on near copies and unrelated critiques, and each flag's
threshold (just under: no flag; at it: the flag)."""

from dataclasses import replace

from app.core.settings import Settings
from app.integrity.flags import Flag, TaskFacts, Thresholds, check
from app.integrity.similarity import Closest, closest

MODEL = [
    (11, "The answer says the treaty was signed in 1815, but the passage says 1814."),
    (12, "The summary leaves out the narrator's brother entirely."),
    (13, "It is too long."),
]


def test_a_near_copy_is_close_and_an_unrelated_critique_is_not() -> None:
    copied = closest(
        "the answer says the treaty was signed in 1815 but the passage says 1814", MODEL
    )
    assert copied == Closest(11, 1.0)  # case and punctuation do not count
    edited = closest(
        "The answer claims the treaty was signed in 1815, but the text says 1814.", MODEL
    )
    assert edited is not None and edited.model_critique_id == 11 and edited.similarity >= 0.8
    own = closest("Calling the king 'generous' contradicts the second paragraph.", MODEL)
    assert own is not None and own.similarity < 0.5
    assert closest("Anything at all.", []) is None


TH = Thresholds.from_settings(Settings())


def _prov(
    typed: int = 0, pasted: int = 0, typing_s: float = 0.0, away_s: float = 0.0
) -> dict[str, object]:
    counts = {"typed_chars": typed, "pasted_chars": pasted, "typing_s": typing_s}
    return {"away_s": away_s, "departures": 1 if away_s else 0, "critiques": {"7": counts}}


def _flags(assist: bool, prov: dict[str, object] | None, sim: float | None = None) -> list[str]:
    near = {7: None if sim is None else Closest(11, sim)}
    return check(TaskFacts(assist, prov, near), TH)[0]


def test_defaults_are_what_the_settings_say() -> None:
    assert (TH.pasted_share, TH.pasted_min_chars, TH.near_copy_similarity) == (0.5, 40, 0.8)
    assert (TH.away_s, TH.max_chars_per_s, TH.typing_min_chars) == (120.0, 15.0, 50)


def test_mostly_pasted_needs_the_share_and_the_minimum() -> None:
    assert _flags(True, _prov(typed=40, pasted=40, typing_s=10)) == [Flag.mostly_pasted]
    assert _flags(True, _prov(typed=41, pasted=40, typing_s=10)) == []  # share just under
    assert _flags(True, _prov(typed=0, pasted=39)) == []  # too little to matter


def test_near_copy_counts_only_without_assistance() -> None:
    assert _flags(False, None, sim=0.8) == [Flag.near_copy_no_assist]
    assert _flags(False, None, sim=0.79) == []
    assert _flags(True, None, sim=1.0) == []  # assisted: copying is allowed (and recorded)


def test_time_away_counts_only_without_assistance() -> None:
    assert _flags(False, _prov(typed=10, typing_s=5, away_s=120)) == [Flag.away_no_assist]
    assert _flags(False, _prov(typed=10, typing_s=5, away_s=119.9)) == []
    assert _flags(True, _prov(typed=10, typing_s=5, away_s=600)) == []


def test_implausible_typing_speed() -> None:
    assert _flags(True, _prov(typed=60, typing_s=3.9)) == [Flag.implausible_typing]  # 15.4/s
    assert _flags(True, _prov(typed=60, typing_s=4.0)) == []  # 15/s is fast, not impossible
    assert _flags(True, _prov(typed=60, typing_s=0.0)) == [Flag.implausible_typing]  # no time
    assert _flags(True, _prov(typed=49, typing_s=0.1)) == []  # too few characters to judge


def test_evidence_and_thresholds_from_settings() -> None:
    flags, ev = check(
        TaskFacts(False, _prov(typed=20, pasted=80, typing_s=5, away_s=30), {7: Closest(11, 0.93)}),
        TH,
    )
    assert flags == [Flag.near_copy_no_assist, Flag.mostly_pasted]
    assert (
        ev["pasted_share"] == 0.8 and ev["max_similarity"] == 0.93 and ev["model_critique_id"] == 11
    )
    strict = replace(TH, near_copy_similarity=0.95)
    assert strict.key() != TH.key()
    assert Thresholds.from_settings(Settings(integrity_away_s=30)).away_s == 30
