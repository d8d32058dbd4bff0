"""The experiment read-out against independent computations on the same data, and on simulated
experiments whose truth is known: score test, delta method, CUPED as OLS, 2SLS, SRM, A/A, coverage."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import binomtest, chisquare, norm
from statsmodels.stats import proportion
from statsmodels.stats.multitest import multipletests

from helpers.analysis import readout
from helpers.data.gold import gold_pandas
from helpers.data.simulate_experiment import ExperimentDesign, simulate_experiment
from helpers.errors import DataContractError

START = ExperimentDesign.start_date


@pytest.fixture(scope="module")
def experiment():
    """20,000 users with a 14-day pre-period and the planned lever at +15 % density."""
    return simulate_experiment(ExperimentDesign(users=20_000, pre_period_days=14, seed=3), raw=False)


@pytest.fixture(scope="module")
def result(experiment):
    return readout.analyse(experiment.sessions, readout.Plan(users_per_arm=10_000, start_date=START))


@pytest.fixture(scope="module")
def in_test(experiment):
    """The test's sessions (from exposure on), with the arm as 0/1."""
    s = experiment.sessions
    test = s[s["started_at"] >= s["exposed_at"]].copy()
    test["t"] = (test["variant"] == "treatment").astype(float)
    return test


# --------------------------------------------------------------------------------------------
# The simulated log
# --------------------------------------------------------------------------------------------


def test_simulated_session_table_is_the_gold_table(tmp_path):
    """The session table computed from the simulator's arrays equals the gold table built from its raw tables."""
    data = simulate_experiment(ExperimentDesign(users=400, pre_period_days=7, seed=5))
    gold = gold_pandas(data.write_raw(tmp_path / "raw")).set_index("session_id")
    ours = data.sessions.set_index("session_id")
    assert len(gold) == len(ours)
    for column in readout.SUMS.values():
        if column is not None:
            np.testing.assert_allclose(ours[column].to_numpy(float), gold.loc[ours.index, column].to_numpy(float))
    raw = pd.read_parquet(tmp_path / "raw" / "sessions.parquet").set_index("session_id")
    assert (raw.loc[ours.index, "variant"] == ours["variant"]).all()


def test_experiment_log_shape_and_truth(experiment):
    s, truth = experiment.sessions, experiment.truth
    assert s.groupby("user_id")["variant"].nunique().max() == 1  # one arm per user
    test = s[s["started_at"] >= s["exposed_at"]]
    first = test.groupby("user_id")["started_at"].min()
    assert (first == s.groupby("user_id")["exposed_at"].first()[first.index]).all()  # exposure = first test session
    assert (s.loc[s["started_at"] < s["exposed_at"], "started_at"] < pd.Timestamp(START)).all()  # pre-period before
    assert test["user_id"].nunique() == 20_000
    assert truth.conversion_diff > 0 and truth.behaviour_diff > 0
    assert truth.behaviour_effect == pytest.approx(truth.conversion_diff / truth.behaviour_diff)
    aa = simulate_experiment(ExperimentDesign(users=100, density_lift=0.0, seed=1), raw=False).truth
    assert aa.conversion_diff == 0.0 and aa.behaviour_diff == 0.0


# --------------------------------------------------------------------------------------------
# Independent computations on the same data
# --------------------------------------------------------------------------------------------


def _restricted_p0(x1, n1, x0, n0, delta):
    """The constrained MLE of p0 given p1 - p0 = delta, by direct maximisation of the likelihood."""

    def nll(p0):
        p1 = p0 + delta
        return -(x1 * np.log(p1) + (n1 - x1) * np.log1p(-p1) + x0 * np.log(p0) + (n0 - x0) * np.log1p(-p0))

    lo, hi = max(0.0, -delta) + 1e-12, min(1.0, 1.0 - delta) - 1e-12
    return minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-15}).x


def _score_z(x1, n1, x0, n0, delta):
    p0 = _restricted_p0(x1, n1, x0, n0, delta)
    p1, n = p0 + delta, n1 + n0
    var = (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) * n / (n - 1)
    return (x1 / n1 - x0 / n0 - delta) / math.sqrt(var)


def test_buyer_share_agrees_with_the_score_test(result):
    """Share of users who purchase: p-value = statsmodels' score test; CI = the score test inverted by root finding."""
    e = next(x for x in result.secondary if x.metric == "buyer_share")
    users = result.users
    y = (users["purchases"] > 0).to_numpy()
    t = users["treated"].to_numpy(bool)
    counts = (int(y[t].sum()), int(t.sum()), int(y[~t].sum()), int((~t).sum()))
    p = proportion.test_proportions_2indep(*counts, method="score", compare="diff").pvalue
    assert e.method == "score"
    assert e.p_value == pytest.approx(p, abs=1e-9)
    assert e.diff == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3], abs=1e-12)
    z = norm.ppf(0.975)
    lo = brentq(lambda d: _score_z(*counts, d) - z, -0.5, e.diff, xtol=1e-14)
    hi = brentq(lambda d: _score_z(*counts, d) + z, e.diff, 0.5, xtol=1e-14)
    assert (e.diff_lo, e.diff_hi) == pytest.approx((lo, hi), abs=1e-8)
    # statsmodels' score CI puts count0 where nobs0 belongs in the constrained MLE (statsmodels#10269): close only
    sm_lo, sm_hi = proportion.confint_proportions_2indep(*counts, method="score", compare="diff")
    assert (e.diff_lo, e.diff_hi) == pytest.approx((sm_lo, sm_hi), abs=1e-4)


@pytest.mark.parametrize("counts", [(300, 10_000, 250, 10_000), (12, 300, 3, 280), (0, 50, 4, 60)])
def test_score_interval_on_hand_counts(counts):
    lo, hi = readout.score_interval(*counts, 0.05)
    z = norm.ppf(0.975)
    assert _score_z(*counts, lo) == pytest.approx(z, abs=1e-6)
    assert _score_z(*counts, hi) == pytest.approx(-z, abs=1e-6)
    assert readout.score_test(*counts) == pytest.approx(
        proportion.test_proportions_2indep(*counts, method="score", compare="diff").pvalue, abs=1e-12
    )


def test_ratio_metric_agrees_with_the_delta_method_and_clustered_ols(result, in_test):
    """Purchasing sessions per session: Deng et al.'s delta formula by hand, and OLS clustered by user."""
    e = result.primary
    assert e.metric == "session_conversion" and e.method == "delta"
    users = result.users
    var = {}
    for arm in (False, True):
        u = users[users["treated"] == arm]
        y, n = u["purchases"].to_numpy(float), u["sessions"].to_numpy(float)
        g, my, mn = y.size, y.mean(), n.mean()
        c = np.cov(y, n, ddof=1)
        var[arm] = (c[0, 0] / mn**2 - 2 * my * c[0, 1] / mn**3 + my**2 * c[1, 1] / mn**4) / g
    assert e.control_se == pytest.approx(math.sqrt(var[False]), rel=1e-9)
    assert e.treatment_se == pytest.approx(math.sqrt(var[True]), rel=1e-9)
    s = in_test
    fit = sm.OLS(s["did_purchase"].astype(float), sm.add_constant(s["t"])).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(s["user_id"])[0], "use_correction": False}
    )
    assert e.diff == pytest.approx(fit.params["t"], abs=1e-12)
    g = {arm: int((users["treated"] == arm).sum()) for arm in (False, True)}
    no_correction = sum(var[a] * (g[a] - 1) / g[a] for a in (False, True))  # statsmodels without G / (G - 1)
    assert fit.bse["t"] == pytest.approx(math.sqrt(no_correction), rel=1e-6)
    assert e.p_value == pytest.approx(2 * norm.sf(abs(e.diff / e.diff_se)), rel=1e-9)
    assert e.diff_lo < e.diff < e.diff_hi and (e.p_value < 0.05) == (e.diff_lo > 0 or e.diff_hi < 0)


def test_revenue_per_user_is_a_welch_difference(result):
    e = next(x for x in result.secondary if x.metric == "revenue_per_user")
    users = result.users
    a, b = (users.loc[users["treated"] == t, "revenue"].to_numpy() for t in (False, True))
    assert e.diff == pytest.approx(b.mean() - a.mean(), abs=1e-9)
    assert e.diff_se == pytest.approx(math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size), rel=1e-9)


def _cuped_ols(users: pd.DataFrame, metric: str):
    """CUPED by hand: per-user values from the session sums (Deng's linearisation), OLS with HC1 (statsmodels)."""
    kind, num, den = readout.METRICS[metric]
    t = users["treated"].to_numpy(float)
    y = users[num].to_numpy(float).copy()
    x = users["pre_" + num].to_numpy(float).copy()
    if kind == "share":
        y, x = (y > 0).astype(float), (x > 0).astype(float)
    if den is not None:
        n, m = users[den].to_numpy(float), users["pre_" + den].to_numpy(float)
        for arm in (0.0, 1.0):
            k = t == arm
            r = y[k].sum() / n[k].sum()
            y[k] = r + (y[k] - r * n[k]) / n[k].mean()
        r = x.sum() / m.sum()
        x = r + (x - r * m) / m.mean()
    exog = pd.DataFrame({"const": 1.0, "t": t, "pre": x - x.mean()})
    return sm.OLS(y, exog).fit(cov_type="HC1"), sm.OLS(y, exog[["const", "t"]]).fit(cov_type="HC1"), y, x


@pytest.mark.parametrize("metric", ["session_conversion", "buyer_share", "revenue_per_user"])
def test_cuped_is_ols_on_the_centred_pre_period_value(result, metric):
    c = readout.cuped(result.users, metric, 0.05)
    adjusted, plain, y, x = _cuped_ols(result.users, metric)
    assert c.diff == pytest.approx(adjusted.params["t"], rel=1e-6, abs=1e-12)
    assert c.diff_se == pytest.approx(adjusted.bse["t"], rel=1e-6)
    assert c.theta == pytest.approx(adjusted.params["pre"], rel=1e-6)
    assert c.p_value == pytest.approx(adjusted.pvalues["t"], rel=1e-6, abs=1e-12)
    assert (c.diff_lo, c.diff_hi) == pytest.approx(tuple(adjusted.conf_int().loc["t"]), rel=1e-6)
    assert c.unadjusted_diff == pytest.approx(plain.params["t"], rel=1e-6, abs=1e-12)
    assert c.unadjusted_se == pytest.approx(plain.bse["t"], rel=1e-6)
    primary = readout.estimate(result.users, metric, 0.05)
    assert c.unadjusted_diff == pytest.approx(primary.diff, rel=1e-9, abs=1e-12)  # the same lift, unadjusted
    # variance reduction against 1 - rho^2, rho the within-arm correlation of outcome and covariate
    t = result.users["treated"].to_numpy(bool)
    ry = np.where(t, y - y[t].mean(), y - y[~t].mean())
    rx = np.where(t, x - x[t].mean(), x - x[~t].mean())
    rho2 = np.corrcoef(ry, rx)[0, 1] ** 2
    assert c.rho_squared == pytest.approx(rho2, rel=1e-9)
    assert c.variance_reduction > 0.02
    assert c.variance_reduction == pytest.approx(rho2, rel=0.15)


def test_cuped_reduction_follows_rho_squared_in_a_world_with_strong_users():
    """With strongly lasting users the pre-period predicts more, and the variance falls by rho^2 as CUPED says."""
    world = (("user_effect_sd", 3.0), ("user_trait_share", 0.9))
    data = simulate_experiment(
        ExperimentDesign(users=20_000, pre_period_days=28, pre_sessions_per_user=4.0, world=world, seed=8), raw=False
    )
    r = readout.analyse(data.sessions, readout.Plan(start_date=START))
    c = r.cuped
    assert c.rho_squared > 0.2
    assert c.variance_reduction == pytest.approx(c.rho_squared, rel=0.1)
    assert c.diff_se == pytest.approx(c.unadjusted_se * math.sqrt(1 - c.rho_squared), rel=0.05)


def test_iv_agrees_with_statsmodels_2sls(result, in_test):
    """2SLS by hand = statsmodels' IV2SLS (point, nonrobust SE), = the Wald ratio; the clustered SE by influence."""
    from statsmodels.sandbox.regression.gmm import IV2SLS

    iv = result.instrument
    s = in_test
    d = np.log1p(s["pre_conversion_event_count"].to_numpy(float))
    y, z = s["did_purchase"].to_numpy(float), s["t"].to_numpy()
    fit = IV2SLS(y, sm.add_constant(d), sm.add_constant(z)).fit()
    assert iv.effect == pytest.approx(fit.params[1], rel=1e-6)
    assert iv.effect_se_nonrobust == pytest.approx(fit.bse[1], rel=1e-6)
    wald = (y[z == 1].mean() - y[z == 0].mean()) / (d[z == 1].mean() - d[z == 0].mean())
    assert iv.effect == pytest.approx(wald, rel=1e-9)
    assert iv.reduced_form / iv.first_stage == pytest.approx(wald, rel=1e-9)
    # clustered SE: each session's influence on the ratio cov(z, y) / cov(z, d), summed within users (CR1)
    e = y - y.mean() - wald * (d - d.mean())
    influence = (z - z.mean()) * e / np.sum((z - z.mean()) * (d - d.mean()))
    totals = np.bincount(pd.factorize(s["user_id"])[0], weights=influence)
    g = totals.size
    assert iv.effect_se == pytest.approx(math.sqrt(g / (g - 1) * np.sum(totals**2)), rel=1e-6)
    first = sm.OLS(d, sm.add_constant(z)).fit()
    assert iv.first_stage == pytest.approx(first.params[1], rel=1e-9)
    assert iv.first_stage_f_nonrobust == pytest.approx(first.fvalue, rel=1e-6)
    clustered = sm.OLS(d, sm.add_constant(z)).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(s["user_id"])[0]}
    )
    k, n = 2, len(d)
    assert iv.first_stage_f == pytest.approx(
        clustered.tvalues[1] ** 2 * (n - 1) / (n - k), rel=1e-6
    )  # CR1 without (n-1)/(n-k)
    assert iv.strong and iv.users == 20_000


def test_srm_is_the_chi_square_test_and_stops_an_injected_imbalance():
    data = simulate_experiment(ExperimentDesign(users=20_000, treatment_share=0.52, seed=11), raw=False)
    r = readout.analyse(data.sessions, readout.Plan(start_date=START))
    assert r.srm.status == "stop" and r.decision == "stopped_srm"
    assert r.srm.p_value == pytest.approx(chisquare(r.srm.users).pvalue, rel=1e-9)
    assert r.srm.chi2 == pytest.approx(chisquare(r.srm.users).statistic, rel=1e-12)
    uneven = readout.sample_ratio({"control": 6_100, "treatment": 3_900}, {"control": 0.6, "treatment": 0.4})
    assert uneven.p_value == pytest.approx(chisquare([6_100, 3_900], [6_000, 4_000]).pvalue, rel=1e-9)
    assert (
        readout.sample_ratio({"control": 5_000, "treatment": 5_000}, {"control": 0.5, "treatment": 0.5}).status == "ok"
    )
    assert readout.sample_ratio({"control": 5_150, "treatment": 4_850}, None).status == "warn"
    unplanned = readout.sample_ratio({"control": 10, "treatment": 10, "other": 3}, {"control": 0.5, "treatment": 0.5})
    assert unplanned.status == "stop"  # users in a variant the plan does not have


def test_srm_detection_and_false_alarm_rates():
    """52/48 of 20,000 users is stopped in (nearly) every assignment; 50/50 about as often as the threshold."""
    detected = readout.srm_rates(20_000, 0.52, 200, seed=1)
    assert binomtest(detected, 200, 0.95, alternative="less").pvalue >= 0.01
    alarms = readout.srm_rates(20_000, 0.5, 2_000, seed=2)
    assert binomtest(alarms, 2_000, readout.SRM_STOP).pvalue >= 0.01


@pytest.mark.slow  # many simulated replications, which `make validate` checks at a larger scale: in `make test-all`
def test_aa_false_positive_rate():
    """A/A experiments (no lift): the primary test rejects at about alpha."""
    plan = readout.Plan(start_date=START)
    rejections = 0
    for seed in range(100):
        data = simulate_experiment(ExperimentDesign(users=1_500, density_lift=0.0, seed=1000 + seed), raw=False)
        users = readout.per_user(data.sessions.assign(treated=data.sessions["variant"] == "treatment"), None)
        rejections += readout.estimate(users, plan.primary, plan.alpha).p_value < plan.alpha
    assert binomtest(rejections, 100, 0.05).pvalue >= 0.01


@pytest.mark.slow  # many simulated replications, which `make validate` checks at a larger scale: in `make test-all`
def test_lift_ci_covers_the_true_lift():
    """Simulated experiments with a known lift: the primary CI and the CUPED CI cover the true difference."""
    covered = covered_cuped = 0
    runs = 40
    for seed in range(runs):
        data = simulate_experiment(ExperimentDesign(users=3_000, pre_period_days=14, seed=2000 + seed), raw=False)
        test = data.sessions[data.sessions["started_at"] >= data.sessions["exposed_at"]]
        pre = data.sessions[data.sessions["started_at"] < data.sessions["exposed_at"]]
        treated = test.assign(treated=test["variant"] == "treatment")
        users = readout.per_user(treated, pre)
        e, c = readout.estimate(users, "session_conversion", 0.05), readout.cuped(users, "session_conversion", 0.05)
        truth = data.truth.conversion_diff
        covered += e.diff_lo <= truth <= e.diff_hi
        covered_cuped += c.diff_lo <= truth <= c.diff_hi
    assert binomtest(covered, runs, 0.95, alternative="less").pvalue >= 0.01
    assert binomtest(covered_cuped, runs, 0.95, alternative="less").pvalue >= 0.01


def test_mechanism_moves_the_targeted_behaviour(result):
    """The lever raises browsing events and events per minute; Holm adjusts across secondaries and mechanism."""
    mech = {e.metric: e for e in result.mechanism}
    assert mech["browsing_events"].diff_lo > 0
    assert mech["events_per_minute"].diff_lo > 0
    family = result.secondary + result.mechanism
    expected = multipletests([e.p_value for e in family], method="holm")[1]
    np.testing.assert_allclose([e.p_holm for e in family], expected, rtol=1e-12)
    assert result.primary.p_holm is None


def test_over_time_is_the_primary_metric_per_day(result, in_test):
    assert result.period == "day" and len(result.over_time) == 14
    day = result.over_time[3]
    s = in_test[(in_test["started_at"] >= pd.Timestamp(day.period))]
    s = s[s["started_at"] < pd.Timestamp(day.period) + pd.Timedelta(days=1)]
    rates = s.groupby("t")["did_purchase"].mean()
    assert day.diff == pytest.approx(rates[1.0] - rates[0.0], abs=1e-12)
    assert day.users_control + day.users_treatment == s["user_id"].nunique()
    weekly = readout.analyse(in_test.drop(columns="t"), readout.Plan(start_date=START), readout.Settings(period="week"))
    assert [w.period for w in weekly.over_time] == ["2026-02-02", "2026-02-09"]


# --------------------------------------------------------------------------------------------
# The decision, guardrails and what the data cannot support
# --------------------------------------------------------------------------------------------


def hand_table(p0: float, p1: float, users: int = 4_000, seconds1: float = 100.0, seed: int = 0) -> pd.DataFrame:
    """Two sessions per user, purchases at ``p0`` / ``p1``, session seconds 100 in control and ``seconds1`` treated."""
    rng = np.random.default_rng(seed)
    user = np.repeat(np.arange(2 * users), 2)
    treated = user >= users
    bought = rng.random(user.size) < np.where(treated, p1, p0)
    seconds = np.where(treated, seconds1, 100.0) * rng.uniform(0.9, 1.1, user.size)
    return pd.DataFrame(
        {
            "user_id": user,
            "variant": np.where(treated, "treatment", "control"),
            "started_at": pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, 14 * 86_400, user.size), unit="s"),
            "did_purchase": bought.astype(int),
            "amount_usd": np.where(bought, 50.0, 0.0),
            "session_seconds": seconds,
        }
    )


def plan(**kw) -> readout.Plan:
    return readout.Plan(**{"users_per_arm": 4_000, "start_date": START} | kw)


def test_decisions_follow_the_plans_rule():
    rails = [readout.Guardrail("session_seconds", 0.05, "higher")]
    assert readout.analyse(hand_table(0.10, 0.20), plan(guardrails=rails)).decision == "ship"
    assert readout.analyse(hand_table(0.20, 0.10), plan(guardrails=rails)).decision == "no_ship"
    longer = readout.analyse(hand_table(0.10, 0.20, seconds1=110.0), plan(guardrails=rails))
    assert longer.decision == "no_ship" and not longer.guardrails[0].passed
    null = readout.analyse(hand_table(0.10, 0.10), plan(guardrails=rails))
    assert null.decision == "no_ship" and null.rules["full_size"]  # full size, no effect: not shipped
    short = readout.analyse(hand_table(0.10, 0.10), plan(guardrails=rails, users_per_arm=40_000))
    assert short.decision == "inconclusive" and short.rules["full_size"] is False
    assert 0 < short.achieved_power < 0.8
    assert readout.analyse(hand_table(0.10, 0.20), None).decision == "exploratory"
    assert readout.analyse(hand_table(0.10, 0.20), None).plan_hash is None


def test_a_guardrail_passes_only_when_its_bound_clears_the_margin():
    """No detected change is not enough: a wide CI reaching past the margin fails."""
    wide = readout.analyse(
        hand_table(0.10, 0.10, users=60), plan(guardrails=[readout.Guardrail("revenue_per_session", 0.05, "lower")])
    )
    rail = wide.guardrails[0]
    assert rail.rel_lo < -0.05 and not rail.passed and wide.decision != "ship"
    users = readout.per_user(hand_table(0.1, 0.1).assign(treated=lambda f: f["variant"] == "treatment"), None)
    tight = readout.guardrail(users, readout.Guardrail("session_seconds", 0.05, "higher"), 0.05)
    assert tight.passed and tight.bound < 0.05 and tight.p_value < 0.05
    # one-sided at the plan's alpha, as 06 sizes the guardrail: Fieller's upper root of the ratio, by hand
    e = readout.estimate(users, "session_seconds", 0.05)
    z = norm.ppf(0.95)
    gap = lambda r: (e.treatment - r * e.control) ** 2 - z**2 * (e.treatment_se**2 + r**2 * e.control_se**2)  # noqa: E731
    upper = brentq(gap, e.treatment / e.control, 10.0)
    assert tight.bound == pytest.approx(upper - 1, rel=1e-9)
    for check in (rail, tight):
        assert check.passed == (check.p_value < 0.05)


def test_the_relative_lift_s_ci_is_fieller_s_and_agrees_with_the_difference_s_test(result):
    """Each relative CI is Fieller's (checked by root finding), and excludes 0 exactly when the difference's Wald
    test rejects; CUPED's uses the covariance of the adjusted control mean and the difference."""
    z = norm.ppf(0.975)
    for e in [*result.secondary, *result.mechanism]:
        if e.method != "delta":
            continue
        gap = lambda r: (e.treatment - r * e.control) ** 2 - z**2 * (e.treatment_se**2 + r**2 * e.control_se**2)  # noqa: E731, B023
        ratio = e.treatment / e.control
        assert e.rel_lo == pytest.approx(brentq(gap, 1e-9, ratio) - 1, rel=1e-7, abs=1e-10)
        assert e.rel_hi == pytest.approx(brentq(gap, ratio, 100.0) - 1, rel=1e-7, abs=1e-10)
        assert (e.rel_lo > 0 or e.rel_hi < 0) == (e.p_value < 0.05), e.metric
    c = result.cuped
    assert (c.rel_lo > 0 or c.rel_hi < 0) == (c.diff_lo > 0 or c.diff_hi < 0)
    assert readout.fieller(1.0, 0.1, 0.01, 0.01, 0.0, 1.96) == (float("-inf"), float("inf"))  # denominator unclear


def test_plan_hash_and_json_round_trip(result):
    p = plan()
    assert p.hash() == plan().hash() and p.hash() != plan(alpha=0.01).hash()
    assert readout.Plan.from_json(p.to_json()) == p
    json.dumps(result.to_json(), allow_nan=False)  # plain numbers, codes and lists only
    again = readout.ReadoutResult.from_json(result.to_json())
    assert again.to_json() == result.to_json()
    assert isinstance(again.guardrails[0], readout.GuardrailCheck) and isinstance(again.cuped, readout.Cuped)


def test_what_the_data_cannot_support():
    table = hand_table(0.1, 0.2).drop(columns=["amount_usd", "started_at"])
    r = readout.analyse(table, plan())
    assert {"no_prices", "no_dates", "no_pre_period", "no_timing"} <= set(r.missing)
    assert r.over_time == [] and r.cuped is None and r.instrument is None and r.mechanism == []
    assert not any(e.metric.startswith("revenue") for e in r.secondary)
    assert r.rules["guardrails_within_margin"] is False  # a planned guardrail that cannot be measured does not pass
    per_user_export = hand_table(0.1, 0.2).groupby("user_id").first().reset_index()  # one row per user
    assert readout.analyse(per_user_export, None).primary.users_control == 4_000


def test_bad_inputs_name_the_column():
    with pytest.raises(DataContractError, match="variant"):
        readout.analyse(hand_table(0.1, 0.2).drop(columns="variant"), None)
    three = hand_table(0.1, 0.2)
    three.loc[:10, "variant"] = "other"
    with pytest.raises(DataContractError, match="exactly two"):
        readout.analyse(three, None)


def test_intention_to_treat_first_exposure_second():
    """With a start date every test session counts; sessions from each user's exposure on give the secondary."""
    table = hand_table(0.1, 0.2)
    rng = np.random.default_rng(4)
    first = table.groupby("user_id")["started_at"].transform("min")
    table["exposed_at"] = first + pd.to_timedelta(
        rng.integers(0, 3 * 86_400, len(table)) * (table["user_id"] % 3 == 0), unit="s"
    )
    table["exposed_at"] = table.groupby("user_id")["exposed_at"].transform("first")
    r = readout.analyse(table, plan())
    assert sum(r.sessions_per_arm) == len(table)  # intention to treat: every session from the start date
    kept = table[table["started_at"] >= table["exposed_at"]]
    assert 0 < len(kept) < len(table)
    users = readout.per_user(kept.assign(treated=kept["variant"] == "treatment"), None)
    assert r.exposed.diff == pytest.approx(readout.estimate(users, "session_conversion", 0.05).diff, abs=1e-12)
    assert readout.analyse(table.drop(columns="exposed_at"), plan()).exposed is None


def test_sessions_without_a_variant_are_dropped_and_counted():
    table = hand_table(0.1, 0.2)
    table.loc[:9, "variant"] = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = readout.analyse(table, None)
    assert r.dropped_sessions == 10
