"""What product strategy follows? Summary, recommendations and segments built from the results files.

Usage::

    from helpers import strategy
    rows = strategy.summary(results.load_all("default"))
    recs = strategy.recommendations(results.load_all("default"), segments)

Every sentence is generated from recorded verdicts and numbers. A recommendation whose finding
does not hold is kept, marked "not supported by this data", so a reader sees it was withdrawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import stats

SUPPORTED, WITHDRAWN, NOT_ESTIMATED = "supported", "not supported by this data", "not estimated"


def _events(n: float) -> str:
    return f"{n:g} event" + ("" if n == 1 else "s")


def _confidence(decisive: bool, buyers: int, truth_ok: bool | None = None) -> str:
    if not decisive:
        return "low"
    if buyers >= 500 and truth_ok is not False:
        return "high"
    return "medium"


def segments(gold: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Low / middle / high engagement sessions by tertiles of pre-conversion events."""
    x = gold["pre_conversion_event_count"]
    lo_cut, hi_cut = float(x.quantile(1 / 3)), float(x.quantile(2 / 3))
    if hi_cut <= lo_cut:
        hi_cut = lo_cut + 1
    seg = np.where(x <= lo_cut, "low", np.where(x >= hi_cut, "high", "middle"))
    g = gold.assign(segment=seg).groupby("segment").agg(
        sessions=("session_id", "size"), buyers=("did_purchase", "sum"), revenue=("amount_usd", "sum"),
        median_events=("pre_conversion_event_count", "median"), median_seconds=("pre_conversion_seconds", "median"))
    g = g.reindex(["low", "middle", "high"]).dropna(how="all")
    g["conversion"] = g["buyers"] / g["sessions"]
    g["conv_lo"], g["conv_hi"] = stats.wilson(g["buyers"], g["sessions"])
    g["revenue_per_session"] = g["revenue"] / g["sessions"]
    g["spend_per_buyer"] = g["revenue"] / g["buyers"].replace(0, np.nan)
    return g, {"low_max_events": lo_cut, "high_min_events": hi_cut}


def summary(res: dict) -> list[dict]:
    """One row per question: answer, evidence, confidence, all from the results files."""
    rows = []
    conv = res.get("03_conversion", {})
    if conv.get("status") == "ok":
        v = conv["verdicts"]
        eff = {e["feature"]: e for e in conv["effects"]}
        e, t = eff["engagement"], eff["time"]
        answer = {"yes": f"{v['strongest'].capitalize()} is the stronger driver, and time adds to engagement.",
                  "no": f"{v['strongest'].capitalize()} drives conversion; time adds nothing material once engagement is known.",
                  "unclear": f"{v['strongest'].capitalize()} is the stronger driver; whether time adds is unclear."}[v["time_adds"]]
        truth_ok = all(r["covered"] for r in conv["truth"]) if conv.get("truth") else None
        rows.append({"question": "Who purchases: engagement or time on site?", "answer": answer,
                     "evidence": f"odds ratio per SD: engagement {e['or_per_sd']:.2f} [{e['or_lo']:.2f}, {e['or_hi']:.2f}], "
                                 f"time {t['or_per_sd']:.2f} [{t['or_lo']:.2f}, {t['or_hi']:.2f}]; CV AUC engagement "
                                 f"{v['auc_engagement_only']:.3f} vs time {v['auc_time_only']:.3f}",
                     "confidence": _confidence(v["strongest_clear"] and v["time_adds"] != "unclear", conv["buyers"], truth_ok)})
    else:
        rows.append({"question": "Who purchases: engagement or time on site?", "answer": "Not estimated: too few buyers.",
                     "evidence": f"{conv.get('buyers', 0)} buyers", "confidence": "none"})
    sp = res.get("04_spend", {})
    if sp.get("status") == "ok":
        v = sp["verdicts"]
        words = {"negative": "lower", "positive": "higher", "none": "no detectable change in"}
        rows.append({"question": "Who spends more among buyers?",
                     "answer": f"Better explained by: {v['explains_better']}. Holding engagement fixed, longer time goes with "
                               f"{words[v['time_given_engagement']]} spend; longer idle gaps with "
                               f"{words.get(v['idle_given_engagement_time'], 'unestimated')} spend.",
                     "evidence": f"time given engagement {v['time_coef']:+.3f} log points per log1p s "
                                 f"[{v['time_lo']:+.3f}, {v['time_hi']:+.3f}]; CV RMSE engagement {v['rmse_engagement_only']:.3f} "
                                 f"vs time {v['rmse_time_only']:.3f}",
                     "confidence": _confidence(v["time_given_engagement"] != "none", sp["buyers"])})
    else:
        rows.append({"question": "Who spends more among buyers?", "answer": "Not estimated: too few buyers.",
                     "evidence": f"{sp.get('buyers', 0)} buyers", "confidence": "none"})
    st = res.get("05_purchase_style", {})
    if st.get("status") == "ok":
        v = st["verdicts"]
        dur = next(c for c in st["comparison"] if c["column"] == "session_seconds")
        answer = {"similar": "Cheap-many and expensive-few buyers browse alike; they choose differently priced products.",
                  "different": "Cheap-many and expensive-few buyers browse differently.",
                  "inconclusive": "The data cannot tell whether the two styles browse alike."}[v["browsing"]]
        rows.append({"question": "How do purchase styles arise?", "answer": answer,
                     "evidence": f"duration SMD {dur['smd']:+.2f} [{dur['smd_lo']:+.2f}, {dur['smd_hi']:+.2f}], margin "
                                 f"±{st['equivalence_margin']}; behaviour-only AUC {v['behaviour_auc']:.3f}",
                     "confidence": _confidence(v["browsing"] != "inconclusive", st["n_cheap_many"] + st["n_expensive_few"])})
    else:
        rows.append({"question": "How do purchase styles arise?", "answer": "Not estimated: too few buyers per style.",
                     "evidence": "", "confidence": "none"})
    return rows


def recommendations(res: dict, seg: pd.DataFrame, cuts: dict) -> list[dict]:
    """Each recommendation with the finding it rests on and whether this data supports it."""
    recs = []
    conv, sp, st = res.get("03_conversion", {}), res.get("04_spend", {}), res.get("05_purchase_style", {})
    cv = conv.get("verdicts")
    if cv:
        ok = cv["strongest"] == "engagement" and cv["time_adds"] != "yes"
        recs.append({"title": "Optimise for engagement, not time on site", "status": SUPPORTED if ok else WITHDRAWN,
                     "text": "Build features that trigger meaningful actions (compare, save, add to cart) rather than ones "
                             "that keep visitors longer." if ok else
                             "This data shows time on site matters by itself, so do not trade session length for interactions.",
                     "evidence": f"03: strongest = {cv['strongest']}, time adds = {cv['time_adds']}"})
    else:
        recs.append({"title": "Optimise for engagement, not time on site", "status": NOT_ESTIMATED, "text": "",
                     "evidence": "03 could not fit its models"})
    sv = sp.get("verdicts")
    if sv:
        ok = sv["idle_given_engagement_time"] == "negative" or sv["time_given_engagement"] == "negative"
        recs.append({"title": "Turn idle time into interaction", "status": SUPPORTED if ok else WITHDRAWN,
                     "text": "After an idle gap, offer a low-effort next step (compare, see details, save for later)." if ok
                             else "Idle time does not lower spend here; idle prompts need another reason.",
                     "evidence": f"04: idle given engagement and time = {sv['idle_given_engagement_time']}, "
                                 f"time given engagement = {sv['time_given_engagement']}"})
    if len(seg) >= 2:
        low, high = seg.iloc[0], seg.iloc[-1]
        recs.append({"title": "Segment the experience by engagement level", "status": SUPPORTED if high.conversion > low.conversion else WITHDRAWN,
                     "text": f"Low engagement (at most {_events(cuts['low_max_events'])} before checkout) converts at "
                             f"{low.conversion:.2%}: give guidance and fewer choices. High engagement (at least "
                             f"{_events(cuts['high_min_events'])}) converts at {high.conversion:.2%}: remove friction and speed checkout.",
                     "evidence": f"segments: conversion {low.conversion:.2%} [{low.conv_lo:.2%}, {low.conv_hi:.2%}] vs "
                                 f"{high.conversion:.2%} [{high.conv_lo:.2%}, {high.conv_hi:.2%}]"})
    stv = st.get("verdicts")
    if stv:
        ok = stv["browsing"] == "similar"
        recs.append({"title": "Sell expensive items through price framing, not browsing mechanics",
                     "status": SUPPORTED if ok else WITHDRAWN,
                     "text": "Styles browse alike, so value framing (bundles, comparisons, guarantees) is the lever for "
                             "expensive items." if ok else "Styles browse differently here, so browsing mechanics do shape what is bought.",
                     "evidence": f"05: browsing = {stv['browsing']}, behaviour-only AUC {stv['behaviour_auc']:.3f}"})
        richer = stv.get("higher_margin_style")
        if richer:
            recs.append({"title": f"Protect the {richer} buyers' margin", "status": SUPPORTED,
                         "text": f"{richer.capitalize()} buyers earn the most gross margin per buyer; keep them in mind "
                                 "when testing discounts.", "evidence": "05: margin per buyer by style"})
    return recs
