"""Statistics shared by the analysis notebooks: features, CV scores, intervals, equivalence.

Usage::

    from helpers.analysis import stats
    feats = stats.behaviour_features(gold)
    lo, hi = stats.wilson(successes, n)
    d, lo, hi = stats.smd_ci(a, b, level=0.90)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from helpers.analysis.results import Record


# The standard normal distribution as scipy.stats.norm computes it (the same functions, so the same digits),
# without importing scipy.stats: the result types' modules load for every page, and that import is half a second.
def normal_cdf(x):
    return ndtr(x)


def normal_sf(x):
    return ndtr(-np.asarray(x, float))


def normal_ppf(q):
    return ndtri(q)


Z95 = float(normal_ppf(0.975))

# Modelling scales of the behavioural features (log1p keeps zeros and tames long tails).
FEATURES = {
    "engagement": ("pre_conversion_event_count", "log1p(events before first checkout)"),
    "time": ("pre_conversion_seconds", "log1p(seconds before first checkout)"),
    "idle": ("pre_conversion_max_idle_seconds", "log1p(longest gap before the first checkout, s)"),
    "engagement_all": ("event_count", "log1p(all events, funnel included)"),
    "time_all": ("session_seconds", "log1p(all seconds, funnel included)"),
    "first_delay": ("first_event_delay_seconds", "log1p(seconds to first event)"),
}


def behaviour_features(gold: pd.DataFrame) -> pd.DataFrame:
    """Log1p-scaled behaviour columns plus context, one row per session."""
    out = pd.DataFrame(index=gold.index)
    for name, (col, _) in FEATURES.items():
        if col in gold:
            out[name] = np.log1p(gold[col].astype(float).fillna(0.0).clip(lower=0))
    for col in ("device", "traffic_source", "start_hour", "start_weekday"):
        if col in gold:  # a missing context value is a level of its own, so every model keeps every row
            out[col] = gold[col].astype(object).where(gold[col].notna(), "unknown")
    for col in ("did_purchase", "amount_usd", "user_id"):
        if col in gold:
            out[col] = gold[col]
    return out


CONTROLS = (
    ("device", "C(device)"),
    ("traffic_source", "C(traffic_source)"),
    ("start_weekday", "C(start_weekday)"),
    ("start_hour", "C(start_hour)"),
)


def usable_controls(
    frame: pd.DataFrame, events: int | None = None, min_events_per_parameter: float = 10.0, base_parameters: int = 3
) -> tuple[list[str], list[str]]:
    """Control terms with variation, kept within an outcome-events-per-parameter budget.

    Controls are added in the order of ``CONTROLS`` (then the delay to the first event) while the
    model keeps at least ``min_events_per_parameter`` outcome events per parameter; each control
    left out gets a code saying why: 'column:single_value', or 'column:few_events:k' (k more parameters
    than the outcome events allow).
    """
    budget = float("inf") if events is None else events / min_events_per_parameter
    used, terms, skipped = base_parameters, [], []
    candidates = [(col, term, frame[col].nunique() - 1 if col in frame else 0) for col, term in CONTROLS]
    candidates.append(("first_event_delay_seconds", "first_delay", 1))
    for col, term, size in candidates:
        source = "first_delay" if term == "first_delay" else col
        values = frame[source] if source in frame else pd.Series(dtype=object)
        varies = len(values) and values.nunique() > 1 and not (values.astype(str) == "unknown").all()
        if not varies:
            skipped.append(f"{col}:single_value")
        elif used + size > budget:
            skipped.append(f"{col}:few_events:{size}")
        else:
            terms.append(term)
            used += size
    return terms, skipped


# --------------------------------------------------------------------------------------------
# Users with several sessions: clustered inference
# --------------------------------------------------------------------------------------------


@dataclass
class Clustering(Record):
    """How the rows group into users, and whether standard errors are clustered by user."""

    rows: int = 0
    users: int = 0
    rows_per_user: float = 1.0
    max_rows_per_user: int = 1
    clustered: bool = False  # True when some user has more than one row


def clustering(frame: pd.DataFrame) -> Clustering:
    """Rows per user of ``frame`` (by ``user_id``); errors are clustered whenever a user repeats."""
    if "user_id" not in frame or frame["user_id"].isna().all() or not len(frame):
        return Clustering(rows=len(frame), users=len(frame))
    sizes = frame["user_id"].value_counts()
    return Clustering(
        rows=len(frame),
        users=int(sizes.size),
        rows_per_user=float(len(frame) / sizes.size),
        max_rows_per_user=int(sizes.max()),
        clustered=bool(sizes.max() > 1),
    )


def user_groups(frame: pd.DataFrame) -> np.ndarray | None:
    """Integer user codes of ``frame``'s rows when some user has several rows, else None (rows independent)."""
    if not clustering(frame).clustered:
        return None
    return pd.factorize(frame["user_id"])[0]


MIN_CLUSTERS_NORMAL = 50  # with fewer users than this, clustered tests and CIs use t with G - 1 degrees of freedom


def n_clusters(groups: np.ndarray | None) -> int | None:
    """The number of users among ``groups`` (None when rows are independent)."""
    return None if groups is None else int(np.count_nonzero(np.bincount(groups)))


def critical_value(level: float, groups: np.ndarray | None = None) -> float:
    """Two-sided critical value at ``level``: t on G - 1 df below ``MIN_CLUSTERS_NORMAL`` users, else normal."""
    g = n_clusters(groups)
    if g is not None and 1 < g < MIN_CLUSTERS_NORMAL:
        from scipy import stats as sps

        return float(sps.t.ppf(0.5 + level / 2, g - 1))
    return float(normal_ppf(0.5 + level / 2))


def two_sided_p(statistic: float, groups: np.ndarray | None = None) -> float:
    """Two-sided p-value of a Wald statistic: t on G - 1 df below ``MIN_CLUSTERS_NORMAL`` users, else normal."""
    g = n_clusters(groups)
    if g is not None and 1 < g < MIN_CLUSTERS_NORMAL:
        from scipy import stats as sps

        return float(2 * sps.t.sf(abs(statistic), g - 1))
    return float(2 * normal_sf(abs(statistic)))


def cov_options(groups: np.ndarray | None, otherwise: str = "nonrobust") -> dict:
    """statsmodels ``fit`` options: errors clustered by user when ``groups`` is given, else ``otherwise``.

    With fewer than ``MIN_CLUSTERS_NORMAL`` users, tests and CIs use t with G - 1 degrees of freedom
    (statsmodels' ``use_t`` under cluster covariance), not the normal.
    """
    if groups is None:
        return {"cov_type": otherwise}
    return {
        "cov_type": "cluster",
        "cov_kwds": {"groups": groups},
        "use_t": n_clusters(groups) < MIN_CLUSTERS_NORMAL,
    }


def is_clustered(fit) -> bool:
    """Whether a statsmodels fit's covariance is clustered (its LR test and AIC then assume independence wrongly)."""
    return str(getattr(fit, "cov_type", "")).startswith("cluster")


def wald_joint(fit, names) -> float:
    """p-value of the joint Wald test that every coefficient in ``names`` is 0, with the fit's own covariance.

    Under clustered errors this is the cluster-robust test; when the fit uses t (fewer than
    ``MIN_CLUSTERS_NORMAL`` users) the statistic is referred to F(q, G - 1), else to chi-squared(q).
    """
    from scipy import stats as sps

    names = [n for n in names if n in fit.params.index]
    if not names:
        return float("nan")
    b = np.asarray(fit.params[names], float)
    cov = np.asarray(fit.cov_params().loc[names, names], float)
    stat = float(b @ np.linalg.pinv(cov) @ b)
    q = len(names)
    if getattr(fit, "use_t", False):
        df = float(getattr(fit, "df_resid_inference", None) or fit.df_resid)
        return float(sps.f.sf(stat / q, q, df))
    return float(sps.chi2.sf(stat, q))


def clustered_mean_se(values: np.ndarray, groups: np.ndarray | None) -> float:
    """Standard error of a mean with rows grouped by user (CR1 sandwich; the plain SE when ``groups`` is None)."""
    values = np.asarray(values, float)
    n = values.size
    if n < 2:
        return float("nan")
    if groups is None:
        return float(values.std(ddof=1) / np.sqrt(n))
    totals = np.bincount(groups, weights=values - values.mean())
    g = int(np.count_nonzero(np.bincount(groups)))
    return float(np.sqrt(g / max(g - 1, 1) * np.sum(totals**2)) / n)


def mean_ci(values: np.ndarray, level: float = 0.95, groups: np.ndarray | None = None) -> tuple[float, float, float]:
    """Mean and its CI: Student's t with n - 1 df when rows are independent (honest for a handful of buyers);
    with ``groups`` (users with several rows) the CR1 clustered SE, with t at G - 1 df below
    ``MIN_CLUSTERS_NORMAL`` users and the normal above."""
    from scipy import stats as sps

    values = np.asarray(values, float)
    mean = float(values.mean())
    if groups is not None:
        groups = pd.factorize(np.asarray(groups))[0]
        half = critical_value(level, groups) * clustered_mean_se(values, groups)
        return mean, mean - half, mean + half
    half = float(sps.t.ppf(0.5 + level / 2, values.size - 1)) * float(values.std(ddof=1)) / np.sqrt(values.size)
    return mean, mean - half, mean + half


def proportion_ci(y: np.ndarray, groups: np.ndarray | None = None, level: float = 0.95) -> tuple[float, float]:
    """CI of a proportion: Wilson's when rows are independent; with users repeating, Wilson's at the effective
    sample size n / deff, where deff is the CR1 clustered variance over the binomial one (at least 1)."""
    y = np.asarray(y, float)
    n = y.size
    z = critical_value(level, groups)
    if groups is None or n < 2:
        lo, hi = wilson(y.sum(), n, z)
        return float(lo), float(hi)
    p = y.mean()
    se = clustered_mean_se(y, pd.factorize(np.asarray(groups))[0])
    deff = max(se**2 / (p * (1 - p) / n), 1.0) if 0 < p < 1 else 1.0
    n_eff = n / deff
    lo, hi = wilson(p * n_eff, n_eff, z)
    return float(lo), float(hi)


def ratio_of_sums_se(groups: int, sum_y: float, sum_x: float, sum_yy: float, sum_xy: float, sum_xx: float) -> float:
    """The CR1 (user-clustered, delta-method) SE of the ratio Σy / Σx from per-user sums y_u, x_u.

    sqrt(G / (G - 1) × Σ (y_u - m x_u)²) / Σx with m = Σy / Σx, where Σ (y_u - m x_u)² is expanded from
    Σy², Σxy and Σx²: the plain SE of a mean when every user has one row. The one formula behind the
    front page's conversion CI and the comparison of runs. Needs ``groups`` ≥ 2 and Σx > 0.
    """
    m = sum_y / sum_x
    residual = max(sum_yy - 2 * m * sum_xy + m * m * sum_xx, 0.0)
    return math.sqrt(groups / (groups - 1) * residual) / sum_x


def proportion_ci_from_sums(
    users: int, successes: float, rows: float, sum_ss: float, sum_sr: float, sum_rr: float, level: float = 0.95
) -> tuple[float, float]:
    """``proportion_ci`` from per-user sums (successes s_u and rows r_u of each user: Σs, Σr, Σs², Σs r, Σr²).

    For pages that hold totals, not rows (the front page, the comparison of runs): the same
    interval, with the CR1 variance of the ratio Σs / Σr.
    """
    z = float(normal_ppf(0.5 + level / 2))
    if 1 < users < MIN_CLUSTERS_NORMAL:
        from scipy import stats as sps

        z = float(sps.t.ppf(0.5 + level / 2, users - 1))
    if rows <= 0:
        return float("nan"), float("nan")
    p = successes / rows
    if users >= rows or users < 2 or not 0 < p < 1:
        lo, hi = wilson(successes, rows, z)
        return float(lo), float(hi)
    var = ratio_of_sums_se(users, successes, rows, sum_ss, sum_sr, sum_rr) ** 2
    n_eff = rows / max(var / (p * (1 - p) / rows), 1.0)
    lo, hi = wilson(p * n_eff, n_eff, z)
    return float(lo), float(hi)


def wilson(successes, n, z: float = Z95):
    """Wilson score interval for a proportion (arrays allowed)."""
    successes, n = np.asarray(successes, float), np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def smd(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (Cohen's d with pooled SD), b minus a."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    return float((b.mean() - a.mean()) / pooled) if pooled > 0 else 0.0


def logit_newton(
    X: np.ndarray,
    y: np.ndarray,
    start: np.ndarray | None = None,
    penalty: float = 1e-6,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> np.ndarray:
    """Logistic regression by Newton's method: intercept first, then one coefficient per column of ``X``.

    ``penalty`` is a ridge on the slopes (not the intercept), tiny by default: it keeps separated
    data finite and otherwise leaves the maximum-likelihood fit unchanged (scikit-learn's
    ``LogisticRegression(C=1 / penalty)``). Vectorised; the cost per step is one ``X' W X``;
    ``start`` (for example the fit on all rows, when fitting folds) saves most of the steps.
    """
    from scipy.special import expit

    A = np.column_stack([np.ones(len(y)), X])
    ridge = np.full(A.shape[1], penalty)
    ridge[0] = 0.0
    beta = np.zeros(A.shape[1]) if start is None else np.array(start, dtype=float)
    for _ in range(max_iter):
        p = expit(A @ beta)
        grad = A.T @ (y - p) - ridge * beta
        hess = (A * (p * (1 - p))[:, None]).T @ A + np.diag(ridge)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < tol:
            break
    return beta


def group_folds(y: np.ndarray, groups: np.ndarray, folds: int, seed: int):
    """(train, test) index pairs with each user's rows in one fold, stratified by whether the user has a positive.

    Users with at least one positive row are dealt round-robin over the folds in random order, then
    the others, so every fold holds about the same share of them (vectorised; scikit-learn's
    ``StratifiedGroupKFold`` does the same search user by user and takes minutes on 100,000 users).
    """
    rng = np.random.default_rng(seed)
    n_groups = int(groups.max()) + 1
    positive = np.bincount(groups, weights=y, minlength=n_groups) > 0
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    for flag in (True, False):
        members = rng.permutation(np.flatnonzero(positive == flag))
        fold_of_group[members] = np.arange(members.size) % folds
    fold = fold_of_group[groups]
    for k in range(folds):
        yield np.flatnonzero(fold != k), np.flatnonzero(fold == k)


def cv_classifier_scores(X: np.ndarray, y: np.ndarray, folds: int, seed: int, groups: np.ndarray | None = None) -> dict:
    """Stratified k-fold ROC-AUC and PR-AUC of a logistic model on standardised features.

    Mean and sd over folds, and the out-of-fold scores. The fit is ``logit_newton`` (an
    unpenalised fit in effect): Newton steps on all rows, then a few per fold from there. With
    ``groups`` (users) every user's rows stay in one fold, so no user is scored by a model that saw them.
    """
    from scipy.special import expit
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if groups is None:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y)
    else:
        splits = group_folds(y, groups, folds, seed)
    X = np.asarray(X, dtype=float)
    aucs, aps, oof = [], [], np.zeros(len(y))
    mean, sd = X.mean(axis=0), X.std(axis=0)
    everyone = logit_newton((X - mean) / np.where(sd == 0, 1.0, sd), y)  # each fold starts from here
    for train, test in splits:
        mean, sd = X[train].mean(axis=0), X[train].std(axis=0)
        sd[sd == 0] = 1.0
        beta = logit_newton((X[train] - mean) / sd, y[train], start=everyone)
        p = expit(beta[0] + ((X[test] - mean) / sd) @ beta[1:])
        oof[test] = p
        aucs.append(roc_auc_score(y[test], p))
        aps.append(average_precision_score(y[test], p))
    return {
        "auc": float(np.mean(aucs)),
        "auc_sd": float(np.std(aucs, ddof=1)),
        "pr_auc": float(np.mean(aps)),
        "pr_auc_sd": float(np.std(aps, ddof=1)),
        "oof": oof,
    }


def constant_behaviour(frame: pd.DataFrame) -> tuple[str, dict] | None:
    """Why engagement or time cannot be related to an outcome: every row of ``frame`` has the same value.

    The code ('constant_engagement' or 'constant_time') and the value every row has (events or seconds);
    None when both vary.
    """
    for name in ("engagement", "time"):
        if frame[name].nunique() < 2:
            return f"constant_{name}", {"value": float(np.expm1(frame[name].iloc[0]))}
    return None


def per_sd(fit, frame: pd.DataFrame, names, transform, columns: tuple[str, str, str]) -> pd.DataFrame:
    """Each feature's coefficient with its 95 % CI, and the three on a per-SD scale through ``transform``.

    ``columns`` names the transformed estimate, lower and upper bound (odds ratios for 03, % of
    spend for 04). Features the fit lacks are left out.
    """
    ci = fit.conf_int()
    rows = []
    for name in names:
        if name not in fit.params:
            continue
        sd = float(frame[name].std())
        coef = np.array([fit.params[name], ci.loc[name, 0], ci.loc[name, 1]])
        with np.errstate(over="ignore"):  # a separated fit has infinite odds ratios; its health says so
            scaled = transform(coef * sd)
        rows.append(
            {
                "feature": name,
                "scale": FEATURES[name][1],
                "coef": coef[0],
                "coef_lo": coef[1],
                "coef_hi": coef[2],
                "sd": sd,
                **dict(zip(columns, scaled, strict=True)),
                "p": fit.pvalues[name],
            }
        )
    return pd.DataFrame(rows).set_index("feature")


def formula_data(frame: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """``frame`` with each ``C(col)`` column as a categorical of its observed, sorted levels.

    The model is the one patsy builds from the raw column (the same levels, reference level and
    coefficient names); patsy only reads a categorical far faster than a column of Python objects.
    """
    data = frame.copy(deep=False)
    for term in terms:
        if term.startswith("C("):
            col = term[2:-1]
            data[col] = pd.Categorical(data[col])
    return data


def design(frame: pd.DataFrame, terms: list[str]) -> np.ndarray:
    """A numeric design matrix (no intercept) for sklearn from formula-like terms."""
    parts = []
    for term in terms:
        if term.startswith("C("):
            col = term[2:-1]
            parts.append(pd.get_dummies(frame[col].astype(str), prefix=col, drop_first=True, dtype=float))
        else:
            parts.append(frame[[term]].astype(float))
    return pd.concat(parts, axis=1).to_numpy() if parts else np.zeros((len(frame), 0))


def sample_rows(frame: pd.DataFrame, max_rows: int, seed: int) -> tuple[pd.DataFrame, bool]:
    """A uniform random sample of at most ``max_rows`` rows, and whether sampling happened."""
    if len(frame) <= max_rows:
        return frame, False
    return frame.sample(n=max_rows, random_state=seed).sort_index(), True


# --------------------------------------------------------------------------------------------
# Fit health: convergence, separation, conditioning, warnings, outcome events per parameter
# --------------------------------------------------------------------------------------------

MAX_CONDITION = 1_000.0  # condition number of the column-scaled design above which a fit is ill-conditioned
MAX_SE = 50.0  # a coefficient standard error above this (log-odds or log points) signals (quasi-)separation


def checked_fit(fit_function, *args, events: int | None = None, min_events_per_parameter: float = 10.0, **kwargs):
    """Run a statsmodels fit, catching its warnings; return ``(fit, health)``.

    ``health`` records convergence, separation, the condition number of the column-scaled design,
    the class of every warning raised, and outcome events per parameter (when ``events`` is given). A fit
    in poor health has ``health["ok"] = False`` and a list of codes ``health["reasons"]`` (``HEALTH_CODES``;
    their numbers are the record's own fields); it cannot support a verdict.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A ResourceWarning is the garbage collector noting that some other object (an event loop of the
        # kernel, a file) was never closed, whenever collection happens to run: it says nothing of the fit.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            fit = fit_function(*args, **kwargs)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, {
                "ok": False,
                "converged": False,
                "separation": False,
                "condition_number": None,
                "warnings": [],
                "events_per_parameter": None,
                "error": type(exc).__name__,
                "reasons": ["fit_failed"],
            }
    return fit, fit_health(fit, caught, events, min_events_per_parameter)


# The codes of a fit's health problems (``health["reasons"]``), worded by words.common.health_words
HEALTH_CODES = ("not_converged", "separation", "ill_conditioned", "few_events_per_parameter", "fit_failed")


def fit_health(fit, caught: list, events: int | None, min_events_per_parameter: float) -> dict:
    """Health record of a fitted statsmodels model (see ``checked_fit``); ``caught``: the warnings it raised.

    ``warnings`` holds each warning's class name once (a code); its message decides only whether it
    signals separation.
    """
    retvals = getattr(fit, "mle_retvals", None) or {}
    converged = bool(retvals.get("converged", True))
    bse = np.asarray(fit.bse, float)
    messages = [str(w.message).splitlines()[0] for w in caught]
    separation = any("separation" in m.lower() for m in messages) or bool(
        np.any(~np.isfinite(bse)) or np.any(bse > MAX_SE)
    )
    exog = np.asarray(fit.model.exog, float)
    norms = np.linalg.norm(exog, axis=0)
    cond = float(np.linalg.cond(exog / np.where(norms > 0, norms, 1.0))) if exog.size else 0.0
    k = int(exog.shape[1])
    epp = None if events is None else events / max(k, 1)
    reasons = []
    if not converged:
        reasons.append("not_converged")
    if separation:
        reasons.append("separation")
    if not np.isfinite(cond) or cond > MAX_CONDITION:
        reasons.append("ill_conditioned")
    if epp is not None and epp < min_events_per_parameter:
        reasons.append("few_events_per_parameter")
    return {
        "ok": not reasons,
        "converged": converged,
        "separation": separation,
        "condition_number": cond,
        "max_condition": MAX_CONDITION,
        "warnings": list(dict.fromkeys(w.category.__name__ for w in caught)),
        "events_per_parameter": epp,
        "min_events_per_parameter": min_events_per_parameter,
        "parameters": k,
        "reasons": reasons,
    }


@dataclass
class Health(Record):
    """The health of a page's fits: ok only when every fit is; the codes of its problems and the classes of the
    warnings raised, each once (which model raised which, with its numbers, is in ``models``)."""

    ok: bool = True
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    models: dict[str, dict] = field(default_factory=dict)


def combine_health(healths: dict[str, dict]) -> dict:
    """One record for several fits: ok only when every fit is; each problem's code and each warning's class once
    (by model in ``models``)."""
    reasons = list(dict.fromkeys(r for h in healths.values() for r in h["reasons"]))
    warned = list(dict.fromkeys(w for h in healths.values() for w in h["warnings"]))
    return {"ok": not reasons, "reasons": reasons, "warnings": warned, "models": healths}


def pool_sparse_levels(
    frame: pd.DataFrame, columns: list[str], outcome: str | None, min_events: int
) -> tuple[pd.DataFrame, list[str]]:
    """Pool levels of categorical ``columns`` with fewer than ``min_events`` outcome events into 'other (pooled)'.

    For a 0/1 ``outcome`` the events of a level are its rarer outcome (buyers or non-buyers); with
    ``outcome=None`` they are its rows. A level with very few outcome events gives a logit that
    cannot converge (separation); pooled, it still contributes its sessions. Returns the new frame
    and, per pooled column, the code 'column:levels pooled' (the page words it).
    """
    out, notes = frame.copy(), []
    if outcome is None:
        events = pd.Series(1, index=frame.index)
    else:
        y = frame[outcome]
        counts = (int(y.sum()), int(len(y) - y.sum()))
        events = y if counts[0] <= counts[1] else 1 - y
    for col in columns:
        if col not in out:
            continue
        counts = events.groupby(out[col].astype(str)).sum()
        sparse = counts.index[counts < min_events].tolist()
        if sparse and len(sparse) < len(counts):
            out[col] = out[col].astype(str).where(~out[col].astype(str).isin(sparse), "other (pooled)")
            notes.append(f"{col}:{len(sparse)}")  # a code: the column and how many of its levels were pooled
    return out, notes


def smd_ci(a, b, level: float) -> tuple[float, float, float]:
    """Standardised mean difference b - a with a normal-approximation CI (Hedges and Olkin's variance)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = smd(a, b)
    na, nb = a.size, b.size
    se = np.sqrt((na + nb) / (na * nb) + d**2 / (2 * (na + nb)))
    z = normal_ppf(0.5 + level / 2)
    return d, d - z * se, d + z * se


def auc_ci(y: np.ndarray, score: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """ROC-AUC with a Hanley-McNeil normal-approximation CI."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    auc = float(roc_auc_score(y, score))
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = np.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0))
    z = normal_ppf(0.5 + level / 2)
    return auc, max(0.0, auc - z * se), min(1.0, auc + z * se)


def classify_interval(lo: float, hi: float, band: float) -> str:
    """Where a CI lies against a no-material-effect band [-band, band] on an additive scale.

    'positive' (above the band), 'negative' (below it), 'negligible' (inside it) or 'unclear'
    (it crosses an edge of the band).
    """
    if lo > band:
        return "positive"
    if hi < -band:
        return "negative"
    if -band <= lo and hi <= band:
        return "negligible"
    return "unclear"


def tost_p(estimate: float, lo: float, hi: float, margin: float, level: float = 0.90) -> float:
    """p-value of the equivalence test (TOST) within ±``margin``, read from a symmetric CI at ``level`` (1 - 2 alpha).

    p < (1 - level) / 2 exactly when the CI lies inside the band, so the test and the interval agree.
    """
    se = (hi - lo) / (2 * normal_ppf(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = max(normal_sf((estimate + margin) / se), normal_sf((margin - estimate) / se))
    return float(p) if np.isfinite(p) else 1.0


def mde(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true effect a two-sided test at ``alpha`` detects with ``power``, given its standard error."""
    return float((normal_ppf(1 - alpha / 2) + normal_ppf(power)) * se)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given (family-wise error rate at any alpha)."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p, kind="stable")
    steps = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(steps, 1.0)
    return out
