"""De-duplicating sampled critiques: exact after normalising, then near-duplicates.

Normalising lower-cases, drops punctuation and folds white space, so "The answer is wrong."
and "the answer is wrong" are one critique. Two critiques whose normalised texts have a
similarity ratio of at least NEAR_DUPLICATE_RATIO are near-duplicates; the first one
(lowest temperature) is kept. 0.9 folds a changed word or two in a sentence-long critique;
the tests pin what it folds and what it keeps apart.

The ratio is the Indel (insertions and deletions) normalised similarity,
2 * matching characters / total characters, computed exactly in C by rapidfuzz.
difflib's SequenceMatcher.ratio() has the same formula but counts matches greedily
(longest common block first, plus its "junk" heuristic for texts over 200 characters), so
it can only find fewer matching characters: rapidfuzz's ratio is >= difflib's, and a pair
difflib put just under 0.9 may now fold. Sentence-long critiques that differ by a word or
two score the same either way.
"""

import re
import string

from rapidfuzz.distance import Indel

NEAR_DUPLICATE_RATIO = 0.9
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}“”‘’…–—]")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _SPACE.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def dedupe(texts: list[str]) -> list[int]:
    """Indices of the texts to keep, in order: non-empty, not a duplicate of an earlier one."""
    kept: list[int] = []
    seen: list[str] = []
    for i, text in enumerate(texts):
        norm = normalise(text)
        if not norm or norm in seen:
            continue
        if any(
            Indel.normalized_similarity(norm, other, score_cutoff=NEAR_DUPLICATE_RATIO)
            for other in seen
        ):
            continue
        kept.append(i)
        seen.append(norm)
    return kept
