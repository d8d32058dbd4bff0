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
from helpers.analysis.spend import SpendResult
from helpers.presentation.words import common, conversion, spend, styles  # noqa: F401  (registers each result's words)
from helpers.presentation.words import fitness as fitness_words
from helpers.presentation.words.common import QUESTIONS, WordedBadge, answer, badge, evidence, limitations  # noqa: F401


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


def _sd(factor: float | None, feature: str) -> str:
    """' (one SD ≈ ×7.6 as long a longest pause)', or '' when not recorded (``common.one_sd``)."""
    said = common.one_sd(factor, feature)
    return f" ({said})" if said else ""


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
    """Points of conversion per extra event and minute (as 03's page words them), then the odds per SD with what one
    SD is."""
    steps = "; ".join(conversion.unit_phrase(u) for u in result.per_unit)
    odds = "; ".join(
        f"{e.feature} {fitness_words.readable_times(e.or_per_sd, e.or_lo, e.or_hi)}"  # digits the CI supports
        + _sd(math.exp(e.sd) if e.sd is not None else None, e.feature)
        for e in (result.effect("engagement"), result.effect("time"))
    )
    return (f"{steps}. " if steps else "") + f"Odds of buying per SD: {odds}"


def spend_evidence(result: SpendResult) -> str:
    """% and USD per order per pictured step, then the % per SD with what one SD is (as 04's page words them)."""
    steps = spend.steps_phrase(result)
    return (f"Spend, others held fixed: {steps}. " if steps else "") + f"Spend per SD: {spend.per_sd_phrase(result)}"


def styles_evidence(result: StylesResult) -> str:
    """The styles' time before checkout as a multiple with its 90 % CI and medians, then the SMD and the AUC."""
    v, h = result.verdicts, result.headline
    tested = f", {styles.p_value(v.behaviour_p)}" if v.behaviour_p is not None else ""
    ratio = styles.time_ratio_phrase(result)
    text = f"Time before checkout, {ratio}. " if ratio else ""
    return text + (
        f"SMD of that time {h.estimate:+.2f} [{h.lo:+.2f}, {h.hi:+.2f}] (90 % CI); browsing classifier "
        f"AUC {v.behaviour_auc:.3f} [{v.behaviour_auc_lo:.3f}, {v.behaviour_auc_hi:.3f}]{tested} (0.5 is chance)"
    )
