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
