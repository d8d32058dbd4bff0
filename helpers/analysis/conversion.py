"""Who purchases? Nested logistic models of conversion on engagement and time, with uncertainty.

Usage::

    from helpers.analysis import conversion
    result = conversion.analyse(gold_dir, conversion.Settings.pick(params), truth)   # 03 in one call
    result.headline, result.verdicts.answer, result.unit("engagement")
    fits = conversion.fit_nested(conversion.prepare(gold), controls, folds=5, seed=42)  # one step alone

Every model is fitted here (statsmodels, unpenalised, for effects and tests; scikit-learn for
cross-validated scores); the notebook shows and interprets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from helpers.analysis import needs, results, stats
from helpers.data import gold
from helpers.data.fitness import Fitness

Y = "did_purchase"
# The gold columns 03 reads: the behaviour features, the context controls and the outcome.
GOLD_COLUMNS_READ = [
    "session_id",
    "user_id",
    *(col for col, _ in stats.FEATURES.values()),
    *(col for col, _ in stats.CONTROLS),
    "pre_conversion_cart_count",
    "landmark_event_count",
    "landmark_at_risk",
    "landmark_seconds",
    Y,
]


def prepare(gold: pd.DataFrame) -> pd.DataFrame:
    """Modelling frame: log1p behaviour features, context, the outcome, and the two checks' features.

    ``engagement_cart`` counts the add-to-cart steps as engagement too (the definition the
    leakage audit compares with); ``landmark`` is browsing in the first minutes, ``at_risk``
    whether the session was still active then (see the gold dictionary).
    """
    frame = stats.behaviour_features(gold)
    if "pre_conversion_cart_count" in gold:
        frame["engagement_cart"] = np.log1p(gold["pre_conversion_event_count"] + gold["pre_conversion_cart_count"])
    if "landmark_event_count" in gold:
        frame["landmark"] = np.log1p(gold["landmark_event_count"].astype(float))
        frame["at_risk"] = gold["landmark_at_risk"].astype(int)
    if "landmark_seconds" in gold:  # time over the first LANDMARK_EVENTS browsing events; sessions with fewer: none
        seconds = gold["landmark_seconds"].astype(float)
        frame["landmark_time"] = np.log1p(seconds.fillna(0.0).clip(lower=0))
        frame["time_at_risk"] = seconds.notna().astype(int)
    return frame


def estimability(frame: pd.DataFrame, min_buyers: int) -> tuple[str, dict] | None:
    """Why purchase cannot be modelled on engagement and time here, as a code and its numbers, or None when it can.

    'too_few_buyers' or 'no_non_buyer' (buyers, sessions, min_buyers), or ``stats.constant_behaviour``'s code.
    """
    buyers = int(frame[Y].sum())
    if not min_buyers <= buyers < len(frame):
        code = "too_few_buyers" if buyers < min_buyers else "no_non_buyer"
        return code, {"buyers": buyers, "sessions": len(frame), "min_buyers": min_buyers}
    return stats.constant_behaviour(frame)


def nested_specs(controls: list[str]) -> dict[str, list[str]]:
    """The four nested models, smallest first."""
    return {
        "time only": ["time"],
        "engagement only": ["engagement"],
        "both": ["engagement", "time"],
        "both + controls": ["engagement", "time", *controls],
    }


def fit_logit(frame: pd.DataFrame, terms: list[str], groups: np.ndarray | None = None):
    """Unpenalised logistic regression of purchase on ``terms`` (statsmodels); standard errors
    clustered by user when ``groups`` is given (``stats.user_groups``), model-based otherwise."""
    import statsmodels.formula.api as smf  # here: 06 reads this module's results without loading the formulas

    formula = f"{Y} ~ " + (" + ".join(terms) if terms else "1")
    model = smf.logit(formula, data=stats.formula_data(frame, terms))
    return model.fit(disp=0, maxiter=200, **stats.cov_options(groups))


def fit_nested(
    frame: pd.DataFrame, controls: list[str], folds: int, seed: int, min_events_per_parameter: float = 10.0
) -> dict:
    """Fit each nested model; table of CV ROC-AUC / PR-AUC (mean and sd), AIC and LR tests; fit health."""
    specs = nested_specs(controls)
    fits, rows, oof, health = {}, [], {}, {}
    y = frame[Y].to_numpy()
    events = int(min(y.sum(), len(y) - y.sum()))
    groups = stats.user_groups(frame)
    for name, terms in specs.items():
        fits[name], health[name] = stats.checked_fit(
            fit_logit, frame, terms, groups, events=events, min_events_per_parameter=min_events_per_parameter
        )
        if fits[name] is None:
            continue
        cv = stats.cv_classifier_scores(stats.design(frame, terms), y, folds, seed, groups)
        oof[name] = cv.pop("oof")
        rows.append(
            {
                "model": name,
                "terms": " + ".join(terms),
                **cv,
                # AIC assumes independent sessions: not shown when errors are clustered by user
                "aic": float("nan") if groups is not None else fits[name].aic,
                "llf": fits[name].llf,
                "df": fits[name].df_model,
            }
        )
    table = pd.DataFrame(rows).set_index("model")
    for small, big in (("engagement only", "both"), ("time only", "both"), ("both", "both + controls")):
        if fits.get(small) is not None and fits.get(big) is not None:
            kind, p = nested_test(fits[small], fits[big])
            table.loc[big, f"{kind}_p_vs_{small.split()[0]}"] = p
    return {"fits": fits, "table": table, "oof": oof, "health": stats.combine_health(health)}


def nested_test(small, big) -> tuple[str, float]:
    """The test of a nested model against a bigger one: ('wald', p) of the joint cluster-robust Wald test of the
    added terms when the bigger fit's errors are clustered by user, else ('lr', p) of the likelihood-ratio test."""
    if stats.is_clustered(big):
        added = [n for n in big.params.index if n not in small.params.index]
        return "wald", stats.wald_joint(big, added)
    return "lr", lr_test(small, big)


def lr_test(small, big) -> float:
    """Likelihood-ratio test p-value of a nested model against a bigger one, fitted on the same rows."""
    if small.nobs != big.nobs:
        raise ValueError(
            f"a likelihood-ratio test needs both models on the same rows, got {small.nobs:,.0f} and {big.nobs:,.0f}"
        )
    dof = big.df_model - small.df_model
    from scipy import stats as sps

    return float(sps.chi2.sf(2 * (big.llf - small.llf), dof)) if dof > 0 else float("nan")


def per_sd_effects(fit, frame: pd.DataFrame, names=("engagement", "time")) -> pd.DataFrame:
    """Odds ratio per standard deviation of each feature, with a 95 % CI."""
    return stats.per_sd(fit, frame, names, np.exp, ("or_per_sd", "or_lo", "or_hi"))


def marginal_effects(fit, names=("engagement", "time")) -> pd.DataFrame:
    """Average marginal effects (change in purchase probability per log1p unit), delta-method 95 % CIs.

    Analytic, O(n x k) memory: AME_j = b_j * mean(p(1 - p)); its gradient in the coefficients is
    d_jk * mean(p(1 - p)) + b_j * mean(p(1 - p)(1 - 2p) x_k).
    """
    X = np.asarray(fit.model.exog)
    p = np.asarray(fit.predict())
    w = p * (1 - p)
    slope = (w * (1 - 2 * p)) @ X / len(p)
    cov = np.asarray(fit.cov_params())
    columns = list(fit.params.index)
    rows = []
    for name in names:
        if name not in columns:
            continue
        j = columns.index(name)
        beta = float(fit.params[name])
        grad = beta * slope
        grad[j] += w.mean()
        ame, se = beta * w.mean(), float(np.sqrt(grad @ cov @ grad))
        rows.append(
            {
                "feature": name,
                "ame": ame,
                "ame_lo": ame - stats.Z95 * se,
                "ame_hi": ame + stats.Z95 * se,
                "ame_p": float(2 * stats.normal_sf(abs(ame / se))),
            }
        )
    return pd.DataFrame(rows).set_index("feature")


def unit_effects(fit, frame: pd.DataFrame) -> list[UnitEffect]:
    """Points of conversion from one more event, or one more minute, before checkout, averaged over sessions.

    Each session's purchase probability is recomputed with its count raised by one unit (on the
    model's log1p scale, so a minute adds much to a short visit and little to a long one), the
    others held; the change is averaged over sessions. Its 95 % CI is the delta method over every
    coefficient with the fit's covariance (clustered by user when users repeat), as the AMEs: the
    level of each session's probability is uncertain too, not only the feature's coefficient.
    """
    from scipy.special import expit

    X = np.asarray(fit.model.exog, float)
    beta = np.asarray(fit.params, float)
    eta = X @ beta
    p0 = expit(eta)
    cov = np.asarray(fit.cov_params(), float)
    columns = list(fit.params.index)
    if getattr(fit, "use_t", False):  # fewer than 50 users: t on G - 1 df, as the fit's own CIs
        from scipy import stats as sps

        z = float(sps.t.ppf(0.975, float(getattr(fit, "df_resid_inference", None) or fit.df_resid)))
    else:
        z = stats.Z95
    out = []
    for name, unit, step in (("engagement", "event", 1.0), ("time", "minute", 60.0)):
        raw = np.expm1(frame[name].to_numpy())
        shift = np.log1p(raw + step) - np.log1p(raw)
        j = columns.index(name)
        p1 = expit(eta + beta[j] * shift)
        points = 100 * float(np.mean(p1 - p0))
        grad = ((p1 * (1 - p1) - p0 * (1 - p0)) @ X) / len(eta)
        grad[j] += float(np.mean(p1 * (1 - p1) * shift))
        half = 100 * z * float(np.sqrt(grad @ cov @ grad))
        out.append(UnitEffect(name, unit, points, points - half, points + half, float(np.median(raw) / step)))
    return out


def entanglement(frame: pd.DataFrame) -> dict:
    """Correlation of engagement and time, and their variance inflation factors."""
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    cols = [c for c in ("engagement", "time", "first_delay") if c in frame and frame[c].std() > 0]
    X = np.column_stack([np.ones(len(frame))] + [frame[c].to_numpy() for c in cols])
    vif = {c: float(variance_inflation_factor(X, i + 1)) for i, c in enumerate(cols)}
    return {"corr": float(frame["engagement"].corr(frame["time"])), "vif": vif}


AUDIT_DEFINITIONS = (
    ("browsing", "engagement", "time"),  # before the first checkout: the definition used
    ("browsing_with_cart", "engagement_cart", "time"),  # with the add-to-cart steps
    ("whole_session", "engagement_all", "time_all"),  # the whole session, funnel included
)


def leakage_audit(frame: pd.DataFrame, folds: int, seed: int) -> pd.DataFrame:
    """The 'both' model on the leakage-free counts used, on counts that add the cart steps, and on whole sessions."""
    y, groups = frame[Y].to_numpy(), stats.user_groups(frame)
    rows = []
    for label, eng, tim in AUDIT_DEFINITIONS:
        if eng not in frame:
            continue
        fit = fit_logit(frame, [eng, tim])
        cv = stats.cv_classifier_scores(stats.design(frame, [eng, tim]), y, folds, seed, groups)
        rows.append(
            {
                "features": label,
                "cv_auc": cv["auc"],
                "cv_auc_sd": cv["auc_sd"],
                "engagement_or_per_sd": float(np.exp(fit.params[eng] * frame[eng].std())),
                "time_or_per_sd": float(np.exp(fit.params[tim] * frame[tim].std())),
            }
        )
    return pd.DataFrame(rows).set_index("features")


LANDMARK_COLUMNS = {"engagement": ("landmark", "at_risk"), "time": ("landmark_time", "time_at_risk")}
CLEAR_CLASSES = ("positive", "negative", "negligible")  # a class an interval settles (not 'unclear')


@dataclass
class Landmark(results.Record):
    """A feature measured where it cannot include buying, the same way for buyers and non-buyers.

    Engagement: browsing in the first ``seconds`` of sessions still active then (a window of fixed
    length). Time: seconds to the session's browsing event number ``events`` (a fixed count of
    events), among sessions that reach it before any checkout. ``moved_pct`` is how far its per-SD
    odds ratio lies from the main model's; ``agrees`` holds only when both are material with one sign
    or both negligible, and ``believe`` says which reading to trust when they differ.
    """

    seconds: int
    feature: str = "engagement"  # 'engagement' or 'time'
    events: int = gold.LANDMARK_EVENTS
    main_verdict: str | None = None  # the main model's class of the same feature
    believe: str | None = None  # 'both' (they agree), 'landmark' (its class is clear), 'neither' (it is unclear)
    sessions: int = 0
    buyers: int = 0
    or_per_sd: float | None = None
    or_lo: float | None = None
    or_hi: float | None = None
    verdict: str = "not estimated"  # effect_class of the landmark odds ratio, or 'not estimated'
    agrees: bool | None = None  # both material with one sign, or both negligible
    moved_pct: float | None = None
    reason: str | None = None  # why not estimated: 'no_landmark_columns', 'too_few_buyers' or 'fit_unhealthy'
    min_buyers: int | None = None  # the buyers needed, when there were too few


def landmark(
    frame: pd.DataFrame,
    controls: list[str],
    main: pd.Series,
    negligible_or: float,
    min_buyers: int,
    feature: str = "engagement",
) -> Landmark:
    """Purchase on ``feature`` measured at the landmark (with controls), beside the main model's ``main`` row."""
    column, risk = LANDMARK_COLUMNS[feature]
    out = Landmark(seconds=gold.LANDMARK_SECONDS, feature=feature)
    if risk not in frame:
        out.reason = "no_landmark_columns"
        return out
    part = frame[frame[risk] == 1]
    out.sessions, out.buyers = len(part), int(part[Y].sum())
    if out.buyers < min_buyers or out.buyers == len(part) or part[column].nunique() < 2:
        out.reason, out.min_buyers = "too_few_buyers", min_buyers
        return out
    fit, health = stats.checked_fit(fit_logit, part, [column, *controls], stats.user_groups(part))
    if not health["ok"]:
        out.reason = "fit_unhealthy"
        return out
    sd = float(part[column].std())
    lo, hi = fit.conf_int().loc[column]
    out.or_per_sd, out.or_lo, out.or_hi = (float(np.exp(v * sd)) for v in (fit.params[column], lo, hi))
    out.verdict = effect_class(out, negligible_or)
    out.main_verdict = effect_class(main, negligible_or)
    out.agrees = out.verdict == out.main_verdict and out.verdict in CLEAR_CLASSES
    out.believe = "both" if out.agrees else ("landmark" if out.verdict in CLEAR_CLASSES else "neither")
    out.moved_pct = 100 * (out.or_per_sd / float(main.or_per_sd) - 1)
    return out


def _count_bins(x: pd.Series) -> pd.Series:
    """Ordered, non-overlapping bins of an event count: 0-1, 2, 3, 4-5, 6-9, 10+."""
    edges = [-1, 1, 2, 3, 5, 9, np.inf]
    labels = ["0-1", "2", "3", "4-5", "6-9", "10+"]
    return pd.cut(x, edges, labels=labels)


def _quantile_bins(x: pd.Series, q: int) -> pd.Series:
    """Equal-count bins of a continuous quantity, labelled by their range in seconds.

    Tied values never straddle a bin edge, so data with many equal values (zero-second sessions)
    get fewer, wider bins rather than duplicate ones.
    """
    codes = pd.qcut(x, q, labels=False, duplicates="drop")
    if codes.isna().all():  # a single value: one bin
        codes = pd.Series(0, index=x.index)
    edges = x.groupby(codes).agg(["min", "max"]).to_numpy()
    for digits in (0, 1, 2):
        labels = [f"{lo:.{digits}f}-{hi:.{digits}f}s" for lo, hi in edges]
        if len(set(labels)) == len(labels):
            break
    else:
        labels = [f"bin {k + 1}" for k in range(len(edges))]
    return pd.Categorical(codes.map(dict(enumerate(labels))), categories=labels, ordered=True)


def grid(gold: pd.DataFrame, q: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Conversion rate and session counts by event-count bin x time quintile."""
    eng = _count_bins(gold["pre_conversion_event_count"])
    tim = _quantile_bins(gold["pre_conversion_seconds"], q)
    table = gold.assign(eng=eng, tim=tim).groupby(["eng", "tim"], observed=False)[Y].agg(["mean", "size"])
    rate = table["mean"].unstack()
    size = table["size"].unstack()
    keep = size.sum(axis=1) > 0
    return rate[keep], size[keep].where(size[keep] > 0)


def binned_curve(gold: pd.DataFrame, col: str, bins: int = 10) -> pd.DataFrame:
    """Conversion by value (event counts, 1 to 10+) or by decile (seconds), with Wilson 95 % CIs (clustered by user
    when users repeat, ``stats.proportion_ci``)."""
    if col.endswith("count"):
        keys = gold[col].clip(lower=1, upper=10)
    else:
        keys = pd.qcut(gold[col].rank(method="first"), bins, labels=False)
    g = gold.groupby(keys).agg(x=(col, "median"), buyers=(Y, "sum"), n=(Y, "size"))
    if col.endswith("count"):
        g["x"] = g.index.astype(float)
    g["rate"] = g["buyers"] / g["n"]
    if stats.user_groups(gold) is None:
        g["lo"], g["hi"] = stats.wilson(g["buyers"], g["n"])
        return g
    bounds = [stats.proportion_ci(part[Y].to_numpy(), stats.user_groups(part)) for _, part in gold.groupby(keys)]
    g["lo"], g["hi"] = [b[0] for b in bounds], [b[1] for b in bounds]  # clustered by user: users repeat
    return g


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Calibration curve (quantile bins) and Brier score against the base-rate Brier score."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    frac, mean_pred = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    base = np.full_like(p, y.mean())
    brier, brier_base = brier_score_loss(y, p), brier_score_loss(y, base)
    return {
        "observed": frac,
        "predicted": mean_pred,
        "brier": float(brier),
        "brier_base": float(brier_base),
        "brier_skill": float(1 - brier / brier_base),
    }


def heterogeneity(frame: pd.DataFrame, by: str, min_buyers: int) -> pd.DataFrame:
    """Per-SD odds ratios of engagement and time within each level of ``by`` (overall SDs); ``note`` is a code
    ('too_few_buyers', 'fit_unhealthy') where a level is not estimated."""
    sds = {n: frame[n].std() for n in ("engagement", "time")}
    rows = []
    for level, part in frame.groupby(by):
        buyers = int(part[Y].sum())
        if buyers < min_buyers or buyers == len(part):
            rows.append(
                {
                    by: level,
                    "sessions": len(part),
                    "buyers": buyers,
                    "note": "too_few_buyers",
                }
            )
            continue
        fit, health = stats.checked_fit(
            fit_logit, part, ["engagement", "time"], stats.user_groups(part), events=min(buyers, len(part) - buyers)
        )
        if not health["ok"]:
            rows.append({by: level, "sessions": len(part), "buyers": buyers, "note": "fit_unhealthy"})
            continue
        ci = fit.conf_int()
        row = {by: level, "sessions": len(part), "buyers": buyers, "note": None}
        for n in ("engagement", "time"):
            row[f"{n}_or"] = np.exp(fit.params[n] * sds[n])
            row[f"{n}_lo"], row[f"{n}_hi"] = np.exp(ci.loc[n, 0] * sds[n]), np.exp(ci.loc[n, 1] * sds[n])
        rows.append(row)
    return pd.DataFrame(rows).set_index(by)


def truth_check(fit, truth: dict) -> pd.DataFrame:
    """Fitted coefficients (per log1p unit) beside the simulator's true values."""
    ci = fit.conf_int()
    rows = []
    for name, key in (("engagement", "engagement_effect"), ("time", "time_effect")):
        lo, hi = ci.loc[name, 0], ci.loc[name, 1]
        rows.append(
            {
                "effect": f"{name} -> purchase (log-odds per log1p unit)",
                "truth": truth[key],
                "estimate": fit.params[name],
                "ci_lo": lo,
                "ci_hi": hi,
                "covered": bool(lo <= truth[key] <= hi),
            }
        )
    return pd.DataFrame(rows).set_index("effect")


def effect_class(row, negligible_or: float) -> str:
    """'positive', 'negative', 'negligible' or 'unclear': where a per-SD odds-ratio CI lies against [1/x, x]."""
    with np.errstate(divide="ignore"):  # a separated fit can give an interval reaching 0 or infinity
        return stats.classify_interval(np.log(row.or_lo), np.log(row.or_hi), np.log(negligible_or))


def verdicts(
    effects: pd.DataFrame,
    effects_small: pd.DataFrame,
    table: pd.DataFrame,
    health: dict,
    negligible_or: float,
    alpha: float,
) -> dict:
    """The computed answers of 03, each from CIs, never from point estimates alone.

    ``effects`` come from the model with controls, ``effects_small`` from engagement + time alone
    (the answer must not change between them). A fit in poor health turns every answer 'unclear'.

    - ``engagement`` / ``time``: 'positive', 'negative', 'negligible' or 'unclear' (``effect_class``);
    - ``answer``: the feature with the clearly larger |log OR| ('engagement' or 'time'), 'neither'
      when both effects are negligible, else 'unclear';
    - ``time_adds``: 'yes' when time's CI lies outside the band and its Wald test in the model
      with controls (the one the classes come from, user-clustered when users repeat) rejects at
      ``alpha``; 'no' when its CI lies inside the band; else 'unclear'.
    """
    classes, strongest, separated, answer = _answer(effects, negligible_or)
    p_time = float(effects.loc["time", "p"])  # Wald test in the model the classes come from (clustered SEs)
    if classes["time"] in ("positive", "negative"):
        time_adds = "yes" if p_time < alpha else "unclear"
    else:
        time_adds = {"negligible": "no"}.get(classes["time"], "unclear")
    reasons = list(health["reasons"])
    if not health["ok"]:
        classes = dict.fromkeys(classes, "unclear")
        answer, time_adds = "unclear", "unclear"
    return {
        "answer": answer,
        "strongest": strongest,
        "strongest_clear": bool(separated),
        "engagement": classes["engagement"],
        "time": classes["time"],
        "time_adds": time_adds,
        "time_sign": "positive" if effects.loc["time", "coef"] > 0 else "negative",
        "stable": _answer(effects_small, negligible_or)[3] == answer,
        "healthy": bool(health["ok"]),
        "health_reasons": reasons,
        "p_time_given_engagement": p_time,
        "auc_gain_from_time": float(table.loc["both", "auc"] - table.loc["engagement only", "auc"]),
        "auc_engagement_only": float(table.loc["engagement only", "auc"]),
        "auc_time_only": float(table.loc["time only", "auc"]),
    }


def _answer(effects: pd.DataFrame, negligible_or: float) -> tuple[dict, str, bool, str]:
    """Each feature's class, the feature with the larger |log OR|, whether the two CIs separate, and the answer."""
    classes = {n: effect_class(effects.loc[n], negligible_or) for n in ("engagement", "time")}
    log_or = (effects["coef"] * effects["sd"]).loc[["engagement", "time"]]
    strongest = str(log_or.abs().idxmax())
    weaker = "time" if strongest == "engagement" else "engagement"
    separated = bool(_abs_log_interval(effects.loc[strongest])[0] > _abs_log_interval(effects.loc[weaker])[1])
    if classes["engagement"] == classes["time"] == "negligible":
        answer = "neither"
    elif separated and classes[strongest] in ("positive", "negative"):
        answer = strongest
    else:
        answer = "unclear"
    return classes, strongest, separated, answer


def _abs_log_interval(row) -> tuple[float, float]:
    """Interval of |log odds ratio| implied by a CI of the odds ratio."""
    with np.errstate(divide="ignore"):
        lo, hi = np.log(row.or_lo), np.log(row.or_hi)
    return (0.0 if lo < 0 < hi else min(abs(lo), abs(hi))), max(abs(lo), abs(hi))


# --------------------------------------------------------------------------------------------
# The analysis as one call: 03's whole pipeline and its typed result
# --------------------------------------------------------------------------------------------

CATEGORICAL = ["device", "traffic_source", "start_hour", "start_weekday"]
HETEROGENEITY_BY = ("device", "traffic_source")


@dataclass
class Settings(results.Settings):
    """03's settings: the parameters its notebook declares (defaults live in the notebook only)."""

    seed: int
    cv_folds: int
    alpha: float
    negligible_or: float
    min_buyers: int
    min_events_per_parameter: float
    min_level_events: int
    max_model_rows: int


@dataclass
class OddsEffect(results.Record):
    """One feature's coefficient (per log1p unit) and odds ratio per SD, each with a 95 % CI."""

    feature: str
    scale: str
    coef: float
    coef_lo: float
    coef_hi: float
    sd: float
    or_per_sd: float | None
    or_lo: float | None
    or_hi: float | None
    p: float | None


@dataclass
class Verdicts(results.Record):
    """03's computed answers (see ``verdicts``)."""

    answer: str
    strongest: str
    strongest_clear: bool
    engagement: str
    time: str
    time_adds: str
    time_sign: str
    stable: bool
    healthy: bool
    health_reasons: list[str]
    p_time_given_engagement: float | None
    auc_gain_from_time: float
    auc_engagement_only: float
    auc_time_only: float


@dataclass
class UnitEffect(results.Record):
    """Points of conversion per extra unit (an event, a minute) before checkout, with a 95 % CI."""

    feature: str
    unit: str
    points: float
    lo: float
    hi: float
    median: float  # the median session's count of that unit


@dataclass
class Calibration(results.Record):
    brier: float
    brier_base: float
    brier_skill: float


@dataclass
class Entanglement(results.Record):
    corr: float
    vif: dict[str, float]


@dataclass
class Evidence:
    """What 03's page shows beyond the record: frames, fits and tables (kept in memory only)."""

    sample: pd.DataFrame
    frame: pd.DataFrame
    fits: dict = field(default_factory=dict)
    models: pd.DataFrame | None = None
    oof: dict = field(default_factory=dict)
    audit: pd.DataFrame | None = None
    effects: pd.DataFrame | None = None
    ame: pd.DataFrame | None = None
    heterogeneity: dict[str, pd.DataFrame] = field(default_factory=dict)
    calibration: dict | None = None
    truth: pd.DataFrame | None = None


@dataclass
class ConversionResult(results.ModelledResult):
    """03's answer: who purchases, engagement or time on site."""

    NOTEBOOK: ClassVar[str] = "03_conversion"
    sessions: int = 0
    all_buyers: int = 0
    buyers: int = 0
    skipped_segments: list[str] = field(default_factory=list)
    leakage: list[dict] | None = None
    landmark: Landmark | None = None  # engagement in the first LANDMARK_SECONDS
    landmark_time: Landmark | None = None  # time to the LANDMARK_EVENTS-th browsing event
    clustering: stats.Clustering | None = None  # sessions per user; errors clustered by user when users repeat
    health: stats.Health | None = None  # typed here, declared by ModelledResult
    verdicts: Verdicts | None = None
    effects: list[OddsEffect] | None = None
    ame: list[dict] | None = None
    per_unit: list[UnitEffect] = field(default_factory=list)
    entanglement: Entanglement | None = None
    calibration: Calibration | None = None
    heterogeneity: dict[str, list[dict]] = field(default_factory=dict)
    negligible_or: float | None = None
    alpha: float | None = None
    evidence: Evidence | None = results.memory()

    def effect(self, feature: str) -> OddsEffect:
        """The per-SD effect of ``feature`` ('engagement' or 'time') from the model with controls."""
        return next(e for e in self.effects if e.feature == feature)

    def landmark_of(self, feature: str) -> Landmark | None:
        """The landmark check of ``feature`` ('engagement' or 'time')."""
        return self.landmark_time if feature == "time" else self.landmark

    def unit(self, feature: str) -> UnitEffect:
        """Points of conversion per extra event ('engagement') or minute ('time')."""
        return next(u for u in self.per_unit if u.feature == feature)

    def leakage_auc(self) -> tuple[float, float] | None:
        """Cross-validated AUC on leakage-free and on funnel-inclusive counts."""
        if not self.leakage:
            return None
        return self.leakage[0]["cv_auc"], self.leakage[-1]["cv_auc"]


def analyse(
    gold_dir: Path, settings: Settings, truth: dict | None = None, fitness: Fitness | None = None
) -> ConversionResult:
    """03's whole analysis on a gold table: sample, pool, fit, classify, check against the truth.

    ``fitness`` (01's record, ``helpers.data.fitness``) says what the data can support: a missing need
    makes the answer not estimable (its codes as the reason), a weakened one caps the badge.
    """
    s = settings
    n_sessions, n_buyers = gold.count_sessions(gold_dir), gold.count_buyers(gold_dir)
    # Larger tables are sampled while reading: only max_model_rows sessions are ever in memory.
    sample = gold.read_gold(gold_dir, GOLD_COLUMNS_READ, sample_rows=s.max_model_rows, seed=s.seed)
    frame = prepare(sample)
    buyers = int(frame[Y].sum())
    frame, pooled = stats.pool_sparse_levels(frame, CATEGORICAL, Y, s.min_level_events)
    controls, skipped = stats.usable_controls(frame, min(buyers, len(frame) - buyers), s.min_events_per_parameter)
    reason, values = estimability(frame, s.min_buyers) or (None, {})
    shape = needs.assess(fitness, ConversionResult.NOTEBOOK) if fitness is not None else None
    status = "ok" if reason is None else "insufficient"
    if reason is None and shape is not None and shape.not_estimable:  # too few buyers etc. stop it first
        status, reason = needs.NOT_ESTIMABLE_STATUS, ", ".join(r.code for r in shape.not_estimable)
    result = ConversionResult(
        status=status,
        reason=reason,
        reason_values=values,
        sessions=n_sessions,
        all_buyers=n_buyers,
        buyers=buyers,
        sampled=len(sample) < n_sessions,
        controls=controls,
        skipped_controls=skipped,
        pooled=pooled,
        evidence=Evidence(sample=sample, frame=frame),
    )
    if reason is None:
        _fit(result, s, truth)
    result.badge = badge(result) if shape is None else needs.cap_badge(badge(result), shape)
    return result


def _fit(result: ConversionResult, s: Settings, truth: dict | None) -> None:
    """Fill ``result`` with the fitted models, effects, checks and verdicts."""
    ev, controls = result.evidence, result.controls
    frame = ev.frame
    ev.audit = leakage_audit(frame, s.cv_folds, s.seed)
    nested = fit_nested(frame, controls, s.cv_folds, s.seed, s.min_events_per_parameter)
    ev.fits, ev.models, ev.oof = nested["fits"], nested["table"], nested["oof"]
    main_fit = ev.fits["both + controls"]
    ev.effects = per_sd_effects(main_fit, frame)
    effects_small = per_sd_effects(ev.fits["both"], frame)
    ev.ame = marginal_effects(main_fit)
    ev.calibration = calibration(frame[Y].to_numpy(), ev.oof["both + controls"])
    in_model = [c[2:-1] for c in controls if c.startswith("C(")]
    ev.heterogeneity = {by: heterogeneity(frame, by, s.min_buyers) for by in HETEROGENEITY_BY if by in in_model}
    result.skipped_segments = [by for by in HETEROGENEITY_BY if by not in in_model]
    if truth is not None:
        ev.truth = truth_check(main_fit, truth)
    v = verdicts(ev.effects, effects_small, ev.models, nested["health"], s.negligible_or, s.alpha)
    result.leakage = ev.audit.reset_index().to_dict(orient="records")
    result.landmark, result.landmark_time = (
        landmark(frame, controls, ev.effects.loc[f], s.negligible_or, s.min_buyers, f) for f in ("engagement", "time")
    )
    result.clustering = stats.clustering(frame)
    result.health = stats.Health.from_json(nested["health"])
    result.verdicts = Verdicts(**v)
    result.effects = [OddsEffect(**row) for row in ev.effects.reset_index().to_dict(orient="records")]
    result.ame = ev.ame.reset_index().to_dict(orient="records")
    result.per_unit = unit_effects(main_fit, frame)
    result.models = ev.models.reset_index().to_dict(orient="records")
    result.entanglement = Entanglement(**entanglement(frame))
    result.calibration = Calibration(**{k: ev.calibration[k] for k in ("brier", "brier_base", "brier_skill")})
    result.truth = None if ev.truth is None else [results.TruthRow(**r) for r in _records(ev.truth)]
    result.heterogeneity = {by: h.reset_index().to_dict(orient="records") for by, h in ev.heterogeneity.items()}
    result.negligible_or, result.alpha = s.negligible_or, s.alpha
    result.headline = headline(result)


def _records(table: pd.DataFrame) -> list[dict]:
    return table.reset_index().to_dict(orient="records")


def headline(result: ConversionResult) -> results.Headline:
    """The number 03's answer quotes: the per-SD odds ratio of the answer's feature (engagement when unclear)."""
    v = result.verdicts
    feature = v.answer if v.answer in ("engagement", "time") else v.strongest
    e = result.effect(feature)
    return results.Headline(
        feature=feature,
        estimate=e.or_per_sd,
        lo=e.or_lo,
        hi=e.or_hi,
        unit="odds_ratio_per_sd",
        specification="both + controls",
        rule="or_band_and_separation",  # per-SD OR CI against [1/x, x]; the answer's |log OR| CI clear of the other's
        verdict=v.answer,
        threshold=result.negligible_or,
    )


def badge(result: ConversionResult) -> results.Badge:
    """03's confidence badge with the rules it passed and failed."""
    if not result.ok:
        return results.Badge.from_rules(None, {})
    v = result.verdicts
    # the answer (which of the two is stronger) decides the level; whether time adds is a rule of it: left
    # unclear, it keeps the badge from high, not the answer from being told
    decided = v.answer != "unclear"
    clear = decided and v.time_adds != "unclear"
    return results.Badge.from_rules(
        decided,
        {
            "ci_clear_of_band": results.Rule("ci_clear_of_band", clear, threshold=result.negligible_or),
            "fits_healthy": v.healthy,
            "stable_without_controls": v.stable,
            "truth_covered": results.truth_covered(result.truth),
            "landmark_agrees": landmark_rule(result),
        },
    )


def landmark_rule(result: ConversionResult) -> results.Rule | None:
    """The landmark check of the headline's feature as a badge rule; None (no rule) when it was not estimated."""
    lm = result.landmark_of(result.headline.feature) if result.headline else None
    if lm is None or lm.agrees is None:
        return None
    return results.Rule("landmark_agrees", lm.agrees, lm.or_per_sd, result.negligible_or)


def heterogeneity_long(het: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-segment odds ratios of engagement and time stacked for one forest plot."""
    parts = [
        pd.DataFrame(
            {"or": h[f"{f}_or"].to_numpy(), "lo": h[f"{f}_lo"].to_numpy(), "hi": h[f"{f}_hi"].to_numpy(), "feature": f},
            index=[f"{by.replace('_', ' ')} {i} · {f}" for i in h.index],
        )
        for by, h in het.items()
        if "engagement_or" in h
        for f in ("engagement", "time")
    ]
    return pd.concat(parts).dropna() if parts else pd.DataFrame(columns=["or", "lo", "hi", "feature"])
