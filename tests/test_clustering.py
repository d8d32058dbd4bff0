"""Users with several sessions: clustered errors, the landmark check and their validation scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import conversion, spend, stats
from helpers.data.gold import build_gold, read_gold
from helpers.data.simulate import SimConfig, simulate_to_parquet
from helpers.runner import validate


def test_clustering_record_counts_rows_per_user():
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2, 3, 3]})
    c = stats.clustering(frame)
    assert (c.rows, c.users, c.max_rows_per_user, c.clustered) == (6, 3, 3, True)
    assert c.rows_per_user == pytest.approx(2.0)
    assert stats.user_groups(frame).tolist() == [0, 0, 0, 1, 2, 2]
    single = pd.DataFrame({"user_id": [1, 2, 3]})
    assert not stats.clustering(single).clustered and stats.user_groups(single) is None
    assert stats.cov_options(None, "HC3") == {"cov_type": "HC3"}


def _gold(tmp_path, **knobs) -> pd.DataFrame:
    truth = simulate_to_parquet(SimConfig(n_sessions=40_000, seed=11, **knobs), tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    return read_gold(tmp_path / "gold"), truth


def test_errors_clustered_by_user_widen_only_when_a_users_sessions_are_alike(tmp_path):
    gold, _ = _gold(tmp_path / "a", sessions_per_user=20, user_effect_sd=2.5, user_trait_share=0.8)
    frame = conversion.prepare(gold)
    groups = stats.user_groups(frame)
    clustered = conversion.fit_logit(frame, ["engagement", "time"], groups)
    naive = conversion.fit_logit(frame, ["engagement", "time"])
    assert clustered.cov_type == "cluster"
    assert clustered.bse["engagement"] > 1.25 * naive.bse["engagement"]
    assert np.allclose(clustered.params, naive.params)  # the same estimates, wider intervals
    buyers = spend.prepare(gold)
    assert spend.fit_ols(buyers, ["engagement"], stats.user_groups(buyers)).cov_type == "cluster"
    assert spend.fit_gamma(buyers, ["engagement"], groups=stats.user_groups(buyers)).cov_type == "cluster"
    # users without lasting traits: sessions are independent and clustering changes little
    plain, _ = _gold(tmp_path / "b")
    frame = conversion.prepare(plain)
    ratio = (
        conversion.fit_logit(frame, ["engagement"], stats.user_groups(frame)).bse
        / conversion.fit_logit(frame, ["engagement"]).bse
    )["engagement"]
    assert 0.85 < ratio < 1.15


def _landmark_frame(n: int, slope: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    landmark = np.log1p(rng.poisson(3, n))
    p = 1 / (1 + np.exp(-(-3 + slope * (landmark - landmark.mean()))))
    return pd.DataFrame(
        {"landmark": landmark, "at_risk": (rng.random(n) < 0.5).astype(int), "did_purchase": rng.random(n) < p}
    ).astype({"did_purchase": int})


MAIN = pd.Series({"or_per_sd": 2.0, "or_lo": 1.8, "or_hi": 2.2})


def test_landmark_finds_a_known_association_and_its_absence():
    frame = _landmark_frame(40_000, 1.5)
    strong = conversion.landmark(frame, [], MAIN, 1.15, 30)
    assert strong.verdict == "positive" and strong.agrees and strong.sessions == pytest.approx(20_000, rel=0.05)
    true_or = np.exp(1.5 * frame.loc[frame["at_risk"] == 1, "landmark"].std())
    assert strong.or_lo < true_or < strong.or_hi
    none = conversion.landmark(_landmark_frame(200_000, 0.0, seed=1), [], MAIN, 1.15, 30)
    assert none.verdict == "negligible" and none.agrees is False
    few = conversion.landmark(_landmark_frame(200, 1.5), [], MAIN, 1.15, 30)
    assert few.verdict == "not estimated" and few.reason == "too_few_buyers" and few.agrees is None
    # both windows unclear is no agreement: only one material sign, or both negligible, agree
    wide = pd.Series({"or_per_sd": 1.1, "or_lo": 0.7, "or_hi": 1.7})
    unclear = conversion.landmark(_landmark_frame(3_000, 0.1, seed=2), [], wide, 1.15, 30)
    assert unclear.verdict == "unclear" and unclear.agrees is False and unclear.believe == "neither"
    assert none.believe == "landmark"  # its class is clear (negligible) where the main window's is material


def _run(world, covered, naive, defs, engagement_truth="negligible"):
    return {
        "world": world,
        "coverage": [("a", c) for c in covered],
        "naive_coverage": [("a", c) for c in naive],
        "definitions": defs,
        "truth": {"engagement": engagement_truth},
    }


def test_validation_scores_clustered_against_naive_coverage_and_definitions():
    runs = [
        _run(
            "repeat_users",
            [True, True],
            [True, False],
            {"used": "negligible", "with cart steps": "positive", "landmark": "unclear"},
        ),
        _run(
            "repeat_users",
            [True, False],
            [False, False],
            {"used": "unclear", "with cart steps": "positive", "landmark": "negligible"},
            "positive",
        ),
        _run("null", [True], [True], {"used": "negligible", "with cart steps": "positive", "landmark": "negative"}),
    ]
    check = validate.clustering_check(runs)
    assert check["runs"] == 2 and check["clustered"]["rate"] == 0.75 and check["naive"]["rate"] == 0.25
    defs = validate.definitions_check(runs)
    assert defs == {"runs": 2, "used": 0, "with cart steps": 2, "landmark": 1}


def test_group_folds_keep_each_user_in_one_fold_and_spread_the_buyers():
    rng = np.random.default_rng(4)
    groups = rng.integers(0, 3_000, 20_000)
    y = (rng.random(20_000) < 0.05).astype(int)
    seen = np.zeros(3_000, dtype=int)
    buyers_per_fold = []
    for train, test in stats.group_folds(y, groups, 5, seed=1):
        assert not set(groups[train]) & set(groups[test])
        np.add.at(seen, np.unique(groups[test]), 1)
        buyers_per_fold.append(len(set(groups[test][y[test] == 1])))
    assert set(seen[np.unique(groups)]) == {1}  # every user is tested exactly once
    assert max(buyers_per_fold) - min(buyers_per_fold) <= 1  # users with a buyer dealt evenly


def test_a_coefficient_under_covers_only_beyond_chance():
    assert not validate.under_covers({"covered": 8, "runs": 10})  # p = 0.09 for a 95 % CI
    assert validate.under_covers({"covered": 7, "runs": 10})  # p = 0.01
    assert not validate.under_covers({"covered": 0, "runs": 1})  # one run says little
