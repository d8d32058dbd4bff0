"""The read-out of an experiment: sample ratio, user-level lift, CUPED, guardrails, mechanism, decision.

Usage (the one call 06 makes when the data carry a variant)::

    from helpers.analysis import readout
    plan = readout.Plan(lever="interaction_density", primary="session_conversion", users_per_arm=20_000,
                        guardrails=[readout.Guardrail("session_seconds", 0.05, "higher")])
    result = readout.analyse(sessions, plan, readout.Settings())      # -> ReadoutResult
    result.decision, result.primary.rel, result.primary.rel_lo, result.srm.status
    readout.analyse(sessions, None, readout.Settings())                # no plan: 'exploratory'

    python -m helpers.analysis.readout --validate                      # the validation table

``sessions`` is one row per session (the gold table's columns) with ``user_id``, ``variant`` and
``did_purchase``; ``started_at``, ``exposed_at`` (the user's first exposure), ``amount_usd`` and the
browsing columns (``pre_conversion_event_count``, ``pre_conversion_seconds``,
``pre_conversion_max_idle_seconds``, ``session_seconds``) are used when present. Sessions before
the plan's start date (without one, before the user's exposure) form the pre-period; the rest are
the test. A per-user export reads as one session per user.

Users are randomised, so every estimate is at user level, by intention to treat: a user counts in
the arm assigned, with every test session; the primary metric from each user's exposure on is
secondary (``ReadoutResult.exposed``). A ratio metric (purchasing sessions per session, revenue per
session) is a ratio of sums per arm with the delta method: ``Var(R) = sum((Y - R N)^2) G / ((G - 1)
(sum N)^2)`` over the arm's G users; a per-user mean is the same with N = 1; the share of users
who purchase has the score method (Miettinen and Nurminen) for its CI and p-value. Each metric's CI
and p come from one method. CUPED is the regression of the user's metric on the variant and the
centred pre-period value of the same metric (weighted by sessions for a ratio metric), with HC1
errors. The instrument is the variant, the behaviour ``log1p`` of browsing events before checkout
for the interaction-density lever (2SLS at session level, errors clustered by user).

Results hold numbers and codes only; ``helpers.presentation.findings`` words them. Codes:
``SampleRatio.status`` 'ok', 'warn', 'stop'; ``ReadoutResult.decision`` 'ship', 'no_ship',
'inconclusive', 'stopped_srm', 'exploratory'; ``ReadoutResult.missing`` lists what the data cannot
support ('no_dates', 'no_pre_period', 'no_prices', 'no_timing', 'no_plan').
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from helpers.analysis import results
from helpers.analysis.results import Record
from helpers.analysis.stats import holm, normal_cdf, normal_ppf, normal_sf
from helpers.errors import DataContractError

SRM_STOP, SRM_WARN = 0.001, 0.05
STRONG_F = 10.0  # a first stage weaker than this makes the IV estimate unreliable (Staiger and Stock)

# metric -> (kind, per-user numerator, per-user denominator or None); kinds: 'ratio' (sum / sum),
# 'mean' (per-user mean), 'share' (share of users with a positive numerator)
METRICS: dict[str, tuple[str, str, str | None]] = {
    "session_conversion": ("ratio", "purchases", "sessions"),
    "buyer_share": ("share", "purchases", None),
    "revenue_per_user": ("mean", "revenue", None),
    "revenue_per_session": ("ratio", "revenue", "sessions"),
    "sessions_per_user": ("mean", "sessions", None),
    "session_seconds": ("ratio", "seconds", "sessions"),
    "events_per_minute": ("ratio", "browsing_events", "browsing_minutes"),
    "browsing_events": ("ratio", "browsing_events", "sessions"),
    "max_idle_seconds": ("ratio", "idle_seconds", "sessions"),
    "seconds_before_checkout": ("ratio", "browsing_seconds", "sessions"),
}
# per-user sums -> the session column they add up (None: a count of sessions)
SUMS = {
    "sessions": None,
    "purchases": "did_purchase",
    "revenue": "amount_usd",
    "seconds": "session_seconds",
    "browsing_events": "pre_conversion_event_count",
    "browsing_seconds": "pre_conversion_seconds",
    "idle_seconds": "pre_conversion_max_idle_seconds",
}
SECONDARY = ("session_conversion", "buyer_share", "revenue_per_user", "revenue_per_session", "sessions_per_user")
# lever -> (behaviour metrics it targets, the session-level behaviour the IV instruments and its column)
LEVERS = {
    "interaction_density": (
        ("events_per_minute", "max_idle_seconds", "browsing_events"),
        ("log_browsing_events", "pre_conversion_event_count"),
    ),
    "time_before_checkout": (("seconds_before_checkout",), ("log_seconds_before_checkout", "pre_conversion_seconds")),
}


# --------------------------------------------------------------------------------------------
# The plan and the settings
# --------------------------------------------------------------------------------------------


@dataclass
class Guardrail(Record):
    """A metric that must not get worse beyond ``margin`` (relative): ``worse`` is 'higher' or 'lower'."""

    metric: str
    margin: float
    worse: str = "higher"


@dataclass
class Plan(Record):
    """The experiment as planned before it ran: the decision is read against this record."""

    lever: str = "interaction_density"
    primary: str = "session_conversion"
    guardrails: list[Guardrail] = field(
        default_factory=lambda: [
            Guardrail("session_seconds", 0.05, "higher"),
            Guardrail("revenue_per_session", 0.05, "lower"),
        ]
    )
    alpha: float = 0.05
    power: float = 0.8
    relative_mde: float | None = 0.10  # the relative lift the size was planned to detect
    users_per_arm: int | None = None
    sessions_per_arm: int | None = None
    split: dict[str, float] = field(default_factory=lambda: {"control": 0.5, "treatment": 0.5})
    control: str = "control"
    start_date: str | None = None  # YYYY-MM-DD
    cuped: bool = True  # decide on the pre-period-adjusted estimate when users have a pre-period

    def hash(self) -> str:
        """A short fingerprint of the plan (SHA-256 of its canonical JSON), shown beside the read-out."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Settings(results.Settings):
    """Read-out settings beyond the plan."""

    alpha: float = 0.05  # used without a plan (a plan brings its own)
    srm_stop: float = SRM_STOP  # below this the read-out stops short of a decision
    srm_warn: float = SRM_WARN
    period: str = "auto"  # lift over time by 'day', 'week', or 'auto' (days up to 21 days, else weeks)


# --------------------------------------------------------------------------------------------
# The records
# --------------------------------------------------------------------------------------------


@dataclass
class SampleRatio(Record):
    """Users per variant against the planned split: chi-square test and status code."""

    variants: list[str]
    users: list[int]
    expected_share: list[float]
    chi2: float
    dof: int
    p_value: float
    status: str  # 'ok', 'warn', 'stop'
    planned: bool = True  # False: split assumed equal (no plan)


@dataclass
class Estimate(Record):
    """One metric in both arms: the difference with CI and p from one method; the relative lift with Fieller's CI."""

    metric: str
    kind: str
    method: str  # 'delta' or 'score' (the difference's CI and p)
    level: float
    control: float
    treatment: float
    control_se: float
    treatment_se: float
    diff: float
    diff_se: float
    diff_lo: float
    diff_hi: float
    rel: float
    rel_lo: float  # Fieller's CI of treatment / control, minus 1 (excludes 0 exactly when the Wald test rejects)
    rel_hi: float
    p_value: float
    users_control: int
    users_treatment: int
    p_holm: float | None = None  # Holm-adjusted across the secondary and mechanism metrics


@dataclass
class Cuped(Record):
    """The pre-period-adjusted difference (ANCOVA on the centred pre-period value), the unadjusted beside it."""

    metric: str
    covariate: str
    users_with_pre: int
    share_with_pre: float
    theta: float
    control: float  # adjusted arm means, at the average pre-period value
    treatment: float
    diff: float
    diff_se: float
    diff_lo: float
    diff_hi: float
    rel: float
    rel_lo: float
    rel_hi: float
    p_value: float
    unadjusted_diff: float
    unadjusted_se: float
    unadjusted_lo: float
    unadjusted_hi: float
    variance_reduction: float  # 1 - Var(adjusted) / Var(unadjusted)
    rho_squared: float  # squared within-arm correlation of metric and covariate: the reduction expected
    method: str = "ancova_hc1"


@dataclass
class GuardrailCheck(Record):
    """A guardrail as non-inferiority: passes only when its one-sided bound on the worse side clears the margin.

    ``rel_lo``/``rel_hi`` are the two-sided (1 - alpha) CI shown beside it; ``bound`` is the one-sided
    (1 - alpha) bound the test reads, so ``passed`` is ``p_value < alpha``.
    """

    metric: str
    worse: str
    margin: float
    rel: float
    rel_lo: float
    rel_hi: float
    bound: float  # the one-sided (1 - alpha) bound on the worse side
    p_value: float  # one-sided test that the change is worse than the margin
    passed: bool


@dataclass
class InstrumentEstimate(Record):
    """The behaviour's effect on purchase with the variant as instrument (Wald ratio = 2SLS, one instrument)."""

    behaviour: str
    sessions: int
    users: int
    first_stage: float  # the variant's effect on the behaviour
    first_stage_se: float
    first_stage_f: float  # robust (clustered by user): the squared t of the first stage
    first_stage_f_nonrobust: float
    reduced_form: float  # the variant's effect on purchase
    reduced_form_se: float
    effect: float  # purchase probability per unit of the behaviour
    effect_se: float
    effect_lo: float
    effect_hi: float
    p_value: float
    effect_se_nonrobust: float
    strong: bool  # first-stage F at least STRONG_F


@dataclass
class PeriodLift(Record):
    """The primary metric's difference within one day or week of the test."""

    period: str  # first day of the period, YYYY-MM-DD
    index: int
    users_control: int
    users_treatment: int
    control: float
    treatment: float
    diff: float
    diff_lo: float
    diff_hi: float
    rel: float
    rel_lo: float
    rel_hi: float


@dataclass
class ReadoutResult(Record):
    """The experiment's read-out: decision with its rules, SRM, primary (and CUPED), guardrails, mechanism, time."""

    decision: str
    rules: dict[str, bool | None]
    alpha: float
    control: str
    treatment: str
    srm: SampleRatio
    primary: Estimate
    plan_hash: str | None = None
    cuped: Cuped | None = None
    decided_on: str = "unadjusted"  # or 'cuped'
    exposed: Estimate | None = None  # the primary metric from each user's exposure on (secondary)
    secondary: list[Estimate] = field(default_factory=list)
    guardrails: list[GuardrailCheck] = field(default_factory=list)
    mechanism: list[Estimate] = field(default_factory=list)
    instrument: InstrumentEstimate | None = None
    period: str | None = None  # 'day' or 'week'
    over_time: list[PeriodLift] = field(default_factory=list)
    users_per_arm: list[int] = field(default_factory=list)  # control, treatment
    sessions_per_arm: list[int] = field(default_factory=list)
    planned_users_per_arm: int | None = None
    planned_sessions_per_arm: int | None = None
    achieved_power: float | None = None  # power to detect the plan's relative MDE with the SE achieved
    planned_relative_lift: float | None = None  # the plan's relative MDE that power refers to
    pre_period_sessions: int = 0
    dropped_sessions: int = 0  # sessions without a variant, or of users never exposed
    missing: list[str] = field(default_factory=list)
    users: pd.DataFrame | None = results.memory()


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def ratio_moments(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """A ratio of sums over users and its delta-method variance: sum((Y - R N)^2) G / ((G - 1) (sum N)^2)."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    g, total = num.size, den.sum()
    if g < 2 or total <= 0:
        return float("nan"), float("nan")
    r = num.sum() / total
    return float(r), float(np.sum((num - r * den) ** 2) * g / ((g - 1) * total**2))


def _wald(diff: float, se: float, z: float) -> tuple[float, float, float]:
    p = 2 * float(normal_sf(abs(diff) / se)) if se > 0 else float(diff == 0)
    return diff - z * se, diff + z * se, p


def fieller(num: float, den: float, v_num: float, v_den: float, cov: float, z: float) -> tuple[float, float]:
    """Fieller's interval of the ratio num / den: the ratios R whose linear contrast num - R den is not rejected,
    |num - R den| <= z sqrt(v_num - 2 R cov + R^2 v_den). It excludes a ratio exactly when the Wald test of
    that contrast rejects, so a relative lift's CI excludes 0 exactly when the difference's Wald test rejects.
    Unbounded, (-inf, inf), when the denominator is not itself clear of zero (den^2 <= z^2 v_den).
    """
    a = den**2 - z**2 * v_den
    if a <= 0:
        return float("-inf"), float("inf")
    b = num * den - z**2 * cov
    c = num**2 - z**2 * v_num
    root = math.sqrt(max(b**2 - a * c, 0.0))
    return (b - root) / a, (b + root) / a


def score_test(x1: int, n1: int, x0: int, n0: int) -> float:
    """Two-sided p of the score test of equal proportions (Miettinen-Nurminen variance, correction N / (N - 1))."""
    n, p = n1 + n0, (x1 + x0) / (n1 + n0)
    var = p * (1 - p) * (1 / n1 + 1 / n0) * n / (n - 1)
    d = x1 / n1 - x0 / n0
    return 2 * float(normal_sf(abs(d) / math.sqrt(var))) if var > 0 else float(d == 0)


def restricted_p0(x1: int, n1: int, x0: int, n0: int, delta: np.ndarray) -> np.ndarray:
    """The maximum-likelihood control proportion given p1 - p0 = ``delta`` (Miettinen and Nurminen's cubic)."""
    delta = np.asarray(delta, float)
    n, c = n1 + n0, x1 + x0
    l3 = n
    l2 = (n1 + 2 * n0) * delta - n - c
    l1 = (n0 * delta - n - 2 * x0) * delta + c
    l0 = x0 * delta * (1 - delta)
    q = (l2 / (3 * l3)) ** 3 - l1 * l2 / (6 * l3**2) + l0 / (2 * l3)
    with np.errstate(invalid="ignore", divide="ignore"):
        pp = np.sign(q) * np.sqrt(np.maximum((l2 / (3 * l3)) ** 2 - l1 / (3 * l3), 0.0))
        a = (np.pi + np.arccos(np.clip(q / pp**3, -1.0, 1.0))) / 3
        p0 = 2 * pp * np.cos(a) - l2 / (3 * l3)
    return np.where(delta == 0, c / n, p0)


def score_interval(x1: int, n1: int, x0: int, n0: int, alpha: float) -> tuple[float, float]:
    """The Miettinen-Nurminen score CI of p1 - p0: the differences the score test does not reject (bisection)."""
    z = float(normal_ppf(1 - alpha / 2))
    d, n = x1 / n1 - x0 / n0, n1 + n0

    def stat(delta):
        p0 = np.clip(restricted_p0(x1, n1, x0, n0, delta), 0.0, 1.0)
        p1 = np.clip(p0 + delta, 0.0, 1.0)
        var = (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) * n / (n - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (d - delta) / np.sqrt(var)

    lo, hi = np.array([-1.0 + 1e-12, d]), np.array([d, 1.0 - 1e-12])
    target = np.array([z, -z])
    for _ in range(100):  # stat falls with delta: the lower bound where it is z, the upper where it is -z
        mid = 0.5 * (lo + hi)
        above = stat(mid) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    bounds = 0.5 * (lo + hi)
    return float(bounds[0]), float(bounds[1])


def ols(y, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares: coefficients, HC1 covariance and nonrobust covariance."""
    y, x = np.asarray(y, float), np.asarray(x, float)
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    e = y - x @ beta
    n, k = x.shape
    score = x * e[:, None]
    robust = bread @ (score.T @ score) @ bread * n / (n - k)
    nonrobust = bread * float(e @ e / (n - k))
    return beta, robust, nonrobust


def two_stage(y, d, z, groups) -> dict:
    """2SLS of ``y`` on ``d`` with instrument ``z`` (one each, with intercepts): coefficients and covariances.

    Returns the coefficients (intercept, effect of ``d``), their covariance clustered by ``groups``
    (CR1: G / (G - 1)) and nonrobust (residual variance on n - 2 degrees of freedom, as statsmodels'
    IV2SLS), and the number of users.
    """
    y, d, z = (np.asarray(a, float) for a in (y, d, z))
    n = y.size
    zm = np.column_stack([np.ones(n), z])
    xm = np.column_stack([np.ones(n), d])
    bread = np.linalg.inv(zm.T @ xm)
    beta = bread @ (zm.T @ y)
    e = y - xm @ beta
    totals = np.column_stack([np.bincount(groups, weights=zm[:, j] * e) for j in range(2)])
    g = totals.shape[0]
    clustered = bread @ (totals.T @ totals) @ bread.T * g / (g - 1)
    xhat = zm @ np.linalg.solve(zm.T @ zm, zm.T @ xm)
    nonrobust = np.linalg.inv(xhat.T @ xhat) * float(e @ e / (n - 2))
    return {"beta": beta, "cov": clustered, "cov_nonrobust": nonrobust, "users": g}


def clustered_diff(values, treated, groups) -> tuple[float, float, float]:
    """Difference of means (treated minus control) by session, its SE clustered by user (CR1), the nonrobust F."""
    x = np.column_stack([np.ones(values.size), treated.astype(float)])
    beta, _, nonrobust = ols(values, x)
    bread = np.linalg.inv(x.T @ x)
    e = values - x @ beta
    totals = np.column_stack([np.bincount(groups, weights=x[:, j] * e) for j in range(2)])
    g = totals.shape[0]
    cov = bread @ (totals.T @ totals) @ bread * g / (g - 1)
    return float(beta[1]), math.sqrt(cov[1, 1]), float(beta[1] ** 2 / nonrobust[1, 1])


# --------------------------------------------------------------------------------------------
# The parts of the read-out
# --------------------------------------------------------------------------------------------


def sample_ratio(
    counts: dict[str, int], split: dict[str, float] | None, stop: float = SRM_STOP, warn: float = SRM_WARN
):
    """Chi-square test of users per variant against ``split`` (equal shares when None)."""
    names = sorted(set(counts) | set(split or {}))
    observed = np.array([counts.get(v, 0) for v in names], float)
    share = np.array([(split or {}).get(v, 0.0) for v in names], float) if split else np.ones(len(names))
    share = share / share.sum()
    expected = observed.sum() * share
    with np.errstate(divide="ignore", invalid="ignore"):
        cells = np.where(expected > 0, (observed - expected) ** 2 / expected, np.where(observed > 0, np.inf, 0.0))
    chi2, dof = float(cells.sum()), len(names) - 1
    p = float(chdtrc(dof, chi2)) if np.isfinite(chi2) else 0.0
    status = "stop" if p < stop else ("warn" if p < warn else "ok")
    return SampleRatio(
        names, [int(x) for x in observed], [float(s) for s in share], chi2, dof, p, status, split is not None
    )


def estimate(users: pd.DataFrame, metric: str, alpha: float) -> Estimate:
    """``metric`` in both arms of the per-user table ``users`` (column ``treated``), at user level."""
    kind, num, den = METRICS[metric]
    z = float(normal_ppf(1 - alpha / 2))
    treated = users["treated"].to_numpy(bool)
    values = users[num].to_numpy(float)
    if kind == "share":
        values = (values > 0).astype(float)
    sizes = users[den].to_numpy(float) if den else np.ones(values.size)
    arms = []
    for t in (False, True):
        y = values[treated == t]
        arms.append((*ratio_moments(y, sizes[treated == t]), y))
    (c, vc, y0), (t, vt, y1) = arms
    diff, se = t - c, math.sqrt(vc + vt)
    lo, hi, p = _wald(diff, se, z)
    method = "delta"
    if kind == "share":
        counts = (int(y1.sum()), y1.size, int(y0.sum()), y0.size)
        p, method = score_test(*counts), "score"
        lo, hi = score_interval(*counts, alpha)
    rel = t / c - 1 if c else float("nan")
    ratio_lo, ratio_hi = fieller(t, c, vt, vc, 0.0, z)  # treatment / control: the lift's CI is Fieller's minus 1
    return Estimate(
        metric, kind, method, 1 - alpha, c, t, math.sqrt(vc), math.sqrt(vt), diff, se, lo, hi,
        rel, ratio_lo - 1, ratio_hi - 1, p, int(y0.size), int(y1.size),
    )  # fmt: skip


def linearised(users: pd.DataFrame, metric: str, prefix: str = "", by_arm: bool = True) -> np.ndarray:
    """Each user's value of ``metric`` linearised (Deng et al. 2013): ``R + (Y - R N) / mean(N)``.

    ``R`` is the ratio of sums in the user's arm (``by_arm``) or overall, so the linearised values
    average exactly to each arm's ratio; a per-user mean or share is the user's own value.
    """
    kind, num, den = METRICS[metric]
    y = users[prefix + num].to_numpy(float)
    if kind == "share":
        y = (y > 0).astype(float)
    if den is None:
        return y
    n = users[prefix + den].to_numpy(float)
    arm = users["treated"].to_numpy(bool) if by_arm else np.zeros(len(users), bool)
    out = np.empty(y.size)
    for a in np.unique(arm):
        m = arm == a
        r, mean_n = y[m].sum() / n[m].sum(), n[m].mean()
        out[m] = r + (y[m] - r * n[m]) / mean_n
    return out


def cuped(users: pd.DataFrame, metric: str, alpha: float) -> Cuped | None:
    """CUPED: OLS of the user's metric on the variant and the centred pre-period value of the same metric (HC1).

    Both are linearised (``linearised``; the pre-period pooled over arms, as nothing was treated
    then). A user without pre-period sessions has the pre-period's own ratio for a ratio metric,
    and 0 for a per-user sum or share. The unadjusted difference of the same regression is the
    difference of the arms' ratios. Returns None with fewer than 10 users with a pre-period.
    """
    has_pre = users["pre_sessions"].to_numpy() > 0
    if has_pre.sum() < 10:
        return None
    y = linearised(users, metric)
    x = linearised(users, metric, "pre_", by_arm=False)
    x = x - x.mean()
    if np.allclose(x, 0):
        return None
    treated = users["treated"].to_numpy(float)
    base = np.column_stack([np.ones(y.size), treated])
    b1, cov1, _ = ols(y, base)
    b2, cov2, _ = ols(y, np.column_stack([base, x]))
    z = float(normal_ppf(1 - alpha / 2))
    se1, se2 = math.sqrt(cov1[1, 1]), math.sqrt(cov2[1, 1])
    lo, hi, p = _wald(float(b2[1]), se2, z)
    rel = float(b2[1] / b2[0])  # the lift over the adjusted control mean; its CI is Fieller's, b_T and b_0 correlated
    rel_lo, rel_hi = fieller(float(b2[1]), float(b2[0]), cov2[1, 1], cov2[0, 0], cov2[0, 1], z)
    ry, rx = y - base @ b1, x - base @ ols(x, base)[0]
    rho2 = float(np.sum(ry * rx) ** 2 / (np.sum(ry**2) * np.sum(rx**2)))
    return Cuped(
        metric, f"pre_{metric}", int(has_pre.sum()), float(has_pre.mean()), float(b2[2]),
        float(b2[0]), float(b2[0] + b2[1]), float(b2[1]), se2, lo, hi, rel, rel_lo, rel_hi, p,
        float(b1[1]), se1, float(b1[1]) - z * se1, float(b1[1]) + z * se1, 1 - se2**2 / se1**2, rho2,
    )  # fmt: skip


def guardrail(users: pd.DataFrame, rail: Guardrail, alpha: float) -> GuardrailCheck:
    """Non-inferiority of one guardrail at one-sided level ``alpha`` (as 06 sized it).

    The test of "treatment worse than control by the margin or more" is the Wald test of the contrast
    t - (1 + sign m) c (sign +1 when higher is worse), and the bound on the worse side is Fieller's
    one-sided (1 - alpha) bound of the relative change: it clears the margin exactly when p < alpha.
    """
    e = estimate(users, rail.metric, alpha)
    sign = 1 if rail.worse == "higher" else -1
    c, t, vc, vt = e.control, e.treatment, e.control_se**2, e.treatment_se**2
    lo, hi = fieller(t, c, vt, vc, 0.0, float(normal_ppf(1 - alpha)))
    bound = (hi if sign > 0 else lo) - 1
    edge = 1 + sign * rail.margin  # the ratio at the margin
    se = math.sqrt(vt + edge**2 * vc)
    p = float(normal_sf(sign * (edge * c - t) / se)) if se > 0 else float(sign * (t - edge * c) >= 0)
    passed = bool(sign * bound < rail.margin)
    return GuardrailCheck(rail.metric, rail.worse, rail.margin, e.rel, e.rel_lo, e.rel_hi, bound, p, passed)


def instrument(test: pd.DataFrame, behaviour: str, column: str, alpha: float) -> InstrumentEstimate:
    """2SLS (the Wald ratio) of purchase on ``log1p(column)`` with the variant as instrument, at session level."""
    d = np.log1p(test[column].astype(float).fillna(0.0).clip(lower=0).to_numpy())
    y = test["did_purchase"].to_numpy(float)
    treated = test["treated"].to_numpy(float)
    groups = pd.factorize(test["user_id"])[0]
    fit = two_stage(y, d, treated, groups)
    first, first_se, f_nonrobust = clustered_diff(d, treated, groups)
    reduced, reduced_se, _ = clustered_diff(y, treated, groups)
    effect, se = float(fit["beta"][1]), math.sqrt(fit["cov"][1, 1])
    lo, hi, p = _wald(effect, se, float(normal_ppf(1 - alpha / 2)))
    f = (first / first_se) ** 2
    return InstrumentEstimate(
        behaviour, int(y.size), fit["users"], first, first_se, f, f_nonrobust, reduced, reduced_se,
        effect, se, lo, hi, p, math.sqrt(fit["cov_nonrobust"][1, 1]), bool(f >= STRONG_F),
    )  # fmt: skip


def over_time(test: pd.DataFrame, metric: str, alpha: float, period: str, start) -> list[PeriodLift]:
    """The primary metric's difference per day or week since ``start``, users' sessions within each period."""
    step = 7 if period == "week" else 1
    index = (((test["started_at"] - start) // pd.Timedelta(days=1)) // step).to_numpy()
    user = pd.factorize(test["user_id"])[0]
    treated = test["treated"].to_numpy(bool)
    arrays = session_sums(test)
    out = []
    for i in np.unique(index):
        keep = index == i
        codes, uniques = pd.factorize(user[keep])
        arm = np.zeros(uniques.size, bool)
        arm[codes] = treated[keep]
        if arm.all() or not arm.any() or min(arm.sum(), (~arm).sum()) < 2:
            continue
        sums = user_sums(codes, uniques.size, {k: None if v is None else v[keep] for k, v in arrays.items()})
        e = estimate(pd.DataFrame({"treated": arm} | sums), metric, alpha)
        first = (start + pd.Timedelta(days=int(i) * step)).strftime("%Y-%m-%d")
        out.append(
            PeriodLift(
                first,
                int(i),
                e.users_control,
                e.users_treatment,
                e.control,
                e.treatment,
                e.diff,
                e.diff_lo,
                e.diff_hi,
                e.rel,
                e.rel_lo,
                e.rel_hi,
            )  # fmt: skip
        )
    return out


def per_user(test: pd.DataFrame, pre: pd.DataFrame | None) -> pd.DataFrame:
    """One row per user of the test: the arm, the sums every metric reads, and the same sums in the pre-period.

    A sum whose session column is absent stays empty (NaN), so the metrics that need it are not estimated.
    """
    codes, ids = pd.factorize(test["user_id"], sort=True)
    treated = np.zeros(ids.size, bool)
    treated[codes] = test["treated"].to_numpy(bool)
    columns = {"user_id": ids, "treated": treated} | user_sums(codes, ids.size, session_sums(test))
    if pre is not None:
        pre_codes = ids.get_indexer(pd.Index(pre["user_id"]))
        keep = pre_codes >= 0
        arrays = {k: None if v is None else v[keep] for k, v in session_sums(pre).items()}
        sums = user_sums(pre_codes[keep], ids.size, arrays)
        columns |= {f"pre_{k}": np.nan_to_num(v, nan=0.0) for k, v in sums.items()}
    else:
        columns["pre_sessions"] = np.zeros(ids.size)
    return pd.DataFrame(columns)


def session_sums(sessions: pd.DataFrame) -> dict[str, np.ndarray | None]:
    """Each session's value of every per-user sum (``SUMS``; None where its column is absent)."""
    return {
        name: sessions[column].astype(float).fillna(0.0).to_numpy() if column in sessions else None
        for name, column in SUMS.items()
        if column is not None
    }


def user_sums(codes: np.ndarray, users: int, arrays: dict[str, np.ndarray | None]) -> dict[str, np.ndarray]:
    """The per-user sums of the sessions' values ``arrays`` (``session_sums``), users numbered by ``codes``."""
    out = {"sessions": np.bincount(codes, minlength=users).astype(float)}
    for name, values in arrays.items():
        out[name] = np.full(users, np.nan) if values is None else np.bincount(codes, weights=values, minlength=users)
    out["browsing_minutes"] = out["browsing_seconds"] / 60.0
    return out


# --------------------------------------------------------------------------------------------
# The one call
# --------------------------------------------------------------------------------------------


REQUIRED = ("user_id", "variant", "did_purchase")


def split_periods(sessions: pd.DataFrame, plan: Plan | None) -> tuple[pd.DataFrame, pd.DataFrame | None, int]:
    """The test's sessions and the pre-period's (None without one); sessions dropped (no variant, never exposed).

    With the plan's start date the test is every session of an assigned user from that day on
    (intention to treat) and the pre-period every session before; without it, a user's sessions
    from the first exposure on, and before it. Without either, every session is the test's.
    """
    for column in REQUIRED:
        if column not in sessions:
            raise DataContractError(
                "sessions", column, "is required for an experiment read-out", list(sessions.columns)
            )
    known = sessions[sessions["variant"].notna()]
    dropped = len(sessions) - len(known)
    if "started_at" not in known:
        return known, None, dropped
    started = pd.to_datetime(known["started_at"])
    if plan is not None and plan.start_date:
        is_pre = started < pd.Timestamp(plan.start_date)
        in_test = ~is_pre
    elif "exposed_at" in known:
        exposed = pd.to_datetime(known["exposed_at"])
        is_pre, in_test = started < exposed, started >= exposed
    else:
        return known, None, dropped
    test = known[in_test.to_numpy()]
    pre = known[is_pre.to_numpy() & known["user_id"].isin(test["user_id"]).to_numpy()]
    dropped += len(known) - len(test) - len(pre)
    return test, (pre if len(pre) else None), dropped


def exposed_only(test: pd.DataFrame, metric: str, alpha: float) -> Estimate | None:
    """The primary metric on sessions from each user's exposure on (secondary to intention to treat).

    None when the data carry no exposure or when it changes nothing (every test session is exposed).
    """
    if "exposed_at" not in test or "started_at" not in test:
        return None
    keep = (pd.to_datetime(test["started_at"]) >= pd.to_datetime(test["exposed_at"])).to_numpy()
    if keep.all() or not keep.any():
        return None
    users = per_user(test[keep], None)
    if users["treated"].value_counts().reindex([False, True], fill_value=0).min() < 2:
        return None
    return estimate(users, metric, alpha)


def arms(test: pd.DataFrame, plan: Plan | None) -> tuple[str, str]:
    """The control and treatment names: exactly two variants, control as planned (or 'control', or the first)."""
    names = sorted(test["variant"].astype(str).unique())
    if len(names) != 2:
        raise DataContractError("sessions", "variant", "must hold exactly two variants for a read-out", names)
    control = (
        plan.control if plan is not None and plan.control in names else ("control" if "control" in names else names[0])
    )
    return control, next(n for n in names if n != control)


def available(users: pd.DataFrame, metric: str) -> bool:
    """Whether the per-user table carries what ``metric`` needs (prices for revenue, timing for behaviour)."""
    _, num, den = METRICS[metric]
    return bool(users[num].notna().all() and (den is None or users[den].notna().all()))


def analyse(sessions: pd.DataFrame, plan: Plan | None, settings: Settings | None = None) -> ReadoutResult:
    """The read-out of the experiment in ``sessions`` against ``plan`` (None: exploratory, no decision)."""
    s = settings or Settings()
    alpha = plan.alpha if plan is not None else s.alpha
    test, pre, dropped = split_periods(sessions, plan)
    control, treatment = arms(test, plan)
    test = test.assign(variant=test["variant"].astype(str), treated=test["variant"].astype(str) == treatment)
    users = per_user(test, pre)
    counts = users.groupby(np.where(users["treated"], treatment, control)).size().to_dict()
    srm = sample_ratio(counts, plan.split if plan is not None else None, s.srm_stop, s.srm_warn)

    missing = [] if plan is not None else ["no_plan"]
    if "started_at" not in test:
        missing.append("no_dates")
    if pre is None:
        missing.append("no_pre_period")
    if "amount_usd" not in test or not (test["amount_usd"].fillna(0) > 0).any():
        missing.append("no_prices")
        users["revenue"] = np.nan
    if "pre_conversion_seconds" not in test:
        missing.append("no_timing")

    primary_metric = plan.primary if plan is not None else "session_conversion"
    primary = estimate(users, primary_metric, alpha)
    adjusted = cuped(users, primary_metric, alpha) if pre is not None else None
    exposed = exposed_only(test, primary_metric, alpha)
    lever = plan.lever if plan is not None else "interaction_density"
    targets, (behaviour, column) = LEVERS.get(lever, ((), (None, None)))
    secondary = [estimate(users, m, alpha) for m in SECONDARY if m != primary_metric and available(users, m)]
    mechanism = [estimate(users, m, alpha) for m in targets if available(users, m)]
    family = secondary + mechanism
    for e, p in zip(family, holm([e.p_value for e in family])):
        e.p_holm = float(p)
    rails = [guardrail(users, g, alpha) for g in (plan.guardrails if plan else []) if available(users, g.metric)]
    iv = instrument(test, behaviour, column, alpha) if behaviour and column in test else None
    period, timeline = None, []
    if "started_at" in test:
        start = pd.Timestamp(plan.start_date) if plan is not None and plan.start_date else None
        start = (start or pd.to_datetime(test["started_at"]).min()).normalize()
        span = (pd.to_datetime(test["started_at"]).max() - start).days + 1
        period = s.period if s.period != "auto" else ("day" if span <= 21 else "week")
        timeline = over_time(
            test.assign(started_at=pd.to_datetime(test["started_at"])), primary_metric, alpha, period, start
        )

    decided_on = "cuped" if adjusted is not None and (plan is None or plan.cuped) else "unadjusted"
    lo, hi = (adjusted.diff_lo, adjusted.diff_hi) if decided_on == "cuped" else (primary.diff_lo, primary.diff_hi)
    se = adjusted.diff_se if decided_on == "cuped" else primary.diff_se
    users_per_arm = [int(counts.get(control, 0)), int(counts.get(treatment, 0))]
    sessions_per_arm = [int((~test["treated"]).sum()), int(test["treated"].sum())]
    planned = plan.users_per_arm if plan is not None else None
    n_rails = len(plan.guardrails) if plan is not None else 0
    rules = {
        "no_srm_stop": srm.status != "stop",
        "primary_beyond_zero": bool(lo > 0),
        "primary_not_below_zero": bool(hi >= 0),
        "guardrails_within_margin": (all(r.passed for r in rails) and len(rails) == n_rails) if plan else None,
        "full_size": full_size(plan, users_per_arm, sessions_per_arm),
    }
    power = achieved_power(primary.control, se, plan.relative_mde, alpha) if plan and plan.relative_mde else None
    planned_lift = plan.relative_mde if plan is not None and plan.relative_mde else None
    return ReadoutResult(
        decision=decide(plan, rules, rails),
        rules=rules,
        alpha=alpha,
        control=control,
        treatment=treatment,
        srm=srm,
        primary=primary,
        plan_hash=plan.hash() if plan is not None else None,
        cuped=adjusted,
        decided_on=decided_on,
        exposed=exposed,
        secondary=secondary,
        guardrails=rails,
        mechanism=mechanism,
        instrument=iv,
        period=period,
        over_time=timeline,
        users_per_arm=users_per_arm,
        sessions_per_arm=sessions_per_arm,
        planned_users_per_arm=planned,
        planned_sessions_per_arm=plan.sessions_per_arm if plan is not None else None,
        achieved_power=power,
        planned_relative_lift=planned_lift,
        pre_period_sessions=0 if pre is None else len(pre),
        dropped_sessions=int(dropped),
        missing=missing,
        users=users,
    )


def full_size(plan: Plan | None, users: list[int], sessions: list[int]) -> bool | None:
    """Whether the test reached its planned size in total (users per arm, else sessions per arm, times two arms).

    The total, not each arm: an arm short by chance is the sample-ratio check's business.
    """
    if plan is None:
        return None
    if plan.users_per_arm:
        return bool(sum(users) >= 2 * plan.users_per_arm)
    if plan.sessions_per_arm:
        return bool(sum(sessions) >= 2 * plan.sessions_per_arm)
    return None


def achieved_power(baseline: float, se: float, relative_mde: float, alpha: float) -> float:
    """Two-sided power to detect ``relative_mde`` of ``baseline`` with the SE the test achieved."""
    z, effect = float(normal_ppf(1 - alpha / 2)), abs(relative_mde * baseline)
    if not se > 0:
        return float("nan")
    return float(normal_cdf(effect / se - z) + normal_cdf(-effect / se - z))


def decide(plan: Plan | None, rules: dict, rails: list[GuardrailCheck]) -> str:
    """The plan's rule: ship when the primary clears zero, every guardrail its margin, and no SRM stop."""
    if plan is None:
        return "exploratory"
    if not rules["no_srm_stop"]:
        return "stopped_srm"
    if rules["primary_beyond_zero"] and rules["guardrails_within_margin"]:
        return "ship"
    clearly_worse = any((r.rel_lo if r.worse == "higher" else -r.rel_hi) >= r.margin for r in rails)
    if not rules["primary_not_below_zero"] or clearly_worse:
        return "no_ship"
    return "inconclusive" if rules["full_size"] is False else "no_ship"


# --------------------------------------------------------------------------------------------
# Validation: the read-out on simulated experiments whose truth is known
# --------------------------------------------------------------------------------------------


@dataclass
class ValidationRow(Record):
    """One check of the read-out over simulated experiments, tested against its target.

    ``test`` 'not_below': one-sided binomial test that the rate is below ``target`` (passes at
    p >= 0.05); 'equal': two-sided binomial test of ``target``; 'relative': the mean ``value``
    within ``RELATIVE_TOLERANCE`` of the mean ``reference`` (p of their paired difference beside it).
    """

    check: str
    runs: int
    hits: int
    rate: float
    target: float
    test: str
    p_value: float
    passed: bool
    value: float | None = None
    reference: float | None = None


RELATIVE_TOLERANCE = 0.10
VALIDATION_STREAM = 0x0E7A  # the simulated experiments' own seed stream (``experiment_seeds``)


def _binomial_row(check: str, hits: int, runs: int, target: float, test: str) -> ValidationRow:
    from scipy.stats import binomtest

    p = binomtest(hits, runs, target, alternative="less" if test == "not_below" else "two-sided").pvalue
    return ValidationRow(check, runs, hits, hits / runs, target, test, float(p), bool(p >= 0.05))


def srm_rates(users: int, share: float, replications: int, seed: int, split=None) -> int:
    """How many of ``replications`` assignments (``simulate_experiment.assign``) the SRM check stops."""
    from helpers.data.simulate_experiment import CONTROL, TREATMENT, assign

    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5A]))
    split = split or {CONTROL: 0.5, TREATMENT: 0.5}
    stops = 0
    for _ in range(replications):
        treated = int(assign(users, share, rng).sum())
        stops += sample_ratio({CONTROL: users - treated, TREATMENT: treated}, split).status == "stop"
    return stops


def experiment_seeds(seed: int, replications: int) -> np.ndarray:
    """Seeds of the simulated experiments (replications x 2: the lift's, the A/A's), from a stream of their own.

    Drawn from ``SeedSequence([seed, VALIDATION_STREAM])`` as 63-bit integers, so that no experiment
    shares the small seeds of the validation's worlds (whose users ``simulate.Users`` draws from the
    seed): the read-out's rows are replications independent of the rest of the validation.
    """
    state = np.random.SeedSequence([seed, VALIDATION_STREAM]).generate_state(2 * replications, np.uint64)
    return (state >> np.uint64(1)).astype(np.int64).reshape(replications, 2)


def readout_validation(
    replications: int = 200,
    users: int = 20_000,
    density_lift: float = 0.15,
    seed: int = 0,
    srm_replications: int = 2_000,
    alarm_replications: int = 20_000,
) -> list[ValidationRow]:
    """Lift, CUPED and IV coverage, CUPED's variance reduction, SRM detection and false alarms, the A/A rate."""
    from helpers.data.simulate_experiment import ExperimentDesign, simulate_experiment

    plan = Plan(users_per_arm=users // 2, start_date=ExperimentDesign.start_date)
    runs = {"lift": [], "cuped": [], "iv": [], "reduction": [], "rho2": [], "aa": []}
    seeds = experiment_seeds(seed, replications)
    for k in range(replications):
        for lift, run_seed in ((density_lift, seeds[k, 0]), (0.0, seeds[k, 1])):  # A/A: users and draws of its own
            design = ExperimentDesign(users=users, density_lift=lift, pre_period_days=14, seed=int(run_seed))
            data = simulate_experiment(design, raw=False)
            r = analyse(data.sessions, plan)
            truth = data.truth.conversion_diff
            if lift == 0.0:
                runs["aa"].append(r.primary.p_value < plan.alpha)
                continue
            runs["lift"].append(r.primary.diff_lo <= truth <= r.primary.diff_hi)
            runs["cuped"].append(r.cuped.diff_lo <= truth <= r.cuped.diff_hi)
            runs["iv"].append(r.instrument.effect_lo <= data.truth.behaviour_effect <= r.instrument.effect_hi)
            runs["reduction"].append(r.cuped.variance_reduction)
            runs["rho2"].append(r.cuped.rho_squared)
    n = replications
    rows = [
        _binomial_row("lift_ci_coverage", sum(runs["lift"]), n, 0.95, "not_below"),
        _binomial_row("cuped_ci_coverage", sum(runs["cuped"]), n, 0.95, "not_below"),
        _binomial_row("iv_ci_coverage", sum(runs["iv"]), n, 0.95, "not_below"),
        _binomial_row("aa_false_positive_rate", sum(runs["aa"]), n, plan.alpha, "equal"),
        _binomial_row(
            "srm_detected_52_48", srm_rates(20_000, 0.52, srm_replications, seed), srm_replications, 0.95, "not_below"
        ),  # fmt: skip
        _binomial_row(
            "srm_false_alarm_50_50",
            srm_rates(20_000, 0.5, alarm_replications, seed + 1),
            alarm_replications,
            SRM_STOP,
            "equal",
        ),  # fmt: skip
    ]
    reduction, rho2 = np.array(runs["reduction"]), np.array(runs["rho2"])
    gap = reduction - rho2
    p = 2 * float(normal_sf(abs(gap.mean()) / (gap.std(ddof=1) / math.sqrt(n)))) if n > 1 else float("nan")
    close = abs(reduction.mean() - rho2.mean()) <= RELATIVE_TOLERANCE * rho2.mean()
    rows.insert(
        2,
        ValidationRow(
            "cuped_variance_reduction",
            n,
            int(np.sum(np.abs(gap) <= RELATIVE_TOLERANCE * rho2)),
            float(reduction.mean()),
            float(rho2.mean()),
            "relative",
            p,
            bool(close),
            float(reduction.mean()),
            float(rho2.mean()),
        ),  # fmt: skip
    )
    return rows


def validation_table(rows: list[ValidationRow]) -> pd.DataFrame:
    """The validation rows as a frame (numbers only)."""
    return pd.DataFrame([r.to_json() for r in rows])


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Validate the experiment read-out on simulated experiments.")
    parser.add_argument("--validate", action="store_true", help="run the validation and print its table")
    parser.add_argument("--replications", type=int, default=200, help="simulated experiments per check")
    parser.add_argument("--users", type=int, default=20_000, help="users per simulated experiment")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.validate:
        parser.print_help()
        return 0
    rows = readout_validation(args.replications, args.users, seed=args.seed)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(validation_table(rows).to_string(index=False))
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())


# --------------------------------------------------------------------------------------------
# The plan and the data of a report's read-out (06)
# --------------------------------------------------------------------------------------------


@dataclass
class PlanSource(Record):
    """Where the read-out's plan came from: 'run' (the run that proposed the test), 'file', or 'none'."""

    kind: str = "none"
    name: str | None = None  # the run's name or the file's name
    hash: str | None = None  # the plan's fingerprint (``Plan.hash``) as recorded


# 06's guardrail codes -> the read-out's metric and the direction that is worse
PLAN_GUARDRAILS = {
    "session_duration": ("session_seconds", "higher"),
    "revenue_per_session": ("revenue_per_session", "lower"),
    "checkout_completion": ("buyer_share", "lower"),  # completion of the funnel: the share of users who buy
}
READ_COLUMNS = [
    "session_id",
    "user_id",
    "started_at",
    "variant",
    "exposed_at",
    "did_purchase",
    "amount_usd",
    "session_seconds",
    "pre_conversion_event_count",
    "pre_conversion_seconds",
    "pre_conversion_max_idle_seconds",
]
TIMING_COLUMNS = ("pre_conversion_event_count", "pre_conversion_seconds", "pre_conversion_max_idle_seconds")


def plan_from_strategy(strategy) -> Plan | None:
    """The plan 06 proposed (a ``StrategyResult``), as the read-out reads it; None when it proposed no test."""
    proposed = getattr(strategy, "plan", None)
    if proposed is None or proposed.lever not in LEVERS:
        return None
    rails = [
        Guardrail(
            PLAN_GUARDRAILS[g][0], float(proposed.margins.get(g, proposed.guardrail_margin)), PLAN_GUARDRAILS[g][1]
        )
        for g in proposed.guardrails
        if g in PLAN_GUARDRAILS
    ]
    split = getattr(proposed, "split", None) or {"control": 0.5, "treatment": 0.5}
    return Plan(
        lever=proposed.lever,
        primary=proposed.primary,
        guardrails=rails,
        alpha=float(strategy.alpha if strategy.alpha is not None else 0.05),
        power=float(strategy.power if strategy.power is not None else 0.8),
        relative_mde=strategy.relative_mde,
        users_per_arm=strategy.users_per_arm,
        sessions_per_arm=strategy.sample_size_per_arm,
        split=dict(split),
        control=next(iter(split)),
        start_date=getattr(proposed, "start_date", None),
    )


def load_plan(plan_run: str = "", plan_file: str = "") -> tuple[Plan | None, PlanSource]:
    """The plan of the test: from ``plan_file`` (a JSON ``Plan``), else the 06 result of run ``plan_run``.

    Raises ParameterError naming the parameter when the file or the run's result is missing, or when
    that run proposed no test (its plan collects more data).
    """
    from pathlib import Path

    from helpers import paths
    from helpers.errors import ParameterError

    if plan_file:
        path = Path(plan_file).expanduser()
        if not path.exists():
            raise ParameterError(f"parameter 'plan_file': file {path} does not exist")
        try:
            plan = Plan.from_json({**json.loads(path.read_text(encoding="utf-8"))})
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"parameter 'plan_file': {path.name} is not a plan ({exc})") from None
        plan.guardrails = [g if isinstance(g, Guardrail) else Guardrail(**g) for g in plan.guardrails]
        return plan, PlanSource("file", path.name, plan.hash())
    if not plan_run:
        return None, PlanSource()
    path = paths.data_root() / plan_run / "results" / "06_strategy.json"
    if not path.exists():
        raise ParameterError(f"parameter 'plan_run': run '{plan_run}' has no 06 result ({path}); run it first")
    strategy = results.typed("06_strategy", json.loads(path.read_text(encoding="utf-8")))
    plan = plan_from_strategy(strategy)
    if plan is None:
        raise ParameterError(
            f"parameter 'plan_run': run '{plan_run}' proposed no test of a lever (its plan collects data)"
        )
    return plan, PlanSource("run", plan_run, plan.hash())


def read_sessions(gold_dir, timed: bool = True) -> pd.DataFrame | None:
    """The gold table's sessions a read-out needs, None when the data carry no variant.

    ``timed`` False (a session table, such as a per-user export) leaves out the browsing columns,
    whose timing such data do not hold: no mechanism and no instrument then. An exposure column
    without a value is left out too (the whole test is then every session of an assigned user).
    """
    from helpers.data import gold

    sessions = gold.read_gold(gold_dir, columns=READ_COLUMNS)
    if not sessions["variant"].notna().any():
        return None
    drop = [] if timed else list(TIMING_COLUMNS)
    if not sessions["exposed_at"].notna().any():
        drop.append("exposed_at")
    return sessions.drop(columns=drop)


def aligned(plan: Plan, variants: list[str]) -> Plan:
    """``plan`` with its split's names put on the data's variants when they differ (control first, then the other)."""
    if set(plan.split) == set(variants) or len(plan.split) != 2 or len(variants) != 2:
        return plan
    from helpers.data.gold import control_name

    control = control_name(variants)
    other = next(v for v in variants if v != control)
    shares = [plan.split.get(plan.control, 0.5), next(s for k, s in plan.split.items() if k != plan.control)]
    import dataclasses

    return dataclasses.replace(plan, split={control: shares[0], other: shares[1]}, control=control)


def read_out(gold_dir, timed: bool, plan_run: str = "", plan_file: str = "", settings: Settings | None = None):
    """06's read-out: the test in the gold table against its plan; (None, None) when the data carry no variant.

    Returns the ``ReadoutResult`` (its ``plan_hash`` that of the plan as recorded) and the ``PlanSource``.
    """
    sessions = read_sessions(gold_dir, timed)
    if sessions is None:
        return None, None
    plan, source = load_plan(plan_run, plan_file)
    variants = sorted(sessions["variant"].dropna().astype(str).unique())
    result = analyse(sessions, aligned(plan, variants) if plan is not None else None, settings)
    result.plan_hash = source.hash
    return result, source
