"""What product strategy follows? Engagement segments and the traffic numbers the experiment needs.

Usage::

    from helpers import strategy
    seg, cuts = strategy.segments(gold)
    strategy.traffic(gold)["sessions_per_day"]

The words (summary, recommendations, the experiment's lever) come from ``helpers.findings``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import stats


def segments(gold: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Low / middle / high engagement sessions by tertiles of pre-conversion events."""
    x = gold["pre_conversion_event_count"]
    lo_cut, hi_cut = float(x.quantile(1 / 3)), float(x.quantile(2 / 3))
    if hi_cut <= lo_cut:
        hi_cut = lo_cut + 1
    seg = np.where(x <= lo_cut, "low", np.where(x >= hi_cut, "high", "middle"))
    g = (
        gold.assign(segment=seg)
        .groupby("segment")
        .agg(
            sessions=("session_id", "size"),
            buyers=("did_purchase", "sum"),
            revenue=("amount_usd", "sum"),
            median_events=("pre_conversion_event_count", "median"),
            median_seconds=("pre_conversion_seconds", "median"),
        )
    )
    g = g.reindex(["low", "middle", "high"]).dropna(how="all")
    g["conversion"] = g["buyers"] / g["sessions"]
    g["conv_lo"], g["conv_hi"] = stats.wilson(g["buyers"], g["sessions"])
    g["revenue_per_session"] = g["revenue"] / g["sessions"]
    g["spend_per_buyer"] = g["revenue"] / g["buyers"].replace(0, np.nan)
    return g, {"low_max_events": lo_cut, "high_min_events": hi_cut}


def traffic(gold: pd.DataFrame) -> dict:
    """Baseline conversion and sessions per day over the data's true span (in hours, never floored)."""
    span_hours = (gold["started_at"].max() - gold["started_at"].min()).total_seconds() / 3600 if len(gold) else 0.0
    per_day = len(gold) / (span_hours / 24) if span_hours > 0 else None
    return {
        "baseline": float(gold["did_purchase"].mean()) if len(gold) else float("nan"),
        "span_hours": span_hours,
        "sessions_per_day": per_day,
    }
