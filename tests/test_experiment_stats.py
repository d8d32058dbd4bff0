"""The experiment's statistics on data whose answer is known: user-level variances, the design effect,
the A/A rate over replications, one catalogue for every arm, and Holm across the recommendations' tests."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.special import expit, logit
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from helpers.analysis import experiment, stats, strategy
from helpers.data import simulate
from helpers.data.simulate import SimConfig, simulate_to_parquet


def repeated_users(rng, users: int, base: float = -2.0, sd: float = 1.5, mean_extra: float = 2.0):
    """Sessions of ``users`` users (1 + Poisson sessions each) whose purchase log-odds share a normal user shift."""
    sizes = 1 + rng.poisson(mean_extra, users)
    user = np.repeat(np.arange(users), sizes)
    shift = rng.normal(0.0, sd, users)[user]
    return (rng.random(user.size) < 1 / (1 + np.exp(-(base + shift)))).astype(float), user


def beta_users(rng, users: int, size: int, a: float, b: float):
    """``size`` sessions per user, each user's purchase probability Beta(a, b): the ICC is 1 / (a + b + 1)."""
    p = np.repeat(rng.beta(a, b, users), size)
    return (rng.random(p.size) < p).astype(float), np.repeat(np.arange(users), size)


# --------------------------------------------------------------------------------------------
# Variances at user level
# --------------------------------------------------------------------------------------------


def test_without_repeated_users_the_variance_is_the_two_sample_one():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=500), rng.normal(1.0, 2.0, size=700)
    diff, se = experiment.mean_diff(a, None, b, None)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert se == pytest.approx(math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size), rel=1e-12)
    singletons = experiment.mean_diff(a, np.arange(a.size), b, np.arange(b.size))[1]
    assert singletons == pytest.approx(se, rel=1e-12)  # one session per user: the same variance


def test_user_level_variance_of_a_mean_matches_statsmodels_cluster_robust():
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    y, user = repeated_users(rng, 300)
    ours = experiment.cluster_variance((y - y.mean()) / y.size, user)
    fit = sm.OLS(y, np.ones(y.size)).fit(cov_type="cluster", cov_kwds={"groups": user, "use_correction": False})
    g = np.unique(user).size
    assert ours * (g - 1) / g == pytest.approx(float(fit.bse[0]) ** 2, rel=1e-10)  # ours adds the factor G/(G-1)
    assert math.sqrt(ours) == pytest.approx(stats.clustered_mean_se(y, user), rel=1e-12)


def test_clustered_intervals_cover_at_their_nominal_rate_and_naive_ones_do_not():
    rng = np.random.default_rng(3)
    covered, naive_covered, ratio = [], [], []
    for _ in range(1_000):  # A/A draws: the true difference is 0
        (y0, g0), (y1, g1) = repeated_users(rng, 1_500), repeated_users(rng, 1_500)
        diff, se = experiment.mean_diff(y0, g0, y1, g1)
        naive = experiment.mean_diff(y0, None, y1, None)[1]
        covered.append(abs(diff) <= 1.96 * se)
        naive_covered.append(abs(diff) <= 1.96 * naive)
        ratio.append(se / naive)
    assert 0.93 <= np.mean(covered) <= 0.97, np.mean(covered)
    assert np.mean(naive_covered) < 0.90, np.mean(naive_covered)
    assert min(ratio) > 1.0  # correlated repeated users: the clustered SE is always the larger


def arm(y, user):
    return pd.DataFrame(
        {
            "user_id": user + 1,
            "did_purchase": y,
            "amount_usd": 20 * y,
            "event_count": 4.0 + (np.arange(y.size) % 3),
            "session_seconds": 100.0 + (np.arange(y.size) % 7),
        }
    )


def test_the_analysis_works_at_user_level_when_users_repeat():
    rng = np.random.default_rng(4)
    (y0, g0), (y1, g1) = repeated_users(rng, 4_000), repeated_users(rng, 4_000, base=-1.8)
    result = experiment.analyse(arm(y0, g0), arm(y1, g1), 0.05, 0.05)
    assert result.method == experiment.USER_LEVEL and result.users_control == 4_000
    assert result.diff_se > result.diff_se_naive
    half = norm.ppf(0.975) * result.diff_se
    assert (result.diff_lo, result.diff_hi) == pytest.approx((result.diff - half, result.diff + half))
    assert result.p_value == pytest.approx(2 * norm.sf(abs(result.diff) / result.diff_se))
    assert (result.p_value < 0.05) == (result.diff_lo > 0 or result.diff_hi < 0)
    single = experiment.analyse(arm(y0, np.arange(y0.size)), arm(y1, np.arange(y1.size)), 0.05, 0.05)
    assert single.method == "score" and single.diff_se == pytest.approx(single.diff_se_naive)


def test_the_relative_guardrail_at_user_level_matches_the_delta_method_by_hand():
    rng = np.random.default_rng(5)
    (y0, g0), (y1, g1) = repeated_users(rng, 2_000), repeated_users(rng, 2_000)
    a, b = 100 + 30 * y0, 100 + 30 * y1  # seconds: a buyer's session is longer
    c, t = a.mean(), b.mean()
    totals_b = pd.Series((b - t) / (b.size * c)).groupby(g1).sum()
    totals_a = pd.Series(t * (a - c) / (a.size * c**2)).groupby(g0).sum()
    var = sum(len(x) / (len(x) - 1) * (x**2).sum() for x in (totals_a, totals_b))
    rel, bound = experiment._relative_change(a, g0, b, g1, 1.645)
    assert rel == pytest.approx(t / c - 1)
    assert bound == pytest.approx(rel + 1.645 * math.sqrt(var), rel=1e-10)


# --------------------------------------------------------------------------------------------
# The design effect
# --------------------------------------------------------------------------------------------


def test_icc_by_one_way_anova_on_a_hand_table():
    y = np.array([1, 1, 0, 0, 0, 0, 1, 0, 1], float)
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    # group means 2/3, 0, 2/3; grand mean 4/9; MSB = 3 * sum((m - 4/9)^2) / 2, MSW = (3 * 2/9 + 0 + 3 * 2/9) / 6
    msb = 3 * ((2 / 3 - 4 / 9) ** 2 * 2 + (4 / 9) ** 2) / 2
    msw = (2 / 3 + 2 / 3) / 6
    assert experiment.icc_anova(y, groups) == pytest.approx((msb - msw) / (msb + 2 * msw))
    assert experiment.icc_anova(np.array([1.0, 0, 1, 0]), np.array([0, 0, 1, 1])) == 0.0  # negative: clipped


@pytest.mark.parametrize("a,b", [(1.0, 9.0), (2.0, 38.0), (0.5, 4.5)])
def test_icc_recovers_the_known_beta_binomial_value(a, b):
    y, user = beta_users(np.random.default_rng(6), 30_000, 4, a, b)
    assert experiment.icc_anova(y, user) == pytest.approx(1 / (a + b + 1), abs=0.01)


def test_design_effect_and_the_sample_size_it_inflates():
    y, user = beta_users(np.random.default_rng(7), 30_000, 4, 1.0, 9.0)
    d = experiment.design_effect(pd.DataFrame({"user_id": user, "did_purchase": y}))
    assert d.sessions_per_user == 4.0 and d.cluster_size == 4.0 and d.users == 30_000
    assert d.design_effect == pytest.approx(1 + 3 * d.icc) and d.design_effect == pytest.approx(1 + 3 / 11, abs=0.03)
    n = NormalIndPower().solve_power(proportion_effectsize(0.025 * (1 + 0.10), 0.025), alpha=0.05, power=0.8)
    assert experiment.sample_size(0.025, 0.10, 0.05, 0.8) == math.ceil(n)
    assert experiment.sample_size(0.025, 0.10, 0.05, 0.8, d.design_effect) == math.ceil(n * d.design_effect)
    table = experiment.mde_table(0.025, 0.05, 0.8, 10_000.0, d)
    assert (table["users_per_arm"] == np.ceil(table["sessions_per_arm"] / 4.0)).all()
    one = experiment.design_effect(pd.DataFrame({"user_id": np.arange(10), "did_purchase": np.ones(10)}))
    assert one.design_effect == 1.0 and one.icc == 0.0


def test_the_size_weighted_cluster_size_for_unequal_users():
    frame = pd.DataFrame({"user_id": [1, 1, 1, 1, 2, 3], "did_purchase": [1, 1, 1, 1, 0, 0]})
    d = experiment.design_effect(frame)
    assert d.sessions_per_user == 2.0 and d.cluster_size == pytest.approx((16 + 1 + 1) / 6)


# --------------------------------------------------------------------------------------------
# A/A replications and one catalogue
# --------------------------------------------------------------------------------------------


@pytest.mark.slow  # many simulated replications, which `make validate` checks at a larger scale: in `make test-all`
def test_aa_rate_with_correlated_users_is_near_alpha_and_the_naive_rate_is_not():
    config = SimConfig(sessions_per_user=4.0, user_effect_sd=1.5, user_trait_share=0.5)
    rate = experiment.aa_rate(config, 5_000, 300, 0.05, seed=11)
    assert rate.method == experiment.USER_LEVEL and rate.replications == 300
    assert rate.lo <= 0.05 <= rate.hi, rate
    assert rate.lo == pytest.approx(float(stats.wilson(rate.rejections, 300)[0]))
    assert rate.naive_rejections > 2 * rate.rejections  # sessions as independent: false alarms well above alpha


WORLDS = [
    {},
    {"sessions_per_user": 4.0, "user_effect_sd": 1.5, "user_trait_share": 0.5},
    {"style_browse_effect": 0.5, "density_lift": 0.3},
    {"time_effect": 0.4},
]


@pytest.mark.parametrize("knobs", WORLDS)
def test_purchase_inputs_are_browse_s(knobs):
    cfg = SimConfig(seed=13, **knobs)
    users = simulate.Users(cfg)
    traits = users.session_traits(users.assign(3_000, 0, cfg.seed))
    ours_rng, browse_rng = np.random.default_rng(5), np.random.default_rng(5)
    ours = experiment.purchase_inputs(cfg, 3_000, ours_rng, traits)
    theirs = simulate.browse(cfg, 3_000, browse_rng, traits)
    for key in ("device", "source", "k_pre"):
        assert np.array_equal(ours[key], theirs[key])
    p = simulate.purchase_probability(cfg, -3.5, ours)
    assert np.array_equal(p, simulate.purchase_probability(cfg, -3.5, theirs))


def aa_by_browse(config: SimConfig, n: int, seeds, alpha: float):
    """The A/A tests written out in full: each arm through ``simulate.browse``, the naive test on its own."""
    intercept = simulate.calibrate_intercept(config)
    ps, naive = [], []
    for seed in seeds:
        arms = []
        for s in np.random.SeedSequence([int(seed), 0xAA]).generate_state(2):
            cfg = dataclasses.replace(config, n_sessions=n, seed=int(s), density_lift=0.0)
            users = simulate.Users(cfg)
            user = users.assign(n, 0, cfg.seed)
            rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0xAA]))
            p = simulate.purchase_probability(cfg, intercept, simulate.browse(cfg, n, rng, users.session_traits(user)))
            if users.logit_shift is not None:
                p = expit(logit(p) / users.phi + users.logit_shift[user])
            draws = np.random.default_rng(np.random.SeedSequence([cfg.seed, experiment.PURCHASE_STREAM])).random(n)
            arms.append(((draws < p).astype(float), user if np.bincount(user).max() > 1 else None))
        (y0, g0), (y1, g1) = arms
        ps.append(experiment.conversion_diff(y0, g0, y1, g1, alpha)["p_value"])
        diff, se = experiment.mean_diff(y0, None, y1, None)
        naive.append(2 * norm.sf(abs(diff) / se) if se > 0 else 1.0)
    return np.array(ps), np.array(naive)


@pytest.mark.parametrize("knobs", WORLDS)
def test_aa_pvalues_are_exactly_those_of_the_full_browse(knobs):
    config = SimConfig(seed=17, **knobs)
    tests = experiment.aa_pvalues(config, 2_000, range(8), 0.05)
    p, naive = aa_by_browse(config, 2_000, range(8), 0.05)
    assert np.array_equal(tests["p"], p) and np.array_equal(tests["naive"], naive)


@pytest.mark.parametrize("knobs", WORLDS)
def test_true_conversion_is_the_mean_purchase_probability_of_the_full_browse(knobs):
    config = SimConfig(seed=19, **knobs)
    intercept = simulate.calibrate_intercept(config)
    for lift in (0.0, 0.2):
        cfg = dataclasses.replace(config, density_lift=lift)
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0x7E57]))
        want = simulate.purchase_probability(cfg, intercept, simulate.browse(cfg, 20_000, rng)).mean()
        assert experiment.true_conversion(config, lift, n=20_000) == want


def test_the_intercept_is_calibrated_once_per_untreated_world(monkeypatch):
    calls = []
    calibrate = simulate.calibrate_intercept
    monkeypatch.setattr(simulate, "calibrate_intercept", lambda cfg: calls.append(cfg) or calibrate(cfg))
    experiment._calibrated.cache_clear()
    config = SimConfig(seed=23)
    first = experiment.untreated_intercept(config)
    assert experiment.untreated_intercept(dataclasses.replace(config, density_lift=0.4)) == first
    assert first == calibrate(config) and len(calls) == 1
    experiment.untreated_intercept(dataclasses.replace(config, seed=24))  # another world: its own intercept
    assert len(calls) == 2
    experiment._calibrated.cache_clear()


@pytest.mark.slow  # many simulated replications, which `make validate` checks at a larger scale: in `make test-all`
def test_the_aa_rate_beside_the_arms_is_the_one_computed_alone(tmp_path):
    config = SimConfig(n_sessions=4_000, seed=29, sessions_per_user=2.0, user_effect_sd=1.0)
    s = strategy.Settings(
        seed=29,
        alpha=0.05,
        power=0.8,
        relative_mde=0.1,
        guardrail_margin=0.05,
        revenue_margin=0.05,
        store_daily_sessions=0.0,
        experiment_density_lift=0.15,
        experiment_sessions_per_arm=1_500,
        experiment_start="",
    )
    outcome, aa, rate = strategy.simulated_experiment(config, 1_500, s, tmp_path / "both")
    alone = experiment.run_simulated(config, 1_500, 29, 0.15, 0.05, 0.05, tmp_path / "alone", 0.05)
    assert (outcome, aa) == alone
    assert rate == experiment.aa_rate(config, 1_500, strategy.AA_REPLICATIONS, 0.05, 29)


def test_arms_share_the_control_catalogue_and_nothing_else(tmp_path):
    control = SimConfig(n_sessions=2_000, seed=21)
    treatment = SimConfig(n_sessions=2_000, seed=22, density_lift=0.2)
    simulate_to_parquet(control, tmp_path / "c")
    simulate_to_parquet(treatment, tmp_path / "t", catalogue_seed=21)
    simulate_to_parquet(treatment, tmp_path / "own")
    read = lambda folder, name: pq.read_table(tmp_path / folder / f"{name}.parquet").to_pandas()  # noqa: E731
    assert read("c", "products").equals(read("t", "products"))
    assert not read("c", "products").equals(read("own", "products"))  # without it each seed draws its own
    assert read("t", "sessions").equals(read("own", "sessions"))  # the arm's own draws do not change
    assert not read("c", "sessions")["started_at"].equals(read("t", "sessions")["started_at"])


# --------------------------------------------------------------------------------------------
# Multiplicity: Holm across the recommendations' tests
# --------------------------------------------------------------------------------------------


def test_holm_on_a_hand_example_and_against_statsmodels():
    from statsmodels.stats.multitest import multipletests

    assert strategy.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    p = np.random.default_rng(8).uniform(0, 0.2, 12)
    p[3] = p[7]  # a tie
    assert strategy.holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)
    assert strategy.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("estimate", [-0.5, -0.2, -0.12, 0.0, 0.1, 0.13, 0.2, 0.6])
def test_the_material_p_value_agrees_with_the_interval_rule(estimate):
    se, band = 0.05, 0.1
    lo, hi = estimate - 1.959964 * se, estimate + 1.959964 * se
    cls = stats.classify_interval(lo, hi, band)
    assert (strategy.material_p(estimate, lo, hi, band, +1) < 0.05) == (cls == "positive")
    assert (strategy.material_p(estimate, lo, hi, band, -1) < 0.05) == (cls == "negative")
    assert (strategy.material_p(estimate, lo, hi, band, 0) < 0.05) == (cls in ("positive", "negative"))
    lo90, hi90 = estimate - 1.644854 * se, estimate + 1.644854 * se
    assert (strategy.tost_p(estimate, lo90, hi90, 0.2) < 0.05) == (-0.2 < lo90 and hi90 < 0.2)


def test_a_recommendation_counts_only_when_its_test_survives_holm():
    from helpers.presentation.words import strategy as words

    ids = ["engagement_over_time", "idle_to_interaction", "segment_by_engagement", "styles_price_framing"]
    values = {"pct": -10.0, "pct_lo": -15.0, "pct_hi": -5.0, "usd_shorter": 5.0, "usd_shorter_lo": 2.0}
    values |= {"usd_shorter_hi": 8.0}
    rec = lambda rid, p: strategy.Recommendation(rid, strategy.SUPPORTED, p_value=p, values=dict(values))  # noqa: E731
    recs = strategy.holm_gate([rec(i, p) for i, p in zip(ids, (0.001, 0.04, 0.2, None))], 0.05)
    assert [r.status for r in recs] == ["supported", "withdrawn", "withdrawn", "supported"]
    assert recs[1].p_holm == pytest.approx(0.08) and recs[1].reason == "holm_adjusted" and recs[3].p_holm is None
    assert (recs[1].values["tests"], recs[1].values["alpha"]) == (3, 0.05)
    worded = words.recommendation(recs[1])
    assert "Holm's adjustment across the 3 tests" in worded.text and worded.impact == ""
    table = strategy.multiplicity_table(recs)
    assert table["recommendation"].tolist() == ids[:3] and table["Holm-adjusted p"].iloc[0] == 0.003


def test_segment_contrast_uses_user_level_variance():
    rng = np.random.default_rng(9)
    y, user = repeated_users(rng, 3_000)
    events = rng.poisson(3, y.size) + 3 * y  # buyers browse more
    sessions = pd.DataFrame({"user_id": user, "did_purchase": y, "pre_conversion_event_count": events})
    cuts = {"by": "engagement", "low_max": 2.0, "high_min": 5.0}
    c = strategy.segment_contrast(sessions, cuts)
    high, low = events >= 5, events <= 2
    assert c["diff"] == pytest.approx(y[high].mean() - y[low].mean())
    naive = math.sqrt(y[high].var(ddof=1) / high.sum() + y[low].var(ddof=1) / low.sum())
    assert c["se"] > naive and c["p"] == pytest.approx(2 * norm.sf(abs(c["diff"]) / c["se"]))


def test_an_interval_reaching_infinity_gives_p_one():
    with np.errstate(divide="ignore"):
        assert strategy.material_p(*np.log([2.0, 0.0, np.inf]), np.log(1.15), +1) == 1.0


def test_too_few_buyers_give_no_icc_and_the_page_says_so():
    from helpers.presentation.words import strategy as words

    # the real sample: 3 buyers, each alone with one other session: the ANOVA ICC would read 1.000
    frame = pd.DataFrame(
        {"user_id": [1, 1, 2, 2, 3, 3, *range(4, 244)], "did_purchase": [1, 1, 1, 1, 1, 1] + [0] * 240}
    )
    assert experiment.icc_anova(frame["did_purchase"].to_numpy(float), stats.user_groups(frame)) == 1.0
    d = experiment.design_effect(frame)
    assert (d.icc, d.design_effect, d.icc_buyers) == (0.0, 1.0, 6)
    said = words.design_phrase(d, 1_000)
    assert "not estimable from 6 buyers (taken as 0)" in said and "1.000" not in said.split("D =")[0]
