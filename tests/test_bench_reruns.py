"""The rerun benchmark's arithmetic and its one-process baseline (the numbers themselves live in the README)."""

from __future__ import annotations

import json

import nbformat

from helpers import paths
from helpers.runner import bench_reruns


def test_the_table_gives_each_rerun_as_a_share_of_the_lesser_cold_run_and_both_cpu_ratios():
    steps = {
        "cold": {"wall": 40.0, "cpu": 60.0},
        "nothing changed": {"wall": 1.0, "cpu": 1.0},
        "06-only parameter": {"wall": 12.0, "cpu": 15.0},
        f"{bench_reruns.EDITED_HELPER} edited": {"wall": 14.0, "cpu": 18.0},
        "forced": {"wall": 50.0, "cpu": 61.0},
        "cold, again": {"wall": 45.0, "cpu": 62.0},
        "forced, again": {"wall": 55.0, "cpu": 63.0},
        "notebooks in one process": {"wall": None, "cpu": 40.0},
        "in-process analyses": {"wall": None, "cpu": 20.0},
    }
    text = bench_reruns.table(steps)
    assert "| nothing changed | 1.0 | 1.0 | 2% | ≤ 5% |" in text
    assert "| 06-only parameter | 12.0 | 15.0 | 30% | ≤ 25% |" in text
    assert "| cold, again | 45.0 | 62.0 | 112% |  |" in text
    assert "(wall, the lesser of two runs each): 0.80 (target ≤ 1.1)" in text
    assert "Report CPU (60.0 s, the least of the cold and forced runs" in text
    assert "(40.0 s: imports, analyses, figures, tables): 1.50 (target ≤ 1.5)" in text
    assert "alone in one process (20.0 s, no figures or tables): 3.00." in text
    steps["cold"]["wall"], steps["forced, again"]["cpu"] = 60.0, 50.0
    text = bench_reruns.table(steps)
    assert "| 06-only parameter | 12.0 | 15.0 | 27% | ≤ 25% |" in text  # of the second cold run, now the lesser
    assert "(wall, the lesser of two runs each): 0.90" in text and "tables): 1.25 (target ≤ 1.5)" in text


def test_the_one_process_baseline_runs_every_notebook_with_the_run_and_parameters(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name, line in (("01_a", "n_sessions: int = 5  # size"), ("02_b", "other: int = 1")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell(f'run: str = "default"\n{line}', metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell(
                "import json, matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
                f"open({str(tmp_path / name)!r}, 'w').write(json.dumps([run, globals().get('n_sessions')]))"
            ),
        ]
        nbformat.write(nb, folder / f"{name}.ipynb")
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", folder)
    assert bench_reruns.notebooks_in_process_cpu(7, tmp_path) > 0
    assert json.loads((tmp_path / "01_a").read_text()) == ["in-process", 7]
    assert json.loads((tmp_path / "02_b").read_text()) == ["in-process", None]  # declares no n_sessions
