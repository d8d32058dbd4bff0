"""The front page's summary: at most three sentences, one per question, in business units; in an
experiment run the test's decision leads them.

Usage::

    from helpers.presentation.words import summary
    summary.sentences(results.load_all(run))   # [the test's (an experiment run), 03's sentence, 04's, 05's]

Each sentence speaks in units a reader can act on (points of conversion per extra event or
minute, USD per order or per 1,000 sessions, minutes, "times as long"), never in model units,
and quotes only fields of the results the answers below it quote (03's ``per_unit``, 04's calls'
``step_*`` fields, 05's ratios and medians, 06's impact values): nothing is recomputed here. Each
ends with its answer's confidence and, where the data's shape capped it, what the data lack. A
question these data cannot answer gets a sentence saying so, never silence.
"""

from __future__ import annotations

import math

from helpers.analysis.conversion import ConversionResult
from helpers.analysis.purchase_styles import StylesResult
from helpers.analysis.spend import UNSIZEABLE_WIDTH_PCT, SpendResult
from helpers.presentation.words import readout as readout_words
from helpers.presentation.words.common import cap, effect_phrase, reason_words

MAX_SENTENCES = 3

# A failed badge rule as a short reason after the confidence level. The data's own limits
# (``analysis.needs`` codes) come first: they are what no rerun of the analysis can change.
LIMIT_WORDS = {
    "no_checkout_step": "there is no distinct checkout step",
    "no_landmark_window": "no window can stand in for the missing checkout step",
    "no_browsing_before_purchase": "nearly every purchase stands alone",
    "thinned_log": "the log looks thinned",
    "no_prices": "there are no prices",
    "no_products": "no order names two products",
    "no_event_timing": "the times of single events are not known",
    "no_user_ids": "there are no user ids",
    "one_row_per_user": "each user is one row",
    "few_sessions_per_user": "few users come back",
    "short_span": "the data cover less than a day",
    "no_whole_week": "the data hold no whole week",
    "edge_cut": "many sessions are cut at the slice's edges",
    "dates_only": "session starts are known to the day only",
    "no_timestamps": "sessions have no start times",
    "sample_rate": "the data look like a sample",
}
RULE_SHORT = {
    "ci_clear_of_band": "the interval reaches into the no-effect band",
    "fits_healthy": "a model fit is in poor health",
    "stable_without_controls": "the answer changes without the context controls",
    "truth_covered": "a true effect lies outside its interval",
    "styles_browse_alike": "the purchase styles may browse differently",
    "explains_material_share": "browsing explains little of spend",
    "classifier_alike": "the classifier check does not confirm it",
    "classifier_above_chance": "the classifier check does not confirm it",
    "truth_agrees": "the simulator's truth disagrees",
    "landmark_agrees": "a check that cannot include buying reads differently",
}
STEP_WORDS = {  # 04's steps (``spend.STEPS``)
    "engagement": "one more event before checkout",
    "time": "one more minute before checkout",
    "idle": "a longest pause before checkout half as long",
}
UNIT_WORDS = {"event": "each extra event", "minute": "each extra minute"}  # 03's units (``UnitEffect.unit``)
CANNOT = "these data cannot tell"
UNITLESS = {  # 03's answer without its units (a result recorded before 03 stated them)
    "engagement": "The number of events before checkout goes with buying more clearly than time on site does",
    "time": "Time on site before checkout goes with buying more clearly than the number of events does",
    "neither": "Neither events nor minutes before checkout go materially with buying",
    "unclear": "These data cannot tell whether events or minutes before checkout go more with buying",
}


# --------------------------------------------------------------------------------------------
# Numbers at a readable precision
# --------------------------------------------------------------------------------------------


def decimals(lo: float, hi: float, most: int = 3) -> int:
    """Decimals that show an interval's width with two significant digits at most (0 for wide ones)."""
    width = abs(hi - lo)
    if not width or not math.isfinite(width):
        return 2
    return max(0, min(most, 1 - round(math.log10(width))))


def points(value: float, lo: float, hi: float) -> str:
    """'+0.82 points of conversion (95 % CI +0.72 to +0.92)', to two decimals as every page shows points."""
    return f"{value:+.2f} points of conversion (95 % CI {lo:+.2f} to {hi:+.2f})"


def pct_decimals(lo: float, hi: float) -> int:
    """Decimals of a % or a USD amount: 0 for an interval 10 or more wide, 1 from 1, else 2 (as
    ``fitness.readable_pct``, so the summary and the answers below it show the same digits)."""
    width = abs(hi - lo)
    return 0 if width >= 10 else 1 if width >= 1 else 2


def percent(value: float, lo: float, hi: float, level: str = "95 %") -> str:
    """'+7.6 % (95 % CI +3.3 % to +12.1 %)', or 'an amount these data cannot size' past ``UNSIZEABLE_WIDTH_PCT``."""
    if not math.isfinite(hi - lo) or hi - lo > UNSIZEABLE_WIDTH_PCT:
        return "an amount these data cannot size"
    d = pct_decimals(lo, hi)
    return f"{value:+.{d}f} % ({level} CI {lo:+.{d}f} % to {hi:+.{d}f} %)"


def usd(value: float, lo: float, hi: float) -> str:
    """'+7.8 USD' at the precision of its interval ``lo``-``hi``."""
    return f"{value:+,.{pct_decimals(lo, hi)}f} USD"


def minutes(seconds: float) -> str:
    """'1.3 minutes', '45 minutes' or '2.5 hours'."""
    m = seconds / 60
    if m >= 120:
        return f"{m / 60:.1f} hours"
    return f"{m:.0f} minutes" if m >= 10 else f"{m:.1f} minutes"


# --------------------------------------------------------------------------------------------
# Hedges: the badge and what the data lack
# --------------------------------------------------------------------------------------------


def hedge(badge) -> str:
    """'(high confidence)' or '(low confidence: the log looks thinned)': the level and at most two reasons."""
    failed = [r.code for r in badge.rules if not r.passed]
    reasons = [LIMIT_WORDS[c] for c in failed if c in LIMIT_WORDS]
    reasons += [RULE_SHORT[c] for c in failed if c in RULE_SHORT and RULE_SHORT[c] not in reasons]
    level = f"{badge.level} confidence" if badge.level in ("high", "medium", "low") else "confidence not rated"
    return f"({level}{': ' + ' and '.join(reasons[:2]) if reasons else ''})"


def not_estimable(question: str, result) -> str:
    """'These data cannot tell who buys: 3 buyers among 247 sessions ...'."""
    reason = reason_words(result) or "too few buyers"
    return f"{cap(CANNOT)} {question}: {reason}."


# --------------------------------------------------------------------------------------------
# One sentence per question
# --------------------------------------------------------------------------------------------


def _impact(strategy, unit: str) -> str:
    """', about +838 USD per 1,000 sessions' from 06's supported recommendation on the same unit, else ''."""
    for rec in getattr(strategy, "recommendations", None) or []:
        usd = rec.values.get("usd_per_1000")
        if rec.status == "supported" and usd is not None and rec.codes.get("unit") == unit:
            return f", about {usd:+,.0f} USD per 1,000 sessions at {rec.values['mean_order']:,.2f} USD an order"
    return ""


def conversion_sentence(result: ConversionResult | None, strategy=None) -> str:
    """03 in one sentence: conversion points per extra event or minute, hedged."""
    if result is None or not result.ok:
        return not_estimable("who buys", result)
    v = result.verdicts
    if not v.healthy:
        return f"Who buys is not answered: a model fit is in poor health {hedge(result.badge)}."
    units = {u.feature: u for u in result.per_unit}
    if not {"engagement", "time"} <= set(units):  # recorded before 03 stated its units: the answer in words only
        return f"{UNITLESS.get(v.answer, UNITLESS['unclear'])} {hedge(result.badge)}."
    e, t = units["engagement"], units["time"]
    per_event, per_minute = points(e.points, e.lo, e.hi), points(t.points, t.lo, t.hi)
    if v.answer in ("engagement", "time"):
        lead = e if v.answer == "engagement" else t
        rest = {
            "yes": "and time on site adds to it",
            "no": "while time on site adds nothing material",
        }.get(v.time_adds, "while whether time on site adds to it is unclear")
        if v.answer == "time":
            rest = "more clearly than the number of events does"
        return (
            f"{cap(UNIT_WORDS[lead.unit])} before checkout goes with "
            f"{points(lead.points, lead.lo, lead.hi)}{_impact(strategy, lead.unit)}, {rest} "
            f"{hedge(result.badge)}."
        )
    if v.answer == "neither":
        return (
            f"Neither extra events nor extra minutes before checkout go with materially more buying "
            f"({per_event} per event; {per_minute} per minute) {hedge(result.badge)}."
        )
    return (
        f"{cap(CANNOT)} whether extra events or extra minutes before checkout go more with buying "
        f"({per_event} per event; {per_minute} per minute) {hedge(result.badge)}."
    )


def _step(call) -> str:
    """'a longest pause before checkout half as long goes with +7.6 % (95 % CI ...) spend per order, ...'."""
    size = percent(call.step_pct, call.step_lo, call.step_hi)
    money = f", about {usd(call.step_usd, call.step_usd_lo, call.step_usd_hi)}" if not size.startswith("an") else ""
    return f"{STEP_WORDS[call.feature]} goes with {size} spend per order{money}"


def spend_sentence(result: SpendResult | None) -> str:
    """04 in one sentence: % and USD per order per a pictured step of the clearest behaviour, hedged."""
    if result is None or not result.ok:
        return not_estimable("who spends more", result)
    v = result.verdicts
    if v.reasons:
        from helpers.presentation.words.spend import reason_text

        return f"Who spends more is not read: {reason_text(v.reasons[0])} {hedge(result.badge)}."
    clear = [c for c in v.calls() if c.verdict in ("positive", "negative")]
    lead = next((c for c in clear if result.headline and c.feature == result.headline.feature), None)
    lead = lead or (clear[0] if clear else None)
    if lead is not None and lead.step_pct is None:  # recorded before 04 stated its steps: the direction only
        return f"Among buyers, {effect_phrase(lead.feature, lead.verdict, 'spend per order')} {hedge(result.badge)}."
    if lead is not None:
        return f"Among buyers, {_step(lead)} {hedge(result.badge)}."
    calls = [c for c in v.calls() if c.verdict != "not available"]
    if calls and all(c.verdict == "negligible" for c in calls):
        return (
            f"Among buyers, spend per order hardly changes with events, minutes or pauses before checkout "
            f"{hedge(result.badge)}."
        )
    fact = ""
    if len(result.by_engagement) == 2:  # the plain contrast, said to be one (nothing held fixed)
        few, many = result.by_engagement
        fact = (
            f": in the raw, those with at most {few.events:g} events before checkout spend {few.mean_usd:,.2f} USD "
            f"per order and those with at least {many.events:g} spend {many.mean_usd:,.2f} USD"
        )
    return f"Among buyers, {CANNOT} which browsing goes with higher spend {hedge(result.badge)}{fact}."


def styles_sentence(result: StylesResult | None) -> str:
    """05 in one sentence: the styles' time before checkout in minutes and as a multiple, hedged."""
    if result is None or not result.ok:
        return not_estimable("how purchase styles arise", result)
    v, row = result.verdicts, result.metric("pre_conversion_seconds")
    who = "buyers of a few expensive items and buyers of many cheap ones"
    numbers = ""
    if row is not None and row.ratio is not None:
        d = decimals(row.ratio_lo90, row.ratio_hi90)
        band = {"similar": "inside", "different": "beyond"}.get(v.browsing, "an interval reaching past")
        numbers = (
            f": a median of {minutes(row.median_b)} against {minutes(row.median_a)} before checkout, the first "
            f"typically taking {row.ratio:.{d}f} times as long (90 % CI {row.ratio_lo90:.{d}f} to "
            f"{row.ratio_hi90:.{d}f}), {band} the band of {row.ratio_band:.2f} times either way that counts as alike"
        )
    if v.browsing == "similar":
        return f"{cap(who)} browse alike{numbers} {hedge(result.badge)}."
    if v.browsing == "different":
        return f"{cap(who)} browse differently{numbers} {hedge(result.badge)}."
    return f"{cap(CANNOT)} whether {who} browse alike{numbers} {hedge(result.badge)}."


def sentences(res: dict) -> list[str]:
    """The summary: 03's, 04's and 05's sentences from their results (``res`` by notebook; 06's is optional),
    led in an experiment run by the test's decision and the lift it reads."""
    out = [
        conversion_sentence(res.get("03_conversion"), res.get("06_strategy")),
        spend_sentence(res.get("04_spend")),
        styles_sentence(res.get("05_purchase_style")),
    ][:MAX_SENTENCES]
    test = getattr(res.get("06_strategy"), "readout", None)
    return ([readout_words.summary_sentence(test)] if test is not None else []) + out
