"""make compare: the statistics on hand-computed numbers and simulated draws, then whole runs compared.

The unit tests start no kernel: small simulated runs are analysed in-process (03 and 04, as
``make validate`` runs them) and recorded as a run would record them, so the comparison's design
(independent, same seed, same data) is tested on known pairs. The whole-report comparisons reuse the
session's default and time-matters reports (copied into one root) and a report on the shared real
sample, made once for the module.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import stats as analysis_stats
from helpers.compare import __main__ as cli
from helpers.compare import comparison, page, stats, words
from helpers.data import duck
from helpers.data.files import data_fingerprint, write_json
from helpers.data.gold import build_gold
from helpers.data.simulate import SimConfig, simulate_to_parquet

from .test_site import CHROMIUM, WIDTHS, _dead_links, visible_text

SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "rees46_oct_sample" / "events.csv"

# --------------------------------------------------------------------------------------------
# The statistics, by hand
# --------------------------------------------------------------------------------------------


def test_difference_of_two_independent_estimates_by_hand():
    d = stats.difference(0.10, 0.03, 0.14, 0.04)  # se of the difference: sqrt(0.03² + 0.04²) = 0.05
    assert d.value == pytest.approx(0.04)
    assert (d.lo, d.hi) == pytest.approx((0.04 - 1.959964 * 0.05, 0.04 + 1.959964 * 0.05), abs=1e-6)
    assert d.p == pytest.approx(0.423711, abs=1e-5)  # 2 × (1 - Φ(0.8))
    assert not d.flagged
    assert stats.difference(0.10, 0.01, 0.14, 0.01).flagged  # z = 2.83
    assert stats.difference(0.10, 0.0, 0.10, 0.0).p == 1.0 and not stats.difference(0.1, 0, 0.1, 0).flagged


def test_ratio_of_odds_ratios_from_their_recorded_cis_by_hand():
    # A: OR 2 [1, 4]; B: OR 4 [2, 8]. Each log-scale SE is ln 4 / (2 × 1.96) = 0.35365.
    d = stats.difference_of_estimates(2.0, 1.0, 4.0, 4.0, 2.0, 8.0, scale="log")
    se = math.hypot(math.log(4) / (2 * 1.959964), math.log(4) / (2 * 1.959964))
    assert se == pytest.approx(0.500146, abs=1e-5)
    assert d.scale == "log" and d.value == pytest.approx(2.0)
    assert (d.lo, d.hi) == pytest.approx((0.750435, 5.330235), rel=1e-4)  # exp(ln 2 ± 1.96 × 0.500146)
    assert d.p == pytest.approx(0.16576, abs=1e-4) and not d.flagged
    # spend: +10 % [0 %, +21 %] against +10 % [0 %, +21 %] on log(1 + %/100): no change, ratio 1
    same = stats.difference_of_estimates(10.0, 0.0, 21.0, 10.0, 0.0, 21.0, scale="log1p_pct")
    assert same.value == pytest.approx(1.0) and same.p == pytest.approx(1.0)
    assert words.difference("ratio", d) == "×2.00 [0.75, 5.33]"


def test_ratio_of_sums_is_the_plain_se_with_single_sessions_and_the_clustered_one_with_repeat_users():
    bought = np.array([1, 0, 0, 1, 0, 0, 0, 1], float)
    plain = stats.ratio_of_sums(8, bought.sum(), 8.0, (bought**2).sum(), bought.sum(), 8.0)
    assert plain.estimate == pytest.approx(3 / 8)
    assert plain.se == pytest.approx(bought.std(ddof=1) / math.sqrt(8))
    users = np.array([0, 0, 1, 1, 1, 2, 3, 3])
    y = np.bincount(users, weights=bought)
    n = np.bincount(users).astype(float)
    clustered = stats.ratio_of_sums(4, y.sum(), n.sum(), (y * y).sum(), (y * n).sum(), (n * n).sum())
    assert clustered.se == pytest.approx(analysis_stats.clustered_mean_se(bought, users))


def test_psi_by_hand_and_its_thresholds():
    # A 50/50, B 80/20; shares smoothed as (count + 0.5) / (100 + 1): A 0.5, 0.5; B 80.5/101, 20.5/101
    b1, b2 = 80.5 / 101, 20.5 / 101
    expected = (b1 - 0.5) * math.log(b1 / 0.5) + (b2 - 0.5) * math.log(b2 / 0.5)
    assert expected == pytest.approx(0.406287, abs=1e-6)
    assert stats.psi_from_counts([50, 50], [80, 20]) == pytest.approx(expected)
    drift = stats.psi(pd.Series(["x"] * 50 + ["y"] * 50), pd.Series(["x"] * 80 + ["y"] * 20))
    assert drift.psi == pytest.approx(expected) and drift.verdict == "moved" and drift.labels == ["x", "y"]
    assert stats.psi_from_counts([50, 50], [55, 45]) < stats.PSI_SHIFT
    # numbers: deciles of A; a shift of the whole distribution by one SD moves it
    rng = np.random.default_rng(1)
    a = rng.normal(size=5000)
    assert stats.psi(a, a).psi == pytest.approx(0.0)
    assert stats.psi(a, a + 1).psi > stats.PSI_MOVED
    # 1 and 1.0 are one level; few values are levels, not deciles
    assert stats.psi(pd.Series([0, 1, 1]), pd.Series([0.0, 1.0, 1.0])).psi == pytest.approx(0.0)


def test_two_seeds_of_one_world_differ_beyond_chance_at_the_stated_rate():
    """Repeated pairs of independent samples from one world: 95 % CIs of the difference flag about 5 %."""
    rng = np.random.default_rng(7)
    reps, users, per_user = 2000, 600, 3
    flags_clustered = flags_naive = 0
    for _ in range(reps):
        pair = []
        for _side in range(2):
            # users with a shared propensity (several sessions each): sessions are not independent
            p = 1 / (1 + np.exp(-(-3.0 + rng.normal(0, 1.2, users))))
            y = rng.binomial(per_user, p).astype(float)
            n = np.full(users, float(per_user))
            mean = stats.ratio_of_sums(users, y.sum(), n.sum(), (y * y).sum(), (y * n).sum(), (n * n).sum())
            naive_se = math.sqrt(mean.estimate * (1 - mean.estimate) / n.sum())  # sessions taken as independent
            pair.append((mean.estimate, mean.se, naive_se))
        (a, se_a, naive_a), (b, se_b, naive_b) = pair
        flags_clustered += stats.difference(a, se_a, b, se_b).flagged
        flags_naive += stats.difference(a, naive_a, b, naive_b).flagged
    rate = flags_clustered / reps
    assert 0.033 <= rate <= 0.067, rate  # 5 % ± 3.5 binomial SEs
    assert flags_naive / reps > rate  # ignoring the users would flag too often

    # key estimates recorded as odds ratios with 95 % CIs, drawn around one true value
    se = 0.08
    logs = rng.normal(math.log(1.5), se, size=(reps, 2))
    flags = 0
    for la, lb in logs:
        ci = lambda x: (math.exp(x - 1.959964 * se), math.exp(x + 1.959964 * se))  # noqa: E731
        flags += stats.difference_of_estimates(math.exp(la), *ci(la), math.exp(lb), *ci(lb), scale="log").flagged
    assert 0.033 <= flags / reps <= 0.067

    # drift between two seeds of one world stays under the threshold
    worst = max(stats.psi(rng.lognormal(3, 1, 20_000), rng.lognormal(3, 1, 20_000)).psi for _ in range(50))
    assert worst < stats.PSI_SHIFT


def test_a_change_is_explained_by_its_numbers_and_its_test():
    def est(value, lo, hi, verdict):
        return comparison.Estimate(
            "03_conversion", "time", "03 time", "odds ratio per SD", value, lo, hi, "log", (1 / 1.15, 1.15), verdict
        )

    a, b = est(1.19, 0.90, 1.58, "unclear"), est(2.18, 1.87, 2.55, "positive")
    for e in (a, b):
        e.band_lo, e.band_hi = e.lo, e.hi
    text = words.estimate_change(a, b)
    assert "rose from 1.19 [0.90, 1.58] to 2.18 [1.87, 2.55]" in text
    assert "now lies above the negligible band [0.87, 1.15] (it crossed an edge of it in A)" in text
    assert "larger than chance" in text and "p < 0.001" in text
    assert "not distinguishable from chance" in words.estimate_change(a, est(1.25, 0.95, 1.64, "unclear"))
    assert "within chance" not in words.estimate_change(a, est(1.25, 0.95, 1.64, "unclear"))


# --------------------------------------------------------------------------------------------
# A comparison that knows its design (issue 34, point 7)
# --------------------------------------------------------------------------------------------


def test_holm_by_hand_and_as_statsmodels():
    from statsmodels.stats.multitest import multipletests

    # 0.01 x 4 = 0.04; 0.02 x 3 = 0.06; 0.03 x 2 = 0.06 (kept monotone); 0.5 x 1 = 0.5
    assert stats.holm([0.02, None, 0.01, 0.5, 0.03]) == pytest.approx([0.06, None, 0.04, 0.5, 0.06])
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 9)
    assert stats.holm(list(p)) == pytest.approx(list(multipletests(p, method="holm")[1]))
    d = stats.Difference(0.1, 0.01, 0.19, 0.02, p_adjusted=0.06)
    assert not d.flagged  # its own 95 % CI excludes 0, but not once the family is counted


def test_holm_keeps_false_flags_across_the_rows_of_a_page_at_five_percent():
    """Seven rows with nothing changed: per-row tests flag at least one row in ~30 % of pages, Holm in <= 5 %."""
    rng = np.random.default_rng(11)
    pages, rows, per_row, holm_any = 2000, 7, 0, 0
    for _ in range(pages):
        diffs = [stats.difference(0.0, 1.0, b, 1.0) for b in rng.normal(0, math.sqrt(2), rows)]
        per_row += any(d.flagged for d in diffs)
        comparison.adjust(diffs)
        holm_any += any(d.flagged for d in diffs)
    assert per_row / pages == pytest.approx(1 - 0.95**7, abs=0.03)  # 0.30
    assert holm_any / pages <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / pages)


def test_paired_difference_keeps_the_correlation_that_the_independent_formula_drops():
    """Users seen in both runs with correlated outcomes (rho = 0.9): the paired SE matches the spread of the
    difference over replications, and sqrt(se_a² + se_b²) overstates it about 1 / sqrt(1 - 0.9) = 3.2 times."""
    # by hand: two users, one session each in both runs; A buys (1, 0), B buys (1, 1)
    d = stats.paired_ratio_difference([1, 0], [1, 1], [1, 1], [1, 1])
    # influence: B part (y - 1)/2 = (0, 0); A part (y - 0.5)/2 = (0.25, -0.25); SE = sqrt(2 × 0.125) = 0.5
    assert d.value == pytest.approx(0.5) and (d.hi - d.value) == pytest.approx(1.959964 * 0.5, abs=1e-5)
    rng = np.random.default_rng(5)
    users, reps, rho = 2000, 400, 0.9
    diffs, paired_se, independent_se = [], [], []
    for _ in range(reps):
        z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], users)
        n = np.ones(users)
        ya, yb = 10 + z[:, 0], 10.05 + z[:, 1]
        pd_ = stats.paired_ratio_difference(ya, n, yb, n)
        diffs.append(pd_.value)
        paired_se.append((pd_.hi - pd_.lo) / (2 * stats.Z95))
        ma = stats.ratio_of_sums(users, ya.sum(), n.sum(), (ya * ya).sum(), ya.sum(), n.sum())
        mb = stats.ratio_of_sums(users, yb.sum(), n.sum(), (yb * yb).sum(), yb.sum(), n.sum())
        independent_se.append(math.hypot(ma.se, mb.se))
    true_sd = np.std(diffs, ddof=1)
    assert np.mean(paired_se) == pytest.approx(true_sd, rel=0.1)
    assert np.mean(independent_se) / true_sd == pytest.approx(1 / math.sqrt(1 - rho), rel=0.12)
    # independent samples: the paired formula gives the independent SE
    ya, yb = rng.normal(10, 1, users), rng.normal(10, 1, users)
    n = np.ones(users)
    ma = stats.ratio_of_sums(users, ya.sum(), n.sum(), (ya * ya).sum(), ya.sum(), n.sum())
    mb = stats.ratio_of_sums(users, yb.sum(), n.sum(), (yb * yb).sum(), yb.sum(), n.sum())
    got = stats.paired_ratio_difference(ya, n, yb, n)
    assert (got.hi - got.lo) / (2 * stats.Z95) == pytest.approx(math.hypot(ma.se, mb.se), rel=0.1)


def _estimate(value, lo, hi, verdict, feature="time"):
    unit = "% change in spend per SD"
    band = (-5.0, 5.0)
    e = comparison.Estimate("04_spend", feature, f"04 {feature}", unit, value, lo, hi, "log1p_pct", band, verdict)
    e.band_lo, e.band_hi = lo, hi
    return e


def test_a_verdict_that_flips_within_chance_is_not_a_changed_conclusion():
    # 04's time: -6.1 % [-11.0, -0.9] (unclear) in A, -4.0 % [-8.0, +0.2] in B (unclear too) would not flip;
    # here A's CI clears the band's edge and B's does not: the verdict flips, the estimate barely moved
    a, b = _estimate(-8.0, -12.5, -5.2, "negative"), _estimate(-6.5, -10.9, -1.9, "unclear")
    moved = comparison.estimate_test(a, b)
    assert moved.tested and moved.p > 0.3
    assert comparison.change_status("time negative", "time unclear", [moved], "independent") == "within_chance"
    assert "not distinguishable from chance" in words.estimate_change(a, b, moved)
    far = comparison.estimate_test(a, _estimate(12.0, 7.0, 17.2, "positive"))
    assert comparison.change_status("time negative", "time positive", [far], "independent") == "changed"
    untested = comparison.estimate_test(a, b, "same_seed")
    assert not untested.tested and untested.value == pytest.approx((1 - 0.065) / (1 - 0.08))
    assert comparison.change_status("x", "y", [untested], "same_seed") == "untested"
    assert "the test does not apply" in words.estimate_change(a, b, untested)
    assert comparison.change_status("x", "y", [untested], "same_data") == "settings"
    assert comparison.change_status("not estimated", "y", [], "independent") == "estimability"
    assert "within_chance" not in comparison.COUNTED and "untested" not in comparison.COUNTED


SMALL = 8_000  # sessions of each small run


def _record_run(root: Path, name: str, cfg: SimConfig, settings_changed: dict | None = None, like: str | None = None):
    """A small simulated run as ``make report`` records it: raw and gold tables, 01-04's results, run.json."""
    from helpers.runner import validate

    data = root / "data" / name
    if like:
        shutil.copytree(root / "data" / like, data)
        truth = json.loads((data / "raw" / "truth.json").read_text())
    else:
        truth = simulate_to_parquet(cfg, data / "raw")
        build_gold(data / "raw", data / "gold")
        con = duck.connect()
        gold_file = data / "gold" / "sessions.parquet"
        source = f"read_parquet('{gold_file}/*.parquet')" if gold_file.is_dir() else f"read_parquet('{gold_file}')"
        rows, buyers, revenue, first, last = con.execute(
            f"SELECT count(*), sum(did_purchase), sum(amount_usd), min(started_at)::VARCHAR, max(started_at)::VARCHAR"
            f" FROM {source}"
        ).fetchone()
        results_dir = data / "results"
        results_dir.mkdir(parents=True)
        write_json({"source": "simulator", "config": cfg.as_dict(), "counts": {"sessions": cfg.n_sessions}},
                   results_dir / "01_simulate.json")  # fmt: skip
        write_json({"rows": rows, "buyers": int(buyers), "revenue_usd": float(revenue), "time_range": [first, last]},
                   results_dir / "02_gold_table.json")  # fmt: skip
        for nb in ("03_conversion", "04_spend"):
            result = validate.ANALYSES[nb].analyse(data / "gold", validate.settings(nb, cfg.seed), truth)
            write_json(result.to_json(), results_dir / f"{nb}.json")
    reports = root / "reports" / name
    reports.mkdir(parents=True)
    parameters = {"seed": cfg.seed, "n_sessions": cfg.n_sessions, "time_effect": cfg.time_effect,
                  "engagement_effect": cfg.engagement_effect, **(settings_changed or {})}  # fmt: skip
    record = {"parameters": parameters, "data_fingerprint": data_fingerprint(data / "raw"),
              "finished_utc": "2026-01-01T00:00:00+00:00", "stale": []}  # fmt: skip
    (reports / "run.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    """Four small runs: 'base' (seed 11), 'knob' (seed 11, time matters: the same seed), 'other' (seed 12, time
    matters: independent) and 'again' (base's data with another analysis setting: the same data)."""
    root = tmp_path_factory.mktemp("design")
    tm = {"time_effect": 1.0, "engagement_effect": 0.3}
    _record_run(root, "base", SimConfig(n_sessions=SMALL, seed=11))
    _record_run(root, "knob", SimConfig(n_sessions=SMALL, seed=11, **tm))
    _record_run(root, "other", SimConfig(n_sessions=SMALL, seed=12, **tm))
    _record_run(root, "again", SimConfig(n_sessions=SMALL, seed=11), {"negligible_or": 1.2}, like="base")
    return root


@pytest.fixture
def small(small_runs, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_ROOT", str(small_runs / "data"))
    monkeypatch.setenv("CLICKSTREAM_REPORTS_ROOT", str(small_runs / "reports"))
    monkeypatch.delenv("CLICKSTREAM_RUN_DIR", raising=False)
    return small_runs


def _text(html_text: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", html_text))


def test_two_same_seed_runs_say_the_independent_test_does_not_apply(small):
    found = comparison.compare("base", "knob")
    assert found.design == "same_seed" and found.shared_users > 0
    rows = {m.label.split(":")[0]: m for m in found.metrics}
    for label in ("03 engagement", "03 time"):  # recorded only with their CIs: no test, no flag
        assert rows[label].diff.method == "not_applicable" and not rows[label].diff.tested
        assert rows[label].diff.value is not None and not rows[label].diff.flagged
    conv = rows["conversion"].diff  # the means are paired over the shared users
    assert conv.method == "paired_users" and conv.tested and conv.p_adjusted is not None
    a, b = (comparison.open_run(n) for n in ("base", "knob"))
    means = [comparison.headline_means(comparison.gold_totals(r.gold_dir))["conversion"] for r in (a, b)]
    independent = comparison._mean_row("conversion", "share", *means).diff
    assert (conv.hi - conv.lo) < 0.8 * (independent.hi - independent.lo)  # the shared browsing narrows it
    conv_answer = next(c for c in found.conclusions if c.page == "03_conversion")
    if conv_answer.verdict_a != conv_answer.verdict_b:
        assert conv_answer.status == "untested" and not conv_answer.changed
    raw = page.render(found)
    text = _text(raw)
    assert "the independent-samples test does not apply" in text
    assert "no test: shared data or seed" in text
    assert raw.index('<h2 id="data"') < raw.index('<h2 id="metrics"')  # the cause first
    assert raw.index('class="design"') < raw.index('class="headline"')  # the design before any number
    assert "Holm" in text and "within chance" not in text


def test_independent_runs_are_tested_and_the_flags_are_holm_adjusted(small):
    found = comparison.compare("base", "other")
    assert found.design == "independent"
    tested = [m for m in found.metrics if m.diff.tested]
    assert all(m.diff.method == "independent" and m.diff.p_adjusted is not None for m in tested)
    assert any(m.label.startswith("03 time") for m in tested)
    ps = [m.diff.p for m in tested]
    assert [m.diff.p_adjusted for m in tested] == pytest.approx(stats.holm(ps))
    assert "A and B are independent samples" in _text(page.render(found))


def test_runs_on_one_data_set_compare_settings_not_samples(small):
    found = comparison.compare("base", "again")
    assert found.design == "same_data"
    conv = next(m for m in found.metrics if m.label == "conversion").diff
    assert conv.value == pytest.approx(0.0) and not conv.flagged
    assert all(not m.diff.tested for m in found.metrics if m.label.startswith(("03", "04")))
    assert ("negligible_or", "absent", "1.2") in found.parameters
    assert "read the same data" in _text(page.render(found))


# --------------------------------------------------------------------------------------------
# Whole runs
# --------------------------------------------------------------------------------------------


def _copy_run(src_reports: Path, root: Path, name: str, new: str | None = None) -> None:
    new = new or name
    shutil.copytree(src_reports.parents[1] / "data" / name, root / "data" / new)
    shutil.copytree(src_reports, root / "reports" / new)


@pytest.fixture(scope="module")
def world(default_report, time_matters_report, request, tmp_path_factory):
    """One root holding the default run, the time-matters run and (when present) the shared real sample."""
    root = tmp_path_factory.mktemp("compare")
    _copy_run(default_report[0], root, "default")
    _copy_run(time_matters_report[0], root, "tm")
    if SHARED_SAMPLE.exists():
        _copy_run(request.getfixturevalue("rees46_report")[0], root, "rees46")
    return root


@pytest.fixture
def here(world, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_ROOT", str(world / "data"))
    monkeypatch.setenv("CLICKSTREAM_REPORTS_ROOT", str(world / "reports"))
    monkeypatch.delenv("CLICKSTREAM_RUN_DIR", raising=False)
    return world


def test_a_run_compared_with_itself_flags_nothing(here):
    found = comparison.compare("default", "default")
    assert found.metrics and not [m.label for m in found.metrics if m.diff.flagged]
    # zero up to the order of a multi-threaded float sum (revenue sums differ in the last bits between reads)
    assert all(
        m.diff.value == (pytest.approx(0.0, abs=1e-6) if m.diff.scale == "linear" else pytest.approx(1.0))
        for m in found.metrics
    )
    assert not [c.question for c in found.conclusions if c.changed]
    assert {r.change for r in found.recommendations} == {"unchanged"}
    assert found.parameters == [] and all(d.drift.psi == pytest.approx(0.0) for d in found.drift if d.drift)
    out = cli.run("default", "default")
    text = visible_text(out)
    assert "0 of" in text and "Verdict unchanged" in text and "Every parameter is the same" in text


def test_default_against_time_matters_finds_and_explains_the_conversion_change(here):
    out = cli.run("default", "tm")
    found = comparison.compare("default", "tm")
    conv = next(c for c in found.conclusions if c.page == "03_conversion")
    assert "answer engagement" in conv.verdict_a and "answer time" in conv.verdict_b
    # both runs are simulations from seed 42: not independent samples, so the change is shown, not tested
    assert found.design == "same_seed" and conv.status == "untested" and not conv.changed
    time_reason = next(r for r in conv.reasons if r.startswith("03 time"))
    assert "rose from" in time_reason and "now lies above the negligible band" in time_reason
    assert "the test does not apply" in time_reason
    time_row = next(m for m in found.metrics if m.label.startswith("03 time"))
    assert time_row.diff.method == "not_applicable" and not time_row.diff.flagged
    assert ("time_effect", "0.0", "1.0") in found.parameters
    recs = {r.id: r for r in found.recommendations}  # paired by id; the title is worded for the page
    hold = recs["time_richer_content"]
    assert (hold.change, hold.status_a, hold.status_b) == ("status changed", "withdrawn", "supported")
    assert hold.title == "Hold attention before checkout with richer product content"
    assert recs["segment_by_time"].change == "appeared"
    text = visible_text(out)
    assert time_reason.split(";")[0] in text and "Headline metrics" in text and "population stability" in text
    for run in ("default", "tm"):  # both front pages link the comparison
        assert '<a href="../compare-default-vs-tm/index.html">' in (here / "reports" / run / "index.html").read_text()
    record = json.loads((out.parent / "compare.json").read_text())
    assert record["a"]["run"] == "default" and record["b"]["run"] == "tm"


@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason=f"the shared real sample is absent ({SHARED_SAMPLE})")
def test_a_real_sample_against_a_simulated_run_shows_provenance_and_drift(here):
    out = cli.run("rees46", "default")
    found = comparison.compare("rees46", "default")
    source_a, source_b = found.provenance
    assert source_a["source"].startswith("event log") and source_a["mapping or preset"] == "preset 'rees46'"
    assert source_b["source"].startswith("simulator")
    moved = {d.column for d in found.drift if d.drift and d.drift.verdict == "moved"}
    assert "device" in moved  # unknown in the sample, known in the simulator
    assert {c.verdict_a for c in found.conclusions} == {"not estimated"}
    assert all(m.diff.value is None for m in found.metrics if m.label.startswith(("03", "04", "05")))
    raw = out.read_text()
    assert raw.count('src="data:image/png;base64,') >= 1 and "Not estimated in A" in raw


def _tree(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")}


def _refused(capsys, root: Path, a: str, b: str) -> str:
    before = _tree(root / "reports")
    assert cli.main([a, b]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert _tree(root / "reports") == before  # nothing written
    return err


def test_refusals_are_one_line_and_write_nothing(here, capsys):
    root = here
    assert "does not exist" in _refused(capsys, root, "default", "nosuchrun")

    _copy_run(root / "reports" / "tm", root, "tm", "gone_wrong")
    (root / "reports" / "gone_wrong.failed").mkdir()
    assert "failed on its last attempt" in _refused(capsys, root, "gone_wrong", "default")

    _copy_run(root / "reports" / "tm", root, "tm", "old_pages")
    record_path = root / "reports" / "old_pages" / "run.json"
    record = json.loads(record_path.read_text())
    record["stale"] = ["04_spend"]
    record_path.write_text(json.dumps(record))
    assert "ONLY=04" in _refused(capsys, root, "default", "old_pages")

    _copy_run(root / "reports" / "tm", root, "tm", "older_version")
    result_path = root / "data" / "older_version" / "results" / "03_conversion.json"
    recorded = json.loads(result_path.read_text())
    del recorded["negligible_or"]
    result_path.write_text(json.dumps(recorded))
    assert "incompatible versions of the results" in _refused(capsys, root, "default", "older_version")
    recorded["negligible_or"], recorded["from_a_later_version"] = 1.15, 1
    result_path.write_text(json.dumps(recorded))
    assert "another version of the results" in _refused(capsys, root, "default", "older_version")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (Debian package 'chromium')")
def test_the_comparison_page_in_a_real_browser(here):
    pytest.importorskip("playwright", reason="the playwright package is not installed (make venv installs it)")
    from playwright.sync_api import sync_playwright

    out = cli.run("default", "tm")
    pages = [out, here / "reports" / "default" / "index.html", here / "reports" / "tm" / "index.html"]
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors: list[str] = []
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                for path in pages:
                    page.goto(path.as_uri())
                    where = f"{path.parent.name}/{path.name} at {width} px"
                    if errors:
                        problems.append(f"{where}: console errors {errors[:2]}")
                        errors.clear()
                    if page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length"):
                        problems.append(f"{where}: broken image")
                    if page.evaluate("[...document.images].filter(i => !i.alt).length") and path == out:
                        problems.append(f"{where}: image without alt text")
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    if overflow > 1:
                        problems.append(f"{where}: the page is {overflow} px wider than the window")
                    if width == WIDTHS[0]:
                        links = page.evaluate(
                            "[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
                        )
                        problems += _dead_links(path.parent, path, links)
                page.close()
        finally:
            browser.close()
    assert problems == []
