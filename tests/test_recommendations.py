"""Known-answer tests of 06's recommendations (issue 34, point 1): hypotheses, not actions.

Every recommendation rests on observational data, so each is a hypothesis; only an experiment's read-out
with a strong instrument makes one an action (``strategy.promote``). No recommendation stands on an answer
badged low (``needs.eligible``). What 'one SD' means is recorded in the data's units, computed from the
gold table. The world is the default shop, small, analysed in-process as the notebooks do.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import readout, strategy
from helpers.presentation import formatting
from helpers.presentation.words import strategy as words
from helpers.runner import params

PAGES = ("03_conversion", "04_spend", "05_purchase_style")


@pytest.fixture(scope="module")
def world(small_shop, tmp_path_factory):
    """03-05 (a session's small default shop, shared) and 06 (no simulated experiment: its arms are not what is
    tested here)."""
    folder, _, upstream = small_shop
    chosen = {**params.notebook_defaults("06_strategy"), "seed": 5}
    result = strategy.analyse(folder / "gold", upstream, strategy.Settings.pick(chosen), None, folder / "exp")
    gold = pd.read_parquet(folder / "gold" / "sessions.parquet")
    return upstream, result, gold


def badged(upstream: dict, level: str, pages=PAGES) -> dict:
    """``upstream`` with the badges of ``pages`` set to ``level`` (the rules kept)."""
    return {
        name: dataclasses.replace(r, badge=dataclasses.replace(r.badge, level=level)) if name in pages else r
        for name, r in upstream.items()
    }


def recs_of(upstream: dict, result) -> dict:
    """06's recommendations from ``upstream``, with the default result's segments, contrast and units."""
    recs = strategy.recommendations(
        upstream,
        result.segments,
        result.segment_cuts,
        result.driver,
        result.alpha,
        result.segment_contrast,
        None,
        result.unit_changes,
    )
    return {r.id: r for r in recs}


def test_in_the_default_world_no_recommendation_is_an_action(world):
    upstream, result, _ = world
    assert {r.kind for r in result.recommendations} == {"hypothesis"}
    assert {r.codes["evidence"] for r in result.recommendations} == {"observational"}
    # even where every answer is eligible, engagement's association stays a hypothesis to test
    high = recs_of(badged(upstream, "high"), result)
    assert high["engagement_over_time"].status == strategy.SUPPORTED
    assert {r.kind for r in high.values()} == {"hypothesis"}
    said = words.recommendation(high["engagement_over_time"])
    assert said.kind_text.startswith("a hypothesis to test") and said.impact_label.startswith("Association")


def test_a_low_badged_answer_yields_no_supported_recommendation(world):
    upstream, result, _ = world
    high = recs_of(badged(upstream, "high"), result)
    assert any(r.status == strategy.SUPPORTED for r in high.values())  # else the test below could not fail
    for page in PAGES:
        mixed = recs_of(badged(badged(upstream, "high"), "low", (page,)), result)
        for rec in mixed.values():
            if strategy.RESTS_ON[rec.id] != page:
                assert rec.status == high[rec.id].status, rec.id
                continue
            assert rec.status != strategy.SUPPORTED, rec.id
            if high[rec.id].status == strategy.SUPPORTED:
                assert rec.reason == "not_eligible" and rec.codes["eligibility"] == "low_badge"
    assert not any(r.status == strategy.SUPPORTED for r in recs_of(badged(upstream, "low"), result).values())


def test_the_unit_change_of_idle_is_exp_of_the_sd_of_log_idle_among_buyers(world):
    upstream, result, gold = world
    buyers = gold[(gold["did_purchase"] == 1) & (gold["amount_usd"] > 0)]
    by_hand = math.exp(np.log1p(buyers["pre_conversion_max_idle_seconds"].astype(float)).std())
    assert 2 < by_hand < 30  # a longest pause several times shorter, as issue 34 found (7.6 at full size)
    assert result.unit_changes["idle"]["ratio"] == pytest.approx(by_hand, rel=1e-9)
    idle = recs_of(badged(upstream, "high"), result)["idle_to_interaction"]
    assert idle.values["unit_ratio"] == pytest.approx(by_hand, rel=1e-9)
    assert idle.codes["sd_population"] == "buyers" and idle.codes["conditions_on"] == "purchase"
    assert f"a longest pause {by_hand:.1f}× shorter" in words.unit_phrase(idle)


def test_the_unit_change_of_engagement_and_time_is_one_sd_more_at_the_sessions_median(world):
    _, result, gold = world
    for feature, column in (("engagement", "pre_conversion_event_count"), ("time", "pre_conversion_seconds")):
        raw = gold[column].astype(float).clip(lower=0)
        ratio, median = math.exp(np.log1p(raw).std()), raw.median()
        u = result.unit_changes[feature]
        assert u["ratio"] == pytest.approx(ratio) and u["median"] == median
        assert u["more"] == pytest.approx((1 + median) * (ratio - 1))  # log1p: (1 + x) times the ratio


def test_unit_changes_on_a_hand_built_table():
    sessions = pd.DataFrame(
        {
            "did_purchase": [1, 1, 0, 0],
            "amount_usd": [10.0, 20.0, 0.0, 0.0],
            "pre_conversion_event_count": [0, 2, 0, 2],
            "pre_conversion_seconds": [0.0, 0.0, 0.0, 0.0],  # no spread: left out
            "pre_conversion_max_idle_seconds": [math.e - 1, math.e**3 - 1, 99.0, 99.0],
        }
    )
    units = strategy.unit_changes(sessions)
    assert "time" not in units
    sd = float(np.std([1.0, 3.0], ddof=1))  # log1p of the buyers' idle gaps: 1 and 3
    assert units["idle"]["sd_log"] == pytest.approx(sd) and units["idle"]["ratio"] == pytest.approx(math.exp(sd))
    assert units["engagement"]["sd_log"] == pytest.approx(np.std(np.log1p([0, 2, 0, 2]), ddof=1))


def _read_out(strong: bool = True, lo: float = 0.01, hi: float = 0.03, decision: str = "ship", behaviour=None):
    iv = readout.InstrumentEstimate(
        behaviour=behaviour or "log_browsing_events", sessions=1000, users=500, first_stage=0.2,
        first_stage_se=0.02, first_stage_f=100.0 if strong else 4.0, first_stage_f_nonrobust=100.0,
        reduced_form=0.004, reduced_form_se=0.001, effect=(lo + hi) / 2, effect_se=0.005, effect_lo=lo,
        effect_hi=hi, p_value=0.001, effect_se_nonrobust=0.004, strong=strong,
    )  # fmt: skip
    return SimpleNamespace(decision=decision, instrument=iv)  # the two fields of a ReadoutResult promote reads


def _supported(*ids: str) -> list[strategy.Recommendation]:
    return [strategy.Recommendation(i, strategy.SUPPORTED) for i in ids]


@pytest.mark.parametrize(
    "read,kind,code",
    [
        (None, "hypothesis", None),
        (_read_out(), "action", "instrument_supports"),
        (_read_out(strong=False), "hypothesis", "weak_instrument"),
        (_read_out(lo=-0.01), "hypothesis", "instrument_not_on_side"),
        (_read_out(decision="stopped_srm"), "hypothesis", "stopped_srm"),
        (_read_out(behaviour="log_seconds_before_checkout"), "hypothesis", "no_instrument"),
    ],
)
def test_only_an_experiment_with_a_strong_instrument_on_its_side_makes_an_action(read, kind, code):
    recs = {r.id: r for r in strategy.promote(_supported("engagement_over_time", "idle_to_interaction"), read)}
    engagement = recs["engagement_over_time"]
    assert engagement.kind == kind and engagement.codes.get("experiment") == code
    assert engagement.codes["evidence"] == ("experiment" if kind == "action" else "observational")
    assert recs["idle_to_interaction"].kind == "hypothesis"  # a buyers-only spend model: never promoted by conversion
    said = words.kind_text(engagement)
    assert said.startswith("an action" if kind == "action" else "a hypothesis to test")
    if code in ("weak_instrument", "instrument_not_on_side", "no_instrument", "stopped_srm"):
        assert said.split("; ")[1] == words.EXPERIMENT_WORDS[code].format(first_stage_f=4.0)


def test_a_shorter_path_needs_a_negative_instrumented_effect_of_time():
    read = _read_out(lo=-0.03, hi=-0.01, behaviour="log_seconds_before_checkout")
    rec = strategy.promote(_supported("time_shorter_path"), read)[0]
    assert rec.kind == "action"
    assert strategy.promote(_supported("time_richer_content"), read)[0].kind == "hypothesis"


def test_the_page_labels_the_impact_as_an_association_and_says_what_the_recommendation_is():
    rec = strategy.Recommendation("idle_to_interaction", strategy.SUPPORTED, kind="hypothesis")
    rec.codes = {"idle": "negative", "conditions_on": "purchase", "sd_population": "buyers"}
    rec.values = {"pct": -8.0, "pct_lo": -12.0, "pct_hi": -4.0, "usd_shorter": 8.7, "usd_shorter_lo": 4.2}
    rec.values |= {"usd_shorter_hi": 13.6, "unit_ratio": 7.6, "unit_median": 95.0, "unit_less": 95.0 - 96 / 7.6 + 1}
    said = words.recommendation(rec)
    assert said.impact == (
        "among buyers, a longest idle gap one SD shorter, a longest pause 7.6× shorter (the buyers' median 95 s → "
        "12 s), goes with +8.70 USD [+4.20, +13.60] per order"
    )
    html = formatting.recommendations_html([said])
    assert "a hypothesis about spend among buyers: 04&#x27;s model conditions on purchase" in html
    assert "Association (not shown to cause it): among buyers" in html and "if the association is causal" not in html


@pytest.mark.parametrize(
    "rec_id,values,expected",
    [
        (
            "engagement_over_time",
            {"unit_ratio": 3.0, "unit_median": 3.0, "unit_more": 8.0},
            "about 8.0 more events before checkout at the sessions' median (3.0 → 11; ×3.0",
        ),
        ("engagement_over_time", {"unit_ratio": 1.5, "unit_median": 1.0, "unit_more": 1.0}, "about 1.0 more event "),
        ("time_richer_content", {"unit_ratio": 2.0, "unit_median": 119.0, "unit_more": 120.0}, "about 2.0 more min"),
        ("time_shorter_path", {}, ""),
    ],
)
def test_the_unit_phrase_spells_out_one_sd_in_the_datas_units(rec_id, values, expected):
    rec = strategy.Recommendation(rec_id, strategy.SUPPORTED, values=values, codes={"sd_population": "sessions"})
    said = words.unit_phrase(rec)
    assert said.startswith(expected) if expected else said == ""
    if rec_id == "time_richer_content":
        assert "(2.0 → 4.0 minutes; ×2.0 on 1 + seconds)" in said


def test_a_withdrawal_that_holds_alone_says_so_in_words():
    rec = strategy.Recommendation("styles_price_framing", strategy.WITHDRAWN, "holm_adjusted", p_value=0.046)
    rec.p_holm, rec.values, rec.codes = 0.092, {"tests": 2, "alpha": 0.05}, {"family": strategy.HOLDS_ALONE}
    assert words.why_not(rec).endswith(
        "; the answer holds on its own test, but not as one of the family's tests after Holm"
    )
    rec.codes = {}
    assert "holds on its own" not in words.why_not(rec)
