"""The rerun benchmark's arithmetic and its one-process baseline (the numbers themselves live in the README)."""

from __future__ import annotations

import json

import nbformat
import pytest

from helpers import paths
from helpers.runner import bench_reruns


def _steps(slower: float = 1.0) -> dict:
    steps = {}
    for again, scale in (("", 1.0), (", again", 1.5)):
        steps[f"cold{again}"] = {"wall": 40.0 * scale * slower, "cpu": 60.0 * scale}
        steps[f"nothing changed{again}"] = {"wall": 1.0 * scale, "cpu": 1.0}
        steps[f"06-only parameter{again}"] = {"wall": 16.0 * scale, "cpu": 15.0}
        steps[f"{bench_reruns.EDITED_HELPER} edited{again}"] = {"wall": 14.0 * scale * slower, "cpu": 18.0}
        steps[f"forced{again}"] = {"wall": 50.0 * scale, "cpu": 61.0 * scale}
    return steps


def test_the_table_gives_the_lesser_of_each_steps_two_runs_over_the_lesser_cold_run_and_both_cpu_ratios():
    steps = _steps()
    steps["notebooks in one process"] = {"wall": None, "cpu": 40.0}
    steps["in-process analyses"] = {"wall": None, "cpu": 20.0}
    text = bench_reruns.table(steps)
    assert "| nothing changed | 1.0, 1.5 | 1.0, 1.0 | 2% | ≤ 5% |" in text
    assert "| 06-only parameter | 16.0, 24.0 | 15.0, 15.0 | 40% | ≤ 35% |" in text
    assert "(wall, the lesser of two runs each): 0.80 (target ≤ 1.1)" in text
    assert "Report CPU (60.0 s, the least of the cold and forced runs" in text
    assert "(40.0 s: imports, analyses, figures, tables): 1.50 (target ≤ 1.5)" in text
    assert "alone in one process (20.0 s, no figures or tables): 3.00." in text
    steps["cold"]["wall"], steps["06-only parameter, again"]["wall"], steps["forced, again"]["cpu"] = 80.0, 9.0, 50.0
    text = bench_reruns.table(steps)
    assert "| 06-only parameter | 16.0, 9.0 | 15.0, 15.0 | 15% | ≤ 35% |" in text  # 9 s over the second cold's 60
    assert "(wall, the lesser of two runs each): 1.20" in text and "tables): 1.25 (target ≤ 1.5)" in text


def test_side_by_side_gives_each_settings_lesser_runs_and_what_the_first_saves():
    warm, cold = _steps(), _steps(slower=1.25)
    warm["notebooks in one process"] = {"wall": None, "cpu": 40.0}  # baselines are not steps
    text = bench_reruns.side_by_side({2: warm, 0: cold})
    assert "| step | 2 ahead: wall s, CPU s | 0 ahead: wall s, CPU s | saved vs 0 ahead: wall s (each round) |" in text
    assert "| cold | 40.0, 60.0 | 50.0, 60.0 | +10.0 (+10.0, +15.0) |" in text
    assert "| 06-only parameter | 16.0, 15.0 | 16.0, 15.0 | +0.0 (+0.0, +0.0) |" in text
    assert f"| {bench_reruns.EDITED_HELPER} edited | 14.0, 18.0 | 17.5, 18.0 | +3.5 (+3.5, +5.2) |" in text
    assert "one process" not in text and "again" not in text


def test_an_edited_helper_no_notebook_reads_stops_the_benchmark(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "run.json").write_text(json.dumps({"inputs": {"04_spend": {"helpers/paths.py": "h"}}}))
    with pytest.raises(SystemExit, match="no notebook depends on"):
        bench_reruns._pretend_edited(tmp_path, "helpers/analysis/spend.py")
    bench_reruns._pretend_edited(tmp_path, "helpers/paths.py")
    assert (
        json.loads((tmp_path / "bench" / "run.json").read_text())["inputs"]["04_spend"]["helpers/paths.py"] == "edited"
    )


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


def test_the_settings_take_turns_at_every_step_in_reverse_order_the_second_time(monkeypatch):
    calls = []

    def report(params, env, force=False):
        calls.append((env["CLICKSTREAM_KERNELS_AHEAD"], params.split()[-1], force))
        return {"wall": float(len(calls)), "cpu": 1.0}

    monkeypatch.setattr(bench_reruns, "_report", report)
    monkeypatch.setattr(bench_reruns, "_pretend_edited", lambda reports, helper: calls.append(("edit",)))
    monkeypatch.setattr(bench_reruns, "notebooks_in_process_cpu", lambda n, root: 3.0)
    monkeypatch.setattr(bench_reruns, "in_process_cpu", lambda n: 2.0)
    measured = bench_reruns.measure(500, (2, 0))
    ahead = [c[0] for c in calls if c[0] != "edit"]
    assert ahead == ["2", "0"] * 5 + ["0", "2"] * 5
    assert calls[4:6] == [("2", "relative_mde=0.15", False), ("0", "relative_mde=0.15", False)]
    assert calls[-2:] == [("0", "n_sessions=500", True), ("2", "n_sessions=500", True)]
    assert list(measured[2])[:2] == ["cold", "nothing changed"]
    assert measured[0]["forced, again"]["wall"] == 23.0  # the 23rd call: 20 reports and 4 edits in all
    assert measured[2]["notebooks in one process"]["cpu"] == 3.0 and "in-process analyses" not in measured[0]
