"""Pr[Yes] / (Pr[Yes] + Pr[No]) from next-token top log-probs, summing token variants."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    value: float | None
    missing_reason: str | None = None


def _variant(token: str) -> str | None:
    word = token.strip().strip(".,:!\"'").lower()
    return word if word in ("yes", "no") else None


def yes_no_score(top_logprobs: dict[str, float]) -> Score:
    """The probability of "yes" among {yes, no}; "Yes", " Yes", "yes", "YES." all count as yes.

    When neither word is in the top log-probs there is no number to give: return None and
    say so, never a made-up 0.5.
    """
    mass = {"yes": 0.0, "no": 0.0}
    for token, logprob in top_logprobs.items():
        word = _variant(token)
        if word is not None:
            mass[word] += math.exp(logprob)
    if not top_logprobs:
        return Score(None, "the backend returned no log-probs")
    total = mass["yes"] + mass["no"]
    if total == 0.0:
        return Score(None, f"neither Yes nor No among the top {len(top_logprobs)} next tokens")
    return Score(mass["yes"] / total)
