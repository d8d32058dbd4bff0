"""Helpers that fit and summarise, on data whose right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import conversion, experiment, spend, stats, styles
from helpers.simulate import SimConfig


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
    frame = pd.DataFrame({"engagement": rng.normal(1.5, 0.5, n), "time": rng.normal(4, 1, n), "idle": rng.normal(3, 1, n)})
    frame["log_spend"] = 3 + 0.3 * frame["engagement"] - 0.2 * frame["idle"] + rng.normal(0, 0.5, n)
    fit = spend.fit_ols(frame, ["engagement", "time", "idle"])
    assert abs(fit.params["idle"] + 0.2) < 0.03 and abs(fit.params["time"]) < 0.03
    assert spend.direction(*fit.conf_int().loc["idle"]) == "negative"


def test_gamma_glm_uses_a_log_link():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 4000)
    frame = pd.DataFrame({"x": x, "amount_usd": rng.gamma(5, np.exp(2 + 0.5 * x) / 5)})
    fit = spend.fit_gamma(frame, ["x"])
    assert abs(fit.params["x"] - 0.5) < 0.05  # on the log scale: only true with a log link


def test_smd_and_tost_on_known_groups():
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 20_000)
    same, shifted = rng.normal(0, 1, 20_000), rng.normal(0.5, 1, 20_000)
    assert abs(stats.smd(a, shifted) - 0.5) < 0.03
    assert stats.tost(a, same, 0.2)["verdict"] == "equivalent"
    assert stats.tost(a, shifted, 0.2)["verdict"] == "different"
    small = stats.tost(a[:30], same[:30], 0.2)  # too few to show equivalence: never "equivalent" by default
    assert small["verdict"] in ("inconclusive", "different")
    lo, hi = stats.bootstrap_smd(a[:2000], shifted[:2000], np.random.default_rng(0), 500)
    assert lo < 0.5 < hi


def test_wilson_interval_known_value():
    lo, hi = stats.wilson(10, 100)
    assert abs(lo - 0.0552) < 1e-3 and abs(hi - 0.1744) < 1e-3  # textbook values for 10/100


def test_style_rule_on_a_hand_table():
    gold = pd.DataFrame({
        "did_purchase": [1, 1, 1, 1, 1, 0],
        "n_items": [5, 1, 1, 4, 2, 0],
        "avg_item_price_usd": [5.0, 80.0, 10.0, 90.0, 20.0, np.nan],
    })
    buyers, med = styles.assign(gold)
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
    rejects = experiment.aa_rejections(SimConfig(n_sessions=20_000, seed=4), 20_000, range(60), 0.05)
    # 60 A/A tests at alpha 0.05: expected 3 rejections; 9 or more has probability < 0.5 %
    assert sum(rejects) <= 8


def test_simulated_experiment_recovers_the_true_lift(tmp_path):
    config = SimConfig(n_sessions=10_000, seed=8)
    control = experiment.simulate_arm(config, 60_000, 21, 0.0, tmp_path / "c")
    treatment = experiment.simulate_arm(config, 60_000, 22, 0.3, tmp_path / "t")
    result = experiment.analyse(control, treatment, 0.05, 0.05)
    true = experiment.true_conversion(config, 0.3) - experiment.true_conversion(config, 0.0)
    assert true > 0 and result["diff_lo"] <= true <= result["diff_hi"]
    assert result["epm_diff"] > 0 and result["guardrail_ok"]


@pytest.mark.parametrize("parameter", ["alpha", "power"])
def test_experiment_parameters_are_checked(parameter):
    from helpers.errors import ParameterError
    from helpers.params import check

    with pytest.raises(ParameterError, match=parameter):
        check({parameter: 1.5}, {})


def test_analytic_marginal_effects_match_statsmodels():
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame({"engagement": rng.normal(1.5, 0.6, n), "time": rng.normal(4, 1.2, n),
                          "device": rng.choice(["a", "b", "c"], n)})
    eta = -3 + 1.1 * frame["engagement"] + 0.3 * frame["time"]
    frame["did_purchase"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    fit = conversion.fit_logit(frame, ["engagement", "time", "C(device)"])
    ours = conversion.marginal_effects(fit)
    ref = fit.get_margeff(at="overall").summary_frame()
    for name in ("engagement", "time"):
        assert abs(ours.loc[name, "ame"] - ref.loc[name, "dy/dx"]) < 1e-10
        assert abs(ours.loc[name, "ame_lo"] - ref.loc[name, "Conf. Int. Low"]) < 1e-6
