"""The front page's summary (helpers/presentation/words/summary.py) on hand-built results: a branch for every
answer (positive, negative, unclear, not estimable), business units only, each number a field of a result,
hedged by the badge and the data's limits; and the front page built in-process from those results."""

from __future__ import annotations

import html
import json
import re

import pytest

from helpers.analysis import conversion, results, spend, strategy
from helpers.analysis import purchase_styles as ps
from helpers.presentation import frontpage, website
from helpers.presentation.words import answers, summary

from .summarycheck import MODEL_UNITS, numbers_not_in_results

# --------------------------------------------------------------------------------------------
# Hand-built results
# --------------------------------------------------------------------------------------------


def badge(level: str = "high", failed: tuple[str, ...] = ()) -> results.Badge:
    rules = [results.Rule("fits_healthy", True)] + [results.Rule(code, False) for code in failed]
    return results.Badge(level, rules)


def conv(answer="engagement", eng="positive", time="negligible", time_adds="no", healthy=True, points=0.8213, **kw):
    v = conversion.Verdicts(
        answer=answer,
        strongest=answer,
        strongest_clear=answer in ("engagement", "time"),
        engagement=eng,
        time=time,
        time_adds=time_adds,
        time_sign="positive",
        stable=True,
        healthy=healthy,
        health_reasons=[] if healthy else ["the model with controls did not converge"],
        p_time_given_engagement=None,
        auc_gain_from_time=0.001,
        auc_engagement_only=0.71,
        auc_time_only=0.62,
    )
    units = [
        conversion.UnitEffect("engagement", "event", points, points - 0.1032, points + 0.1029, 3.0),
        conversion.UnitEffect("time", "minute", 1.0841, 1.0212, 1.1473, 1.5),
    ]
    effects = [
        conversion.OddsEffect("engagement", "log1p", 0.7, 0.63, 0.77, 0.8, 1.75, 1.65, 1.86, 0.0),
        conversion.OddsEffect("time", "log1p", -0.02, -0.07, 0.02, 1.9, 0.96, 0.89, 1.03, 0.4),
    ]
    return conversion.ConversionResult(badge=kw.pop("b", badge()), verdicts=v, per_unit=units, effects=effects, **kw)


def call(feature, verdict, step=7.561, lo=3.281, hi=12.057, usd=7.7675, pct=-23.6, sd_factor=7.58):
    return spend.FeatureCall(
        feature=feature,
        verdict=verdict,
        specification=spend.MAIN_SPEC,
        pct=pct,
        lo=pct - 10.6,
        hi=pct + 12.3,
        usd=-22.86,
        usd_lo=-33.1,
        usd_hi=-10.9,
        step_pct=step,
        step_lo=lo,
        step_hi=hi,
        step_usd=usd,
        step_usd_lo=usd * lo / step,
        step_usd_hi=usd * hi / step,
        sd_factor=sd_factor,
    )


def spent(idle="negative", others="unclear", level="low", failed=("explains_material_share",), **kw):
    calls = {
        "engagement": call("engagement", others, 0.852, -1.893, 3.689, 0.875, 2.0, 1.71),
        "time": call("time", others, 5.927, -3.972, 18.105, 6.089, 10.5, 6.42),
        "idle": call("idle", idle, **kw),
    }
    v = spend.Verdicts(
        explains_better="neither clearly",
        explains_little=True,
        best_adj_r2=0.031,
        rmse_engagement_only=0.61,
        rmse_time_only=0.62,
        adj_r2_engagement_only=0.01,
        adj_r2_time_only=0.01,
        healthy=True,
        confounded=False,
        reasons=[],
        negligible_pct=5.0,
        **calls,
    )
    few, many = (
        spend.SegmentSpend("few", 2, 800, 112.94, 106.04, 119.83),
        spend.SegmentSpend("many", 4, 800, 92.99, 86.79, 99.19),
    )
    head = results.Headline("idle", -23.6, -34.2, -11.3, "pct_spend_per_sd", spend.MAIN_SPEC, "r", idle)
    return spend.SpendResult(
        badge=badge(level, failed), verdicts=v, by_engagement=[few, many], headline=head, mean_spend=102.35
    )


def styled(browsing="similar", ratio=(0.8402, 0.7003, 1.0081), level="high"):
    row = ps.SmdRow(
        metric="duration before checkout (log1p s)",
        column="pre_conversion_seconds",
        n_a=392,
        n_b=1010,
        smd=-0.0914,
        smd_lo=-0.2055,
        smd_hi=0.0227,
        smd_lo90=-0.1871,
        smd_hi90=0.0043,
        verdict={"similar": "equivalent", "different": "different"}.get(browsing, "inconclusive"),
        ratio=ratio[0],
        ratio_lo90=ratio[1],
        ratio_hi90=ratio[2],
        ratio_band=1.4634,
        median_a=78.06,
        median_b=67.95,
    )
    v = ps.Verdicts(browsing=browsing, behaviour_auc=0.464, behaviour_auc_lo=0.438, behaviour_auc_hi=0.503)
    head = results.Headline("pre_conversion_seconds", -0.0914, -0.1871, 0.0043, "smd", "s", "tost", browsing, 0.2)
    return ps.StylesResult(badge=badge(level), verdicts=v, comparison=[row], headline=head, equivalence_margin=0.2)


def plan(usd_per_1000=838.23, unit="event", status="supported"):
    rec = strategy.Recommendation(
        "engagement_over_time",
        status,
        codes={"unit": unit, "engagement": "positive", "time": "negligible", "time_adds": "no"},
        values={
            "points": 0.8213,
            "points_lo": 0.7181,
            "points_hi": 0.9242,
            "usd_per_1000": usd_per_1000,
            "mean_order": 102.35,
        },
    )
    return strategy.StrategyResult(recommendations=[rec])


def not_estimable(kind, reason):
    return kind(status="not estimable", reason=reason, badge=results.Badge("none", []))


def check(sentence: str, res: dict) -> str:
    """One sentence: no model unit, every number a result's field; returned for the branch's own asserts."""
    assert not MODEL_UNITS.search(sentence), sentence
    assert numbers_not_in_results(sentence, res) == [], (sentence, numbers_not_in_results(sentence, res))
    return sentence


# --------------------------------------------------------------------------------------------
# 03: who buys
# --------------------------------------------------------------------------------------------


def test_conversion_positive_quotes_points_per_event_usd_per_1000_sessions_and_the_badge():
    res = {"03_conversion": conv(), "06_strategy": plan()}
    text = check(summary.conversion_sentence(res["03_conversion"], res["06_strategy"]), res)
    assert text.startswith(
        "Each extra event before checkout goes with +0.82 points of conversion (95 % CI +0.72 to +0.92)"
    )
    assert "about +838 USD per 1,000 sessions at 102.35 USD an order" in text
    assert "time on site adds nothing material" in text and text.endswith("(high confidence).")


def test_conversion_negative_keeps_its_sign_and_no_impact_without_a_supported_recommendation():
    res = {"03_conversion": conv(eng="negative", points=-0.4518), "06_strategy": plan(status="withdrawn")}
    text = check(summary.conversion_sentence(res["03_conversion"], res["06_strategy"]), res)
    assert "goes with -0.45 points of conversion (95 % CI -0.55 to -0.35)" in text and "USD" not in text


def test_conversion_time_answer_leads_with_minutes():
    res = {"03_conversion": conv(answer="time", eng="unclear", time="positive", time_adds="yes")}
    text = check(summary.conversion_sentence(res["03_conversion"]), res)
    assert text.startswith("Each extra minute before checkout goes with +1.08 points of conversion")
    assert "more clearly than the number of events" in text


@pytest.mark.parametrize("answer", ["neither", "unclear"])
def test_conversion_neither_or_unclear_gives_both_steps(answer):
    res = {"03_conversion": conv(answer=answer, eng="unclear", time="unclear", time_adds="unclear", b=badge("low"))}
    text = check(summary.conversion_sentence(res["03_conversion"]), res)
    assert "+0.82 points of conversion (95 % CI +0.72 to +0.92) per event" in text and "per minute" in text
    assert text.startswith("Neither" if answer == "neither" else "These data cannot tell whether")
    assert "(low confidence" in text


def test_conversion_unhealthy_and_not_estimable_say_so():
    assert "not answered" in summary.conversion_sentence(conv(healthy=False))
    text = summary.conversion_sentence(not_estimable(conversion.ConversionResult, "no_checkout_step"))
    assert text == (
        "These data cannot tell who buys: there is no distinct checkout step, so time before purchase includes buying."
    )
    assert summary.conversion_sentence(None).startswith("These data cannot tell who buys")


def test_without_units_the_answer_is_given_in_words_and_an_unrated_badge_says_so():
    bare = conv(b=results.Badge("none", []))
    bare.per_unit = []
    text = check(summary.conversion_sentence(bare), {"03_conversion": bare})
    assert text.startswith("The number of events before checkout goes with buying more clearly")
    assert text.endswith("(confidence not rated).")


def test_a_capped_badge_names_what_the_data_lack_first():
    capped = conv(b=badge("medium", ("landmark_agrees", "thinned_log")))
    assert summary.conversion_sentence(capped).endswith(
        "(medium confidence: the log looks thinned and a check that cannot include buying reads differently)."
    )


# --------------------------------------------------------------------------------------------
# 04: who spends more
# --------------------------------------------------------------------------------------------


def test_spend_negative_idle_is_stated_per_a_pause_half_as_long_in_percent_and_usd():
    res = {"04_spend": spent()}
    text = check(summary.spend_sentence(res["04_spend"]), res)
    assert text == (
        "Among buyers, a longest pause before checkout half as long goes with +7.6 % (95 % CI +3.3 % to +12.1 %) "
        "spend per order, about +7.8 USD (low confidence: browsing explains little of spend)."
    )


def test_spend_positive_engagement_is_stated_per_one_more_event():
    result = spent(idle="unclear", others="positive", level="high", failed=())
    result.headline.feature = "engagement"
    text = check(summary.spend_sentence(result), {"04_spend": result})
    assert text.startswith("Among buyers, one more event before checkout goes with +0.9 % (95 % CI -1.9 % to +3.7 %)")
    assert text.endswith("(high confidence).")


def test_spend_unclear_quotes_the_plain_fact_and_negligible_says_hardly():
    res = {"04_spend": spent(idle="unclear")}
    text = check(summary.spend_sentence(res["04_spend"]), res)
    assert "these data cannot tell which browsing goes with higher spend" in text
    assert text.endswith(
        "(low confidence: browsing explains little of spend): in the raw, those with at most 2 events before "
        "checkout spend 112.94 USD per order and those with at least 4 spend 92.99 USD."
    )
    flat = spent(idle="negligible", others="negligible", level="high", failed=())
    assert "hardly changes" in check(summary.spend_sentence(flat), {"04_spend": flat})


def test_spend_a_step_too_wide_to_size_is_not_given_a_number():
    result = spent(step=40.0, lo=-60.0, hi=300.0)
    text = check(summary.spend_sentence(result), {"04_spend": result})
    assert "an amount these data cannot size" in text and "USD" not in text


def test_spend_not_estimable_and_not_read_say_why():
    text = summary.spend_sentence(not_estimable(spend.SpendResult, "no_prices"))
    assert (
        text
        == "These data cannot tell who spends more: there are no prices, so revenue and spend are not in these data."
    )
    confounded = spent()
    confounded.verdicts.reasons = [spend.STYLES_DIFFER]
    assert summary.spend_sentence(confounded).startswith("Who spends more is not read: cheap-many and expensive-few")


# --------------------------------------------------------------------------------------------
# 05: purchase styles
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "browsing,lead",
    [
        ("similar", "Buyers of a few expensive items and buyers of many cheap ones browse alike"),
        ("different", "Buyers of a few expensive items and buyers of many cheap ones browse differently"),
        ("inconclusive", "These data cannot tell whether buyers of a few expensive items"),
    ],
)
def test_styles_each_verdict_in_minutes_and_times_as_long(browsing, lead):
    res = {"05_purchase_style": styled(browsing)}
    text = check(summary.styles_sentence(res["05_purchase_style"]), res)
    assert text.startswith(lead), text
    assert "a median of 1.1 minutes against 1.3 minutes before checkout" in text
    band = {"similar": "inside", "different": "beyond"}.get(browsing, "an interval reaching past")
    assert f"0.84 times as long (90 % CI 0.70 to 1.01), {band} the band of 1.46 times either way" in text


def test_styles_not_estimable_says_why():
    text = summary.styles_sentence(not_estimable(ps.StylesResult, "no_prices"))
    assert text.startswith("These data cannot tell how purchase styles arise: there are no prices")


def test_at_most_three_sentences_and_every_question_has_one():
    res = {"03_conversion": conv(), "04_spend": spent(), "05_purchase_style": styled(), "06_strategy": plan()}
    assert len(summary.sentences(res)) == 3
    empty = summary.sentences({})
    assert len(empty) == 3 and all(s.startswith("These data cannot tell") for s in empty)


# --------------------------------------------------------------------------------------------
# The answers' evidence: a pictured step beside every per-SD number
# --------------------------------------------------------------------------------------------


def test_every_per_sd_number_of_the_answers_has_a_pictured_step_and_what_one_sd_is():
    c = answers.front_evidence(conv())
    assert c.startswith("+1 event before checkout ≈ +0.82 points of conversion [+0.72, +0.92]")
    assert "(one SD ≈ ×2.2 as many events)" in c
    s = answers.front_evidence(spent())
    assert "a longest pause half as long: +7.6 % [+3.3 %, +12.1 %] per order (+7.8 [+3.4, +12.4] USD)" in s
    assert "(one SD ≈ ×7.6 as long a longest pause)" in s
    wide = answers.front_evidence(spent(step=40.0, lo=-60.0, hi=300.0))
    assert "a longest pause half as long: cannot be sized with these data" in wide and "300" not in wide
    st = answers.front_evidence(styled())
    assert st.startswith("Time before checkout, expensive-few over cheap-many ×0.84 [0.70, 1.01] (90 % CI")


# --------------------------------------------------------------------------------------------
# The front page, built in-process from recorded results
# --------------------------------------------------------------------------------------------

SKIPPED = re.compile(r"<(a|h[1-4]|th|nav|summary|title|style|script)\b[^>]*>.*?</\1>", re.S)


def unlinked_terms(page: str) -> list[str]:
    """Glossary terms a page uses in its text (outside links, headings and table headers) without linking them."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", SKIPPED.sub(" ", page)))
    return [
        term
        for term, (_, _, pattern) in website.GLOSSARY.items()
        if re.search(pattern, text) and f'href="glossary.html#{term}"' not in page
    ]


def front_page(tmp_path, res: dict) -> str:
    data, reports = tmp_path / "data", tmp_path / "reports"
    (data / "results").mkdir(parents=True)
    reports.mkdir()
    for name, result in res.items():
        (data / "results" / f"{name}.json").write_text(json.dumps(result.to_json()))
    return frontpage.write_index("hand", reports, data).read_text(encoding="utf-8")


def test_the_front_page_opens_with_the_summary_and_links_every_term_it_uses(tmp_path):
    res = {"03_conversion": conv(), "04_spend": spent(), "05_purchase_style": styled(), "06_strategy": plan()}
    page = front_page(tmp_path, res)
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
    first = " ".join(summary.sentences({k: results.typed(k, v.to_json()) for k, v in res.items()}))
    assert first in text and text.index("In short") < text.index(first) < text.index("Answers Question")
    assert unlinked_terms(page) == []
    for term in ("ci", "sd", "points", "smd", "roc-auc"):
        assert f'href="glossary.html#{term}"' in page, term


# Every technical term the site uses, as it is written on a page: each has a glossary entry whose pattern finds it.
TERMS = [
    "SD",
    "SMD",
    "AUC",
    "ROC-AUC",
    "PR-AUC",
    "ICC",
    "delta method",
    "A/A",
    "CI",
    "TOST",
    "Holm",
    "CUPED",
    "SRM",
    "non-inferiority",
    "clustered",
    "cluster-robust",
    "Wald",
    "design effect",
    "MDE",
    "odds ratio",
    "AME",
    "HC3",
    "log1p",
    "p-value",
    "α",
    "power",
    "percentage points",
    "adjusted R²",
    "Gamma GLM",
    "OLS",
    "RMSE",
    "CV",
    "AIC",
    "SE",
    "ANOVA",
    "likelihood-ratio",
    "permutation",
    "bootstrap",
    "landmark",
    "equivalence margin",
    "intersection-union",
    "adjusted Rand",
    "variance inflation",
    "separation",
    "Brier",
    "leakage",
    "guardrail",
    "Wilson",
    "material",
]


@pytest.mark.parametrize("term", TERMS)
def test_every_technical_term_has_a_glossary_entry(term):
    found = [key for key, (_, _, pattern) in website.GLOSSARY.items() if re.search(pattern, f"the {term} here")]
    assert found, f"no glossary entry finds '{term}'"
