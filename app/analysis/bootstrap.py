"""Ratio estimates with a seeded bootstrap over passages (the paper's unit of resampling).

Every number in the report is a ratio of sums over labeling tasks (critiques per answer =
critiques / tasks, fraction valid = valid / reviewed critiques, ...). Tasks of one passage
are not independent, so the bootstrap draws passages with replacement and recomputes each
ratio from the drawn passages' sums. The error bar is the bootstrap standard deviation:
a z = 1 bar, as in the paper's figures.
"""

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

Key = tuple[str, str]  # (metric, group)


@dataclass(frozen=True)
class Estimate:
    value: float | None
    se: float | None
    n: float  # the denominator's total (tasks, critiques, ...)

    def as_json(self) -> dict[str, float | None]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(float(x), 6)

        return {"value": r(self.value), "se": r(self.se), "n": r(self.n)}


class PassageSums:
    """Numerators and denominators per (metric, group), summed per passage."""

    def __init__(self) -> None:
        self._passages: dict[int, int] = {}
        self._num: dict[Key, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self._den: dict[Key, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        # Whole columns at once: (passage indexes, numerators, denominators or None for 1s).
        self._rows: dict[Key, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}

    def share_passages(self, other: "PassageSums") -> None:
        """Number passages as `other` does (and count them all), so that estimates of both
        draw the same bootstrap samples: a paired comparison."""
        self._passages = dict(other._passages)

    def passage_index(self, passage_id: int) -> int:
        """The passage's row in the sums (passages are numbered as first seen)."""
        return self._passages.setdefault(passage_id, len(self._passages))

    def add(self, key: Key, passage_id: int, num: float, den: float = 1.0) -> None:
        p = self.passage_index(passage_id)
        self._num[key][p] += num
        self._den[key][p] += den

    def add_rows(
        self, key: Key, passages: np.ndarray, num: np.ndarray, den: np.ndarray | None = None
    ) -> None:
        """Many adds at once (passage indexes from passage_index); once per key, and never
        beside add() for the same key. Nothing is recorded for no rows, as for no adds."""
        if len(passages) == 0:
            return
        assert key not in self._rows and key not in self._num
        self._rows[key] = (passages, num, den)

    def _column(self, key: Key, n_p: int) -> tuple[np.ndarray, np.ndarray]:
        if key in self._rows:
            # bincount adds in row order, so each sum is exactly the one-by-one sum.
            p, num, den = self._rows[key]
            d: np.ndarray = (
                np.bincount(p, minlength=n_p) if den is None else np.bincount(p, den, n_p)
            )
            return np.bincount(p, num, n_p), d.astype(float)
        num_col, den_col = np.zeros(n_p), np.zeros(n_p)
        for passage, v in self._num[key].items():
            num_col[passage] = v
        for passage, v in self._den[key].items():
            den_col[passage] = v
        return num_col, den_col

    @property
    def n_passages(self) -> int:
        return len(self._passages)

    def estimate(
        self, seed: int, samples: int, ratios: dict[Key, tuple[Key, Key]] | None = None
    ) -> dict[Key, Estimate]:
        """Every key's ratio; `ratios` adds derived keys = estimate(a) / estimate(b)."""
        keys = sorted({*self._num, *self._rows})
        n_p = self.n_passages
        if n_p == 0:
            return {}
        num = np.zeros((n_p, len(keys)))
        den = np.zeros((n_p, len(keys)))
        for j, key in enumerate(keys):
            num[:, j], den[:, j] = self._column(key, n_p)
        boot_num, boot_den = _resampled_sums(num, den, seed, samples)
        with np.errstate(divide="ignore", invalid="ignore"):
            boot = np.where(boot_den > 0, boot_num / boot_den, np.nan)
        total_num, total_den = num.sum(axis=0), den.sum(axis=0)
        point = {
            k: (total_num[j] / total_den[j] if total_den[j] > 0 else None)
            for j, k in enumerate(keys)
        }
        draws = {k: boot[:, j] for j, k in enumerate(keys)}
        out = {
            k: Estimate(point[k], _sd(draws[k]) if point[k] is not None else None, total_den[j])
            for j, k in enumerate(keys)
        }
        for key, (a, b) in (ratios or {}).items():
            if a not in point or b not in point or not point[b] or point[a] is None:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                d = draws[a] / draws[b]
            out[key] = Estimate(point[a] / point[b], _sd(d), out[b].n)  # type: ignore[operator]
        return out


def _resampled_sums(
    num: np.ndarray, den: np.ndarray, seed: int, samples: int, block: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Sums of num and den over `samples` bootstrap draws of the passages (rows).

    Each draw is a row of multinomial counts (how often each passage is drawn). Draws are
    made `block` rows at a time: the generator gives the same rows as one call for all, and
    memory stays at block x passages.
    """
    n_p = num.shape[0]
    rng = np.random.default_rng(seed)
    probs = np.full(n_p, 1.0 / n_p)
    boot_num = np.empty((samples, num.shape[1]))
    boot_den = np.empty((samples, den.shape[1]))
    for start in range(0, samples, block):
        stop = min(start + block, samples)
        weights = rng.multinomial(n_p, probs, size=stop - start).astype(float)
        boot_num[start:stop], boot_den[start:stop] = weights @ num, weights @ den
    return boot_num, boot_den


def _sd(draws: np.ndarray) -> float | None:
    finite = draws[np.isfinite(draws)]
    return float(finite.std(ddof=1)) if finite.size > 1 else None
