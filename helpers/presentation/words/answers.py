"""The front page's answers: each question answered from its own analysis's result, worded when the page is built.

Usage::

    from helpers.presentation.words import answers
    answers.summary(results.load_all(run))       # one Answer per question (03, 04, 05)
    answers.limitations(results.load_all(run))   # what a reader must keep in mind

Importing this module registers the words of 03, 04 and 05, so it is for pages that quote all three
(the front page, the comparison of two runs); an analysis page imports only its own wording module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from helpers.analysis.conversion import ConversionResult
from helpers.analysis.purchase_styles import StylesResult
from helpers.analysis.spend import UNSIZEABLE_WIDTH_PCT, SpendResult
from helpers.presentation.words import conversion, spend, styles  # noqa: F401  (registers each result's words)
from helpers.presentation.words import fitness as fitness_words
from helpers.presentation.words.common import QUESTIONS, WordedBadge, answer, badge, evidence, limitations  # noqa: F401
from helpers.presentation.words.summary import decimals, pct_decimals


@dataclass
class Answer:
    """One question's answer as the front page shows it: question, answer, evidence with CIs, badge, link."""

    question: str
    page: str
    link: str
    answer: str
    evidence: str
    badge: WordedBadge


def summary(res: dict) -> list[Answer]:
    """One row per question: answer, key evidence with CI, badge with its rules, and where to read more."""
    rows = []
    for page, question in QUESTIONS.items():
        result = res.get(page)
        where = {"question": question, "page": page, "link": f"{page}.html#Findings"}
        if result is None or not result.ok:
            reason = common.reason_words(result) or "too few buyers"
            none = WordedBadge("none", [], ["not estimated on these data"])
            rows.append(Answer(**where, answer=f"Not estimable here: {reason}.", evidence="", badge=none))
            continue
        rows.append(Answer(**where, answer=answer(result), evidence=front_evidence(result), badge=badge(result.badge)))
    return rows


# --------------------------------------------------------------------------------------------
# The evidence beside each answer: a pictured step first (one more event, one more minute, a pause half as
# long), then the model's per-SD number with what one SD is; each number a field of the result
# --------------------------------------------------------------------------------------------

STEP_LABELS = {  # 04's steps (``spend.STEPS``), 03's units (``UnitEffect.unit``)
    "engagement": "one more event",
    "time": "one more minute",
    "idle": "a longest pause half as long",
    "event": "one more event before checkout",
    "minute": "one more minute",
}
SD_UNITS = {"engagement": "as many events", "time": "as long", "idle": "as long a longest pause"}


def _interval(value: float, lo: float, hi: float, sign: str = "+") -> str:
    """'+0.82 [+0.72, +0.92]' with two significant digits of the interval's width."""
    d = decimals(lo, hi)
    return f"{value:{sign}.{d}f} [{lo:{sign}.{d}f}, {hi:{sign}.{d}f}]"


def _sd(factor: float | None, feature: str) -> str:
    """' (one SD ≈ ×7.6 as long a longest pause)' (the feature + 1, times the factor), or '' when not recorded."""
    return f" (one SD ≈ ×{factor:.1f} {SD_UNITS[feature]})" if factor and math.isfinite(factor) else ""


def front_evidence(result) -> str:
    """The key numbers behind an answer on the front page: business units first, model units after."""
    if isinstance(result, ConversionResult):
        return conversion_evidence(result)
    if isinstance(result, SpendResult):
        return spend_evidence(result)
    if isinstance(result, StylesResult):
        return styles_evidence(result)
    return evidence(result)


def conversion_evidence(result: ConversionResult) -> str:
    """Points of conversion per extra event and minute, then the odds per SD with what one SD is."""
    steps = "; ".join(
        f"{STEP_LABELS[u.unit]}: {_interval(u.points, u.lo, u.hi)} points of conversion" for u in result.per_unit
    )
    odds = "; ".join(
        f"{e.feature} ×{e.or_per_sd:.2f} [{e.or_lo:.2f}, {e.or_hi:.2f}]"
        + _sd(math.exp(e.sd) if e.sd is not None else None, e.feature)
        for e in (result.effect("engagement"), result.effect("time"))
    )
    return (f"{steps}. " if steps else "") + f"Odds of buying per SD: {odds}"


def spend_evidence(result: SpendResult) -> str:
    """% and USD per order per pictured step, then the % per SD with what one SD is."""
    calls = [c for c in result.verdicts.calls() if c.pct is not None]
    steps = []
    for c in calls:
        if c.step_pct is None:
            continue
        size = fitness_words.readable_pct(c.step_pct, c.step_lo, c.step_hi, UNSIZEABLE_WIDTH_PCT)
        d = pct_decimals(c.step_usd_lo, c.step_usd_hi)
        usd = (
            f" ({c.step_usd:+,.{d}f} [{c.step_usd_lo:+,.{d}f}, {c.step_usd_hi:+,.{d}f}] USD)"
            if "cannot" not in size
            else ""
        )
        steps.append(f"{STEP_LABELS[c.feature]}: {size} per order{usd}")
    per_sd = ", ".join(
        f"{c.feature} {fitness_words.readable_pct(c.pct, c.lo, c.hi, UNSIZEABLE_WIDTH_PCT)}"
        + _sd(c.sd_factor, c.feature)
        for c in calls
    )
    head = "Spend, others held fixed: " + "; ".join(steps) + ". " if steps else ""
    return head + f"Spend per SD: {per_sd}"


def styles_evidence(result: StylesResult) -> str:
    """The styles' time before checkout as a multiple with its 90 % CI and medians, then the SMD and the AUC."""
    v, h, row = result.verdicts, result.headline, result.metric("pre_conversion_seconds")
    tested = f", {styles.p_value(v.behaviour_p)}" if v.behaviour_p is not None else ""
    text = ""
    if row is not None and row.ratio is not None:
        ratio = _interval(row.ratio, row.ratio_lo90, row.ratio_hi90, "")
        text = (
            f"Time before checkout, expensive-few over cheap-many: ×{ratio} (90 % CI; alike within "
            f"×{row.ratio_band:.2f} either way); medians {row.median_b:,.0f} s and {row.median_a:,.0f} s. "
        )
    return text + (
        f"SMD of that time {h.estimate:+.2f} [{h.lo:+.2f}, {h.hi:+.2f}] (90 % CI); browsing classifier "
        f"AUC {v.behaviour_auc:.3f} [{v.behaviour_auc_lo:.3f}, {v.behaviour_auc_hi:.3f}]{tested} (0.5 is chance)"
    )
