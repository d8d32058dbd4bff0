"""Words for what the results record (issue 34's codes and numbers that no page worded yet), each branch.

06: the family's holds-alone code (in test_recommendations), each guardrail's margin, size and power, the
assumed lever effect and the power at the lift that follows, the planned design (the ICC's upper bound, m over
the planned weeks, D); which population the thirds cut. 04: where USD per order come from, the paired test of
the RMSE gap, the population of its thirds, 05's TOST read by 04. 05: each SMD's TOST p and the 90 % level of
its headline CI.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from helpers.analysis import experiment, purchase_styles, spend, strategy
from helpers.analysis.experiment import DesignEffect
from helpers.presentation import frontpage
from helpers.presentation.words import spend as spend_words
from helpers.presentation.words import strategy as words
from helpers.presentation.words import styles as style_words
from tests.test_findings import outcome, res_with, spend_record, spend_verdicts, styles_record

# --------------------------------------------------------------------------------------------
# 06 · guardrails, the assumed lever, the planned design, the thirds' population
# --------------------------------------------------------------------------------------------

SIZING = {
    "session_duration": {"margin": 0.05, "cv": 2.33, "sessions_per_arm": 27_080, "power_at_plan": 0.99},
    "revenue_per_session": {"margin": 0.05, "cv": 9.48, "sessions_per_arm": 447_626, "power_at_plan": 0.25},
}


def sized(rows, n=67_074):
    return SimpleNamespace(guardrail_sizing=rows, sample_size_per_arm=n, power=0.8)


def test_the_guardrail_sizing_line_names_each_margin_its_setting_size_and_power():
    text = words.guardrail_sizing_line(sized(SIZING))
    assert "session duration (margin 5%, `guardrail_margin`; coefficient of variation 2.33) needs 27,080" in text
    assert "revenue per session (margin 5%, `revenue_margin`" in text and "has 25% at the planned 67,074" in text
    assert "revenue per session may fail its margin for lack of precision" in text and "no evidence of harm" in text


def test_the_guardrail_sizing_line_when_every_guardrail_is_powered_or_no_size_is_planned():
    powered = {"session_duration": SIZING["session_duration"]}
    assert words.guardrail_sizing_line(sized(powered)).endswith("Every guardrail is powered at the planned size.")
    unplanned = {"session_duration": {k: v for k, v in SIZING["session_duration"].items() if k != "power_at_plan"}}
    text = words.guardrail_sizing_line(sized(unplanned, None))
    assert text.endswith("for 80% power.") and "planned" not in text
    assert words.guardrail_sizing_line(sized({})) == ""


def assumed(**kw):
    return outcome(lever_effect="assumed", assumed_density_lift=0.15, power_at_true_diff=0.63, true_diff=0.002, **kw)


def test_a_simulated_result_says_its_lever_effect_was_assumed_and_the_power_at_the_lift_that_follows():
    exp = assumed()
    assert words.assumed_lever_short(exp) == "assumed +15 % interactions per minute; power 63% at the lift that follows"
    line = words.assumed_lever_line(exp, 0.8)
    assert "assumed +15 % interactions per minute (`experiment_density_lift`)" in line
    assert "a true difference of +0.200 pp" in line and "power at that lift is 63%, below the 80% it was sized" in line
    assert "below" not in words.assumed_lever_line(assumed(), 0.5).split("power at that lift")[1]
    lines = words.experiment_result_lines(exp, outcome(), 20_000, 0.05, None, 0.8)
    assert lines[1] == line
    measured = outcome(lever_effect="measured")
    assert words.assumed_lever_short(measured) == "" and words.assumed_lever_line(measured) == ""
    assert not any("assumed" in x for x in words.experiment_result_lines(measured, outcome(), 20_000, 0.05))


def test_the_front_pages_experiment_card_says_the_lift_was_assumed():
    result = strategy.StrategyResult(
        plan=strategy.experiment_plan(res_with()), sample_size_per_arm=67_074, weeks_needed=6, relative_mde=0.1
    )
    result.experiment = assumed(decision="no_decision")
    html = frontpage.experiment_card_html(result)
    assert "assumed +15 % interactions per minute; power 63% at the lift that follows: conversion" in html


PLANNED = DesignEffect(
    100_000, 31_707, 3.15, 4.0, 0.0, 1.0, icc_upper=0.0017, span_days=28.0, planned_days=42.0,
    cluster_size_planned=5.5, sessions_per_user_planned=4.23, design_effect_planned=1.00765,
)  # fmt: skip


def test_the_design_sentence_quotes_what_the_sizing_used_the_iccs_upper_bound_over_the_planned_weeks():
    text = words.design_phrase(PLANNED, 67_074)
    assert "m = 5.5 over the planned 42 days (size-weighted; 4.0 over the data's 28 days)" in text
    assert "0.000 with a one-sided 95 % upper bound of 0.0017, which the size uses" in text
    assert "D = 1 + (5.5 − 1) × 0.0017 = 1.008: 15,857 users / 67,074 sessions per arm" in text
    flow = dict(sample_size_per_arm=67_074, sessions_per_day=3_571.0, baseline=0.024, span_hours=672.0)
    line = words.traffic_line(SimpleNamespace(**flow, alpha=0.05, power=0.8, design=PLANNED))
    assert "m = 5.5 over its 42 days (4.0 in these data)" in line and "upper bound 0.0017 (point estimate 0.000" in line
    assert "D = 1 + (m − 1) × ICC = 1 + (5.5 − 1) × 0.0017 = **1.008**" in line


@pytest.mark.parametrize(
    "cuts,expected",
    [
        ({"population": "sessions"}, "These are thirds of all sessions; 04's few and many events are thirds of buyers"),
        ({"population": "buyers"}, " These are thirds of buyers."),
        ({}, ""),
    ],
)
def test_the_segments_say_which_population_their_thirds_cut(cuts, expected):
    said = words.population_phrase(cuts)
    assert (expected in said) if expected else said == ""
    result = SimpleNamespace(driver="engagement", driver_from_answer=True, segment_cuts=cuts)
    assert words.driver_line(result).endswith(said)


# --------------------------------------------------------------------------------------------
# 04 · USD's source, the RMSE gap's test, the thirds of buyers, 05's TOST
# --------------------------------------------------------------------------------------------


def with_sources(*sources):
    v = spend_verdicts()
    for call, source in zip(v.calls(), sources):
        call.usd_from = source
    return spend_record(v)


@pytest.mark.parametrize(
    "sources,expected",
    [
        (("gamma_mean",) * 3, "USD per order come from the Gamma GLM's % change of the mean order times the mean"),
        (("ols_smearing",) * 3, "USD per order come from the log-spend % times the mean order the log model implies"),
        (("gamma_mean", "ols_smearing", "gamma_mean"), "USD per order come from, for engagement: the Gamma GLM's"),
        ((None,) * 3, "USD are per order at the mean order value (100.00 USD)"),
    ],
)
def test_04_says_where_its_usd_per_order_come_from(sources, expected):
    result = with_sources(*sources)
    said = spend_words.usd_from_phrase(result)
    assert said.startswith(expected) and said.endswith("(100.00 USD)")
    assert said in "\n".join(spend_words.spend_lines(result))


def test_04_quotes_the_paired_test_of_the_rmse_gap_when_it_ran():
    v = spend_verdicts(rmse_gap_p=0.23, explains_better="neither clearly")
    said = spend_words.better_phrase(v)
    assert said.startswith("On its own, neither") and said.endswith("(paired test of the gap across folds, p = 0.230)")
    assert "paired test" not in spend_words.better_phrase(spend_verdicts())


def test_04s_plain_fact_names_the_thirds_of_buyers_and_that_it_is_raw():
    fact = spend_words.spend_fact(spend_record())
    assert "(the lowest and highest thirds of buyers; a raw contrast, confounded" in fact
    assert spend.SegmentSpend("few", 2, 100, 1.0, 0.5, 1.5).population == "buyers"


@pytest.mark.parametrize(
    "tost_p,expected",
    [(0.046, "TOST p = 0.046, below α = 0.05"), (0.20, "TOST p = 0.200, not below α = 0.05"), (None, None)],
)
def test_04s_style_check_quotes_05s_equivalence_test(tost_p, expected):
    result = spend_record()
    result.style_check = purchase_styles.BrowsingCheck(
        "similar" if tost_p == 0.046 else "inconclusive", {}, "x", tost_p
    )
    said = spend_words.style_check_line(result)
    if expected:
        assert expected in said and "read from their 90% CIs" in said
    else:
        assert "TOST" not in said


# --------------------------------------------------------------------------------------------
# 05 · each SMD's TOST p, the 90 % headline CI
# --------------------------------------------------------------------------------------------


def smd_row(column, tost_p):
    return purchase_styles.SmdRow(
        "duration", column, 30, 30, -0.09, -0.21, 0.02, -0.19, 0.0, "equivalent", tost_p=tost_p
    )


def test_05_quotes_each_smds_tost_p_and_the_largest_against_alpha():
    assert style_words.smd_phrase(smd_row("pre_conversion_seconds", 0.031)) == (
        "duration before checkout -0.09 [-0.19, +0.00] (TOST p = 0.031)"
    )
    assert "TOST" not in style_words.smd_phrase(smd_row("pre_conversion_seconds", None))
    result = styles_record("similar", False)
    result.comparison = [smd_row("pre_conversion_seconds", 0.031)]
    for p, word in ((0.046, "is below α = 0.05"), (0.092, "is not below α = 0.05")):
        result.verdicts.tost_p = p
        assert word in "\n".join(style_words.styles_lines(result))
    result.verdicts.tost_p = None
    assert "intersection-union" not in "\n".join(style_words.styles_lines(result))


def test_05s_headline_ci_is_labelled_90_percent_never_95():
    assert style_words.headline_level() == "90 % CI, the equivalence test's"
    said = style_words.common.evidence(styles_record("similar", False))
    smd_part = said.split(";")[0]
    assert "(90 % CI, the equivalence test's)" in smd_part and "95" not in smd_part


def test_the_answers_table_does_not_label_every_interval_95_percent():
    from helpers.presentation import formatting

    assert "Evidence (95 % CIs unless stated)" in formatting.summary_html([])


def test_outcome_fields_the_words_read_exist():
    fields = experiment.Outcome.__dataclass_fields__
    assert {"lever_effect", "assumed_density_lift", "power_at_true_diff"} <= set(fields)
