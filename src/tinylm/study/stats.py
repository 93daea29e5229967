"""Means, spreads and confidence intervals over seeds.

A gap is paired by seed: seed s samples the task, initialises the head and fine-tunes both
arms the same way, so the per-seed difference removes the sample's share of the noise. Its
95% interval is Student's t over those differences (n - 1 degrees of freedom); with one seed
there is no interval (NaN).
"""

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    mean: float
    std: float  # sample standard deviation (n - 1); NaN for one value
    low: float  # the 95% confidence interval of the mean
    high: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def sign(self) -> int:
        """+1 when the interval lies above 0, -1 below, 0 when it holds 0 (or is undefined)."""
        if self.low > 0:
            return 1
        if self.high < 0:
            return -1
        return 0


def estimate(values) -> Estimate:
    values = np.asarray(list(values), dtype=float)
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(values.mean())
    if n == 1:
        return Estimate(mean, math.nan, math.nan, math.nan, 1)
    from scipy.stats import t

    std = float(values.std(ddof=1))
    half = float(t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * std / math.sqrt(n)
    return Estimate(mean, std, mean - half, mean + half, n)


def paired(a: dict, b: dict) -> Estimate:
    """The mean of a[s] - b[s] over the seeds both have."""
    seeds = sorted(set(a) & set(b))
    return estimate(a[s] - b[s] for s in seeds)


def fmt_mean_std(e: Estimate, digits: int = 3) -> str:
    if math.isnan(e.mean):
        return "n/a"
    if math.isnan(e.std):
        return f"{e.mean:.{digits}f}"
    return f"{e.mean:.{digits}f} ± {e.std:.{digits}f}"


def fmt_interval(e: Estimate, digits: int = 3) -> str:
    if math.isnan(e.mean):
        return "n/a"
    if math.isnan(e.low):
        return f"{e.mean:+.{digits}f}"
    return f"{e.mean:+.{digits}f} [{e.low:+.{digits}f}, {e.high:+.{digits}f}]"


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def format_tokens(count: int) -> str:
    """2,500,000 -> 2.5M; 250,000 -> 250k."""
    if count >= 1_000_000:
        return f"{count / 1e6:g}M"
    return f"{count / 1e3:g}k" if count >= 1000 else str(count)


def mean_or_none(values) -> float | None:
    """The mean, or None when any value is missing (rows written before a column existed)."""
    values = list(values)
    if not values or any(v is None for v in values):
        return None
    return float(sum(values) / len(values))


def fmt_optional(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
