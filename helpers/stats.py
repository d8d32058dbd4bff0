"""Statistics shared by the analysis notebooks: features, CV scores, intervals, equivalence.

Usage::

    from helpers import stats
    feats = stats.behaviour_features(gold)
    lo, hi = stats.wilson(successes, n)
    res = stats.compare_groups(a, b, margin=0.2, rng=np.random.default_rng(0))
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

Z95 = sps.norm.ppf(0.975)

# Modelling scales of the behavioural features (log1p keeps zeros and tames long tails).
FEATURES = {
    "engagement": ("pre_conversion_event_count", "log1p(events before first checkout)"),
    "time": ("pre_conversion_seconds", "log1p(seconds before first checkout)"),
    "idle": ("max_idle_seconds", "log1p(longest gap between events, s)"),
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
    for col in ("device", "traffic_source", "start_hour", "start_weekday", "did_purchase", "amount_usd"):
        if col in gold:
            out[col] = gold[col]
    return out


def usable_controls(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Control terms with variation, and a note for each one skipped."""
    terms, skipped = [], []
    for col, term in (("device", "C(device)"), ("traffic_source", "C(traffic_source)"),
                      ("start_hour", "C(start_hour)"), ("start_weekday", "C(start_weekday)")):
        values = frame[col] if col in frame else pd.Series(dtype=object)
        if len(values) and values.nunique() > 1 and not (values.astype(str) == "unknown").all():
            terms.append(term)
        else:
            skipped.append(f"{col} (absent or a single value)")
    if "first_delay" in frame and frame["first_delay"].std() > 0:
        terms.append("first_delay")
    else:
        skipped.append("first_event_delay_seconds (absent or constant)")
    return terms, skipped


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


def bootstrap_smd(a, b, rng: np.random.Generator, n_boot: int = 1000, level: float = 0.95):
    """Percentile bootstrap CI of the SMD; resamples drawn as one index matrix (no Python loop per draw)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ia = rng.integers(0, a.size, (n_boot, a.size))
    ib = rng.integers(0, b.size, (n_boot, b.size))
    xa, xb = a[ia], b[ib]
    pooled = np.sqrt(((a.size - 1) * xa.var(axis=1, ddof=1) + (b.size - 1) * xb.var(axis=1, ddof=1)) / (a.size + b.size - 2))
    draws = (xb.mean(axis=1) - xa.mean(axis=1)) / np.where(pooled > 0, pooled, np.nan)
    tail = (1 - level) / 2
    return float(np.nanquantile(draws, tail)), float(np.nanquantile(draws, 1 - tail))


def tost(a, b, margin_sd: float, alpha: float = 0.05) -> dict:
    """Two one-sided Welch tests that the mean difference lies within +-margin_sd pooled SDs."""
    from statsmodels.stats.weightstats import ttest_ind, ttost_ind

    a, b = np.asarray(a, float), np.asarray(b, float)
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    bound = margin_sd * pooled
    p_equiv = float(ttost_ind(b, a, -bound, bound, usevar="unequal")[0]) if pooled > 0 else 0.0
    p_diff = float(ttest_ind(b, a, usevar="unequal")[1])
    verdict = "equivalent" if p_equiv < alpha else ("different" if p_diff < alpha else "inconclusive")
    return {"p_equivalence": p_equiv, "p_difference": p_diff, "margin_sd": margin_sd, "verdict": verdict}


def compare_groups(a, b, margin: float, rng: np.random.Generator, alpha: float = 0.05, n_boot: int = 1000) -> dict:
    """SMD with bootstrap CI, Welch test and TOST equivalence test of b against a."""
    lo, hi = bootstrap_smd(a, b, rng, n_boot)
    return {"n_a": int(np.size(a)), "n_b": int(np.size(b)), "mean_a": float(np.mean(a)), "mean_b": float(np.mean(b)),
            "smd": smd(a, b), "smd_lo": lo, "smd_hi": hi, **tost(a, b, margin, alpha)}


def cv_classifier_scores(X: np.ndarray, y: np.ndarray, folds: int, seed: int) -> dict:
    """Stratified k-fold ROC-AUC and PR-AUC of an unpenalised logistic model; mean, sd, out-of-fold scores."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    aucs, aps, oof = [], [], np.zeros(len(y))
    for train, test in skf.split(X, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1e6, max_iter=2000))
        model.fit(X[train], y[train])
        p = model.predict_proba(X[test])[:, 1]
        oof[test] = p
        aucs.append(roc_auc_score(y[test], p))
        aps.append(average_precision_score(y[test], p))
    return {"auc": float(np.mean(aucs)), "auc_sd": float(np.std(aucs, ddof=1)),
            "pr_auc": float(np.mean(aps)), "pr_auc_sd": float(np.std(aps, ddof=1)), "oof": oof}


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
