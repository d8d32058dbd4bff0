"""How do purchase styles arise? Cheap-many vs expensive-few buyers, by rule and by mixture model.

Usage::

    from helpers import styles
    buyers = styles.assign(gold)                     # adds 'style'
    styles.compare_behaviour(buyers, margin=0.2, rng=rng)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import stats

CHEAP_MANY, EXPENSIVE_FEW, OTHER = "cheap-many", "expensive-few", "other"
BEHAVIOUR = {
    "session_seconds": "session duration (log1p s)",
    "pre_conversion_event_count": "events before checkout (log1p)",
    "n_page_view": "page views (log1p)",
    "max_idle_seconds": "longest idle gap (log1p s)",
}
SIMILARITY_METRICS = ("session_seconds", "pre_conversion_event_count", "n_page_view")  # duration and volume


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


def mixture_agreement(buyers: pd.DataFrame, seed: int) -> dict:
    """Agreement of the rule with a 2-component Gaussian mixture on log price x log units."""
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    X = np.column_stack([np.log(buyers["avg_item_price_usd"]), np.log(buyers["n_items"])])
    comp = GaussianMixture(2, random_state=seed, n_init=3).fit_predict(X)
    two = buyers["style"].isin([CHEAP_MANY, EXPENSIVE_FEW]).to_numpy()
    # name each component after the style it overlaps most among rule-classified buyers
    exp_share = [np.mean(buyers["style"].to_numpy()[two & (comp == k)] == EXPENSIVE_FEW) if np.any(two & (comp == k)) else 0.5
                 for k in (0, 1)]
    names = np.where(np.asarray(exp_share) > 0.5, EXPENSIVE_FEW, CHEAP_MANY)[comp]
    agree = float(np.mean(names[two] == buyers["style"].to_numpy()[two])) if two.any() else float("nan")
    ari = float(adjusted_rand_score(buyers["style"].to_numpy()[two], names[two])) if two.any() else float("nan")
    return {"agreement": agree, "adjusted_rand": ari, "components": names}


def compare_behaviour(buyers: pd.DataFrame, margin: float, rng: np.random.Generator, alpha: float, n_boot: int) -> pd.DataFrame:
    """Expensive-few against cheap-many on each behaviour: SMD, bootstrap CI, Welch and TOST."""
    a = buyers[buyers["style"] == CHEAP_MANY]
    b = buyers[buyers["style"] == EXPENSIVE_FEW]
    rows = []
    for col, label in BEHAVIOUR.items():
        res = stats.compare_groups(np.log1p(a[col].to_numpy(float)), np.log1p(b[col].to_numpy(float)), margin, rng, alpha, n_boot)
        rows.append({"metric": label, "column": col, **res})
    return pd.DataFrame(rows).set_index("metric")


def predictability(buyers: pd.DataFrame, controls: list[str], folds: int, seed: int) -> pd.DataFrame:
    """Cross-validated AUC of predicting expensive-few vs cheap-many from behaviour only and price only."""
    two = buyers[buyers["style"].isin([CHEAP_MANY, EXPENSIVE_FEW])]
    feats = stats.behaviour_features(two)
    feats["log_price"] = np.log(two["avg_item_price_usd"])
    y = (two["style"] == EXPENSIVE_FEW).to_numpy().astype(int)
    rows = []
    for label, terms in (("behaviour only (engagement, time, idle, context)", ["engagement", "time", "idle", *controls]),
                         ("price only (average item price)", ["log_price"])):
        cv = stats.cv_classifier_scores(stats.design(feats, terms), y, folds, seed)
        rows.append({"model": label, "auc": cv["auc"], "auc_sd": cv["auc_sd"]})
    return pd.DataFrame(rows).set_index("model")


def money(buyers: pd.DataFrame, rng: np.random.Generator, n_boot: int) -> pd.DataFrame:
    """Revenue and gross margin per buyer by style, with bootstrap 95 % CIs (vectorised resampling)."""
    rows = []
    for style, part in buyers.groupby("style"):
        row = {"style": style, "buyers": len(part), "share_of_revenue": part["amount_usd"].sum() / buyers["amount_usd"].sum()}
        for col, name in (("amount_usd", "revenue"), ("gross_margin_usd", "margin")):
            values = part[col].to_numpy(float)
            if np.isnan(values).all():
                row[f"{name}_per_buyer"] = row[f"{name}_lo"] = row[f"{name}_hi"] = np.nan
                continue
            values = values[~np.isnan(values)]
            draws = values[rng.integers(0, values.size, (n_boot, values.size))].mean(axis=1)
            row[f"{name}_per_buyer"] = values.mean()
            row[f"{name}_lo"], row[f"{name}_hi"] = np.quantile(draws, [0.025, 0.975])
        rows.append(row)
    return pd.DataFrame(rows).set_index("style")


def verdict(comparison: pd.DataFrame) -> dict:
    """'similar' when duration and volume are all equivalent; 'different' when any differs."""
    sub = comparison[comparison["column"].isin(SIMILARITY_METRICS)]
    states = dict(zip(sub["column"], sub["verdict"]))
    if all(v == "equivalent" for v in states.values()):
        overall = "similar"
    elif any(v == "different" for v in states.values()):
        overall = "different"
    else:
        overall = "inconclusive"
    return {"browsing": overall, "by_metric": states,
            "idle": comparison.set_index("column").loc["max_idle_seconds", "verdict"]}
