"""The experiment: power with a design effect, simulated arms through the real pipeline, the analysis at user level.

Usage::

    from helpers.analysis import experiment
    deff = experiment.design_effect(gold)                     # sessions per user, ICC, design effect
    n = experiment.sample_size(0.025, 0.10, alpha=0.05, power=0.8, design_effect=deff.design_effect)
    arm = experiment.simulate_arm(config, n, seed=1, density_lift=0.15, folder=tmp, catalogue_seed=1)
    result = experiment.analyse(control, treatment, alpha=0.05, guardrail_margin=0.05)
    rate = experiment.aa_rate(config, 20_000, replications=200, alpha=0.05, seed=42)

Users are randomised, so each arm holds its own users and the sessions of one user are not
independent. Every variance is the delta method at user level: each session's influence on an
estimate is summed within its user and the squared user totals are added (factor G/(G-1), G
users); the arms' variances add. With one session per user this is the usual two-sample variance,
and the conversion difference then keeps the score method for its CI and p-value.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from helpers.analysis import results, stats
from helpers.data import simulate
from helpers.data.gold import build_gold, read_gold

ARM_COLUMNS = ["user_id", "did_purchase", "event_count", "amount_usd", "session_seconds"]
USER_LEVEL = "delta_user"  # the delta method at user level (each user's sessions summed)
DECISIONS = (
    "ship",
    "no_ship_conversion_fell",
    "no_ship_duration_guardrail",
    "no_ship_revenue_guardrail",
    "no_decision",
)


@dataclass
class Outcome(results.Record):
    """The pre-registered analysis of one experiment: conversion, secondaries, guardrail and decision."""

    control_sessions: int
    treatment_sessions: int
    control_rate: float
    treatment_rate: float
    diff: float
    diff_lo: float
    diff_hi: float
    p_value: float
    spend_diff: float
    spend_lo: float
    spend_hi: float
    epm_control: float
    epm_treatment: float
    epm_diff: float
    epm_lo: float
    epm_hi: float
    duration_rel: float
    duration_rel_hi: float
    guardrail_margin: float
    guardrail_ok: bool
    decision: str  # one of DECISIONS
    revenue_rel: float | None = None
    revenue_rel_hi: float | None = None
    duration_ok: bool | None = None
    revenue_ok: bool | None = None
    true_diff: float | None = None
    true_covered: bool | None = None
    aa_p_value: float | None = None
    method: str = "score"  # of the conversion difference's CI and p-value
    users_control: int | None = None
    users_treatment: int | None = None
    diff_se: float | None = None  # the conversion difference's SE as analysed
    diff_se_naive: float | None = None  # the same with every session independent
    revenue_rel_lo: float | None = None  # one-sided lower bound of revenue per session's relative change
    revenue_margin: float | None = None  # non-inferiority margin: revenue passes when its lower bound > -margin
    lever_effect: str = "measured"  # 'assumed' when the treatment's effect on the lever is an input of the simulator
    assumed_density_lift: float | None = None  # that input: relative rise in interactions per minute
    power_at_true_diff: float | None = None  # power of the conversion test at the true difference that follows


@dataclass
class DesignEffect(results.Record):
    """How much repeated users inflate the variance of conversion: 1 + (m - 1) ICC."""

    sessions: int
    users: int
    sessions_per_user: float  # the plain mean
    cluster_size: float  # m: the size-weighted mean sessions per user, sum(m_i^2) / sum(m_i)
    icc: float
    design_effect: float
    icc_buyers: int | None = None  # set when too few buyers to estimate the ICC: it is then taken as 0
    icc_upper: float | None = None  # one-sided 95 % upper bound of the ICC (F distribution): what sizing uses
    span_days: float | None = None  # days of data the cluster size was measured over
    planned_days: float | None = None  # days the planned experiment runs (whole weeks)
    cluster_size_planned: float | None = None  # m over the planned days (repeat visits scale with time)
    sessions_per_user_planned: float | None = None
    design_effect_planned: float | None = None  # 1 + (m_planned - 1) icc_upper: what the sample size uses


MIN_ICC_BUYERS = 30  # below this, an ICC of conversion is noise (three buyers gave 1.000)


@dataclass
class AARate(results.Record):
    """The false-positive rate of the conversion test over many simulated A/A replications."""

    replications: int
    sessions_per_arm: int
    alpha: float
    rejections: int
    rate: float
    lo: float
    hi: float
    method: str
    naive_rejections: int  # the same replications with every session treated as independent


def _anova(y: np.ndarray, groups: np.ndarray) -> tuple[float, float, float, int, int] | None:
    """One-way ANOVA of ``y`` within groups: mean squares between and within, the mean group size m0 for
    unequal sizes, the groups k and observations n; None with fewer than two groups or no residual df."""
    y = np.asarray(y, float)
    sizes = np.bincount(groups)
    sums = np.bincount(groups, weights=y)[sizes > 0]
    sizes = sizes[sizes > 0]
    n, k = y.size, sizes.size
    if k < 2 or n <= k:
        return None
    between = np.sum(sums**2 / sizes) - y.sum() ** 2 / n
    within = np.sum(y**2) - np.sum(sums**2 / sizes)
    m0 = (n - np.sum(sizes**2) / n) / (k - 1)
    return between / (k - 1), within / (n - k), m0, k, n


def icc_anova(y: np.ndarray, groups: np.ndarray) -> float:
    """Intraclass correlation of ``y`` within groups: the one-way ANOVA estimator for unequal group sizes, in [0, 1]."""
    anova = _anova(y, groups)
    if anova is None:
        return 0.0
    msb, msw, m0, _, _ = anova
    denominator = msb + (m0 - 1) * msw
    return float(np.clip((msb - msw) / denominator, 0.0, 1.0)) if denominator > 0 else 0.0


def icc_upper_bound(y: np.ndarray, groups: np.ndarray, level: float = 0.95) -> float:
    """One-sided upper confidence bound of the one-way ANOVA ICC (``icc_anova``), from the F distribution.

    With F = MSB / MSW on (k - 1, n - k) degrees of freedom and m0 the ANOVA's mean group size,
    F_U = F / F_(1 - level)(k - 1, n - k) and the bound is (F_U - 1) / (F_U + m0 - 1), in [0, 1]
    (Searle's interval, with m0 for unequal sizes). It stays above 0 when the point estimate is 0.
    """
    from scipy import stats as sps

    anova = _anova(y, groups)
    if anova is None or anova[1] <= 0:
        return 1.0
    msb, msw, m0, k, n = anova
    f_upper = (msb / msw) / float(sps.f.ppf(1 - level, k - 1, n - k))
    return float(np.clip((f_upper - 1) / (f_upper + m0 - 1), 0.0, 1.0))


def cluster_size_over(m: float, span_days: float | None, days: float | None) -> float:
    """The size-weighted sessions per user over ``days`` from ``m`` measured over ``span_days``.

    When each user's visits arrive at their own steady rate, sum(m_i^2) / sum(m_i) - 1 grows in
    proportion to the time observed (users with no visit add nothing to either sum), so
    m_days = 1 + (m - 1) days / span_days. Unchanged when either span is unknown or the data span less
    than a day (repeat visits over hours say little about weeks).
    """
    if not span_days or not days or span_days < 1:
        return float(m)
    return float(1 + (m - 1) * days / span_days)


MAX_PLANNED_DAYS = 730.0  # two years: no sizing looks further ahead


def planned_size(
    baseline: float,
    relative_mde: float,
    alpha: float,
    power: float,
    design: DesignEffect,
    span_days: float | None,
    sessions_per_day: float | None,
    max_iter: int = 20,
) -> tuple[int, DesignEffect]:
    """Sessions per arm with the design effect the planned experiment will have: the ICC's upper bound and the
    sessions per user over the planned duration (whole weeks), found together (the duration depends on
    the size, the size on the design effect, the design effect on the duration). Returns the size and
    ``design`` completed with the planned days, cluster size and design effect."""
    icc = design.icc if design.icc_upper is None else design.icc_upper
    days = span_days
    for _ in range(max_iter):
        m = cluster_size_over(design.cluster_size, span_days, days)
        deff = 1 + (m - 1) * icc
        n = sample_size(baseline, relative_mde, alpha, power, deff)
        if not sessions_per_day:
            break
        weeks_days = 7.0 * max(1, math.ceil(2 * n / sessions_per_day / 7))
        if weeks_days == days or (days is not None and days >= MAX_PLANNED_DAYS):
            break  # settled, or past any horizon a test can run: a size beyond it is no plan (needs: sample_rate)
        # With a high ICC each added week adds repeat visits faster than information, so the size can grow
        # without bound; the horizon keeps it finite and the runtime it implies then reads as too long.
        days = min(weeks_days, MAX_PLANNED_DAYS)
    planned = dataclasses.replace(
        design,
        span_days=span_days,
        planned_days=days,
        cluster_size_planned=m,
        sessions_per_user_planned=cluster_size_over(design.sessions_per_user, span_days, days),
        design_effect_planned=deff,
    )
    return n, planned


def design_effect(frame: pd.DataFrame, outcome: str = "did_purchase") -> DesignEffect:
    """Sessions per user, the ICC of ``outcome`` within users and the design effect 1 + (m - 1) ICC of ``frame``."""
    groups = stats.user_groups(frame)
    n = len(frame)
    if groups is None:
        return DesignEffect(n, n, 1.0, 1.0, 0.0, 1.0)
    sizes = np.bincount(groups)
    m = float(np.sum(sizes.astype(float) ** 2) / n)
    users = int(np.count_nonzero(sizes))
    y = frame[outcome].to_numpy(float)
    if y.sum() < MIN_ICC_BUYERS:
        return DesignEffect(n, users, n / users, m, 0.0, 1.0, int(y.sum()))
    icc = icc_anova(y, groups)
    return DesignEffect(n, users, n / users, m, icc, 1 + (m - 1) * icc, icc_upper=icc_upper_bound(y, groups))


def sample_size(baseline: float, relative_mde: float, alpha: float, power: float, design_effect: float = 1.0) -> int:
    """Sessions per arm to detect a relative lift in conversion (two-sided, Cohen's h), times the design effect."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    effect = proportion_effectsize(baseline * (1 + relative_mde), baseline)
    n = NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided")
    return int(math.ceil(n * design_effect))


def mde_table(
    baseline: float,
    alpha: float,
    power: float,
    sessions_per_day: float,
    deff: DesignEffect | None = None,
    mdes=(0.02, 0.05, 0.10, 0.15, 0.20, 0.30),
) -> pd.DataFrame:
    """Sessions and users per arm and days of traffic for a range of relative minimum detectable effects."""
    d = deff or DesignEffect(0, 0, 1.0, 1.0, 0.0, 1.0)
    n = np.array([sample_size(baseline, mde, alpha, power, d.design_effect) for mde in mdes])
    return pd.DataFrame(
        {
            "relative_mde": mdes,
            "sessions_per_arm": n,
            "users_per_arm": np.ceil(n / d.sessions_per_user).astype(int),
            "days": 2 * n / sessions_per_day,
        }
    )


def simulate_arm(
    config: simulate.SimConfig,
    n: int,
    seed: int,
    density_lift: float,
    folder: Path,
    catalogue_seed: int | None = None,
) -> pd.DataFrame:
    """One arm through the real pipeline: raw tables (on ``catalogue_seed``'s products), then the gold table."""
    cfg = dataclasses.replace(config, n_sessions=int(n), seed=int(seed), density_lift=float(density_lift))
    folder = Path(folder)
    intercept = untreated_intercept(config)
    simulate.simulate_to_parquet(cfg, folder / "raw", intercept=intercept, catalogue_seed=catalogue_seed)
    build_gold(folder / "raw", folder / "gold")
    return read_gold(folder / "gold", columns=ARM_COLUMNS)


def true_conversion(config: simulate.SimConfig, density_lift: float, n: int = 400_000) -> float:
    """Expected conversion under the simulator's own probabilities, for a large population."""
    cfg = dataclasses.replace(config, density_lift=density_lift)
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0x7E57]))
    b = purchase_inputs(cfg, n, rng)
    return float(simulate.purchase_probability(cfg, untreated_intercept(config), b).mean())


def untreated_intercept(config: simulate.SimConfig) -> float:
    """The purchase intercept calibrated on ``config``'s untreated world (``simulate.calibrate_intercept``).

    Every arm, the true conversions and the A/A replications of one config share it, so it is
    calibrated once per config and process.
    """
    return _calibrated(dataclasses.replace(config, density_lift=0.0))


@functools.lru_cache(maxsize=8)
def _calibrated(config: simulate.SimConfig) -> float:
    return simulate.calibrate_intercept(config)


def purchase_inputs(cfg: simulate.SimConfig, n: int, rng: np.random.Generator, traits=None) -> dict[str, np.ndarray]:
    """What ``simulate.purchase_probability`` reads of ``simulate.browse(cfg, n, rng, traits)``, from the same draws.

    When time before checkout has no effect (``time_effect == 0``, so its seconds enter the purchase
    model times zero and are given as 0) the events before checkout are neither laid out nor drawn,
    which is most of ``browse``'s work (``rng`` is then left elsewhere than ``browse`` leaves it). The
    A/A replications and the true conversion rest on this.
    """
    if cfg.time_effect != 0:
        return simulate.browse(cfg, n, rng, traits)
    user = [None] * 3 if traits is None else traits
    share = cfg.user_trait_share
    device = rng.choice(len(simulate.DEVICES), size=n, p=simulate.DEVICE_SHARE)
    source = rng.choice(len(simulate.SOURCES), size=n, p=simulate.SOURCE_SHARE)
    intent = (
        simulate._own(rng, n, share, user[0])
        + np.take(simulate.SOURCE_INTENT, source)
        + np.take(simulate.DEVICE_INTENT, device)
    )
    browse = cfg.style_browse_effect * simulate._own(rng, n, share, user[2])
    rng.standard_normal(n)  # pace
    k_pre = 1 + rng.poisson(np.exp(0.05 + 0.8 * intent + browse) * (1.0 + cfg.density_lift))
    return {"device": device, "source": source, "k_pre": k_pre, "t_pre": np.zeros(n)}


# --------------------------------------------------------------------------------------------
# The analysis: every variance at user level
# --------------------------------------------------------------------------------------------


def cluster_variance(influence: np.ndarray, groups: np.ndarray | None) -> float:
    """Variance of an estimate from its rows' influence values summed within users (CR1); each row alone when None."""
    influence = np.asarray(influence, float)
    if groups is None:
        totals, g = influence, influence.size
    else:
        totals, g = np.bincount(groups, weights=influence), int(np.count_nonzero(np.bincount(groups)))
    return float(g / max(g - 1, 1) * np.sum(totals**2))


def mean_diff(a: np.ndarray, a_groups, b: np.ndarray, b_groups) -> tuple[float, float]:
    """Difference of means ``b - a`` and its SE; each arm holds its own users, so their variances add."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    var = cluster_variance((a - a.mean()) / a.size, a_groups) + cluster_variance((b - b.mean()) / b.size, b_groups)
    return float(b.mean() - a.mean()), math.sqrt(var)


def conversion_diff(y0: np.ndarray, g0, y1: np.ndarray, g1, alpha: float) -> dict:
    """The conversion difference ``y1 - y0`` with its CI and p-value from one method: the score method when
    sessions are independent, the delta method at user level (Wald) when users repeat."""
    diff, se = mean_diff(y0, g0, y1, g1)
    out = {"diff": diff, "diff_se": se, "diff_se_naive": mean_diff(y0, None, y1, None)[1]}
    if g0 is None and g1 is None:
        from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

        counts = (int(y1.sum()), y1.size, int(y0.sum()), y0.size)
        lo, hi = confint_proportions_2indep(*counts, method="score", compare="diff", alpha=alpha)
        p = test_proportions_2indep(*counts, method="score", compare="diff").pvalue
        return out | {"diff_lo": float(lo), "diff_hi": float(hi), "p_value": float(p), "method": "score"}
    half = stats.normal_ppf(1 - alpha / 2) * se
    p = 2 * stats.normal_sf(abs(diff) / se) if se > 0 else float(diff == 0)
    return out | {"diff_lo": diff - half, "diff_hi": diff + half, "p_value": float(p), "method": USER_LEVEL}


def _ratio(events: np.ndarray, seconds: np.ndarray, groups) -> tuple[float, float]:
    """Events per minute as a ratio of sums, with its delta-method variance at user level."""
    minutes = seconds / 60.0
    r = events.sum() / minutes.sum()
    return float(r), cluster_variance((events - r * minutes) / minutes.sum(), groups)


def _arm(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(float)


def analyse(
    control: pd.DataFrame,
    treatment: pd.DataFrame,
    alpha: float,
    guardrail_margin: float,
    revenue_margin: float | None = None,
) -> Outcome:
    """The pre-registered analysis: conversion difference with CI and test, secondaries, guardrails, decision.

    When a user has several sessions every variance is taken at user level (see the module); the
    conversion difference's CI and p-value always come from the same method. Each guardrail is a
    non-inferiority test at its own margin: session duration ``guardrail_margin``, revenue per
    session ``revenue_margin`` (``guardrail_margin`` when not given).
    """
    z = stats.normal_ppf(1 - alpha / 2)
    g0, g1 = stats.user_groups(control), stats.user_groups(treatment)
    y0, y1 = _arm(control, "did_purchase"), _arm(treatment, "did_purchase")
    out = conversion_diff(y0, g0, y1, g1, alpha)
    out |= {
        "control_sessions": y0.size,
        "treatment_sessions": y1.size,
        "control_rate": float(y0.mean()),
        "treatment_rate": float(y1.mean()),
        "users_control": stats.clustering(control).users,
        "users_treatment": stats.clustering(treatment).users,
    }
    d, se = mean_diff(_arm(control, "amount_usd"), g0, _arm(treatment, "amount_usd"), g1)
    out |= {"spend_diff": d, "spend_lo": d - z * se, "spend_hi": d + z * se}
    (r0, v0), (r1, v1) = (
        _ratio(_arm(a, "event_count"), _arm(a, "session_seconds"), g) for a, g in ((control, g0), (treatment, g1))
    )
    half = z * math.sqrt(v0 + v1)
    out |= {
        "epm_control": r0,
        "epm_treatment": r1,
        "epm_diff": r1 - r0,
        "epm_lo": r1 - r0 - half,
        "epm_hi": r1 - r0 + half,
    }
    revenue_margin = guardrail_margin if revenue_margin is None else revenue_margin
    out |= _guardrails(control, g0, treatment, g1, stats.normal_ppf(1 - alpha), guardrail_margin, revenue_margin)
    out["decision"] = decide(out, out["diff_lo"], out["diff_hi"])
    return Outcome(**out)


def _guardrails(control, g0, treatment, g1, z: float, margin: float, revenue_margin: float) -> dict:
    """Both guardrails as non-inferiority tests, each passing only when its one-sided bound clears its margin:
    session duration (upper bound below +``margin``) and revenue per session (lower bound above
    -``revenue_margin``). Not detecting a change is not a pass."""
    dur, dur_hi = _relative_change(_arm(control, "session_seconds"), g0, _arm(treatment, "session_seconds"), g1, z)
    rev, rev_hi = _relative_change(_arm(control, "amount_usd"), g0, _arm(treatment, "amount_usd"), g1, z)
    rev_lo = 2 * rev - rev_hi  # the bound is symmetric: rel +- z se
    out = {"duration_rel": dur, "duration_rel_hi": dur_hi, "revenue_rel": rev, "revenue_rel_hi": rev_hi}
    out |= {"revenue_rel_lo": rev_lo, "guardrail_margin": margin, "revenue_margin": revenue_margin}
    out |= {"duration_ok": bool(dur_hi < margin), "revenue_ok": bool(rev_lo > -revenue_margin)}
    out["guardrail_ok"] = out["duration_ok"] and out["revenue_ok"]
    return out


def noninferiority_power(se: float, margin: float, alpha: float, true_change: float = 0.0) -> float:
    """Power of a one-sided non-inferiority test at level ``alpha`` against ``margin``, for a relative change
    estimated with standard error ``se`` whose true value is ``true_change`` (toward harm when negative)."""
    if not se or not np.isfinite(se) or se <= 0:
        return float("nan")
    return float(stats.normal_cdf((margin + true_change) / se - stats.normal_ppf(1 - alpha)))


def noninferiority_sessions(cv: float, margin: float, alpha: float, power: float, design_effect: float = 1.0) -> int:
    """Sessions per arm for a non-inferiority test of a mean's relative change (no true change) at ``margin``.

    The relative change of two arms' means has variance about 2 cv^2 / n (cv: the per-session
    coefficient of variation), times the design effect of repeated users.
    """
    z = stats.normal_ppf(1 - alpha) + stats.normal_ppf(power)
    return int(math.ceil(2 * (z * cv / margin) ** 2 * design_effect))


GUARDRAIL_COLUMNS = {"session_duration": "session_seconds", "revenue_per_session": "amount_usd"}


def guardrail_plan(
    sessions: pd.DataFrame,
    n_arm: int | None,
    margins: dict[str, float],
    alpha: float,
    power: float,
    design_effect: float = 1.0,
) -> dict[str, dict[str, float]]:
    """Each guardrail's margin, the sessions per arm its non-inferiority test needs at ``power``, and its power at
    the planned ``n_arm`` (no true change), from the per-session spread of its metric in ``sessions``."""
    out = {}
    for code, margin in margins.items():
        column = GUARDRAIL_COLUMNS.get(code)
        if column is None or column not in sessions or not margin:
            continue
        values = sessions[column].to_numpy(float)
        mean = float(np.nanmean(values)) if values.size else 0.0
        if mean <= 0:
            continue
        cv = float(np.nanstd(values, ddof=1)) / mean
        row = {
            "margin": float(margin),
            "cv": cv,
            "sessions_per_arm": noninferiority_sessions(cv, margin, alpha, power, design_effect),
        }
        if n_arm:
            row["power_at_plan"] = noninferiority_power(cv * math.sqrt(2 * design_effect / n_arm), margin, alpha)
        out[code] = row
    return out


def conversion_power(baseline: float, diff: float, n_arm: int, alpha: float, design_effect: float = 1.0) -> float:
    """Power of the two-sided conversion test at level ``alpha`` for a true difference ``diff`` from ``baseline``,
    ``n_arm`` sessions per arm (normal approximation, variance times the design effect)."""
    p1 = min(max(baseline + diff, 0.0), 1.0)
    se = math.sqrt((baseline * (1 - baseline) + p1 * (1 - p1)) / n_arm * design_effect)
    if se <= 0:
        return float("nan")
    z = stats.normal_ppf(1 - alpha / 2)
    return float(stats.normal_cdf(abs(diff) / se - z) + stats.normal_cdf(-abs(diff) / se - z))


def _relative_change(a: np.ndarray, a_groups, b: np.ndarray, b_groups, z: float) -> tuple[float, float]:
    """Relative change of the treatment mean against the control mean, and a one-sided bound at ``z``.

    The delta method carries the uncertainty of both means, at user level: the influence of a
    treatment session is (y - t) / (n_t c), of a control session -t (y - c) / (n_c c^2).
    """
    c, t = a.mean(), b.mean()
    if c == 0:
        return float("nan"), float("nan")
    var = cluster_variance((b - t) / (b.size * c), b_groups) + cluster_variance(t * (a - c) / (a.size * c**2), a_groups)
    rel = t / c - 1
    return float(rel), float(rel + z * math.sqrt(var))


def decide(out: dict, lo: float, hi: float) -> str:
    """The pre-registered decision as a code (``DECISIONS``), following the numbers and the guardrails' margin."""
    if hi < 0:
        return "no_ship_conversion_fell"
    if not out["duration_ok"]:
        return "no_ship_duration_guardrail"
    if not out["revenue_ok"]:
        return "no_ship_revenue_guardrail"
    if lo > 0:
        return "ship"
    return "no_decision"


def run_simulated(
    config: simulate.SimConfig,
    n_arm: int,
    seed: int,
    density_lift: float,
    alpha: float,
    guardrail_margin: float,
    folder: Path,
    revenue_margin: float | None = None,
) -> tuple[Outcome, Outcome]:
    """Control, treatment and a second control through the real pipeline; the experiment and a pipeline A/A check.

    The arms draw their users, sessions and purchases from seeds ``seed + 1``, ``seed + 2`` and
    ``seed + 3`` and share the control's product catalogue; the outcome carries the simulator's
    true difference and whether its CI covers it, that the lever's effect (``density_lift``) was assumed,
    and the power of the conversion test at the true difference that follows from it.
    """
    folder = Path(folder)
    arms = [
        simulate_arm(config, n_arm, seed + k, lift, folder / name, catalogue_seed=seed + 1)
        for k, lift, name in ((1, 0.0, "control"), (2, density_lift, "treatment"), (3, 0.0, "control_b"))
    ]
    outcome = analyse(arms[0], arms[1], alpha, guardrail_margin, revenue_margin)
    aa = analyse(arms[0], arms[2], alpha, guardrail_margin, revenue_margin)
    base = true_conversion(config, 0.0)
    outcome.true_diff = true_conversion(config, density_lift) - base
    outcome.true_covered = bool(outcome.diff_lo <= outcome.true_diff <= outcome.diff_hi)
    outcome.lever_effect, outcome.assumed_density_lift = "assumed", float(density_lift)
    deff = (outcome.diff_se / outcome.diff_se_naive) ** 2 if outcome.diff_se and outcome.diff_se_naive else 1.0
    outcome.power_at_true_diff = conversion_power(base, outcome.true_diff, n_arm, alpha, deff)
    outcome.aa_p_value = aa.p_value
    return outcome, aa


# --------------------------------------------------------------------------------------------
# A/A replications: the false-positive rate
# --------------------------------------------------------------------------------------------


PURCHASE_STREAM = 0xAB


def purchase_arm(
    config: simulate.SimConfig, n: int, seed: int, intercept: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """One untreated arm of ``n`` sessions, purchase step only: purchases, and user codes (None when none repeat).

    The purchases are drawn from a stream of their own (``PURCHASE_STREAM``), so the draws of browsing that
    would come before them in ``simulate.browse`` need not be made (three quarters of the work).
    """
    cfg = dataclasses.replace(config, n_sessions=int(n), seed=int(seed), density_lift=0.0)
    users = simulate.Users(cfg)
    user = users.assign(n, 0, cfg.seed)
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0xAA]))
    p = simulate.purchase_probability(cfg, intercept, purchase_inputs(cfg, n, rng, users.session_traits(user)))
    if users.logit_shift is not None:  # a user's lasting propensity, as in the full simulation
        p = expit(logit(p) / users.phi + users.logit_shift[user])
    bought = (np.random.default_rng(np.random.SeedSequence([cfg.seed, PURCHASE_STREAM])).random(n) < p).astype(float)
    return bought, (user if np.bincount(user).max() > 1 else None)


def aa_pvalues(config: simulate.SimConfig, n: int, seeds, alpha: float = 0.05) -> dict:
    """A/A tests, two untreated arms per seed (purchase step only): the analysis's p-values, its method, naive ones."""
    intercept = untreated_intercept(config)
    tests = []
    for seed in seeds:
        seq = np.random.SeedSequence([int(seed), 0xAA]).generate_state(2)
        (y0, g0), (y1, g1) = (purchase_arm(config, n, int(s), intercept) for s in seq)
        tests.append(conversion_diff(y0, g0, y1, g1, alpha))
    diff, se = (np.array([t[k] for t in tests], float) for k in ("diff", "diff_se_naive"))
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = np.where(se > 0, 2 * stats.normal_sf(np.abs(diff) / se), 1.0)
    methods = "+".join(sorted({t["method"] for t in tests}))
    return {"p": np.array([t["p_value"] for t in tests]), "naive": naive, "method": methods}


def aa_rejections(config: simulate.SimConfig, n: int, seeds, alpha: float) -> list[bool]:
    """A/A tests: two untreated arms per seed (simulator's purchase step only); whether each rejects."""
    return [bool(p < alpha) for p in aa_pvalues(config, n, seeds, alpha)["p"]]


def aa_rate(config: simulate.SimConfig, n: int, replications: int, alpha: float, seed: int) -> AARate:
    """The rejection rate over ``replications`` A/A tests of ``n`` sessions per arm, with a Wilson 95 % CI."""
    seeds = np.random.SeedSequence([int(seed), 0xA4]).generate_state(replications)
    tests = aa_pvalues(config, n, seeds, alpha)
    k = int(np.sum(tests["p"] < alpha))
    lo, hi = stats.wilson(k, replications)
    naive = int(np.sum(tests["naive"] < alpha))
    return AARate(replications, int(n), alpha, k, k / replications, float(lo), float(hi), tests["method"], naive)
