"""04's words: who spends more among buyers.

Usage::

    from helpers.presentation.words import spend as words
    words.intro(result); words.closing(result)      # 04's opening and findings block
    words.spend_call_phrase(result.verdicts.idle, result.verdicts.negligible_pct)
"""

from __future__ import annotations

from helpers.analysis.spend import DETECT_POWER, STYLES_DIFFER, UNSIZEABLE_WIDTH_PCT, SpendResult
from helpers.presentation.words import common
from helpers.presentation.words import fitness as fitness_words
from helpers.presentation.words.common import (  # noqa: F401  (re-exported: a page imports one module)
    FEATURE_WORDS,
    HIGHER_LOWER,
    badge_line,
    cap,
    closing,
    clustering_line,
    fit_problems,
    health_note,
    health_words,
    intro,
    lines,
    pct,
    truth_lines,
    usd,
)

USD_FROM = {  # FeatureCall.usd_from: where a call's USD per order per SD come from
    "gamma_mean": "the Gamma GLM's % change of the mean order times the mean order value",
    "ols_smearing": "the log-spend % times the mean order the log model implies (Duan's smearing)",
}
POPULATION_WORDS = {"buyers": "buyers", "sessions": "sessions"}  # SegmentSpend.population
SHORT = {"engagement": "more events", "time": "longer time", "idle": "longer idle gaps"}
SEGMENT_WORDS = {"few": "few events", "many": "many events"}  # 04's groups of buyers by events before checkout


TRUTH_CODE_WORDS = {  # SpendResult.truth_code: why the simulator's true effects are not set beside the CIs
    "style_confounds_browsing_and_spend": "not made; in this simulated world the purchase style moves browsing and "
    "spend together and the gold table does not hold it, so these coefficients absorb the style and do not estimate "
    "the simulator's effects",
}


def reason_text(reason: str) -> str:
    """Why 04's associations are not interpreted: a fit's health problem, or the styles' code in words."""
    if reason == STYLES_DIFFER:
        return (
            "cheap-many and expensive-few buyers browse differently, so these associations may reflect "
            "which products buyers choose rather than how they browse"
        )
    return health_words(reason)


def held_fixed(feature: str, specification: str | None) -> str:
    """What a spend model holds fixed besides ``feature``, in words."""
    others = ["engagement", "time"] + (["idle time"] if specification and "idle" in specification else [])
    others = [o for o in others if not o.startswith(feature)]
    return f"holding {', '.join(others)} and context fixed"


def _depends(call) -> tuple[str, bool, bool]:
    """A 'depends' call's shape: its direction, whether the sign reverses across the models, and whether it is
    material in the model without idle time (rather than only in the one with it)."""
    material = [c for spec, c in call.classes.items() if spec != "Gamma GLM check" and c in HIGHER_LOWER]
    reverses = len(set(material)) > 1
    direction = HIGHER_LOWER[material[0]] if material and not reverses else "higher or lower"
    return direction, reverses, call.classes.get(call.other_specification) in HIGHER_LOWER


def spend_call_phrase(call, negligible_pct: float) -> str:
    """One feature's association with spend per order, from its call (see ``spend.feature_call``)."""
    words = FEATURE_WORDS[call.feature]
    if call.verdict == "not available":
        return f"{words} is not available for session-level input (no event timing)"
    if call.verdict == "cannot size":
        return (
            f"these data cannot size how {words} relates to spend: its 95 % CI spans more than "
            f"{UNSIZEABLE_WIDTH_PCT:g} points per SD ({pct(call.pct, call.lo, call.hi)})"
        )
    size = (
        f"{pct(call.pct, call.lo, call.hi)} per SD, {usd(call.usd, call.usd_lo, call.usd_hi)} per order"
        f"{usd_source(call)}"
    )
    if call.verdict in HIGHER_LOWER:
        return f"{words} is associated with {HIGHER_LOWER[call.verdict]} spend ({size})"
    if call.verdict == "negligible":
        return f"{words} has no material association with spend ({size}; inside ±{negligible_pct:g} %)"
    if call.verdict == "depends":
        direction, reverses, while_not_held = _depends(call)
        when = (
            "depending on whether idle time is held fixed"
            if reverses
            else "by a material amount only "
            + ("while idle time is not held fixed" if while_not_held else "once idle time is held fixed too")
        )
        before = pct(call.other_pct, call.other_lo, call.other_hi)
        return (
            f"{words} goes with {direction} spend {when}: {before} per SD "
            f"{held_fixed(call.feature, call.other_specification)}, {pct(call.pct, call.lo, call.hi)} "
            f"{held_fixed(call.feature, call.specification)}"
        )
    detect = (
        f"; these data would detect about ±{abs(call.detectable):.1f} % per SD with {100 * DETECT_POWER:g} % power"
        if call.detectable is not None and abs(call.detectable) <= 50
        else ""
    )
    return f"the data cannot tell how {words} relates to spend ({size}{detect})"


def spend_fact(result) -> str:
    """04's plain descriptive fact: spend per order of buyers with few and with many events before checkout (the
    lowest and highest thirds of ``SegmentSpend.population``), raw, before anything is held fixed."""
    if len(result.by_engagement) < 2:
        return ""
    few, many = result.by_engagement
    return (
        f"Buyers with at most {few.events:g} events before checkout spend {few.mean_usd:,.2f} USD per order "
        f"[{few.lo:,.2f}, {few.hi:,.2f}], those with at least {many.events:g} spend {many.mean_usd:,.2f} USD "
        f"[{many.lo:,.2f}, {many.hi:,.2f}] (the lowest and highest thirds of {POPULATION_WORDS[few.population]}; "
        "a raw contrast, confounded by whatever travels with browsing)."
    )


def usd_from_phrase(result) -> str:
    """Where 04's USD per order per SD come from (``FeatureCall.usd_from``; one source for every call, else each
    named), with the mean order value."""
    sources = {c.usd_from for c in result.verdicts.calls() if c.usd_from}
    mean = f" ({result.mean_spend:,.2f} USD)" if result.mean_spend else ""
    if not sources:
        return f"USD are per order at the mean order value{mean}"
    if len(sources) == 1:
        return f"USD per order come from {USD_FROM[sources.pop()]}{mean}"
    each = "; ".join(f"{c.feature}: {USD_FROM[c.usd_from]}" for c in result.verdicts.calls() if c.usd_from)
    return f"USD per order come from, for {each}{mean}"


def better_phrase(v) -> str:
    """Which feature predicts spend better on its own, with the paired test of the RMSE gap across folds
    (``Verdicts.rmse_gap_p``) when it ran."""
    better = {
        "engagement": "On its own, engagement predicts spend better than time",
        "time": "On its own, time predicts spend better than engagement",
        "neither clearly": "On its own, neither engagement nor time predicts spend clearly better",
    }[v.explains_better]
    text = (
        f"{better}: cross-validated RMSE {v.rmse_engagement_only:.4f} (engagement) against "
        f"{v.rmse_time_only:.4f} (time), in log points"
    )
    if v.rmse_gap_p is not None:
        text += f" (paired test of the gap across folds, {common.p_value(v.rmse_gap_p)})"
    return text


def spend_answer(result) -> str:
    """04's answer: the descriptive fact first, then each feature with the others held fixed."""
    v = result.verdicts
    calls = [c for c in v.calls() if c.verdict != "not available"]
    held = "; ".join(f"{spend_call_phrase(c, v.negligible_pct)}" for c in calls)
    text = (spend_fact(result) + " " if spend_fact(result) else "") + f"Holding the other behaviours fixed, {held}."
    if v.idle.verdict == "not available":
        text += " Idle gaps are not available for session-level input."
    if v.explains_little:
        text += f" Behaviour explains little of spend (adjusted R² {v.best_adj_r2:.3f})."
    return cap(text)


def usd_source(call) -> str:
    """Where a call's USD come from when they are not the % beside them: the Gamma check's change of the mean."""
    return " by the Gamma check" if getattr(call, "usd_from", None) == "gamma_mean" else ""


def spend_call_short(call) -> str:
    """One feature's call in a few words with its numbers, for the front page."""
    size = f"{call.pct:+.1f} % per SD, {usd(call.usd)} per order{usd_source(call)}" if call.pct is not None else ""
    if call.verdict in HIGHER_LOWER:
        return f"{HIGHER_LOWER[call.verdict]} spend ({size})"
    if call.verdict == "negligible":
        return f"no material association ({size})"
    if call.verdict == "depends":
        direction, reverses, while_not_held = _depends(call)
        numbers = f"({call.other_pct:+.1f} % against {call.pct:+.1f} % per SD)"
        if reverses:
            return f"reverses when idle time is held fixed {numbers}"
        held = "while idle time is not held fixed" if while_not_held else "once idle time is held fixed too"
        return f"{direction} spend, material only {held} {numbers}"
    if call.verdict == "cannot size":
        return "cannot be sized with these data"
    return f"not clear from these data ({size})"


@common.answer.register
def spend_summary(result: SpendResult) -> str:
    """04's answer for the front page: the plain fact, then each feature's call in a few words."""
    v = result.verdicts
    parts = [f"{SHORT[c.feature]}: {spend_call_short(c)}" for c in v.calls() if c.verdict != "not available"]
    text = (spend_fact(result) + " " if spend_fact(result) else "") + "Others held fixed, " + "; ".join(parts) + "."
    if v.explains_little:
        text += f" Behaviour explains little of spend (adjusted R² {v.best_adj_r2:.3f})."
    return text


@common.evidence.register
def _(result: SpendResult) -> str:
    calls = [c for c in result.verdicts.calls() if c.pct is not None]  # at the precision each CI supports
    parts = [f"{c.feature} {fitness_words.readable_pct(c.pct, c.lo, c.hi, UNSIZEABLE_WIDTH_PCT)}" for c in calls]
    return "spend per SD, others held fixed: " + ", ".join(parts)


STEP_LABELS = {  # 04's steps (``spend.STEPS``)
    "engagement": "one more event",
    "time": "one more minute",
    "idle": "a longest pause half as long",
}


def steps_phrase(result) -> str:
    """Each association per a pictured step, in % and USD per order with their CIs at a readable precision:
    'a longest pause half as long: +7.6 % [+3.3 %, +12.1 %] per order (+7.8 [+3.4, +12.4] USD)'; '' without steps."""
    out = []
    for c in result.verdicts.calls():
        if c.step_pct is None:
            continue
        size = fitness_words.readable_pct(c.step_pct, c.step_lo, c.step_hi, UNSIZEABLE_WIDTH_PCT)
        width = abs(c.step_usd_hi - c.step_usd_lo)
        d = 0 if width >= 10 else 1 if width >= 1 else 2
        usd = f" ({c.step_usd:+,.{d}f} [{c.step_usd_lo:+,.{d}f}, {c.step_usd_hi:+,.{d}f}] USD)"
        out.append(f"{STEP_LABELS[c.feature]}: {size}" + (f" per order{usd}" if "cannot" not in size else ""))
    return "; ".join(out)


def per_sd_phrase(result) -> str:
    """Each feature's % per SD at the precision its CI supports, with what one SD is: 'idle -24 % [-34 %, -11 %]
    (one SD ≈ ×7.6 as long a longest pause)', joined by ', ' (the front page quotes the same)."""
    out = []
    for c in result.verdicts.calls():
        if c.pct is None:
            continue
        sd = common.one_sd(c.sd_factor, c.feature)
        out.append(
            f"{c.feature} {fitness_words.readable_pct(c.pct, c.lo, c.hi, UNSIZEABLE_WIDTH_PCT)}"
            + (f" ({sd})" if sd else "")
        )
    return ", ".join(out)


@common.lines.register
def spend_lines(result: SpendResult) -> list[str]:
    """04's findings as Markdown bullets."""
    v = result.verdicts
    out = [
        f"- **{spend_answer(result)}**",
        f"- {better_phrase(v)}; adjusted R² {v.adj_r2_engagement_only:.3f} against {v.adj_r2_time_only:.3f}.",
        f"- A direction is stated only when the per-SD CI lies outside ±{v.negligible_pct:g} % in every model "
        f"shown and the Gamma GLM check lies on the same side of zero; {usd_from_phrase(result)}.",
        "- These models describe buyers only (spend given a purchase); buying itself goes with engagement or time "
        "(03), so a difference among buyers is not a difference among visitors.",
    ]
    if steps_phrase(result):
        out.append(f"- In business units, others held fixed: {steps_phrase(result)}. Per SD: {per_sd_phrase(result)}.")
    if result.clustering:
        out.append(f"- {clustering_line(result.clustering, 'buying sessions')}")
    out += [f"- Not interpreted: {reason_text(reason)}." for reason in v.reasons]
    return (
        out
        + truth_lines(result.truth)
        + ([f"- Truth check: {TRUTH_CODE_WORDS[result.truth_code]}."] if result.truth_code else [])
    )


@common.intro.register
def spend_intro(result: SpendResult) -> str:
    """04's opening sentence: buyers, median spend, sampling, controls left out, idle availability, estimability."""
    if result.buyers:
        text = (
            f"**{result.buyers:,} buyers** with a positive amount, out of {result.sessions:,} sessions; median spend "
            f"${result.median_spend:,.2f}."
        )
    else:
        text = "**No buyers with a positive amount.**"
    if result.sampled:
        text += f" Models use a uniform random sample of {len(result.evidence.buyers):,} buyers."
    if not result.idle_measured:
        text += " Idle gaps are not available for session-level input: the idle model is left out."
    return text + common.intro_tail(result, pooled=False)


def by_engagement_table(result):
    """04's spend by few and many events before checkout, as a table with its groups in words."""
    import pandas as pd

    bound = {"few": "at most", "many": "at least"}
    rows = [
        {"segment": SEGMENT_WORDS[r.segment], "rule": f"{bound[r.segment]} {r.events:g}"}
        | {k: v for k, v in r.to_json().items() if k not in ("segment", "events")}
        for r in result.by_engagement
    ]
    return pd.DataFrame(rows).set_index("segment")


def held_fixed_line(result) -> str:
    """Time's association with spend as more is held fixed: with engagement, then with idle time too."""
    t = result.verdicts.time
    text = f"Time {held_fixed('time', t.specification)}: {pct(t.pct, t.lo, t.hi)} spend per SD."
    if t.other_specification:
        text = (
            f"Time {held_fixed('time', t.other_specification)}: {pct(t.other_pct, t.other_lo, t.other_hi)} "
            f"spend per SD; {held_fixed('time', t.specification)}: {pct(t.pct, t.lo, t.hi)}."
        )
    return text


def style_check_line(result) -> str:
    """04's check for confounding by purchase style, in one sentence, with 05's equivalence test it reads
    (``BrowsingCheck.tost_p`` at ``alpha``: 'similar' exactly when p < alpha)."""
    check = result.style_check
    text = f"Purchase styles browse: **{check.browsing}**"
    if check.tost_p is not None:
        below = "below" if check.tost_p < check.alpha else "not below"
        text += (
            f" (05's equivalence test on 05's buyers: TOST {common.p_value(check.tost_p)}, {below} α = "
            f"{check.alpha:g}, the largest over duration and volume, read from their {1 - 2 * check.alpha:.0%} CIs)"
        )
    return text + (" — the associations above are not interpreted." if result.verdicts.confounded else ".")
