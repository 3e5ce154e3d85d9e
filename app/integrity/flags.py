"""The integrity flags of one task, from its provenance and its critiques' similarity to
the model's critiques. Thresholds come from settings (CRITIQUELAB_INTEGRITY_*)."""

import hashlib
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from app.core.settings import Settings
from app.integrity.similarity import Closest


class Flag(StrEnum):
    mostly_pasted = "mostly_pasted"
    near_copy_no_assist = "near_copy_no_assist"
    away_no_assist = "away_no_assist"
    implausible_typing = "implausible_typing"


FLAG_TITLES = {
    Flag.mostly_pasted: "Mostly pasted",
    Flag.near_copy_no_assist: "Near copy of a model critique (no assist)",
    Flag.away_no_assist: "Long time away from the page (no assist)",
    Flag.implausible_typing: "Implausible typing speed",
}


@dataclass(frozen=True)
class Thresholds:
    pasted_share: float
    pasted_min_chars: int
    near_copy_similarity: float
    away_s: float
    max_chars_per_s: float
    typing_min_chars: int

    @classmethod
    def from_settings(cls, s: Settings) -> "Thresholds":
        return cls(
            s.integrity_pasted_share,
            s.integrity_pasted_min_chars,
            s.integrity_near_copy_similarity,
            s.integrity_away_s,
            s.integrity_max_chars_per_s,
            s.integrity_typing_min_chars,
        )

    def key(self) -> str:
        """Names these thresholds: a stored check made with others is made again."""
        return hashlib.sha256(repr(asdict(self)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TaskFacts:
    assist: bool
    # The task's provenance row: away_s, departures, critiques {id: counts}; None when the
    # client sent none (an API script).
    provenance: dict[str, Any] | None
    # Each labeler critique's closest model critique (None: the answer has none).
    closest: dict[int, Closest | None]


def check(facts: TaskFacts, th: Thresholds) -> tuple[list[str], dict[str, Any]]:
    """(flags, evidence): the flags raised and the numbers behind them."""
    flags: list[str] = []
    ev: dict[str, Any] = {"provenance_recorded": facts.provenance is not None}
    found = [(cid, c) for cid, c in facts.closest.items() if c is not None]
    if found:
        cid, best = max(found, key=lambda item: item[1].similarity)
        ev |= {
            "max_similarity": best.similarity,
            "most_similar_critique_id": cid,
            "model_critique_id": best.model_critique_id,
        }
        if not facts.assist and best.similarity >= th.near_copy_similarity:
            flags.append(Flag.near_copy_no_assist)
    if facts.provenance is not None:
        counts = list((facts.provenance.get("critiques") or {}).values())
        typed = sum(int(c.get("typed_chars") or 0) for c in counts)
        pasted = sum(int(c.get("pasted_chars") or 0) for c in counts)
        typing_s = sum(float(c.get("typing_s") or 0.0) for c in counts)
        away = float(facts.provenance.get("away_s") or 0.0)
        share = pasted / (typed + pasted) if typed + pasted else 0.0
        speed = typed / typing_s if typing_s > 0 else None
        ev |= {
            "typed_chars": typed,
            "pasted_chars": pasted,
            "pasted_share": round(share, 4),
            "typing_s": round(typing_s, 2),
            "chars_per_s": None if speed is None else round(speed, 2),
            "away_s": round(away, 1),
            "departures": int(facts.provenance.get("departures") or 0),
        }
        if pasted >= th.pasted_min_chars and share >= th.pasted_share:
            flags.append(Flag.mostly_pasted)
        if not facts.assist and away >= th.away_s:
            flags.append(Flag.away_no_assist)
        if typed >= th.typing_min_chars and (speed is None or speed > th.max_chars_per_s):
            flags.append(Flag.implausible_typing)
    return [str(f) for f in flags], ev
