"""What a notebook depends on, and the words for what changed (no kernel)."""

from __future__ import annotations

import json

from helpers import paths
from helpers.runner import freshness


def _closure(stem: str) -> set[str]:
    nb = next(paths.NOTEBOOKS_DIR.glob(f"{stem}*.ipynb"))
    return {p.name for p in freshness.helper_files(freshness.notebook_modules(nb))}


def test_each_notebook_depends_on_the_helpers_it_imports_and_not_on_other_analyses():
    assert {"spend.py", "stats.py", "results.py", "gold.py"} <= _closure("04")
    assert "spend.py" not in _closure("03") and "conversion.py" not in _closure("04")
    assert {"conversion.py", "spend.py", "strategy.py", "experiment.py"} <= _closure("06")


def test_inputs_hold_source_helpers_sql_parameters_upstream_and_environment(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "results").mkdir(parents=True)
    (run_dir / "results" / "02_gold_table.json").write_text(json.dumps({"rows": 5, "seconds": 1.0}))
    nb = paths.NOTEBOOKS_DIR / "04_spend.ipynb"
    key = freshness.inputs(nb, {"alpha": 0.05}, run_dir, ["02_gold_table", "04_spend"])
    assert {"notebook", "helpers/analysis/spend.py", "helpers/data/sql/gold_table.sql", "environment"} <= set(key)
    assert key["parameter alpha"] == "0.05" and key["gold table"] and key["02_gold_table results"]
    # a rerun that only took longer leaves the record's fingerprint as it was; a new number does not
    (run_dir / "results" / "02_gold_table.json").write_text(json.dumps({"rows": 5, "seconds": 9.0}))
    same = freshness.inputs(nb, {"alpha": 0.05}, run_dir, ["02_gold_table", "04_spend"])
    assert freshness.changes(key, same) == []
    (run_dir / "results" / "02_gold_table.json").write_text(json.dumps({"rows": 6, "seconds": 9.0}))
    moved = freshness.inputs(nb, {"alpha": 0.01}, run_dir, ["02_gold_table", "04_spend"])
    assert freshness.changes(key, moved) == ["02_gold_table results changed", "parameter alpha changed"]


def test_changes_name_each_kind_of_input_in_words():
    before = {"notebook": "a", "helpers/analysis/spend.py": "a", "gold table": "a", "environment": "a", "x.py": "a"}
    after = {"notebook": "b", "helpers/analysis/spend.py": "b", "gold table": "b", "environment": "b", "y.py": "a"}
    assert freshness.changes(before, after) == [
        "the environment changed",
        "gold table changed",
        "helpers/analysis/spend.py changed",
        "the notebook changed",
        "x.py no longer used",
        "y.py is new",
    ]
    assert freshness.changes(None, after) == ["no earlier result to reuse"]
    assert freshness.changes(after, dict(after)) == []


def test_a_user_file_is_known_by_its_size_and_time(tmp_path):
    log = tmp_path / "events.csv"
    log.write_text("a,b\n1,2\n")
    first = freshness._user_file(str(log))
    log.write_text("a,b\n1,2\n3,4\n")
    assert freshness._user_file(str(log)) != first and freshness._user_file(str(tmp_path / "none")) == "missing"


NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def _inputs(run_dir) -> dict[str, dict[str, str]]:
    present = [nb.stem for nb in NOTEBOOKS]
    return {nb.stem: freshness.inputs(nb, {}, run_dir, present) for nb in NOTEBOOKS}


def _rerun_after_editing(monkeypatch, run_dir, edited: str) -> set[str]:
    """The notebooks whose inputs change when helper file ``edited`` (relative to the project) changes."""
    before = _inputs(run_dir)
    real = freshness._hash_file
    target = paths.PROJECT_ROOT / edited
    monkeypatch.setattr(freshness, "_hash_file", lambda p: "edited" if p == target else real(p))
    after = _inputs(run_dir)
    monkeypatch.setattr(freshness, "_hash_file", real)
    return {stem for stem in before if freshness.changes(before[stem], after[stem])}


def test_01_and_02_depend_on_no_analysis_and_no_analysis_wording(tmp_path):
    for stem, key in _inputs(tmp_path).items():
        if stem[:2] in ("01", "02"):
            assert not [k for k in key if k.startswith(("helpers/analysis/", "helpers/presentation/words/"))], stem


def test_a_wording_edit_reruns_only_the_notebook_whose_words_changed(monkeypatch, tmp_path):
    keys = _inputs(tmp_path)
    own = {
        stem: [
            k for k in key if k.startswith("helpers/presentation/") and all(k not in keys[o] for o in keys if o != stem)
        ]
        for stem, key in keys.items()
    }
    for stem in ("03_conversion", "04_spend", "05_purchase_style"):
        assert own[stem], f"{stem} has no wording module of its own: rewording it reruns other notebooks"
        for module in own[stem]:
            assert _rerun_after_editing(monkeypatch, tmp_path, module) == {stem}


def test_an_analysis_edit_reruns_its_notebook_and_the_strategy_only(monkeypatch, tmp_path):
    assert _rerun_after_editing(monkeypatch, tmp_path, "helpers/analysis/conversion.py") == {
        "03_conversion",
        "06_strategy",
    }
    assert _rerun_after_editing(monkeypatch, tmp_path, "helpers/data/simulate.py") >= {"01_simulate"}
    assert "01_simulate" not in _rerun_after_editing(monkeypatch, tmp_path, "helpers/analysis/purchase_styles.py")


def test_a_notebook_reruns_when_what_it_reads_changed_and_not_otherwise(tmp_path):
    (tmp_path / "results").mkdir()
    for stem in ("03_conversion", "05_purchase_style"):
        (tmp_path / "results" / f"{stem}.json").write_text(json.dumps({"estimate": 1.0, "seconds": 2.0}))
    before = _inputs(tmp_path)
    (tmp_path / "results" / "05_purchase_style.json").write_text(json.dumps({"estimate": 2.0, "seconds": 2.0}))
    after = _inputs(tmp_path)
    changed = {stem: freshness.changes(before[stem], after[stem]) for stem in before}
    assert {stem for stem, why in changed.items() if why} == {"06_strategy"}
    assert changed["06_strategy"] == ["05_purchase_style results changed"]
