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

    def add(self, key: Key, passage_id: int, num: float, den: float = 1.0) -> None:
        p = self._passages.setdefault(passage_id, len(self._passages))
        self._num[key][p] += num
        self._den[key][p] += den

    @property
    def n_passages(self) -> int:
        return len(self._passages)

    def estimate(
        self, seed: int, samples: int, ratios: dict[Key, tuple[Key, Key]] | None = None
    ) -> dict[Key, Estimate]:
        """Every key's ratio; `ratios` adds derived keys = estimate(a) / estimate(b)."""
        keys = sorted(self._num)
        n_p = self.n_passages
        if n_p == 0:
            return {}
        num = np.zeros((n_p, len(keys)))
        den = np.zeros((n_p, len(keys)))
        for j, key in enumerate(keys):
            for p, v in self._num[key].items():
                num[p, j] = v
            for p, v in self._den[key].items():
                den[p, j] = v
        rng = np.random.default_rng(seed)
        # Each row: how often each passage is drawn in one bootstrap sample.
        weights = rng.multinomial(n_p, np.full(n_p, 1.0 / n_p), size=samples).astype(float)
        boot_num, boot_den = weights @ num, weights @ den
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


def _sd(draws: np.ndarray) -> float | None:
    finite = draws[np.isfinite(draws)]
    return float(finite.std(ddof=1)) if finite.size > 1 else None
