"""01's and 02's findings in words: what the data hold, and what the gold table adds.

Usage::

    from helpers.presentation import findings
    findings.simulation_lines(record, truth)   # 01's findings, one Markdown bullet each
    findings.gold_lines(record, checks)        # 02's

The analyses' words live in ``helpers.presentation.words``, one module per analysis (``conversion``,
``spend``, ``styles``, ``strategy``), dispatched on the result's type; this module imports no analysis,
so 01 and 02 depend on none.
"""

from __future__ import annotations

import pandas as pd

from helpers.presentation.formatting import span

# 01's realism benchmarks, by the id its record holds: the metric's name and where the published range comes from.
BENCHMARK_WORDS = {
    "conversion": (
        "session conversion rate",
        "Smart Insights, 'What are typical average add-to-cart conversion rates?' (D. Chaffey): "
        "e-commerce conversion mostly 2-3 % of sessions",
    ),
    "cart_share": (
        "sessions with an add-to-cart",
        "Smart Insights (same article): add-to-cart rates around 7-10 % of sessions",
    ),
    "cart_abandonment": (
        "cart abandonment (carts not bought)",
        "Baymard Institute, 'Cart Abandonment Rate Statistics': average of 49 studies about 70 %",
    ),
    "one_event_share": (
        "one-event sessions",
        "bounce rates of 30-50 % are the usual band in web-analytics benchmark reports",
    ),
    "median_minutes_multi": (
        "median duration of sessions with 2+ events, min",
        "web-analytics benchmark reports put typical visits at a few minutes; a one-event session "
        "has no measurable duration in a clickstream, so it is left out",
    ),
    "cost_share_range": (
        "cost as share of price (lowest, highest)",
        "retail gross margins of 25-75 % of price (product costs are simulated in that band)",
    ),
}


def benchmark_frame(rows: list[dict]) -> pd.DataFrame:
    """01's realism table in words: metric, this data's value, the published range, in range, source."""
    out = []
    for row in rows:
        value, lo, hi = row["value"], row["low"], row["high"]
        if isinstance(value, list):
            shown = "n/a" if None in value else f"{value[0]:.0%} - {value[1]:.0%}"
        else:
            shown = "n/a" if value is None else (f"{value:.1%}" if hi <= 1 else f"{value:.2f}")
        band = f"{100 * lo:g}% - {100 * hi:g}%" if hi <= 1 else f"{lo:g} - {hi:g}"  # 1.5%, never rounded to 2%
        metric, source = BENCHMARK_WORDS[row["id"]]
        out.append(
            {
                "metric": metric,
                "this data": shown,
                "published range": band,
                "in range": row["in_range"],
                "source": source,
            }
        )
    return pd.DataFrame(out, columns=["metric", "this data", "published range", "in range", "source"])


def simulation_lines(rec: dict, truth: dict | None) -> list[str]:
    """01's findings: what the data hold, how realistic they look, and (simulated) the truth to check against."""
    counts, prof = rec["counts"], rec["profile"]
    missed = [BENCHMARK_WORDS[row["id"]][0] for row in rec["benchmark_table"] if row["in_range"] == "no"]
    misses = ", ".join(missed) or "none"
    lines = [
        f"- The run holds **{counts['sessions']:,} sessions** with **{counts['events']:,} events** "
        f"({prof['mean_events']:.2f} per session) and **{counts['orders']:,} orders**.",
        f"- **{rec['benchmarks_in_range']} of {rec['benchmarks_checked']}** realism checks land in their published "
        f"range; outside: {misses}.",
    ]
    hours = (rec.get("provenance") or {}).get("span_hours")
    if hours is not None and hours < 24:
        lines.append(
            f"- The data cover only {span(hours)}: the published ranges describe whole days of traffic, "
            "so a miss here may come from the short slice rather than from the store."
        )
    cart = f"- Session conversion is **{prof['conversion']:.2%}**; {prof['cart_share']:.1%} of sessions add to cart"
    if prof.get("cart_abandonment") is not None:
        cart += (
            f", and {prof['cart_abandonment']:.0%} of cart sessions end without a purchase (cart abandonment = "
            "cart sessions without a purchase / cart sessions)"
        )
    lines.append(cart + ".")
    if truth:
        lines.append(
            f"- The simulator's truth for later checks: direct time effect **{truth['time_effect']:+.2f}**, "
            f"engagement effect **{truth['engagement_effect']:+.2f}** (log-odds per log1p unit), idle-time "
            f"effect on log spend **{truth['implied_idle_on_log_spend']:+.3f}** per log1p second."
        )
    else:
        lines.append("- These are your data: there is no known truth, so later notebooks skip their truth checks.")
    return lines


def gold_lines(rec: dict, checks: int) -> list[str]:
    """02's findings: size, buyers, revenue, reconciliation, the funnel's share of events, what is missing."""
    rows, buyers = rec["rows"], rec["buyers"]
    share = f" ({buyers / rows:.2%})" if rows else ""
    lines = [
        f"- **{rows:,} sessions**, of which **{buyers:,}** bought{share}, for **{rec['revenue_usd']:,.0f} USD** of "
        f"revenue; all {checks} reconciliation checks agree."
    ]
    if buyers:
        lines.append(
            f"- Buyers average {rec['mean_events_buyers']:.1f} events in all but {rec['mean_pre_events_buyers']:.1f} "
            "before their first checkout: the difference is the funnel itself, which is why the models use "
            "the pre-conversion counts."
        )
    else:
        lines.append("- No session bought anything.")
    missing = [c for c, ok in rec["known_columns"].items() if not ok] + ([] if rec["has_cost"] else ["product cost"])
    lines.append(
        f"- Not in these data: {', '.join(missing)}; later notebooks skip what needs them."
        if missing
        else "- Device, traffic source and product cost are all present."
    )
    return lines


def population_line(population, who: str = "this page describes") -> str:
    """Which sessions a description rests on: all (nothing to say), or an experiment's untreated ones (02-05)."""
    if population is None or population.population == "all":
        return ""
    return (
        f"*The data carry an experiment ({' and '.join(population.variants)}): {who} the "
        f"{population.sessions:,} of {population.sessions_all:,} sessions no treatment touched (the "
        f"{population.control} arm, and every user's sessions before exposure), so the treatment does not shift "
        "what they measure. 06 reads out the test.*"
    )
