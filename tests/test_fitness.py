"""The data-fitness record and the needs of each question, in-process, on hand-built tables and real shapes.

Each shape goes in as a user's file through the importer, then the gold table, then ``measure``;
its record is checked against what the shape holds by construction (``Shape.facts``) or by hand,
and ``needs.assess`` against the not-estimable reasons and caps that shape must give.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from helpers.analysis import needs
from helpers.analysis.results import Badge, Rule
from helpers.data import fitness
from helpers.data.gold import build_gold

from . import rawfixture, shapefixtures

QUESTIONS = ("03_conversion", "04_spend", "05_purchase_style")
MDE = {"relative_mde": 0.10, "alpha": 0.05, "power": 0.8}  # 06's notebook defaults


def _measure(raw, gold) -> fitness.Fitness:
    build_gold(raw, gold)
    return fitness.measure(raw, gold)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict[str, tuple[shapefixtures.Shape, fitness.Fitness]]:
    """Every shape imported, built into a gold table and measured once."""
    root = tmp_path_factory.mktemp("shapes")
    out = {}
    for name in shapefixtures.BUILDERS:
        shape = shapefixtures.build(name, root / "inputs")
        raw = shapefixtures.to_raw(shape, root / name / "raw")
        out[name] = shape, _measure(raw, root / name / "gold")
    return out


def _sizing(fit: fitness.Fitness) -> needs.Verdict:
    """06's sizing verdict with the runtime at the data's own daily rate."""
    return needs.assess(fit, "06_sizing", runtime_days=needs.own_rate_runtime_days(fit, fit.conversion, **MDE))


def _codes(reasons: list[needs.Reason]) -> set[str]:
    return {r.code for r in reasons}


# --------------------------------------------------------------------------------------------
# Tiny hand-built tables: every value worked out by hand (tests/rawfixture.py)
# --------------------------------------------------------------------------------------------


def _hand_built(tmp_path, change=None) -> fitness.Fitness:
    frames = rawfixture.tables()
    if change:
        change(frames)
    raw = rawfixture.write(tmp_path / "raw", frames)
    return _measure(raw, tmp_path / "gold")


def test_hand_built_tables_give_the_values_worked_out_by_hand(tmp_path):
    fit = _hand_built(tmp_path)
    assert (fit.input_kind, fit.sessions, fit.events, fit.buyers, fit.orders) == ("raw tables", 7, 21, 3, 4)
    assert fit.conversion == pytest.approx(3 / 7)
    # buyers 1, 3, 4: 1 and 4 check out; 3 buys with nothing before the purchase
    assert fit.has_checkout_step and fit.checkout_share_of_buyers == pytest.approx(2 / 3)
    assert fit.share_purchases_without_browsing == pytest.approx(1 / 3)
    assert fit.has_cart_step and fit.cart_abandonment == 0.0  # both cart sessions (1, 4) bought
    assert (fit.price_kind, fit.distinct_prices, fit.has_prices, fit.has_products) == ("varying", 3, True, True)
    assert (fit.has_user_ids, fit.users) == (True, 6) and fit.sessions_per_user == pytest.approx(7 / 6)
    assert (fit.timestamp_resolution, fit.event_timing) == ("seconds", "per_event")
    # first start 10:00:00 (session 1) to the last event 23:59:05 (session 3)
    assert fit.first_ts == "2026-01-05T10:00:00" and fit.last_ts == "2026-01-05T23:59:05"
    assert fit.span_hours == pytest.approx(13 + 59 / 60 + 5 / 3600)
    assert (fit.whole_days, fit.whole_weeks, fit.covers_whole_day) == (0, 0, False)
    # of the six sessions with events, 1 starts within 30 min of the first event and 3 ends within 30 min of the last
    assert fit.edge_share == pytest.approx(2 / 6)
    assert fit.single_event_share == pytest.approx(1 / 7) and fit.events_per_session == pytest.approx(3.0)
    assert (fit.landmark_at_risk_sessions, fit.landmark_at_risk_buyers) == (1, 0)  # session 7
    assert (fit.days_observed, fit.sessions_per_day, fit.daily_sessions_median) == (1, None, None)
    # 43 % conversion, 0 % cart abandonment, 14 % one-event sessions: outside the published bands
    assert fit.outside_bands == ["conversion", "cart_abandonment", "one_event_share"]


def _prices(unit_price: float, total: float):
    def change(frames):
        frames["order_items"]["unit_price_usd"] = unit_price
        frames["orders"]["total_usd"] = total

    return change


@pytest.mark.parametrize(
    ("change", "kind", "distinct"),
    [
        (_prices(10.0, 20.0), "constant", 1),  # one price for everything
        (_prices(1.0, 1.0), "flag", 1),  # the price column is the 0/1 purchase flag
        (_prices(0.0, 0.0), "absent", 0),  # no price column: the importers write zeros
    ],
)
def test_a_constant_price_or_the_purchase_flag_is_no_price(tmp_path, change, kind, distinct):
    fit = _hand_built(tmp_path, change)
    assert (fit.price_kind, fit.distinct_prices, fit.has_prices) == (kind, distinct, False)
    verdict = needs.assess(fit, "04_spend")
    assert [(r.code, r.value) for r in verdict.not_estimable] == [("no_prices", kind)]


def _starts(times: list[str]):
    def change(frames):
        frames["sessions"]["started_at"] = pd.to_datetime(times)

    return change


def test_timestamp_resolution_dates_and_months(tmp_path):
    days = ["2026-01-05", "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-07", "2026-01-08", "2026-01-11"]
    fit = _hand_built(tmp_path / "d", _starts(days))
    assert fit.timestamp_resolution == "dates"
    assert (fit.span_hours, fit.whole_days, fit.whole_weeks) == (7 * 24, 7, 1)  # 5 to 11 January, each day whole
    assert fit.days_observed == 5 and fit.edge_share is None
    assert needs.assess(fit, "03_conversion").capped[-1] == needs.Reason("dates_only", "dates")

    months = ["2026-01-01", "2026-01-01", "2026-02-01", "2026-03-01", "2026-03-01", "2026-03-01", "2026-03-01"]
    fit = _hand_built(tmp_path / "m", _starts(months))
    assert fit.timestamp_resolution == "months"
    assert fit.span_hours == (31 + 28 + 31) * 24  # January to March, whole months
    assert (fit.whole_days, fit.whole_weeks, fit.days_observed, fit.sessions_per_day) == (None, None, None, None)
    assert [(r.code, r.value) for r in needs.assess(fit, "06_sizing").not_estimable] == [("dates_only", "months")]


# --------------------------------------------------------------------------------------------
# Real shapes through the importer
# --------------------------------------------------------------------------------------------


def test_session_table_with_months_only_and_the_flag_as_revenue(shapes):
    shape, fit = shapes["session_table_months"]
    assert (fit.input_kind, fit.event_timing, fit.timestamp_resolution) == ("session table", "laid_out", "months")
    assert (fit.sessions, fit.buyers) == (shape.facts["sessions"], shape.facts["buyers"])
    assert not fit.has_checkout_step and not fit.has_cart_step and fit.checkout_share_of_buyers == 0.0
    assert (fit.price_kind, fit.has_prices, fit.has_products) == ("flag", False, False)
    assert (fit.has_user_ids, fit.users, fit.sessions_per_user) == (False, None, None)
    assert fit.first_ts == "2017-02-01T00:00:00"
    assert fit.span_hours == (pd.Timestamp("2018-01-01") - pd.Timestamp("2017-02-01")).days * 24
    assert (fit.whole_weeks, fit.sessions_per_day, fit.edge_share) == (None, None, None)

    conversion = needs.assess(fit, "03_conversion")
    assert _codes(conversion.not_estimable) == {"no_checkout_step", "no_landmark_window"}
    assert _codes(needs.assess(fit, "04_spend").not_estimable) == {"no_prices"}
    assert _codes(needs.assess(fit, "05_purchase_style").not_estimable) == {
        "no_prices",
        "no_products",
        "no_event_timing",
    }
    sizing = _sizing(fit)
    assert _codes(sizing.not_estimable) == {"dates_only"} and _codes(sizing.capped) == {"no_user_ids"}


def test_session_table_without_start_times(shapes, tmp_path):
    shape, _ = shapes["session_table_months"]
    mapping = tmp_path / "no_start.yaml"
    mapping.write_text(shape.mapping.read_text(encoding="utf-8").replace("started_at: Month, ", ""), encoding="utf-8")
    no_start = dataclasses.replace(shape, mapping=mapping)
    fit = _measure(shapefixtures.to_raw(no_start, tmp_path / "raw"), tmp_path / "gold")
    assert fit.timestamp_resolution == "none"  # the importer spaced the sessions 1 s apart: no span to read
    assert (fit.span_hours, fit.whole_weeks, fit.first_ts, fit.sessions_per_day, fit.edge_share) == (None,) * 5
    assert [(r.code, r.value) for r in _sizing(fit).not_estimable] == [("no_timestamps", "none")]
    assert "short_span" not in needs.assess(fit, "03_conversion").codes
    assert "no_timestamps" in needs.assess(fit, "03_conversion").codes


def test_thinned_log_where_most_purchases_stand_alone(shapes):
    shape, fit = shapes["thinned_log"]
    facts = shape.facts
    assert (fit.sessions, fit.buyers) == (facts["sessions"], facts["buyers"])
    assert fit.share_purchases_without_browsing == pytest.approx(facts["buyers_alone"] / facts["buyers"])
    assert fit.single_event_share == pytest.approx(facts["single_event_share"])
    assert fit.events_per_session == pytest.approx(facts["events_per_session"])
    assert 0.6 < fit.single_event_share < 0.7 and 1.35 < fit.events_per_session < 1.6  # the marketplace's shape
    assert fit.price_kind == "absent" and fit.has_user_ids

    verdict = needs.assess(fit, "03_conversion")
    assert verdict.estimable and verdict.cap == "medium"
    thinned = next(r for r in verdict.capped if r.code == "thinned_log")
    assert thinned.value == pytest.approx(0.70, abs=0.01) and thinned.threshold == 0.25
    # the alone purchases took their checkouts with them: fewer than half the buyers check out
    assert "no_checkout_step" in _codes(verdict.capped)
    assert "one_event_share" in fit.outside_bands
    assert _codes(needs.assess(fit, "04_spend").not_estimable) == {"no_prices"}


def test_night_slice_of_a_few_hours(shapes):
    shape, fit = shapes["night_slice"]
    assert fit.sessions == shape.facts["sessions"]
    first, last = pd.Timestamp(fit.first_ts), pd.Timestamp(fit.last_ts)
    assert shape.facts["first"] <= first < last <= shape.facts["last"]
    assert 2.5 < fit.span_hours <= 170 / 60
    assert (fit.whole_days, fit.covers_whole_day, fit.sessions_per_day) == (0, False, None)
    assert fit.edge_share > 0.25  # a 170-minute slice: a session within 30 min of either edge may be cut
    assert fit.has_prices and fit.has_products and not fit.has_checkout_step
    assert fit.has_user_ids and 1.0 < fit.sessions_per_user < 1.2

    conversion = needs.assess(fit, "03_conversion")
    assert conversion.estimable  # the landmark window stands in for the missing checkout
    assert _codes(conversion.capped) == {"no_checkout_step", "short_span", "edge_cut"}
    spend, styles = needs.assess(fit, "04_spend"), needs.assess(fit, "05_purchase_style")
    assert spend.estimable and _codes(spend.capped) == {"short_span", "edge_cut"}
    # 05's durations run to checkout and it has no landmark to fall back on: without one they include buying
    assert styles.estimable and _codes(styles.capped) == {"short_span", "edge_cut", "no_checkout_step"}
    sizing = _sizing(fit)
    assert _codes(sizing.not_estimable) == {"short_span"} and _codes(sizing.capped) == {"few_sessions_per_user"}


def test_log_without_user_ids(shapes):
    shape, fit = shapes["no_user_ids"]
    assert fit.sessions == shape.facts["sessions"]
    assert (fit.has_user_ids, fit.users, fit.sessions_per_user) == (False, None, None)
    assert fit.whole_weeks == 1 and fit.has_prices and fit.checkout_share_of_buyers == 1.0
    for question in QUESTIONS:
        assert needs.assess(fit, question).fit, question
    sizing = _sizing(fit)
    assert sizing.estimable and [(r.code, r.value) for r in sizing.capped] == [("no_user_ids", False)]


def test_sparse_sample_over_five_months(shapes):
    shape, fit = shapes["sparse_sample"]
    assert fit.sessions == shape.facts["sessions"]
    assert 149 * 24 < fit.span_hours < 150 * 24 and (fit.whole_days, fit.whole_weeks) == (149, 21)
    assert fit.sessions_per_day == pytest.approx(fit.sessions / (fit.span_hours / 24))
    assert 15 < fit.daily_sessions_median < 25 and fit.days_observed == shape.facts["days"]
    assert fit.sessions_per_user == 1.0
    assert needs.assess(fit, "03_conversion").fit
    sizing = _sizing(fit)
    (rate,) = sizing.not_estimable
    assert rate.code == "sample_rate" and rate.value > 10 * 365  # a few dozen sessions a day: the sample's rate
    assert _codes(sizing.capped) == {"few_sessions_per_user"}
    # the store's own daily traffic given: no runtime at the data's rate, so no sample_rate
    assert needs.assess(fit, "06_sizing", runtime_days=None).estimable


def test_the_simulated_default_world_is_fit_for_every_question(shapes):
    _, fit = shapes["simulated"]
    assert (fit.input_kind, fit.sessions, fit.whole_weeks) == ("simulator", 100_000, 4)
    assert fit.sessions_per_user > 2 and fit.share_purchases_without_browsing == 0.0 and fit.outside_bands == []
    for question in QUESTIONS:
        verdict = needs.assess(fit, question)
        assert verdict.fit and verdict.cap is None, (question, verdict.codes)
    sizing = _sizing(fit)
    assert sizing.fit and sizing.codes == []


# --------------------------------------------------------------------------------------------
# The rules: thresholds are settings, bands cap nothing, caps and eligibility
# --------------------------------------------------------------------------------------------


def test_thresholds_are_named_settings(shapes):
    _, fit = shapes["thinned_log"]
    loose = needs.Limits(max_share_purchases_without_browsing=0.8, min_checkout_share_of_buyers=0.2)
    assert needs.assess(fit, "03_conversion", limits=loose).fit
    alone = dataclasses.replace(fit, share_purchases_without_browsing=0.95)
    assert _codes(needs.assess(alone, "03_conversion").not_estimable) == {"no_browsing_before_purchase"}
    _, night = shapes["night_slice"]
    assert "short_span" not in needs.assess(night, "04_spend", limits=needs.Limits(min_span_hours=2.0)).codes


def test_realism_bands_inform_but_cap_nothing(shapes):
    _, fit = shapes["simulated"]
    odd = dataclasses.replace(
        fit, conversion=0.4, cart_abandonment=0.99, outside_bands=["conversion", "cart_abandonment"]
    )
    assert all(needs.assess(odd, q).fit for q in QUESTIONS)


def test_cap_badge_never_leaves_high_and_adds_each_reason_as_a_failed_rule(shapes):
    _, night = shapes["night_slice"]
    capped = needs.assess(night, "04_spend")
    rule_a = Rule("rule_a", True)
    badge = needs.cap_badge(Badge("high", [rule_a]), capped)
    assert badge.level == "medium" and badge.passed == ["rule_a"] and badge.failed == ["short_span", "edge_cut"]
    assert badge.rules[1] == Rule("short_span", False, night.span_hours, 24.0)
    assert needs.cap_badge(Badge("low", [Rule("rule_b", False)]), capped).level == "low"
    missing = needs.assess(night, "06_sizing")
    none = needs.cap_badge(Badge("high"), missing)
    assert none.level == "none" and none.failed == ["short_span"]
    _, table = shapes["session_table_months"]
    flag = needs.cap_badge(Badge("high"), needs.assess(table, "04_spend"))
    assert flag.rules == [Rule("no_prices", False, None, None)]  # a code's value that is not a number stays out
    _, sim = shapes["simulated"]
    assert needs.cap_badge(Badge("high", [rule_a]), needs.assess(sim, "04_spend")) == Badge("high", [rule_a])


def test_eligibility_of_an_answer_for_a_recommendation(shapes):
    _, sim = shapes["simulated"]
    _, night = shapes["night_slice"]
    _, table = shapes["session_table_months"]
    fit = needs.assess(sim, "03_conversion")
    assert needs.eligible(Badge("high"), fit).ok and needs.eligible(Badge("medium"), fit).ok
    assert needs.eligible(Badge("low"), fit).codes == ["low_badge"]
    assert needs.eligible(None, fit).codes == ["low_badge"]
    capped = needs.assess(night, "03_conversion")
    assert needs.eligible(Badge("medium"), capped).codes == ["shape_cap"]
    missing = needs.assess(table, "03_conversion")
    assert needs.eligible(Badge("none"), missing).codes == ["not_estimable", "shape_cap", "low_badge"]


def test_the_record_from_raw_tables_alone_is_the_same(tmp_path):
    raw = rawfixture.write(tmp_path / "raw")
    assert fitness.measure(raw) == _measure(raw, tmp_path / "gold")


def test_records_round_trip_through_json(shapes):
    import json

    for _, fit in shapes.values():
        assert fitness.Fitness.from_json(json.loads(json.dumps(fit.to_json()))) == fit
    verdict = _sizing(shapes["night_slice"][1])
    assert needs.Verdict.from_json(json.loads(json.dumps(verdict.to_json()))) == verdict


def test_unknown_question_is_named():
    with pytest.raises(ValueError, match="unknown question '07'"):
        needs.assess(None, "07")
