"""Who spends more among buyers? Log-spend OLS (HC3) and a log-link Gamma GLM as a check.

Usage::

    from helpers.analysis import spend
    buyers = spend.prepare(gold)
    fits = spend.fit_nested(buyers, controls, folds=5, seed=42)

Conditioning on buyers is a selection: these models describe spend given a purchase, not the
effect of a feature on spend per visitor. Every feature is measured before the first checkout or
purchase, so none of them contains the purchase itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

from helpers.analysis import purchase_styles, results, stats
from helpers.data import gold

Y = "log_spend"


def prepare(gold: pd.DataFrame) -> pd.DataFrame:
    """Buyers with a positive amount: log spend and log1p behaviour features."""
    frame = stats.behaviour_features(gold)
    frame = frame[(frame["did_purchase"] == 1) & (frame["amount_usd"] > 0)].copy()
    frame[Y] = np.log(frame["amount_usd"])
    return frame


def nested_specs(controls: list[str], idle: bool = True) -> dict[str, list[str]]:
    """The nested spend models, smallest first; the idle model only when idle gaps were measured."""
    specs = {
        "engagement only": ["engagement"],
        "time only": ["time"],
        "both": ["engagement", "time"],
        "both + controls": ["engagement", "time", *controls],
    }
    if idle:
        specs["both + idle + controls"] = ["engagement", "time", "idle", *controls]
    return specs


def fit_ols(frame: pd.DataFrame, terms: list[str]):
    """OLS of log spend with HC3 robust standard errors."""
    return smf.ols(f"{Y} ~ " + " + ".join(terms), data=stats.formula_data(frame, terms)).fit(cov_type="HC3")


def fit_gamma(frame: pd.DataFrame, terms: list[str], outcome: str = "amount_usd"):
    """Gamma GLM with an explicit log link (statsmodels' Gamma default link is not log)."""
    family = sm.families.Gamma(link=sm.families.links.Log())
    return smf.glm(f"{outcome} ~ " + " + ".join(terms), data=stats.formula_data(frame, terms), family=family).fit()


def cv_rmse(frame: pd.DataFrame, terms: list[str], folds: int, seed: int) -> tuple[float, float]:
    """Cross-validated RMSE of log spend (mean and sd over folds)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold

    X, y = stats.design(frame, terms), frame[Y].to_numpy()
    errs = []
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(X):
        pred = LinearRegression().fit(X[train], y[train]).predict(X[test])
        errs.append(np.sqrt(np.mean((y[test] - pred) ** 2)))
    return float(np.mean(errs)), float(np.std(errs, ddof=1))


def fit_nested(
    frame: pd.DataFrame,
    controls: list[str],
    folds: int,
    seed: int,
    min_events_per_parameter: float = 10.0,
    idle: bool = True,
) -> dict:
    """Each nested OLS: R², adjusted R², CV RMSE and AIC, with the health of every fit."""
    fits, rows, health = {}, [], {}
    for name, terms in nested_specs(controls, idle).items():
        fits[name], health[name] = stats.checked_fit(
            fit_ols, frame, terms, events=len(frame), min_events_per_parameter=min_events_per_parameter
        )
        rmse, rmse_sd = cv_rmse(frame, terms, folds, seed)
        rows.append(
            {
                "model": name,
                "r2": fits[name].rsquared,
                "adj_r2": fits[name].rsquared_adj,
                "cv_rmse": rmse,
                "cv_rmse_sd": rmse_sd,
                "aic": fits[name].aic,
            }
        )
    return {"fits": fits, "table": pd.DataFrame(rows).set_index("model"), "health": stats.combine_health(health)}


def per_sd_effects(
    fit, frame: pd.DataFrame, names=("engagement", "time", "idle"), alpha: float = 0.05, power: float = 0.8
) -> pd.DataFrame:
    """% change in spend per SD of each feature with a 95 % CI, and the smallest change detectable at 80 % power."""

    table = stats.per_sd(fit, frame, names, _pct, ("pct_per_sd", "pct_lo", "pct_hi"))
    table["detectable_pct"] = [_pct(stats.mde(fit.bse[n], alpha, power) * table.loc[n, "sd"]) for n in table.index]
    return table


def estimability(buyers: pd.DataFrame, min_buyers: int) -> str | None:
    """Why spend cannot be modelled on these buyers (one sentence), or None when it can."""
    if len(buyers) < min_buyers:
        if len(buyers) == 0 and "did_purchase" in buyers:
            return "no buyer has an order with a positive value (the data carry no prices)"
        return f"{len(buyers)} buyers with a positive amount: the spend models need at least {min_buyers}"
    if (buyers["amount_usd"] > 0).sum() == 0:
        return "no order has a value (the data carry no prices)"
    if buyers["amount_usd"].nunique() < 2:
        value = buyers["amount_usd"].iloc[0]
        return f"every order is worth the same ({value:,.2f} USD): spend models need varying order values"
    return stats.constant_behaviour(buyers, "buyer", "spend")


def partial_regression(frame: pd.DataFrame, x: str, given: list[str], bins: int = 20) -> pd.DataFrame:
    """Residuals of log spend and of ``x`` after ``given`` (Frisch-Waugh), binned by the x residual."""
    X = sm.add_constant(stats.design(frame, given)) if given else np.ones((len(frame), 1))
    rx = frame[x].to_numpy() - X @ np.linalg.lstsq(X, frame[x].to_numpy(), rcond=None)[0]
    ry = frame[Y].to_numpy() - X @ np.linalg.lstsq(X, frame[Y].to_numpy(), rcond=None)[0]
    codes = pd.qcut(pd.Series(rx).rank(method="first"), bins, labels=False)
    out = (
        pd.DataFrame({"rx": rx, "ry": ry, "bin": codes})
        .groupby("bin")
        .agg(x=("rx", "mean"), y=("ry", "mean"), sd=("ry", "std"), n=("ry", "size"))
    )
    out["lo"], out["hi"] = (
        out["y"] - stats.Z95 * out["sd"] / np.sqrt(out["n"]),
        out["y"] + stats.Z95 * out["sd"] / np.sqrt(out["n"]),
    )
    return out


def spend_by_time_within_engagement(frame: pd.DataFrame) -> pd.DataFrame:
    """Geometric-mean spend by time quintile within engagement tertiles (a picture to check by eye)."""
    eng = pd.qcut(frame["engagement"].rank(method="first"), 3, labels=["low", "middle", "high"])
    tim = frame.groupby(eng, observed=True)["time"].transform(
        lambda s: pd.qcut(s.rank(method="first"), 5, labels=False) + 1
    )
    g = frame.assign(engagement_tertile=eng, time_quintile=tim).groupby(
        ["engagement_tertile", "time_quintile"], observed=True
    )[Y]
    out = g.agg(["mean", "std", "size"]).reset_index()
    half = stats.Z95 * out["std"] / np.sqrt(out["size"])
    out["spend"], out["lo"], out["hi"] = np.exp(out["mean"]), np.exp(out["mean"] - half), np.exp(out["mean"] + half)
    return out


def truth_check(fit, truth: dict) -> pd.DataFrame:
    """Idle-time and engagement coefficients on log spend beside the simulator's implied true effects."""
    rows = []
    for name, key, label in (
        ("idle", "implied_idle_on_log_spend", "idle -> log spend (per log1p second)"),
        ("engagement", "implied_engagement_on_log_spend", "engagement -> log spend (per log1p event)"),
    ):
        lo, hi = fit.conf_int().loc[name]
        value = truth[key]
        rows.append(
            {
                "effect": label,
                "truth": value,
                "estimate": fit.params[name],
                "ci_lo": lo,
                "ci_hi": hi,
                "covered": bool(lo <= value <= hi),
            }
        )
    return pd.DataFrame(rows).set_index("effect")


def direction(lo: float, hi: float) -> str:
    """'negative', 'positive' or 'none' from a CI."""
    return "negative" if hi < 0 else ("positive" if lo > 0 else "none")


def verdicts(
    table: pd.DataFrame,
    central: pd.DataFrame,
    full: pd.DataFrame,
    health: dict,
    confounded: bool,
    rmse_gain: float,
    little_r2: float,
) -> dict:
    """Which feature explains spend better, and the direction of time and idle once engagement is held.

    ``explains_better``: the single-feature model whose CV RMSE is lower by at least ``rmse_gain``
    (relative), else 'neither clearly'. ``time_given_engagement`` and ``idle_given_engagement_time``:
    the sign of a CI that excludes zero, else 'none'; 'unclear' when a fit is in poor health or
    when purchase styles browse differently (``confounded``: then what buyers choose can masquerade
    as how they browse). ``explains_little``: the fullest model's adjusted R² is below ``little_r2``.
    """
    eng, tim = table.loc["engagement only"], table.loc["time only"]
    gap = (tim.cv_rmse - eng.cv_rmse) / max(eng.cv_rmse, tim.cv_rmse)
    better = "neither clearly" if abs(gap) < rmse_gain else ("engagement" if gap > 0 else "time")
    t = central.loc["time"]
    i = full.loc["idle"] if "idle" in full.index else None
    calls = {
        "time_given_engagement": direction(t.coef_lo, t.coef_hi),
        "idle_given_engagement_time": direction(i.coef_lo, i.coef_hi) if i is not None else "not available",
    }
    reasons = list(health["reasons"])
    if confounded:
        reasons.append(
            "cheap-many and expensive-few buyers browse differently, so these associations may reflect "
            "which products buyers choose rather than how they browse"
        )
    if reasons:
        calls = {k: ("unclear" if c != "not available" else c) for k, c in calls.items()}
    best_r2 = float(table["adj_r2"].max())
    return {
        "explains_better": better,
        "explains_little": best_r2 < little_r2,
        "best_adj_r2": best_r2,
        "rmse_engagement_only": float(eng.cv_rmse),
        "rmse_time_only": float(tim.cv_rmse),
        "adj_r2_engagement_only": float(eng.adj_r2),
        "adj_r2_time_only": float(tim.adj_r2),
        **calls,
        "healthy": bool(health["ok"]),
        "confounded": bool(confounded),
        "reasons": reasons,
        "time_pct": float(t.pct_per_sd),
        "time_lo": float(t.pct_lo),
        "time_hi": float(t.pct_hi),
        "time_detectable": float(t.detectable_pct),
        **(
            {
                "idle_pct": float(i.pct_per_sd),
                "idle_lo": float(i.pct_lo),
                "idle_hi": float(i.pct_hi),
                "idle_detectable": float(i.detectable_pct),
                "idle_sign": direction(i.coef_lo, i.coef_hi),
            }
            if i is not None
            else {
                "idle_pct": None,
                "idle_lo": None,
                "idle_hi": None,
                "idle_detectable": None,
                "idle_sign": "not available",
            }
        ),
        "time_sign": direction(t.coef_lo, t.coef_hi),
    }


# --------------------------------------------------------------------------------------------
# The analysis as one call: 04's whole pipeline and its typed result
# --------------------------------------------------------------------------------------------

CATEGORICAL = ["device", "traffic_source", "start_hour", "start_weekday"]


@dataclass
class Settings(results.Settings):
    """04's settings: the parameters its notebook declares (defaults live in the notebook only)."""

    seed: int
    cv_folds: int
    alpha: float
    min_buyers: int
    min_events_per_parameter: float
    min_level_events: int
    rmse_gain: float
    little_r2: float
    equivalence_margin: float
    max_model_rows: int


@dataclass
class SpendEffect(results.Record):
    """One feature's coefficient on log spend and its % change in spend per SD (95 % CIs); the Gamma check."""

    feature: str
    scale: str
    coef: float
    coef_lo: float
    coef_hi: float
    sd: float
    pct_per_sd: float
    pct_lo: float
    pct_hi: float
    p: float | None
    detectable_pct: float | None
    gamma_pct: float | None = None
    gamma_lo: float | None = None
    gamma_hi: float | None = None


@dataclass
class Verdicts(results.Record):
    """04's computed answers (see ``verdicts``)."""

    explains_better: str
    explains_little: bool
    best_adj_r2: float
    rmse_engagement_only: float
    rmse_time_only: float
    adj_r2_engagement_only: float
    adj_r2_time_only: float
    time_given_engagement: str
    idle_given_engagement_time: str
    healthy: bool
    confounded: bool
    reasons: list[str]
    time_pct: float
    time_lo: float
    time_hi: float
    time_detectable: float
    idle_pct: float | None
    idle_lo: float | None
    idle_hi: float | None
    idle_detectable: float | None
    idle_sign: str
    time_sign: str


@dataclass
class Evidence:
    """What 04's page shows beyond the record (kept in memory only)."""

    buyers: pd.DataFrame
    fits: dict = field(default_factory=dict)
    models: pd.DataFrame | None = None
    effects: pd.DataFrame | None = None
    central: pd.DataFrame | None = None
    gamma_health: dict | None = None
    truth: pd.DataFrame | None = None


@dataclass
class SpendResult(results.ModelledResult):
    """04's answer: who spends more among buyers."""

    NOTEBOOK: ClassVar[str] = "04_spend"
    sessions: int = 0
    buyers: int = 0
    median_spend: float | None = None
    idle_measured: bool = True
    health: stats.Health | None = None  # typed here, declared by ModelledResult
    style_check: purchase_styles.BrowsingCheck | None = None
    verdicts: Verdicts | None = None
    effects: list[SpendEffect] | None = None
    evidence: Evidence | None = results.memory()


def analyse(gold_dir: Path, settings: Settings, truth: dict | None = None, idle: bool = True) -> SpendResult:
    """04's whole analysis on a gold table's buyers (``idle``: whether idle gaps were measured)."""
    s = settings
    buyer_sessions = gold.read_gold(gold_dir, buyers_only=True)  # spend concerns buyers only
    all_buyers = prepare(buyer_sessions)
    frame, sampled = stats.sample_rows(all_buyers, s.max_model_rows, s.seed)
    frame, pooled = stats.pool_sparse_levels(frame, CATEGORICAL, None, s.min_level_events)
    controls, skipped = stats.usable_controls(frame, len(frame), s.min_events_per_parameter, base_parameters=4)
    reason = estimability(frame, s.min_buyers)
    result = SpendResult(
        status="ok" if reason is None else "insufficient",
        reason=reason,
        sessions=gold.count_sessions(gold_dir),
        buyers=len(all_buyers),
        median_spend=float(all_buyers["amount_usd"].median()) if len(all_buyers) else None,
        sampled=sampled,
        idle_measured=idle,
        controls=controls,
        skipped_controls=skipped,
        pooled=pooled,
        evidence=Evidence(buyers=frame),
    )
    if reason is None:
        check = purchase_styles.browsing_check(buyer_sessions, s.equivalence_margin, s.min_buyers)
        _fit(result, s, truth, check)
    result.badge = badge(result)
    return result


def _fit(result: SpendResult, s: Settings, truth: dict | None, check: purchase_styles.BrowsingCheck) -> None:
    """Fill ``result`` with the fitted models, effects, checks and verdicts."""
    ev, controls, idle = result.evidence, result.controls, result.idle_measured
    nested = fit_nested(ev.buyers, controls, s.cv_folds, s.seed, s.min_events_per_parameter, idle)
    ev.fits, ev.models = nested["fits"], nested["table"]
    full_fit = ev.fits["both + idle + controls" if idle else "both + controls"]
    ev.effects = per_sd_effects(full_fit, ev.buyers, alpha=s.alpha)
    gamma, ev.gamma_health = stats.checked_fit(
        fit_gamma, ev.buyers, ["engagement", "time", *(["idle"] if idle else []), *controls]
    )
    if gamma is not None:
        checked = stats.per_sd(gamma, ev.buyers, ev.effects.index, _pct, ("gamma_pct", "gamma_lo", "gamma_hi"))
        ev.effects = ev.effects.join(checked[["gamma_pct", "gamma_lo", "gamma_hi"]])
    ev.central = per_sd_effects(ev.fits["both + controls"], ev.buyers, alpha=s.alpha)
    if truth is not None:
        ev.truth = truth_check(full_fit, truth)
    confounded = check.browsing == "different"
    v = verdicts(ev.models, ev.central, ev.effects, nested["health"], confounded, s.rmse_gain, s.little_r2)
    result.health = stats.Health.from_json(nested["health"])
    result.style_check = check
    result.verdicts = Verdicts(**v)
    result.effects = [SpendEffect(**row) for row in ev.effects.reset_index().to_dict(orient="records")]
    result.models = ev.models.reset_index().to_dict(orient="records")
    result.truth = (
        None if ev.truth is None else [results.TruthRow(**r) for r in ev.truth.reset_index().to_dict("records")]
    )
    result.headline = headline(result)


def _pct(b):
    return 100 * np.expm1(b)


def headline(result: SpendResult) -> results.Headline:
    """The number 04's answer quotes: time's % change in spend per SD, engagement and controls held fixed."""
    v = result.verdicts
    return results.Headline(
        feature="time",
        estimate=v.time_pct,
        lo=v.time_lo,
        hi=v.time_hi,
        unit="% change in spend per SD",
        specification="both + controls",
        rule="sign of a 95 % CI that excludes zero",
        verdict=v.time_given_engagement,
    )


def badge(result: SpendResult) -> results.Badge:
    """04's confidence badge."""
    if not result.ok:
        return results.Badge.from_rules(None, {})
    v = result.verdicts
    return results.Badge.from_rules(
        "unclear" not in (v.time_given_engagement, v.idle_given_engagement_time),
        {
            "fits healthy": v.healthy,
            "purchase styles browse alike (no confounding by product choice)": not v.confounded,
            "behaviour explains a material share of spend": not v.explains_little,
            "true effects inside the 95 % CIs": results.truth_covered(result.truth),
        },
    )
