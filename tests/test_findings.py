"""Every branch of the words: each verdict and sign gives the right words, badge and advice.

The results hold codes and numbers; these tests check the codes the analyses return and the words
``helpers.presentation.words`` makes of them."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from helpers.analysis import conversion, purchase_styles, results, spend, strategy
from helpers.analysis.conversion import ConversionResult
from helpers.analysis.purchase_styles import StylesResult
from helpers.analysis.spend import SpendResult
from helpers.analysis.stats import Clustering, Health
from helpers.presentation import findings
from helpers.presentation.words import answers, common
from helpers.presentation.words import conversion as conv_words
from helpers.presentation.words import spend as spend_words
from helpers.presentation.words import strategy as strategy_words
from helpers.presentation.words import styles as style_words

CLASSES = ("positive", "negative", "negligible", "unclear")


def conv_verdicts(**kw):
    v = {
        "answer": "engagement",
        "strongest": "engagement",
        "strongest_clear": True,
        "engagement": "positive",
        "time": "negligible",
        "time_adds": "no",
        "time_sign": "negative",
        "stable": True,
        "healthy": True,
        "health_reasons": [],
        "p_time_given_engagement": 0.4,
        "auc_gain_from_time": 0.0,
        "auc_engagement_only": 0.7,
        "auc_time_only": 0.6,
    }
    v.update(kw)
    return conversion.Verdicts(**v)


def odds(feature, value, lo, hi):
    coef = [math.log(x) / 0.5 for x in (value, lo, hi)]
    return conversion.OddsEffect(feature, "log1p", *coef, 0.5, value, lo, hi, 0.01)


def truth_rows(*covered):
    return [results.TruthRow(f"effect {i}", 1.0, 1.0, 0.5, 1.5, ok) for i, ok in enumerate(covered)]


# an odds ratio per SD and its CI for each class against the band [1/1.15, 1.15]
ODDS_BY_CLASS = {
    "positive": (1.8, 1.6, 2.0),
    "negative": (0.6, 0.5, 0.7),
    "negligible": (0.99, 0.9, 1.1),
    "unclear": (1.1, 0.9, 1.3),
}


def conv_record(truth_covered=None, **kw):
    v = conv_verdicts(**kw)
    result = ConversionResult(
        verdicts=v,
        negligible_or=1.15,
        effects=[odds(f, *ODDS_BY_CLASS[getattr(v, f)]) for f in ("engagement", "time")],
        truth=None if truth_covered is None else truth_rows(truth_covered, True),
        per_unit=[
            conversion.UnitEffect("engagement", "event", 0.5, 0.4, 0.6, 3.0),
            conversion.UnitEffect("time", "minute", 0.1, 0.05, 0.15, 1.5),
        ],
    )
    result.headline = conversion.headline(result)
    result.badge = conversion.badge(result)
    return result


@pytest.mark.parametrize("feature,cls", list(itertools.product(("engagement", "time", "idle"), CLASSES)))
def test_effect_phrase_direction_words_follow_the_class(feature, cls):
    text = common.effect_phrase(feature, cls)
    assert common.FEATURE_WORDS[feature] in text
    assert ("associated with higher" in text) == (cls == "positive")
    assert ("associated with lower" in text) == (cls == "negative")
    assert ("no material association" in text) == (cls == "negligible")
    assert ("cannot tell" in text) == (cls == "unclear")
    assert "drive" not in text and "cause" not in text


@pytest.mark.parametrize("sign,word,other", [("positive", "higher", "lower"), ("negative", "lower", "higher")])
def test_time_adds_follows_the_sign_of_time(sign, word, other):
    text = conv_words.time_adds_phrase(conv_verdicts(time_adds="yes", time_sign=sign, time=sign))
    assert f"longer time before checkout is associated with {word} purchase odds" in text
    assert f"associated with {other}" not in text


@pytest.mark.parametrize(
    "answer,expect",
    [
        ("engagement", "Engagement is the clearly stronger"),
        ("time", "Time is the clearly stronger"),
        ("neither", "Neither engagement nor time"),
        ("unclear", "The data cannot tell whether engagement or time"),
    ],
)
def test_conversion_answer_per_verdict(answer, expect):
    v = conv_verdicts(answer=answer, time="positive" if answer == "time" else "negligible")
    assert conv_words.conversion_answer(v).startswith(expect)


@pytest.mark.parametrize(
    "adds,expect",
    [
        ("yes", "time adds to engagement"),
        ("no", "adds nothing material"),
        ("unclear", "whether time adds to engagement is unclear"),
    ],
)
def test_conversion_answer_says_what_time_adds(adds, expect):
    assert expect in conv_words.conversion_answer(conv_verdicts(time_adds=adds, time_sign="positive"))


def test_poor_health_answers_nothing_and_says_why():
    v = conv_verdicts(healthy=False, health_reasons=["separation", "few_events_per_parameter"], answer="unclear")
    assert conv_words.conversion_answer(v) == (
        "Not answered: separation: some predictor (nearly) determines the outcome, so its standard errors are "
        "unreliable; too few outcome events per parameter."
    )


def test_a_pages_fit_health_is_worded_by_model_with_its_numbers():
    from helpers.analysis import stats
    from helpers.presentation.words import common

    sick = {"ok": False, "reasons": ["ill_conditioned"], "condition_number": 2500.0, "max_condition": 1000.0}
    health = stats.Health(
        False, ["ill_conditioned"], ["ConvergenceWarning"], {"both": sick, "time only": {"reasons": []}}
    )
    note = common.health_note(health)
    assert "both: ill-conditioned design (condition number 2,500 > 1,000)" in note
    assert "Warnings raised: the optimiser did not converge." in note
    assert common.fit_problems({"reasons": ["fit_failed"], "error": "LinAlgError"}) == "the fit failed (LinAlgError)"
    skipped = common.skipped_phrase("start_hour:few_events:6")
    assert skipped == "start_hour (too few outcome events for 6 more parameter(s))"


def test_badge_levels_follow_their_rules():
    assert results.Badge.from_rules(None, {}).level == "none"
    assert results.Badge.from_rules(False, {"a": True}).level == "low"
    assert results.Badge.from_rules(True, {"a": True, "b": None}).level == "high"
    b = results.Badge.from_rules(True, {"a": True, "b": False})
    assert b == results.Badge("medium", [results.Rule("a", True), results.Rule("b", False)])
    assert (b.passed, b.failed) == (["a"], ["b"])
    ruled = results.Badge.from_rules(True, {"share": results.Rule("explains_material_share", False, 0.01)})
    assert common.badge(ruled).failed == ["behaviour explains a material share of spend (best adjusted R² 0.010)"]
    assert common.badge(results.Badge.from_rules(None, {})).failed == ["not estimated on these data"]


def test_conversion_badge_high_only_when_every_rule_holds():
    assert conv_record(truth_covered=True).badge.level == "high"
    assert conv_record().badge.level == "high"  # real data: no truth rule
    missed = conv_record(truth_covered=False).badge
    assert missed.level == "medium" and missed.failed == ["truth_covered"]
    assert common.badge(missed).failed == ["true effects inside the 95 % CIs"]
    assert conv_record().badge.rules[0] == results.Rule("ci_clear_of_band", True, None, 1.15)
    assert conv_record(stable=False).badge.level == "medium"
    assert conv_record(answer="unclear").badge.level == "low"
    assert conversion.badge(ConversionResult(status="insufficient")).level == "none"


def test_an_answer_told_with_time_s_part_unclear_is_medium_not_low():
    """Which of the two is stronger decides the level; whether time adds, left unclear, is a failed rule."""
    told = conv_record(time="unclear", time_adds="unclear").badge
    assert told.level == "medium" and told.failed == ["ci_clear_of_band"]
    both = conv_record(answer="unclear", time="unclear", time_adds="unclear").badge
    assert both.level == "low" and "ci_clear_of_band" in both.failed


def call(feature, verdict, pct=-8.0, lo=-12.0, hi=-4.0):
    """A spend call with USD equal to % (a mean order of 100 USD) and a first model that said -10 % [-14, -6]."""
    return spend.FeatureCall(
        feature, verdict, spend.MAIN_SPEC, pct, lo, hi, pct, lo, hi, 3.0, {}, spend.CENTRAL_SPEC, -10.0, -14.0, -6.0
    )


def spend_verdicts(engagement="positive", time="negligible", idle="negative", **kw):
    v = {
        "explains_better": "engagement",
        "explains_little": False,
        "best_adj_r2": 0.2,
        "rmse_engagement_only": 0.8,
        "rmse_time_only": 0.81,
        "adj_r2_engagement_only": 0.1,
        "adj_r2_time_only": 0.05,
        "healthy": True,
        "confounded": False,
        "reasons": [],
        "negligible_pct": 3.0,  # the idle CIs (-8 % [-12, -4], -10 % [-14, -6]) clear this band, as "negative" says
        "engagement": call("engagement", engagement, 6.0, 2.0, 10.0),
        "time": call("time", time, 1.0, -2.0, 4.0),
        "idle": call("idle", idle),
    }
    v.update(kw)
    return spend.Verdicts(**v)


def spend_record(verdicts=None, browsing="similar"):
    result = SpendResult(
        verdicts=verdicts or spend_verdicts(),
        mean_spend=100.0,
        style_check=purchase_styles.BrowsingCheck(browsing),
        by_engagement=[
            spend.SegmentSpend("few", 2, 100, 120.0, 110.0, 130.0),
            spend.SegmentSpend("many", 5, 100, 95.0, 88.0, 102.0),
        ],
    )
    result.headline = spend.headline(result)
    result.badge = spend.badge(result)
    return result


@pytest.mark.parametrize(
    "verdict,expect",
    [
        ("positive", "is associated with higher spend (-8.0 % [-12.0 %, -4.0 %] per SD, -8.00 USD [-12.00, -4.00]"),
        ("negative", "is associated with lower spend"),
        ("negligible", "no material association with spend"),
        ("unclear", "the data cannot tell how"),
        ("cannot size", "these data cannot size how"),
        ("not available", "not available for session-level input"),
    ],
)
def test_spend_call_phrase_per_verdict(verdict, expect):
    text = spend_words.spend_call_phrase(call("idle", verdict), 5.0)
    assert expect in text
    assert ("would detect about ±3.0 % per SD" in text) == (verdict == "unclear")
    assert "drive" not in text and "cause" not in text


def test_a_spend_association_that_depends_on_idle_time_says_so_with_both_numbers():
    c = call("time", "depends")
    c.classes = {spend.CENTRAL_SPEC: "negative", spend.MAIN_SPEC: "unclear"}
    assert spend_words.spend_call_phrase(c, 5.0) == (
        "a longer time before checkout goes with lower spend by a material amount only while idle time is not held "
        "fixed: "
        "-10.0 % [-14.0 %, -6.0 %] per SD holding engagement and context fixed, -8.0 % [-12.0 %, -4.0 %] "
        "holding engagement, idle time and context fixed"
    )
    c.classes = {spend.CENTRAL_SPEC: "negative", spend.MAIN_SPEC: "positive"}
    assert "goes with higher or lower spend depending on whether idle time is held fixed" in (
        spend_words.spend_call_phrase(c, 5.0)
    )


def test_spend_answer_starts_from_the_plain_fact_and_says_when_behaviour_explains_little():
    text = spend_words.spend_answer(spend_record(spend_verdicts(explains_little=True, best_adj_r2=0.01)))
    assert text.startswith("Buyers with at most 2 events before checkout spend 120.00 USD per order [110.00, 130.00]")
    assert "explains little of spend" in text
    assert "explains little" not in spend_words.spend_answer(spend_record())


def test_confounded_spend_is_not_interpreted_and_badge_is_low():
    v = spend_verdicts(
        engagement="unclear",
        time="unclear",
        idle="unclear",
        confounded=True,
        reasons=[spend.STYLES_DIFFER],
    )
    rec = spend_record(v, browsing="different")
    lines = spend_words.spend_lines(rec)
    assert any(line.startswith("- Not interpreted: cheap-many") for line in lines)
    b = rec.badge
    assert b.level == "low" and "styles_browse_alike" in b.failed
    assert (
        "purchase styles browse alike by 05's equivalence test at 5 % (before 06 adjusts for its five tests)"
        in common.badge(b).failed
    )


def test_the_confounding_rule_counts_only_when_it_was_tested():
    assert "styles_browse_alike" in spend_record().badge.passed
    untested = spend_record(browsing="not estimated").badge
    assert "styles_browse_alike" not in untested.passed + untested.failed
    inconclusive = spend_record(browsing="inconclusive").badge
    assert "styles_browse_alike" in inconclusive.failed


def styles_record(browsing, above, truth=None, by_metric=None, n_other=40, controls=("C(device)",), users=60):
    auc, lo, hi, p = (0.6, 0.57, 0.65, 0.01) if above else (0.5, 0.47, 0.53, 0.4)
    alike = (0.0, -0.1, 0.1, -0.08, 0.08, "equivalent")  # the duration SMD agrees with the verdict
    smd = alike if browsing == "similar" else (0.5, 0.4, 0.6, 0.42, 0.58, "different")
    result = StylesResult(
        equivalence_margin=0.2,
        n_cheap_many=30,
        n_expensive_few=30,
        n_other=n_other,
        truth=None if truth is None else purchase_styles.StyleTruth(0.8, 0.0, truth),
        verdicts=purchase_styles.Verdicts(
            browsing,
            by_metric or {},
            behaviour_auc=auc,
            behaviour_auc_lo=lo,
            behaviour_auc_hi=hi,
            behaviour_above_chance=above,
            behaviour_p=p,
            higher_margin_style=None,
            margin_known=True,
        ),
        classifier=purchase_styles.Classifier(
            auc, lo, hi, p, above, 199, purchase_styles.classifier_features(list(controls)), 5, users < 60
        ),
        clustering=Clustering(
            rows=60, users=users, rows_per_user=60 / users, max_rows_per_user=3, clustered=users < 60
        ),
        comparison=[purchase_styles.SmdRow("duration", "pre_conversion_seconds", 50, 50, *smd)],
        money=[{"style": "expensive-few", "share_of_revenue": 0.6}],
    )
    result.headline = purchase_styles.headline(result)
    result.badge = purchase_styles.badge(result)
    return result


@pytest.mark.parametrize(
    "browsing,by_metric,expect",
    [
        (
            "similar",
            {
                "pre_conversion_seconds": "equivalent",
                "pre_conversion_event_count": "equivalent",
                "pre_conversion_page_views": "equivalent",
            },
            "browse alike: duration before checkout, events before checkout and page views before checkout alike "
            "(90 % CI within ±0.2 SD)",
        ),
        (
            "different",
            {"pre_conversion_seconds": "different", "pre_conversion_event_count": "equivalent"},
            "browse differently: duration before checkout differ by more than 0.2 SD; events before checkout alike",
        ),
        (
            "inconclusive",
            {"pre_conversion_seconds": "inconclusive", "pre_conversion_page_views": "small difference"},
            "cannot tell whether cheap-many and expensive-few buyers browse alike: duration before checkout can be "
            "neither told apart nor shown alike",
        ),
    ],
)
def test_styles_answer_names_each_metric_and_who_is_in_neither(browsing, by_metric, expect):
    text = style_words.styles_answer(styles_record(browsing, False, by_metric=by_metric))
    assert expect in text
    assert "40% of buyers (40 of 100) fall in neither style." in text
    assert "prices they choose" not in text  # true by definition: never said


def test_styles_badge_needs_the_classifier_and_the_truth_to_agree():
    assert styles_record("different", True, "different").badge.level == "high"
    assert styles_record("similar", True).badge.level == "medium"  # CI from 0.57: above the 0.556 a 0.2 SD allows
    assert styles_record("similar", False, "different").badge.level == "medium"
    assert styles_record("inconclusive", False).badge.level == "low"
    rule = styles_record("different", True, "different").badge.rules[0]
    assert rule == results.Rule("classifier_above_chance", True, 0.01, 0.05)
    said = common.rule_text(rule)
    assert "permutation p of its AUC gain (0.010)" in said and "at most 0.05" in said


@pytest.mark.parametrize("controls", [(), ("C(device)", "C(start_hour)", "first_delay")])
def test_styles_classifier_wording_names_its_features_and_its_p_value(controls):
    result = styles_record("different", True, "different", controls=controls)
    words = "browsing events, time and longest idle gap before checkout"
    context = ", with context controls (device, hour, delay to the first event)" if controls else ""
    for text in (style_words.classifier_line(result), "\n".join(style_words.styles_lines(result))):
        assert words + context in text and "p = 0.01" in text
        assert "alone" not in text and ("context" in text) == bool(controls)
    assert "0.600 [0.570, 0.650], p = 0.01" in answers.summary(res_with(st=result))[2].evidence


@pytest.mark.parametrize("users,expect", [(40, "60 buyer sessions from 40 users"), (60, "Hedges and Olkin")])
def test_styles_method_lines_say_how_users_and_the_classifier_are_treated(users, expect):
    result = styles_record("similar", False, users=users)
    assert expect in style_words.smd_method_line(result)
    line = style_words.classifier_method_line(result, 0.2)
    assert "199 permutations" in line and "AUC ± 1.96 SD" in line and "0.556 or below" in line
    assert ("whole users" in line) == (users < 60) and ("each user's sessions in one fold" in line) == (users < 60)


@pytest.mark.parametrize(
    "ari,verdict", [(0.8, "agrees"), (0.3, "partly"), (0.05, "does not agree"), (None, "not estimated")]
)
def test_mixture_agreement_gets_a_verdict(ari, verdict):
    assert purchase_styles.mixture_verdict(ari) == verdict


def res_with(conv=None, sp=None, st=None):
    return {
        "03_conversion": conv or conv_record(),
        "04_spend": spend_record(sp),
        "05_purchase_style": st or styles_record("similar", False),
    }


def rec_by_id(recs, rid):
    return next(r for r in recs if r.id == rid)


def worded(rec):
    return strategy_words.recommendation(rec)


@pytest.mark.parametrize(
    "kw,status",
    [
        ({}, "supported"),
        (
            {
                "answer": "time",
                "engagement": "negligible",
                "time": "positive",
                "time_adds": "yes",
                "time_sign": "positive",
            },
            "withdrawn",
        ),
        ({"engagement": "negligible", "answer": "neither"}, "withdrawn"),
        ({"engagement": "negative"}, "withdrawn"),
        ({"time_adds": "yes", "time_sign": "negative", "time": "negative"}, "supported"),
        ({"healthy": False, "answer": "unclear", "engagement": "unclear"}, "withdrawn"),
    ],
)
def test_engagement_recommendation_follows_the_evidence(kw, status):
    rec = rec_by_id(strategy.recommendations(res_with(conv=conv_record(**kw))), "engagement_over_time")
    assert rec.status == status
    if status == "withdrawn":
        assert rec.reason and worded(rec).text.startswith("Withdrawn: ")


@pytest.mark.parametrize(
    "call,status",
    [
        ("negative", "supported"),
        ("positive", "withdrawn"),
        ("negligible", "withdrawn"),
        ("depends", "withdrawn"),
        ("unclear", "withdrawn"),
    ],
)
def test_idle_recommendation_needs_a_material_negative_association(call, status):
    sp = spend_verdicts(idle=call, reasons=["x"] if call == "unclear" else [])
    rec = rec_by_id(strategy.recommendations(res_with(sp=sp)), "idle_to_interaction")
    assert rec.status == status
    if call == "positive":
        assert rec.reason == "idle_not_negative" and "higher spend" in worded(rec).text
    if status == "supported":
        # -8 % per SD longer at 100 USD is 100 x (1 / 0.92 - 1) = +8.70 USD per SD shorter, not +8.00
        assert rec.values["usd_shorter"] == pytest.approx(100 * (1 / 0.92 - 1))
        impact = worded(rec).impact
        assert rec.kind == "hypothesis" and rec.codes["conditions_on"] == "purchase"  # 04 models buyers only
        assert impact.startswith("among buyers, a longest idle gap one SD shorter goes with +8.70 USD")
        assert worded(rec).kind_text.startswith("a hypothesis about spend among buyers")
        assert "+4.17" in impact and "+13.64" in impact


def segment(conv, lo, hi):
    return {"conversion": conv, "conv_lo": lo, "conv_hi": hi, "revenue_per_session": 100 * conv}


def contrast(low, high, se=0.004):
    """The high-minus-low conversion difference as ``strategy.segment_contrast`` records it."""
    from scipy.stats import norm

    diff = high["conversion"] - low["conversion"]
    return {"diff": diff, "lo": diff - 1.96 * se, "hi": diff + 1.96 * se, "p": 2 * norm.sf(abs(diff) / se), "se": se}


@pytest.mark.parametrize(
    "low,high,status,word",
    [
        (
            segment(0.01, 0.008, 0.012),
            segment(0.05, 0.045, 0.055),
            "supported",
            "at least 3 events before checkout convert more",
        ),
        (
            segment(0.05, 0.045, 0.055),
            segment(0.01, 0.008, 0.012),
            "supported",
            "at most 1 event before checkout convert more",
        ),
        (segment(0.02, 0.01, 0.03), segment(0.025, 0.015, 0.035), "withdrawn", "CI that includes zero"),
    ],
)
def test_segment_recommendation_needs_a_difference_that_excludes_zero_and_follows_its_sign(low, high, status, word):
    seg, cuts = [low, segment(0.02, 0.01, 0.03), high], {"low_max": 1, "high_min": 3}
    recs = strategy.recommendations(res_with(), seg, cuts, contrast=contrast(low, high))
    rec = rec_by_id(recs, "segment_by_engagement")
    assert rec.status == status and word in worded(rec).text
    assert rec.p_value == contrast(low, high)["p"] and "high minus low" in worded(rec).evidence
    if status == "supported":
        assert rec.kind == "hypothesis" and "points of conversion" in worded(rec).impact


def test_segment_recommendation_without_a_contrast_is_not_estimated():
    seg = [segment(0.01, 0.008, 0.012), segment(0.05, 0.045, 0.055)]
    rec = rec_by_id(strategy.recommendations(res_with(), seg, {}), "segment_by_engagement")
    assert rec.status == "not estimated" and rec.p_value is None and rec.reason == "no_thirds"


def test_segments_follow_the_driver_03_names():
    time_world = conv_record(
        answer="time", time="positive", engagement="negligible", time_adds="yes", time_sign="positive"
    )
    seg = [segment(0.01, 0.008, 0.012), segment(0.05, 0.045, 0.055)]
    assert strategy.driver(time_world)[0] == "time"
    diff = contrast(*seg)
    recs = strategy.recommendations(res_with(conv=time_world), seg, {}, "time", contrast=diff)
    rec = rec_by_id(recs, "segment_by_time")
    assert strategy_words.title(rec).endswith("by time level") and rec.status == "supported"
    neither = conv_record(answer="neither", engagement="negligible")
    assert strategy.driver(neither) == ("engagement", False) and strategy.driver(time_world) == ("time", True)
    rec = rec_by_id(strategy.recommendations(res_with(conv=neither), seg, {}, contrast=diff), "segment_by_engagement")
    assert rec.status == "withdrawn"  # engagement only travels with purchase here: no segments by it


@pytest.mark.parametrize(
    "browsing,status", [("similar", "supported"), ("different", "withdrawn"), ("inconclusive", "withdrawn")]
)
def test_price_framing_recommendation_needs_alike_browsing(browsing, status):
    rec = rec_by_id(strategy.recommendations(res_with(st=styles_record(browsing, False))), "styles_price_framing")
    assert rec.status == status
    if status == "supported":
        assert worded(rec).impact == "expensive-few buyers bring 60% of revenue"
    else:
        assert rec.reason == {"different": "styles_differ", "inconclusive": "styles_inconclusive"}[browsing]


def test_time_world_gets_the_content_recommendation_and_loses_the_idle_one():
    time_world = conv_record(
        answer="time", time="positive", engagement="negligible", time_adds="yes", time_sign="positive"
    )
    recs = strategy.recommendations(res_with(conv=time_world))
    content = rec_by_id(recs, "time_richer_content")
    impact = worded(content).impact
    assert content.status == "supported" and content.kind == "hypothesis" and "per minute" not in impact
    assert impact.startswith("+1 minute before checkout")
    idle = rec_by_id(recs, "idle_to_interaction")
    assert idle.status == "withdrawn" and idle.reason == "idle_shortens_time"
    assert "shorten the time before checkout" in worded(idle).text


def test_not_estimated_pages_give_not_estimated_recommendations_and_summary_rows():
    res = {
        "03_conversion": ConversionResult(status="insufficient", reason="2 buyers"),
        "04_spend": SpendResult(status="insufficient"),
        "05_purchase_style": StylesResult(status="insufficient"),
    }
    recs = strategy.recommendations(res)
    assert {r.status for r in recs} == {"not estimated"}
    assert all(worded(r).evidence and worded(r).text == "" for r in recs)
    rows = answers.summary(res)
    assert rows[0].answer == "Not estimable here: 2 buyers." and rows[0].badge.level == "none"


@pytest.mark.parametrize(
    "kw,lever,simulate",
    [
        ({}, "interaction_density", True),
        (
            {
                "answer": "time",
                "time": "positive",
                "engagement": "negligible",
                "time_adds": "yes",
                "time_sign": "positive",
            },
            "time_before_checkout",
            False,
        ),
        ({"answer": "neither", "engagement": "negligible"}, "interaction_density", True),
    ],
)
def test_experiment_lever_follows_the_conversion_answer(kw, lever, simulate):
    plan = strategy.experiment_plan(res_with(conv=conv_record(**kw)))
    assert plan.lever == lever and plan.simulate is simulate
    said = strategy_words.plan_words(plan)
    assert said["hypothesis"] and said["intervention"] and said["guardrails"]
    if kw.get("answer") == "neither":
        assert plan.basis == "exploratory" and said["basis"].startswith("Exploratory")


def test_limitations_name_what_could_not_be_estimated():
    res = {
        "01_simulate": {"source": "user data"},
        "03_conversion": ConversionResult(status="insufficient", reason="3 buyers"),
    }
    limits = common.limitations(res)
    assert limits[0].startswith("Observational data")
    assert not any("simulated" in x for x in limits)
    assert any("Not estimable here: 3 buyers" in x for x in limits)


def test_health_note_reports_problems_and_warnings():
    bad = Health(False, ["both: did not converge"], ["both: ConvergenceWarning"], {})
    note = common.health_note(bad)
    assert "no verdict rests on these fits" in note and "did not converge" in note and "ConvergenceWarning" in note


def test_time_answer_does_not_repeat_itself():
    v = conv_verdicts(answer="time", time="positive", engagement="negligible", time_adds="yes", time_sign="positive")
    text = conv_words.conversion_answer(v)
    assert text == (
        "Time is the clearly stronger of the two: a longer time before checkout is associated with higher "
        "purchase odds, and it adds to what engagement explains."
    )


def test_session_level_input_says_idle_is_not_available():
    v = spend_verdicts(idle="not available")
    assert spend_words.spend_answer(spend_record(v)).endswith("Idle gaps are not available for session-level input.")
    rec = rec_by_id(strategy.recommendations(res_with(sp=v)), "idle_to_interaction")
    assert rec.status == "not estimated"


@pytest.mark.parametrize("time_call,level", [("negligible", "high"), ("depends", "low"), ("cannot size", "low")])
def test_a_spend_answer_that_depends_on_the_model_is_not_decisive(time_call, level):
    v = spend_verdicts(time=time_call, explains_little=False)
    assert spend_record(v).badge.level == level


def outcome(**kw):
    from helpers.analysis import experiment

    values = dict.fromkeys(experiment.Outcome.__dataclass_fields__, 0.0)
    values.update(
        control_sessions=20_000,
        treatment_sessions=20_000,
        guardrail_margin=0.05,
        duration_ok=True,
        revenue_ok=True,
        guardrail_ok=True,
        decision="no_decision",
        true_covered=True,
        method="score",
        users_control=None,
        users_treatment=None,
        diff_se=0.0015,
        diff_se_naive=0.0015,
    )
    values.update(kw)
    return experiment.Outcome(**values)


def test_the_method_line_names_the_user_level_analysis_and_what_it_changes():
    assert "score method" in strategy_words.method_line(outcome())
    text = strategy_words.method_line(outcome(method="delta_user", diff_se=0.003, diff_se_naive=0.002))
    assert "delta method at user level" in text and "0.300 pp against 0.200 pp" in text and "×1.50" in text


def test_the_aa_line_gives_the_rate_over_replications_never_one_p_value():
    from helpers.analysis.experiment import AARate

    rate = AARate(200, 10_000, 0.05, 11, 0.055, 0.031, 0.096, "delta_user", 30)
    text = strategy_words.aa_rate_line(rate, outcome(diff=0.0008))
    assert "11 of 200 simulated A/A replications" in text and "**5.5%** (Wilson 95 % CI [3.1%, 9.6%])" in text
    assert "would reject 30 of them" in text and "not of the rate" in text and "as expected" not in text
    same = AARate(200, 10_000, 0.05, 11, 0.055, 0.031, 0.096, "score", 11)
    assert "independent" not in strategy_words.aa_rate_line(same)
    lines = strategy_words.experiment_result_lines(outcome(true_diff=0.001), outcome(), 20_000, 0.05, rate)
    assert lines[-1] == strategy_words.aa_rate_line(rate, outcome()) and not any("no rejection" in x for x in lines)
    assert "**Decision: no decision: the conversion difference's CI includes zero.**" in lines


def test_the_design_effect_is_stated_with_m_icc_d_and_both_sizes():
    from helpers.analysis.experiment import DesignEffect

    d = DesignEffect(100_000, 25_000, 4.0, 5.0, 0.1, 1.4)
    assert strategy_words.design_phrase(d, 70_000) == (
        "sessions per user m = 5.0 (size-weighted; 4.0 on average), ICC of conversion within user 0.100, "
        "design effect D = 1.400: 17,500 users / 70,000 sessions per arm"
    )
    plan = strategy.experiment_plan(res_with())
    from types import SimpleNamespace

    sized = {"sample_size_per_arm": 70_000, "weeks_needed": 3, "relative_mde": 0.1, "span_hours": None}
    size = strategy_words.experiment_lines(SimpleNamespace(plan=plan, design=d, **sized))[2]
    assert size.startswith("- **Size:** 70,000 sessions per arm, 3 weeks") and "design effect D = 1.400" in size


def test_multiplicity_wording_counts_the_survivors():
    recs = strategy.recommendations(res_with())
    line = strategy_words.multiplicity_line(recs, 0.05)
    tested = [r for r in recs if r.p_value is not None]
    assert f"across these {len(tested)} tests" in line
    assert f"**{sum(r.p_holm < 0.05 for r in tested)} of {len(tested)}**" in line
    held = strategy.Recommendation("engagement_over_time", "withdrawn", "holm_adjusted", p_value=0.03, p_holm=0.09)
    held.values = {"tests": 3, "alpha": 0.05}
    why = strategy_words.why_not(held)
    assert why == (
        "its test (p = 0.030) does not survive Holm's adjustment across the 3 tests behind the recommendations "
        "(adjusted p = 0.090, not below α = 0.05)"
    )


def test_the_traffic_line_states_the_design_effect_when_known():
    from types import SimpleNamespace

    from helpers.analysis.experiment import DesignEffect

    flow = dict(sample_size_per_arm=70_000, sessions_per_day=3_000.0, baseline=0.025, span_hours=672.0)
    result = SimpleNamespace(**flow, alpha=0.05, power=0.8, design=DesignEffect(100_000, 25_000, 4.0, 5.0, 0.1, 1.4))
    text = strategy_words.traffic_line(result)
    assert "m = 5.0 and an ICC of 0.100" in text and "D = 1 + (m − 1) × ICC = **1.400**" in text
    result.design = None
    assert "design effect" not in strategy_words.traffic_line(result)


def test_one_session_per_user_needs_no_design_effect_words():
    from helpers.analysis.experiment import DesignEffect

    text = strategy_words.design_phrase(DesignEffect(5_000, 5_000, 1.0, 1.0, 0.0, 1.0), 64_000)
    assert text == "one session per user (no user repeats), so design effect D = 1: 64,000 sessions per arm"


def test_an_unclear_effect_with_a_known_direction_says_the_direction():
    effect_phrase = common.effect_phrase

    # tm: x1.17 [1.12, 1.23] against a band of [1/1.15, 1.15]: higher odds, materiality unclear
    said = effect_phrase("engagement", "unclear", ci=(1.12, 1.23))
    assert "is associated with higher purchase odds" in said and "material amount is unclear" in said
    assert "lower purchase odds" in effect_phrase("time", "unclear", ci=(0.8, 0.9))
    assert effect_phrase("time", "unclear", ci=(0.9, 1.2)).startswith("the data cannot tell whether")
    assert effect_phrase("time", "unclear").startswith("the data cannot tell whether")


def test_a_short_slice_of_real_data_is_named_as_a_reason_for_realism_misses():
    rec = {
        "counts": {"sessions": 247, "events": 300, "orders": 3},
        "profile": {"mean_events": 1.2, "conversion": 0.012, "cart_share": 0.01, "cart_abandonment": None},
        "benchmarks_in_range": 0,
        "benchmarks_checked": 5,
        "benchmark_table": [{"id": "conversion", "value": 0.01, "low": 0.015, "high": 0.04, "in_range": "no"}],
        "provenance": {"span_hours": 1.9 / 60},
    }
    lines = findings.simulation_lines(rec, None)
    assert any("The data cover only 1.9 minutes" in line for line in lines)
    rec["provenance"]["span_hours"] = 24 * 30
    assert not any("cover only" in line for line in findings.simulation_lines(rec, None))


def test_the_multiplicity_line_counts_one_test_in_the_singular():
    one = [strategy.Recommendation("engagement_over_time", "supported", p_value=0.02, p_holm=0.02)]
    assert "across this one test, and **1 of 1**" in strategy_words.multiplicity_line(one, 0.05)
    two = one + [strategy.Recommendation("styles_price_framing", "withdrawn", "styles_differ", p_value=0.5, p_holm=0.5)]
    assert "across these 2 tests, and **1 of 2**" in strategy_words.multiplicity_line(two, 0.05)


def test_usd_from_the_gamma_check_are_named_beside_the_log_model_percent():
    """The % per SD is the log model's; USD per order from the Gamma check say so, those from smearing need not."""
    gamma = dataclasses.replace(call("engagement", "positive", 13.7, 5.0, 22.0), usd=19.01, usd_from="gamma_mean")
    said = spend_words.spend_call_phrase(gamma, 5.0)
    assert "+13.7 % [+5.0 %, +22.0 %] per SD" in said and "USD [+5.00, +22.00] per order by the Gamma check" in said
    assert "Gamma" in spend_words.spend_call_short(gamma)
    smeared = dataclasses.replace(gamma, usd_from="ols_smearing")
    assert "Gamma" not in spend_words.spend_call_phrase(smeared, 5.0) + spend_words.spend_call_short(smeared)
