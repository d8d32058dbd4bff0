"""06's words: recommendations from their ids and numbers, the experiment's plan, size and simulated result.

Usage::

    from helpers.presentation.words import strategy as words
    words.recommendations(result.recommendations)   # each worded: title, advice, evidence, impact
    words.experiment_lines(result)                  # the proposal as Markdown bullets

Every sentence is made from the recorded codes and numbers (``strategy.Recommendation``:
``id``, ``status``, ``reason``, ``test``, ``codes``, ``values``); an unknown id or code raises
``KeyError`` rather than showing a placeholder. 06 quotes no other page's words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from helpers.analysis.spend import UNSIZEABLE_WIDTH_PCT
from helpers.analysis.strategy import DRIVERS, StrategyResult
from helpers.presentation.formatting import span
from helpers.presentation.words import common
from helpers.presentation.words import fitness as fitness_words
from helpers.presentation.words.common import (  # noqa: F401  (re-exported: a page imports one module)
    FEATURE_WORDS,
    HIGHER_LOWER,
    QUESTIONS,
    SUPPORTED,
    effect_phrase,
    limitations,
    p_value,
)

TITLES = {
    "engagement_over_time": "Optimise for engagement, not time on site",
    "time_richer_content": "Hold attention before checkout with richer product content",
    "time_shorter_path": "Shorten the path to checkout",
    "idle_to_interaction": "Turn idle time into interaction",
    "segment_by_engagement": "Segment the experience by engagement level",
    "segment_by_time": "Segment the experience by time level",
    "styles_price_framing": "Sell expensive items through price framing, not browsing mechanics",
}
ADVICE = {
    "engagement_over_time": "Build features that invite meaningful actions (compare, save, read details) rather "
    "than ones that only keep visitors longer.",
    "time_richer_content": "Reviews, guides and fuller product pages give visitors reasons to stay before they decide.",
    "time_shorter_path": "Fewer steps and faster pages between the product and checkout: longer visits go with lower "
    "purchase odds here, whatever the visitor does.",
    "idle_to_interaction": "After a long pause, offer a low-effort next step (compare, see details, save for later); "
    "longer idle gaps are associated with smaller orders.",
    "styles_price_framing": "The styles browse alike, so value framing (bundles, comparisons, guarantees) is the "
    "lever for expensive items.",
}
SEGMENT_ADVICE = {
    ("engagement", "high"): "Sessions with at least {many} before checkout convert more: keep their path to checkout "
    "short. Sessions with at most {few} convert less: guide them with fewer, clearer choices.",
    ("engagement", "low"): "Sessions with at most {few} before checkout convert more: quick deciders should reach "
    "checkout without extra steps. Sessions with at least {many} convert less: find where they get stuck.",
    ("time", "high"): "Sessions that spend at least {many} before checkout convert more: give short visits a reason "
    "to stay (guides, comparisons). Sessions under {few} convert least: they leave before they look.",
    ("time", "low"): "Sessions that reach checkout within {few} convert more: keep that path fast. Sessions that "
    "take at least {many} convert less: find what holds them up.",
}
TESTS = {
    "engagement_or_above_band": "03: engagement's odds ratio per SD above the no-effect band {band}",
    "time_or_outside_band": "03: time's odds ratio per SD outside the no-effect band {band}",
    "idle_spend_below_band": "04: spend change per SD of the longest idle gap below −{negligible_pct:g} % in each "
    "model shown",
    "segment_contrast": "06: conversion of the high third minus the low third differs from zero (user-level SE)",
    "styles_tost": "05: every duration and volume SMD within ±{margin:g} ({metrics:g} metric{s}; TOST, the largest p)",
}
FAMILY_WORDS = {  # codes['family'] (strategy.holm_gate)
    "holds_alone_not_in_family": "the answer holds on its own test, but not as one of the family's tests after Holm",
}
NOT_ESTIMATED_WORDS = {
    "no_fit_03": "03 could not fit its models",
    "no_fit_04": "04 could not fit its models",
    "no_fit_05": "05 could not compare the styles",
    "idle_not_available": "04: idle gaps are not available for session-level input",
    "no_thirds": "the low and high thirds cannot be compared",
}
LEVERS = {"interaction_density": "interaction density", "time_before_checkout": "time before checkout"}
PLAN_WORDS = {  # (lever, basis) -> hypothesis, intervention; basis -> why this lever
    "interaction_density": (
        "More interactions per minute at the same time on site would raise conversion.",
        "Detect idle gaps between interactions and offer a low-effort next step (compare, expand details, save for "
        "later).",
    ),
    "time_positive": (
        "Content that holds attention before checkout (reviews, guides, richer product pages) would raise conversion.",
        "Show richer product content on the pages visitors read before checkout.",
    ),
    "time_negative": (
        "A shorter path to checkout (fewer steps, faster pages) would raise conversion.",
        "Remove a step between the product page and checkout, or make the pages faster.",
    ),
}
BASIS = {
    "engagement_positive": "03 links more events before checkout with higher purchase odds; only the experiment can "
    "show that adding interactions causes it.",
    "exploratory": "Exploratory: 03 supports no behavioural lever clearly, so the experiment tests the most plausible "
    "one.",
    "time_positive": "03 finds time before checkout the clearly stronger, positive correlate of purchase.",
    "time_negative": "03 finds time before checkout the clearly stronger correlate of purchase, and a negative one.",
}
GUARDRAILS = {
    "session_duration": "mean session duration (not more than {margin:.0%} longer)",
    "checkout_completion": "checkout completion rate (not more than {margin:.0%} lower)",
    "revenue_per_session": "revenue per session (not more than {margin:.0%} lower)",
}
GUARDRAIL_NAMES = {
    "session_duration": "session duration",
    "checkout_completion": "checkout completion",
    "revenue_per_session": "revenue per session",
}
MARGIN_SETTINGS = {  # the parameter each guardrail's margin comes from (strategy.experiment_plan)
    "session_duration": "guardrail_margin",
    "checkout_completion": "revenue_margin",
    "revenue_per_session": "revenue_margin",
}
PRIMARY = {"session_conversion": "session conversion"}
UNITS = {"user": "user where users are identified, else session"}
NOT_SIMULATED = {
    "carries_test": "the data carry the test itself, read out above",
    "real_data": "these are not simulated data",
    "no_simulator_lever": "the simulator has no lever for {lever}",
    "baseline_degenerate": "the baseline conversion is 0 or 1",
}
DECISIONS = {
    "ship": "ship: conversion rose; {duration} and {revenue} both stay within their margins",
    "no_ship_conversion_fell": "do not ship: conversion fell",
    "no_ship_duration_guardrail": "do not ship: the duration guardrail failed, {duration}",
    "no_ship_revenue_guardrail": "do not ship: the revenue guardrail failed, {revenue}",
    "no_decision": "no decision: the conversion difference's CI includes zero",
}
METHODS = {"score": "score method", "delta_user": "delta method at user level"}
# A plan when the data lean toward no lever (strategy.fit_plan): its words live with the data's fitness
LEVERS |= fitness_words.LEVERS
PLAN_WORDS |= fitness_words.PLAN_WORDS
BASIS |= fitness_words.BASIS


# What a supported recommendation is, from its kind and codes (``strategy.promote``: only an experiment makes an action)
KINDS = {
    "hypothesis": "a hypothesis to test: it rests on observational data",
    "action": "an action: an experiment's strong instrument supports it",
}
BUYERS_ONLY = "a hypothesis about spend among buyers: 04's model conditions on purchase"
IMPACT_LABELS = {
    "hypothesis": "Association (not shown to cause it)",
    "action": "Association, its direction confirmed by the experiment",
}
EXPERIMENT_WORDS = {  # codes['experiment']: why a read-out did or did not make a recommendation an action
    "instrument_supports": "the experiment's instrument (first-stage F {first_stage_f:.1f}) moves purchase the way "
    "this recommendation says",
    "weak_instrument": "the experiment's instrument is weak (first-stage F {first_stage_f:.1f}), so it cannot "
    "confirm this",
    "instrument_not_on_side": "the experiment's instrumented effect does not lie on this recommendation's side of zero",
    "no_instrument": "the experiment instruments another behaviour",
    "stopped_srm": "the experiment was stopped for its sample ratio",
}


@dataclass
class WordedRecommendation:
    """A recommendation as a page shows it: its title, status, kind, advice (or why not), impact, evidence, link;
    ``kind_text`` says what it is in words and ``impact_label`` what its impact is (an association)."""

    id: str
    title: str
    status: str
    kind: str
    text: str
    impact: str
    evidence: str
    link: str
    kind_text: str = ""
    impact_label: str = ""


def kind_text(rec) -> str:
    """What a recommendation is: a hypothesis to test (about spend among buyers when it rests on 04's buyers-only
    model), or an action an experiment supports; with what the experiment said when one was read."""
    if rec.codes.get("conditions_on") == "purchase":
        text = BUYERS_ONLY
    else:
        text = KINDS[rec.kind]
    said = rec.codes.get("experiment")
    if said and said != "instrument_supports":
        text += "; " + EXPERIMENT_WORDS[said].format(first_stage_f=rec.values.get("first_stage_f", math.nan))
    return text


def _seconds(x: float) -> str:
    return f"{x:,.1f} s" if abs(x) < 10 else f"{x:,.0f} s"


def _number(n: float) -> str:
    """A count as precise as it reads: one decimal under 10 ('1.7'), whole above ('24')."""
    return f"{n:,.1f}" if abs(n) < 10 else f"{n:,.0f}"


def _count(n: float, unit: str) -> str:
    return f"{_number(n)} {unit}" + ("" if _number(n) in ("1", "1.0") else "s")


def unit_phrase(rec) -> str:
    """What the recommendation's 'one SD' means in the data's units (``strategy.unit_changes``), or '' unrecorded.

    Idle: 'a longest pause 7.6× shorter (the buyers' median 95 s → 12 s)'; engagement: 'about 6 more events before
    checkout at the median session (3 → 9)'; time: 'about 4.2 more minutes ... (1.5 → 5.7 minutes)'.
    """
    v = rec.values
    if "unit_ratio" not in v:
        return ""
    ratio, median = v["unit_ratio"], v["unit_median"]
    who = "buyers'" if rec.codes.get("sd_population") == "buyers" else "sessions'"
    if rec.id == "idle_to_interaction":
        shorter = median - v["unit_less"]
        return f"a longest pause {ratio:.1f}× shorter (the {who} median {_seconds(median)} → {_seconds(shorter)})"
    if rec.id == "engagement_over_time":
        more = v["unit_more"]
        return (
            f"about {_count(more, 'more event')} before checkout at the {who} median "
            f"({_number(median)} → {_number(median + more)}; ×{ratio:.1f} on 1 + events)"
        )
    more = v["unit_more"] / 60
    return (
        f"about {more:,.1f} more minutes before checkout at the {who} median ({median / 60:,.1f} → "
        f"{(median + v['unit_more']) / 60:,.1f} minutes; ×{ratio:.1f} on 1 + seconds)"
    )


def title(rec) -> str:
    """A recommendation's title from its id (``KeyError`` for an unknown id)."""
    return TITLES[rec.id]


def test_words(rec) -> str:
    """The test a recommendation rests on, in words."""
    if not rec.test:
        return ""
    v = rec.values
    band = f"[×{1 / v['negligible_or']:.2f}, ×{v['negligible_or']:.2f}]" if "negligible_or" in v else ""
    extra = {"band": band, "s": "" if v.get("metrics") == 1 else "s"}
    return TESTS[rec.test].format(**(v | extra))


def _whole(n: float | None, side, drive: str) -> float | None:
    """An event-count cut point as the whole count it means: 'at most 2.33' events is at most 2, 'at least
    2.33' is at least 3 (the same sessions); seconds stay as they are."""
    if drive != "engagement" or n is None or (isinstance(n, float) and math.isnan(n)):
        return n
    return float(side(n))


def _amount(n: float, drive: str) -> str:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "a few events" if drive == "engagement" else "a short time"
    if drive == "time":
        return f"{n:,.0f} seconds"
    return f"{n:g} event" + ("" if n == 1 else "s")


def advice(rec) -> str:
    """What a supported recommendation advises."""
    if rec.id.startswith("segment_by_"):
        drive, v = rec.codes["driver"], rec.values
        few, many = (
            _amount(_whole(v.get("low_max"), math.floor, drive), drive),
            _amount(_whole(v.get("high_min"), math.ceil, drive), drive),
        )
        return SEGMENT_ADVICE[drive, rec.codes["converts_more"]].format(few=few, many=many)
    return ADVICE[rec.id]


def _idle_words(rec) -> str:
    v, verdict = rec.values, rec.codes["idle"]
    size = f"{common.pct(v['pct'], v['pct_lo'], v['pct_hi'])} per SD"
    words = FEATURE_WORDS["idle"]
    if verdict in HIGHER_LOWER:
        return f"{words} is associated with {HIGHER_LOWER[verdict]} spend ({size})"
    if verdict == "negligible":
        return f"{words} has no material association with spend ({size}; inside ±{v['negligible_pct']:g} %)"
    if verdict == "depends":
        return f"{words} goes with spend by a material amount only in some of the models shown ({size})"
    if verdict == "cannot size":  # no interval of several hundred % on a page: it sizes nothing
        return f"these data cannot size how {words} relates to spend"
    return f"the data cannot tell how {words} relates to spend ({size})"


def why_not(rec) -> str:
    """Why a recommendation is withdrawn or not estimated, from its reason code."""
    if rec.status != "withdrawn":
        return NOT_ESTIMATED_WORDS[rec.reason]
    c, v = rec.codes, rec.values
    if rec.reason == "not_eligible":  # needs.eligible: the one rule for what a recommendation may rest on
        return fitness_words.eligibility_text(c.get("eligibility", ""))
    if rec.reason == "holm_adjusted":
        text = (
            f"its test ({p_value(rec.p_value)}) does not survive Holm's adjustment across the {v['tests']:g} tests "
            f"behind the recommendations (adjusted {p_value(rec.p_holm)}, not below α = {v['alpha']:g})"
        )
        return text + (f"; {FAMILY_WORDS[c['family']]}" if c.get("family") else "")
    if rec.reason == "engagement_not_positive":
        return effect_phrase("engagement", c["engagement"])
    if rec.reason == "idle_not_negative":
        return _idle_words(rec)
    if rec.reason == "spend_not_interpreted":
        if c.get("confounded") == "yes":
            return (
                "cheap-many and expensive-few buyers browse differently, so these associations may reflect which "
                "products buyers choose rather than how they browse"
            )
        return "the spend models are in poor health"
    if rec.reason == "segment_ci_includes_zero":
        words = DRIVERS[c["driver"]][1]
        return f"the conversion difference between the high and low thirds by {words} has a CI that includes zero"
    return {
        "fits_unhealthy": "the conversion models are in poor health",
        "time_helps": "longer time before checkout is associated with higher purchase odds by itself",
        "engagement_not_stronger": "engagement is not clearly the stronger of the two",
        "time_not_stronger": "03 does not find time before checkout the clearly stronger correlate of purchase",
        "idle_shortens_time": "shorter pauses would shorten the time before checkout that 03 links to higher "
        "purchase odds",
        "segment_not_driver": "03 does not find this behaviour the clearly stronger correlate of purchase, so "
        "segments by it would only mirror what travels with it",
        "styles_differ": "the styles browse differently, so browsing mechanics may shape what is bought",
        "styles_inconclusive": "the data cannot tell whether the styles browse alike",
    }[rec.reason]


def evidence(rec) -> str:
    """What a recommendation rests on, in a few words with its numbers."""
    c, v = rec.codes, rec.values
    if rec.status == "not estimated" and rec.reason in NOT_ESTIMATED_WORDS and not rec.id.startswith("segment_by_"):
        return NOT_ESTIMATED_WORDS[rec.reason]
    if rec.id == "engagement_over_time":
        return f"03: engagement {c['engagement']}, time {c['time']}, time adds: {c['time_adds']}"
    if rec.id in ("time_richer_content", "time_shorter_path"):
        return f"03: answer {c['answer']}, time {c['time']}, time adds: {c['time_adds']}"
    if rec.id == "idle_to_interaction":
        size = fitness_words.readable_pct(v["pct"], v["pct_lo"], v["pct_hi"], UNSIZEABLE_WIDTH_PCT)
        return f"04: longest idle gap and spend {size}" + (" per SD" if "cannot" not in size else "")
    if rec.id.startswith("segment_by_"):
        drive = c["driver"]
        low = f"{v['low']:.2%} [{v['low_lo']:.2%}, {v['low_hi']:.2%}]"
        high = f"{v['high']:.2%} [{v['high_lo']:.2%}, {v['high_hi']:.2%}]"
        text = f"conversion: low {drive} {low}, high {drive} {high}"
        if "diff" in v:
            text += (
                f"; high minus low {100 * v['diff']:+.2f} points [{100 * v['diff_lo']:+.2f}, "
                f"{100 * v['diff_hi']:+.2f}], {p_value(v['p'])}"
            )
        return text
    text = f"05: browsing {c['browsing']}, browsing classifier AUC {v['auc']:.3f}"
    return text + (f" (permutation p = {v['auc_p']:.3f})" if v.get("auc_p") is not None else "")


def impact(rec) -> str:
    """A supported recommendation's expected impact in business units; empty otherwise."""
    if rec.status != SUPPORTED:
        return ""
    c, v = rec.codes, rec.values
    if rec.id in ("engagement_over_time", "time_richer_content", "time_shorter_path"):
        text = (
            f"+1 {c['unit']} before checkout goes with {v['points']:+.2f} points of conversion "
            f"[{v['points_lo']:+.2f}, {v['points_hi']:+.2f}]"
        )
        if v.get("usd_per_1000") is not None:
            text += f", about {v['usd_per_1000']:+,.0f} USD per 1,000 sessions at {v['mean_order']:,.2f} USD an order"
        if v.get("or_per_sd") is not None:
            unit = unit_phrase(rec)
            unit = f", {unit}," if unit else ""
            odds = common.times(v["or_per_sd"], v["or_lo"], v["or_hi"])
            text += f"; one SD more{unit} goes with purchase odds {odds}"
        return text
    if rec.id == "idle_to_interaction":
        shorter = common.usd(v["usd_shorter"], v["usd_shorter_lo"], v["usd_shorter_hi"])
        unit = unit_phrase(rec)
        unit = f", {unit}," if unit else ""
        return f"among buyers, a longest idle gap one SD shorter{unit} goes with {shorter} per order"
    if rec.id.startswith("segment_by_"):
        return (
            f"{v['points']:+.2f} points of conversion and {v['usd_per_session']:+,.2f} USD per session, "
            "from the low to the high third"
        )
    share = v.get("revenue_share")
    return f"expensive-few buyers bring {share:.0%} of revenue" if share is not None else ""


def recommendation(rec) -> WordedRecommendation:
    """One recommendation worded from its id, codes and numbers."""
    if rec.status == SUPPORTED:
        text = advice(rec)
    elif rec.status == "withdrawn":
        text = f"Withdrawn: {why_not(rec)}."
    else:
        text = ""
    said = impact(rec)
    label = IMPACT_LABELS[rec.kind] if said else ""
    return WordedRecommendation(
        rec.id, title(rec), rec.status, rec.kind, text, said, evidence(rec), rec.link, kind_text(rec), label
    )


def recommendations(recs) -> list[WordedRecommendation]:
    """Every recommendation worded, in order."""
    return [recommendation(r) for r in recs]


def multiplicity_table(recs) -> pd.DataFrame:
    """The family of tests behind the recommendations, with each recommendation's title and its test in words."""
    rows = [
        {
            "recommendation": title(r),
            "test": test_words(r),
            "p": r.p_value,
            "Holm-adjusted p": r.p_holm,
            "status": r.status,
        }
        for r in recs
        if r.p_value is not None
    ]
    return pd.DataFrame(rows, columns=["recommendation", "test", "p", "Holm-adjusted p", "status"])


def multiplicity_line(recs, alpha: float) -> str:
    """Which tests form the family, and how many survive Holm's adjustment."""
    tested = [r for r in recs if r.p_value is not None]
    survive = sum(r.p_holm < alpha for r in tested)
    family = "this one test" if len(tested) == 1 else f"these {len(tested)} tests"
    return (
        f"Each recommendation rests on one interval-based test (its primary outcome); its p-value is read from the "
        f"interval its rule uses. Holm's step-down adjustment runs across {family}, and "
        f"**{survive} of {len(tested)}** stay below α = {alpha:g}; only a supported recommendation whose test "
        "survives is counted as supported."
    )


def executive_summary(upstream: dict, result) -> str:
    """06's opening: each question's confidence with a link to its answer, and how many recommendations stand.

    The answers themselves are worded on their pages and the front page; 06 quotes no other page's words.
    """
    out = []
    for page, question in QUESTIONS.items():
        found = upstream.get(page)
        level = found.badge.level if found is not None and found.ok else "none (not estimated)"
        out.append(f"- [{question}]({page}.html#Findings) Confidence: **{level}**.")
    supported = sum(r.status == SUPPORTED for r in result.recommendations)
    out.append(f"- **{supported} of {len(result.recommendations)} recommendations** are supported (below).")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# The driver, the key figure, the plan
# --------------------------------------------------------------------------------------------


def driver_line(result) -> str:
    """Which behaviour the segments split by, and why."""
    if result.driver_from_answer:
        why = f"03 finds {result.driver} the clearly stronger correlate of purchase"
    else:
        why = "03 names no clearly stronger correlate of purchase, so sessions are split by engagement for reference"
    return f"Split by **{result.driver}**: {why}." + population_phrase(result.segment_cuts or {})


POPULATIONS = {"sessions": "sessions", "buyers": "buyers"}  # who a low / middle / high cut splits into thirds


def population_phrase(cuts: dict) -> str:
    """Which population 06's thirds cut, beside 04's (``segment_cuts['population']``; 04's ``SegmentSpend.population``
    is 'buyers'), so one front page's 'low' and 'high' are not read as the same cut points."""
    if "population" not in cuts:
        return ""
    return (
        f" These are thirds of all {POPULATIONS[cuts['population']]}; 04's few and many events are thirds of buyers, "
        "so its cut points for 'low' and 'high' differ from these."
        if cuts["population"] == "sessions"
        else f" These are thirds of {POPULATIONS[cuts['population']]}."
    )


def key_figure_caption(result, revenue: bool = True) -> str:
    """The key figure's caption: what it shows, by the driver's unit (``revenue`` False: the data have no prices)."""
    shown = (
        "Conversion and revenue per session (95 % CIs)" if revenue else "Conversion (95 % CI; no prices, no revenue)"
    )
    which = "of the sessions no treatment touched" if getattr(result, "segments_population", "all") != "all" else ""
    return f"{shown} by {DRIVERS[result.driver][1]} (thirds {which or 'of sessions'})"


def plan_words(plan) -> dict[str, str]:
    """The experiment plan in words: hypothesis, why this lever, lever, intervention, metrics, unit."""
    key = plan.lever if plan.lever == "interaction_density" else plan.basis
    hypothesis, intervention = PLAN_WORDS[key]
    return {
        "hypothesis": hypothesis,
        "basis": BASIS[plan.basis],
        "lever": LEVERS[plan.lever],
        "intervention": intervention,
        "primary": PRIMARY[plan.primary],
        "guardrails": "; ".join(
            GUARDRAILS[g].format(margin=plan.margins.get(g, plan.guardrail_margin)) for g in plan.guardrails
        ),
        "unit": UNITS[plan.unit],
    }


def not_simulated(result) -> str:
    """Why the experiment was not simulated, in words."""
    return NOT_SIMULATED[result.not_simulated].format(lever=LEVERS[result.plan.lever] if result.plan else "")


def planned(design) -> bool:
    """Whether the design was sized for the planned weeks with the ICC's upper bound (``experiment.planned_size``)."""
    return getattr(design, "design_effect_planned", None) is not None and getattr(design, "icc_upper", None) is not None


def planned_design_phrase(design, n_sessions: int) -> str:
    """The design the size uses: m over the planned days, the ICC's upper bound, D = 1 + (m − 1) × ICC with them."""
    m, icc, days = design.cluster_size_planned, design.icc_upper, design.planned_days
    users = -(-n_sessions // (design.sessions_per_user_planned or design.sessions_per_user))
    measured = f"{design.cluster_size:.1f} over the data's " + (
        f"{design.span_days:,.0f} days" if design.span_days else "span"
    )
    return (
        f"sessions per user m = {m:.1f} over the planned {days:,.0f} days (size-weighted; {measured}), ICC of "
        f"conversion within user {design.icc:.3f} with a one-sided 95 % upper bound of {icc:.4f}, which the size "
        f"uses: design effect D = 1 + ({m:.1f} − 1) × {icc:.4f} = {design.design_effect_planned:.3f}: "
        f"{users:,.0f} users / {n_sessions:,} sessions per arm"
    )


def design_phrase(design, n_sessions: int) -> str:
    """'sessions per user m = 4.0, ICC 0.002, design effect D = 1.006: 16,000 users / 64,000 sessions per arm'; with
    the planned design (``planned``) the m, ICC bound and D the size used (``planned_design_phrase``)."""
    users = -(-n_sessions // design.sessions_per_user)  # rounded up
    if design.cluster_size == 1:
        return f"one session per user (no user repeats), so design effect D = 1: {n_sessions:,} sessions per arm"
    if planned(design):
        return planned_design_phrase(design, n_sessions)
    icc = (
        f"ICC of conversion within user not estimable from {design.icc_buyers} buyers (taken as 0)"
        if getattr(design, "icc_buyers", None) is not None
        else f"ICC of conversion within user {design.icc:.3f}"
    )
    return (
        f"sessions per user m = {design.cluster_size:.1f} (size-weighted; {design.sessions_per_user:.1f} on average), "
        f"{icc}, design effect D = {design.design_effect:.3f}: "
        f"{users:,.0f} users / {n_sessions:,} sessions per arm"
    )


def size_phrase(result) -> str:
    """The experiment's size: sessions per arm, weeks of traffic, the design effect, or why it cannot be sized."""
    n_needed, weeks = result.sample_size_per_arm, result.weeks_needed
    if weeks is None and result.sizing:  # the data carry no runtime: say what is needed instead
        return fitness_words.unsized_text(result) + (
            f"; {fitness_words.design_text(result)}" if not result.design else ""
        )
    if not (n_needed and weeks is not None):
        return "cannot be sized: the baseline conversion or the traffic rate is unknown"
    size = (
        f"{n_needed:,} sessions per arm, {weeks} week{'s' if weeks != 1 else ''} of traffic, to detect a "
        f"{result.relative_mde:.0%} relative lift"
    )
    if result.design is not None:
        size += f"; {design_phrase(result.design, n_needed)}"
    elif result.sizing:
        size += f"; {fitness_words.design_text(result)}"
    if result.span_hours is not None and result.span_hours < 24 and result.runtime_from != "store":
        size += (
            f" (the traffic rate comes from data spanning only {result.span_hours * 60:,.0f} minutes, so the runtime "
            "is a rough extrapolation)"
        )
    return size


def guardrail_sizing_line(result) -> str:
    """Each guardrail's margin (and the setting it comes from), the spread of its metric, the sessions per arm its
    non-inferiority test needs and its power at the planned size (``StrategyResult.guardrail_sizing``)."""
    rows, n = result.guardrail_sizing or {}, result.sample_size_per_arm
    if not rows:
        return ""
    parts = []
    for code, row in rows.items():
        text = (
            f"{GUARDRAIL_NAMES[code]} (margin {row['margin']:.0%}, `{MARGIN_SETTINGS[code]}`; coefficient of "
            f"variation {row['cv']:.2f}) needs {row['sessions_per_arm']:,.0f} sessions per arm for "
            f"{result.power:.0%} power"
        )
        if row.get("power_at_plan") is not None and n:
            text += f", and has {row['power_at_plan']:.0%} at the planned {n:,}"
        parts.append(text)
    weak = [GUARDRAIL_NAMES[c] for c, r in rows.items() if (r.get("power_at_plan") or 1.0) < result.power]
    tail = (
        f" At the planned size {' and '.join(weak)} may fail its margin for lack of precision, with no harm done: "
        "its failure is no evidence of harm, and a larger test would be needed to show it safe."
        if weak and n
        else " Every guardrail is powered at the planned size."
        if n
        else ""
    )
    return "**Guardrails as non-inferiority tests:** " + "; ".join(parts) + "." + tail


def assumed_lever_short(exp) -> str:
    """'assumed +15 % interactions per minute; power 63 % at the lift that follows', or '' when measured."""
    if getattr(exp, "lever_effect", "measured") != "assumed" or exp.assumed_density_lift is None:
        return ""
    text = f"assumed {100 * exp.assumed_density_lift:+.0f} % interactions per minute"
    if exp.power_at_true_diff is not None:
        text += f"; power {exp.power_at_true_diff:.0%} at the lift that follows"
    return text


def assumed_lever_line(exp, power: float | None = None) -> str:
    """The simulated experiment's lever effect is an input, not a finding: what was assumed, the true lift that
    follows in the simulator and the test's power at it (against the ``power`` it was sized for)."""
    if not assumed_lever_short(exp):
        return ""
    text = (
        f"**The lever's effect is assumed, not measured:** assumed {100 * exp.assumed_density_lift:+.0f} % "
        "interactions per minute (`experiment_density_lift`), turned into conversion by the simulator's own "
        "engagement effect"
    )
    if exp.true_diff is not None:
        text += f", a true difference of {100 * exp.true_diff:+.3f} pp"
    if exp.power_at_true_diff is not None:
        text += f"; the test's power at that lift is {exp.power_at_true_diff:.0%}"
        if power is not None and exp.power_at_true_diff < power:
            text += f", below the {power:.0%} it was sized for at the minimum detectable effect"
    return text + "."


def experiment_lines(result) -> list[str]:
    """The experiment proposal as Markdown bullets: lever and hypothesis, metrics, size, intervention, unit."""
    w = plan_words(result.plan)
    return [
        f"- **Lever:** {w['lever']}. Hypothesis: {w['hypothesis']} ({w['basis']})",
        f"- **Primary metric:** {w['primary']}" + (f"; guardrails: {w['guardrails']}." if w["guardrails"] else "."),
        f"- **Size:** {size_phrase(result)}.",
        *([f"- {guardrail_sizing_line(result)}"] if getattr(result, "guardrail_sizing", None) else []),
        f"- **Intervention:** {w['intervention']}",
        f"- **Unit of randomisation:** {w['unit']}; when users repeat, every variance is taken at user level "
        "(the delta method, each user's sessions summed).",
    ]


def traffic_line(result) -> str:
    """06's traffic facts behind the experiment's size, or why it cannot be sized."""
    if result.sample_size_per_arm and result.sessions_per_day:
        d = result.design
        deff = (
            f" Sessions per user m = {d.cluster_size:.1f} and an ICC of {d.icc:.3f} (one-way ANOVA estimator, "
            f"{d.users:,} users) give a design effect D = 1 + (m − 1) × ICC = **{d.design_effect:.3f}**, which "
            "multiplies every size below."
            if d is not None
            else ""
        )
        if d is not None and planned(d) and d.cluster_size > 1:
            deff = (
                f" The size uses what the planned test will have: sessions per user m = {d.cluster_size_planned:.1f} "
                f"over its {d.planned_days:,.0f} days ({d.cluster_size:.1f} in these data) and the ICC's one-sided "
                f"95 % upper bound {d.icc_upper:.4f} (point estimate {d.icc:.3f}, one-way ANOVA, {d.users:,} users), "
                f"so D = 1 + (m − 1) × ICC = 1 + ({d.cluster_size_planned:.1f} − 1) × {d.icc_upper:.4f} = "
                f"**{d.design_effect_planned:.3f}**, which multiplies every size below."
            )
        return (
            f"Baseline conversion **{result.baseline:.2%}**; the data span {span(result.span_hours)}, "
            f"about **{result.sessions_per_day:,.0f} sessions a day**; α = {result.alpha}, power {result.power:.0%}."
            + deff
        )
    if not result.sample_size_per_arm:
        return "*The baseline conversion is 0 or 1: no power analysis is possible.*"
    if result.sizing:  # the data carry no daily rate (under a day, dates without times): say what is needed
        return f"*Baseline conversion {result.baseline:.2%}; {fitness_words.unsized_text(result)}.*"
    return "*All sessions start at the same moment: the traffic rate, and so the runtime, is unknown.*"


# --------------------------------------------------------------------------------------------
# The simulated experiment
# --------------------------------------------------------------------------------------------


def method_words(method: str) -> str:
    """A method code ('score', 'delta_user', or several joined by '+') in words."""
    return " and ".join(METHODS[m] for m in method.split("+"))


def decision(exp) -> str:
    """The pre-registered decision in words, with the guardrails' numbers."""
    m = exp.guardrail_margin
    duration = f"session duration {exp.duration_rel:+.1%} (upper bound {exp.duration_rel_hi:+.1%}, margin +{m:.0%})"
    return DECISIONS[exp.decision].format(duration=duration, revenue=revenue_phrase(exp))


def revenue_phrase(exp) -> str:
    """Revenue per session's relative change with the bound its guardrail reads, and the margin it must clear."""
    if exp.revenue_rel is None:
        return "revenue per session"
    if exp.revenue_rel_lo is None or exp.revenue_margin is None:  # recorded before the non-inferiority margin
        return f"revenue per session {exp.revenue_rel:+.1%} (upper bound {exp.revenue_rel_hi:+.1%})"
    return (
        f"revenue per session {exp.revenue_rel:+.1%} (lower bound {exp.revenue_rel_lo:+.1%}, "
        f"margin −{exp.revenue_margin:.0%})"
    )


def experiment_result_lines(exp, aa, n_arm: int, alpha: float, rate=None, power: float | None = None) -> list[str]:
    """06's simulated experiment in words: lift against the truth, the assumed lever effect and the power at the lift
    that follows (against the planned ``power``), method, secondaries, guardrails, decision, A/A rate.

    ``rate`` (an ``experiment.AARate``) is the false-positive rate over many A/A replications; the
    single A/A arm ``aa`` is reported as a check of the pipeline only.
    """
    pp = lambda x: f"{100 * x:+.3f} pp"  # noqa: E731
    inside = "inside" if exp.true_covered else "outside"
    users = f" ({exp.users_control:,} and {exp.users_treatment:,} users)" if exp.users_control else ""
    return [
        f"**{n_arm:,} sessions per arm{users}.** Conversion {exp.control_rate:.3%} (control) against "
        f"{exp.treatment_rate:.3%} (treatment): difference **{pp(exp.diff)}** (95 % CI {pp(exp.diff_lo)} to "
        f"{pp(exp.diff_hi)}, {p_value(exp.p_value)}); the simulator's true difference is {pp(exp.true_diff)} "
        f"({inside} the CI).",
        *([assumed_lever_line(exp, power)] if assumed_lever_line(exp) else []),
        method_line(exp),
        f"Events per minute (all events over all minutes) {exp.epm_control:.2f} against {exp.epm_treatment:.2f}: "
        f"{exp.epm_diff:+.2f} ({exp.epm_lo:+.2f} to {exp.epm_hi:+.2f}); spend per session "
        f"{exp.spend_diff:+.3f} USD ({exp.spend_lo:+.3f} to {exp.spend_hi:+.3f} USD).",
        f"Guardrails: session duration {exp.duration_rel:+.1%} (one-sided upper bound {exp.duration_rel_hi:+.1%} "
        f"against a margin of +{exp.guardrail_margin:.0%}: {'holds' if exp.duration_ok else 'fails'}); "
        f"{revenue_phrase(exp)}: {'holds' if exp.revenue_ok else 'fails'}.",
        f"**Decision: {decision(exp)}.**",
    ] + ([aa_rate_line(rate, aa)] if rate is not None else [])


def method_line(exp) -> str:
    """How the conversion difference was analysed, and what treating sessions as independent would change."""
    if exp.method == "score" or not exp.diff_se_naive:
        return "Each user has one session here, so the CI and the p-value both come from the score method."
    return (
        f"Users have several sessions, so the CI and the p-value both come from the {method_words(exp.method)}: the "
        f"difference's SE is {100 * exp.diff_se:.3f} pp against {100 * exp.diff_se_naive:.3f} pp if every session "
        f"were independent (×{exp.diff_se / exp.diff_se_naive:.2f}); the guardrails and secondary metrics use it too."
    )


def aa_rate_line(rate, aa=None) -> str:
    """The false-positive rate over many A/A replications, with its Wilson CI (and the naive test's rate)."""
    naive = (
        f"; treating sessions as independent would reject {rate.naive_rejections} of them"
        if rate.naive_rejections != rate.rejections
        else ""
    )
    pipeline = (
        f" (A second control arm run through the whole pipeline differs from this control by "
        f"{100 * aa.diff:+.3f} pp: a check of the pipeline, not of the rate.)"
        if aa is not None
        else ""
    )
    return (
        f"**False-positive rate:** {rate.rejections} of {rate.replications:,} simulated A/A replications "
        f"({rate.sessions_per_arm:,} sessions per arm, the simulator's purchase step, {method_words(rate.method)}) "
        f"reject at α = {rate.alpha:g}: **{rate.rate:.1%}** (Wilson 95 % CI [{rate.lo:.1%}, {rate.hi:.1%}])"
        f"{naive}.{pipeline}"
    )


def strategy_lines(result: StrategyResult) -> list[str]:
    """06's findings: how many recommendations stand, and what the simulated experiment decided."""
    recs, exp = result.recommendations, result.experiment
    supported = [title(r) for r in recs if r.status == SUPPORTED]
    withdrawn = [title(r) for r in recs if r.status == "withdrawn"]
    out = [
        f"- **{len(supported)} of {len(recs)} recommendations are supported** by this data, each by a test that "
        "survives Holm's adjustment across the recommendations' tests"
        + (f"; withdrawn: {', '.join(withdrawn)}." if withdrawn else ".")
    ]
    if exp:
        out.append(
            f"- Simulated, the experiment gives: {decision(exp)}; the measured lift's CI "
            f"{'covers' if exp.true_covered else 'misses'} the true lift."
        )
    return out


common.lines.register(StrategyResult, strategy_lines)
