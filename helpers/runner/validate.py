"""Self-validation: run the analysis over simulator worlds whose truth is known and score it.

Usage::

    python -m helpers.runner.validate                    # the full grid: reports/validation/
    python -m helpers.runner.validate --sessions 20000 --seeds 1 --worlds null,default

For each world and seed the simulator writes raw tables, the gold SQL builds the session table,
and the analyses run exactly as their notebooks run them: the same ``analyse`` call of
``conversion``, ``spend`` and ``purchase_styles`` with the settings read from each notebook's
``parameters`` cell; ``strategy.recommendations`` decides which recommendations stand. Each
verdict is then set beside the truth: a verdict that states the opposite of the truth, a "high"
badge on a wrong answer, a recommendation supported where the truth contradicts it, and each true
coefficient outside its 95 % CI is counted.

Rates and coverage are tested, not eyeballed (``binomial_check``): each is set against its target
by a binomial test with enough replications to detect a miss with a stated power. The 95 % CIs are
pooled by kind (03's purchase coefficients, 04's spend coefficients, the repeated-users world's
clustered CIs: at least 185 each by default, enough to detect 90 % coverage with 80 % power) and each
kind must not cover below 95 % beyond chance; small coverage-only worlds (03 and 04 only,
``run_coverage``) fill the cells. The experiment's A/A rate is measured at the size 06 plans in a
world with user effects (``aa_planned``, 1,000 replications), and 05's classifier's false 'above chance' rate in two
replicated buyer worlds: browsing carries nothing, and the styles differ only by context (device,
source) while browsing carries nothing given it. A unimodal-price world (``style_strength`` 0) tests
05's mixture test against one group. The experiment read-out's own checks
(``readout.readout_validation``: SRM detection and false alarms, A/A, CUPED, IV coverage) join the
table. The work runs in ``--jobs`` processes.

Two more worlds are cut the way real exports are (``SHAPE_WORLDS``): the default shop's raw tables with
most purchases standing alone and browsing thinned to one to three events (a thinned log), and with
the checkout step removed (an export without one). Their verdicts are not scored against the truth (the
shape misleads by construction); 01's fitness record goes to the analyses as in a report, and the target
is that none of their answers is badged 'high'.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import paths, registry
from helpers.analysis import conversion, experiment, purchase_styles, spend, stats, strategy
from helpers.data import fitness
from helpers.data.files import atomic_path, write_json
from helpers.data.gold import build_gold
from helpers.data.simulate import SimConfig, simulate_to_parquet
from helpers.runner import params

# The grid: each world changes a few knobs of the default simulator.
WORLDS: dict[str, dict] = {
    "default": {},
    "null": {"engagement_effect": 0.0, "time_effect": 0.0},
    "negative_time": {"time_effect": -1.0},
    "weak_engagement": {"engagement_effect": 0.1},
    "time_matters": {"engagement_effect": 0.3, "time_effect": 1.0},
    "negative_engagement": {"engagement_effect": -0.8},
    # the hidden style moves browsing and spend: 04's spend truth is not its estimand, not compared (spend_truth_code)
    "styles_browse": {"style_browse_effect": 0.8},
    "strong_idle": {"idle_spend_effect": -0.4},
    "positive_idle": {"idle_spend_effect": 0.3},
    "no_spend_effects": {"idle_spend_effect": 0.0, "engagement_spend_effect": 0.0},
    # users with many sessions that resemble each other and a lasting propensity to buy and to spend
    "repeat_users": {"sessions_per_user": 20.0, "user_effect_sd": 2.5, "user_trait_share": 0.8},
    # price affinity does not shape the basket: one unimodal group of buyers (05's mixture test must not say two)
    "unimodal_price": {"style_strength": 0.0},
}
CLUSTER_WORLD = "repeat_users"  # where coverage with and without clustering by user is compared
# The analyses of the gold table alone (03, 04, 05), by the registry; each runs with its notebook's defaults,
# read from the notebook's parameters cell.
ANALYSES = {
    nb.name: importlib.import_module(nb.settings.rpartition(".")[0])
    for nb in registry.analyses()
    if nb.reads == ("02_gold_table",)
}


def settings(notebook: str, seed: int):
    """The settings ``notebook`` runs with by default, with the world's seed."""
    return ANALYSES[notebook].Settings.pick({**params.notebook_defaults(notebook), "seed": seed})


def analyse_world(gold_dir: Path, truth: dict, seed: int) -> dict:
    """03, 04 and 05 on one gold table, exactly as their notebooks run them."""
    return {name: module.analyse(gold_dir, settings(name, seed), truth) for name, module in ANALYSES.items()}


SPEND_TRUTH = {
    "engagement": "implied_engagement_on_log_spend",
    "time": "implied_time_on_log_spend",
    "idle": "implied_idle_on_log_spend",
}


def true_calls(truth: dict, sds: dict, spend_sds: dict, negligible_or: float, negligible_pct: float) -> dict:
    """What a perfect analysis would conclude in this world (per-SD truths against the pages' own bands)."""
    band = math.log(negligible_or)
    cls = {
        n: stats.classify_interval(truth[f"{n}_effect"] * sds[n], truth[f"{n}_effect"] * sds[n], band)
        for n in ("engagement", "time")
    }
    if cls["engagement"] == cls["time"] == "negligible":
        answer = "neither"
    else:
        sizes = {n: abs(truth[f"{n}_effect"] * sds[n]) for n in cls}
        answer = max(sizes, key=sizes.get)
    spend_band = math.log1p(negligible_pct / 100)
    spend_calls = {
        f: stats.classify_interval(truth.get(key, 0.0) * spend_sds[f], truth.get(key, 0.0) * spend_sds[f], spend_band)
        for f, key in SPEND_TRUTH.items()
    }
    return {
        "engagement": cls["engagement"],
        "time": cls["time"],
        "answer": answer,
        "time_adds": "no" if cls["time"] == "negligible" else "yes",
        "spend": spend_calls,
        "idle": spend_calls["idle"],
        "browsing": "similar" if truth["style_browse_effect"] == 0 else "different",
        "groups": "one_group" if truth.get("style_strength") == 0 else None,  # else not a two-group truth either
    }


OPPOSITE = {"positive": "negative", "negative": "positive"}


def score(conv, sp, st, want: dict) -> dict:
    """Wrong verdicts, wrong high badges, wrongly supported recommendations and CI coverage of one run."""
    cv, tv = conv.verdicts, st.verdicts
    wrong = []
    for n in ("engagement", "time"):
        got = getattr(cv, n)
        if got in OPPOSITE and want[n] != got:
            wrong.append(f"03 {n}: {got}, truth {want[n]}")
        if got == "negligible" and want[n] in OPPOSITE:
            wrong.append(f"03 {n}: negligible, truth {want[n]}")
    if cv.answer not in ("unclear", want["answer"]):
        wrong.append(f"03 answer: {cv.answer}, truth {want['answer']}")
    if cv.time_adds != "unclear" and cv.time_adds != want["time_adds"]:
        wrong.append(f"03 time adds: {cv.time_adds}, truth {want['time_adds']}")
    spend_calls = {c.feature: c.verdict for c in sp.verdicts.calls()}
    false_material = []
    for f, got in spend_calls.items():
        truth_f = want["spend"][f]
        if got in OPPOSITE and truth_f in OPPOSITE and got != truth_f:
            wrong.append(f"04 {f}: {got}, truth {truth_f}")
        if got in OPPOSITE and truth_f == "negligible":
            false_material.append(f"04 {f}: {got}, truth no material effect")
        if got == "negligible" and truth_f in OPPOSITE:
            wrong.append(f"04 {f}: negligible, truth {truth_f}")
    if tv.browsing != "inconclusive" and tv.browsing != want["browsing"]:
        wrong.append(f"05 browsing: {tv.browsing}, truth {want['browsing']}")
    mixture = getattr(getattr(st, "mixture", None), "verdict", None)
    if want.get("groups") == "one_group" and mixture == "two_groups":
        wrong.append("05 groups: two_groups, truth one group")
    right = {
        "03": cv.answer == want["answer"] and cv.time_adds == want["time_adds"],
        "04": all(spend_calls[f] == want["spend"][f] for f in spend_calls),
        "05": tv.browsing == want["browsing"],
    }
    badges = {"03": conv.badge.level, "04": sp.badge.level, "05": st.badge.level}
    wrong_high = [page for page, level in badges.items() if level == "high" and not right[page]]
    drive, _ = strategy.driver(conv)
    wrong_driver = cv.answer in strategy.DRIVERS and drive != want["answer"]
    bad_recs = wrong_recommendations(
        strategy.recommendations({"03_conversion": conv, "04_spend": sp, "05_purchase_style": st}), want
    )
    coverage = [(row.effect, bool(row.covered)) for row in conv.truth + sp.truth]
    return {
        "wrong_verdicts": wrong,
        "false_material": false_material,
        "null_cells": sum(want["spend"][f] == "negligible" for f in spend_calls),
        "wrong_high_badges": wrong_high,
        "wrong_recommendations": bad_recs,
        "wrong_driver": wrong_driver,
        "coverage": coverage,
        "mixture": mixture,
        "badges": badges,
        "right": right,
        "verdicts": {
            "03 answer": cv.answer,
            "03 engagement": cv.engagement,
            "03 time": cv.time,
            "03 time adds": cv.time_adds,
            "04 engagement": spend_calls["engagement"],
            "04 time": spend_calls["time"],
            "04 idle": spend_calls["idle"],
            "05 browsing": tv.browsing,
            "06 driver": drive,
        },
    }


def naive_coverage(conv, sp, truth: dict) -> list[tuple[str, bool]]:
    """Coverage of the same models with errors that treat every session as independent (model-based
    for 03, HC3 for 04): what clustering by user corrects."""
    fit = conversion.fit_logit(conv.evidence.frame, ["engagement", "time", *conv.controls])
    rows = list(conversion.truth_check(fit, truth)["covered"].items())
    terms = ["engagement", "time", *(["idle"] if sp.idle_measured else []), *sp.controls]
    fit = spend.fit_ols(sp.evidence.buyers, terms)
    return [(k, bool(v)) for k, v in rows + list(spend.truth_check(fit, truth)["covered"].items())]


def definitions(conv) -> dict[str, str]:
    """Engagement's class (with controls) as 03 measures it, with the add-to-cart steps counted, and at the landmark."""
    frame = conv.evidence.frame
    fit = conversion.fit_logit(frame, ["engagement_cart", "time", *conv.controls], stats.user_groups(frame))
    sd, (lo, hi) = frame["engagement_cart"].std(), fit.conf_int().loc["engagement_cart"]
    cart = stats.classify_interval(lo * sd, hi * sd, math.log(conv.negligible_or))
    return {"used": conv.verdicts.engagement, "with cart steps": cart, "landmark": conv.landmark.verdict}


class UnknownRecommendation(KeyError):
    """A recommendation whose id validation has no rule for: an error, never a pass."""


def supported_by_truth(want: dict) -> dict[str, bool]:
    """For each recommendation id (``strategy.RECOMMENDATIONS``), whether the truth allows it to stand."""
    time_helps = want["time"] == "positive"
    return {
        "engagement_over_time": want["answer"] == "engagement" and want["engagement"] == "positive" and not time_helps,
        "time_richer_content": want["answer"] == "time" and time_helps,
        "time_shorter_path": want["answer"] == "time" and want["time"] == "negative",
        "idle_to_interaction": want["idle"] == "negative" and not time_helps,
        "segment_by_engagement": want["answer"] == "engagement",
        "segment_by_time": want["answer"] == "time",
        "styles_price_framing": want["browsing"] == "similar",
    }


def wrong_recommendations(recs: list, want: dict) -> list[str]:
    """The ids of supported recommendations whose lever the truth says does nothing, or harms.

    Recommendations are matched by ``id``; an id without a rule raises ``UnknownRecommendation``.
    """
    allowed = supported_by_truth(want)
    bad = []
    for r in recs:
        if r.id not in allowed:
            raise UnknownRecommendation(f"recommendation id {r.id!r} has no validation rule (known: {sorted(allowed)})")
        if r.status == strategy.SUPPORTED and not allowed[r.id]:
            bad.append(r.id)
    return bad


def run_world(name: str, overrides: dict, seed: int, n_sessions: int, folder: Path) -> dict:
    """Simulate one world, build its gold table, analyse it and score the verdicts against its truth."""
    cfg = SimConfig(n_sessions=n_sessions, seed=seed, **overrides)
    truth = simulate_to_parquet(cfg, folder / "raw")
    build_gold(folder / "raw", folder / "gold")
    found = analyse_world(folder / "gold", truth, seed)
    conv, sp, st = found["03_conversion"], found["04_spend"], found["05_purchase_style"]
    sds = {e.feature: e.sd for e in conv.effects}
    spend_sds = {e.feature: e.sd for e in sp.effects}
    want = true_calls(truth, sds, spend_sds, conv.negligible_or, sp.verdicts.negligible_pct)
    return {
        "world": name,
        "seed": seed,
        "overrides": overrides,
        "truth": want,
        **score(conv, sp, st, want),
        "naive_coverage": naive_coverage(conv, sp, truth),
        "definitions": definitions(conv),
    }


# Worlds cut as real exports are: the default simulator, its raw tables reshaped (``reshape``)
SHAPE_WORLDS = ("thinned_log", "no_checkout")
THINNED_ALONE_SHARE = 0.7  # buying sessions of the thinned log that keep their purchase alone
THINNED_DEPTH = ((1, 2, 3), (0.5, 0.25, 0.25))  # events the other sessions keep, and how often


def reshape(raw: Path, shape: str, seed: int) -> None:
    """Cut a simulated run's events as a real export would: 'thinned_log' or 'no_checkout' (in place)."""
    events = pd.read_parquet(raw / "events.parquet").sort_values(["session_id", "ts", "event_id"], kind="stable")
    if shape == "no_checkout":
        events = events[events["event_type"] != "checkout"]
    elif shape == "thinned_log":
        rng = np.random.default_rng(seed)
        buying = events.loc[events["event_type"] == "purchase", "session_id"].unique()
        alone = set(buying[rng.random(len(buying)) < THINNED_ALONE_SHARE])
        sessions = events["session_id"].unique()
        depth = pd.Series(rng.choice(THINNED_DEPTH[0], len(sessions), p=THINNED_DEPTH[1]), index=sessions)
        rank = events.groupby("session_id").cumcount()
        ids = events["session_id"]
        keep = np.where(
            ids.isin(alone),
            events["event_type"] == "purchase",
            ids.isin(buying) | (rank < ids.map(depth)),
        )
        events = events[keep]
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPE_WORLDS)}")
    events.to_parquet(raw / "events.parquet", index=False)


def run_shape_world(shape: str, seed: int, n_sessions: int, folder: Path) -> dict:
    """The default world cut into ``shape``, measured by 01's fitness record and analysed with it: badges, codes."""
    simulate_to_parquet(SimConfig(n_sessions=n_sessions, seed=seed), folder / "raw")
    reshape(folder / "raw", shape, seed)
    build_gold(folder / "raw", folder / "gold")
    fit = fitness.measure(folder / "raw", folder / "gold")
    found = {
        name: module.analyse(folder / "gold", settings(name, seed), None, fitness=fit)
        for name, module in ANALYSES.items()
    }
    return {
        "world": shape,
        "seed": seed,
        "badges": {name[:2]: r.badge.level for name, r in found.items()},
        "status": {name[:2]: r.status for name, r in found.items()},
        "codes": {name[:2]: [rule.code for rule in r.badge.rules if not rule.passed] for name, r in found.items()},
        "answer_03": found["03_conversion"].verdicts.answer if found["03_conversion"].ok else None,
    }


def shape_lines(shapes: list[dict]) -> list[str]:
    """The report's table of the shaped worlds: each answer's status, badge and the rules it failed."""
    if not shapes:
        return []
    lines = [
        "",
        "Worlds cut as real exports are (the default shop's raw tables reshaped; not scored against the truth, "
        "target: no 'high' badge):",
        "",
        "| world | seed | 03 answer | badges 03/04/05 | failed rules 03 / 04 / 05 |",
        "|---|---:|---|---|---|",
    ]
    for r in shapes:
        codes = " / ".join(", ".join(c) or "none" for c in r["codes"].values())
        lines.append(
            f"| {r['world']} | {r['seed']} | {r['answer_03'] or 'not estimable'} | {'/'.join(r['badges'].values())} "
            f"| {codes} |"
        )
    return lines


def aa_rate(n_tests: int, n_per_arm: int, alpha: float = 0.05) -> dict:
    """False-positive rate of the experiment's test over simulated A/A tests, with a Wilson 95 % CI."""
    rejects = experiment.aa_rejections(SimConfig(), n_per_arm, range(n_tests), alpha)
    k = int(sum(rejects))
    lo, hi = stats.wilson(k, n_tests)
    return {
        "tests": n_tests,
        "sessions_per_arm": n_per_arm,
        "rejections": k,
        "rate": k / n_tests,
        "lo": float(lo),
        "hi": float(hi),
        "alpha": alpha,
    }


def null_style_buyers(n_users: int, rng: np.random.Generator, extra_sessions: float = 0.6) -> pd.DataFrame:
    """Buyer sessions of a world where browsing carries no information on the purchase style.

    Users have 1 + Poisson(``extra_sessions``) sessions; a user's sessions share a browsing trait and,
    independently, a style propensity, so browsing and styles cluster within users but are independent.
    """
    sizes = 1 + rng.poisson(extra_sessions, n_users)
    user = np.repeat(np.arange(n_users), sizes)
    n, trait = user.size, rng.normal(size=n_users)[user]
    expensive = rng.normal(size=n_users)[user] + rng.normal(size=n) > 0
    return pd.DataFrame(
        {
            "user_id": user,
            "style": np.where(expensive, purchase_styles.EXPENSIVE_FEW, purchase_styles.CHEAP_MANY),
            "pre_conversion_event_count": np.round(np.exp(1.5 + 0.5 * trait + 0.5 * rng.normal(size=n))),
            "pre_conversion_seconds": np.exp(4 + 0.6 * trait + 0.8 * rng.normal(size=n)),
            "pre_conversion_max_idle_seconds": np.exp(3 + 0.4 * trait + 0.8 * rng.normal(size=n)),
            "device": rng.choice(["mobile", "desktop", "tablet"], n, p=[0.6, 0.3, 0.1]),
            "traffic_source": rng.choice(["direct", "search", "social", "email", "ads"], n),
            "start_weekday": rng.integers(1, 8, n),
            "start_hour": rng.integers(0, 24, n),
            "first_event_delay_seconds": rng.exponential(5.0, n),
        }
    )


def styles_null_rate(replications: int = 200, n_users: int = 150, seed: int = 0, extra_sessions: float = 0.6) -> dict:
    """05's classifier where browsing carries no information on the style: its false 'above chance' rate.

    Each replication draws ``null_style_buyers`` and runs ``purchase_styles.predictability`` as 05
    does (its folds, controls and permutation test); the rate comes with a Wilson 95 % CI. The rule
    it replaced (Hanley-McNeil lower bound above 0.5, row-level folds) runs on the same data for comparison.
    """
    rng, folds = np.random.default_rng(seed), settings("05_purchase_style", seed).cv_folds
    new = old = 0
    for r in range(replications):
        buyers = null_style_buyers(n_users, rng, extra_sessions)
        features = stats.behaviour_features(buyers)
        controls, _ = stats.usable_controls(features, len(buyers))
        new += purchase_styles.predictability(buyers, controls, folds, r).above_chance
        X = stats.design(features, ["engagement", "time", "idle", *controls])
        y = (buyers["style"] == purchase_styles.EXPENSIVE_FEW).to_numpy().astype(int)
        old += bool(stats.auc_ci(y, stats.cv_classifier_scores(X, y, folds, r)["oof"])[1] > 0.5)
    lo, hi = stats.wilson(new, replications)
    return {
        "replications": replications,
        "false_above_chance": int(new),
        "rate": new / replications,
        "lo": float(lo),
        "hi": float(hi),
        "alpha": purchase_styles.ALPHA,
        "hanley_mcneil_rate": old / replications,
        "check": false_positive_check(
            "05: classifier 'above chance' where browsing carries no information", int(new), replications
        ),
    }


def coverage_by_coefficient(runs: list[dict], world: str | None = None) -> dict[str, dict]:
    """Share of runs whose 95 % CI covers each true coefficient (in one world, or all)."""
    out: dict[str, list[bool]] = {}
    for r in runs:
        if world is None or r["world"] == world:
            for effect, ok in r["coverage"]:
                out.setdefault(effect, []).append(ok)
    return {effect: {"covered": sum(v), "runs": len(v), "rate": sum(v) / len(v)} for effect, v in out.items()}


def under_covers(c: dict, nominal: float = 0.95, alpha: float = 0.05) -> bool:
    """Whether a CI covered its truth in fewer runs than a 95 % CI would by chance (one-sided binomial test).

    With ten runs, 8 of 10 is within chance (p = 0.09); 7 of 10 is not (p = 0.01).
    """
    from scipy.stats import binom

    return bool(binom.cdf(c["covered"], c["runs"], nominal) < alpha)


def _rate(cells: list[bool]) -> dict:
    return {"covered": sum(cells), "cells": len(cells), "rate": sum(cells) / len(cells) if cells else float("nan")}


def clustering_check(runs: list[dict]) -> dict:
    """Coverage in the repeated-users world: with errors clustered by user (as the pages) and treating
    sessions as independent."""
    picked = [r for r in runs if r["world"] == CLUSTER_WORLD]
    return {
        "runs": len(picked),
        "clustered": _rate([ok for r in picked for _, ok in r["coverage"]]),
        "naive": _rate([ok for r in picked for _, ok in r["naive_coverage"]]),
    }


DEFINITIONS = ("used", "with cart steps", "landmark")


def definitions_check(runs: list[dict]) -> dict:
    """Where engagement truly does nothing: how often each definition of it states a material association."""
    picked = [r for r in runs if r["truth"]["engagement"] == "negligible"]
    return {"runs": len(picked), **{d: sum(r["definitions"][d] in OPPOSITE for r in picked) for d in DEFINITIONS}}


# --------------------------------------------------------------------------------------------
# Rates and coverage tested against their targets, at a stated power
# --------------------------------------------------------------------------------------------

TEST_ALPHA = 0.05  # level of every binomial test of a rate against its target
NOMINAL = 0.95  # the CIs' nominal coverage
COVERAGE_DETECT = 0.90  # a coverage cell must detect this coverage (about 150 CIs give 80 % power)
FALSE_POSITIVE_DETECT = 2.0  # a false-positive test must detect a rate this many times its target
AA_DETECT = 1.5  # the A/A test must detect a rate this many times alpha (7.5 % at alpha 5 %)
COVERAGE_SESSIONS = 20_000  # sessions of a coverage-only world (03 and 04 only; coverage is the point)
CLUSTER_COVERAGE_RUNS = 34  # coverage-only runs of the repeated-users world (with its 3 grid runs: 185 CIs)
COVERAGE_KINDS = {  # CIs of one kind, pooled over the worlds: the marker their effect's name holds
    "03's purchase coefficients (engagement, time)": "-> purchase",
    "04's spend coefficients (engagement, time, idle)": "-> log spend",
}


def binomial_power(n: int, target: float, detect: float, side: str) -> float:
    """Power of the binomial test of ``target`` at ``TEST_ALPHA`` when the true rate is ``detect``.

    ``side`` 'less' (coverage: too few covered), 'greater' (a false-positive rate too high) or
    'two-sided' (``TEST_ALPHA`` / 2 in each tail). The rejection region is exact (binomial tails).
    """
    from scipy.stats import binom

    if n <= 0:
        return 0.0
    k = np.arange(n + 1)
    low, high = binom.cdf(k, n, target), binom.sf(k - 1, n, target)
    if side == "less":
        reject = low < TEST_ALPHA
    elif side == "greater":
        reject = high < TEST_ALPHA
    else:
        reject = (low < TEST_ALPHA / 2) | (high < TEST_ALPHA / 2)
    return float(binom.pmf(k[reject], n, detect).sum())


def binomial_check(label: str, hits: int, n: int, target: float, side: str, detect: float) -> dict:
    """``hits`` of ``n`` tested against the rate ``target`` (exact binomial test, ``side``), with its power to
    detect the rate ``detect``; it passes when p >= ``TEST_ALPHA``."""
    from scipy.stats import binomtest

    p = float(binomtest(int(hits), int(n), target, alternative=side).pvalue) if n else float("nan")
    return {
        "label": label,
        "hits": int(hits),
        "n": int(n),
        "rate": hits / n if n else float("nan"),
        "target": target,
        "side": side,
        "p": p,
        "detect": detect,
        "power": binomial_power(int(n), target, detect, side),
        "passed": bool(n and p >= TEST_ALPHA),
    }


def false_positive_check(label: str, hits: int, n: int, alpha: float = TEST_ALPHA) -> dict:
    """A false-positive rate tested against ``alpha`` (one-sided: too high fails), power at twice alpha."""
    return binomial_check(label, hits, n, alpha, "greater", FALSE_POSITIVE_DETECT * alpha)


def coverage_checks(runs: list[dict]) -> list[dict]:
    """95 % CIs against their nominal coverage: pooled by kind, per coefficient, and the repeated-users world.

    Each cell is a one-sided binomial test (coverage below 95 % beyond chance fails) with its power to
    detect 90 % coverage; cells without CIs are left out.
    """
    checks = []
    for kind, marker in COVERAGE_KINDS.items():
        cells = [ok for r in runs for effect, ok in r["coverage"] if marker in effect]
        checks.append(binomial_check(f"95 % CIs covering the truth, {kind}, all worlds", sum(cells), len(cells),
                                     NOMINAL, "less", COVERAGE_DETECT))  # fmt: skip
    for effect, c in coverage_by_coefficient(runs).items():
        checks.append(binomial_check(f"95 % CI covers {effect}, all worlds", c["covered"], c["runs"], NOMINAL,
                                     "less", COVERAGE_DETECT))  # fmt: skip
    cells = [ok for r in runs if r["world"] == CLUSTER_WORLD for _, ok in r["coverage"]]
    checks.append(binomial_check(f"{CLUSTER_WORLD} world: 95 % CIs covering the truth, errors clustered by user",
                                 sum(cells), len(cells), NOMINAL, "less", COVERAGE_DETECT))  # fmt: skip
    return [c for c in checks if c["n"]]


def run_coverage(name: str, overrides: dict, seed: int, n_sessions: int, folder: Path) -> dict:
    """A coverage-only world: 03 and 04 as their notebooks run them; the coverage of their 95 % CIs
    (clustered as on the pages, and treating sessions as independent)."""
    cfg = SimConfig(n_sessions=n_sessions, seed=seed, **overrides)
    truth = simulate_to_parquet(cfg, folder / "raw")
    build_gold(folder / "raw", folder / "gold")
    conv = conversion.analyse(folder / "gold", settings("03_conversion", seed), truth)
    sp = spend.analyse(folder / "gold", settings("04_spend", seed), truth)
    ok = conv.ok and sp.ok
    return {
        "world": name,
        "seed": seed,
        "sessions": n_sessions,
        "coverage": [(row.effect, bool(row.covered)) for row in conv.truth + sp.truth] if ok else [],
        "naive_coverage": naive_coverage(conv, sp, truth) if ok else [],
    }


AA_WORLD = {"user_effect_sd": 0.5}  # the default shop where each user keeps a lasting propensity to buy
AA_PLAN_SESSIONS = 50_000  # sessions of the world 06's sizing reads to plan the experiment


def planned_sessions_per_arm(seed: int, folder: Path) -> tuple[int, experiment.DesignEffect]:
    """Sessions per arm 06 plans in the ``AA_WORLD`` (its defaults: ICC upper bound, planned weeks)."""
    from helpers.data import gold

    s = params.notebook_defaults("06_strategy")
    simulate_to_parquet(SimConfig(n_sessions=AA_PLAN_SESSIONS, seed=seed, **AA_WORLD), folder / "raw")
    build_gold(folder / "raw", folder / "gold")
    flow = strategy.traffic(gold.traffic(folder / "gold"))
    design = experiment.design_effect(gold.read_gold(folder / "gold", columns=strategy.GOLD_COLUMNS_READ))
    span = flow["span_hours"] / 24 if flow["span_hours"] else None
    return experiment.planned_size(
        flow["baseline"], s["relative_mde"], s["alpha"], s["power"], design, span, flow["sessions_per_day"]
    )


def aa_planned(replications: int, seed: int = 7, sessions_per_arm: int | None = None) -> dict:
    """The experiment's A/A false-positive rate at the size 06 plans, in a world with user effects.

    ``sessions_per_arm`` overrides the planned size (a quick check). The rate is tested against alpha
    by a two-sided binomial test, with its power to detect 1.5 alpha.
    """
    alpha = float(params.notebook_defaults("06_strategy")["alpha"])
    design = None
    if not sessions_per_arm:
        with tempfile.TemporaryDirectory() as tmp:
            sessions_per_arm, design = planned_sessions_per_arm(seed, Path(tmp))
    n = int(sessions_per_arm)
    rate = experiment.aa_rate(SimConfig(seed=seed, **AA_WORLD), n, replications, alpha, seed)
    label = (
        f"A/A false-positive rate at {'the planned' if design else 'a'} size ({n:,} sessions per arm; users with a "
        "lasting propensity to buy" + (f", ICC {design.icc:.3f}, planned with its upper bound {design.icc_upper:.3f})"
                                       if design else ")")
    )  # fmt: skip
    return {
        "tests": replications,
        "sessions_per_arm": n,
        "planned": design is not None,
        "world": AA_WORLD,
        "icc": design.icc if design else None,
        "icc_upper": design.icc_upper if design else None,
        "design_effect_planned": design.design_effect_planned if design else None,
        "rejections": rate.rejections,
        "naive_rejections": rate.naive_rejections,
        "rate": rate.rate,
        "lo": rate.lo,
        "hi": rate.hi,
        "alpha": alpha,
        "check": binomial_check(label, rate.rejections, replications, alpha, "two-sided", AA_DETECT * alpha),
    }


def context_style_buyers(n_users: int, rng: np.random.Generator, extra_sessions: float = 0.6) -> pd.DataFrame:
    """Buyer sessions where the style differs only by context (device, traffic source) and browsing carries
    nothing about it given the context (browsing differs by device, so it goes with the style marginally)."""
    buyers = null_style_buyers(n_users, rng, extra_sessions)
    n = len(buyers)
    desktop = (buyers["device"] == "desktop").to_numpy()
    searched = buyers["traffic_source"].isin(["email", "search"]).to_numpy()
    user = buyers["user_id"].to_numpy()
    expensive = 1.6 * desktop + 1.0 * searched - 1.0 + 0.5 * rng.normal(size=n_users)[user] + rng.normal(size=n) > 0
    buyers["style"] = np.where(expensive, purchase_styles.EXPENSIVE_FEW, purchase_styles.CHEAP_MANY)
    buyers["pre_conversion_seconds"] *= np.exp(0.6 * desktop)
    buyers["pre_conversion_event_count"] = np.round(buyers["pre_conversion_event_count"] * np.exp(0.4 * desktop))
    return buyers


def context_null_rate(replications: int = 200, n_users: int = 150, seed: int = 1) -> dict:
    """05's classifier where the styles differ only by context: how often browsing is 'above chance' given it."""
    rng, folds = np.random.default_rng(seed), settings("05_purchase_style", seed).cv_folds
    hits = marginal = 0
    for r in range(replications):
        buyers = context_style_buyers(n_users, rng)
        features = stats.behaviour_features(buyers)
        controls, _ = stats.usable_controls(features, len(buyers))
        hits += purchase_styles.predictability(buyers, controls, folds, r).above_chance
        if r < 20:  # without the context, browsing looks informative (what conditioning on it corrects)
            marginal += purchase_styles.predictability(buyers, [], folds, r).above_chance
    return {
        "replications": replications,
        "false_above_chance": int(hits),
        "rate": hits / replications,
        "without_context": marginal / min(20, replications) if replications else float("nan"),
        "check": false_positive_check(
            "05: classifier 'above chance' where the styles differ only by device and source (browsing carries "
            "nothing given them)",
            int(hits),
            replications,
        ),
    }


READOUT_LABELS = {
    "lift_ci_coverage": "read-out: 95 % CI of the conversion lift covers the true lift",
    "cuped_ci_coverage": "read-out: CUPED's 95 % CI covers the true lift",
    "cuped_variance_reduction": "read-out: CUPED's variance reduction against the pre-period's rho² (means)",
    "iv_ci_coverage": "read-out: the instrument's (2SLS) 95 % CI covers the behaviour's true effect",
    "aa_false_positive_rate": "read-out: A/A false-positive rate (20,000 users)",
    "srm_detected_52_48": "read-out: sample-ratio check stops a 52/48 split of 20,000 users",
    "srm_false_alarm_50_50": "read-out: sample-ratio check stops a fair 50/50 split (false alarm)",
}


def readout_checks(
    replications: int, seed: int = 0, srm_replications: int = 2_000, alarm_replications: int = 20_000
) -> list[dict]:
    """The experiment read-out's validation rows (``readout.readout_validation``), each tested against its target
    by the same binomial tests, with their power (coverage and detection: to detect 90 %; rates: 1.5 times)."""
    from helpers.analysis import readout

    out = []
    rows = readout.readout_validation(
        replications=replications,
        seed=seed,
        srm_replications=srm_replications,
        alarm_replications=alarm_replications,
    )
    for row in rows:
        label = READOUT_LABELS.get(row.check, row.check)
        if row.test == "relative":
            out.append({
                "label": label, "hits": row.hits, "n": row.runs, "rate": row.value, "target": row.reference,
                "side": "relative", "p": row.p_value, "detect": None, "power": None, "passed": row.passed,
            })  # fmt: skip
            continue
        side = "less" if row.test == "not_below" else "two-sided"
        detect = COVERAGE_DETECT if side == "less" else AA_DETECT * row.target
        out.append(binomial_check(label, row.hits, row.runs, row.target, side, detect))
    return out


def check_line(c: dict) -> str:
    """One tested rate as a row of the summary table: value, target with its test, p and power."""
    if c["side"] == "relative":
        return (
            f"| {c['label']} | {c['rate']:.3f} against {c['target']:.3f} over {c['n']} experiments | within 10 % "
            f"(p of the gap {c['p']:.3f}): {'met' if c['passed'] else 'NOT MET'} |"
        )
    sign = {"less": "not below", "greater": "not above", "two-sided": "equal to"}[c["side"]]
    target = f"{c['target']:.1%}" if c["target"] >= 0.01 else f"{c['target']:.2%}"
    rate = f"{c['rate']:.1%}" if c["target"] >= 0.01 else f"{c['rate']:.3%}"
    detect = f"{c['detect']:.1%}" if c["detect"] >= 0.01 else f"{c['detect']:.2%}"
    return (
        f"| {c['label']} | {c['hits']:,} of {c['n']:,} ({rate}) | {sign} {target}: binomial p = {c['p']:.3f}, "
        f"{'met' if c['passed'] else 'NOT MET'} (power {c['power']:.0%} to detect {detect}) |"
    )


def summarise(
    runs: list[dict],
    aa: dict,
    styles_null: dict | None = None,
    shapes: list[dict] | None = None,
    coverage_runs: list[dict] | None = None,
    context_null: dict | None = None,
    readout: list[dict] | None = None,
) -> dict:
    """Totals over the grid (and the shaped worlds, ``run_shape_world``) and whether each target is met.

    Coverage is tested over the grid's runs and the coverage-only runs together (``coverage_checks``);
    the A/A rate, the classifier's false-positive rates and the read-out's rows by their own checks.
    """
    shape_high = sum(v == "high" for r in shapes or [] for v in r["badges"].values())
    every = runs + (coverage_runs or [])
    checks = coverage_checks(every)
    checks += [x["check"] for x in (aa, styles_null, context_null) if x and x.get("check")]
    checks += readout or []
    mixture_runs = [r for r in runs if r["truth"].get("groups") == "one_group"]
    cells = [ok for r in every for _, ok in r["coverage"]]
    wrong = sum(len(r["wrong_verdicts"]) for r in runs)
    high = sum(v == "high" for r in runs for v in r["badges"].values())
    wrong_high = sum(len(r["wrong_high_badges"]) for r in runs)
    bad_recs = sum(len(r["wrong_recommendations"]) for r in runs)
    false_material = sum(len(r["false_material"]) for r in runs)
    null_cells = sum(r["null_cells"] for r in runs)
    coverage = sum(cells) / len(cells) if cells else float("nan")
    default_coverage = coverage_by_coefficient(runs, "default")
    wrong_driver = sum(r["wrong_driver"] for r in runs)
    false_rate = false_material / null_cells if null_cells else float("nan")
    clustered = clustering_check(every)
    return {
        "checks": checks,
        "coverage_runs": len(coverage_runs or []),
        "coverage_sessions": (coverage_runs or [{}])[0].get("sessions", COVERAGE_SESSIONS),
        "context_null": context_null,
        "mixture_one_group": {
            "runs": len(mixture_runs),
            "two_groups": sum(r.get("mixture") == "two_groups" for r in mixture_runs),
        },
        "clustering": clustered,
        "definitions": definitions_check(runs),
        "runs": len(runs),
        "wrong_verdicts": wrong,
        "high_badges": high,
        "wrong_high_badges": wrong_high,
        "wrong_recommendations": bad_recs,
        "wrong_driver": wrong_driver,
        "false_material": false_material,
        "null_cells": null_cells,
        "false_material_rate": false_rate,
        "coverage": coverage,
        "coverage_cells": len(cells),
        "default_coverage": default_coverage,
        "aa": aa,
        "styles_null": styles_null,
        "shape_runs": len(shapes or []),
        "shape_high_badges": shape_high,
        "targets_met": bool(
            shape_high == 0
            and wrong == 0
            and wrong_high == 0
            and bad_recs == 0
            and wrong_driver == 0
            and all(c["passed"] for c in checks)
            and not false_rate > aa["alpha"]
        ),
    }


def markdown(summary: dict, runs: list[dict], shapes: list[dict] | None = None) -> str:
    """The validation report as Markdown: the summary table first, then one row per world and seed."""
    aa = summary["aa"]
    lines = [
        "# Validation: verdicts against the simulator's truth",
        "",
        "| measure | value | target |",
        "|---|---:|---|",
        f"| world × seed runs (all analyses) | {summary['runs']} | |",
        f"| coverage-only runs (03 and 04, {summary.get('coverage_sessions', COVERAGE_SESSIONS):,} sessions) | "
        f"{summary.get('coverage_runs', 0)} | |",
        f"| verdicts stating the opposite of the truth (03, 04, 05) | {summary['wrong_verdicts']} | 0 |",
        f"| 'high' badges | {summary['high_badges']} | |",
        f"| 'high' badges on a wrong answer | {summary['wrong_high_badges']} | 0 |",
        f"| 'high' badges in worlds cut as real exports are (thinned log, no checkout step) | "
        f"{summary.get('shape_high_badges', 0)} of {3 * summary.get('shape_runs', 0)} answers | 0 |",
        f"| recommendations supported against the truth | {summary['wrong_recommendations']} | 0 |",
        f"| key figures split by a behaviour that is not the true driver | {summary['wrong_driver']} | 0 |",
        f"| 04: material spend calls where the true effect is none | {summary['false_material']} of "
        f"{summary['null_cells']} ({summary['false_material_rate']:.1%}) | ≤ α ({aa['alpha']}) |",
    ]
    mix = summary.get("mixture_one_group") or {}
    if mix.get("runs"):
        lines.append(
            f"| unimodal-price world: 05's mixture test says two groups | {mix['two_groups']} of {mix['runs']} | 0 |"
        )
    lines += [check_line(c) for c in summary.get("checks", [])]
    nv, d = summary["clustering"]["naive"], summary["definitions"]
    if summary["clustering"]["runs"]:
        lines.append(
            f"| {CLUSTER_WORLD} world: the same CIs treating sessions as independent | {nv['covered']} of "
            f"{nv['cells']} ({nv['rate']:.0%}) | (what clustering corrects) |"
        )
    if d["runs"]:
        lines.append(
            f"| engagement truly without effect: runs stating a material association, engagement as browsing "
            f"(used) / with add-to-cart steps / at the landmark | {d['used']} / {d['with cart steps']} / "
            f"{d['landmark']} of {d['runs']} | 0 for the definition used |"
        )
    context = summary.get("context_null")
    if aa.get("tests") and not aa.get("check"):
        lines.append(f"| A/A false-positive rate (α = {aa['alpha']}) | {aa['rate']:.1%} of {aa['tests']} tests | ≈ α |")
    lines += styles_null_lines(summary.get("styles_null"))
    if context and context["replications"]:
        lines.append(
            f"| 05: the same classifier without the context, where the styles differ only by it | "
            f"{context['without_context']:.0%} of {min(20, context['replications'])} worlds 'above chance' | "
            "(what the context corrects) |"
        )
    lines += [
        "",
        "| world | seed | 03 answer | engagement | time | time adds | 04 engagement / time / idle | 05 browsing "
        "| 06 driver | badges 03/04/05 | CIs covering truth | problems |",
        "|---|---:|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        v, t = r["verdicts"], r["truth"]
        problems = (
            "; ".join(
                r["wrong_verdicts"]
                + r["false_material"]
                + [f"high badge wrong on {p}" for p in r["wrong_high_badges"]]
                + [f"supported: {x}" for x in r["wrong_recommendations"]]
                + (["key figure split by a wrong driver"] if r["wrong_driver"] else [])
            )
            or "none"
        )
        covered = sum(ok for _, ok in r["coverage"])
        sp = t["spend"]
        lines.append(
            f"| {r['world']} | {r['seed']} | {v['03 answer']} ({t['answer']}) | {v['03 engagement']} "
            f"({t['engagement']}) | {v['03 time']} ({t['time']}) | {v['03 time adds']} ({t['time_adds']}) | "
            f"{v['04 engagement']} / {v['04 time']} / {v['04 idle']} ({sp['engagement']} / {sp['time']} / "
            f"{sp['idle']}) | {v['05 browsing']} ({t['browsing']}) | {v['06 driver']} | "
            f"{'/'.join(r['badges'].values())} | {covered}/{len(r['coverage'])} | {problems} |"
        )
    lines += [
        "",
        "Each verdict is followed by the truth in brackets. 'unclear', 'none', 'depends' and 'inconclusive' never "
        "count as wrong; they count against a badge only when it says 'high'.",
        *shape_lines(shapes or []),
    ]
    return "\n".join(lines) + "\n"


def styles_null_lines(null: dict | None) -> list[str]:
    """The summary table's row for 05's classifier in a world where browsing says nothing about the style."""
    if not null:
        return []
    return [
        f"| 05: classifier 'above chance' where browsing carries no information | {null['rate']:.1%} "
        f"[{null['lo']:.1%}, {null['hi']:.1%}] over {null['replications']} worlds (Hanley-McNeil rule it "
        f"replaced: {null['hanley_mcneil_rate']:.1%}) | tested above (binomial) |"
    ]


def _in_folder(fn, *args):
    """Run ``fn(*args, folder)`` in a temporary folder (one task of the pool)."""
    with tempfile.TemporaryDirectory() as tmp:
        return fn(*args, Path(tmp))


def _one_thread() -> None:
    """A worker's BLAS and OpenMP pools to one thread: the processes share the cores."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


class _Inline:
    """The pool's interface run in this process, one task at a time (``--jobs 1``)."""

    def submit(self, fn, *args):
        from concurrent.futures import Future

        done = Future()
        done.set_result(fn(*args))
        return done

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _pool(jobs: int):
    if jobs <= 1:
        return _Inline()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=_one_thread)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--default-seeds", type=int, default=3, help="seeds of the default world")
    parser.add_argument("--worlds", default=",".join(WORLDS))
    parser.add_argument(
        "--coverage-runs", type=int, default=57, help="coverage-only worlds (03 and 04), repeated users first"
    )
    parser.add_argument("--coverage-sessions", type=int, default=COVERAGE_SESSIONS)
    parser.add_argument("--aa-tests", type=int, default=1000)
    parser.add_argument("--aa-size", type=int, default=0, help="sessions per arm of the A/A tests (0: 06's plan)")
    parser.add_argument(
        "--styles-null", type=int, default=200, help="replications of 05's null classifier world (0: skip)"
    )
    parser.add_argument(
        "--context-null", type=int, default=200, help="replications of 05's context-only styles world (0: skip)"
    )
    parser.add_argument("--readout", type=int, default=200, help="simulated experiments of the read-out (0: skip)")
    parser.add_argument(
        "--shapes",
        default=",".join(SHAPE_WORLDS),
        help="worlds cut as real exports are, run --seeds each (empty: skip)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes (1: all in this one)")
    parser.add_argument("--out", default=str(paths.reports_root() / "validation"))
    args = parser.parse_args(argv)
    names = [w.strip() for w in args.worlds.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORLDS]
    if unknown:
        print(f"error: unknown world {unknown[0]!r}; known: {', '.join(WORLDS)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    # each world draws its own seeds, so the worlds are independent replications
    seeds = {n: args.default_seeds if n == "default" else args.seeds for n in names}
    grid = [(n, 1000 * list(WORLDS).index(n) + s) for n in names for s in range(1, seeds[n] + 1)]
    shapes_wanted = [s.strip() for s in args.shapes.split(",") if s.strip()]
    with _pool(args.jobs) as pool:
        # the longest tasks first, so that the two processes finish together
        readout = pool.submit(readout_checks, args.readout) if args.readout else None
        aa = pool.submit(aa_planned, args.aa_tests, 7, args.aa_size or None) if args.aa_tests else None
        styles = pool.submit(styles_null_rate, args.styles_null) if args.styles_null else None
        context = pool.submit(context_null_rate, args.context_null) if args.context_null else None
        world_jobs = [pool.submit(_in_folder, run_world, n, WORLDS[n], seed, args.sessions) for n, seed in grid]
        shape_jobs = [
            pool.submit(
                _in_folder, run_shape_world, shape, 100_000 + 1000 * SHAPE_WORLDS.index(shape) + s, args.sessions
            )  # fmt: skip
            for shape in shapes_wanted
            for s in range(1, args.seeds + 1)
        ]
        coverage_jobs = [
            pool.submit(_in_folder, run_coverage, n, WORLDS[n], seed, args.coverage_sessions)
            for n, seed in coverage_grid(names, args.coverage_runs)
        ]
        runs = []
        for i, job in enumerate(world_jobs, 1):
            r = job.result()
            runs.append(r)
            trouble = r["wrong_verdicts"] or r["wrong_high_badges"] or r["wrong_recommendations"] or r["wrong_driver"]
            flag = "ok" if not trouble else "PROBLEM"
            print(f"[{i}/{len(grid)}] {r['world']} seed {r['seed']}: {flag} ({time.perf_counter() - t0:.0f} s)",
                  flush=True)  # fmt: skip
        shapes = []
        for job in shape_jobs:
            shapes.append(job.result())
            high = [p for p, level in shapes[-1]["badges"].items() if level == "high"]
            print(f"[shape] {shapes[-1]['world']} seed {shapes[-1]['seed']}: "
                  f"{'PROBLEM: high on ' + ', '.join(high) if high else 'ok'}", flush=True)  # fmt: skip
        coverage_runs = [job.result() for job in coverage_jobs]
        print(f"[coverage] {len(coverage_runs)} coverage-only runs ({time.perf_counter() - t0:.0f} s)", flush=True)
        summary = summarise(
            runs,
            aa.result() if aa else {"alpha": TEST_ALPHA, "rate": float("nan"), "tests": 0},
            styles.result() if styles else None,
            shapes,
            coverage_runs,
            context.result() if context else None,
            readout.result() if readout else None,
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seconds = time.perf_counter() - t0
    write_json(
        {
            "summary": summary,
            "runs": runs,
            "coverage_runs": coverage_runs,
            "shapes": shapes,
            "sessions": args.sessions,
            "jobs": args.jobs,
            "seconds": seconds,
        },
        out / "validation.json",
    )
    text = markdown(summary, runs, shapes).replace(
        "\n\n", f"\n\nWall time {seconds:.0f} s on {args.jobs} processes.\n\n", 1
    )
    with atomic_path(out / "validation.md") as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    print(markdown(summary, runs, shapes).split("\n\n")[1])
    print(f"written: {out / 'validation.md'} ({seconds:.0f} s)")
    return 0 if summary["targets_met"] else 1


def coverage_grid(names: list[str], runs: int) -> list[tuple[str, int]]:
    """The coverage-only runs: the repeated-users world first, until its clustered cell holds 185 CIs (37 runs
    with the grid's 3: 80 % power to detect 90 % coverage), then the other worlds in turn; seeds of their own
    (500 on from the world's)."""
    cluster = [CLUSTER_WORLD] * min(runs, CLUSTER_COVERAGE_RUNS) if CLUSTER_WORLD in names else []
    others = [n for n in names if n != CLUSTER_WORLD] or [CLUSTER_WORLD]
    picked = cluster + [others[i % len(others)] for i in range(runs - len(cluster))]
    count: dict[str, int] = {}
    out = []
    for n in picked:
        count[n] = count.get(n, 0) + 1
        out.append((n, 1000 * list(WORLDS).index(n) + 500 + count[n]))
    return out


if __name__ == "__main__":
    sys.exit(main())
