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
        assert not result.ok and result.badge.level == "none", page
        assert {"no_prices", "no_checkout_step"} & set(result.badge.failed), page  # the missing needs as rules
    assert res["03_conversion"].reason == "no_checkout_step, no_landmark_window"
    # 05 stops first at its own check (no order carries products), its badge naming the missing needs
    assert {"no_prices", "no_products", "no_event_timing"} <= set(res["05_purchase_style"].badge.failed)
    assert "no distinct checkout step" in fitness_words.reason_text(res["03_conversion"].reason)


def test_thinned_log_caps_03_and_has_no_spend(shapes):
    _, _, res = shapes["thinned_log"]
    conv = res["03_conversion"]
    assert conv.ok and conv.badge.level != "high"
    assert {"thinned_log", "no_checkout_step"} <= _failed(conv)
    assert not res["04_spend"].ok and "no_prices" in res["04_spend"].badge.failed


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
    assert not res["04_spend"].ok and "no_prices" in res["04_spend"].badge.failed
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


# --------------------------------------------------------------------------------------------
# 06: sizing codes, the design effect, the plan and eligibility on each shape
# --------------------------------------------------------------------------------------------


def _strategy(shapes, name, tmp_path, **change):
    from helpers.runner import params

    fit, gold, res = shapes[name]
    s = strategy.Settings.pick({**params.notebook_defaults("06_strategy"), **change})
    return strategy.analyse(gold, dict(res), s, None, tmp_path / "experiment", fit)


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("night_slice", {"short_span"}),  # 170 minutes: no runtime from less than a day
        ("sparse_sample", {"sample_rate"}),  # a few dozen sessions a day: more than a year at the sample's rate
        ("session_table_months", {"dates_only"}),  # months only: no daily traffic at all
    ],
)
def test_no_runtime_the_data_cannot_carry_and_the_store_rate_gives_one(shapes, tmp_path, name, codes):
    result = _strategy(shapes, name, tmp_path)
    assert codes <= set(result.sizing), result.sizing
    assert (result.weeks_needed, result.days_needed, result.runtime_from) == (None, None, None)
    assert result.evidence.mde_table is None  # no table of days either
    if "sample_rate" not in codes:  # a daily rate read from under a day or from made-up dates is no rate
        assert result.sessions_per_day is None
    assert "no runtime" in fitness_words.unsized_text(result) and "store_daily_sessions" in (
        fitness_words.unsized_text(result)
    )
    given = _strategy(shapes, name, tmp_path, store_daily_sessions=20_000.0)
    if given.sample_size_per_arm:
        assert given.runtime_from == "store" and given.weeks_needed >= 1
        assert given.days_needed == pytest.approx(2 * given.sample_size_per_arm / 20_000)


def test_no_design_effect_from_fewer_than_two_sessions_per_user(shapes, tmp_path):
    for name, code in (("no_user_ids", "no_user_ids"), ("night_slice", "few_sessions_per_user")):
        result = _strategy(shapes, name, tmp_path)
        assert result.design is None and result.users_per_arm is None and code in result.sizing, name
        assert "an assumption" in fitness_words.design_text(result)
    result = _strategy(shapes, "no_user_ids", tmp_path)
    assert result.weeks_needed is not None and result.runtime_from == "data"  # eight days: a whole week


def test_the_plan_never_proposes_a_lever_the_data_contradict(shapes, tmp_path):
    for name in SHAPES:
        fit, _, res = shapes[name]
        result = _strategy(shapes, name, tmp_path)
        if not result.supported:
            assert result.plan.lever in (strategy.leans(res["03_conversion"]), strategy.COLLECT_MORE_DATA), name
        if not fit.has_prices:
            assert "revenue_per_session" not in result.plan.guardrails, name
        for rec in result.supported:  # one rule for what a recommendation may rest on
            page = strategy.RESTS_ON[rec.id]
            assert needs.eligible(res[page].badge, needs.assess(fit, page)).ok, (name, rec.id)


def test_contradicted_engagement_gives_no_density_lever():
    conv = conversion.ConversionResult(status="ok")
    conv.verdicts = conversion.Verdicts(
        "unclear", "engagement", False, "unclear", "unclear", "unclear", "positive", True, True, [], 0.5, 0.0, 0.6, 0.6
    )
    conv.effects = [
        conversion.OddsEffect("engagement", "log1p", 0.1, 0.0, 0.2, 1.0, 1.1, 1.02, 1.2, 0.05),
        conversion.OddsEffect("time", "log1p", 0.0, -0.1, 0.1, 1.0, 1.0, 0.9, 1.1, 0.9),
    ]
    conv.landmark = conversion.Landmark(seconds=120, or_per_sd=0.71, or_lo=0.57, or_hi=0.88)
    assert strategy.leans(conv) is None  # the main window leans up, the landmark window down: no lever
    conv.landmark = conversion.Landmark(seconds=120, or_per_sd=1.2, or_lo=1.05, or_hi=1.4)
    assert strategy.leans(conv) == "interaction_density"
    plan = strategy.experiment_plan({"03_conversion": conv})
    unsupported = [strategy.Recommendation("engagement_over_time", strategy.WITHDRAWN)]
    conv.landmark = conversion.Landmark(seconds=120, or_per_sd=0.71, or_lo=0.57, or_hi=0.88)
    assert strategy.fit_plan(plan, unsupported, conv, None).lever == strategy.COLLECT_MORE_DATA


def test_05_compares_browsing_so_a_thinned_log_caps_it(shapes):
    fit, _, _ = shapes["thinned_log"]
    assert "thinned_log" in needs.assess(fit, "05_purchase_style").codes


def test_validation_worlds_cut_as_real_exports(tmp_path):
    import pandas as pd

    from helpers.data.simulate import SimConfig, simulate_to_parquet
    from helpers.runner import validate

    simulate_to_parquet(SimConfig(n_sessions=3000, seed=5), tmp_path / "raw")
    before = pd.read_parquet(tmp_path / "raw" / "events.parquet")
    validate.reshape(tmp_path / "raw", "no_checkout", 1)
    after = pd.read_parquet(tmp_path / "raw" / "events.parquet")
    assert "checkout" in set(before["event_type"]) and "checkout" not in set(after["event_type"])
    assert len(after) == (before["event_type"] != "checkout").sum()
    validate.reshape(tmp_path / "raw", "thinned_log", 1)
    thin = pd.read_parquet(tmp_path / "raw" / "events.parquet")
    per_session = thin.groupby("session_id").size()
    assert (per_session == 1).mean() > 0.4 and set(thin["event_type"]) >= {"purchase"}
    summary = validate.summarise([], {"alpha": 0.05}, None, [{"badges": {"03": "high", "04": "low", "05": "none"}}])
    assert summary["shape_high_badges"] == 1 and not summary["targets_met"]


def test_without_prices_the_key_figure_draws_no_revenue_bars():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from helpers.presentation import plots
    from helpers.presentation.words import strategy as strategy_words

    seg = pd.DataFrame(
        {"conversion": [0.01, 0.02, 0.03], "conv_lo": [0.0, 0.01, 0.02], "conv_hi": [0.02, 0.03, 0.04]},
        index=["low", "middle", "high"],
    ).assign(revenue_per_session=0.0)
    for narrow in (False, True):
        fig, (left, right) = plots.segments(seg, narrow=narrow, revenue=False)
        assert not right.patches and "No prices" in right.texts[0].get_text() and len(left.patches) == 3
    result = strategy.StrategyResult(driver="engagement")
    assert "revenue" in strategy_words.key_figure_caption(result)
    assert "no prices, no revenue" in strategy_words.key_figure_caption(result, revenue=False)
