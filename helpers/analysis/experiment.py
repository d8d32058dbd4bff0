"""The experiment: power analysis, simulated arms through the real pipeline, pre-registered analysis.

Usage::

    from helpers.analysis import experiment
    n = experiment.sample_size(baseline=0.025, relative_mde=0.10, alpha=0.05, power=0.8)
    arm = experiment.simulate_arm(config, n, seed=1, density_lift=0.15, folder=tmp)
    result = experiment.analyse(control, treatment, alpha=0.05, guardrail_margin=0.05)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    test_proportions_2indep,
)

from helpers.analysis import results
from helpers.data import simulate
from helpers.data.gold import build_gold, read_gold


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
    decision: str
    revenue_rel: float | None = None
    revenue_rel_hi: float | None = None
    duration_ok: bool | None = None
    revenue_ok: bool | None = None
    true_diff: float | None = None
    true_covered: bool | None = None
    aa_p_value: float | None = None


def sample_size(baseline: float, relative_mde: float, alpha: float, power: float) -> int:
    """Sessions per arm to detect a relative lift in conversion (two-sided, Cohen's h)."""
    effect = proportion_effectsize(baseline * (1 + relative_mde), baseline)
    return int(
        math.ceil(
            NormalIndPower().solve_power(
                effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided"
            )
        )
    )


def mde_table(
    baseline: float, alpha: float, power: float, sessions_per_day: float, mdes=(0.02, 0.05, 0.10, 0.15, 0.20, 0.30)
) -> pd.DataFrame:
    """Sample size per arm and days of traffic for a range of relative minimum detectable effects."""
    rows = []
    for mde in mdes:
        n = sample_size(baseline, mde, alpha, power)
        rows.append({"relative_mde": mde, "sessions_per_arm": n, "days": 2 * n / sessions_per_day})
    return pd.DataFrame(rows)


def simulate_arm(config: simulate.SimConfig, n: int, seed: int, density_lift: float, folder: Path) -> pd.DataFrame:
    """One arm through the real pipeline: simulate raw tables, build the gold table, read it."""
    cfg = dataclasses.replace(config, n_sessions=int(n), seed=int(seed), density_lift=float(density_lift))
    folder = Path(folder)
    intercept = simulate.calibrate_intercept(dataclasses.replace(config, density_lift=0.0))
    simulate.simulate_to_parquet(cfg, folder / "raw", intercept=intercept)
    build_gold(folder / "raw", folder / "gold")
    return read_gold(folder / "gold", columns=["did_purchase", "event_count", "amount_usd", "session_seconds"])


def true_conversion(config: simulate.SimConfig, density_lift: float, n: int = 400_000) -> float:
    """Expected conversion under the simulator's own probabilities, for a large population."""
    intercept = simulate.calibrate_intercept(dataclasses.replace(config, density_lift=0.0))
    cfg = dataclasses.replace(config, density_lift=density_lift)
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0x7E57]))
    return float(simulate.purchase_probability(cfg, intercept, simulate.browse(cfg, n, rng)).mean())


def _mean_diff_ci(a: np.ndarray, b: np.ndarray, z: float) -> tuple[float, float, float]:
    diff = b.mean() - a.mean()
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return diff, diff - z * se, diff + z * se


def _ratio(events: np.ndarray, seconds: np.ndarray) -> tuple[float, float]:
    """Events per minute as a ratio of sums, with its delta-method variance."""
    minutes = seconds / 60.0
    r = events.sum() / minutes.sum()
    n = events.size
    cov = np.cov(events, minutes)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (n * minutes.mean() ** 2)
    return float(r), float(var)


def analyse(control: pd.DataFrame, treatment: pd.DataFrame, alpha: float, guardrail_margin: float) -> Outcome:
    """The pre-registered analysis: conversion difference with CI and test, secondaries, guardrail, decision."""
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / 2)
    c1, n1 = int(treatment["did_purchase"].sum()), len(treatment)
    c0, n0 = int(control["did_purchase"].sum()), len(control)
    # the CI and the p-value from one method (score), so they never disagree at the margin
    lo, hi = confint_proportions_2indep(c1, n1, c0, n0, method="score", compare="diff", alpha=alpha)
    p = float(test_proportions_2indep(c1, n1, c0, n0, method="score", compare="diff").pvalue)
    out = {
        "control_sessions": n0,
        "treatment_sessions": n1,
        "control_rate": c0 / n0,
        "treatment_rate": c1 / n1,
        "diff": c1 / n1 - c0 / n0,
        "diff_lo": float(lo),
        "diff_hi": float(hi),
        "p_value": p,
    }
    d, dlo, dhi = _mean_diff_ci(control["amount_usd"].to_numpy(float), treatment["amount_usd"].to_numpy(float), z)
    out.update({"spend_diff": d, "spend_lo": dlo, "spend_hi": dhi})
    (r0, v0), (r1, v1) = (
        _ratio(a["event_count"].to_numpy(float), a["session_seconds"].to_numpy(float)) for a in (control, treatment)
    )
    half = z * math.sqrt(v0 + v1)
    out.update(
        {
            "epm_control": r0,
            "epm_treatment": r1,
            "epm_diff": r1 - r0,
            "epm_lo": r1 - r0 - half,
            "epm_hi": r1 - r0 + half,
        }
    )
    one_sided = norm.ppf(1 - alpha)  # non-inferiority bounds
    dur, dur_hi = _relative_change(control["session_seconds"], treatment["session_seconds"], one_sided)
    rev, rev_hi = _relative_change(control["amount_usd"], treatment["amount_usd"], one_sided)
    out.update(
        {
            "duration_rel": dur,
            "duration_rel_hi": dur_hi,
            "revenue_rel": rev,
            "revenue_rel_hi": rev_hi,
            "guardrail_margin": guardrail_margin,
            "duration_ok": bool(dur_hi < guardrail_margin),
            "revenue_ok": bool(rev_hi >= 0),  # harm: revenue per session fell significantly
        }
    )
    out["guardrail_ok"] = out["duration_ok"] and out["revenue_ok"]
    out["decision"] = decide(out, lo, hi)
    return Outcome(**out)


def _relative_change(control: pd.Series, treatment: pd.Series, z: float) -> tuple[float, float]:
    """Relative change of the treatment mean against the control mean, and a one-sided bound at ``z``.

    The delta method carries the uncertainty of both means: var(r) = var(t)/c^2 + t^2 var(c)/c^4.
    """
    a, b = control.to_numpy(float), treatment.to_numpy(float)
    c, t = a.mean(), b.mean()
    if c == 0:
        return float("nan"), float("nan")
    var = b.var(ddof=1) / b.size / c**2 + t**2 * a.var(ddof=1) / a.size / c**4
    rel = t / c - 1
    return float(rel), float(rel + z * math.sqrt(var))


def decide(out: dict, lo: float, hi: float) -> str:
    """The pre-registered decision in words, following the numbers and the guardrails' margin."""
    m = out["guardrail_margin"]
    duration = (
        f"session duration {out['duration_rel']:+.1%} (upper bound {out['duration_rel_hi']:+.1%}, margin +{m:.0%})"
    )
    revenue = f"revenue per session {out['revenue_rel']:+.1%} (upper bound {out['revenue_rel_hi']:+.1%})"
    if hi < 0:
        return "do not ship: conversion fell"
    if not out["duration_ok"]:
        return f"do not ship: the duration guardrail failed, {duration}"
    if not out["revenue_ok"]:
        return f"do not ship: the revenue guardrail failed, {revenue}: a significant fall"
    if lo > 0:
        return f"ship: conversion rose; {duration} stays within its margin and {revenue} shows no significant fall"
    return "no decision: the conversion difference's CI includes zero"


def run_simulated(
    config: simulate.SimConfig,
    n_arm: int,
    seed: int,
    density_lift: float,
    alpha: float,
    guardrail_margin: float,
    folder: Path,
) -> tuple[Outcome, Outcome]:
    """Control, treatment and a second control through the real pipeline; the experiment and its A/A test.

    The arms draw seeds ``seed + 1``, ``seed + 2`` and ``seed + 3``; the outcome carries the
    simulator's true difference, whether its CI covers it, and the A/A test's p-value.
    """
    folder = Path(folder)
    control = simulate_arm(config, n_arm, seed + 1, 0.0, folder / "control")
    treatment = simulate_arm(config, n_arm, seed + 2, density_lift, folder / "treatment")
    control_b = simulate_arm(config, n_arm, seed + 3, 0.0, folder / "control_b")
    outcome = analyse(control, treatment, alpha, guardrail_margin)
    aa = analyse(control, control_b, alpha, guardrail_margin)
    outcome.true_diff = true_conversion(config, density_lift) - true_conversion(config, 0.0)
    outcome.true_covered = bool(outcome.diff_lo <= outcome.true_diff <= outcome.diff_hi)
    outcome.aa_p_value = aa.p_value
    return outcome, aa


def aa_rejections(config: simulate.SimConfig, n: int, seeds, alpha: float) -> list[bool]:
    """A/A tests: two untreated arms per seed (simulator's purchase step only); whether each rejects."""
    intercept = simulate.calibrate_intercept(config)
    rejects = []
    for seed in seeds:
        arms = []
        for arm in (0, 1):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), arm, 0xAA]))
            b = simulate.browse(config, n, rng)
            arms.append(int((rng.random(n) < simulate.purchase_probability(config, intercept, b)).sum()))
        p = test_proportions_2indep(arms[1], n, arms[0], n, method="score", compare="diff").pvalue
        rejects.append(bool(p < alpha))
    return rejects
