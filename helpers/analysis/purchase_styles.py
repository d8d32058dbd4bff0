"""How do purchase styles arise? Cheap-many vs expensive-few buyers, by rule and by mixture model.

Usage::

    from helpers.analysis import purchase_styles
    result = purchase_styles.analyse(gold_dir, settings)      # 05's whole analysis, typed
    buyers, medians = purchase_styles.assign(gold)            # adds 'style'
    comparison = purchase_styles.compare_behaviour(buyers, margin=0.2)
    purchase_styles.verdict(comparison).browsing              # 'similar', 'different' or 'inconclusive'

"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from helpers.analysis import needs, results, stats
from helpers.data import gold as gold_table
from helpers.data.fitness import Fitness

CHEAP_MANY, EXPENSIVE_FEW, OTHER = "cheap-many", "expensive-few", "other"
BEHAVIOUR = {
    "pre_conversion_seconds": "duration before checkout (log1p s)",
    "pre_conversion_event_count": "events before checkout (log1p)",
    "pre_conversion_page_views": "page views before checkout (log1p)",
    "pre_conversion_max_idle_seconds": "longest idle gap before checkout (log1p s)",
}
# duration and volume, all measured before checkout: the funnel steps every buyer takes are left out
SIMILARITY_METRICS = ("pre_conversion_seconds", "pre_conversion_event_count", "pre_conversion_page_views")
CLASSIFIER_TERMS = ["engagement", "time", "idle"]  # pre-checkout browsing: events, time, longest idle gap
PERMUTATIONS = 199  # label permutations behind the classifier's p-value and CI
ALPHA = 0.05  # one-sided level of the permutation test ("above chance")


def assign(gold: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Buyers with a style from median splits of average item price and units bought.

    cheap-many: price at or below the median and units above the median; expensive-few: price
    above the median and units at or below it; everyone else: other.
    """
    buyers = gold[(gold["did_purchase"] == 1) & (gold["n_items"] > 0) & gold["avg_item_price_usd"].notna()].copy()
    price_median = float(buyers["avg_item_price_usd"].median())
    items_median = float(buyers["n_items"].median())
    cheap = buyers["avg_item_price_usd"] <= price_median
    many = buyers["n_items"] > items_median
    buyers["style"] = np.select([cheap & many, ~cheap & ~many], [CHEAP_MANY, EXPENSIVE_FEW], OTHER)
    return buyers, {"price_median": price_median, "items_median": items_median}


def why_not(gold: pd.DataFrame, buyers: pd.DataFrame, n_cheap: int, n_exp: int, min_buyers: int) -> tuple[str, dict]:
    """Why the styles cannot be compared on these data: a code and its numbers.

    'no_products_units', 'zero_prices', 'one_price' or 'too_few_per_style' (cheap_many, expensive_few, min_buyers).
    """
    if int(gold["did_purchase"].sum()) and buyers.empty:
        return "no_products_units", {}
    if len(buyers) and buyers["avg_item_price_usd"].max() == 0:
        return "zero_prices", {}
    if len(buyers) and buyers["avg_item_price_usd"].nunique() < 2:
        return "one_price", {}
    return "too_few_per_style", {"cheap_many": n_cheap, "expensive_few": n_exp, "min_buyers": min_buyers}


def mixture_agreement(buyers: pd.DataFrame, seed: int) -> dict:
    """Agreement of the rule with a 2-component Gaussian mixture on log price x log units."""
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    X = np.column_stack([np.log(buyers["avg_item_price_usd"]), np.log(buyers["n_items"])])
    comp = GaussianMixture(2, random_state=seed, n_init=3).fit_predict(X)
    two = buyers["style"].isin([CHEAP_MANY, EXPENSIVE_FEW]).to_numpy()
    # name each component after the style it overlaps most among rule-classified buyers
    exp_share = [
        np.mean(buyers["style"].to_numpy()[two & (comp == k)] == EXPENSIVE_FEW) if np.any(two & (comp == k)) else 0.5
        for k in (0, 1)
    ]
    names = np.where(np.asarray(exp_share) > 0.5, EXPENSIVE_FEW, CHEAP_MANY)[comp]
    agree = float(np.mean(names[two] == buyers["style"].to_numpy()[two])) if two.any() else float("nan")
    ari = float(adjusted_rand_score(buyers["style"].to_numpy()[two], names[two])) if two.any() else float("nan")
    return {"agreement": agree, "adjusted_rand": ari, "components": names}


MIXTURE_BOOTSTRAPS = 99  # simulated one-group samples behind the mixture's likelihood-ratio test
MIXTURE_MAX_ROWS = 2_000  # buyers the mixture test reads (a random sample above this)
MIXTURE_REG_COVAR = 1e-2  # covariance floor on standardised features: no component collapses onto one price
MIXTURE_MIN_LEVEL_ROWS = 20  # rows a unit level needs for its own price mean and SD under the null


def mixture_features(log_price: np.ndarray, units: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Standardised log price and log units, units spread uniformly within +-0.5 of their integer value
    (dequantised, so a mixture cannot score by putting a component on one unit count)."""
    X = np.column_stack([log_price, np.log(units - 0.5 + rng.random(units.size))])
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def two_component_lr(X: np.ndarray, seed: int) -> float:
    """Likelihood-ratio statistic 2 (log L of two Gaussian components - log L of one) on the rows of ``X``."""
    from sklearn.mixture import GaussianMixture

    one = GaussianMixture(1, reg_covar=MIXTURE_REG_COVAR, random_state=seed).fit(X)
    two = GaussianMixture(2, reg_covar=MIXTURE_REG_COVAR, random_state=seed, n_init=2).fit(X)
    return float(2 * len(X) * (two.score(X) - one.score(X)))


def unit_levels(units: np.ndarray, min_rows: int = MIXTURE_MIN_LEVEL_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """The unit counts seen and the level each belongs to: one level per count, the largest counts pooled into
    one top level until it holds at least ``min_rows`` rows (or all rows)."""
    counts_seen, rows = np.unique(units, return_counts=True)
    from_top = np.cumsum(rows[::-1])[::-1]  # rows at this count or above
    full = np.flatnonzero(from_top >= min_rows)
    return counts_seen, np.minimum(np.arange(counts_seen.size), full.max() if full.size else 0)


def mixture_test(
    buyers: pd.DataFrame, seed: int, bootstraps: int = MIXTURE_BOOTSTRAPS, max_rows: int = MIXTURE_MAX_ROWS
) -> dict:
    """Parametric-bootstrap likelihood-ratio test of one group against two on log price x log units.

    The statistic is ``two_component_lr``. Under the null the buyers are one group in which log price
    depends on units: normal with the mean and SD of its unit level (``unit_levels``: the spread of the
    average price narrows as an order holds more items, and its centre may move with them), and units
    drawn from their observed values. ``bootstraps`` samples from that one group, each through the same
    dequantising and fit, give the p-value (1 + b) / (1 + B). Two groups are then what a mixture finds
    beyond price's dependence on units: price bimodal at some unit counts, not a trend across them.
    (BIC is not used: units are discrete, so extra components buy likelihood on the integers whether or
    not there are groups; a null with one normal price for all unit counts rejects one group too often.)
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x313]))
    part = buyers if len(buyers) <= max_rows else buyers.sample(n=max_rows, random_state=seed)
    log_price = np.log(part["avg_item_price_usd"].to_numpy(float))
    units = part["n_items"].to_numpy(float)
    n = units.size
    if n < 10 or log_price.std() == 0:
        return {"lr": None, "p": None, "bootstraps": 0, "rows": n}
    counts_seen, level_of = unit_levels(units)
    level = level_of[np.searchsorted(counts_seen, units)]
    k = int(level_of[-1]) + 1
    rows = np.bincount(level, minlength=k)
    mean = np.bincount(level, log_price, k) / rows
    sd = np.sqrt(np.bincount(level, (log_price - mean[level]) ** 2, k) / rows)
    sd = np.where(sd > 0, sd, log_price.std())  # a level of one price: the overall spread
    null = np.empty(bootstraps)
    with threadpool_limits(1):  # many small fits: threads only wait on each other (ten times slower on 2 cores)
        observed = two_component_lr(mixture_features(log_price, units, rng), seed)
        for b in range(bootstraps):
            drawn = units[rng.integers(0, n, n)]
            at = level_of[np.searchsorted(counts_seen, drawn)]
            price = mean[at] + sd[at] * rng.standard_normal(n)
            null[b] = two_component_lr(mixture_features(price, drawn, rng), seed)
    p = float((1 + np.sum(null >= observed)) / (1 + bootstraps))
    return {"lr": observed, "p": p, "bootstraps": bootstraps, "rows": n}


def metric_verdict(lo90: float, hi90: float, lo95: float, hi95: float, margin: float) -> str:
    """One behaviour metric's SMD against the equivalence band [-margin, margin].

    'equivalent': the 90 % CI lies inside the band (TOST at 5 %); 'different': the 95 % CI lies
    wholly outside it (a material difference); 'small difference': the 95 % CI excludes zero but
    reaches into the band; otherwise 'inconclusive'.
    """
    if -margin < lo90 and hi90 < margin:
        return "equivalent"
    if lo95 > margin or hi95 < -margin:
        return "different"
    if lo95 > 0 or hi95 < 0:
        return "small difference"
    return "inconclusive"


def smd_ci(xa: np.ndarray, xb: np.ndarray, level: float, ga=None, gb=None) -> tuple[float, float, float]:
    """SMD b - a with a normal CI: Hedges-Olkin's variance, or clustered by user when user codes are given.

    ``ga`` and ``gb`` are the user codes of the rows of ``xa`` and ``xb`` (one coding for both: a
    user may hold rows of both styles). See ``clustered_smd_se``.
    """
    if ga is None or gb is None:
        return stats.smd_ci(xa, xb, level)
    d = stats.smd(xa, xb)
    critical = stats.critical_value(level, np.concatenate([ga, gb]))  # t on G - 1 df below 50 users
    half = critical * clustered_smd_se(xa, xb, ga, gb)
    return d, d - half, d + half


def clustered_smd_se(xa: np.ndarray, xb: np.ndarray, ga: np.ndarray, gb: np.ndarray) -> float:
    """Standard error of the SMD b - a with rows grouped by user (linearisation).

    var(d) = var_cl(diff of means) / s^2 + deff * d^2 / (2N): the difference in means gets the
    CR1 variance of its influence summed by user; the SD term of Hedges-Olkin is scaled by the
    design effect deff = var_cl / var_naive (at least 1), since the SD comes from the same rows.
    """
    xa, xb = np.asarray(xa, float), np.asarray(xb, float)
    na, nb = xa.size, xb.size
    influence = np.concatenate([-(xa - xa.mean()) / na, (xb - xb.mean()) / nb])
    groups = np.concatenate([ga, gb])
    totals = np.bincount(groups, weights=influence)
    users = int(np.count_nonzero(np.bincount(groups)))
    var_cl = users / max(users - 1, 1) * float(np.sum(totals**2))
    s2 = ((na - 1) * xa.var(ddof=1) + (nb - 1) * xb.var(ddof=1)) / (na + nb - 2)
    if s2 <= 0:
        return 0.0
    deff = max(var_cl / (s2 * (1 / na + 1 / nb)), 1.0)
    d = (xb.mean() - xa.mean()) / np.sqrt(s2)
    return float(np.sqrt(var_cl / s2 + deff * d**2 / (2 * (na + nb))))


def as_ratio(xa: np.ndarray, xb: np.ndarray, d: float, lo: float, hi: float, margin: float) -> dict:
    """An SMD on the log1p scale in a reader's units: expensive-few's metric (+1) as a multiple of cheap-many's
    (geometric means), with the CI ``lo``-``hi`` and the equivalence band ±``margin`` SD as multiples too, and
    each group's median of the metric itself (events, seconds)."""
    s = float(np.sqrt(((xa.size - 1) * xa.var(ddof=1) + (xb.size - 1) * xb.var(ddof=1)) / (xa.size + xb.size - 2)))
    return {
        "ratio": float(np.exp(d * s)),
        "ratio_lo90": float(np.exp(lo * s)),
        "ratio_hi90": float(np.exp(hi * s)),
        "ratio_band": float(np.exp(margin * s)),
        "median_a": float(np.median(np.expm1(xa))),
        "median_b": float(np.median(np.expm1(xb))),
    }


def compare_behaviour(buyers: pd.DataFrame, margin: float, alpha: float = ALPHA) -> pd.DataFrame:
    """Expensive-few against cheap-many on each behaviour (log1p scale): SMD with 90 % and 95 % CIs, verdict.

    The CIs are clustered by user when a user has several buyer sessions, else Hedges-Olkin's. The
    '90 %' CI is the one the equivalence test (TOST at ``alpha``) reads, level 1 - 2 alpha; ``tost_p``
    is that test's p-value (below ``alpha`` exactly when the CI lies inside ±``margin``).
    """
    two = buyers[buyers["style"].isin([CHEAP_MANY, EXPENSIVE_FEW])]
    is_b = (two["style"] == EXPENSIVE_FEW).to_numpy()
    groups = stats.user_groups(two)
    ga, gb = (None, None) if groups is None else (groups[~is_b], groups[is_b])
    rows = []
    for col, label in BEHAVIOUR.items():
        if col not in buyers:
            continue
        x = np.log1p(two[col].to_numpy(float))
        xa, xb = x[~is_b], x[is_b]
        d, lo95, hi95 = smd_ci(xa, xb, 0.95, ga, gb)
        _, lo90, hi90 = smd_ci(xa, xb, 1 - 2 * alpha, ga, gb)
        rows.append(
            {
                "metric": label,
                "column": col,
                "n_a": xa.size,
                "n_b": xb.size,
                "smd": d,
                "smd_lo": lo95,
                "smd_hi": hi95,
                "smd_lo90": lo90,
                "smd_hi90": hi90,
                "verdict": metric_verdict(lo90, hi90, lo95, hi95, margin),
                "tost_p": stats.tost_p(d, lo90, hi90, margin, 1 - 2 * alpha),
                **as_ratio(xa, xb, d, lo90, hi90, margin),
            }
        )
    return pd.DataFrame(rows).set_index("metric")


# --------------------------------------------------------------------------------------------
# The classifier: grouped cross-validation and a permutation test, many label vectors at once
# --------------------------------------------------------------------------------------------


@dataclass
class Classifier(results.Record):
    """What pre-checkout browsing adds, given context, to telling expensive-few from cheap-many.

    ``auc`` is the out-of-fold AUC of browsing + context controls, ``auc_controls`` that of the
    controls alone on the same folds, ``gain`` their difference; the CIs are percentile bootstraps
    over users of the out-of-fold scores; ``p`` is the one-sided permutation p-value of the gain with
    styles permuted within strata of device and traffic source (whole users when users repeat).
    """

    auc: float
    lo: float
    hi: float
    p: float
    above_chance: bool  # browsing adds to context: the gain's permutation p <= ALPHA
    permutations: int
    features: list[str]
    folds: int
    grouped: bool = False  # folds, permutations and the bootstrap keep each user's rows together
    auc_controls: float | None = None
    gain: float | None = None
    gain_lo: float | None = None
    gain_hi: float | None = None
    bootstraps: int = 0


def classifier_features(controls: list[str]) -> list[str]:
    """The classifier's terms: pre-checkout browsing, then the context controls when used."""
    return [*CLASSIFIER_TERMS, *controls]


def fold_ids(y: np.ndarray, groups: np.ndarray | None, folds: int, seed: int) -> np.ndarray:
    """Each row's fold: stratified by style, with each user's rows in one fold when users repeat.

    Rows are split by scikit-learn's ``StratifiedKFold``; users by ``stats.group_folds`` (the
    stratified group folds 03 and 04 use, vectorised).
    """
    from sklearn.model_selection import StratifiedKFold

    if groups is None:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y)
    else:
        splits = stats.group_folds(y, groups, folds, seed)
    out = np.empty(len(y), dtype=int)
    for k, (_, test) in enumerate(splits):
        out[test] = k
    return out


def permuted_rows(
    groups: np.ndarray | None,
    n: int,
    permutations: int,
    rng: np.random.Generator,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """Row indices of relabellings, one per line; the first line is the identity (the observed labels).

    Rows are shuffled when ``groups`` is None. Otherwise whole users are: each user takes the rows
    (labels and folds) of another user with as many rows, so labels stay together within users.
    With ``strata`` (an integer code per row) labels move only within a stratum (a user's stratum
    is that of its first row), so the permutation keeps what the strata explain.
    """
    index = np.tile(np.arange(n), (permutations + 1, 1))
    strata = np.zeros(n, dtype=np.int64) if strata is None else pd.factorize(np.asarray(strata))[0]
    if groups is None:
        for code in np.unique(strata):
            rows = np.flatnonzero(strata == code)
            index[1:, rows] = rows[rng.permuted(np.tile(np.arange(rows.size), (permutations, 1)), axis=1)]
        return index
    order = np.lexsort((np.arange(n), groups))  # rows by user
    size_of_row = np.bincount(groups)[groups[order]]
    first = np.r_[True, groups[order][1:] != groups[order][:-1]]
    stratum_of_row = np.repeat(strata[order][first], np.bincount(groups)[groups[order][first]])
    keys = size_of_row * (int(strata.max()) + 1) + stratum_of_row
    for key in np.unique(keys):
        size = int(size_of_row[keys == key][0])
        users = order[keys == key].reshape(-1, size)  # one line per user with this many rows in this stratum
        shuffled = rng.permuted(np.tile(np.arange(len(users)), (permutations, 1)), axis=1)
        index[1:, users] = users[shuffled]
    return index


def bootstrap_rows(groups: np.ndarray | None, n: int, replicates: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices of ``replicates`` bootstrap resamples: of rows, or of whole users when ``groups`` is given."""
    if groups is None:
        return list(rng.integers(0, n, size=(replicates, n)))
    order = np.argsort(groups, kind="stable")
    sizes = np.bincount(groups)
    ends = np.cumsum(sizes)
    out = []
    for _ in range(replicates):
        users = rng.integers(0, sizes.size, size=sizes.size)
        take = np.repeat(ends[users] - sizes[users], sizes[users])
        offset = np.arange(take.size) - np.repeat(np.cumsum(sizes[users]) - sizes[users], sizes[users])
        out.append(order[take + offset])
    return out


def bootstrap_auc(y: np.ndarray, score: np.ndarray, rows: list[np.ndarray]) -> np.ndarray:
    """ROC-AUC of ``score`` against 0/1 ``y`` on each bootstrap resample (NaN when one holds a single class)."""
    out = np.full(len(rows), np.nan)
    for k, r in enumerate(rows):
        if 0 < y[r].sum() < r.size:
            out[k] = batched_auc(y[r][None, :], score[r][None, :])[0]
    return out


def batched_logit(
    A: np.ndarray, Y: np.ndarray, train: np.ndarray, penalty: float = 1e-6, max_iter: int = 50, tol: float = 1e-7
) -> np.ndarray:
    """Many logistic fits at once sharing the design ``A`` (n x k, intercept first); returns B x k coefficients.

    Line b of ``Y`` (B x n, 0/1) is fitted on the rows where line b of ``train`` is 1; ``penalty``
    is ``stats.logit_newton``'s tiny ridge on the slopes. Newton's method, vectorised over the fits
    still moving (a fit stops when no coefficient moves by ``tol``): each Hessian is one product of
    the weights with every row's distinct outer-product entries, recomputed while the fit's steps
    are large and reused once they are small (near the optimum it changes little).
    """
    k = A.shape[1]
    upper = np.triu_indices(k)
    products = A[:, upper[0]] * A[:, upper[1]]
    ridge = np.full(k, penalty)
    ridge[0] = 0.0
    beta, hess = np.zeros((Y.shape[0], k)), np.zeros((Y.shape[0], k, k))
    share = np.clip((Y * train).sum(axis=1) / train.sum(axis=1), 1e-6, 1 - 1e-6)
    beta[:, 0] = np.log(share / (1 - share))
    active, stale = np.arange(Y.shape[0]), np.ones(Y.shape[0], bool)
    for _ in range(max_iter):
        y, t = Y[active], train[active]
        p = 0.5 + 0.5 * np.tanh(0.5 * (beta[active] @ A.T))  # the logistic function, without overflow
        renew = active[stale[active]]
        if renew.size:
            w = (train[renew] * p[stale[active]] * (1 - p[stale[active]])) @ products
            h = np.zeros((renew.size, k, k))
            h[:, upper[0], upper[1]] = w
            hess[renew] = h + np.triu(h, 1).transpose(0, 2, 1) + np.diag(ridge)
        grad = (t * (y - p)) @ A - ridge * beta[active]
        step = np.linalg.solve(hess[active], grad[..., None])[..., 0]
        beta[active] += step
        moved = np.abs(step).max(axis=1)
        stale[active] = moved > 1e-3
        active = active[moved >= tol]
        if not active.size:
            break
    return beta


def batched_oof(X: np.ndarray, Y: np.ndarray, F: np.ndarray, folds: int) -> np.ndarray:
    """Out-of-fold scores (log-odds) of a logistic model for each line of labels ``Y`` with folds ``F`` (B x n)."""
    sd = X.std(axis=0)
    A = np.column_stack([np.ones(len(X)), (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)])
    oof = np.zeros(Y.shape)
    for fold in range(folds):
        test = F == fold
        oof = np.where(test, batched_logit(A, Y, (~test).astype(float)) @ A.T, oof)
    return oof


def batched_auc(Y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC-AUC of each line of ``scores`` against the same line of 0/1 ``Y`` (Mann-Whitney, ties halved)."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    n1 = Y.sum(axis=1)
    return ((ranks * Y).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * (Y.shape[1] - n1))


BOOTSTRAPS = 200  # user resamples behind the CIs of the AUC and its gain over the controls


def control_strata(frame: pd.DataFrame, controls: list[str]) -> np.ndarray | None:
    """An integer code per row for the combination of the categorical controls device and traffic source used."""
    cols = [c[2:-1] for c in controls if c in ("C(device)", "C(traffic_source)")]
    if not cols:
        return None
    return pd.factorize(frame[cols].astype(str).agg("|".join, axis=1))[0]


def predictability(
    buyers: pd.DataFrame,
    controls: list[str],
    folds: int,
    seed: int,
    permutations: int = PERMUTATIONS,
    bootstraps: int = BOOTSTRAPS,
) -> Classifier:
    """What pre-checkout browsing adds, given context, to telling expensive-few from cheap-many.

    Price is left out on purpose: the styles are defined by price, so a price model would score
    near 1 by construction. Two logistic models are cross-validated on the same folds (a user's
    rows in one fold): browsing + the context ``controls``, and the controls alone; the question is
    the gain in out-of-fold AUC, since a style that differs by device alone lifts the first model's
    AUC through the controls. The p-value (H0: browsing adds nothing given the context) ranks the
    gain among ``permutations`` relabellings within strata of device and traffic source (whole users
    when they repeat), each with both cross-validations refitted; 'above chance' needs p <= ``ALPHA``.
    The CIs of the AUC and the gain are percentile bootstraps over users of the out-of-fold scores.
    """
    two = buyers[buyers["style"].isin([CHEAP_MANY, EXPENSIVE_FEW])]
    features = stats.behaviour_features(two)
    X = stats.design(features, ["engagement", "time", "idle", *controls])
    X_controls = stats.design(features, list(controls))
    y = (two["style"] == EXPENSIVE_FEW).to_numpy().astype(float)
    groups = stats.user_groups(two)
    rng = np.random.default_rng(seed)
    rows = permuted_rows(groups, len(y), permutations, rng, control_strata(features, controls))
    labels, folds_of = y[rows], fold_ids(y, groups, folds, seed)[rows]
    scores = batched_oof(X, labels, folds_of, folds)
    aucs = batched_auc(labels, scores)
    if X_controls.shape[1]:
        scores_controls = batched_oof(X_controls, labels, folds_of, folds)
        aucs_controls = batched_auc(labels, scores_controls)
    else:  # no controls: the controls-only model knows nothing
        scores_controls, aucs_controls = np.zeros_like(scores), np.full(len(aucs), 0.5)
    gains = aucs - aucs_controls
    gain, null = float(gains[0]), gains[1:]
    p = float((1 + np.sum(null >= gain)) / (1 + permutations))
    boot = bootstrap_rows(groups, len(y), bootstraps, rng)
    boot_full = bootstrap_auc(y, scores[0], boot)
    boot_gain = boot_full - (bootstrap_auc(y, scores_controls[0], boot) if X_controls.shape[1] else 0.5)
    lo, hi = np.nanpercentile(boot_full, [2.5, 97.5])
    gain_lo, gain_hi = np.nanpercentile(boot_gain, [2.5, 97.5])
    return Classifier(
        auc=float(aucs[0]),
        lo=float(lo),
        hi=float(hi),
        p=p,
        above_chance=p <= ALPHA,
        permutations=permutations,
        features=classifier_features(controls),
        folds=folds,
        grouped=groups is not None,
        auc_controls=float(aucs_controls[0]),
        gain=gain,
        gain_lo=float(gain_lo),
        gain_hi=float(gain_hi),
        bootstraps=bootstraps,
    )


def money(buyers: pd.DataFrame) -> pd.DataFrame:
    """Revenue and gross margin per buyer by style, with normal-approximation 95 % CIs."""
    rows = []
    total = buyers["amount_usd"].sum()
    for style, part in buyers.groupby("style"):
        row = {
            "style": style,
            "buyers": len(part),
            "share_of_revenue": part["amount_usd"].sum() / total if total else np.nan,
        }
        for col, name in (("amount_usd", "revenue"), ("gross_margin_usd", "margin")):
            known = part[part[col].notna()]
            values = known[col].to_numpy(float)
            if values.size < 2:
                row[f"{name}_per_buyer"] = row[f"{name}_lo"] = row[f"{name}_hi"] = np.nan
                continue
            groups = stats.user_groups(known)  # clustered by user when a user buys in several sessions
            row[f"{name}_per_buyer"], row[f"{name}_lo"], row[f"{name}_hi"] = stats.mean_ci(values, groups=groups)
        rows.append(row)
    return pd.DataFrame(rows).set_index("style")


def higher_margin_style(money_table: pd.DataFrame) -> str | None:
    """The style whose margin-per-buyer CI lies wholly above the other's, or None when they overlap."""
    m = money_table.reindex([CHEAP_MANY, EXPENSIVE_FEW])
    if m["margin_per_buyer"].isna().any():
        return None
    for style, other in ((CHEAP_MANY, EXPENSIVE_FEW), (EXPENSIVE_FEW, CHEAP_MANY)):
        if m.loc[style, "margin_lo"] > m.loc[other, "margin_hi"]:
            return style
    return None


@dataclass
class BrowsingCheck(results.Record):
    """Whether the two styles browse alike: overall, by metric, and for idle gaps."""

    browsing: str
    by_metric: dict[str, str] = field(default_factory=dict)
    idle: str = "not measured"
    tost_p: float | None = None  # the equivalence test's p: the largest over duration and volume (intersection-union)
    alpha: float = ALPHA  # its level; 'similar' exactly when tost_p < alpha (every 1 - 2 alpha CI inside the band)


def verdict(comparison: pd.DataFrame) -> BrowsingCheck:
    """'similar' when duration and volume are all equivalent (intersection-union); 'different' when any
    differs materially; else 'inconclusive'."""
    sub = comparison[comparison["column"].isin(SIMILARITY_METRICS)]
    states = dict(zip(sub["column"], sub["verdict"]))
    if states and all(v == "equivalent" for v in states.values()):
        overall = "similar"
    elif any(v == "different" for v in states.values()):
        overall = "different"
    else:
        overall = "inconclusive"
    idle = comparison.set_index("column")["verdict"].get("pre_conversion_max_idle_seconds", "not measured")
    tost = float(sub["tost_p"].max()) if "tost_p" in sub and len(sub) else None
    return BrowsingCheck(overall, states, idle, tost, ALPHA)


def browsing_check(
    gold: pd.DataFrame, margin: float, min_buyers: int, max_rows: int | None = None, seed: int = 0
) -> BrowsingCheck:
    """05's browsing verdict straight from the gold table's buyer sessions (04 reads it to flag confounding).

    One rule for 'alike': the same buyers as 05 (styles assigned on all, then 05's sample of
    ``max_rows`` with ``seed``), the same equivalence test at ``ALPHA``, so 04 and 05 cannot disagree.
    """
    buyers, _ = assign(gold)
    if max_rows is not None:
        buyers, _ = stats.sample_rows(buyers, max_rows, seed)
    counts = buyers["style"].value_counts()
    if min(counts.get(CHEAP_MANY, 0), counts.get(EXPENSIVE_FEW, 0)) < min_buyers:
        return BrowsingCheck("not estimated", {}, "not estimated")
    return verdict(compare_behaviour(buyers, margin))


# --------------------------------------------------------------------------------------------
# The analysis as one call: 05's whole pipeline and its typed result
# --------------------------------------------------------------------------------------------


@dataclass
class Settings(results.Settings):
    """05's settings: the parameters its notebook declares (defaults live in the notebook only)."""

    seed: int
    cv_folds: int
    equivalence_margin: float
    min_buyers: int
    max_model_rows: int


@dataclass
class SmdRow(results.Record):
    """Expensive-few minus cheap-many on one behaviour metric: SMD with 95 % and 90 % CIs, and its class."""

    metric: str
    column: str
    n_a: int
    n_b: int
    smd: float
    smd_lo: float
    smd_hi: float
    smd_lo90: float
    smd_hi90: float
    verdict: str
    tost_p: float | None = None  # the equivalence test within ±margin at level 1 - 2 alpha (the 90 % CI)
    # the same difference as a multiple, expensive-few over cheap-many, of the metric + 1 (``as_ratio``)
    ratio: float | None = None
    ratio_lo90: float | None = None
    ratio_hi90: float | None = None
    ratio_band: float | None = None  # the equivalence band: within 1 / ratio_band to ratio_band
    median_a: float | None = None  # cheap-many's median of the metric (events, seconds)
    median_b: float | None = None  # expensive-few's


@dataclass
class Verdicts(BrowsingCheck):
    """05's computed answers: the browsing check plus the classifier and the money."""

    behaviour_auc: float | None = None
    behaviour_auc_lo: float | None = None
    behaviour_auc_hi: float | None = None
    behaviour_above_chance: bool = False
    behaviour_p: float | None = None  # one-sided permutation p-value of the classifier's AUC
    higher_margin_style: str | None = None
    margin_known: bool = False


@dataclass
class Mixture(results.Record):
    """Whether the buyers are two groups on log price x log units, and how far a two-component mixture agrees
    with the median-split rule.

    ``verdict`` comes from the parametric-bootstrap likelihood-ratio test of one group against two
    (``mixture_test``): 'two_groups' when it rejects one group at ``ALPHA``, else
    'one_group_not_rejected'. Agreement and the adjusted Rand index describe; they decide nothing
    (the mixture is fitted on the variables that define the styles, so it agrees on one group too).
    """

    agreement: float | None
    adjusted_rand: float | None
    verdict: str = "not estimated"  # 'two_groups', 'one_group_not_rejected' or 'not estimated'
    lr: float | None = None  # likelihood-ratio statistic, two components against one
    p: float | None = None  # its parametric-bootstrap p-value
    bootstraps: int = 0


ARI_AGREES, ARI_PARTLY = 0.5, 0.2  # adjusted Rand index: at least 0.5 agrees, below 0.2 does not


def groups_verdict(p: float | None) -> str:
    """'two_groups' when the test of one group against two rejects at ``ALPHA``, else 'one_group_not_rejected'."""
    if p is None or not np.isfinite(p):
        return "not estimated"
    return "two_groups" if p <= ALPHA else "one_group_not_rejected"


def mixture_verdict(adjusted_rand: float | None) -> str:
    """'agrees', 'partly' or 'does not agree', from the adjusted Rand index (``ARI_AGREES``, ``ARI_PARTLY``)."""
    if adjusted_rand is None or not np.isfinite(adjusted_rand):
        return "not estimated"
    return "agrees" if adjusted_rand >= ARI_AGREES else ("partly" if adjusted_rand >= ARI_PARTLY else "does not agree")


@dataclass
class StyleTruth(results.Record):
    style_strength: float
    style_browse_effect: float
    expected_browsing: str


@dataclass
class Evidence:
    """What 05's page shows beyond the record (kept in memory only)."""

    buyers: pd.DataFrame
    comparison: pd.DataFrame | None = None
    money: pd.DataFrame | None = None


@dataclass
class StylesResult(results.AnalysisResult):
    """05's answer: do cheap-many and expensive-few buyers browse differently?"""

    NOTEBOOK: ClassVar[str] = "05_purchase_style"
    buyers: int = 0
    n_cheap_many: int = 0
    n_expensive_few: int = 0
    n_other: int = 0
    price_median: float | None = None
    items_median: float | None = None
    mixture: Mixture | None = None
    money: list[dict] | None = None
    verdicts: Verdicts | None = None
    comparison: list[SmdRow] | None = None
    classifier: Classifier | None = None
    clustering: stats.Clustering | None = None  # how the compared buyer sessions group into users
    truth: StyleTruth | None = None
    equivalence_margin: float | None = None
    evidence: Evidence | None = results.memory()

    def metric(self, column: str) -> SmdRow | None:
        """The comparison row of one gold column, or None when it was not measured."""
        return next((r for r in self.comparison or [] if r.column == column), None)


def analyse(
    gold_dir: Path, settings: Settings, truth: dict | None = None, fitness: Fitness | None = None
) -> StylesResult:
    """05's whole analysis: assign styles, compare browsing, predict the style, money, truth.

    ``fitness`` (01's record): without prices or products not estimable; a weakened need caps the badge.
    """
    s = settings
    buyer_sessions = gold_table.read_gold(gold_dir, buyers_only=True)  # styles concern buyers only
    all_buyers, medians = assign(buyer_sessions)
    buyers, sampled = stats.sample_rows(all_buyers, s.max_model_rows, s.seed)
    counts = buyers["style"].value_counts()
    n_cheap, n_exp = int(counts.get(CHEAP_MANY, 0)), int(counts.get(EXPENSIVE_FEW, 0))
    can_compare = min(n_cheap, n_exp) >= s.min_buyers
    reason, values = (None, {}) if can_compare else why_not(buyer_sessions, all_buyers, n_cheap, n_exp, s.min_buyers)
    result = StylesResult(
        status="ok" if can_compare else "insufficient",
        reason=reason,
        reason_values=values,
        buyers=len(all_buyers),
        n_cheap_many=n_cheap,
        n_expensive_few=n_exp,
        n_other=int(counts.get(OTHER, 0)),
        sampled=sampled,
        **medians,
        evidence=Evidence(buyers=buyers),
    )
    if len(buyers):
        result.evidence.money = money(buyers)
        result.money = result.evidence.money.reset_index().to_dict(orient="records")
    if can_compare:
        _compare(result, s, truth)
    result.badge = badge(result)
    return needs.apply(result, fitness)


def _compare(result: StylesResult, s: Settings, truth: dict | None) -> None:
    """Fill ``result`` with the mixture, the comparison, the classifier and the verdicts."""
    ev = result.evidence
    controls, _ = stats.usable_controls(
        stats.behaviour_features(ev.buyers), result.n_cheap_many + result.n_expensive_few
    )
    mix = mixture_agreement(ev.buyers, s.seed)
    test = mixture_test(ev.buyers, s.seed)
    result.mixture = Mixture(
        mix["agreement"], mix["adjusted_rand"], groups_verdict(test["p"]), test["lr"], test["p"], test["bootstraps"]
    )
    result.clustering = stats.clustering(ev.buyers[ev.buyers["style"].isin([CHEAP_MANY, EXPENSIVE_FEW])])
    ev.comparison = compare_behaviour(ev.buyers, s.equivalence_margin)
    clf = result.classifier = predictability(ev.buyers, controls, s.cv_folds, s.seed)
    result.verdicts = Verdicts(
        **verdict(ev.comparison).to_json(),
        behaviour_auc=clf.auc,
        behaviour_auc_lo=clf.lo,
        behaviour_auc_hi=clf.hi,
        behaviour_above_chance=clf.above_chance,
        behaviour_p=clf.p,
        higher_margin_style=higher_margin_style(ev.money),
        margin_known=bool(ev.money["margin_per_buyer"].notna().all()),
    )
    result.comparison = [SmdRow(**r) for r in ev.comparison.reset_index().to_dict(orient="records")]
    if truth is not None:
        expected = "similar" if truth["style_browse_effect"] == 0 else "different"
        result.truth = StyleTruth(truth["style_strength"], truth["style_browse_effect"], expected)
    result.equivalence_margin = s.equivalence_margin
    result.headline = headline(result)


def headline(result: StylesResult) -> results.Headline:
    """The number 05's answer quotes: the SMD of the duration before checkout, expensive-few minus cheap-many."""
    row = result.metric("pre_conversion_seconds") or result.comparison[0]
    return results.Headline(  # with the 1 - 2 alpha (90 %) CI the equivalence test reads, not the 95 % one
        feature=row.column,
        estimate=row.smd,
        lo=row.smd_lo90,
        hi=row.smd_hi90,
        unit="smd",
        specification="expensive_few_minus_cheap_many_log1p",
        rule="tost_every_metric",  # TOST within ±margin SD for every duration and volume metric (intersection-union)
        verdict=result.verdicts.browsing,
        threshold=result.equivalence_margin,
    )


def auc_bound(margin: float) -> float:
    """The AUC a standardised difference of ``margin`` gives two normal groups: Phi(margin / sqrt 2)."""
    return float(stats.normal_cdf(margin / np.sqrt(2)))


def badge(result: StylesResult) -> results.Badge:
    """05's confidence badge."""
    if not result.ok:
        return results.Badge.from_rules(None, {})
    v = result.verdicts
    bound = auc_bound(result.equivalence_margin) - 0.5  # the AUC gain over the controls that browsing alike allows
    gain_hi = result.classifier.gain_hi if result.classifier and result.classifier.gain_hi is not None else 1.0
    agree = {
        "similar": results.Rule("classifier_alike", gain_hi <= bound, gain_hi, bound),
        "different": results.Rule("classifier_above_chance", v.behaviour_above_chance, v.behaviour_p, ALPHA),
    }.get(v.browsing)
    return results.Badge.from_rules(
        v.browsing != "inconclusive",
        {
            "classifier_agrees": agree,
            "truth_agrees": None if not result.truth else result.truth.expected_browsing == v.browsing,
        },
    )
