"""Known-answer tests of the methods (issue 34): each calls an analysis step in-process on a small
simulated table whose right answer is known, and fails on the method it replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import conversion, stats

# --------------------------------------------------------------------------------------------
# 6 · Clustered all the way
# --------------------------------------------------------------------------------------------


def _repeated_users(rng: np.random.Generator, users: int = 60, per_user: int = 8) -> pd.DataFrame:
    """Sessions of users who repeat: purchase depends on engagement and on a user effect; 'time' is a
    user-level covariate with no effect at all."""
    user = np.repeat(np.arange(users), per_user)
    effect = rng.normal(0, 1.5, users)[user]
    engagement = rng.normal(0, 1, user.size)
    time = rng.normal(0, 1, users)[user]  # constant within a user, no effect on purchase
    p = 1 / (1 + np.exp(-(-1.0 + 0.5 * engagement + effect)))
    return pd.DataFrame(
        {"user_id": user, "engagement": engagement, "time": time, "did_purchase": (rng.random(user.size) < p) * 1}
    )


@pytest.mark.world  # many simulated replications: in `make test`, not in the edit loop
def test_nested_test_of_a_null_user_level_covariate_keeps_its_size_under_clustering():
    """The joint test of adding a null user-level covariate rejects near alpha (the LR test: about a quarter)."""
    rng = np.random.default_rng(34)
    wald, lr = [], []
    for _ in range(200):
        frame = _repeated_users(rng)
        groups = stats.user_groups(frame)
        small = conversion.fit_logit(frame, ["engagement"], groups)
        big = conversion.fit_logit(frame, ["engagement", "time"], groups)
        kind, p = conversion.nested_test(small, big)
        assert kind == "wald"
        wald.append(p < 0.05)
        lr.append(conversion.lr_test(small, big) < 0.05)
    assert np.mean(wald) <= 0.10
    assert np.mean(lr) > np.mean(wald) + 0.05  # the test it replaced rejects far too often here


def test_fewer_than_50_users_test_with_t_on_g_minus_1_degrees_of_freedom():
    rng = np.random.default_rng(1)
    frame = _repeated_users(rng, users=20, per_user=10)
    groups = stats.user_groups(frame)
    fit = conversion.fit_logit(frame, ["engagement", "time"], groups)
    assert fit.use_t and fit.df_resid_inference == 19
    assert stats.critical_value(0.95, groups) == pytest.approx(2.093, abs=1e-3)  # t(19)
    many = stats.user_groups(_repeated_users(rng, users=60))
    assert stats.critical_value(0.95, many) == pytest.approx(1.960, abs=1e-3)


def test_proportion_and_mean_cis_widen_when_users_repeat_alike():
    """Sessions of one user that all buy or all do not: the clustered CI is about sqrt(per-user) times wider."""
    rng = np.random.default_rng(3)
    buys = (rng.random(400) < 0.3).astype(float)
    y, groups = np.repeat(buys, 10), np.repeat(np.arange(400), 10)
    lo, hi = stats.proportion_ci(y, groups)
    wlo, whi = stats.wilson(y.sum(), y.size)
    assert (hi - lo) / (whi - wlo) == pytest.approx(np.sqrt(10), rel=0.1)
    assert lo <= y.mean() <= hi
    flo, fhi = stats.proportion_ci_from_sums(
        400, y.sum(), y.size, (10 * buys) @ (10 * buys), 10 * (10 * buys).sum(), 400 * 100
    )
    assert (flo, fhi) == pytest.approx((lo, hi), rel=1e-6)
    values = np.repeat(rng.normal(100, 20, 400), 10)
    m, mlo, mhi = stats.mean_ci(values, groups=groups)
    _, nlo, nhi = stats.mean_ci(values)
    assert (mhi - mlo) / (nhi - nlo) == pytest.approx(np.sqrt(10), rel=0.1)


# --------------------------------------------------------------------------------------------
# 4 · 05's classifier asks about browsing given context
# --------------------------------------------------------------------------------------------


def _styles_by_device(rng: np.random.Generator, n: int = 1200, browse_effect: float = 0.0) -> pd.DataFrame:
    """Buyers whose style depends on their device alone; browsing is noise unless ``browse_effect`` is set."""
    from helpers.analysis import purchase_styles

    device = rng.choice(["desktop", "mobile", "tablet"], n)
    expensive = rng.random(n) < np.select([device == "desktop", device == "mobile"], [0.3, 0.5], 0.7)
    shift = browse_effect * expensive
    return pd.DataFrame(
        {
            "style": np.where(expensive, purchase_styles.EXPENSIVE_FEW, purchase_styles.CHEAP_MANY),
            "device": device,
            "pre_conversion_event_count": rng.poisson(np.exp(1.5 + shift)),
            "pre_conversion_seconds": np.exp(rng.normal(5 + shift, 1, n)),
            "pre_conversion_max_idle_seconds": np.exp(rng.normal(3, 1, n)),
            "user_id": np.arange(n),
        }
    )


def test_styles_that_differ_by_device_alone_are_not_told_apart_by_browsing():
    """Context alone separates the styles: browsing adds nothing, so no 'browsing tells styles apart', and the
    gain's upper bound allows 'alike'; with a real browsing difference the gain is found."""
    from helpers.analysis import purchase_styles

    rng = np.random.default_rng(5)
    noise = purchase_styles.predictability(_styles_by_device(rng), ["C(device)"], 5, 1, permutations=99)
    assert noise.auc > 0.58  # browsing + device does tell the styles apart: through device
    assert noise.auc_controls > 0.58 and abs(noise.gain) < 0.02
    assert not noise.above_chance and noise.p > 0.05
    assert noise.gain_lo < noise.gain < noise.gain_hi <= purchase_styles.auc_bound(0.2) - 0.5
    real = purchase_styles.predictability(_styles_by_device(rng, browse_effect=0.5), ["C(device)"], 5, 1, 99)
    assert real.above_chance and real.gain_lo > 0


# --------------------------------------------------------------------------------------------
# 5 · The mixture tested against one group
# --------------------------------------------------------------------------------------------


def _price_world(rng: np.random.Generator, n: int = 1200, groups: bool = False) -> pd.DataFrame:
    """Buyers with styles by the median split: one unimodal log-normal population (units discrete, a little
    fewer at higher prices), or two well separated groups (cheap-many and expensive-few)."""
    from helpers.analysis import purchase_styles

    if groups:
        g = rng.random(n) < 0.5
        price = np.exp(np.where(g, 3.0, 4.2) + 0.3 * rng.normal(size=n))
        units = np.where(g, 1 + rng.poisson(4, n), 1 + rng.poisson(0.3, n))
    else:
        z = rng.multivariate_normal([0, 0], [[1, -0.3], [-0.3, 1]], n)
        price, units = np.exp(3.5 + 0.6 * z[:, 0]), np.ceil(np.exp(0.7 + 0.5 * z[:, 1])).astype(int)
    frame = pd.DataFrame({"did_purchase": 1, "avg_item_price_usd": price, "n_items": units})
    return purchase_styles.assign(frame)[0]


@pytest.mark.slow  # many simulated replications, which `make validate` checks at a larger scale: in `make test-all`
def test_one_unimodal_price_world_is_not_called_two_groups():
    """The mixture on the defining variables agrees with the rule in one population too; the likelihood-ratio
    test of one group against two does not call it two groups, and does call two separated groups so."""
    from helpers.analysis import purchase_styles

    rng = np.random.default_rng(2)
    one = _price_world(rng)
    assert purchase_styles.mixture_agreement(one, 0)["adjusted_rand"] > 0.5  # agreement proves nothing here
    test = purchase_styles.mixture_test(one, 0, bootstraps=39)
    assert purchase_styles.groups_verdict(test["p"]) == "one_group_not_rejected"
    two = purchase_styles.mixture_test(_price_world(rng, groups=True), 0, bootstraps=39)
    assert purchase_styles.groups_verdict(two["p"]) == "two_groups" and two["p"] == pytest.approx(1 / 40)


@pytest.mark.slow  # many simulated replications, which `make validate` checks at a larger scale: in `make test-all`
def test_the_simulators_unimodal_price_world_is_one_group_and_strong_styles_are_two(tmp_path):
    """In the simulator's unimodal-price world (style_strength 0) units are discrete and an order of one item
    spreads its average price more than an order of several: a one-group null with one normal price for every
    unit count called that two groups. Under a null whose price has the mean and SD of its unit level the test
    keeps one group there, and still calls two groups where price affinity separates the styles strongly."""
    from helpers.analysis import purchase_styles
    from helpers.data import gold as gold_table
    from helpers.data.gold import build_gold
    from helpers.data.simulate import SimConfig, simulate_to_parquet
    from helpers.runner import validate

    def verdict(knobs: dict, folder) -> str:
        simulate_to_parquet(SimConfig(n_sessions=20_000, seed=2, **knobs), folder / "raw")
        build_gold(folder / "raw", folder / "gold")
        buyers = purchase_styles.assign(gold_table.read_gold(folder / "gold", buyers_only=True))[0]
        return purchase_styles.groups_verdict(purchase_styles.mixture_test(buyers, 2, bootstraps=39)["p"])

    assert verdict(validate.WORLDS["unimodal_price"], tmp_path / "one") == "one_group_not_rejected"
    assert verdict({"style_strength": 3.0}, tmp_path / "two") == "two_groups"


# --------------------------------------------------------------------------------------------
# 3 · One rule for "alike"
# --------------------------------------------------------------------------------------------


def test_a_withdrawal_by_holm_records_that_the_answer_holds_alone():
    """05's equivalence at p = 0.046 stands at alpha alone; Holm over 06's family withdraws the recommendation
    and records that code, so no high badge meets a rejection that says nothing."""
    from helpers.analysis import strategy

    recs = [
        strategy.Recommendation("style_alike", strategy.SUPPORTED, p_value=0.046),
        strategy.Recommendation("segment", strategy.SUPPORTED, p_value=0.001),
        strategy.Recommendation("engagement", strategy.WITHDRAWN, p_value=0.40),
        strategy.Recommendation("idle", strategy.SUPPORTED, p_value=0.20),  # supported by a rule, not its test
    ]
    out = {r.id: r for r in strategy.holm_gate(recs, 0.05)}
    assert out["style_alike"].status == strategy.WITHDRAWN and out["style_alike"].p_holm == pytest.approx(3 * 0.046)
    assert out["style_alike"].codes["family"] == strategy.HOLDS_ALONE
    assert out["segment"].status == strategy.SUPPORTED and "family" not in out["segment"].codes
    assert "family" not in out["idle"].codes  # its own test does not hold either


def test_04_reads_05s_equivalence_on_05s_buyers_with_the_ci_its_test_uses():
    """One rule: 04's check is 05's TOST on 05's sample of buyers, 'similar' exactly when its p < alpha, and the
    p agrees with 06's reading of the 90 % CI."""
    from helpers.analysis import purchase_styles, strategy

    rng = np.random.default_rng(7)
    n = 900
    gold = pd.DataFrame(
        {
            "did_purchase": 1,
            "n_items": rng.integers(1, 6, n),
            "avg_item_price_usd": np.exp(rng.normal(3.5, 0.6, n)),
            "pre_conversion_seconds": np.exp(rng.normal(5, 1, n)),
            "pre_conversion_event_count": rng.poisson(5, n),
            "pre_conversion_page_views": rng.poisson(3, n),
            "user_id": np.arange(n),
        }
    )
    check = purchase_styles.browsing_check(gold, 0.2, 20, max_rows=400, seed=3)
    buyers = stats.sample_rows(purchase_styles.assign(gold)[0], 400, 3)[0]
    table = purchase_styles.compare_behaviour(buyers, 0.2)
    assert check == purchase_styles.verdict(table)  # 05's rows, not all buyers
    assert check.tost_p is not None and (check.browsing == "similar") == (check.tost_p < check.alpha)
    row = table.iloc[0]
    assert row.tost_p == pytest.approx(strategy.tost_p(row.smd, row.smd_lo90, row.smd_hi90, 0.2))


# --------------------------------------------------------------------------------------------
# 2 · Guardrails as powered non-inferiority
# --------------------------------------------------------------------------------------------


def _revenue_arm(rng: np.random.Generator, n: int, scale: float) -> pd.DataFrame:
    """Sessions with 2.5 % buyers spending about ``scale`` x 100 USD; durations and events unremarkable."""
    bought = rng.random(n) < 0.025
    return pd.DataFrame(
        {
            "did_purchase": bought.astype(int),
            "amount_usd": np.where(bought, scale * np.exp(rng.normal(4.5, 0.5, n)), 0.0),
            "event_count": rng.poisson(5, n).astype(float),
            "session_seconds": np.exp(rng.normal(5, 0.5, n)),
        }
    )


def test_a_revenue_guardrail_passes_only_when_its_bound_clears_the_margin():
    """A true 10 % fall in revenue per session with an SE near 5 %: 'no significant fall' passed it about half
    the time; the non-inferiority test at a 5 % margin passes it rarely, and passes a true no-change when the
    arms are large enough."""
    from helpers.analysis import experiment

    rng = np.random.default_rng(11)
    passed = []
    for _ in range(60):
        out = experiment.analyse(_revenue_arm(rng, 25_000, 1.0), _revenue_arm(rng, 25_000, 0.9), 0.05, 0.05, 0.05)
        assert out.revenue_margin == 0.05 and out.revenue_rel_lo < out.revenue_rel < out.revenue_rel_hi
        passed.append(out.revenue_ok)
    assert np.mean(passed) <= 0.1
    same = experiment.analyse(_revenue_arm(rng, 400_000, 1.0), _revenue_arm(rng, 400_000, 1.0), 0.05, 0.05, 0.05)
    assert same.revenue_ok  # SE near 1.2 %: the bound clears -5 %


def test_each_guardrail_states_the_size_it_needs_and_its_power_at_the_planned_size():
    from helpers.analysis import experiment

    n = experiment.noninferiority_sessions(7.0, 0.05, 0.05, 0.8)
    assert n == pytest.approx(2 * (2.4865 * 7 / 0.05) ** 2, rel=1e-3)  # about 242,000 sessions per arm
    sessions = _revenue_arm(np.random.default_rng(2), 200_000, 1.0)
    plan = experiment.guardrail_plan(
        sessions, 66_569, {"revenue_per_session": 0.05, "session_duration": 0.05}, 0.05, 0.8
    )
    revenue = plan["revenue_per_session"]
    assert revenue["margin"] == 0.05 and revenue["cv"] == pytest.approx(7.0, rel=0.1)
    assert revenue["sessions_per_arm"] > 66_569 and 0.3 < revenue["power_at_plan"] < 0.6
    assert plan["session_duration"]["power_at_plan"] > 0.99  # durations vary little: this guardrail is powered
    big = experiment.guardrail_plan(sessions, revenue["sessions_per_arm"], {"revenue_per_session": 0.05}, 0.05, 0.8)
    assert big["revenue_per_session"]["power_at_plan"] == pytest.approx(0.8, abs=0.005)


def test_a_simulated_experiment_says_its_lever_effect_was_assumed_and_its_power_at_the_lift(tmp_path):
    from helpers.analysis import experiment
    from helpers.data.simulate import SimConfig

    config = SimConfig(n_sessions=10_000, seed=8)
    outcome, _ = experiment.run_simulated(config, 8_000, 3, 0.15, 0.05, 0.05, tmp_path, revenue_margin=0.05)
    assert outcome.lever_effect == "assumed" and outcome.assumed_density_lift == 0.15
    assert outcome.true_diff > 0 and 0.0 < outcome.power_at_true_diff < 1.0
    n_for_80 = experiment.sample_size(0.025, 0.10, 0.05, 0.8)
    assert experiment.conversion_power(0.025, 0.0025, n_for_80, 0.05) == pytest.approx(0.8, abs=0.02)


# --------------------------------------------------------------------------------------------
# 10 · Smaller points
# --------------------------------------------------------------------------------------------


def test_per_event_and_per_minute_cis_carry_every_coefficients_uncertainty():
    """Few buyers: the level of conversion is uncertain too, and it moves with the coefficient (intercept and
    slope are correlated). The delta-method CI matches draws of all coefficients; plugging the coefficient's own
    bounds into fixed levels was about a sixth too wide here."""
    rng = np.random.default_rng(4)
    n = 3000
    engagement, time = rng.normal(1.5, 0.6, n), rng.normal(4, 1, n)
    p = 1 / (1 + np.exp(-(-5.3 + 0.9 * engagement + 0.1 * time)))
    frame = pd.DataFrame({"engagement": engagement, "time": time, "did_purchase": (rng.random(n) < p) * 1})
    fit = conversion.fit_logit(frame, ["engagement", "time"])
    unit = next(u for u in conversion.unit_effects(fit, frame) if u.feature == "engagement")
    draws = rng.multivariate_normal(fit.params.to_numpy(), fit.cov_params().to_numpy(), 4000)
    X = fit.model.exog
    raw = np.expm1(frame["engagement"].to_numpy())
    shift = np.log1p(raw + 1) - np.log1p(raw)
    eta = draws @ X.T
    points = 100 * np.mean(1 / (1 + np.exp(-(eta + draws[:, [1]] * shift))) - 1 / (1 + np.exp(-eta)), axis=1)
    lo, hi = np.percentile(points, [2.5, 97.5])
    assert (unit.hi - unit.lo) == pytest.approx(hi - lo, rel=0.08)
    assert unit.lo < unit.points < unit.hi


def test_usd_per_order_follows_the_mean_spend_not_the_geometric_mean():
    """Spend whose log has no slope in engagement but a spread that grows with it: the mean order rises
    12.7 % per SD while the geometric mean stays. USD per order comes from the Gamma fit of the mean, not from
    the log-spend % (about 0) times the arithmetic mean."""
    from helpers.analysis import spend

    rng = np.random.default_rng(10)
    n = 6000
    x = rng.normal(0, 1, n)
    log_spend = 4 + np.sqrt(1 + 0.24 * x) * rng.normal(0, 1, n)  # log E[spend | x] = 4.5 + 0.12 x
    frame = pd.DataFrame(
        {"engagement": x, "time": rng.normal(0, 1, n), "idle": rng.normal(0, 1, n), spend.Y: log_spend}
    )
    frame["amount_usd"] = np.exp(log_spend)
    terms = ["engagement", "time", "idle"]
    ols, gamma = spend.fit_ols(frame, terms), spend.fit_gamma(frame, terms)
    effects = spend.per_sd_effects(ols, frame)
    gamma_cols = ["gamma_pct", "gamma_lo", "gamma_hi"]
    effects = effects.join(stats.per_sd(gamma, frame, effects.index, spend._pct, tuple(gamma_cols))[gamma_cols])
    mean_spend = float(frame["amount_usd"].mean())
    call = spend.feature_call(
        "engagement", {spend.MAIN_SPEC: effects}, 5.0, effects, mean_spend, spend.smearing_mean(ols)
    )
    truth = float(np.mean(np.exp(4.5 + 0.12 * x))) * np.expm1(0.12 * x.std())
    assert call.usd_from == "gamma_mean" and abs(effects.loc["engagement", "pct_per_sd"]) < 4
    assert call.usd_lo < truth < call.usd_hi and call.usd == pytest.approx(truth, rel=0.35)
    no_gamma = spend.feature_call("time", {spend.MAIN_SPEC: effects.drop(columns=["gamma_pct"])}, 5.0, None, 1.0, 2.0)
    assert no_gamma.usd_from == "ols_smearing" and no_gamma.usd == pytest.approx(
        2.0 * effects.loc["time", "pct_per_sd"] / 100
    )


def test_time_predicts_spend_better_only_when_the_paired_gap_across_folds_is_clear():
    """A 1.8 % RMSE gap that changes sign from fold to fold is not 'time predicts better'; a steady 2 % one is."""
    from helpers.analysis import spend

    eng = np.array([1.00, 1.10, 0.95, 1.05, 0.98])
    noisy = eng - np.array([0.06, -0.04, 0.07, -0.03, 0.08])
    assert (np.mean(eng) - np.mean(noisy)) / np.mean(eng) > 0.005  # beyond the relative gain asked for
    better, p = spend.explains_better(eng, noisy, 0.005, 0.05)
    assert better == "neither clearly" and p > 0.05
    steady = eng * 0.98 + np.array([0.001, -0.001, 0.0, 0.001, -0.001])
    assert spend.explains_better(eng, steady, 0.005, 0.05)[0] == "time"


def test_04_and_06_record_which_population_their_low_and_high_thirds_cut():
    from helpers.analysis import spend, strategy

    rng = np.random.default_rng(12)
    sessions = pd.DataFrame(
        {
            "session_id": np.arange(600),
            "user_id": np.arange(600),
            "did_purchase": (rng.random(600) < 0.3).astype(int),
            "amount_usd": 0.0,
            "pre_conversion_event_count": rng.poisson(3, 600),
            "pre_conversion_seconds": rng.exponential(100, 600),
        }
    )
    sessions["amount_usd"] = sessions["did_purchase"] * rng.exponential(80, 600)
    _, cuts = strategy.segments(sessions)
    buyers = stats.behaviour_features(sessions[sessions["did_purchase"] == 1])
    rows = spend.spend_by_engagement(buyers)
    assert cuts["population"] == "sessions" and {r.population for r in rows} == {"buyers"}


# --------------------------------------------------------------------------------------------
# 8 · Sizing with its uncertainty
# --------------------------------------------------------------------------------------------


def test_the_icc_upper_bound_covers_the_true_icc_and_stays_above_a_zero_estimate():
    """Users with a known ICC of 0.05: the one-sided 95 % bound lies above it in about 95 % of samples; where
    the point estimate is clipped at 0, sizing still pays for the users it cannot rule out."""
    from helpers.analysis import experiment

    rng = np.random.default_rng(8)
    groups = np.repeat(np.arange(300), 4)
    covered, clipped = [], []
    for _ in range(300):
        y = rng.normal(0, np.sqrt(0.05), 300)[groups] + rng.normal(0, np.sqrt(0.95), groups.size)
        upper = experiment.icc_upper_bound(y, groups)
        covered.append(upper >= 0.05)
        if experiment.icc_anova(y, groups) == 0.0:
            clipped.append(upper)
    assert 0.91 <= np.mean(covered) <= 0.99
    assert clipped and min(clipped) > 0.0


def test_sizing_uses_the_sessions_per_user_of_the_planned_weeks_and_the_icc_bound():
    """Users visiting at steady, unequal rates: the size-weighted sessions per user over 42 days follows from
    28 days of data; the sample size uses that and the ICC's upper bound, not 28 days and the point estimate."""
    from helpers.analysis import experiment

    rng = np.random.default_rng(9)
    rate = rng.gamma(0.5, 0.1, 400_000)  # visits per day

    def weighted(days):
        m = rng.poisson(rate * days)
        m = m[m > 0]
        return float(np.sum(m.astype(float) ** 2) / m.sum())

    m28, m42 = weighted(28), weighted(42)
    assert experiment.cluster_size_over(m28, 28, 42) == pytest.approx(m42, rel=0.03)
    design = experiment.DesignEffect(100_000, 30_000, 3.3, m28, 0.0, 1.0, icc_upper=0.01)
    n, planned = experiment.planned_size(0.025, 0.10, 0.05, 0.8, design, 28.0, 100_000 / 28)
    assert planned.planned_days % 7 == 0 and planned.planned_days >= 2 * n / (100_000 / 28)
    assert planned.design_effect_planned == pytest.approx(1 + (planned.cluster_size_planned - 1) * 0.01)
    assert n > experiment.sample_size(0.025, 0.10, 0.05, 0.8, design.design_effect)
    assert n == experiment.sample_size(0.025, 0.10, 0.05, 0.8, planned.design_effect_planned)


def test_sizing_with_a_high_icc_stays_finite_and_reads_as_too_long():
    """An experiment log of 14 days, 4.3 sessions per user and an ICC bound of 0.2: each added week adds
    repeat visits faster than information, so the fixed point runs away; the size stops at the two-year
    horizon, finite, and the runtime it implies is more than a year (06 then gives no runtime)."""
    from helpers.analysis import experiment

    design = experiment.DesignEffect(24_000, 6_000, 4.0, 4.3, 0.15, 1.5, icc_upper=0.2)
    n, planned = experiment.planned_size(0.025, 0.10, 0.05, 0.8, design, 14.0, 24_000 / 14)
    assert planned.planned_days <= experiment.MAX_PLANNED_DAYS
    assert planned.cluster_size_planned < 1 + 3.3 * experiment.MAX_PLANNED_DAYS / 14 + 1e-9
    assert np.isfinite(n) and 2 * n / (24_000 / 14) > 365


def test_the_front_pages_conversion_ci_is_clustered_when_users_repeat():
    """400 users of 10 sessions who all buy or all do not: the headline's CI is the clustered one (about three
    times Wilson's width), from the per-user sums 02 records."""
    from helpers.presentation.frontpage import headline_html

    buyers_per_user = np.r_[np.full(120, 10.0), np.zeros(280)]
    sums = {
        "users": 400,
        "bb": float(buyers_per_user @ buyers_per_user),
        "bn": 10 * buyers_per_user.sum(),
        "nn": 40_000.0,
    }
    gold = {
        "rows": 4000,
        "buyers": 1200,
        "revenue_usd": 1.0,
        "orders": 1200,
        "time_range": ["2024-01-01", "2024-01-29"],
    }
    lo, hi = stats.proportion_ci_from_sums(400, 1200, 4000, sums["bb"], sums["bn"], sums["nn"])
    wlo, whi = stats.wilson(1200, 4000)
    assert (hi - lo) / (whi - wlo) == pytest.approx(np.sqrt(10), rel=0.1)
    assert f"[{lo:.2%}, {hi:.2%}]" in headline_html(gold | {"user_sums": sums})
    assert f"[{wlo:.2%}, {whi:.2%}]" in headline_html(gold)  # no user ids: Wilson's


def test_an_equal_revenue_with_an_se_near_its_margin_fails_the_guardrail():
    """No change in revenue per session, but an SE of about 4.4 %: its lower bound (-7 %) does not clear a 5 %
    margin, so the guardrail fails where 'no significant fall' passed it."""
    from helpers.analysis import experiment

    arm = pd.DataFrame(
        {
            "did_purchase": np.r_[np.ones(1_000), np.zeros(19_000)].astype(int),
            "amount_usd": np.r_[np.full(1_000, 10.0), np.zeros(19_000)],
            "event_count": 4.0,
            "session_seconds": 100.0 + np.tile([-1.0, 1.0], 10_000),
        }
    )
    result = experiment.analyse(arm, arm.copy(), 0.05, 0.05, 0.05)
    assert result.revenue_rel == 0 and result.revenue_rel_hi > 0  # no significant fall
    assert result.revenue_rel_lo < -0.05 and not result.revenue_ok
    assert result.decision == "no_ship_revenue_guardrail"


def test_04s_binned_spend_cis_are_clustered_when_a_users_orders_repeat():
    """Each user's five orders are copies: in the partial-regression bins the CI is about sqrt(5) times the
    independent one."""
    from helpers.analysis import spend

    rng = np.random.default_rng(13)
    one = pd.DataFrame(
        {"engagement": rng.normal(size=600), "time": rng.normal(size=600), spend.Y: rng.normal(size=600)}
    )
    copies = pd.concat([one.assign(user_id=np.arange(600))] * 5, ignore_index=True)
    clustered = spend.partial_regression(copies, "engagement", ["time"], bins=10)
    alone = spend.partial_regression(copies.assign(user_id=np.arange(len(copies))), "engagement", ["time"], bins=10)
    ratio = (clustered["hi"] - clustered["lo"]) / (alone["hi"] - alone["lo"])
    assert ratio.median() == pytest.approx(np.sqrt(5), rel=0.15)


def test_segment_contrast_and_style_smds_use_t_with_few_users():
    """20 users: the segments' contrast and 05's clustered SMD intervals use t on 19 df, not the normal."""
    from helpers.analysis import purchase_styles, strategy

    rng = np.random.default_rng(14)
    user = np.repeat(np.arange(20), 30)
    sessions = pd.DataFrame(
        {
            "user_id": user,
            "did_purchase": (rng.random(600) < 0.3).astype(int),
            "pre_conversion_event_count": rng.poisson(3, 600),
        }
    )
    c = strategy.segment_contrast(sessions, {"by": "engagement", "low_max": 1.0, "high_min": 4.0})
    assert (c["hi"] - c["lo"]) / (2 * c["se"]) == pytest.approx(2.093, abs=1e-3)
    groups = pd.factorize(user)[0]
    xa, xb, ga, gb = rng.normal(size=300), rng.normal(size=300), groups[:300], groups[300:]
    d, lo, hi = purchase_styles.smd_ci(xa, xb, 0.95, ga, gb)
    assert (hi - lo) / (2 * purchase_styles.clustered_smd_se(xa, xb, ga, gb)) == pytest.approx(2.093, abs=1e-3)


# --------------------------------------------------------------------------------------------
# 04's truth check compares like with like
# --------------------------------------------------------------------------------------------


def test_a_hidden_style_that_moves_browsing_and_spend_is_absorbed_so_the_spend_truth_is_not_compared(tmp_path):
    """A style the gold table does not hold raises engagement and log spend together: OLS of log spend estimates
    the structural 0.15 plus the style's share (0.15 + 0.5 x 0.8 / 1.64, omitted variable), and its CI covers that,
    not 0.15. The simulator's world where this happens (styles_browse) carries a code, and 04 compares nothing there."""
    from helpers.analysis import spend
    from helpers.data import simulate
    from helpers.data.gold import build_gold
    from helpers.presentation.words import spend as spend_words
    from helpers.runner import validate

    rng = np.random.default_rng(7)
    n = 4000
    style = rng.normal(size=n)
    engagement = 0.8 * style + rng.normal(size=n)
    frame = pd.DataFrame({"engagement": engagement, "time": rng.normal(size=n), "idle": rng.normal(size=n)})
    frame[spend.Y] = 0.15 * engagement + 0.5 * style + rng.normal(0, 0.5, n)
    fit = spend.fit_ols(frame, ["engagement", "time", "idle"])
    lo, hi = fit.conf_int().loc["engagement"]
    assert lo <= 0.15 + 0.5 * 0.8 / 1.64 <= hi and not lo <= 0.15 <= hi
    truth = {f"implied_{f}_on_log_spend": 0.0 for f in ("time", "idle")} | {"implied_engagement_on_log_spend": 0.15}
    assert len(spend.truth_check(fit, truth)) == 3

    codes = {w: simulate.spend_truth_code(simulate.SimConfig(**knobs)) for w, knobs in validate.WORLDS.items()}
    assert codes.pop("styles_browse") == simulate.STYLE_CONFOUNDS_SPEND and set(codes.values()) == {None}
    assert spend.truth_check(fit, truth | {"spend_truth_code": simulate.STYLE_CONFOUNDS_SPEND}).empty

    cfg = simulate.SimConfig(n_sessions=10_000, seed=3, **validate.WORLDS["styles_browse"])
    world_truth = simulate.simulate_to_parquet(cfg, tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    result = spend.analyse(tmp_path / "gold", validate.settings("04_spend", 3), world_truth)
    assert result.ok and result.truth == [] and result.truth_code == simulate.STYLE_CONFOUNDS_SPEND
    assert result.badge.level != "high" and result.evidence.truth is None
    assert any(line.startswith("- Truth check: not made") for line in spend_words.spend_lines(result))


def test_the_front_page_and_the_comparison_read_one_clustered_se_of_conversion():
    """400 users of 10 sessions, clustered purchases: the comparison's SE of conversion is the front page's
    (its CI is p ± z SE up to Wilson's asymmetry), both from ``stats.ratio_of_sums_se``."""
    from helpers.analysis import stats as analysis_stats
    from helpers.compare import stats as compare_stats

    rng = np.random.default_rng(3)
    b = rng.binomial(10, rng.beta(0.5, 8, 400)).astype(float)
    n = np.full(400, 10.0)
    sums = (400, b.sum(), n.sum(), (b * b).sum(), (b * n).sum(), (n * n).sum())
    se = compare_stats.ratio_of_sums(*sums).se
    assert se == analysis_stats.ratio_of_sums_se(*sums)
    lo, hi = analysis_stats.proportion_ci_from_sums(*sums)
    assert (hi - lo) / (2 * 1.96) == pytest.approx(se, rel=0.05)
    assert se > np.sqrt(b.sum() / n.sum() * (1 - b.sum() / n.sum()) / n.sum()) * 1.2  # wider than the unclustered SE
