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
coefficient outside its 95 % CI is counted. An A/A simulation gives the experiment's false-positive rate with its CI,
and a world where browsing says nothing about the purchase style gives 05's classifier's false 'above chance' rate.

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
    "styles_browse": {"style_browse_effect": 0.8},
    "strong_idle": {"idle_spend_effect": -0.4},
    "positive_idle": {"idle_spend_effect": 0.3},
    "no_spend_effects": {"idle_spend_effect": 0.0, "engagement_spend_effect": 0.0},
    # users with many sessions that resemble each other and a lasting propensity to buy and to spend
    "repeat_users": {"sessions_per_user": 20.0, "user_effect_sd": 2.5, "user_trait_share": 0.8},
}
CLUSTER_WORLD = "repeat_users"  # where coverage with and without clustering by user is compared
COVERAGE_WORLDS = ("default", CLUSTER_WORLD)  # worlds run with --default-seeds seeds
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


def summarise(runs: list[dict], aa: dict, styles_null: dict | None = None, shapes: list[dict] | None = None) -> dict:
    """Totals over the grid (and the shaped worlds, ``run_shape_world``) and whether each target is met."""
    shape_high = sum(v == "high" for r in shapes or [] for v in r["badges"].values())
    cells = [ok for r in runs for _, ok in r["coverage"]]
    wrong = sum(len(r["wrong_verdicts"]) for r in runs)
    high = sum(v == "high" for r in runs for v in r["badges"].values())
    wrong_high = sum(len(r["wrong_high_badges"]) for r in runs)
    bad_recs = sum(len(r["wrong_recommendations"]) for r in runs)
    false_material = sum(len(r["false_material"]) for r in runs)
    null_cells = sum(r["null_cells"] for r in runs)
    coverage = sum(cells) / len(cells) if cells else float("nan")
    default_coverage = coverage_by_coefficient(runs, "default")
    short = [k for k, v in default_coverage.items() if under_covers(v)]
    wrong_driver = sum(r["wrong_driver"] for r in runs)
    false_rate = false_material / null_cells if null_cells else float("nan")
    clustered = clustering_check(runs)
    return {
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
            and coverage >= 0.9
            and not short
            and not false_rate > aa["alpha"]
            and (styles_null is None or styles_null["lo"] <= styles_null["alpha"] <= styles_null["hi"])
            and not clustered["clustered"]["rate"] < 0.9
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
        f"| world × seed runs | {summary['runs']} | |",
        f"| verdicts stating the opposite of the truth (03, 04, 05) | {summary['wrong_verdicts']} | 0 |",
        f"| 'high' badges | {summary['high_badges']} | |",
        f"| 'high' badges on a wrong answer | {summary['wrong_high_badges']} | 0 |",
        f"| 'high' badges in worlds cut as real exports are (thinned log, no checkout step) | "
        f"{summary.get('shape_high_badges', 0)} of {3 * summary.get('shape_runs', 0)} answers | 0 |",
        f"| recommendations supported against the truth | {summary['wrong_recommendations']} | 0 |",
        f"| key figures split by a behaviour that is not the true driver | {summary['wrong_driver']} | 0 |",
        f"| 04: material spend calls where the true effect is none | {summary['false_material']} of "
        f"{summary['null_cells']} ({summary['false_material_rate']:.1%}) | ≤ α ({aa['alpha']}) |",
        f"| 95 % CIs covering the true coefficient, all worlds | {summary['coverage']:.1%} of "
        f"{summary['coverage_cells']} | ≥ 90 % |",
    ]
    for effect, c in summary["default_coverage"].items():
        lines.append(
            f"| default world: CI covers {effect} | {c['covered']} of {c['runs']} ({c['rate']:.0%}) | "
            "not below 95 % beyond chance (binomial p ≥ 0.05) |"
        )
    cl, nv, d = summary["clustering"]["clustered"], summary["clustering"]["naive"], summary["definitions"]
    if summary["clustering"]["runs"]:
        lines += [
            f"| {CLUSTER_WORLD} world: CIs covering the truth, errors clustered by user | {cl['covered']} of "
            f"{cl['cells']} ({cl['rate']:.0%}) | ≥ 90 % |",
            f"| {CLUSTER_WORLD} world: the same CIs treating sessions as independent | {nv['covered']} of "
            f"{nv['cells']} ({nv['rate']:.0%}) | (what clustering corrects) |",
        ]
    if d["runs"]:
        lines.append(
            f"| engagement truly without effect: runs stating a material association, engagement as browsing "
            f"(used) / with add-to-cart steps / at the landmark | {d['used']} / {d['with cart steps']} / "
            f"{d['landmark']} of {d['runs']} | 0 for the definition used |"
        )
    lines += [
        f"| A/A false-positive rate (α = {aa['alpha']}) | {aa['rate']:.1%} [{aa['lo']:.1%}, {aa['hi']:.1%}] "
        f"over {aa['tests']} tests | ≈ α |",
        *styles_null_lines(summary.get("styles_null")),
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
        f"replaced: {null['hanley_mcneil_rate']:.1%}) | ≈ {null['alpha']:g} (CI covers it) |"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--default-seeds", type=int, default=10, help="seeds of the default world (coverage)")
    parser.add_argument("--worlds", default=",".join(WORLDS))
    parser.add_argument("--aa-tests", type=int, default=1000)
    parser.add_argument(
        "--styles-null", type=int, default=200, help="replications of 05's null classifier world (0: skip)"
    )
    parser.add_argument(
        "--shapes",
        default=",".join(SHAPE_WORLDS),
        help="worlds cut as real exports are, run --seeds each (empty: skip)",
    )
    parser.add_argument("--out", default=str(paths.reports_root() / "validation"))
    args = parser.parse_args(argv)
    names = [w.strip() for w in args.worlds.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORLDS]
    if unknown:
        print(f"error: unknown world {unknown[0]!r}; known: {', '.join(WORLDS)}", file=sys.stderr)
        return 2
    runs, t0 = [], time.perf_counter()
    # each world draws its own seeds, so the worlds are independent replications
    seeds = {n: max(args.seeds, args.default_seeds) if n in COVERAGE_WORLDS else args.seeds for n in names}
    if CLUSTER_WORLD in seeds:  # its coverage is the one clustering is judged by: twice the seeds
        seeds[CLUSTER_WORLD] *= 2
    grid = [(n, 1000 * list(WORLDS).index(n) + s) for n in names for s in range(1, seeds[n] + 1)]
    for i, (name, seed) in enumerate(grid, 1):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(run_world(name, WORLDS[name], seed, args.sessions, Path(tmp)))
        r = runs[-1]
        trouble = r["wrong_verdicts"] or r["wrong_high_badges"] or r["wrong_recommendations"] or r["wrong_driver"]
        flag = "ok" if not trouble else "PROBLEM"
        print(f"[{i}/{len(grid)}] {name} seed {seed}: {flag} ({time.perf_counter() - t0:.0f} s)", flush=True)
    shapes = []
    for shape in [s.strip() for s in args.shapes.split(",") if s.strip()]:
        for s in range(1, args.seeds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                shapes.append(
                    run_shape_world(shape, 100_000 + 1000 * SHAPE_WORLDS.index(shape) + s, args.sessions, Path(tmp))
                )
            high = [p for p, level in shapes[-1]["badges"].items() if level == "high"]
            print(f"[shape] {shape} seed {s}: {'PROBLEM: high on ' + ', '.join(high) if high else 'ok'}", flush=True)
    aa = aa_rate(args.aa_tests, 20_000)
    summary = summarise(runs, aa, styles_null_rate(args.styles_null) if args.styles_null else None, shapes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(
        {
            "summary": summary,
            "runs": runs,
            "shapes": shapes,
            "sessions": args.sessions,
            "seconds": time.perf_counter() - t0,
        },
        out / "validation.json",
    )
    with atomic_path(out / "validation.md") as tmp:
        Path(tmp).write_text(markdown(summary, runs, shapes), encoding="utf-8")
    print(markdown(summary, runs, shapes).split("\n\n")[1])
    print(f"written: {out / 'validation.md'} ({time.perf_counter() - t0:.0f} s)")
    return 0 if summary["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
