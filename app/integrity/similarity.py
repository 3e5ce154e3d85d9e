"""How close a labeler's critique is to the model's critiques of the same answer.

The similarity is the Indel normalised similarity (2 x matching characters / total
characters, rapidfuzz) of the two texts after the de-duplication's normalising (lower case,
no punctuation, folded white space): 1.0 is the same critique, a changed word or two in a
sentence stays above 0.9, unrelated critiques of one answer score around 0.3 to 0.5. All
of the answer's stored model critiques count, shown to this labeler or not: in a no-assist
task a near copy is a contamination signal; in an assist task it tells whether a critique
not marked "used" came from the list anyway.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from app.assist.dedupe import normalise


@dataclass(frozen=True)
class Closest:
    model_critique_id: int
    similarity: float


def closest(text: str, model_critiques: Sequence[tuple[int, str]]) -> Closest | None:
    """The most similar of (id, text) model critiques, or None when there are none."""
    mine = normalise(text)
    best: Closest | None = None
    for cid, other in model_critiques:
        score = Indel.normalized_similarity(mine, normalise(other))
        if best is None or score > best.similarity:
            best = Closest(cid, round(score, 4))
    return best
