"""03's words: who purchases, engagement or time on site.

Usage::

    from helpers.presentation.words import conversion as words
    words.intro(result); words.closing(result)      # 03's opening and findings block
    words.landmark_line(result.landmark, result.effect("engagement"))
"""

from __future__ import annotations

import math

from helpers.analysis.conversion import ConversionResult
from helpers.presentation.words import common
from helpers.presentation.words.common import (  # noqa: F401  (re-exported: a page imports one module)
    HIGHER_LOWER,
    badge_line,
    cap,
    closing,
    clustering_line,
    effect_phrase,
    health_note,
    health_words,
    intro,
    lines,
    p_value,
    times,
    truth_lines,
)

AUDIT_WORDS = {  # 03's definitions of engagement, by code (``conversion.AUDIT_DEFINITIONS``)
    "browsing": "browsing before the first checkout (used)",
    "browsing_with_cart": "browsing + add-to-cart steps",
    "whole_session": "whole session, funnel included",
}


def time_adds_phrase(v) -> str:
    """Whether time adds to engagement, with the direction of time's association (``v``: 03's verdicts)."""
    if v.time_adds == "yes":
        return (
            f"time adds to engagement: holding engagement fixed, longer time before checkout is associated "
            f"with {HIGHER_LOWER[v.time_sign]} purchase odds"
        )
    if v.time_adds == "no":
        return "time adds nothing material once engagement is known"
    return "whether time adds to engagement is unclear"


def conversion_answer(v) -> str:
    """03's one-sentence answer for the front page and the findings (``v``: 03's verdicts)."""
    if not v.healthy:
        return "Not answered: " + "; ".join(health_words(c) for c in v.health_reasons) + "."
    if v.answer in ("engagement", "time"):
        lead = f"{cap(v.answer)} is the clearly stronger of the two: {effect_phrase(v.answer, getattr(v, v.answer))}"
    elif v.answer == "neither":
        lead = "Neither engagement nor time before checkout is materially associated with purchase"
    else:
        lead = "The data cannot tell whether engagement or time goes more with purchase"
    if v.answer == "time" and v.time_adds == "yes":
        return f"{lead}, and it adds to what engagement explains."
    return f"{lead}; {time_adds_phrase(v)}."


@common.answer.register
def _(result: ConversionResult) -> str:
    return conversion_answer(result.verdicts)


@common.evidence.register
def _(result: ConversionResult) -> str:
    e, t = result.effect("engagement"), result.effect("time")
    return (
        f"odds per SD: engagement {times(e.or_per_sd, e.or_lo, e.or_hi)}, time {times(t.or_per_sd, t.or_lo, t.or_hi)}"
    )


@common.lines.register
def conversion_lines(result: ConversionResult) -> list[str]:
    """03's findings as Markdown bullets, from its typed result."""
    v, e, t = result.verdicts, result.effect("engagement"), result.effect("time")
    band = f"[{1 / result.negligible_or:.2f}, {result.negligible_or:.2f}]"
    out = [
        f"- **{conversion_answer(v)}**",
        f"- Per SD, holding the other fixed, the purchase odds change {times(e.or_per_sd, e.or_lo, e.or_hi)} "
        f"with engagement and {times(t.or_per_sd, t.or_lo, t.or_hi)} with time (95 % CIs; an odds ratio "
        f"inside {band} counts as no material association). In words: "
        f"{effect_phrase('engagement', v.engagement, ci=(e.or_lo, e.or_hi))}; "
        f"{effect_phrase('time', v.time, ci=(t.or_lo, t.or_hi))}. {cap(sd_phrase(result))}.",
    ]
    if v.time_adds == "yes":
        out.append(
            f"- Time given engagement, in the model with controls: Wald {p_value(v.p_time_given_engagement)}; "
            f"cross-validated AUC {v.auc_gain_from_time:+.3f}."
        )
    out.append(
        f"- On its own, engagement reaches a cross-validated AUC of {v.auc_engagement_only:.3f} and time "
        f"{v.auc_time_only:.3f} (0.5 is chance)."
    )
    out.append(f"- In business units: {unit_phrase(result.unit('engagement'))}; {unit_phrase(result.unit('time'))}.")
    leak = result.leakage_auc()
    if leak:
        out.append(
            f"- Counting the funnel's own events would inflate the AUC to {leak[1]:.3f} (leakage-free: {leak[0]:.3f})."
        )
    out += [f"- {cart_steps_line(result.leakage)}"] if result.leakage and len(result.leakage) == 3 else []
    if result.clustering:
        out.append(f"- {clustering_line(result.clustering, 'sessions')}")
    if not v.stable:
        out.append(
            "- The answer changes when the controls (device, traffic source, weekday, hour) are dropped: "
            "read it with care."
        )
    return out + truth_lines(result.truth)


@common.intro.register
def conversion_intro(result: ConversionResult) -> str:
    """03's opening sentence: sessions, buyers, sampling, controls left out, pooling, estimability."""
    share = result.all_buyers / result.sessions
    text = f"**{result.sessions:,} sessions**, **{result.all_buyers:,} buyers** ({share:.2%})."
    if result.sampled:
        rows = len(result.evidence.frame)
        text += f" Models use a uniform random sample of {rows:,} sessions ({result.buyers:,} buyers)."
    return text + common.intro_tail(result)


HETEROGENEITY_NOTES = {
    "too_few_buyers": "too few buyers: not estimated",
    "fit_unhealthy": "the fit is in poor health: not estimated",
}


def noted(table):
    """A per-segment table of 03 with its ``note`` codes in words (the columns are shown as they are)."""
    if "note" not in table:
        return table
    return table.assign(note=table["note"].map(lambda c: HETEROGENEITY_NOTES.get(c, "") if isinstance(c, str) else ""))


def cart_steps_line(audit: list[dict]) -> str:
    """What counting the add-to-cart steps as engagement would do to its odds ratio (03's audit rows)."""
    used, carts = audit[0]["engagement_or_per_sd"], audit[1]["engagement_or_per_sd"]
    return (
        "Engagement counts browsing only: add-to-cart steps follow the decision to buy, so counting them would "
        f"move engagement's odds ratio per SD from ×{used:.2f} to ×{carts:.2f} (both without controls)."
    )


def landmark_reason(lm) -> str:
    """Why the landmark check did not run, from its code."""
    if lm.reason == "too_few_buyers":
        return (
            f"{lm.buyers} buyers among {lm.sessions:,} sessions still active after {lm.seconds} s "
            f"(at least {lm.min_buyers} needed, with varied browsing)"
        )
    return {
        "no_landmark_columns": "the gold table has no landmark columns",
        "fit_unhealthy": "its fit is in poor health (see the fit health above)",
    }[lm.reason]


def landmark_line(lm, main) -> str:
    """03's landmark check of one feature in one sentence: the same question where it cannot include buying."""
    if lm.verdict == "not estimated":
        return f"Landmark check of {lm.feature} not run: {landmark_reason(lm)}."
    same = "the same reading as" if lm.agrees else "a different reading from"
    if lm.feature == "time":
        where = (
            f"among {lm.sessions:,} sessions that reach their browsing event number {lm.events} before any "
            f"checkout ({lm.buyers:,} buyers), each SD longer to reach it goes with purchase odds"
        )
        why = "the count of events is the same for buyers and non-buyers, so the time cannot include buying"
    else:
        where = (
            f"among {lm.sessions:,} sessions still active {lm.seconds} s after they start ({lm.buyers:,} buyers), "
            f"each SD more browsing in those first {lm.seconds} s goes with purchase odds"
        )
        why = "the window is the same length for buyers and non-buyers, so it cannot restate the funnel"
    text = (
        f"Landmark check of {lm.feature}: {where} {times(lm.or_per_sd, lm.or_lo, lm.or_hi)}; {why}. That is {same} "
        f"the main window (×{main.or_per_sd:.2f}), {lm.moved_pct:+.0f} % on the odds ratio."
    )
    if not lm.agrees and lm.believe:
        from helpers.presentation.words.fitness import BELIEVE_WORDS

        text += f" Which to believe: {BELIEVE_WORDS[lm.believe]}."
    return text


def sd_phrase(result) -> str:
    """What one SD of engagement and of time is: 'one SD ≈ ×1.6 as many events; one SD ≈ ×6.6 as long'."""
    return "; ".join(
        common.one_sd(math.exp(e.sd) if e.sd is not None else None, e.feature)
        for e in (result.effect("engagement"), result.effect("time"))
    )


def unit_phrase(u) -> str:
    """'+1 event before checkout ≈ +0.45 points of conversion [+0.40, +0.50] (the median session has 3)'."""
    median = f"{u.median:,.0f}" if u.unit == "event" else f"{u.median:,.1f}"
    return (
        f"+1 {u.unit} before checkout ≈ {u.points:+.2f} points of conversion [{u.lo:+.2f}, {u.hi:+.2f}] "
        f"(the median session has {median} {u.unit}s)"
    )


def forest_title(result) -> str:
    """Title of 03's effect plot: what is shown, with the numbers."""
    return (
        f"Purchase odds per SD: engagement ×{result.effect('engagement').or_per_sd:.2f}, "
        f"time ×{result.effect('time').or_per_sd:.2f}"
    )


def entanglement_line(tangle) -> str:
    """How entangled engagement and time are: their correlation and variance inflation factors."""
    vifs = ", ".join(f"{k} {v:.1f}" for k, v in tangle.vif.items())
    return f"Correlation of engagement and time: **{tangle.corr:.2f}**; variance inflation factors: {vifs}."


def brier_line(cal) -> str:
    """The calibration in one sentence: Brier score against the base rate's."""
    return (
        f"Brier score **{cal.brier:.5f}** against **{cal.brier_base:.5f}** for the base rate "
        f"(skill {cal.brier_skill:.1%})."
    )


def calibration_title(skill: float) -> str:
    """Title of 03's calibration plot, with the Brier skill it shows."""
    return f"Out-of-fold predicted against observed purchase rates (Brier skill {skill:.1%})"
