"""One claim, one number: what the front page says is what each page says, and no two pages disagree.

Three simulated worlds are read as an analyst reads them (the rendered HTML): the default, one
where time before checkout drives purchase, and one where it lowers purchase.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from helpers.analysis import results
from helpers.presentation.words import answers
from helpers.presentation.words import strategy as strategy_words
from helpers.presentation.words.common import FEATURE_WORDS

pytestmark = pytest.mark.notebook
WORLDS = ["default_report", "time_matters_report", "negative_time_report"]
NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?")
DIRECTION = re.compile(
    "(" + "|".join(re.escape(w) for w in FEATURE_WORDS.values()) + r") is associated with (higher|lower) "
    r"(purchase odds|spend)"
)


def visible(path: Path) -> str:
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"</?a\b[^>]*>", "", text)  # a link (a glossary term's) is part of its sentence
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.fixture(params=WORLDS)
def world(request):
    pages, recorded = request.getfixturevalue(request.param)
    return pages, {name: results.typed(name, data) for name, data in recorded.items()}


def test_every_number_in_a_front_page_answer_is_on_its_page(world):
    pages, res = world
    index = visible(pages / "index.html")
    for answer in answers.summary(res):  # worded from 03-05's own results, as the front page words them
        page = visible(pages / f"{answer.page}.html")
        assert answer.answer in index and answer.evidence in index, answer.page
        for number in NUMBER.findall(answer.answer + " " + answer.evidence):
            assert number in page, (answer.page, number)
        level = res[answer.page].badge.level
        assert answer.badge.level == level and f"Confidence: {level}." in page, answer.page


def test_no_two_pages_state_opposite_directions(world):
    pages, _ = world
    said: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted(pages.glob("*.html")):
        for feature, direction, outcome in DIRECTION.findall(visible(path)):
            said.setdefault((feature, outcome), {}).setdefault(direction, path.name)
    clashes = {k: v for k, v in said.items() if len(v) > 1}
    assert not clashes, clashes


def test_the_headline_each_answer_quotes_is_the_recorded_one(world):
    _, res = world
    conv = res["03_conversion"]
    if conv.ok:
        assert conv.headline.estimate == conv.effect(conv.headline.feature).or_per_sd
    spend = res["04_spend"]
    if spend.ok:
        lead = next(c for c in spend.verdicts.calls() if c.feature == spend.headline.feature)
        assert (spend.headline.estimate, spend.headline.verdict) == (lead.pct, lead.verdict)


def test_06_follows_03s_driver_and_the_key_figure_says_so(world):
    pages, res = world
    conv, strategy = res["03_conversion"], res["06_strategy"]
    want = conv.verdicts.answer if conv.verdicts.answer in ("engagement", "time") else "engagement"
    assert strategy.driver == want
    words = {"engagement": "events before checkout", "time": "seconds before checkout"}[want]
    caption = strategy_words.key_figure_caption(strategy)
    assert words in caption and caption in visible(pages / "index.html")
    supported = {r.id for r in strategy.recommendations if r.status == "supported"}
    assert not any(i.startswith("segment_by_") and i != f"segment_by_{want}" for i in supported)
    if conv.verdicts.time == "positive" and conv.verdicts.answer == "time":
        assert "idle_to_interaction" not in supported  # it would shorten what drives purchase
        assert "time_richer_content" in supported
    for r in strategy_words.recommendations(strategy.recommendations):
        if r.status == "supported":
            assert r.impact and r.link and r.kind in ("action", "hypothesis"), r.id
