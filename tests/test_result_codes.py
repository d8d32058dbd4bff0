"""Results hold numbers and codes; pages hold words.

01's and 02's records are built in-process from a simulated run and from imports (an event log, a
session table); each analysis runs in-process on one small simulated gold table (as ``make validate`` runs them), and
every string in the JSON of its result must be a code, an id, a name from a closed set the analyses
declare, a model formula or a path: nothing with a space outside those, so no sentence. Rewording a
recommendation changes no validation or comparison outcome, and an unknown recommendation id is an
error in both.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.analysis import conversion, experiment, purchase_styles, spend, strategy
from helpers.compare import comparison
from helpers.presentation.words import answers, common
from helpers.presentation.words import strategy as strategy_words
from helpers.runner import params, validate

CONTROLS = ["C(device)", "C(traffic_source)", "C(start_weekday)", "C(start_hour)", "first_delay"]
# Codes, ids, column and term names, links and paths: one token, no space.
CODE = re.compile(r"[A-Za-z0-9_.+\-/()<>=|#%:']{1,80}")
PATH = re.compile(r"(/[^\s/]+)+/?")  # a file path, however long (a test's temporary folder under xdist is)
# Names that hold a space, each from a closed set the analyses declare: model specifications, the
# truth's effects, 05's metrics, and verdicts spelled with a space.
NAMES = {
    *conversion.nested_specs(CONTROLS),
    *spend.nested_specs(CONTROLS, idle=True),
    "Gamma GLM check",
    *purchase_styles.BEHAVIOUR.values(),
    "engagement -> purchase (log-odds per log1p unit)",
    "time -> purchase (log-odds per log1p unit)",
    "engagement -> log spend (per log1p event)",
    "time -> log spend (per log1p second)",
    "idle -> log spend (per log1p second)",
    "not estimated",
    "not available",
    "not measured",
    "cannot size",
    "neither clearly",
    "small difference",
    "does not agree",
}
# Fields whose value is a model formula (terms joined by ' + ', a scale such as 'log1p(seconds before ...)').
FORMULA_FIELDS = {"models[].terms", "effects[].scale"}


def strings(value, path=""):
    """Every string in a JSON value (dict keys included), with where it sits ('verdicts.time.classes{key}')."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}{{key}}", key
            yield from strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, f"{path}[]")
    elif isinstance(value, str):
        yield path, value


def prose(record: dict) -> list[tuple[str, str]]:
    """The strings of a result's JSON that are neither a code nor a declared name or formula."""
    return [
        (path, text)
        for path, text in strings(record)
        if not CODE.fullmatch(text) and not PATH.fullmatch(text) and text not in NAMES and path not in FORMULA_FIELDS
    ]


@pytest.fixture(scope="module")
def found(small_shop, tmp_path_factory):
    """03-06 on one small simulated shop (a session's, shared), with each notebook's default settings."""
    shop, truth, upstream = small_shop
    folder = tmp_path_factory.mktemp("codes")
    out = dict(upstream)
    chosen = {**params.notebook_defaults("06_strategy"), "seed": 5, "experiment_sessions_per_arm": 3_000}
    out["06_strategy"] = strategy.analyse(shop / "gold", out, strategy.Settings.pick(chosen), truth, folder / "exp")
    return out


def test_every_result_holds_codes_and_numbers_not_sentences(found):
    assert set(found) == {"03_conversion", "04_spend", "05_purchase_style", "06_strategy"}
    assert all(r.ok for r in found.values() if hasattr(r, "ok")), "the small world must estimate every answer"
    for name, result in found.items():
        assert prose(result.to_json()) == [], name


def test_the_scan_rejects_a_sentence_anywhere():
    assert prose({"a": {"b": ["supported", "ship"]}, "models": [{"terms": "engagement + time"}]}) == []
    assert prose({"reason": "too few buyers"}) == [("reason", "too few buyers")]
    assert prose({"classes": {"both plus everything": "positive"}}) == [("classes{key}", "both plus everything")]
    assert prose({"decision": "ship: conversion rose"}) == [("decision", "ship: conversion rose")]


def test_every_code_in_the_results_has_words(found):
    """Each badge rule, recommendation id, reason, test and decision the analyses returned is worded."""
    for result in found.values():
        for rule in getattr(result, "badge", None) and result.badge.rules or []:
            assert rule.code in common.RULE_WORDS, rule.code
    worded = strategy_words.recommendations(found["06_strategy"].recommendations)
    assert [w.id for w in worded] == [r.id for r in found["06_strategy"].recommendations]
    assert all(w.title and w.evidence for w in worded)
    assert all(w.text for w in worded if w.status != "not estimated")
    assert strategy_words.experiment_lines(found["06_strategy"])
    rows = answers.summary(found)
    assert [r.page for r in rows] == ["03_conversion", "04_spend", "05_purchase_style"]
    assert all(r.answer and r.evidence and r.badge.passed + r.badge.failed for r in rows)
    exp = found["06_strategy"].experiment
    assert exp.decision in experiment.DECISIONS and strategy_words.decision(exp)


def test_recommendation_ids_are_the_declared_ones_and_every_id_has_a_title_and_a_truth_rule():
    assert set(strategy.RECOMMENDATIONS) == set(strategy_words.TITLES)
    want = {"answer": "engagement", "engagement": "positive", "time": "negligible", "idle": "negative"}
    assert set(validate.supported_by_truth(want | {"browsing": "similar"})) == set(strategy.RECOMMENDATIONS)


def _run(name: str, recs) -> SimpleNamespace:
    return SimpleNamespace(name=name, results={"06_strategy": SimpleNamespace(recommendations=recs)})


def _outcomes(found):
    """What validation and comparison conclude about 06's recommendations (against a world where time matters)."""
    recs = found["06_strategy"].recommendations
    # every recommendation as if supported, so that the truth below (time matters) must reject some of them
    claimed = [dataclasses.replace(r, status="supported", reason=None) for r in recs]
    want = {"answer": "time", "engagement": "positive", "time": "positive", "idle": "none", "browsing": "different"}
    missing = {
        "idle_to_interaction": "no_fit_04",
        "styles_price_framing": "no_fit_05",
        "segment_by_engagement": "no_thirds",
    }
    lost = [dataclasses.replace(r, status="not estimated", reason=missing.get(r.id, "no_fit_03")) for r in recs]
    changes = comparison.recommendation_changes(_run("a", recs), _run("b", lost[:-1]))
    return validate.wrong_recommendations(claimed, want), [(c.id, c.change, c.status_a, c.status_b) for c in changes]


def test_rewording_a_recommendation_changes_no_validation_or_comparison_outcome(found, monkeypatch):
    before = _outcomes(found)
    assert before[0], "the world where time matters must find a wrongly supported recommendation"
    renamed = {rid: f"Reworded {i}" for i, rid in enumerate(strategy_words.TITLES)}
    monkeypatch.setattr(strategy_words, "TITLES", renamed)
    assert _outcomes(found) == before
    worded = strategy_words.recommendations(found["06_strategy"].recommendations)
    assert all(w.title.startswith("Reworded") for w in worded)


def test_an_unknown_recommendation_id_is_an_error_in_validation_and_comparison(found):
    recs = found["06_strategy"].recommendations
    stranger = [*recs, dataclasses.replace(recs[0], id="optimise_for_time_on_site", status="withdrawn")]
    want = {"answer": "engagement", "engagement": "positive", "time": "negligible", "idle": "negative"}
    with pytest.raises(validate.UnknownRecommendation, match="optimise_for_time_on_site"):
        validate.wrong_recommendations(stranger, want | {"browsing": "similar"})
    with pytest.raises(comparison.UnknownRecommendation, match="optimise_for_time_on_site"):
        comparison.recommendation_changes(_run("a", recs), _run("b", stranger))
    with pytest.raises(KeyError):
        strategy_words.title(stranger[-1])


def test_a_fit_that_fails_and_an_answer_not_estimable_hold_codes_and_numbers(tmp_path):
    """Fit health is codes (the warning's class, the numbers in the record), as is a not-estimable reason."""
    import numpy as np
    import pandas as pd

    from helpers.analysis import stats

    from . import rawfixture, worlds

    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"engagement": rng.normal(0, 1, 400), "time": rng.normal(0, 1, 400)})
    frame["did_purchase"] = (frame["engagement"] > 0.8).astype(int)  # engagement decides purchase: separation
    fits = conversion.fit_nested(frame, [], 3, 0)
    assert not fits["health"]["ok"] and prose(fits["health"]) == []
    effects = conversion.per_sd_effects(fits["fits"]["both"], frame)
    v = conversion.verdicts(effects, effects, fits["table"], fits["health"], 1.15, 0.05)
    assert v["health_reasons"] and prose(conversion.Verdicts(**v).to_json()) == []
    assert prose(stats.Health.from_json(fits["health"]).to_json()) == []

    def singular(*args):
        raise np.linalg.LinAlgError("Singular matrix")

    _, failed = stats.checked_fit(singular)
    assert failed["reasons"] == ["fit_failed"] and prose(failed) == []
    frames = rawfixture.tables()  # no purchase at all: nothing is estimable
    frames["orders"], frames["order_items"] = frames["orders"].iloc[:0], frames["order_items"].iloc[:0]
    frames["events"] = frames["events"][frames["events"].event_type != "purchase"]
    rawfixture.write(tmp_path / "raw", frames)
    found = worlds.imported(tmp_path)
    for name, result in found.results.items():
        # 06 records a recommendation resting on no test as test '' (no code), not as a sentence
        assert [p for p in prose(result.to_json()) if p != ("recommendations[].test", "")] == [], name
    assert {found[n].reason for n in validate.ANALYSES} <= set(common.NOT_ESTIMABLE_WORDS) | {"no_prices"}
    assert all(common.reason_words(found[n]) for n in validate.ANALYSES)


def _upstream_records(raw, gold_dir, parameters: dict) -> dict:
    """01's and 02's records, built in-process as the notebooks build them (no kernel)."""
    from helpers.data import acquire, gold
    from helpers.data.data_profile import benchmark_table, raw_profile, run_record
    from helpers.data.files import read_json, write_json

    got = acquire.raw_tables(raw, parameters, progress=False)
    profile = raw_profile(raw)
    sim = run_record(profile, benchmark_table(profile), got.config, got.provenance)
    built = gold.build_gold(raw, gold_dir)
    population = gold.write_untreated(gold_dir)
    checks = gold.reconcile(raw, gold_dir)
    head = gold.headline(gold_dir)
    rec = {
        **{k: v for k, v in head.items() if k != "unique_sessions"},
        "engine": "duckdb",
        "seconds": built["seconds"],
        "reconciliation_ok": bool(checks["agrees"].all()),
        "population": population.to_json(),
    }
    out = {}
    for name, record in (("01_simulate", sim), ("02_gold_table", rec)):  # as records.save writes them
        write_json(record, Path(raw).parent / f"{name}.json")
        out[name] = read_json(Path(raw).parent / f"{name}.json")
    return out


# Values quoted from the user's data (a timestamp, an offending cell), not words of the report's.
DATA_FIELDS = {
    "time_range[]",
    "provenance.time_range[]",
    "provenance.rows_dropped_examples.*",
    "provenance.values_not_parsed[].examples[]",
}


def upstream_prose(record: dict) -> list[tuple[str, str]]:
    """``prose`` of 01's or 02's record, less the values quoted from the data."""
    quoted = [re.compile(re.escape(d).replace(r"\*", ".*")) for d in DATA_FIELDS]
    return [(p, t) for p, t in prose(record) if not any(q.fullmatch(p) for q in quoted)]


def test_01_and_02_hold_codes_and_numbers_simulated_and_imported(tmp_path):
    """01's and 02's records, simulated and imported (an event log with dropped rows, a session table): codes
    and numbers; the front page words them (``formatting.provenance_html``, ``findings.benchmark_frame``)."""
    from helpers.presentation import findings, formatting

    from . import realfixtures

    sim = _upstream_records(tmp_path / "s" / "raw", tmp_path / "s" / "gold", {"n_sessions": 3_000, "seed": 3})
    found = {f"simulated {k}": v for k, v in sim.items()}
    log, mapping, preset = realfixtures.shapes(tmp_path)["constant_price_local_time"]
    (tmp_path / "m.yaml").write_text(mapping)
    imported = {"event_log": str(log), "mapping": str(tmp_path / "m.yaml"), "session_gap_minutes": 30}
    found |= {
        f"event log {k}": v
        for k, v in _upstream_records(tmp_path / "e" / "raw", tmp_path / "e" / "gold", imported).items()
    }
    table, mapping = realfixtures.session_table(tmp_path)
    (tmp_path / "st.yaml").write_text(mapping)
    found |= {
        f"session table {k}": v
        for k, v in _upstream_records(
            tmp_path / "t" / "raw",
            tmp_path / "t" / "gold",
            {"session_table": str(table), "mapping": str(tmp_path / "st.yaml")},
        ).items()
    }
    assert found["event log 01_simulate"]["provenance"]["values_not_parsed"]
    assert {name: upstream_prose(record) for name, record in found.items()} == dict.fromkeys(found, [])
    for kind in ("simulated", "event log", "session table"):
        record = found[f"{kind} 01_simulate"]
        assert findings.simulation_lines(record, None)
        assert findings.benchmark_frame(record["benchmark_table"])["metric"].all()
        if record["provenance"]:
            formatting.provenance_html(record["provenance"])
            formatting.parse_table(record["provenance"])
    shown = formatting.provenance_html(found["event log 01_simulate"]["provenance"])
    assert "Europe/Berlin (declared in the mapping)" in shown and "(the session id column)" in shown
    assert "exact duplicate rows: " in shown and "missing, read as 1;" in shown
    shown = formatting.provenance_html(found["session table 01_simulate"]["provenance"])
    assert "carried by the timestamps" in shown and "the data hold one row per session" in shown
