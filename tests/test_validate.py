"""make validate tests its rates and coverage against their targets at a stated power (issue 34, point 9).

Everything runs in-process on a small grid: the binomial checks by hand, the worlds they read
(context-only styles, a unimodal price, A/A at the planned size with user effects), the read-out's
rows joining the table (the small end-to-end run is in test_pipeline).
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.analysis import purchase_styles, results
from helpers.analysis import stats as analysis_stats
from helpers.runner import validate


def test_the_old_coverage_target_passed_what_a_binomial_test_fails():
    # '>= 90 % of 285 CIs' passed nominal-95 % intervals covering in 259 (90.9 %): binomial P = 0.0025
    old_rule = 259 / 285 >= 0.90
    check = validate.binomial_check("all CIs", 259, 285, 0.95, "less", 0.90)
    assert old_rule and not check["passed"] and check["p"] == pytest.approx(0.00253, abs=5e-5)
    assert validate.binomial_check("all CIs", 272, 285, 0.95, "less", 0.90)["passed"]  # 95.4 %


def test_power_by_hand_ten_seeds_cannot_catch_an_80_percent_interval_and_185_cis_catch_90():
    # ten seeds: reject when at most 7 of 10 cover (P = 0.012 at 95 %; 8 of 10 has P = 0.086);
    # a true 80 % interval covers at most 7 of 10 with P = 0.322: it passes 68 % of the time
    assert validate.binomial_power(10, 0.95, 0.80, "less") == pytest.approx(0.3222, abs=1e-4)
    assert validate.binomial_power(185, 0.95, 0.90, "less") >= 0.80
    assert validate.binomial_power(150, 0.95, 0.90, "less") < 0.80  # why the cells hold 185
    # A/A at 1,000 replications: two-sided at alpha 5 %, power to detect a true 7.5 % rate
    assert validate.binomial_power(1000, 0.05, 0.075, "two-sided") >= 0.80
    # a false-positive rate over 200 worlds, one-sided: power to detect twice alpha
    assert validate.binomial_power(200, 0.05, 0.10, "greater") >= 0.80


def _run(world, coverage):
    return {"world": world, "coverage": coverage, "naive_coverage": coverage}


def test_coverage_cells_pool_by_kind_and_fail_below_95_percent_beyond_chance():
    purchase = "engagement -> purchase (log-odds per log1p unit)"
    spend = "idle -> log spend (per log1p second)"
    runs = [_run("default", [(purchase, True), (spend, i % 5 != 0)]) for i in range(200)]  # spend covers 80 %
    checks = {c["label"]: c for c in validate.coverage_checks(runs)}
    pooled_purchase = next(c for label, c in checks.items() if "03's purchase" in label)
    pooled_spend = next(c for label, c in checks.items() if "04's spend" in label)
    assert pooled_purchase["n"] == 200 and pooled_purchase["passed"]
    assert pooled_spend["n"] == 200 and pooled_spend["rate"] == pytest.approx(0.8) and not pooled_spend["passed"]
    assert not validate.summarise([], {"alpha": 0.05, "rate": 0.05}, coverage_runs=runs)["targets_met"]
    assert all(c["power"] >= 0.8 for c in (pooled_purchase, pooled_spend))


def test_a_unimodal_price_world_scores_a_two_group_mixture_as_wrong():
    assert validate.WORLDS["unimodal_price"] == {"style_strength": 0.0}
    truth = {
        "engagement_effect": 1.2, "time_effect": 0.0, "style_browse_effect": 0.0, "style_strength": 0.0,
        "implied_engagement_on_log_spend": 0.15, "implied_time_on_log_spend": 0.0,
        "implied_idle_on_log_spend": -0.1,
    }  # fmt: skip
    sds = {"engagement": 1.0, "time": 1.0, "idle": 1.0}
    want = validate.true_calls(truth, sds, sds, 1.1, 5.0)
    assert want["groups"] == "one_group"
    assert validate.true_calls({**truth, "style_strength": 0.8}, sds, sds, 1.1, 5.0)["groups"] is None
    conv, sp = _minimal_results()
    st = purchase_styles.StylesResult(verdicts=purchase_styles.Verdicts("similar", behaviour_auc=0.5))
    st.mixture = purchase_styles.Mixture(0.9, 0.6, verdict="two_groups", p=0.01)
    for r in (conv, sp, st):
        r.badge = results.Badge("low")
    scored = validate.score(conv, sp, st, want)
    assert "05 groups: two_groups, truth one group" in scored["wrong_verdicts"] and scored["mixture"] == "two_groups"


def _minimal_results():
    """03 and 04 results whose verdicts match a world where engagement drives purchase and spend."""
    from helpers.analysis import conversion, spend

    conv = conversion.ConversionResult(
        verdicts=conversion.Verdicts(
            "engagement", "engagement", True, "positive", "negligible", "no", "positive", True, True, [], 0.01, 0.02,
            0.6, 0.7,
        ),
        truth=[],
        per_unit=[
            conversion.UnitEffect("engagement", "event", 0.5, 0.4, 0.6, 3.0),
            conversion.UnitEffect("time", "minute", 0.0, -0.1, 0.1, 1.5),
        ],
    )  # fmt: skip
    call = lambda f, v: spend.FeatureCall(f, v, spend.MAIN_SPEC, 1.0, 0.5, 1.5, 1.0, 0.5, 1.5, 3.0)  # noqa: E731
    sp = spend.SpendResult(
        verdicts=spend.Verdicts(
            "engagement", False, 0.1, 0.8, 0.8, 0.1, 0.1, True, False, [], 5.0,
            call("engagement", "unclear"), call("time", "unclear"), call("idle", "unclear"),
        ),
        truth=[],
    )  # fmt: skip
    return conv, sp


def test_the_context_world_makes_browsing_go_with_the_style_only_through_device():
    buyers = validate.context_style_buyers(6000, np.random.default_rng(2))
    expensive = (buyers["style"] == purchase_styles.EXPENSIVE_FEW).to_numpy()
    desktop = (buyers["device"] == "desktop").to_numpy()
    assert buyers.loc[desktop, "style"].eq(purchase_styles.EXPENSIVE_FEW).mean() > 0.6
    assert buyers.loc[~desktop, "style"].eq(purchase_styles.EXPENSIVE_FEW).mean() < 0.45
    seconds = np.log1p(buyers["pre_conversion_seconds"].to_numpy())
    assert analysis_stats.smd(seconds[~expensive], seconds[expensive]) > 0.1  # marginally, browsing differs
    within = [
        analysis_stats.smd(seconds[~expensive & (desktop == d)], seconds[expensive & (desktop == d)])
        for d in (True, False)
    ]
    assert all(abs(w) < 0.1 for w in within)  # given the device, it carries nothing


@pytest.mark.slow  # many simulated replications, which `make validate` checks at a larger scale: in `make test-all`
def test_context_null_rate_is_tested_against_alpha():
    found = validate.context_null_rate(replications=3, n_users=120, seed=3)
    check = found["check"]
    assert check["n"] == 3 and check["side"] == "greater" and check["target"] == 0.05
    assert check["detect"] == pytest.approx(0.10) and "differ only by device and source" in check["label"]
    assert 0 <= found["without_context"] <= 1


def test_aa_runs_at_the_planned_size_in_a_world_with_user_effects(tmp_path):
    n, design = validate.planned_sessions_per_arm(7, tmp_path)
    assert design.icc > 0.01  # users keep a propensity to buy
    assert n > 20_000  # the size the old A/A used, in a world without user effects
    quick = validate.aa_planned(30, seed=7, sessions_per_arm=4_000)
    assert quick["sessions_per_arm"] == 4_000 and not quick["planned"] and quick["world"] == validate.AA_WORLD
    assert quick["check"]["side"] == "two-sided" and quick["check"]["detect"] == pytest.approx(0.075)


@pytest.mark.world  # many simulated replications: in `make test`, not in the edit loop
def test_the_readout_rows_join_the_table_tested_against_their_targets():
    rows = validate.readout_checks(2, seed=1, srm_replications=50, alarm_replications=200)
    checks = {r["label"]: r for r in rows}
    srm = checks["read-out: sample-ratio check stops a 52/48 split of 20,000 users"]
    assert srm["side"] == "less" and srm["target"] == 0.95 and srm["n"] == 50
    assert checks["read-out: A/A false-positive rate (20,000 users)"]["side"] == "two-sided"
    assert any(r["side"] == "relative" for r in rows)  # CUPED's reduction against rho²
    line = validate.check_line(srm)
    assert "binomial p =" in line and "power" in line


def test_the_readout_experiments_draw_seeds_no_world_of_the_validation_uses():
    """The simulated experiments' seeds come from a stream of their own: none is a world's small seed, none repeats,
    and a lift run never shares its seed (so its users) with an A/A run."""
    from helpers.analysis import readout

    seeds = readout.experiment_seeds(0, 500)
    assert seeds.shape == (500, 2) and (seeds >= 0).all()
    assert np.unique(seeds).size == seeds.size
    assert seeds.min() > 10**9  # the validation's worlds use seeds below 200,000
    assert (readout.experiment_seeds(0, 500) == seeds).all() and (readout.experiment_seeds(1, 500) != seeds).all()
