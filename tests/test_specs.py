"""Statistical specifications on small worlds analysed in-process (tests/worlds.py), as ``make validate`` runs them.

Each world is the report's own at the same size and seed (the time-matters and styles-browse scenarios at
20,000 sessions, a night-time slice of a real export, raw tables without a purchase), analysed by 03-06's
``analyse`` with the notebooks' defaults; the assertions read the typed results. The whole reports these
specifications were once read from run in ``make test-all`` (tests marked ``slow``).
"""

from __future__ import annotations

import pytest

from helpers.analysis import needs
from helpers.data.gold import count_buyers
from helpers.presentation import frontpage
from helpers.presentation.words import answers
from helpers.presentation.words import fitness as fitness_words

from . import rawfixture, shapefixtures, worlds

ANALYSES = ("03_conversion", "04_spend", "05_purchase_style")


def _rec(world, rid: str):
    return next(r for r in world["06_strategy"].recommendations if r.id == rid)


def test_conversion_time_matters_flips(simulated_world):
    w = simulated_world("time_matters")
    v = w["03_conversion"].verdicts
    assert v.answer == "time" and v.time_adds == "yes" and v.time_sign == "positive"
    summary = answers.summary(w.results)[0].answer
    assert summary.startswith(
        "Time is the clearly stronger of the two: a longer time before checkout is associated with higher"
    )
    rec = _rec(w, "engagement_over_time")
    assert rec.status == "withdrawn" and rec.reason == "time_helps"
    assert w["06_strategy"].plan.lever == "time_before_checkout" and w["06_strategy"].experiment is None


def test_styles_that_browse_differently_flip_05_withdraw_the_price_framing_and_leave_04_without_direction(
    simulated_world,
):
    w = simulated_world("styles_browse")
    st = w["05_purchase_style"].verdicts
    assert st.browsing == "different" and st.behaviour_above_chance
    rec = _rec(w, "styles_price_framing")
    assert rec.status == "withdrawn" and rec.reason == "styles_differ"
    sp = w["04_spend"]  # 04 sees the same confounding and states no direction
    assert sp.verdicts.confounded and {c.verdict for c in sp.verdicts.calls()} == {"unclear"}
    assert sp.badge.level == "low"


def test_raw_tables_with_zero_purchasers_leave_every_answer_not_estimable(tmp_path):
    frames = rawfixture.tables()
    frames["orders"], frames["order_items"] = frames["orders"].iloc[:0], frames["order_items"].iloc[:0]
    frames["events"] = frames["events"][frames["events"].event_type != "purchase"]
    rawfixture.write(tmp_path / "raw", frames)
    w = worlds.imported(tmp_path)
    assert count_buyers(w.gold) == 0
    assert {w[n].status for n in ANALYSES} == {"insufficient"}
    assert all(w[n].reason for n in ANALYSES)
    assert w["06_strategy"].experiment is None


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """The night-time REES46-style slice (00:00-02:50 UTC, no checkout step, few repeat visits) through its
    preset's importer, measured by 01's fitness record and analysed with it."""
    root = tmp_path_factory.mktemp("night")
    shapefixtures.to_raw(shapefixtures.build("night_slice", root / "inputs"), root / "raw")
    return worlds.imported(root)


def test_a_night_slice_says_what_it_cannot_tell_and_sizes_no_runtime(night):
    fit, strategy = night.fit, night["06_strategy"]
    assert fit is not None and fit.span_hours < 3 and not fit.covers_whole_day
    listed = " ".join(fitness_words.cannot_tell(fit))
    assert "Only 2 h" in listed and "no whole day or week" in listed and "No checkout step" in listed
    assert "cut at the slice's edges" in listed and "Few repeat visits" in listed
    # no runtime extrapolated from under three hours, no design effect from 1.1 sessions per user
    assert strategy.weeks_needed is None and "short_span" in strategy.sizing
    card = frontpage.experiment_card_html(strategy)
    assert "week of traffic" not in card and "weeks of traffic" not in card and "rough extrapolation" not in card
    if strategy.plan is not None:
        assert "design effect unknown" in card


def test_a_night_slice_badges_nothing_high_its_record_caps(night):
    for page in ANALYSES:
        rec = night[page]
        verdict = needs.assess(night.fit, page)
        if verdict.capped or verdict.not_estimable:
            assert rec.badge.level != "high", page
            assert {r.code for r in rec.badge.rules if not r.passed} >= set(verdict.codes), page


def test_a_night_slice_proposes_no_lever_its_answers_contradict(night):
    assert night.fit.has_prices  # this slice has prices: revenue is a number the data hold
    plan = night["06_strategy"].plan
    supported = [r for r in night["06_strategy"].recommendations if r.status == "supported"]
    if not supported and plan is not None:
        assert plan.lever in ("collect_more_data", "interaction_density", "time_before_checkout")
        if plan.lever == "interaction_density":
            conv = night["03_conversion"]
            eng = conv.effect("engagement")
            assert eng.or_lo > 1 and (conv.landmark.or_hi if conv.landmark else 2) >= 1
