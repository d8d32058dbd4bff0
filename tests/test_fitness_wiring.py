"""The fitness record wired through the analyses, in-process, on each real shape (tests/shapefixtures.py).

Each shape goes in as a user's file through the importer, then the gold table, then 01's record;
03, 04 and 05 run their ``analyse`` with the notebook's defaults and the record, as their notebooks
do. What each shape cannot support must show in its status, its badge and its reason codes; 06's
sizing must say what span or traffic it needs instead of printing a runtime it cannot know.
"""

from __future__ import annotations

import pytest

from helpers.analysis import conversion, needs, purchase_styles, spend, strategy
from helpers.data import fitness
from helpers.data.gold import build_gold
from helpers.presentation.words import fitness as fitness_words
from helpers.runner.validate import settings

from . import shapefixtures

ANALYSES = {"03_conversion": conversion, "04_spend": spend, "05_purchase_style": purchase_styles}
SHAPES = ("session_table_months", "thinned_log", "night_slice", "no_user_ids", "sparse_sample")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict:
    """Every real shape imported, built, measured and analysed once: {name: (fit, gold_dir, results)}."""
    root = tmp_path_factory.mktemp("wired")
    out = {}
    for name in SHAPES:
        shape = shapefixtures.build(name, root / "inputs")
        raw = shapefixtures.to_raw(shape, root / name / "raw")
        fit = fitness.measure(raw)
        fitness.save(fit, raw)
        gold = root / name / "gold"
        build_gold(raw, gold)
        res = {page: module.analyse(gold, settings(page, 42), None, fitness=fit) for page, module in ANALYSES.items()}
        out[name] = fit, gold, res
    return out


def _failed(result) -> set[str]:
    return set(result.badge.failed)


def test_the_record_round_trips_beside_the_raw_tables(shapes, tmp_path):
    fit, _, _ = shapes["night_slice"]
    fitness.save(fit, tmp_path)
    assert fitness.load(tmp_path) == fit and fitness.load(tmp_path / "none") is None


def test_session_table_answers_nothing_that_needs_a_checkout_prices_or_event_times(shapes):
    _, _, res = shapes["session_table_months"]
    for page in ANALYSES:
        result = res[page]
        assert result.status == "not estimable" and result.badge.level == "none", page
    assert res["03_conversion"].reason == "no_checkout_step, no_landmark_window"
    assert res["04_spend"].reason == "no_prices"
    assert res["05_purchase_style"].reason == "no_prices, no_products, no_event_timing"
    assert "no distinct checkout step" in fitness_words.reason_text(res["03_conversion"].reason)


def test_thinned_log_caps_03_and_has_no_spend(shapes):
    _, _, res = shapes["thinned_log"]
    conv = res["03_conversion"]
    assert conv.ok and conv.badge.level != "high"
    assert {"thinned_log", "no_checkout_step"} <= _failed(conv)
    assert res["04_spend"].status == "not estimable" and res["04_spend"].reason == "no_prices"


def test_night_slice_is_never_high(shapes):
    _, _, res = shapes["night_slice"]
    for page, result in res.items():
        assert result.badge.level != "high", page
        if result.ok:
            assert {"short_span", "edge_cut"} <= _failed(result), page
    assert "no_checkout_step" in _failed(res["03_conversion"]) or not res["03_conversion"].ok


def test_a_log_without_user_ids_caps_nothing_it_can_answer(shapes):
    fit, _, res = shapes["no_user_ids"]
    for result in res.values():
        assert not {r.code for r in result.badge.rules} & set(needs.NEED_CHECKS), result.badge.rules


def test_sparse_sample_has_no_spend_but_keeps_03(shapes):
    _, _, res = shapes["sparse_sample"]
    assert res["04_spend"].reason == "no_prices"
    assert not _failed(res["03_conversion"]) & {"short_span", "edge_cut", "thinned_log", "no_checkout_step"}


def test_landmark_check_covers_the_answer_s_own_feature(shapes):
    _, _, res = shapes["night_slice"]
    conv = res["03_conversion"]
    if not conv.ok:
        pytest.skip("03 not estimable on this slice")
    feature = conv.headline.feature
    lm = conv.landmark_of(feature)
    assert lm.feature == feature
    assert conv.landmark.feature == "engagement" and conv.landmark_time.feature == "time"
    if lm.agrees is False:
        assert "landmark_agrees" in _failed(conv) and lm.believe in ("landmark", "neither")
