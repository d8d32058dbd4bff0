"""Who spends more among buyers? Log-spend OLS (HC3) and a log-link Gamma GLM as a check.

Usage::

    from helpers.analysis import spend
    result = spend.analyse(gold_dir, spend.Settings.pick(params), truth)   # 04 in one call
    result.verdicts.idle.verdict, result.verdicts.idle.usd                # a call and its USD per order
    fits = spend.fit_nested(spend.prepare(gold), controls, folds=5, seed=42)

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

from helpers.analysis import needs, purchase_styles, results, stats
from helpers.data import gold
from helpers.data.fitness import Fitness

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


def fit_ols(frame: pd.DataFrame, terms: list[str], groups: np.ndarray | None = None):
    """OLS of log spend; standard errors clustered by user when ``groups`` is given, else HC3."""
    import statsmodels.formula.api as smf  # here: 06 reads this module's results without loading statsmodels' API

    data = stats.formula_data(frame, terms)
    return smf.ols(f"{Y} ~ " + " + ".join(terms), data=data).fit(**stats.cov_options(groups, "HC3"))


def fit_gamma(frame: pd.DataFrame, terms: list[str], outcome: str = "amount_usd", groups: np.ndarray | None = None):
    """Gamma GLM with an explicit log link (statsmodels' Gamma default link is not log); robust SEs,
    clustered by user when ``groups`` is given, else HC0."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    family = sm.families.Gamma(link=sm.families.links.Log())
    data = stats.formula_data(frame, terms)
    return smf.glm(f"{outcome} ~ " + " + ".join(terms), data=data, family=family).fit(
        **stats.cov_options(groups, "HC0")
    )


def cv_rmse(
    frame: pd.DataFrame, terms: list[str], folds: int, seed: int, groups: np.ndarray | None = None
) -> tuple[float, float]:
    """Cross-validated RMSE of log spend (mean and sd over folds); a user's buyers stay in one fold."""
    errs = cv_rmse_folds(frame, terms, folds, seed, groups)
    return float(np.mean(errs)), float(np.std(errs, ddof=1))


def cv_rmse_folds(
    frame: pd.DataFrame, terms: list[str], folds: int, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """Each fold's RMSE of log spend; the folds depend only on ``seed`` and the users, so two models given the
    same seed are scored on the same folds (their gaps pair up)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import GroupKFold, KFold

    X, y = stats.design(frame, terms), frame[Y].to_numpy()
    errs = []
    if groups is None:
        splits = KFold(folds, shuffle=True, random_state=seed).split(X)
    else:
        splits = GroupKFold(folds, shuffle=True, random_state=seed).split(X, groups=groups)
    for train, test in splits:
        pred = LinearRegression().fit(X[train], y[train]).predict(X[test])
        errs.append(np.sqrt(np.mean((y[test] - pred) ** 2)))
    return np.asarray(errs, float)


def rmse_gap_test(rmse_a: np.ndarray, rmse_b: np.ndarray) -> float:
    """Two-sided p-value of the paired gap between two models' fold RMSEs (same folds): a t-test on the
    per-fold differences with Nadeau and Bengio's correction for folds that share training rows
    (variance times 1/K + n_test/n_train = 1/K + 1/(K - 1)), on K - 1 degrees of freedom."""
    from scipy import stats as sps

    d = np.asarray(rmse_b, float) - np.asarray(rmse_a, float)
    k = d.size
    if k < 2:
        return float("nan")
    var = float(np.var(d, ddof=1)) * (1 / k + 1 / (k - 1))
    if var <= 0:
        return 0.0 if d.mean() != 0 else 1.0
    return float(2 * sps.t.sf(abs(d.mean()) / np.sqrt(var), k - 1))


def explains_better(
    rmse_engagement: np.ndarray, rmse_time: np.ndarray, rmse_gain: float, alpha: float
) -> tuple[str, float]:
    """'engagement' or 'time' when its fold RMSEs are lower by at least ``rmse_gain`` (relative, on the means) and
    the paired test of the gap (``rmse_gap_test``) rejects at ``alpha``; else 'neither clearly'. With the p."""
    eng, tim = float(np.mean(rmse_engagement)), float(np.mean(rmse_time))
    gap = (tim - eng) / max(eng, tim)
    p = rmse_gap_test(rmse_engagement, rmse_time)
    if abs(gap) < rmse_gain or not p < alpha:
        return "neither clearly", p
    return ("engagement" if gap > 0 else "time"), p


def fit_nested(
    frame: pd.DataFrame,
    controls: list[str],
    folds: int,
    seed: int,
    min_events_per_parameter: float = 10.0,
    idle: bool = True,
) -> dict:
    """Each nested OLS: R², adjusted R², CV RMSE and AIC, with the health of every fit.

    Errors are clustered by user whenever a user has several buying sessions (``stats.user_groups``).
    """
    fits, rows, health, fold_rmse = {}, [], {}, {}
    groups = stats.user_groups(frame)
    for name, terms in nested_specs(controls, idle).items():
        fits[name], health[name] = stats.checked_fit(
            fit_ols, frame, terms, groups, events=len(frame), min_events_per_parameter=min_events_per_parameter
        )
        fold_rmse[name] = cv_rmse_folds(frame, terms, folds, seed, groups)
        rmse, rmse_sd = float(np.mean(fold_rmse[name])), float(np.std(fold_rmse[name], ddof=1))
        rows.append(
            {
                "model": name,
                "r2": fits[name].rsquared,
                "adj_r2": fits[name].rsquared_adj,
                "cv_rmse": rmse,
                "cv_rmse_sd": rmse_sd,
                "aic": float("nan") if groups is not None else fits[name].aic,  # AIC assumes independent buyers
            }
        )
    table = pd.DataFrame(rows).set_index("model")
    return {"fits": fits, "table": table, "health": stats.combine_health(health), "fold_rmse": fold_rmse}


def smearing_mean(fit) -> float:
    """Mean spend per order the log-spend OLS implies, retransformed by Duan's smearing: mean(exp(fitted)) times
    mean(exp(residual)) (exp of a mean log is a geometric mean, below the arithmetic one)."""
    return float(np.mean(np.exp(np.asarray(fit.fittedvalues))) * np.mean(np.exp(np.asarray(fit.resid))))


DETECT_POWER = 0.8  # the power at which the smallest detectable change per SD is stated (the words quote it)


def per_sd_effects(
    fit, frame: pd.DataFrame, names=("engagement", "time", "idle"), alpha: float = 0.05, power: float = DETECT_POWER
) -> pd.DataFrame:
    """% change in spend per SD of each feature with a 95 % CI, and the smallest change detectable at ``power``."""

    table = stats.per_sd(fit, frame, names, _pct, ("pct_per_sd", "pct_lo", "pct_hi"))
    table["detectable_pct"] = [_pct(stats.mde(fit.bse[n], alpha, power) * table.loc[n, "sd"]) for n in table.index]
    return table


def estimability(buyers: pd.DataFrame, min_buyers: int) -> tuple[str, dict] | None:
    """Why spend cannot be modelled on these buyers, as a code and its numbers, or None when it can.

    'no_positive_order' (no prices), 'too_few_spend_buyers' (buyers, min_buyers), 'no_order_value',
    'constant_order_value' (value, USD) or ``stats.constant_behaviour``'s code.
    """
    if len(buyers) < min_buyers:
        if len(buyers) == 0 and "did_purchase" in buyers:
            return "no_positive_order", {}
        return "too_few_spend_buyers", {"buyers": len(buyers), "min_buyers": min_buyers}
    if (buyers["amount_usd"] > 0).sum() == 0:
        return "no_order_value", {}
    if buyers["amount_usd"].nunique() < 2:
        return "constant_order_value", {"value": float(buyers["amount_usd"].iloc[0])}
    return stats.constant_behaviour(buyers)


def partial_regression(frame: pd.DataFrame, x: str, given: list[str], bins: int = 20) -> pd.DataFrame:
    """Residuals of log spend and of ``x`` after ``given`` (Frisch-Waugh), binned by the x residual."""
    import statsmodels.api as sm

    X = sm.add_constant(stats.design(frame, given)) if given else np.ones((len(frame), 1))
    rx = frame[x].to_numpy() - X @ np.linalg.lstsq(X, frame[x].to_numpy(), rcond=None)[0]
    ry = frame[Y].to_numpy() - X @ np.linalg.lstsq(X, frame[Y].to_numpy(), rcond=None)[0]
    codes = pd.qcut(pd.Series(rx).rank(method="first"), bins, labels=False)
    out = (
        pd.DataFrame({"rx": rx, "ry": ry, "bin": codes})
        .groupby("bin")
        .agg(x=("rx", "mean"), y=("ry", "mean"), sd=("ry", "std"), n=("ry", "size"))
    )
    out["lo"], out["hi"] = _binned_ci(ry, codes.to_numpy(), frame, out.index)
    return out


def _binned_ci(values: np.ndarray, bins: np.ndarray, frame: pd.DataFrame, labels) -> tuple[list, list]:
    """The 95 % CI of each bin's mean of ``values``: clustered by user when a user has several rows in the bin
    (``stats.mean_ci``), else Student's t."""
    users = frame["user_id"].to_numpy() if "user_id" in frame else None
    lo, hi = [], []
    for label in labels:
        part = bins == label
        if part.sum() < 2:
            lo.append(np.nan), hi.append(np.nan)
            continue
        groups = None if users is None else stats.user_groups(pd.DataFrame({"user_id": users[part]}))
        _, a, b = stats.mean_ci(values[part], groups=groups)
        lo.append(a), hi.append(b)
    return lo, hi


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
    cell = pd.Series(list(zip(eng, tim)), index=frame.index).to_numpy()
    labels = list(zip(out["engagement_tertile"], out["time_quintile"]))
    keys = {label: k for k, label in enumerate(labels)}
    codes = np.array([keys.get(c, -1) for c in cell])
    lo, hi = _binned_ci(frame[Y].to_numpy(), codes, frame, range(len(labels)))  # clustered by user when users repeat
    out["spend"], out["lo"], out["hi"] = np.exp(out["mean"]), np.exp(lo), np.exp(hi)
    return out


def truth_check(fit, truth: dict) -> pd.DataFrame:
    """Every coefficient 04's answer speaks of (log spend per log1p unit) beside the simulator's true value.

    No rows when the truth carries a ``spend_truth_code`` (``simulate.spend_truth_code``): there the simulator's
    structural effects are not what this model estimates (the purchase style, which the gold table does not hold,
    moves browsing and spend together), so a CI is not compared with them.
    """
    if truth.get("spend_truth_code"):
        return pd.DataFrame(columns=["effect", "truth", "estimate", "ci_lo", "ci_hi", "covered"]).set_index("effect")
    rows = []
    for name, key, label in (
        ("engagement", "implied_engagement_on_log_spend", "engagement -> log spend (per log1p event)"),
        ("time", "implied_time_on_log_spend", "time -> log spend (per log1p second)"),
        ("idle", "implied_idle_on_log_spend", "idle -> log spend (per log1p second)"),
    ):
        if name not in fit.params:
            continue
        lo, hi = fit.conf_int().loc[name]
        value = truth.get(key, 0.0)
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


STYLES_DIFFER = "styles_browse_differently"  # the reason code when 05's check finds the styles browse differently
UNSIZEABLE_WIDTH_PCT = 100.0  # a per-SD CI wider than this (percentage points) cannot size an effect
MAIN_SPEC, CENTRAL_SPEC = "both + idle + controls", "both + controls"


def effect_class(coef_lo: float, coef_hi: float, sd: float, negligible_pct: float) -> str:
    """'positive', 'negative', 'negligible' or 'unclear': a per-SD CI of log spend against ±``negligible_pct`` %."""
    return stats.classify_interval(coef_lo * sd, coef_hi * sd, np.log1p(negligible_pct / 100))


def feature_call(
    feature: str,
    specs: dict[str, pd.DataFrame],
    negligible_pct: float,
    gamma: pd.DataFrame | None,
    mean_spend: float,
    smeared_mean: float | None = None,
) -> FeatureCall:
    """One feature's call across the specifications that hold it (smallest last is the answer's own).

    USD per order per SD: the Gamma GLM's % change of the mean times the mean spend when the Gamma
    fit ran (it models the arithmetic mean directly); else the log-spend % times the mean the OLS
    implies, retransformed by Duan's smearing (``smeared_mean``; ``mean_spend`` when not given).

    A direction ('positive' or 'negative') needs a material CI in every specification shown and,
    where the Gamma GLM ran, a Gamma CI on the same side of zero. Material but of opposite or
    changing sign across specifications: 'depends'. Negligible everywhere: 'negligible'. A CI
    wider than ``UNSIZEABLE_WIDTH_PCT`` points: 'cannot size'. Otherwise 'unclear'.
    """
    held = {name: t.loc[feature] for name, t in specs.items() if feature in t.index}
    if not held:
        return FeatureCall(feature, "not available")
    own_spec = MAIN_SPEC if MAIN_SPEC in held else next(iter(held))
    own = held[own_spec]
    classes = {name: effect_class(r.coef_lo, r.coef_hi, r.sd, negligible_pct) for name, r in held.items()}
    gamma_side = None
    if gamma is not None and feature in gamma.index and pd.notna(gamma.loc[feature, "gamma_lo"]):
        g = gamma.loc[feature]
        gamma_side = "positive" if g.gamma_lo > 0 else ("negative" if g.gamma_hi < 0 else "none")
        classes["Gamma GLM check"] = gamma_side
    material = {c for n, c in classes.items() if n != "Gamma GLM check"}
    if own.pct_hi - own.pct_lo > UNSIZEABLE_WIDTH_PCT:
        verdict = "cannot size"
    elif len(material) == 1 and material <= {"positive", "negative"}:
        verdict = next(iter(material)) if gamma_side in (None, next(iter(material))) else "unclear"
    elif material & {"positive", "negative"} and len(material) > 1:
        verdict = "depends"
    elif material == {"negligible"}:
        verdict = "negligible"
    else:
        verdict = "unclear"
    others = {name: r for name, r in held.items() if name != own_spec}
    other_spec, other = next(iter(others.items())) if others else (None, None)
    return FeatureCall(
        feature=feature,
        verdict=verdict,
        specification=own_spec,
        pct=float(own.pct_per_sd),
        lo=float(own.pct_lo),
        hi=float(own.pct_hi),
        **_usd_per_sd(own, mean_spend, smeared_mean),
        detectable=float(own.detectable_pct),
        classes=classes,
        other_specification=other_spec,
        other_pct=None if other is None else float(other.pct_per_sd),
        other_lo=None if other is None else float(other.pct_lo),
        other_hi=None if other is None else float(other.pct_hi),
    )


def _usd_per_sd(row, mean_spend: float, smeared_mean: float | None) -> dict:
    """USD per order for one SD more of a feature, with its CI (see ``feature_call``), and where it comes from."""
    if "gamma_pct" in row and pd.notna(row.get("gamma_pct")) and pd.notna(row.get("gamma_lo")):
        pct, lo, hi, base, source = row.gamma_pct, row.gamma_lo, row.gamma_hi, mean_spend, "gamma_mean"
    else:
        base = mean_spend if smeared_mean is None else smeared_mean
        pct, lo, hi, source = row.pct_per_sd, row.pct_lo, row.pct_hi, "ols_smearing"
    return {
        "usd": float(base * pct / 100),
        "usd_lo": float(base * lo / 100),
        "usd_hi": float(base * hi / 100),
        "usd_from": source,
    }


def verdicts(
    table: pd.DataFrame,
    specs: dict[str, pd.DataFrame],
    gamma: pd.DataFrame | None,
    health: dict,
    confounded: bool,
    settings: Settings,
    mean_spend: float,
    smeared_mean: float | None = None,
    fold_rmse: dict[str, np.ndarray] | None = None,
) -> Verdicts:
    """Which feature predicts spend better on its own, and each feature's call (see ``feature_call``).

    ``explains_better``: the single-feature model whose CV RMSE is lower by at least ``rmse_gain``
    (relative) and, given its folds' RMSEs (``fold_rmse``), whose paired test of the gap across folds
    rejects at ``settings.alpha`` (``explains_better``), else 'neither clearly'. Every call turns
    'unclear' when a fit is in poor health or when purchase styles browse differently (``confounded``:
    then what buyers choose can masquerade as how they browse). ``explains_little``: the best adjusted
    R² is below ``little_r2``.
    """
    eng, tim = table.loc["engagement only"], table.loc["time only"]
    gap_p = None
    if fold_rmse is not None:
        better, gap_p = explains_better(
            fold_rmse["engagement only"], fold_rmse["time only"], settings.rmse_gain, settings.alpha
        )
    else:
        gap = (tim.cv_rmse - eng.cv_rmse) / max(eng.cv_rmse, tim.cv_rmse)
        better = "neither clearly" if abs(gap) < settings.rmse_gain else ("engagement" if gap > 0 else "time")
    calls = {
        f: feature_call(f, specs, settings.negligible_pct, gamma, mean_spend, smeared_mean)
        for f in ("engagement", "time", "idle")
    }
    reasons = list(health["reasons"])
    if confounded:
        reasons.append(STYLES_DIFFER)
    if reasons:
        for call in calls.values():
            if call.verdict != "not available":
                call.verdict = "unclear"
    best_r2 = float(table["adj_r2"].max())
    return Verdicts(
        explains_better=better,
        explains_little=best_r2 < settings.little_r2,
        best_adj_r2=best_r2,
        rmse_engagement_only=float(eng.cv_rmse),
        rmse_time_only=float(tim.cv_rmse),
        adj_r2_engagement_only=float(eng.adj_r2),
        adj_r2_time_only=float(tim.adj_r2),
        healthy=bool(health["ok"]),
        confounded=bool(confounded),
        reasons=reasons,
        negligible_pct=settings.negligible_pct,
        engagement=calls["engagement"],
        time=calls["time"],
        idle=calls["idle"],
        rmse_gap_p=gap_p,
    )


def spend_by_engagement(buyers: pd.DataFrame) -> list[SegmentSpend]:
    """Mean spend per order (95 % CI) of buyers in the lowest and highest third of events before checkout."""
    x = np.expm1(buyers["engagement"]).round()  # events before checkout, back from log1p
    lo_cut, hi_cut = float(x.quantile(1 / 3)), float(x.quantile(2 / 3))
    if hi_cut <= lo_cut:
        hi_cut = lo_cut + 1
    rows = []
    for label, part, bound in (("few", buyers[x <= lo_cut], lo_cut), ("many", buyers[x >= hi_cut], hi_cut)):
        values = part["amount_usd"].to_numpy(float)
        if values.size < 2:
            continue
        groups = stats.user_groups(part)  # clustered by user when a user buys in several sessions
        rows.append(SegmentSpend(label, bound, int(values.size), *stats.mean_ci(values, groups=groups)))
    return rows


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
    negligible_pct: float
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
class FeatureCall(results.Record):
    """One feature's association with spend: its call, its % and USD per SD in the answer's model, and elsewhere."""

    feature: str
    verdict: str  # positive, negative, negligible, depends, unclear, cannot size, not available
    specification: str | None = None
    pct: float | None = None
    lo: float | None = None
    hi: float | None = None
    usd: float | None = None
    usd_lo: float | None = None
    usd_hi: float | None = None
    detectable: float | None = None
    classes: dict[str, str] = field(default_factory=dict)
    other_specification: str | None = None
    other_pct: float | None = None
    other_lo: float | None = None
    other_hi: float | None = None
    usd_from: str | None = None  # 'gamma_mean' (the Gamma GLM's change of the mean) or 'ols_smearing' (Duan)
    # The same association per a step a reader can picture (``STEPS``: one more event, one more minute, a longest
    # idle gap half as long), in the answer's own model, with its 95 % CI; USD per order at the mean the model implies
    step_pct: float | None = None
    step_lo: float | None = None
    step_hi: float | None = None
    step_usd: float | None = None
    step_usd_lo: float | None = None
    step_usd_hi: float | None = None
    sd_factor: float | None = None  # what one SD is: the feature (+1) multiplied by this factor


@dataclass
class SegmentSpend(results.Record):
    """Mean spend per order of one group of buyers, with a 95 % CI: 'few' (at most ``events`` events before
    checkout) or 'many' (at least ``events``)."""

    segment: str
    events: float
    buyers: int
    mean_usd: float
    lo: float
    hi: float
    population: str = "buyers"  # thirds of buyers (06's segments are thirds of sessions: 'sessions')


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
    healthy: bool
    confounded: bool
    reasons: list[str]
    negligible_pct: float
    engagement: FeatureCall
    time: FeatureCall
    idle: FeatureCall
    rmse_gap_p: float | None = None  # paired test across folds of the RMSE gap behind explains_better

    def calls(self) -> list[FeatureCall]:
        return [self.engagement, self.time, self.idle]


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
    mean_spend: float | None = None
    by_engagement: list[SegmentSpend] = field(default_factory=list)
    idle_measured: bool = True
    health: stats.Health | None = None  # typed here, declared by ModelledResult
    style_check: purchase_styles.BrowsingCheck | None = None
    clustering: stats.Clustering | None = None  # buyers per user; errors clustered by user when users repeat
    verdicts: Verdicts | None = None
    effects: list[SpendEffect] | None = None
    truth_code: str | None = None  # why the simulator's spend truth is not compared (simulate.spend_truth_code)
    evidence: Evidence | None = results.memory()


def analyse(
    gold_dir: Path, settings: Settings, truth: dict | None = None, idle: bool = True, fitness: Fitness | None = None
) -> SpendResult:
    """04's whole analysis on a gold table's buyers (``idle``: whether idle gaps were measured).

    ``fitness`` (01's record): without prices the answer is not estimable; a weakened need caps the badge.
    """
    s = settings
    buyer_sessions = gold.read_gold(gold_dir, buyers_only=True)  # spend concerns buyers only
    all_buyers = prepare(buyer_sessions)
    frame, sampled = stats.sample_rows(all_buyers, s.max_model_rows, s.seed)
    frame, pooled = stats.pool_sparse_levels(frame, CATEGORICAL, None, s.min_level_events)
    controls, skipped = stats.usable_controls(frame, len(frame), s.min_events_per_parameter, base_parameters=4)
    reason, values = estimability(frame, s.min_buyers) or (None, {})
    result = SpendResult(
        status="ok" if reason is None else "insufficient",
        reason=reason,
        reason_values=values,
        sessions=gold.count_sessions(gold_dir),
        buyers=len(all_buyers),
        median_spend=float(all_buyers["amount_usd"].median()) if len(all_buyers) else None,
        mean_spend=float(all_buyers["amount_usd"].mean()) if len(all_buyers) else None,
        by_engagement=spend_by_engagement(all_buyers) if len(all_buyers) else [],
        sampled=sampled,
        idle_measured=idle,
        controls=controls,
        skipped_controls=skipped,
        pooled=pooled,
        evidence=Evidence(buyers=frame),
    )
    if reason is None:
        # 05's own rule and buyers (its sample of max_model_rows), so 04's confounding rule and 05's badge agree
        check = purchase_styles.browsing_check(
            buyer_sessions, s.equivalence_margin, s.min_buyers, s.max_model_rows, s.seed
        )
        _fit(result, s, truth, check)
    result.badge = badge(result)
    return needs.apply(result, fitness)


def _fit(result: SpendResult, s: Settings, truth: dict | None, check: purchase_styles.BrowsingCheck) -> None:
    """Fill ``result`` with the fitted models, effects, checks and verdicts."""
    ev, controls, idle = result.evidence, result.controls, result.idle_measured
    nested = fit_nested(ev.buyers, controls, s.cv_folds, s.seed, s.min_events_per_parameter, idle)
    ev.fits, ev.models = nested["fits"], nested["table"]
    full_fit = ev.fits["both + idle + controls" if idle else "both + controls"]
    ev.effects = per_sd_effects(full_fit, ev.buyers, alpha=s.alpha)
    gamma, ev.gamma_health = stats.checked_fit(
        fit_gamma,
        ev.buyers,
        ["engagement", "time", *(["idle"] if idle else []), *controls],
        groups=stats.user_groups(ev.buyers),
    )
    if gamma is not None:
        checked = stats.per_sd(gamma, ev.buyers, ev.effects.index, _pct, ("gamma_pct", "gamma_lo", "gamma_hi"))
        ev.effects = ev.effects.join(checked[["gamma_pct", "gamma_lo", "gamma_hi"]])
    ev.central = per_sd_effects(ev.fits[CENTRAL_SPEC], ev.buyers, alpha=s.alpha)
    if truth is not None:
        ev.truth = truth_check(full_fit, truth)
        result.truth_code = truth.get("spend_truth_code")
    specs = {MAIN_SPEC: ev.effects, CENTRAL_SPEC: ev.central} if idle else {CENTRAL_SPEC: ev.effects}
    gamma_table = ev.effects if gamma is not None else None
    confounded = check.browsing == "different"
    smeared = smearing_mean(full_fit)
    v = verdicts(
        ev.models, specs, gamma_table, nested["health"], confounded, s, result.mean_spend, smeared, nested["fold_rmse"]
    )
    add_steps(v, ev.fits, ev.buyers, specs, smeared)
    result.health = stats.Health.from_json(nested["health"])
    result.clustering = stats.clustering(ev.buyers)
    result.style_check = check
    result.verdicts = v
    result.effects = [SpendEffect(**row) for row in ev.effects.reset_index().to_dict(orient="records")]
    result.models = ev.models.reset_index().to_dict(orient="records")
    result.truth = (
        None if ev.truth is None else [results.TruthRow(**r) for r in ev.truth.reset_index().to_dict("records")]
    )
    if result.truth_code:  # nothing to compare: the page shows no truth table and says why
        ev.truth = None
    result.headline = headline(result)


def _pct(b):
    return 100 * np.expm1(b)


# The step each feature's association is also stated per, as a function of its raw values (events, seconds):
# one more event, one more minute, a longest idle gap half as long.
STEPS = {
    "engagement": lambda x: x + 1.0,
    "time": lambda x: x + 60.0,
    "idle": lambda x: x / 2.0,
}


def step_effect(fit, frame: pd.DataFrame, feature: str) -> tuple[float, float, float]:
    """% change in spend per order from one ``STEPS`` step of ``feature``, averaged over buyers, with a 95 % CI.

    The log-spend model is multiplicative on log1p(x), so each buyer's step moves log spend by b * (log1p(step(x))
    - log1p(x)); the mean of exp of that, minus 1, is the % change. It is monotone in b, so the bounds come from
    the fit's CI of b (clustered by user when users repeat, as every interval of 04).
    """
    raw = np.expm1(frame[feature].to_numpy(float))
    shift = np.log1p(STEPS[feature](raw)) - np.log1p(raw)
    lo, hi = fit.conf_int().loc[feature]
    values = [100 * float(np.mean(np.expm1(b * shift))) for b in (fit.params[feature], lo, hi)]
    return values[0], min(values[1:]), max(values[1:])


def add_steps(v: Verdicts, fits: dict, frame: pd.DataFrame, specs: dict[str, pd.DataFrame], base: float) -> None:
    """Each call's association per ``STEPS`` step and what one SD is, from the fit of the call's own model; USD per
    order at ``base`` (the mean order the log-spend model implies, Duan's smearing)."""
    for call in v.calls():
        fit = fits.get(call.specification)
        if fit is None or call.feature not in fit.params:
            continue
        call.step_pct, call.step_lo, call.step_hi = step_effect(fit, frame, call.feature)
        call.step_usd, call.step_usd_lo, call.step_usd_hi = (
            base * x / 100 for x in (call.step_pct, call.step_lo, call.step_hi)
        )
        call.sd_factor = float(np.exp(specs[call.specification].loc[call.feature, "sd"]))


def headline(result: SpendResult) -> results.Headline:
    """The number 04's answer leads with: the largest material association with spend, else idle time's."""
    calls = [c for c in result.verdicts.calls() if c.verdict != "not available"]
    material = [c for c in calls if c.verdict in ("positive", "negative")]
    lead = max(material, key=lambda c: abs(np.log1p(c.pct / 100))) if material else None
    if lead is None:
        lead = next((c for c in calls if c.feature == "idle"), calls[0])
    return results.Headline(
        feature=lead.feature,
        estimate=lead.pct,
        lo=lead.lo,
        hi=lead.hi,
        unit="pct_spend_per_sd",
        specification=lead.specification,
        rule="pct_band_every_model_and_gamma",  # per-SD CI outside ±x % in every model shown, Gamma on the same side
        verdict=lead.verdict,
        threshold=result.verdicts.negligible_pct,
    )


def badge(result: SpendResult) -> results.Badge:
    """04's confidence badge: decisive when every call has a direction or is negligible (not 'depends', 'unclear' or
    'cannot size'); the confounding rule counts only when it was tested."""
    if not result.ok:
        return results.Badge.from_rules(None, {})
    v = result.verdicts
    tested = result.style_check is not None and result.style_check.browsing != "not estimated"
    return results.Badge.from_rules(
        all(c.verdict in ("positive", "negative", "negligible", "not available") for c in v.calls()),
        {
            "fits_healthy": v.healthy,
            "styles_browse_alike": result.style_check.browsing == "similar" if tested else None,
            "explains_material_share": results.Rule("explains_material_share", not v.explains_little, v.best_adj_r2),
            "truth_covered": results.truth_covered(result.truth),
        },
    )
