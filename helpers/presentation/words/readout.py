"""The experiment's read-out in words: decision, sample ratio, lift, CUPED, guardrails, mechanism, over time.

Usage::

    from helpers.presentation.words import readout as words
    words.decision_line(result.readout, result.plan_source)   # '**Decision: ship.** ...'
    words.primary_line(r); words.cuped_line(r); words.instrument_lines(r)
    words.estimates_table(r.secondary + r.mechanism)           # a frame for formatting.show
    words.card_rows(r, source)                                 # the front page's rows: (label, text)
    words.population_line(population)                          # 02-05: which sessions they describe

The read-out (``helpers.analysis.readout``) holds numbers and codes; every sentence is made here.
Conversion is a share (shown in %, its differences in percentage points), revenue in USD.
"""

from __future__ import annotations

import math

import pandas as pd

from helpers.analysis.readout import ReadoutResult
from helpers.presentation.findings import population_line  # noqa: F401  (02-05: which sessions they describe)
from helpers.presentation.words import common
from helpers.presentation.words.common import p_value

METRICS = {
    "session_conversion": "conversion (share of sessions with a purchase)",
    "buyer_share": "share of users who buy",
    "revenue_per_user": "revenue per user",
    "revenue_per_session": "revenue per session",
    "sessions_per_user": "sessions per user",
    "session_seconds": "session duration",
    "events_per_minute": "browsing events per minute before checkout",
    "browsing_events": "browsing events per session before checkout",
    "max_idle_seconds": "longest idle gap before checkout",
    "seconds_before_checkout": "seconds before checkout",
}
UNITS = {  # how a metric's level is shown: 'share' (in %), 'usd', or a unit after the number
    "session_conversion": "share",
    "buyer_share": "share",
    "revenue_per_user": "usd",
    "revenue_per_session": "usd",
    "sessions_per_user": "",
    "session_seconds": "s",
    "events_per_minute": "/min",
    "browsing_events": "",
    "max_idle_seconds": "s",
    "seconds_before_checkout": "s",
}
DECISIONS = {
    "ship": "ship",
    "no_ship": "do not ship",
    "inconclusive": "inconclusive",
    "stopped_srm": "no decision: the assignment is broken",
    "exploratory": "no decision: exploratory read-out without a plan",
}
DECISION_WHY = {
    "ship": "the primary metric's interval lies above zero, every guardrail clears its margin, the split is as planned",
    "no_ship": "the primary metric's interval does not lie above zero, or a guardrail does not clear its margin",
    "inconclusive": "the test ran short of its planned size and its interval includes zero",
    "stopped_srm": "users per variant differ from the planned split beyond chance (sample-ratio mismatch, p < {stop}): "
    "the assignment or the logging is broken, so no estimate is trusted",
    "exploratory": 'no plan was given (PARAMS="plan_run=<run>" or plan_file=<plan.json>), so nothing was decided '
    "in advance; the numbers describe, they do not decide",
}
SRM = {
    "ok": "users per variant are consistent with the expected split",
    "warn": "users per variant differ from the expected split more than usual (a warning: check the assignment)",
    "stop": "users per variant differ from the expected split beyond chance: the read-out stops short of a decision",
}
MISSING = {
    "no_plan": "no plan: an exploratory read-out, no decision",
    "no_dates": "no session dates: no lift over time and no pre-period",
    "no_pre_period": "no sessions before exposure: no pre-period adjustment (CUPED)",
    "no_prices": "no prices: no revenue metric or revenue guardrail",
    "no_timing": "no timing of events within sessions (a session or per-user export): no time before checkout, "
    "idle gaps or interaction density, so neither the mechanism nor the instrument can be read",
}
BEHAVIOURS = {
    "log_browsing_events": "browsing events before checkout (log1p)",
    "log_seconds_before_checkout": "seconds before checkout (log1p)",
}
PLAN_SOURCES = {"run": "the plan recorded by run '{name}'", "file": "the plan file {name}", "none": "no plan"}


def level(metric: str, value: float) -> str:
    """A metric's level: '3.12 %', '41.20 USD', '86.0 s', '2.54' (fixed decimals by size, so two arms line up)."""
    unit = UNITS.get(metric, "")
    if unit == "share":
        return f"{100 * value:.2f} %"
    if unit == "usd":
        return f"{value:,.2f} USD"
    decimals = 2 if abs(value) < 10 else (1 if abs(value) < 1000 else 0)
    return f"{value:,.{decimals}f}{(' ' + unit) if unit and not unit.startswith('/') else unit}"


def diff(metric: str, value: float, lo: float, hi: float) -> str:
    """A difference with its CI: '+0.41 points [+0.05, +0.77]' for a share, else in the metric's unit."""
    if UNITS.get(metric) == "share":
        return f"{100 * value:+.2f} percentage points [{100 * lo:+.2f}, {100 * hi:+.2f}]"
    if UNITS.get(metric) == "usd":
        return f"{value:+,.2f} USD [{lo:+,.2f}, {hi:+,.2f}]"
    return f"{value:+,.3g} [{lo:+,.3g}, {hi:+,.3g}]"


def rel(value: float, lo: float, hi: float) -> str:
    """A relative lift with its CI: '+8.1 % [+1.2 %, +15.0 %]'; Fieller's CI is unbounded when the control's
    level is not itself clear of zero."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{100 * value:+.1f} % [CI unbounded: the control's level is not clear of zero]"
    return f"{100 * value:+.1f} % [{100 * lo:+.1f} %, {100 * hi:+.1f} %]"


def source_text(source) -> str:
    """Where the plan came from, with its hash."""
    if source is None or source.kind == "none":
        return PLAN_SOURCES["none"]
    return PLAN_SOURCES[source.kind].format(name=source.name) + f" (plan hash {source.hash})"


def decision_line(r, source) -> str:
    """'**Decision: ship.** Why, against which plan.'"""
    why = DECISION_WHY[r.decision].format(stop=r.srm.p_value if r.srm else "")
    if r.decision == "stopped_srm":
        why = DECISION_WHY["stopped_srm"].format(stop="0.001")
    if r.decision in ("no_ship", "inconclusive") and r.achieved_power is not None:
        why += f" (the test had {r.achieved_power:.0%} power to detect {planned_lift(r)})"
    return f"**Decision: {DECISIONS[r.decision]}.** {why[:1].upper() + why[1:]}. Read against {source_text(source)}."


def srm_line(r) -> str:
    """Users per variant, the expected split, the chi-square p-value and what it means."""
    s = r.srm
    arms = ", ".join(f"{v} {n:,} ({share:.0%} expected)" for v, n, share in zip(s.variants, s.users, s.expected_share))
    planned = "the planned split" if s.planned else "an equal split (no plan)"
    status = SRM[s.status][:1].upper() + SRM[s.status][1:]
    return f"**Sample ratio.** {arms}: χ² = {s.chi2:.2f} against {planned}, {p_value(s.p_value)}. {status}."


def primary_line(r) -> str:
    """The primary metric in both arms, the difference and the relative lift with their CIs and p."""
    e = r.primary
    method = "score method" if e.method == "score" else "delta method at user level"
    return (
        f"**{METRICS[e.metric][:1].upper() + METRICS[e.metric][1:]}** (intention to treat, every session of each "
        f"assigned user): {r.control} {level(e.metric, e.control)}, {r.treatment} {level(e.metric, e.treatment)}; "
        f"difference {diff(e.metric, e.diff, e.diff_lo, e.diff_hi)}, relative lift {rel(e.rel, e.rel_lo, e.rel_hi)}, "
        f"{p_value(e.p_value)} ({method}; CI and p from one method; {r.users_per_arm[0]:,} and "
        f"{r.users_per_arm[1]:,} users)."
    )


def cuped_line(r) -> str:
    """CUPED beside the unadjusted difference, with the variance reduction achieved and expected (ρ²)."""
    c = r.cuped
    if c is None:
        return f"*No pre-period adjustment: {MISSING['no_pre_period'].split(': ', 1)[1]}.*"
    decided = " The decision reads the adjusted estimate." if r.decided_on == "cuped" else ""
    return (
        f"**Pre-period adjustment (CUPED).** Adjusted difference {diff(c.metric, c.diff, c.diff_lo, c.diff_hi)} "
        f"(relative {rel(c.rel, c.rel_lo, c.rel_hi)}, {p_value(c.p_value)}) beside the unadjusted "
        f"{diff(c.metric, c.unadjusted_diff, c.unadjusted_lo, c.unadjusted_hi)}: the variance falls by "
        f"{c.variance_reduction:.1%} (in line with the pre-period's in-sample correlation: ρ² = {c.rho_squared:.1%}, "
        f"leaving 1 − ρ² of it); {c.users_with_pre:,} users ({c.share_with_pre:.0%}) had sessions before exposure."
        + decided
    )


def exposed_line(r) -> str | None:
    """The primary metric counted from each user's exposure on (secondary to intention to treat)."""
    e = r.exposed
    if e is None:
        return None
    return (
        f"From each user's exposure on (secondary): difference {diff(e.metric, e.diff, e.diff_lo, e.diff_hi)}, "
        f"relative {rel(e.rel, e.rel_lo, e.rel_hi)}."
    )


GUARDRAIL_COLUMNS = ["guardrail", "must not", "relative change", "lo", "hi", "one-sided bound", "within margin"]


def guardrail_table(r) -> pd.DataFrame:
    """Each guardrail: the worse direction, its margin, the relative change with its CI, the one-sided bound the
    non-inferiority test reads, and whether it was shown within its margin."""
    rows = [
        {
            "guardrail": METRICS[g.metric],
            "must not": f"{'rise' if g.worse == 'higher' else 'fall'} by {g.margin:.0%} or more",
            "relative change": 100 * g.rel,
            "lo": 100 * g.rel_lo,
            "hi": 100 * g.rel_hi,
            "one-sided bound": 100 * g.bound,
            "within margin": "yes" if g.passed else "not shown",
        }
        for g in r.guardrails
    ]
    return pd.DataFrame(rows, columns=GUARDRAIL_COLUMNS)


def guardrail_verdict(g, alpha: float) -> str:
    """'within its 5% margin (one-sided 95 % bound +4.9 %)', or why not: past it, or too imprecise to show."""
    worse = (1 if g.worse == "higher" else -1) * g.rel
    bound = f"one-sided {1 - alpha:.0%} bound {g.bound * 100:+.1f} %"
    if g.passed:
        return f"within its {g.margin:.0%} margin ({bound})"
    if worse >= g.margin:
        return f"past its {g.margin:.0%} margin ({bound})"
    safe_side = ", though the estimate is on the safe side" if worse <= 0 else ""
    return f"not shown within its {g.margin:.0%} margin ({bound}): too imprecise to show it safe{safe_side}"


def guardrail_text(r) -> str:
    """The guardrails in one line: 'session duration +1.2 % [-0.8 %, +3.2 %], within its 5% margin (...); ...'."""
    if not r.guardrails:
        return "none planned" if r.decision != "exploratory" else "none (no plan)"
    return "; ".join(
        f"{METRICS[g.metric]} {rel(g.rel, g.rel_lo, g.rel_hi)}, {guardrail_verdict(g, r.alpha)}" for g in r.guardrails
    )


def estimates_table(estimates: list) -> pd.DataFrame:
    """Metrics in both arms with the difference, relative lift and CIs, raw and Holm-adjusted p."""
    rows = [
        {
            "metric": METRICS[e.metric],
            "in control": level(e.metric, e.control),
            "in treatment": level(e.metric, e.treatment),
            "relative lift": 100 * e.rel,
            "lo": 100 * e.rel_lo,
            "hi": 100 * e.rel_hi,
            "p": e.p_value,
            "Holm-adjusted p": e.p_holm,
        }
        for e in estimates
    ]
    columns = ["metric", "in control", "in treatment", "relative lift", "lo", "hi", "p", "Holm-adjusted p"]
    return pd.DataFrame(rows, columns=columns)


def mechanism_text(r) -> str:
    """Did the lever move what it targets: the first mechanism metric's lift and the instrument's effect."""
    if not r.mechanism and r.instrument is None:
        return MISSING["no_timing"] if "no_timing" in r.missing else "no mechanism metric for this lever"
    parts = [f"{METRICS[e.metric]} {rel(e.rel, e.rel_lo, e.rel_hi)}" for e in r.mechanism[:1]]
    iv = r.instrument
    if iv is not None:
        sized = "" if iv.effect_lo > 0 or iv.effect_hi < 0 else ", not sized by this test"
        behaviour = BEHAVIOURS.get(iv.behaviour, iv.behaviour).replace(" (log1p)", "")
        parts.append(
            f"purchase per 2.7-fold rise in 1 + {behaviour} (one log1p unit, e.g. 2 → 7.2): {100 * iv.effect:+.2f} "
            f"percentage points [{100 * iv.effect_lo:+.2f}, {100 * iv.effect_hi:+.2f}]{sized} (instrumental variable, "
            f"first-stage F = {iv.first_stage_f:.1f}, {'a strong instrument' if iv.strong else 'a weak instrument'})"
        )
    return "; ".join(parts)


def instrument_lines(r) -> list[str]:
    """The instrumental-variable estimate, its first stage and the assumption it rests on, in words."""
    iv = r.instrument
    if iv is None:
        return [f"*No instrumental-variable estimate: {MISSING['no_timing'].split(': ', 1)[1]}.*"]
    behaviour = BEHAVIOURS.get(iv.behaviour, iv.behaviour)
    strength = (
        f"strong (F ≥ {10:g})" if iv.strong else "weak (F < 10): the estimate is unreliable and supports no verdict"
    )
    return [
        f"**First stage.** The variant moved {behaviour} by {iv.first_stage:+.3f} (SE {iv.first_stage_se:.3f}, "
        f"clustered by user); first-stage F = {iv.first_stage_f:.1f} ({iv.first_stage_f_nonrobust:.1f} without "
        f"clustering): {strength}.",
        f"**What the behaviour does to purchase.** With the variant as instrument (Wald ratio = two-stage least "
        f"squares, {iv.sessions:,} sessions of {iv.users:,} users): purchase probability "
        f"{100 * iv.effect:+.2f} percentage points [{100 * iv.effect_lo:+.2f}, {100 * iv.effect_hi:+.2f}] per "
        f"2.7-fold rise in 1 + the behaviour (one log1p unit, e.g. 2 → 7.2), {p_value(iv.p_value)}"
        + (
            "."
            if iv.effect_lo > 0 or iv.effect_hi < 0
            else ": its interval includes zero, so this test does not size it."
        ),
        "**The assumption (exclusion restriction).** This is a causal effect of the behaviour only if the lever "
        "changes purchase through that behaviour alone, not through anything else it changes (prices shown, "
        "speed, trust); the randomised assignment makes the instrument independent of the visitors, but the "
        "exclusion cannot be tested from these data.",
    ]


def over_time_frame(r) -> pd.DataFrame:
    """The lift per period for the figure, the whole test's lift in ``attrs['overall']``."""
    frame = pd.DataFrame([p.to_json() for p in r.over_time], columns=["period", "rel", "rel_lo", "rel_hi"])
    frame.attrs["overall"] = r.primary.rel
    return frame


def over_time_title(r) -> str:
    """The over-time figure's title."""
    name = METRICS[r.primary.metric]
    return f"{name[:1].upper() + name[1:]}: lift by {r.period} with pointwise 95 % CIs"


def missing_lines(r) -> list[str]:
    """What these data cannot support in the read-out, in words."""
    return [MISSING[code] for code in r.missing if code in MISSING]


def headline_note(population) -> str:
    """Under the front page's headline numbers in an experiment run: they hold both arms, the answers do not."""
    if population is None or population.population == "all":
        return ""
    return (
        f"These numbers hold every session of both arms ({population.sessions_all:,}); the answers below read the "
        f"{population.sessions:,} sessions no treatment touched, and the read-out compares the arms."
    )


def planned_lift(r) -> str:
    """'the planned +10 % relative lift' (or 'the planned lift' when the result does not carry it)."""
    mde = getattr(r, "planned_relative_lift", None)
    return f"the planned {100 * mde:+.0f} % relative lift" if mde else "the planned lift"


def size_note(r) -> str:
    """' (users 3,016 and 2,984 of 15,854 planned per arm; sessions ... of ...; 16% power to detect ...)' when short."""
    if r.rules.get("full_size") is not False:
        return ""
    power = f"; {r.achieved_power:.0%} power to detect {planned_lift(r)}" if r.achieved_power is not None else ""
    arms = " and ".join(f"{n:,}" for n in r.users_per_arm)
    planned = f" of {r.planned_users_per_arm:,} planned per arm" if r.planned_users_per_arm else ", short of the plan"
    if getattr(r, "planned_sessions_per_arm", None) and r.sessions_per_arm:
        sessions = " and ".join(f"{n:,}" for n in r.sessions_per_arm)
        planned += f"; sessions {sessions} of {r.planned_sessions_per_arm:,}"
    return f" (users {arms}{planned}{power})"


def decided_estimate(r) -> tuple[float, float, float, str]:
    """The relative lift the decision reads (CUPED's when it was adjusted), its CI and how it was taken."""
    if r.decided_on == "cuped" and r.cuped is not None:
        return r.cuped.rel, r.cuped.rel_lo, r.cuped.rel_hi, " adjusted for the pre-period"
    return r.primary.rel, r.primary.rel_lo, r.primary.rel_hi, ""


def summary_sentence(r) -> str:
    """The read-out in one sentence for the front page's summary: the decision and the lift it reads."""
    value, lo, hi, how = decided_estimate(r)
    metric = METRICS[r.primary.metric].split(" (")[0]
    return (
        f"The test these data carry: {DECISIONS[r.decision]}; relative lift in {metric} {rel(value, lo, hi)}"
        f"{',' if how else ''}{how}{size_note(r)}."
    )


def card_rows(r, source) -> list[tuple[str, str]]:
    """The front page's read-out: decision, lift with CI, sample ratio, guardrails, mechanism, plan."""
    e, c = r.primary, r.cuped
    name = METRICS[e.metric].split(" (")[0]
    unadjusted = f"{rel(e.rel, e.rel_lo, e.rel_hi)}, {diff(e.metric, e.diff, e.diff_lo, e.diff_hi)}"
    if r.decided_on == "cuped" and c is not None:
        lift = (
            f"{name} {rel(c.rel, c.rel_lo, c.rel_hi)} relative, {diff(e.metric, c.diff, c.diff_lo, c.diff_hi)}, "
            f"adjusted for the pre-period (CUPED, variance {c.variance_reduction:.1%} lower; the decision reads this); "
            f"unadjusted {unadjusted}"
        )
    else:
        lift = f"{name} {unadjusted}"
    s = r.srm
    srm = f"{SRM[s.status]} ({', '.join(f'{v} {n:,}' for v, n in zip(s.variants, s.users))}; {p_value(s.p_value)})"
    rows = [
        ("Decision", DECISIONS[r.decision] + size_note(r)),
        ("Lift", lift),
        ("Sample ratio", srm),
        ("Guardrails", guardrail_text(r)),
        ("Mechanism", mechanism_text(r)),
        ("Plan", source_text(source)),
    ]
    shown = {"no_plan", "no_timing"}  # said in the Decision and Mechanism rows already
    missing = [MISSING[c] for c in r.missing if c in MISSING and c not in shown]
    if missing:
        rows.append(("Cannot tell", "; ".join(missing)))
    return rows


@common.lines.register
def readout_lines(result: ReadoutResult) -> list[str]:
    """The read-out's findings as Markdown bullets (its plan's source is on the strategy result: none here)."""
    parts = [srm_line(result), primary_line(result), cuped_line(result), f"Guardrails: {guardrail_text(result)}."]
    return [f"- {x}" for x in parts] + [f"- Mechanism: {mechanism_text(result)}."]


@common.answer.register
def _(result: ReadoutResult) -> str:
    e = result.primary
    return f"Decision: {DECISIONS[result.decision]}; relative lift {rel(e.rel, e.rel_lo, e.rel_hi)}."
