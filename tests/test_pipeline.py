"""One pipeline: what a notebook records is exactly its analysis's ``analyse`` on the same inputs.

The notebooks 03-06 each make one call (``conversion.analyse``, ``spend.analyse``,
``purchase_styles.analyse``, ``strategy.analyse``) and record its typed result; ``make validate``
makes the same calls with the settings read from the notebooks' parameters cells. These tests
rerun each call outside the notebook on the gold table a report built and compare the JSON.
"""

from __future__ import annotations

import json

import pytest

from helpers import paths, registry
from helpers.analysis import conversion, purchase_styles, results, spend, strategy
from helpers.data import fitness, gold
from helpers.data.files import read_json, write_json
from helpers.errors import ParameterError
from helpers.runner import params, validate

ANALYSES = {"03_conversion": conversion, "04_spend": spend, "05_purchase_style": purchase_styles}


def _as_written(record: results.Record, tmp_path) -> dict:
    """A result as its notebook writes it (NaN as null, numpy scalars as numbers)."""
    return read_json(write_json(record.to_json(), tmp_path / "again.json"))


def assert_same(a, b, where: str = "") -> None:
    """Equal structures; numbers equal to 1e-9 relative (the notebook's kernel sums on one BLAS thread)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (where, sorted(set(a) ^ set(b)))
        for k in a:
            assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), (where, a, b)
    else:
        assert a == b, (where, a, b)


@pytest.mark.notebook  # the report fixtures start kernels
@pytest.mark.parametrize("world", ["default_report", "time_matters_report"])
def test_the_record_a_notebook_saves_is_analyse_on_the_same_inputs(world, request, tmp_path, monkeypatch):
    pages, recorded = request.getfixturevalue(world)
    run = pages.name
    monkeypatch.setenv("CLICKSTREAM_DATA_ROOT", str(pages.parents[1] / "data"))
    chosen = json.loads((pages / "run.json").read_text())["parameters"]
    truth = results.truth(run)
    assert truth is not None
    raw, fit = paths.raw_dir(run), fitness.load(paths.raw_dir(run))
    described = gold.described(paths.gold_dir(run))  # as the notebooks read it: the untreated sessions
    for name, module in ANALYSES.items():
        settings = module.Settings.pick(chosen)
        if module is spend:
            again = spend.analyse(described, settings, truth, idle=gold.idle_measured(raw), fitness=fit)
        else:
            again = module.analyse(described, settings, truth, fit)
        again.population = gold.population(paths.gold_dir(run))
        assert_same(_as_written(again, tmp_path), recorded[name], name)
    again = strategy.analyse(
        paths.gold_dir(run),
        results.load_all(run),
        strategy.Settings.pick(chosen),
        truth,
        tmp_path / "experiment",
        fit,
        None,
        None,
    )
    assert_same(_as_written(again, tmp_path), recorded["06_strategy"], "06_strategy")


def test_recorded_results_load_typed_and_round_trip(default_report):
    _, recorded = default_report
    for name, data in recorded.items():
        result = results.typed(name, data)
        if name in ANALYSES or name == "06_strategy":
            assert type(result).NOTEBOOK == name
            assert result.to_json() == data, name
    conv = results.typed("03_conversion", recorded["03_conversion"])
    assert conv.headline.estimate == conv.effect(conv.headline.feature).or_per_sd
    assert conv.headline.specification == "both + controls"


def test_validate_uses_the_notebooks_defaults_and_nothing_else():
    for name in validate.ANALYSES:
        defaults = params.notebook_defaults(name)
        s = validate.settings(name, seed=7)
        assert s.seed == 7
        for field in type(s).__dataclass_fields__:
            if field != "seed":
                assert getattr(s, field) == defaults[field], (name, field)
        assert set(type(s).__dataclass_fields__) == set(defaults) - {"run"}, name  # no setting copied or missing
    options = {"run", *registry.NOTEBOOKS["06_strategy"].options}  # parameters that are not settings (a test's plan)
    assert set(strategy.Settings.__dataclass_fields__) == set(params.notebook_defaults("06_strategy")) - options


def test_shared_parameters_must_have_one_default(tmp_path):
    import nbformat

    for name, default in (("a", "0.05"), ("b", "0.1")):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
        cell = nbformat.v4.new_code_cell(f"alpha: float = {default}  # level")
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    with pytest.raises(ParameterError, match="parameter 'alpha' has default 0.05 in a but 0.1 in b"):
        params.declared([tmp_path / "a.ipynb", tmp_path / "b.ipynb"])
    assert params.declared([tmp_path / "a.ipynb"])["alpha"]["default"] == "0.05"


def _spend_call(feature, verdict):
    return spend.FeatureCall(feature, verdict, spend.MAIN_SPEC, -8.0, -12.0, -4.0, -8.0, -12.0, -4.0, 3.0)


def test_validate_scores_known_wrong_verdicts_false_effects_and_a_wrong_recommendation():
    want = {
        "engagement": "positive",
        "time": "negligible",
        "answer": "engagement",
        "time_adds": "no",
        "spend": {"engagement": "positive", "time": "negligible", "idle": "negligible"},
        "idle": "negligible",
        "browsing": "similar",
    }
    conv = conversion.ConversionResult(
        verdicts=conversion.Verdicts(
            "time", "time", True, "negligible", "positive", "yes", "positive", True, True, [], 0.01, 0.02, 0.6, 0.7
        ),
        truth=[results.TruthRow("engagement", 1.2, 1.1, 1.0, 1.3, True)],
        per_unit=[
            conversion.UnitEffect("engagement", "event", 0.5, 0.4, 0.6, 3.0),
            conversion.UnitEffect("time", "minute", 0.1, 0.05, 0.15, 1.5),
        ],
    )
    sp = spend.SpendResult(
        verdicts=spend.Verdicts(
            "engagement",
            False,
            0.1,
            0.8,
            0.8,
            0.1,
            0.1,
            True,
            False,
            [],
            5.0,
            _spend_call("engagement", "negative"),
            _spend_call("time", "unclear"),
            _spend_call("idle", "negative"),
        ),
        truth=[results.TruthRow("idle", 0.0, -0.1, -0.2, -0.01, False)],
    )
    st = purchase_styles.StylesResult(verdicts=purchase_styles.Verdicts("similar", behaviour_auc=0.5))
    for r, b in ((conv, "high"), (sp, "low"), (st, "low")):
        r.badge = results.Badge(b)
    scored = validate.score(conv, sp, st, want)
    assert "03 answer: time, truth engagement" in scored["wrong_verdicts"]
    assert "03 engagement: negligible, truth positive" in scored["wrong_verdicts"]
    assert "04 engagement: negative, truth positive" in scored["wrong_verdicts"]
    assert scored["false_material"] == ["04 idle: negative, truth no material effect"] and scored["null_cells"] == 2
    assert scored["wrong_high_badges"] == ["03"]
    assert scored["wrong_driver"]  # 03 says time, the truth says engagement: the key figure splits by time
    assert "time_richer_content" in scored["wrong_recommendations"]
    assert scored["coverage"] == [("engagement", True), ("idle", False)]


@pytest.mark.world  # a simulated world analysed whole: in `make test`, not in the edit loop
def test_validate_end_to_end_on_one_small_world(tmp_path):
    code = validate.main(
        [
            "--sessions",
            "10000",
            "--seeds",
            "1",
            "--default-seeds",
            "1",
            "--worlds",
            "default",
            "--aa-tests",
            "40",
            "--aa-size",
            "3000",
            "--styles-null",
            "5",
        ]
        + ["--coverage-runs", "1", "--coverage-sessions", "12000", "--context-null", "0", "--readout", "0"]
        + ["--shapes", "no_checkout"]  # one world cut as an export is (make validate runs both)
        + ["--jobs", "1", "--out", str(tmp_path)]
    )
    table = (tmp_path / "validation.md").read_text()
    summary = read_json(tmp_path / "validation.json")["summary"]
    # one world run and one coverage-only run: ten CIs, each tested against 95 % with its power stated
    assert summary["runs"] == 1 and summary["coverage_runs"] == 1 and summary["coverage_cells"] == 10
    assert code in (0, 1)
    labels = [c["label"] for c in summary["checks"]]
    assert any("03's purchase coefficients" in label for label in labels)
    assert any(label.startswith("A/A false-positive rate at a size (3,000") for label in labels)
    assert "binomial p =" in table and "power" in table and "Wall time" in table
    assert "'high' badges in worlds cut as real exports are" in table  # the one shape world ran and was scored
    assert set(summary["default_coverage"]) == {
        "engagement -> purchase (log-odds per log1p unit)",
        "time -> purchase (log-odds per log1p unit)",
        "engagement -> log spend (per log1p event)",
        "time -> log spend (per log1p second)",
        "idle -> log spend (per log1p second)",
    }
    assert "| default | 1 | engagement (engagement) |" in table
