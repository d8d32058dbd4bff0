"""The front page's answers: each question answered from its own analysis's result, worded when the page is built.

Usage::

    from helpers.presentation.words import answers
    answers.summary(results.load_all(run))       # one Answer per question (03, 04, 05)
    answers.limitations(results.load_all(run))   # what a reader must keep in mind

Importing this module registers the words of 03, 04 and 05, so it is for pages that quote all three
(the front page, the comparison of two runs); an analysis page imports only its own wording module.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.presentation.words import conversion, spend, styles  # noqa: F401  (registers each result's words)
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
            reason = fitness_words.reason_text(result.reason if result is not None else None) or "too few buyers"
            none = WordedBadge("none", [], ["not estimated on these data"])
            rows.append(Answer(**where, answer=f"Not estimable here: {reason}.", evidence="", badge=none))
            continue
        rows.append(Answer(**where, answer=answer(result), evidence=evidence(result), badge=badge(result.badge)))
    return rows
