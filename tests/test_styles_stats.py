"""05's statistics on hand-built data whose answer is known: pre-checkout metrics, clustered SMDs, the classifier's
grouped folds, batched fits and permutation test, and the null world that scores it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import purchase_styles, stats
from helpers.runner import validate

CHEAP, EXPENSIVE = purchase_styles.CHEAP_MANY, purchase_styles.EXPENSIVE_FEW


def buyers_frame(n: int, rng: np.random.Generator, shift: float = 0.0, users: np.ndarray | None = None) -> pd.DataFrame:
    """Buyers of the two styles; expensive-few browse ``shift`` SD longer before checkout (log scale)."""
    expensive = rng.random(n) < 0.5
    return pd.DataFrame(
        {
            "user_id": np.arange(n) if users is None else users,
            "style": np.where(expensive, EXPENSIVE, CHEAP),
            "pre_conversion_seconds": np.exp(4 + rng.normal(size=n) + shift * expensive),
            "pre_conversion_event_count": np.round(np.exp(1.5 + 0.5 * rng.normal(size=n) + 0.5 * shift * expensive)),
            "pre_conversion_page_views": rng.poisson(3, n),
            "pre_conversion_max_idle_seconds": np.exp(3 + rng.normal(size=n)),
            "device": rng.choice(["mobile", "desktop"], n),
        }
    )


# --------------------------------------------------------------------------------------------
# Duration and page views before checkout
# --------------------------------------------------------------------------------------------


def test_duration_and_page_views_are_measured_before_checkout():
    assert purchase_styles.SIMILARITY_METRICS == (
        "pre_conversion_seconds",
        "pre_conversion_event_count",
        "pre_conversion_page_views",
    )
    assert all("before checkout" in label for label in purchase_styles.BEHAVIOUR.values())
    rng = np.random.default_rng(1)
    buyers = buyers_frame(4000, rng)
    # the funnel makes expensive-few sessions far longer overall, but not before checkout
    buyers["session_seconds"] = buyers["pre_conversion_seconds"] + np.where(buyers["style"] == EXPENSIVE, 600, 0)
    table = purchase_styles.compare_behaviour(buyers, 0.2).set_index("column")
    assert "session_seconds" not in table.index and "n_page_view" not in table.index
    assert table.loc["pre_conversion_seconds", "verdict"] == "equivalent"
    assert purchase_styles.verdict(table.reset_index()).browsing == "similar"


def test_headline_quotes_the_duration_before_checkout():
    rows = [
        purchase_styles.SmdRow("events", "pre_conversion_event_count", 9, 9, 0.9, 0.8, 1.0, 0.8, 1.0, "different"),
        purchase_styles.SmdRow("duration", "pre_conversion_seconds", 9, 9, 0.1, 0.0, 0.2, 0.0, 0.2, "inconclusive"),
    ]
    result = purchase_styles.StylesResult(
        comparison=rows, equivalence_margin=0.2, verdicts=purchase_styles.Verdicts("different")
    )
    h = purchase_styles.headline(result)
    assert (h.feature, h.estimate, h.lo, h.hi) == ("pre_conversion_seconds", 0.1, 0.0, 0.2)


# --------------------------------------------------------------------------------------------
# Clustered SMD intervals
# --------------------------------------------------------------------------------------------


def test_clustered_smd_se_exceeds_the_naive_one_by_the_root_of_the_design_effect():
    rng = np.random.default_rng(2)
    xa, xb = rng.normal(0, 1, 500), rng.normal(0.5, 1, 500)
    m = 4  # every user repeats the same row m times: design effect m
    da, db = np.repeat(xa, m), np.repeat(xb, m)
    ga, gb = np.repeat(np.arange(500), m), np.repeat(np.arange(500, 1000), m)
    d, lo, hi = purchase_styles.smd_ci(da, db, 0.95, ga, gb)
    _, nlo, nhi = stats.smd_ci(da, db, 0.95)
    assert (hi - lo) / (nhi - nlo) == pytest.approx(np.sqrt(m), rel=0.02)
    _, olo, ohi = stats.smd_ci(xa, xb, 0.95)  # one row per user: the interval the data really support
    assert (hi - lo) == pytest.approx(ohi - olo, rel=0.02) and d == pytest.approx(stats.smd(xa, xb), rel=1e-3)


def test_smd_with_single_session_users_is_hedges_olkin():
    rng = np.random.default_rng(3)
    buyers = buyers_frame(600, rng, shift=0.3)
    table = purchase_styles.compare_behaviour(buyers, 0.2).set_index("column")
    a = np.log1p(buyers.loc[buyers["style"] == CHEAP, "pre_conversion_seconds"].to_numpy())
    b = np.log1p(buyers.loc[buyers["style"] == EXPENSIVE, "pre_conversion_seconds"].to_numpy())
    want = stats.smd_ci(a, b, 0.95)
    got = table.loc["pre_conversion_seconds", ["smd", "smd_lo", "smd_hi"]].to_numpy(float)
    assert np.allclose(got, want, rtol=0, atol=1e-12)
    assert purchase_styles.smd_ci(a, b, 0.90) == stats.smd_ci(a, b, 0.90)


def test_compare_behaviour_clusters_when_users_repeat():
    rng = np.random.default_rng(4)
    once = buyers_frame(400, rng, shift=0.3)
    twice = pd.concat([once, once], ignore_index=True)  # every user's session recorded twice
    wide = purchase_styles.compare_behaviour(twice, 0.2).set_index("column")
    single = purchase_styles.compare_behaviour(once, 0.2).set_index("column")
    width = wide["smd_hi"] - wide["smd_lo"]
    assert np.allclose(width, single["smd_hi"] - single["smd_lo"], rtol=0.03)  # not twice the evidence


# --------------------------------------------------------------------------------------------
# The classifier: folds, permutations, batched fits
# --------------------------------------------------------------------------------------------


def test_grouped_folds_keep_users_whole_and_stratify():
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(300), rng.integers(1, 4, 300))
    y = (rng.random(300) < 0.4)[groups].astype(float)
    fold = purchase_styles.fold_ids(y, groups, 5, 0)
    assert all(np.unique(fold[groups == g]).size == 1 for g in range(300))
    shares = [y[fold == k].mean() for k in range(5)]
    assert max(shares) - min(shares) < 0.1
    rows = purchase_styles.fold_ids(y, None, 5, 0)
    assert np.bincount(rows).min() >= len(y) // 5 and {y[rows == k].sum() for k in range(5)} <= {
        np.floor(y.sum() / 5),
        np.ceil(y.sum() / 5),
    }


def test_permutations_move_whole_users_among_users_of_the_same_size():
    groups = np.array([0, 0, 1, 2, 2, 3, 4, 4, 4, 5, 6, 6])
    index = purchase_styles.permuted_rows(groups, groups.size, 50, np.random.default_rng(6))
    assert index.shape == (51, 12) and (index[0] == np.arange(12)).all()
    sizes = np.bincount(groups)[groups]
    for line in index[1:]:
        assert sorted(line) == list(range(12))  # a permutation of the rows
        assert (sizes[line] == sizes).all()  # a user takes the rows of a user with as many rows
        for g in range(7):  # ... and all of them
            assert np.unique(groups[line[groups == g]]).size == 1
    assert len({tuple(line) for line in index[1:]}) > 10  # and the users really move
    plain = purchase_styles.permuted_rows(None, 12, 5, np.random.default_rng(6))
    assert all(sorted(line) == list(range(12)) for line in plain)


def test_batched_logit_matches_one_fit_at_a_time():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 4))
    A = np.column_stack([np.ones(300), X])
    Y = (rng.random((6, 300)) < 1 / (1 + np.exp(-(X @ [1.0, -0.5, 0.0, 0.3])))).astype(float)
    train = (rng.random((6, 300)) < 0.8).astype(float)
    beta = purchase_styles.batched_logit(A, Y, train)
    for b in range(6):
        keep = train[b] == 1
        assert np.allclose(beta[b], stats.logit_newton(X[keep], Y[b, keep]), atol=1e-6)


def test_batched_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(8)
    Y = (rng.random((5, 200)) < 0.3).astype(float)
    scores = rng.normal(size=(5, 200)) + Y
    scores[:, :20] = 0.0  # ties count one half
    want = [roc_auc_score(Y[b], scores[b]) for b in range(5)]
    assert np.allclose(purchase_styles.batched_auc(Y, scores), want)


def test_classifier_finds_real_differences_and_not_chance():
    rng = np.random.default_rng(9)
    strong = purchase_styles.predictability(buyers_frame(600, rng, shift=0.8), ["C(device)"], 5, 0)
    assert strong.above_chance and strong.p == pytest.approx(1 / 200) and strong.lo > 0.5
    assert strong.lo < strong.auc < strong.hi and strong.permutations == 199 and not strong.grouped
    assert strong.features == ["engagement", "time", "idle", "C(device)"]
    null = purchase_styles.predictability(buyers_frame(600, rng), [], 5, 0)
    assert not null.above_chance and null.p > 0.05 and null.lo < 0.5 < null.hi
    assert null.features == ["engagement", "time", "idle"]


def test_classifier_permutes_users_when_users_repeat():
    rng = np.random.default_rng(10)
    users = np.repeat(np.arange(300), 2)
    buyers = buyers_frame(600, rng, users=users)
    buyers["style"] = buyers.groupby("user_id")["style"].transform("first")  # a user keeps one style
    result = purchase_styles.predictability(buyers, [], 5, 1, permutations=99)
    assert result.grouped and result.permutations == 99 and 0.01 <= result.p <= 1


def test_badge_compares_the_auc_interval_with_the_bound_the_margin_implies():
    assert purchase_styles.auc_bound(0.2) == pytest.approx(0.5562, abs=1e-4)


# --------------------------------------------------------------------------------------------
# The null world in make validate
# --------------------------------------------------------------------------------------------


def test_null_world_buyers_carry_no_information_on_the_style():
    buyers = validate.null_style_buyers(3000, np.random.default_rng(11))
    clustering = stats.clustering(buyers)
    assert clustering.clustered and 1.4 < clustering.rows_per_user < 1.8
    expensive = buyers["style"] == EXPENSIVE
    for col in ("pre_conversion_seconds", "pre_conversion_event_count"):
        x = np.log1p(buyers[col])
        assert abs(stats.smd(x[~expensive], x[expensive])) < 0.08


@pytest.mark.slow  # many simulated replications, which `make validate` checks at a larger scale: in `make test-all`
def test_styles_null_rate_is_recorded_and_gates_the_targets():
    null = validate.styles_null_rate(replications=20, n_users=120, seed=3)
    assert null["replications"] == 20 and 0 <= null["rate"] <= 0.25 and null["lo"] <= null["rate"] <= null["hi"]
    assert null["alpha"] == 0.05 and 0 <= null["hanley_mcneil_rate"] <= 1
    line = validate.styles_null_lines(null)[0]
    assert "05: classifier 'above chance'" in line and "over 20 worlds" in line and "Hanley-McNeil" in line
    assert null["check"]["side"] == "greater" and null["check"]["n"] == 20  # tested against alpha, one-sided
    bad = {**null, "rate": 0.2, "lo": 0.12, "hi": 0.3, "check": validate.false_positive_check("05", 40, 200)}
    assert validate.styles_null_lines(None) == []
    assert not validate.summarise([], {"alpha": 0.05, "rate": 0.05}, bad)["targets_met"]
