"""The statistics of a comparison of two runs: differences with 95 % CIs, their tests, and drift.

Usage::

    from helpers.compare import stats
    stats.difference(0.0241, 0.0005, 0.0246, 0.0005)          # B minus A, its 95 % CI and p
    stats.difference_of_estimates(1.75, 1.65, 1.86, 0.96, 0.89, 1.03, scale="log")  # odds ratios
    stats.psi(sample_a, sample_b)                              # population stability index

Which test applies depends on the design of the two runs (``DESIGNS``). Two independent samples
(different seeds, different stores) give a difference ``B - A`` of two estimates with standard
errors ``se_a`` and ``se_b`` the standard error ``sqrt(se_a² + se_b²)``, a 95 % CI of
``d ± 1.96 × that`` and a two-sided p-value from the same normal statistic (one method for the
interval and the test). Estimates that are normal on another scale (odds ratios and spend
multipliers on the log scale) are compared there and shown back as a ratio. A standard error is
recovered from a recorded 95 % CI as its width on that scale over 2 × 1.96.

Two runs that share their data (one fingerprint) or their simulator seed (the same users drawn
alike) are not independent: at a correlation of 0.9 between the two estimates ``sqrt(se_a² + se_b²)``
overstates the SE of the difference about three times. Then a mean that is a ratio of sums is
compared *paired* over the users the runs share (:func:`paired_ratio_difference`: each user's
contribution to B minus its contribution to A, clustered by user), and an estimate recorded only
with its CI gets no test at all (:func:`untested`): the page says the test does not apply.

Many rows are tested at once, so the flags control the family-wise error with Holm's step-down
adjustment (:func:`holm`) over the rows shown: with nothing changed, no row is flagged in at least
95 % of comparisons (without it, seven rows flag at least one about one time in three).

Drift is the population stability index, PSI = Σ (b - a) ln(b / a) over the shares ``a`` and
``b`` of each bin (bins from A's deciles for a number, one bin per level for a label; a bin's share
is (count + 0.5) / (n + 0.5 k) so an empty bin stays finite). Below 0.1 a column is stable, from
0.1 a shift to look at, from 0.25 it has moved (the usual rule of thumb for PSI).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

Z95 = float(sps.norm.ppf(0.975))
PSI_SHIFT, PSI_MOVED = 0.1, 0.25  # PSI thresholds: a shift to look at; a column that moved
PSI_BINS = 10
ALPHA = 0.05  # family-wise error rate of the flags (Holm over the rows shown)
# How two runs relate, which decides the test: 'independent' samples; 'same_seed' (two simulations from one
# seed that share users); 'same_data' (one data fingerprint); 'same_run' (a run against itself).
DESIGNS = ("independent", "same_seed", "same_data", "same_run")
# How a difference was tested: 'independent' (sqrt(se_a² + se_b²)), 'paired_users' (per-user contributions
# over the shared users), 'not_applicable' (shared data or seed and no paired method: no test), 'count'.
METHODS = ("independent", "paired_users", "not_applicable", "count")


@dataclass
class Difference:
    """B compared with A: the difference (or ratio, for ``scale='log'``), its 95 % CI and two-sided p."""

    value: float | None
    lo: float | None
    hi: float | None
    p: float | None
    scale: str = "linear"  # 'linear': B - A; 'log': B / A
    method: str = "independent"  # one of METHODS
    p_adjusted: float | None = None  # Holm-adjusted over the family the row belongs to (None: not adjusted)

    @property
    def tested(self) -> bool:
        """Whether the difference has an interval and a p-value (a design that allows a test)."""
        return self.lo is not None and self.hi is not None and self.p is not None

    @property
    def flagged(self) -> bool:
        """Whether the change is beyond chance: the Holm-adjusted p below ``ALPHA`` when the row is one of a
        family, else the 95 % CI excludes no change (0 for a difference, 1 for a ratio)."""
        if not self.tested:
            return False
        if self.p_adjusted is not None:
            return self.p_adjusted < ALPHA
        null = 1.0 if self.scale == "log" else 0.0
        return self.lo > null or self.hi < null


NONE = Difference(None, None, None, None)


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def difference(a: float, se_a: float, b: float, se_b: float) -> Difference:
    """B - A of two independent estimates with their standard errors: 95 % CI and two-sided z-test p."""
    if not _finite(a, se_a, b, se_b):
        return NONE
    d, se = b - a, math.hypot(se_a, se_b)
    if se == 0:
        return Difference(d, d, d, 1.0 if d == 0 else 0.0)
    return Difference(d, d - Z95 * se, d + Z95 * se, float(2 * sps.norm.sf(abs(d) / se)))


def holm(pvalues) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count in the family).

    The i-th smallest of m p-values becomes max over j <= i of min(1, (m - j + 1) p_(j)); a row is
    flagged when its adjusted p is below ``ALPHA``, which keeps the chance of any false flag in the
    family at most ``ALPHA`` whatever the dependence between the rows.
    """
    from helpers.analysis.stats import holm as holm_adjusted  # the one Holm of the analyses

    present = [i for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    for i, adjusted in zip(present, holm_adjusted([pvalues[i] for i in present]), strict=True):
        out[i] = float(adjusted)
    return out


def untested(value_a: float | None, value_b: float | None, scale: str = "linear") -> Difference:
    """B against A with no interval and no test, for runs that share their data or seed.

    The value is B - A (``scale='linear'``), the ratio B / A ('log'), or the ratio of the spend
    multipliers (1 + B / 100) / (1 + A / 100) ('log1p_pct'), as the tested differences show it.
    """
    if not _finite(value_a, value_b):
        return Difference(None, None, None, None, method="not_applicable")
    try:
        d = to_scale(value_b, scale) - to_scale(value_a, scale)
    except ValueError:
        return Difference(None, None, None, None, method="not_applicable")
    if scale == "linear":
        return Difference(d, None, None, None, method="not_applicable")
    return Difference(math.exp(d), None, None, None, scale="log", method="not_applicable")


def paired_ratio_difference(y_a, x_a, y_b, x_b) -> Difference:
    """Rb - Ra of two ratios of sums R = Σy / Σx over one set of users, each user's two contributions paired.

    ``y_a``, ``x_a``, ``y_b``, ``x_b`` are per-user totals aligned on the same users (0 where a user
    has no session in a run). Each user's influence is (y_b - Rb x_b) / Σx_b - (y_a - Ra x_a) / Σx_a,
    and the SE is sqrt(G / (G - 1) × Σ influence²) over the G users: the delta method clustered by
    user, which keeps the covariance between the runs that ``sqrt(se_a² + se_b²)`` drops. Two
    independent samples give the same SE as that formula, up to sampling; two runs on the same users
    a much smaller one.
    """
    y_a, x_a, y_b, x_b = (np.asarray(v, float) for v in (y_a, x_a, y_b, x_b))
    sa, sb = x_a.sum(), x_b.sum()
    g = y_a.size
    if sa <= 0 or sb <= 0 or g < 2:
        return Difference(None, None, None, None, method="paired_users")
    ra, rb = y_a.sum() / sa, y_b.sum() / sb
    influence = (y_b - rb * x_b) / sb - (y_a - ra * x_a) / sa
    se = math.sqrt(g / (g - 1) * float(np.sum(influence**2)))
    d = rb - ra
    if se == 0:
        return Difference(d, d, d, 1.0 if d == 0 else 0.0, method="paired_users")
    return Difference(d, d - Z95 * se, d + Z95 * se, float(2 * sps.norm.sf(abs(d) / se)), method="paired_users")


def to_scale(value: float, scale: str) -> float:
    """An estimate on the scale where it is normal: 'log' (odds ratios), 'log1p_pct' (a % change), 'linear'."""
    if scale == "log":
        return math.log(value)
    if scale == "log1p_pct":
        return math.log1p(value / 100)
    return float(value)


def se_from_ci(lo: float, hi: float, scale: str = "linear") -> float:
    """The standard error behind a 95 % CI that is symmetric on ``scale``."""
    return (to_scale(hi, scale) - to_scale(lo, scale)) / (2 * Z95)


def difference_of_estimates(
    a: float | None,
    a_lo: float | None,
    a_hi: float | None,
    b: float | None,
    b_lo: float | None,
    b_hi: float | None,
    scale: str = "linear",
) -> Difference:
    """B against A from two recorded estimates and their 95 % CIs (SEs recovered from the CIs).

    On ``scale='linear'`` the result is B - A; on 'log' and 'log1p_pct' it is the ratio B / A of the
    odds ratios, or of the spend multipliers (1 + % / 100), with its CI: one z-test of the
    difference on the scale where both estimates are normal, not two separate tests.
    """
    if not _finite(a, a_lo, a_hi, b, b_lo, b_hi):
        return NONE
    try:
        ta, tb = to_scale(a, scale), to_scale(b, scale)
        se_a, se_b = se_from_ci(a_lo, a_hi, scale), se_from_ci(b_lo, b_hi, scale)
    except ValueError:  # a bound outside the scale's domain (an odds ratio of 0, a -100 % change)
        return NONE
    d = difference(ta, se_a, tb, se_b)
    if scale == "linear" or d.value is None:
        return d
    return Difference(math.exp(d.value), math.exp(d.lo), math.exp(d.hi), d.p, scale="log")


@dataclass
class RatioOfSums:
    """A mean as a ratio of sums over users, Σy / Σx, and its standard error clustered by user (CR1)."""

    estimate: float | None
    se: float | None
    users: int


def ratio_of_sums(groups: int, sum_y: float, sum_x: float, sum_yy: float, sum_xy: float, sum_xx: float) -> RatioOfSums:
    """Σy / Σx from per-user sums y_u, x_u, with the delta-method SE clustered by user.

    ``groups`` users with totals y_u (for example purchases) and x_u (sessions); ``sum_yy`` is
    Σ y_u², ``sum_xy`` Σ x_u y_u and ``sum_xx`` Σ x_u². The SE is
    sqrt(G / (G - 1) × Σ (y_u - m x_u)²) / Σx with m = Σy / Σx: the plain SE of a mean when every
    user has one session (x_u = 1), the user-clustered one otherwise (as ``analysis.stats.clustered_mean_se``).
    """
    from helpers.analysis.stats import ratio_of_sums_se  # the front page's conversion CI reads the same SE

    if sum_x <= 0:
        return RatioOfSums(None, None, groups)
    m = sum_y / sum_x
    if groups < 2:
        return RatioOfSums(m, None, groups)
    return RatioOfSums(m, ratio_of_sums_se(groups, sum_y, sum_x, sum_yy, sum_xy, sum_xx), groups)


# --------------------------------------------------------------------------------------------
# Drift
# --------------------------------------------------------------------------------------------


@dataclass
class Drift:
    """One column's PSI between A and B, with the bins it was computed on and their shares."""

    psi: float
    labels: list[str]
    share_a: list[float]
    share_b: list[float]

    @property
    def verdict(self) -> str:
        """'moved' (PSI ≥ 0.25), 'shifted' (≥ 0.1) or 'stable'."""
        return "moved" if self.psi >= PSI_MOVED else ("shifted" if self.psi >= PSI_SHIFT else "stable")


def psi_from_counts(count_a, count_b) -> float:
    """PSI of two vectors of bin counts, each share smoothed as (count + 0.5) / (n + 0.5 k)."""
    ca, cb = np.asarray(count_a, float), np.asarray(count_b, float)
    k = ca.size
    a = (ca + 0.5) / (ca.sum() + 0.5 * k)
    b = (cb + 0.5) / (cb.sum() + 0.5 * k)
    return float(np.sum((b - a) * np.log(b / a)))


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def numeric_bins(a: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Interior bin edges at A's deciles (ties merged); a value falls in the first bin whose edge it does not pass."""
    qs = np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1]) if a.size else np.array([])
    return np.unique(qs)


def psi(a, b, bins: int = PSI_BINS) -> Drift | None:
    """PSI of one column between samples ``a`` and ``b``: deciles of A for numbers, levels for labels.

    Missing values are a bin of their own ('missing'). Returns None when either sample is empty.
    """
    a, b = pd.Series(a), pd.Series(b)
    if a.empty or b.empty:
        return None
    numeric = all(pd.api.types.is_numeric_dtype(s) and s.dtype != bool for s in (a, b))
    if numeric and max(a.nunique(), b.nunique()) > bins:
        va, vb = a.dropna().to_numpy(float), b.dropna().to_numpy(float)
        edges = numeric_bins(va, bins)
        ca = np.bincount(np.searchsorted(edges, va, side="left"), minlength=edges.size + 1)
        cb = np.bincount(np.searchsorted(edges, vb, side="left"), minlength=edges.size + 1)
        bounds = ["", *(_number(x) for x in edges), ""]
        labels = [
            f"≤ {bounds[1]}" if i == 0 else (f"> {bounds[i]}" if i == edges.size else f"{bounds[i]} to {bounds[i + 1]}")
            for i in range(edges.size + 1)
        ]
        if a.isna().any() or b.isna().any():
            ca, cb = np.append(ca, a.isna().sum()), np.append(cb, b.isna().sum())
            labels.append("missing")
    else:
        la, lb = _levels(a, numeric), _levels(b, numeric)
        labels = sorted(set(la) | set(lb), key=_level_key)
        ca = la.value_counts().reindex(labels, fill_value=0).to_numpy()
        cb = lb.value_counts().reindex(labels, fill_value=0).to_numpy()
    return Drift(
        psi=psi_from_counts(ca, cb),
        labels=labels,
        share_a=(ca / max(ca.sum(), 1)).tolist(),
        share_b=(cb / max(cb.sum(), 1)).tolist(),
    )


def _levels(values: pd.Series, numeric: bool) -> pd.Series:
    """Each value as its level's label: numbers written alike whatever their type (1, 1.0), 'missing' for none."""
    if numeric:
        return values.map(lambda v: "missing" if pd.isna(v) else f"{float(v):g}")
    return values.astype(object).where(values.notna(), "missing").astype(str)


def _level_key(level: str):
    """Numbers in numeric order (hours, weekdays, 0/1), then labels alphabetically."""
    try:
        return (0, float(level), "")
    except ValueError:
        return (1, 0.0, level)
