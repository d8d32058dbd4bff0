"""The data's fitness in a reader's words: what these data hold, what they cannot tell, and why an answer is capped.

Usage::

    from helpers.data import fitness
    from helpers.presentation.words import fitness as words
    fit = fitness.load(paths.raw_dir(run))
    words.cannot_tell(fit)          # the front page's list, before the answers
    words.table(fit)                # 01's small table: what was measured, its value, what it means
    words.reason_text("no_prices")  # a not-estimable reason (codes joined by ', ') in words
    words.RULE_WORDS                # each reason code as a badge rule (common.RULE_WORDS takes them in)

The record (``helpers.data.fitness.Fitness``) and the needs (``helpers.analysis.needs``) hold numbers
and codes only; every sentence about them is made here, when a page is built.
"""

from __future__ import annotations

import pandas as pd

from helpers.analysis.needs import LIMITS
from helpers.data.fitness import hours_text, span_text, table  # noqa: F401  (01's table: data layer, no analysis)

# Each reason code of ``helpers.analysis.needs`` as a badge rule. A rule whose value is not a number
# keeps only the words before " (" (``common.rule_text``), so the number sits in the last parentheses.
RULE_WORDS = {
    "no_checkout_step": "a distinct checkout step: without one, time before purchase includes buying "
    "({value:.0%} of buyers check out; {threshold:.0%} needed)",
    "no_landmark_window": "a landmark window to stand in for the missing checkout step "
    "({value:,.0f} buyers still active at the landmark; {threshold:,.0f} needed)",
    "no_browsing_before_purchase": "browsing before the purchase: nearly every purchase stands alone "
    "({value:.0%} of purchasing sessions have no browsing before it; at most {threshold:.0%} allowed)",
    "thinned_log": "an unthinned log: many purchases stand alone, so the log looks thinned or split "
    "({value:.0%} of purchasing sessions have no browsing before the purchase; at most {threshold:.0%} allowed)",
    "no_prices": "prices: revenue and spend are not in these data",
    "no_products": "products: no order names two or more products",
    "no_event_timing": "times of events: one row per session, so the events' times were laid out by the importer",
    "no_user_ids": "user ids: sessions cannot be grouped into users",
    "one_row_per_user": "sessions: each user's visits are summed into one row (a per-user export)",
    "few_sessions_per_user": "repeat visits to measure a design effect "
    "({value:.2f} sessions per user; {threshold:.0f} needed)",
    "short_span": "a whole day of data ({value:.1f} hours; {threshold:.0f} needed)",
    "no_whole_week": "a whole week of data ({value:.0f} whole weeks; {threshold:.0f} needed)",
    "edge_cut": "sessions whole: many may be cut at the slice's first or last minutes "
    "({value:.0%} of sessions near an edge; at most {threshold:.0%} allowed)",
    "dates_only": "times within the day: session starts are known to the day or the month only",
    "no_timestamps": "session start times",
    "sample_rate": "the store's own daily traffic: at the data's rate the experiment would run more than a year "
    "({value:,.0f} days; at most {threshold:,.0f})",
    # 03's landmark check of the answer's own feature (helpers.analysis.conversion.landmark)
    "landmark_agrees": "the landmark check agrees: the answer's feature, measured where it cannot include buying, "
    "reads the same (both material with one sign, or both negligible)",
}

# The same codes as reasons an answer is not estimable (a phrase after "Not estimable here: ").
REASON_WORDS = {
    "no_checkout_step": "there is no distinct checkout step, so time before purchase includes buying",
    "no_landmark_window": "and no landmark window can stand in for it",
    "no_browsing_before_purchase": "nearly every purchase stands alone, with no browsing before it",
    "no_prices": "there are no prices, so revenue and spend are not in these data",
    "no_products": "no order names two or more products",
    "no_event_timing": "there is one row per session, so the times of events are not known",
    "no_timestamps": "there are no session start times",
    "short_span": "the data cover less than a day",
    "dates_only": "session starts are known to the day or month only",
    "sample_rate": "at the data's own rate the experiment would run more than a year: the data look like a sample",
}

# Which window to believe when 03's landmark check disagrees with the main model (``Landmark.believe``).
BELIEVE_WORDS = {
    "landmark": "believe the landmark check: its window cannot include buying",
    "neither": "believe neither yet: the landmark check is too uncertain to confirm the main model",
    "both": "both windows read the same",
}


def reason_text(reason: str | None) -> str | None:
    """A not-estimable reason in words: codes joined by ', ' are worded; any other text is returned as it is."""
    if not reason:
        return reason
    codes = [c.strip() for c in reason.split(",")]
    if not all(c in REASON_WORDS for c in codes):
        return reason
    return "; ".join(REASON_WORDS[c] for c in codes)


def months_text(fit) -> str | None:
    """The headline's time range when only months are known ('2017-02 to 2017-12'), else None."""
    if fit is None or fit.timestamp_resolution != "months" or not fit.first_ts:
        return None
    return f"{pd.Timestamp(fit.first_ts):%Y-%m} to {pd.Timestamp(fit.last_ts):%Y-%m} (months only)"


def cannot_tell(fit, limits=None) -> list[str]:
    """What these data cannot tell, one short line each, from the record (empty when every need is met)."""
    lim = limits or LIMITS
    out = []
    if fit.timestamp_resolution == "none":
        out.append("No session start times: the span, the daily traffic and an experiment's runtime are unknown.")
    elif fit.timestamp_resolution == "months":
        first, last = months_text(fit).split(" (")[0].split(" to ")
        out.append(f"Dates known to the month only ({first} to {last}): no times of day, no days, no weeks.")
    elif fit.timestamp_resolution == "dates":
        out.append("Dates only, no times of day: patterns within the day cannot be read.")
    if fit.span_hours is not None and fit.span_hours < lim.min_span_hours:
        out.append(
            f"Only {span_text(fit)} of data: no whole day or week, so no daily traffic and no experiment runtime "
            "can be read from them."
        )
    if fit.edge_share is not None and fit.edge_share > lim.max_edge_share:
        out.append(f"Sessions cut at the slice's edges: {fit.edge_share:.0%} lie near its first or last minutes.")
    if not fit.has_prices:
        kind = {"constant": " (one price for everything)", "flag": " (the price column is the 0/1 purchase flag)"}
        out.append(f"No prices{kind.get(fit.price_kind, '')}: revenue and spend are not in these data.")
    if fit.one_row_per_user:
        out.append(
            "One row per user (a per-user export): each user's visits are summed into one row, so there are no "
            "repeat visits and no design effect to measure."
        )
    elif not fit.has_user_ids:
        out.append("No user ids: repeat visits cannot be told apart, so there is no design effect to measure.")
    elif fit.sessions_per_user is not None and fit.sessions_per_user < lim.min_sessions_per_user:
        out.append(
            f"Few repeat visits ({fit.sessions_per_user:.2f} sessions per user): the design effect cannot be measured."
        )
    if (fit.checkout_share_of_buyers or 0) < lim.min_checkout_share_of_buyers:
        out.append("No checkout step: time and events before the purchase include buying itself.")
    share = fit.share_purchases_without_browsing
    if share is not None and share > lim.max_share_purchases_without_browsing:
        out.append(
            f"Looks thinned: {share:.0%} of purchasing sessions have no browsing before the purchase "
            f"({fit.single_event_share:.0%} of sessions hold one event), so browsing and buying look unrelated "
            "by how the log was cut."
        )
    if fit.event_timing == "laid_out":
        out.append("One row per session: the times of single events are not known.")
    return out


# --------------------------------------------------------------------------------------------
# 06: a plan, a size and recommendations that fit the data
# --------------------------------------------------------------------------------------------

LEVERS = {"collect_more_data": "collect more data"}  # merged into words.strategy.LEVERS
PLAN_WORDS = {  # merged into words.strategy.PLAN_WORDS: basis -> hypothesis, intervention
    "no_lean": (
        "None yet: these data support no lever and lean toward none, so an experiment now would test a guess.",
        "Collect at least a whole month of the store's own traffic (whole days and weeks, with user ids, prices "
        "and a checkout step where the store records them), then rerun the report.",
    ),
}
BASIS = {  # merged into words.strategy.BASIS
    "no_lean": "No recommendation is supported and no answer leans toward a lever (or the one it leans toward "
    "is contradicted by another answer), so none is proposed.",
}
ELIGIBILITY_WORDS = {
    "not_estimable": "the answer it rests on is not estimable from these data",
    "shape_cap": "the answer it rests on is capped by what these data hold (see the front page's list)",
    "low_badge": "the answer it rests on has a low confidence badge",
}


def eligibility_text(codes: str) -> str:
    """Why a recommendation may not rest on its answer (``needs.eligible``'s codes joined by ',')."""
    return "; ".join(ELIGIBILITY_WORDS[c] for c in codes.split(",") if c) or "its answer is not eligible"


def unsized_text(result) -> str:
    """Why 06 gives no runtime, and what it needs instead, from its sizing codes."""
    codes = set(result.sizing)
    n = result.sample_size_per_arm
    size = f"{n:,} sessions per arm to detect a {result.relative_mde:.0%} relative lift; " if n else ""
    ask = "give the store's real daily sessions (parameter store_daily_sessions)"
    if "short_span" in codes:
        span = hours_text(result.span_hours) if result.span_hours is not None else "less than a day"
        return (
            f"{size}no runtime: the data cover only {span}, and traffic cannot be extrapolated from less than a "
            f"day; a runtime needs at least one whole week of data, or {ask}"
        )
    if "dates_only" in codes:
        return f"{size}no runtime: the sessions are dated to the month only, so the daily traffic is unknown: {ask}"
    if "no_timestamps" in codes:
        return f"{size}no runtime: the sessions have no start times, so the daily traffic is unknown: {ask}"
    if "sample_rate" in codes:
        return (
            f"{size}no runtime: at the data's own rate ({result.sessions_per_day:,.1f} sessions a day) it would run "
            f"more than a year, so the data look like a sample, not the store's traffic: {ask}"
        )
    return f"{size}no runtime: the daily traffic is unknown: {ask}"


def design_text(result) -> str:
    """The stated assumption when the design effect cannot be measured (no user ids, or under two sessions each)."""
    why = {"no_user_ids": "no user ids", "one_row_per_user": "one row per user"}
    why = next((w for code, w in why.items() if code in result.sizing), "fewer than two sessions per user")
    return f"design effect unknown ({why}): sized as if sessions were independent (D = 1, an assumption)"


# --------------------------------------------------------------------------------------------
# Readable precision: an effect rounded to what its CI supports
# --------------------------------------------------------------------------------------------


def readable_pct(value: float, lo: float, hi: float, max_width: float | None = None) -> str:
    """A % change with its CI at the precision the CI supports ('+12 % [+3 %, +21 %]'); 'cannot be sized with
    these data' when the CI spans more than ``max_width`` points (no '[−93.5 %, +1832.9 %]')."""
    width = hi - lo
    if not width == width or (max_width is not None and width > max_width):
        return "cannot be sized with these data"
    d = width_decimals(width)

    def signed(x: float) -> str:
        text = f"{x:+.{d}f}"
        return "0" + text[2:] if float(text) == 0 else text  # no '-0 %' or '+0 %' for a bound that rounds to 0

    return f"{signed(value)} % [{signed(lo)} %, {signed(hi)} %]"


def width_decimals(width: float) -> int:
    """Decimals a number warrants beside a CI ``width`` wide: 0 from 10, 1 from 1, else 2."""
    return 0 if width >= 10 else 1 if width >= 1 else 2


def readable_times(value: float, lo: float, hi: float) -> str:
    """An odds ratio with its CI at the precision the CI supports: '×1.52 [1.40, 1.65]', '×2.1 [0.6, 7.4]',
    '×3 [0.4, 26]' (a positive bound that would round to 0 keeps one significant digit)."""
    width = hi - lo
    if not width == width:
        return "cannot be sized with these data"
    d = width_decimals(width)

    def number(x: float) -> str:
        return f"{x:.{d}f}" if x <= 0 or round(x, d) > 0 else f"{x:.1g}"

    return f"×{number(value)} [{number(lo)}, {number(hi)}]"
