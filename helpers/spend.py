"""Who spends more among buyers? Log-spend OLS (HC3) and a log-link Gamma GLM as a check.

Usage::

    from helpers import spend
    buyers = spend.prepare(gold)
    fits = spend.fit_nested(buyers, controls, folds=5, seed=42)

Conditioning on buyers is a selection: these models describe spend given a purchase, not the
effect of a feature on spend per visitor. Every feature is measured before the first checkout or
purchase, so none of them contains the purchase itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

from . import stats

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

    def pct(b):
        return 100 * np.expm1(b)

    table = stats.per_sd(fit, frame, names, pct, ("pct_per_sd", "pct_lo", "pct_hi"))
    table["detectable_pct"] = [pct(stats.mde(fit.bse[n], alpha, power) * table.loc[n, "sd"]) for n in table.index]
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
