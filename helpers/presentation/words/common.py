"""The words every page shares: numbers with CIs, fit health, clustering, badges and their rules.

Usage::

    from helpers.presentation.words import common
    common.badge_line(result.badge)      # '**Confidence: high.** Rules met: ...'
    common.lines(result)                 # the findings of any analysis result, dispatched on its type

The generic functions (``intro``, ``lines``, ``answer``, ``evidence``) are ``functools.singledispatch``
functions: each analysis's wording module registers its result type, so a page asks for words by
the result it holds, never by its name. Direction words come from the sign of a CI; observational
findings say "is associated with", never "drives" or "causes".
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from helpers.presentation.formatting import fmt
from helpers.presentation.words import fitness as fitness_words

SUPPORTED = "supported"
HIGHER_LOWER = {"positive": "higher", "negative": "lower"}
FEATURE_WORDS = {
    "engagement": "a higher count of events before checkout",
    "time": "a longer time before checkout",
    "idle": "a longer idle gap before checkout",
}
QUESTIONS = {
    "03_conversion": "Who purchases: engagement or time on site?",
    "04_spend": "Who spends more among buyers?",
    "05_purchase_style": "How do purchase styles arise?",
}


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def ci(lo: float, hi: float, fmt: str = ".2f") -> str:
    """A CI as '[lo, hi]'."""
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def times(value: float, lo: float, hi: float) -> str:
    """An odds ratio with its CI at the digits the CI supports, as every page and the front page print it:
    '×1.52 [1.40, 1.65]', '×7.0 [6.5, 7.5]' (``fitness_words.readable_times``)."""
    return fitness_words.readable_times(value, lo, hi)


def pct(value: float, lo: float, hi: float) -> str:
    """A % change with its CI: '+4.1 % [+1.0 %, +7.3 %]'."""
    return f"{value:+.1f} % [{lo:+.1f} %, {hi:+.1f} %]"


def usd(value: float, lo: float | None = None, hi: float | None = None) -> str:
    """A USD amount per order, with its CI when given: '+12.40 USD [+3.10, +21.70]'."""
    text = f"{value:+,.2f} USD"
    return text + (f" [{lo:+,.2f}, {hi:+,.2f}]" if lo is not None and hi is not None else "")


SD_UNITS = {"engagement": "as many events", "time": "as long", "idle": "as long a longest pause"}


def one_sd(factor: float | None, feature: str) -> str:
    """What one SD of a log1p feature is: 'one SD ≈ ×7.6 as long a longest pause' (the feature + 1 multiplied by
    ``factor``, exp of the SD); '' when not recorded."""
    if factor is None or not math.isfinite(factor):
        return ""
    return f"one SD ≈ ×{factor:.1f} {SD_UNITS[feature]}"


def p_value(p: float) -> str:
    """'p < 0.001' or 'p = 0.012' (the number as every table shows it)."""
    text = fmt(p, "p")
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def cap(text: str) -> str:
    """``text`` with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def effect_phrase(feature: str, cls: str, outcome: str = "purchase odds", ci: tuple | None = None) -> str:
    """One feature's association in words, from its class ('positive', 'negative', 'negligible', 'unclear').

    ``ci`` (the odds ratio's 95 % CI) tells an unclear effect whose direction is known (the CI
    excludes 1 but reaches into the band of no material association) from one whose direction is not.
    """
    words = FEATURE_WORDS[feature]
    if cls in HIGHER_LOWER:
        return f"{words} is associated with {HIGHER_LOWER[cls]} {outcome}"
    if cls == "negligible":
        return f"{words} has no material association with {outcome}"
    if ci is not None and (ci[0] > 1 or ci[1] < 1):
        return (
            f"{words} is associated with {'higher' if ci[0] > 1 else 'lower'} {outcome}, "
            "though whether by a material amount is unclear"
        )
    return f"the data cannot tell whether {words} goes with higher or lower {outcome}"


# --------------------------------------------------------------------------------------------
# Badges: each rule's code in words, with the number and threshold it compares
# --------------------------------------------------------------------------------------------

RULE_WORDS = {
    "ci_clear_of_band": "CI clear of the negligible band",
    "fits_healthy": "models healthy (converged, no separation, enough outcome events per parameter)",
    "stable_without_controls": "same answer with and without controls",
    "truth_covered": "true effects inside the 95 % CIs",
    "styles_browse_alike": "purchase styles browse alike by 05's equivalence test at 5 % "
    "(before 06 adjusts for its five tests)",
    "explains_material_share": "behaviour explains a material share of spend (best adjusted R² {value:.3f})",
    "classifier_alike": "what browsing adds to context agrees: for 'alike', the upper 95 % bound of its AUC gain "
    "over the controls ({value:.3f}) is at most {threshold:.3f}",
    "classifier_above_chance": "what browsing adds to context agrees: for 'different', the permutation p of its "
    "AUC gain ({value:.3f}) is at most {threshold:g}",
    "truth_agrees": "simulator's truth agrees",
}
RULE_WORDS |= fitness_words.RULE_WORDS  # what the data's shape allows: helpers/presentation/words/fitness.py


def rule_text(rule) -> str:
    """One badge rule (``results.Rule``) in words, with its number and threshold.

    A code without words here (a data need's, from ``analysis.needs``) is shown as its code with its numbers,
    never dropped; every code the analyses' own badges use has words (tested).
    """
    if rule.code not in RULE_WORDS:
        numbers = ", ".join(
            f"{k} {v:g}" for k, v in (("value", rule.value), ("threshold", rule.threshold)) if v is not None
        )
        return rule.code.replace("_", " ") + (f" ({numbers})" if numbers else "")
    words = RULE_WORDS[rule.code]
    if rule.value is None and "{value" in words:
        words = words.split(" (")[0]
    return words.format(value=rule.value, threshold=rule.threshold)


@dataclass
class WordedBadge:
    """A badge as a page shows it: its level and the rules met and not met, in words."""

    level: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def badge(b) -> WordedBadge:
    """A result's badge (``results.Badge``) with its rules in words ('not estimated' when it has none)."""
    if b.level == "none" and not b.rules:
        return WordedBadge("none", [], ["not estimated on these data"])
    return WordedBadge(
        b.level, [rule_text(r) for r in b.rules if r.passed], [rule_text(r) for r in b.rules if not r.passed]
    )


def badge_line(b) -> str:
    """A badge as one Markdown line with the rules it passed and failed."""
    w = badge(b)
    text = f"**Confidence: {w.level}.**"
    if w.passed:
        text += " Rules met: " + "; ".join(w.passed) + "."
    if w.failed:
        text += " Not met: " + "; ".join(w.failed) + "."
    return text


# --------------------------------------------------------------------------------------------
# Pieces several pages show
# --------------------------------------------------------------------------------------------


# A fit's health problems (``stats.HEALTH_CODES``), with the numbers of the fit's health record when one is known
HEALTH_WORDS = {
    "not_converged": "did not converge",
    "separation": "separation: some predictor (nearly) determines the outcome, so its standard errors are unreliable",
    "ill_conditioned": "ill-conditioned design (condition number {condition_number:,.0f} > {max_condition:,.0f})",
    "few_events_per_parameter": "{events_per_parameter:.1f} outcome events per parameter "
    "(at least {min_events_per_parameter:g} needed)",
    "fit_failed": "the fit failed ({error})",
}
HEALTH_SHORT = {  # the same without numbers (03's and 04's verdicts keep the codes only)
    "ill_conditioned": "ill-conditioned design",
    "few_events_per_parameter": "too few outcome events per parameter",
    "fit_failed": "the fit failed",
}
# The classes of the warnings a fit raised (``health["warnings"]``)
WARNING_WORDS = {
    "ConvergenceWarning": "the optimiser did not converge",
    "HessianInversionWarning": "the Hessian could not be inverted",
    "PerfectSeparationWarning": "perfect separation",
    "RuntimeWarning": "an overflow or invalid value in the arithmetic",
    "ValueWarning": "a value the model did not expect",
}


def health_words(code: str, record: dict | None = None) -> str:
    """One health problem in words; with ``record`` (the fit's health record) its numbers too."""
    if record is not None and code in HEALTH_WORDS:
        try:
            return HEALTH_WORDS[code].format(**record)
        except (KeyError, TypeError, ValueError):  # a number the record lacks: the words without it
            pass
    return HEALTH_SHORT.get(code) or HEALTH_WORDS.get(code, code)


def fit_problems(health) -> str:
    """The problems of one fit's health record, or of each model of a page's (``stats.Health``), in words."""
    models = getattr(health, "models", None) if not isinstance(health, dict) else health.get("models")
    if not models:
        record = health if isinstance(health, dict) else None
        return "; ".join(health_words(c, record) for c in (record or {}).get("reasons", getattr(health, "reasons", [])))
    return "; ".join(f"{name}: {health_words(c, h)}" for name, h in models.items() for c in h.get("reasons", []))


def health_note(health) -> str:
    """One line on the health of a page's fits (``stats.Health``), shown beside their table."""
    models = health.models
    if health.ok:
        epp = [h["events_per_parameter"] for h in models.values() if h.get("events_per_parameter") is not None]
        cond = max((h["condition_number"] or 0) for h in models.values()) if models else 0
        text = (
            f"Fit health: all {len(models)} models converged with no sign of separation; largest condition "
            f"number {cond:,.0f}" + (f"; at least {min(epp):,.0f} outcome events per parameter." if epp else ".")
        )
    else:
        text = "**Fit health: problems, so no verdict rests on these fits.** " + fit_problems(health) + "."
    if health.warnings:
        text += " Warnings raised: " + "; ".join(WARNING_WORDS.get(w, w) for w in health.warnings[:5]) + "."
    return text


def clustering_line(c, rows: str) -> str:
    """How the rows group into users and what that does to the intervals (``c``: a ``stats.Clustering``)."""
    if c.clustered:
        return (
            f"Intervals are clustered by user: {c.rows:,} {rows} from {c.users:,} users ({c.rows_per_user:.1f} per "
            f"user, up to {c.max_rows_per_user:,}), so a user's repeated {rows} are not counted as independent "
            "evidence."
        )
    return f"Each user has one of these {rows}, so they are treated as independent."


def truth_lines(rows) -> list[str]:
    """One bullet on how many true effects lie inside their CIs; none without a truth."""
    if not rows:
        return []
    return [f"- Truth check: {sum(r.covered for r in rows)} of {len(rows)} true effects lie inside their 95 % CI."]


def pooled_phrase(code: str) -> str:
    """A pooled column's code ('start_hour:6') in words."""
    column, _, levels = code.partition(":")
    return f"{levels} level(s) of {column.replace('_', ' ')} with too few outcome events, as 'other (pooled)'"


# Why an analysis could not estimate its answer: its ``reason`` codes with the numbers in ``reason_values``
# (the data needs' codes of helpers.analysis.needs are worded in words/fitness.py)
NOT_ESTIMABLE_WORDS = {
    "too_few_buyers": "{buyers:,} buyers among {sessions:,} sessions; the models need at least {min_buyers:,} buyers "
    "and at least one non-buyer",
    "no_non_buyer": "{buyers:,} buyers among {sessions:,} sessions; the models need at least {min_buyers:,} buyers "
    "and at least one non-buyer",
    "constant_engagement": "every {unit} has the same number of events before checkout ({value:g}), so its "
    "association with {outcome} cannot be estimated",
    "constant_time": "every {unit} has the same time on site before checkout ({value:g}), so its association with "
    "{outcome} cannot be estimated",
    "no_positive_order": "no buyer has an order with a positive value (the data carry no prices)",
    "too_few_spend_buyers": "{buyers:,} buyers with a positive amount: the spend models need at least {min_buyers:,}",
    "no_order_value": "no order has a value (the data carry no prices)",
    "constant_order_value": "every order is worth the same ({value:,.2f} USD): spend models need varying order values",
    "no_products_units": "no order carries products and units (product ids or prices are missing, or the input is "
    "one row per session)",
    "zero_prices": "the data carry no prices, so price cannot separate cheap-many from expensive-few buyers",
    "one_price": "every item has the same price, so price cannot separate cheap-many from expensive-few buyers",
    "too_few_per_style": "{cheap_many:,} cheap-many and {expensive_few:,} expensive-few buyers; the comparison needs "
    "at least {min_buyers:,} in each",
}
# Whose behaviour is constant, and what it cannot be related to, by page (the constant_* codes)
CONSTANT_OF = {
    "03_conversion": {"unit": "session", "outcome": "purchase"},
    "04_spend": {"unit": "buyer", "outcome": "spend"},
}


def reason_words(result) -> str | None:
    """Why ``result`` is not estimable, in words: its codes (joined by ', ') with their numbers; None when it is."""
    reason = getattr(result, "reason", None)
    if not reason:
        return None
    values = {**CONSTANT_OF.get(getattr(result, "NOTEBOOK", ""), {}), **(getattr(result, "reason_values", None) or {})}
    codes = [c.strip() for c in reason.split(",")]
    if not any(c in NOT_ESTIMABLE_WORDS for c in codes):
        return fitness_words.reason_text(reason)  # a data need's codes
    return "; ".join(
        NOT_ESTIMABLE_WORDS[c].format(**values) if c in NOT_ESTIMABLE_WORDS else fitness_words.reason_text(c)
        for c in codes
    )


def skipped_phrase(code: str) -> str:
    """A control left out, from its code ('device:single_value', 'start_hour:few_events:6'), in words."""
    column, why, *size = code.split(":")
    if why == "few_events":
        return f"{column} (too few outcome events for {size[0]} more parameter(s))"
    return f"{column} (absent or a single value)"


def intro_tail(result, pooled: bool = True) -> str:
    """The end of a page's opening: controls left out, pooled levels, and why nothing was estimated."""
    skipped = getattr(result, "skipped_controls", None)
    text = f" Controls left out: {', '.join(map(skipped_phrase, skipped))}." if skipped and result.ok else ""
    if pooled and result.pooled:
        text += f" Pooled: {'; '.join(pooled_phrase(code) for code in result.pooled)}."
    if not result.ok:
        text += f"\n\n**Not estimable here: {reason_words(result)}.** The sections below are skipped."
    return text


def limitations(res: dict) -> list[str]:
    """What a reader must keep in mind, computed from what ran and what could not."""
    simulated = (res.get("01_simulate") or {}).get("source") == "simulator"
    out = [
        "Observational data: every association here may reflect something not measured (intent, promotions, "
        "prices seen); only the experiment can show cause and effect."
    ]
    if simulated:
        out.append(
            "The data are simulated, so the simulator's known truth is compared with each estimate; a real "
            "shop's data can hold patterns the simulator lacks."
        )
    out.append("Spend is modelled among buyers only: it describes spend given a purchase, not spend per visitor.")
    for page, question in QUESTIONS.items():
        result = res.get(page)
        if result is not None and not result.ok:
            out.append(f"{question} Not estimable here: {reason_words(result) or 'too few buyers'}.")
    sp = res.get("04_spend")
    if sp is not None and sp.ok and sp.verdicts.confounded:
        out.append(
            "The purchase styles browse differently, so 04's behaviour and spend associations are not interpreted."
        )
    conv = res.get("03_conversion")
    if conv is not None and conv.sampled:
        out.append("The conversion models were fitted on a uniform random sample of sessions.")
    return out


# --------------------------------------------------------------------------------------------
# Generic functions: each analysis's wording module registers its result type
# --------------------------------------------------------------------------------------------


def _unregistered(kind: str, result):
    raise TypeError(f"no {kind} words for {type(result).__name__}: import its wording module first")


@functools.singledispatch
def intro(result) -> str:
    """A page's opening sentence, from its result."""
    _unregistered("intro", result)


@functools.singledispatch
def lines(result) -> list[str]:
    """A page's findings as Markdown bullets, from its result."""
    _unregistered("findings", result)


@functools.singledispatch
def answer(result) -> str:
    """A question's answer in one or two sentences, for the front page."""
    _unregistered("answer", result)


@functools.singledispatch
def evidence(result) -> str:
    """The key numbers behind an answer, with their CIs, for the front page."""
    _unregistered("evidence", result)


def closing(result) -> str:
    """A page's findings block: its bullets and badge, or why nothing could be estimated."""
    if not result.ok:
        return f"- Not estimable here: {reason_words(result)}."
    return "\n".join(lines(result)) + "\n\n" + badge_line(result.badge)
