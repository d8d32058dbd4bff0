"""How do purchase styles arise? Cheap-many vs expensive-few buyers, by rule and by mixture model.

Usage::

    from helpers import styles
    buyers = styles.assign(gold)                     # adds 'style'
    comparison = styles.compare_behaviour(buyers, margin=0.2)
    styles.verdict(comparison)["browsing"]        # 'similar', 'different' or 'inconclusive'

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
    "pre_conversion_max_idle_seconds": "longest idle gap before checkout (log1p s)",
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


def why_not(gold: pd.DataFrame, buyers: pd.DataFrame, n_cheap: int, n_exp: int, min_buyers: int) -> str:
    """One sentence on why the styles cannot be compared on these data."""
    if int(gold["did_purchase"].sum()) and buyers.empty:
        return (
            "no order carries products and units "
            "(product ids or prices are missing, or the input is one row per session)"
        )
    if len(buyers) and buyers["avg_item_price_usd"].max() == 0:
        return "the data carry no prices, so price cannot separate cheap-many from expensive-few buyers"
    if len(buyers) and buyers["avg_item_price_usd"].nunique() < 2:
        return "every item has the same price, so price cannot separate cheap-many from expensive-few buyers"
    return f"{n_cheap} cheap-many and {n_exp} expensive-few buyers; the comparison needs at least {min_buyers} in each"


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


def compare_behaviour(buyers: pd.DataFrame, margin: float) -> pd.DataFrame:
    """Expensive-few against cheap-many on each behaviour (log1p scale): SMD with 90 % and 95 % CIs, verdict."""
    a = buyers[buyers["style"] == CHEAP_MANY]
    b = buyers[buyers["style"] == EXPENSIVE_FEW]
    rows = []
    for col, label in BEHAVIOUR.items():
        if col not in buyers:
            continue
        xa, xb = np.log1p(a[col].to_numpy(float)), np.log1p(b[col].to_numpy(float))
        d, lo95, hi95 = stats.smd_ci(xa, xb, 0.95)
        _, lo90, hi90 = stats.smd_ci(xa, xb, 0.90)
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
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def predictability(buyers: pd.DataFrame, controls: list[str], folds: int, seed: int) -> dict:
    """Out-of-fold AUC (95 % CI) of telling expensive-few from cheap-many by behaviour alone.

    Price is left out on purpose: the styles are defined by price, so a price model would score
    near 1 by construction. Behaviour that predicts the style beyond chance (CI above 0.5) means
    the styles browse differently.
    """
    two = buyers[buyers["style"].isin([CHEAP_MANY, EXPENSIVE_FEW])]
    feats = stats.behaviour_features(two)
    y = (two["style"] == EXPENSIVE_FEW).to_numpy().astype(int)
    terms = ["engagement", "time", "idle", *controls]
    cv = stats.cv_classifier_scores(stats.design(feats, terms), y, folds, seed)
    auc, lo, hi = stats.auc_ci(y, cv["oof"])
    return {
        "auc": auc,
        "auc_lo": lo,
        "auc_hi": hi,
        "features": "engagement, time, idle" + (", context" if controls else ""),
        "above_chance": bool(lo > 0.5),
    }


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
            values = part[col].to_numpy(float)
            values = values[~np.isnan(values)]
            if values.size < 2:
                row[f"{name}_per_buyer"] = row[f"{name}_lo"] = row[f"{name}_hi"] = np.nan
                continue
            half = stats.Z95 * values.std(ddof=1) / np.sqrt(values.size)
            row[f"{name}_per_buyer"] = values.mean()
            row[f"{name}_lo"], row[f"{name}_hi"] = values.mean() - half, values.mean() + half
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


def verdict(comparison: pd.DataFrame) -> dict:
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
    return {"browsing": overall, "by_metric": states, "idle": idle}


def browsing_check(gold: pd.DataFrame, margin: float, min_buyers: int) -> dict:
    """The purchase-style browsing verdict straight from the gold table (used by 04 to flag confounding)."""
    buyers, _ = assign(gold)
    counts = buyers["style"].value_counts()
    if min(counts.get(CHEAP_MANY, 0), counts.get(EXPENSIVE_FEW, 0)) < min_buyers:
        return {"browsing": "not estimated", "by_metric": {}, "idle": "not estimated"}
    return verdict(compare_behaviour(buyers, margin))
