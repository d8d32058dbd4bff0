"""Helpers that fit and summarise, on data whose right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import conversion, experiment, purchase_styles, spend, stats
from helpers.data.simulate import SimConfig


def test_logistic_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    n = 40_000
    frame = pd.DataFrame({"engagement": rng.normal(1.5, 0.6, n), "time": rng.normal(4, 1.2, n)})
    eta = -4 + 1.1 * frame["engagement"] + 0.4 * frame["time"]
    frame["did_purchase"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    fit = conversion.fit_logit(frame, ["engagement", "time"])
    for name, true in (("engagement", 1.1), ("time", 0.4)):
        assert abs(fit.params[name] - true) / fit.bse[name] < 3  # within 3 standard errors
        assert abs(fit.params[name] - true) < 0.1


def test_log_spend_ols_recovers_known_slope():
    rng = np.random.default_rng(1)
    n = 5_000
    frame = pd.DataFrame(
        {"engagement": rng.normal(1.5, 0.5, n), "time": rng.normal(4, 1, n), "idle": rng.normal(3, 1, n)}
    )
    frame["log_spend"] = 3 + 0.3 * frame["engagement"] - 0.2 * frame["idle"] + rng.normal(0, 0.5, n)
    fit = spend.fit_ols(frame, ["engagement", "time", "idle"])
    assert abs(fit.params["idle"] + 0.2) < 0.03 and abs(fit.params["time"]) < 0.03
    lo, hi = fit.conf_int().loc["idle"]
    assert spend.effect_class(lo, hi, 1.0, 5.0) == "negative"  # -0.2 per SD: well beyond -5 %


def test_gamma_glm_uses_a_log_link():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 4000)
    frame = pd.DataFrame({"x": x, "amount_usd": rng.gamma(5, np.exp(2 + 0.5 * x) / 5)})
    fit = spend.fit_gamma(frame, ["x"])
    assert abs(fit.params["x"] - 0.5) < 0.05  # on the log scale: only true with a log link


def test_smd_interval_and_equivalence_verdicts_on_known_groups():
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 20_000)
    same, shifted = rng.normal(0, 1, 20_000), rng.normal(0.5, 1, 20_000)
    d, lo, hi = stats.smd_ci(a, shifted, 0.95)
    assert abs(d - 0.5) < 0.03 and lo < 0.5 < hi and hi - lo < 0.05
    _, lo90, hi90 = stats.smd_ci(a, same, 0.90)
    _, lo95, hi95 = stats.smd_ci(a, same, 0.95)
    assert lo95 < lo90 < hi90 < hi95
    assert purchase_styles.metric_verdict(lo90, hi90, lo95, hi95, 0.2) == "equivalent"
    assert purchase_styles.metric_verdict(*stats.smd_ci(a, shifted, 0.90)[1:], lo, hi, 0.2) == "different"
    _, s90, e90 = stats.smd_ci(a[:30], same[:30], 0.90)  # too few to show equivalence
    _, s95, e95 = stats.smd_ci(a[:30], same[:30], 0.95)
    assert purchase_styles.metric_verdict(s90, e90, s95, e95, 0.2) == "inconclusive"
    assert purchase_styles.metric_verdict(0.05, 0.25, 0.04, 0.3, 0.2) == "small difference"


def comparison_frame(verdicts):
    cols = list(purchase_styles.BEHAVIOUR)  # duration, events, page views (all before checkout), idle
    return pd.DataFrame({"column": cols, "verdict": verdicts}, index=cols)


@pytest.mark.parametrize(
    "verdicts,expect",
    [
        (["equivalent"] * 4, "similar"),
        (["equivalent", "equivalent", "equivalent", "different"], "similar"),  # idle is reported, not decisive
        (["equivalent", "different", "equivalent", "equivalent"], "different"),
        (
            ["equivalent", "inconclusive", "equivalent", "equivalent"],
            "inconclusive",
        ),  # intersection-union: all must pass
        (["small difference", "equivalent", "equivalent", "equivalent"], "inconclusive"),
    ],
)
def test_styles_verdict_is_intersection_union(verdicts, expect):
    assert purchase_styles.verdict(comparison_frame(verdicts)).browsing == expect


def test_auc_interval_covers_a_known_auc():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 4000)
    score = rng.normal(0, 1, 4000) + 0.5 * y  # AUC = Phi(0.5 / sqrt 2) = 0.638
    auc, lo, hi = stats.auc_ci(y, score)
    assert lo < 0.638 < hi and hi - lo < 0.05
    assert stats.auc_ci(y, rng.normal(0, 1, 4000))[1] < 0.5  # chance: the CI reaches below 0.5


@pytest.mark.parametrize(
    "lo,hi,expect",
    [
        (0.2, 0.4, "positive"),
        (-0.4, -0.2, "negative"),
        (-0.1, 0.1, "negligible"),
        (0.05, 0.3, "unclear"),
        (-0.3, 0.3, "unclear"),
    ],
)
def test_classify_interval(lo, hi, expect):
    assert stats.classify_interval(lo, hi, 0.14) == expect


def effects_table(eng, time, p_time=0.001):
    """A per-SD effects table with given (or, lo, hi) per feature, sd = 1 and time's Wald p-value."""
    rows = {
        n: {"coef": np.log(v[0]), "sd": 1.0, "or_per_sd": v[0], "or_lo": v[1], "or_hi": v[2], "p": p}
        for n, v, p in (("engagement", eng, 0.001), ("time", time, p_time))
    }
    return pd.DataFrame(rows).T


TABLE = pd.DataFrame(
    {"auc": [0.6, 0.7, 0.71], "lr_p_vs_engagement": [np.nan, np.nan, 0.001]},
    index=["time only", "engagement only", "both"],
)
HEALTHY = {"ok": True, "reasons": []}


@pytest.mark.parametrize(
    "eng,time,expect",
    [
        (
            (1.8, 1.6, 2.0),
            (1.0, 0.95, 1.05),
            {"answer": "engagement", "engagement": "positive", "time": "negligible", "time_adds": "no"},
        ),
        (
            (1.8, 1.6, 2.0),
            (0.8, 0.7, 0.85),
            {"answer": "engagement", "time": "negative", "time_adds": "yes", "time_sign": "negative"},
        ),
        (
            (1.2, 1.16, 1.25),
            (2.5, 2.2, 2.8),
            {"answer": "time", "time": "positive", "time_adds": "yes", "time_sign": "positive"},
        ),
        ((0.5, 0.4, 0.6), (1.0, 0.95, 1.05), {"answer": "engagement", "engagement": "negative"}),
        ((1.0, 0.9, 1.1), (1.0, 0.95, 1.05), {"answer": "neither", "time_adds": "no"}),
        ((1.3, 1.0, 1.6), (1.0, 0.8, 1.3), {"answer": "unclear", "engagement": "unclear", "time_adds": "unclear"}),
        (
            (1.8, 1.6, 2.0),
            (0.5, 0.4, 0.6),
            {"answer": "unclear", "engagement": "positive", "time": "negative"},
        ),  # overlap
    ],
)
def test_conversion_verdicts_on_known_intervals(eng, time, expect):
    effects = effects_table(eng, time)
    v = conversion.verdicts(effects, effects, TABLE, HEALTHY, 1.15, 0.05)
    assert {k: v[k] for k in expect} == expect and v["stable"]


def test_time_adds_is_tested_in_the_model_the_classes_come_from():
    """The LR test of the smaller model (0.001 in TABLE) does not decide: time's Wald p in the main model does."""
    effects = effects_table((1.8, 1.6, 2.0), (0.8, 0.7, 0.85), p_time=0.2)
    v = conversion.verdicts(effects, effects, TABLE, HEALTHY, 1.15, 0.05)
    assert v["time"] == "negative" and v["time_adds"] == "unclear" and v["p_time_given_engagement"] == 0.2


def test_conversion_verdict_unstable_when_the_answer_changes_without_controls():
    v = conversion.verdicts(
        effects_table((1.8, 1.6, 2.0), (1.0, 0.95, 1.05)),
        effects_table((1.8, 1.6, 2.0), (2.6, 2.4, 2.8)),
        TABLE,
        HEALTHY,
        1.15,
        0.05,
    )
    assert v["answer"] == "engagement" and not v["stable"]


def test_conversion_verdict_stays_stable_when_only_the_weaker_feature_changes_class():
    # time_matters: time is the answer both ways; engagement is 'positive' without controls, 'unclear' with them
    v = conversion.verdicts(
        effects_table((1.17, 1.12, 1.23), (6.93, 6.5, 7.4)),
        effects_table((1.21, 1.16, 1.26), (6.97, 6.5, 7.4)),
        TABLE,
        HEALTHY,
        1.15,
        0.05,
    )
    assert (v["answer"], v["engagement"], v["stable"]) == ("time", "unclear", True)


def test_a_separated_fit_gives_unclear_with_the_reason():
    rng = np.random.default_rng(6)
    n = 400
    frame = pd.DataFrame({"engagement": rng.normal(0, 1, n), "time": rng.normal(0, 1, n)})
    frame["did_purchase"] = (frame["engagement"] > 0.8).astype(int)  # engagement decides purchase exactly
    fits = conversion.fit_nested(frame, [], 3, 0)
    assert not fits["health"]["ok"]
    assert {"separation", "not_converged"} & set(fits["health"]["reasons"])
    effects = conversion.per_sd_effects(fits["fits"]["both"], frame)
    v = conversion.verdicts(effects, effects, fits["table"], fits["health"], 1.15, 0.05)
    assert v["answer"] == "unclear" and v["time_adds"] == "unclear" and v["health_reasons"]


def test_too_few_events_per_parameter_is_poor_health():
    rng = np.random.default_rng(7)
    n = 300
    frame = pd.DataFrame({"engagement": rng.normal(0, 1, n), "time": rng.normal(0, 1, n)})
    frame["did_purchase"] = (rng.random(n) < 0.05).astype(int)  # about 15 buyers for 3 parameters
    _, health = stats.checked_fit(
        conversion.fit_logit,
        frame,
        ["engagement", "time"],
        events=int(frame["did_purchase"].sum()),
        min_events_per_parameter=10,
    )
    assert not health["ok"] and health["reasons"] == ["few_events_per_parameter"]
    assert health["events_per_parameter"] < health["min_events_per_parameter"] == 10


def test_a_fits_health_records_its_own_warnings_not_the_garbage_collectors():
    import warnings

    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"engagement": rng.normal(0, 1, 400)})
    frame["did_purchase"] = (rng.random(400) < 0.3).astype(int)

    def fit_noting(frame, terms):
        warnings.warn("unclosed event loop <_UnixSelectorEventLoop>", ResourceWarning, stacklevel=1)  # as gc does
        warnings.warn("the fit itself is unsure", UserWarning, stacklevel=1)
        return conversion.fit_logit(frame, terms)

    _, health = stats.checked_fit(fit_noting, frame, ["engagement"])
    assert health["warnings"] == ["UserWarning"]  # the class, a code; ResourceWarning is not the fit's


def test_sparse_levels_are_pooled_and_controls_respect_the_budget():
    frame = pd.DataFrame({"device": ["a"] * 50 + ["b"] * 50 + ["c"] * 3, "did_purchase": [1, 0] * 50 + [1, 0, 0]})
    pooled, notes = stats.pool_sparse_levels(frame, ["device"], "did_purchase", 5)
    assert sorted(pooled["device"].unique()) == ["a", "b", "other (pooled)"] and notes
    wide = pd.DataFrame({"device": list("abc") * 10, "start_hour": list(range(24)) + list(range(6))})
    terms, skipped = stats.usable_controls(wide, events=60, min_events_per_parameter=10)
    assert terms == ["C(device)"] and any(s.startswith("start_hour:few_events:") for s in skipped)


def per_sd_rows(**cis) -> pd.DataFrame:
    """A per-SD effects table (SD 1) whose coefficient CIs are given by feature."""
    rows = {}
    for feature, (lo, hi) in cis.items():
        rows[feature] = {
            "coef_lo": lo,
            "coef_hi": hi,
            "sd": 1.0,
            "pct_per_sd": 100 * np.expm1((lo + hi) / 2),
            "pct_lo": 100 * np.expm1(lo),
            "pct_hi": 100 * np.expm1(hi),
            "detectable_pct": 5.0,
        }
    return pd.DataFrame(rows).T


def gamma_rows(**cis) -> pd.DataFrame:
    return pd.DataFrame({f: {"gamma_lo": lo, "gamma_hi": hi} for f, (lo, hi) in cis.items()}).T


SPEND_SETTINGS = spend.Settings(
    seed=1,
    cv_folds=5,
    alpha=0.05,
    min_buyers=30,
    min_events_per_parameter=10.0,
    min_level_events=10,
    rmse_gain=0.002,
    little_r2=0.05,
    negligible_pct=5.0,
    equivalence_margin=0.2,
    max_model_rows=300_000,
)
MODELS = pd.DataFrame({"cv_rmse": [0.80, 0.85], "adj_r2": [0.10, 0.02]}, index=["engagement only", "time only"])


@pytest.mark.parametrize(
    "central,main,gamma,expect",
    [
        ((0.10, 0.30), (0.12, 0.28), (5.0, 20.0), "positive"),  # material and one sign everywhere
        ((-0.30, -0.10), (-0.25, -0.08), (-20.0, -4.0), "negative"),
        ((-0.30, -0.10), (-0.02, 0.30), (-1.0, 25.0), "depends"),  # the sign flips once idle is held fixed
        ((-0.30, -0.10), (-0.25, -0.08), (-5.0, 3.0), "unclear"),  # the Gamma check does not agree
        ((-0.02, 0.02), (-0.03, 0.03), (-2.0, 2.0), "negligible"),
        ((-0.10, 0.20), (-0.05, 0.03), (-2.0, 2.0), "unclear"),
        ((-0.50, 0.60), (-0.60, 0.70), (-50.0, 60.0), "cannot size"),
    ],
)
def test_a_spend_direction_needs_materiality_in_every_model_and_the_gamma_check(central, main, gamma, expect):
    specs = {spend.MAIN_SPEC: per_sd_rows(time=main), spend.CENTRAL_SPEC: per_sd_rows(time=central)}
    call = spend.feature_call("time", specs, 5.0, gamma_rows(time=gamma), 100.0)
    assert call.verdict == expect
    assert call.specification == spend.MAIN_SPEC and call.other_specification == spend.CENTRAL_SPEC
    assert call.usd == pytest.approx(call.pct)  # a mean order of 100 USD: 1 % is 1 USD


@pytest.mark.parametrize("confounded", [False, True])
def test_spend_verdicts_turn_unclear_when_styles_confound(confounded):
    specs = {
        spend.MAIN_SPEC: per_sd_rows(engagement=(0.1, 0.3), time=(-0.02, 0.02), idle=(-0.3, -0.1)),
        spend.CENTRAL_SPEC: per_sd_rows(engagement=(0.1, 0.3), time=(-0.03, 0.03)),
    }
    gamma = gamma_rows(engagement=(5.0, 30.0), time=(-2.0, 2.0), idle=(-25.0, -8.0))
    v = spend.verdicts(MODELS, specs, gamma, HEALTHY, confounded, SPEND_SETTINGS, 100.0)
    calls = (v.engagement.verdict, v.time.verdict, v.idle.verdict)
    assert calls == (("unclear",) * 3 if confounded else ("positive", "negligible", "negative"))
    assert v.explains_better == "engagement" and not v.explains_little and bool(v.reasons) == confounded


def test_idle_is_not_available_without_event_timing():
    specs = {spend.CENTRAL_SPEC: per_sd_rows(engagement=(0.1, 0.3), time=(-0.03, 0.03))}
    v = spend.verdicts(MODELS, specs, None, HEALTHY, False, SPEND_SETTINGS, 100.0)
    assert v.idle.verdict == "not available" and v.engagement.verdict == "positive"


def test_wilson_interval_known_value():
    lo, hi = stats.wilson(10, 100)
    assert abs(lo - 0.0552) < 1e-3 and abs(hi - 0.1744) < 1e-3  # textbook values for 10/100


def test_style_rule_on_a_hand_table():
    gold = pd.DataFrame(
        {
            "did_purchase": [1, 1, 1, 1, 1, 0],
            "n_items": [5, 1, 1, 4, 2, 0],
            "avg_item_price_usd": [5.0, 80.0, 10.0, 90.0, 20.0, np.nan],
        }
    )
    buyers, med = purchase_styles.assign(gold)
    assert med == {"price_median": 20.0, "items_median": 2.0}
    assert buyers["style"].tolist() == ["cheap-many", "expensive-few", "other", "other", "other"]


def test_sample_size_matches_statsmodels_and_the_textbook_formula():
    from scipy.stats import norm

    n = experiment.sample_size(0.025, 0.10, 0.05, 0.8)
    z = norm.ppf(0.975) + norm.ppf(0.8)
    h = 2 * np.arcsin(np.sqrt(0.0275)) - 2 * np.arcsin(np.sqrt(0.025))
    assert abs(n - 2 * (z / h) ** 2) <= 2  # Var(2 asin sqrt p) = 1/n per arm; solver and far tail differ by a unit
    p1, p2 = 0.025, 0.0275
    pooled = (z * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1)) ** 2  # classic two-proportion formula
    assert abs(n / pooled - 1) < 0.005


def test_aa_tests_reject_at_about_alpha():
    rejects = experiment.aa_rejections(SimConfig(n_sessions=20_000, seed=4), 5_000, range(400), 0.05)
    lo, hi = stats.wilson(sum(rejects), len(rejects), z=3.29)  # a 99.9 % interval of the rejection rate
    assert lo <= 0.05 <= hi, (sum(rejects), lo, hi)  # neither too many false alarms nor a test that never rejects


def test_simulated_experiment_recovers_the_true_lift(tmp_path):
    config = SimConfig(n_sessions=10_000, seed=8)
    control = experiment.simulate_arm(config, 60_000, 21, 0.0, tmp_path / "c")
    treatment = experiment.simulate_arm(config, 60_000, 22, 0.3, tmp_path / "t")
    result = experiment.analyse(control, treatment, 0.05, 0.05)
    true = experiment.true_conversion(config, 0.3) - experiment.true_conversion(config, 0.0)
    assert true > 0 and result.diff_lo <= true <= result.diff_hi
    assert result.epm_diff > 0 and result.guardrail_ok


@pytest.mark.parametrize("parameter", ["alpha", "power"])
def test_experiment_parameters_are_checked(parameter):
    from helpers.errors import ParameterError
    from helpers.runner.params import check

    with pytest.raises(ParameterError, match=parameter):
        check({parameter: 1.5}, {})


def test_analytic_marginal_effects_match_statsmodels():
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame(
        {"engagement": rng.normal(1.5, 0.6, n), "time": rng.normal(4, 1.2, n), "device": rng.choice(["a", "b", "c"], n)}
    )
    eta = -3 + 1.1 * frame["engagement"] + 0.3 * frame["time"]
    frame["did_purchase"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    fit = conversion.fit_logit(frame, ["engagement", "time", "C(device)"])
    ours = conversion.marginal_effects(fit)
    ref = fit.get_margeff(at="overall").summary_frame()
    for name in ("engagement", "time"):
        assert abs(ours.loc[name, "ame"] - ref.loc[name, "dy/dx"]) < 1e-10
        assert abs(ours.loc[name, "ame_lo"] - ref.loc[name, "Conf. Int. Low"]) < 1e-6


def _arm(n: int, buyers: int, seconds: float) -> pd.DataFrame:
    """A made-up arm: ``buyers`` of ``n`` sessions bought 10 USD; sessions last about ``seconds``."""
    bought = np.r_[np.ones(buyers), np.zeros(n - buyers)]
    wobble = np.tile([-1.0, 1.0], n // 2 + 1)[:n]
    return pd.DataFrame(
        {
            "did_purchase": bought.astype(int),
            "amount_usd": 10 * bought,
            "event_count": np.full(n, 4.0),
            "session_seconds": seconds + wobble,
        }
    )


@pytest.mark.parametrize(
    "treatment_buyers, treatment_seconds, code, words",
    [
        (1_300, 100.0, "ship", "ship: conversion rose"),
        (700, 100.0, "no_ship_conversion_fell", "do not ship: conversion fell"),
        (1_000, 100.0, "no_decision", "no decision"),
        (1_300, 130.0, "no_ship_duration_guardrail", "guardrail failed"),
    ],
)
def test_experiment_decision_on_known_arms(treatment_buyers, treatment_seconds, code, words):
    from helpers.presentation.words import strategy as strategy_words

    control = _arm(20_000, 1_000, 100.0)
    # revenue per session's SE here is about 4.4 %: a 10 % margin lets its non-inferiority test pass at no change
    treatment = _arm(20_000, treatment_buyers, treatment_seconds)
    result = experiment.analyse(control, treatment, 0.05, 0.05, revenue_margin=0.10)
    assert result.decision == code and words in strategy_words.decision(result)
    assert result.diff == pytest.approx((treatment_buyers - 1_000) / 20_000)
    assert result.diff_lo <= result.diff <= result.diff_hi
    assert result.duration_rel == pytest.approx(treatment_seconds / 100.0 - 1, abs=1e-9)


def test_constant_behaviour_names_the_feature_and_its_value():
    from helpers.analysis.conversion import ConversionResult
    from helpers.analysis.spend import SpendResult
    from helpers.presentation.words.common import reason_words

    frame = pd.DataFrame({"engagement": np.log1p([3.0, 3.0, 3.0]), "time": np.log1p([1.0, 5.0, 9.0])})
    code, values = stats.constant_behaviour(frame)
    assert code == "constant_engagement" and values["value"] == pytest.approx(3.0)
    assert reason_words(SpendResult(status="insufficient", reason=code, reason_values=values)) == (
        "every buyer has the same number of events before checkout (3), "
        "so its association with spend cannot be estimated"
    )
    frame["engagement"] = np.log1p([1.0, 2.0, 3.0])
    frame["time"] = 0.0
    code, values = stats.constant_behaviour(frame)
    assert (code, values) == ("constant_time", {"value": 0.0})
    worded = reason_words(ConversionResult(status="insufficient", reason=code, reason_values=values))
    assert "every session has the same time on site before checkout (0)" in worded and "with purchase" in worded
    frame["time"] = np.log1p([1.0, 2.0, 3.0])
    assert stats.constant_behaviour(frame) is None


def test_missing_context_is_a_level_so_nested_models_share_their_rows():
    rng = np.random.default_rng(9)
    n = 5_000
    device = rng.choice(["desktop", "mobile"], n).astype(object)
    device[rng.random(n) < 0.2] = None  # a mapped device column with blanks
    gold = pd.DataFrame(
        {
            "pre_conversion_event_count": rng.poisson(3, n),
            "pre_conversion_seconds": rng.exponential(60, n),
            "device": device,
            "did_purchase": (rng.random(n) < 0.1).astype(int),
        }
    )
    frame = conversion.prepare(gold)
    assert (frame["device"] == "unknown").mean() == pytest.approx(0.2, abs=0.02)
    nested = conversion.fit_nested(frame, ["C(device)"], 3, 1)
    assert {fit.nobs for fit in nested["fits"].values()} == {n}
    assert nested["table"].loc["both + controls", "lr_p_vs_both"] > 0.001  # a control with no effect


def test_a_likelihood_ratio_test_refuses_models_on_different_rows():
    rng = np.random.default_rng(10)
    frame = pd.DataFrame({"engagement": rng.normal(size=400), "time": rng.normal(size=400)})
    frame["did_purchase"] = (rng.random(400) < 0.3).astype(int)
    small = conversion.fit_logit(frame, ["engagement"])
    big = conversion.fit_logit(frame.iloc[:300], ["engagement", "time"])
    with pytest.raises(ValueError, match="same rows, got 400 and 300"):
        conversion.lr_test(small, big)


def test_the_experiments_p_value_and_ci_agree():
    for treatment in (1_040, 1_060, 1_080, 1_100):  # around the edge of significance
        result = experiment.analyse(_arm(20_000, 1_000, 100.0), _arm(20_000, treatment, 100.0), 0.05, 0.05)
        assert (result.p_value < 0.05) == (result.diff_lo > 0 or result.diff_hi < 0), treatment


def test_a_mean_ci_uses_students_t_so_three_buyers_get_a_wide_interval():
    from helpers.analysis import stats

    mean, lo, hi = stats.mean_ci(np.array([90.0, 125.0, 160.0]))
    # t(0.975, 2) = 4.3027, sd = 35, se = 35 / sqrt(3) = 20.207: half-width 86.94 (a normal one: 39.61)
    assert mean == 125.0 and hi - mean == pytest.approx(86.94, abs=0.01) and lo == pytest.approx(38.06, abs=0.01)
    big = np.random.default_rng(1).normal(100, 10, 5000)
    m, lo, hi = stats.mean_ci(big)
    assert hi - m == pytest.approx(1.96 * big.std(ddof=1) / np.sqrt(big.size), rel=1e-3)


def test_the_normal_distribution_gives_scipy_stats_norms_digits_without_importing_scipy_stats():
    import subprocess
    import sys

    from scipy.stats import norm

    x, q = np.linspace(-9, 9, 2001), np.linspace(1e-9, 1 - 1e-9, 2001)
    assert np.array_equal(stats.normal_cdf(x), norm.cdf(x)) and np.array_equal(stats.normal_sf(x), norm.sf(x))
    assert np.array_equal(stats.normal_ppf(q), norm.ppf(q)) and stats.Z95 == norm.ppf(0.975)
    # every page loads the result types' modules: they leave SciPy's statistics and statsmodels to the fits
    code = (
        "import importlib, sys\nfrom helpers.analysis.results import RESULT_TYPES\n"
        "for module, _ in RESULT_TYPES.values(): importlib.import_module(module)\n"
        "print(sorted(m for m in ('scipy.stats', 'statsmodels', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
