"""The report runner: parameter checks, separate runs, atomic replacement, locks, HTML."""

from __future__ import annotations

import contextlib
import json
import threading

import nbformat
import pytest

from helpers import paths
from helpers.errors import ParameterError, ReportError
from helpers.runner import kernels, report, schedule

PARAMS = (
    'run: str = "default"  # name of the run\n'
    "n: int = 1  # a number to record\n"
    "fail: bool = False  # raise on purpose\n"
    'label: str = "x"  # a label shown in the output'
)
BODY = """
from helpers.analysis import results
from IPython.display import HTML, display
import time
time.sleep(pause)
display(HTML(f"<p>{label}</p>"))
if fail:
    raise ValueError("failing on purpose")
results.save(run, "01_tiny", {"n": n})
"""


@pytest.fixture
def tiny(roots, tmp_path, monkeypatch):
    """A notebooks folder with one tiny numbered notebook."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny"),
        nbformat.v4.new_code_cell(
            PARAMS + "\npause: float = 0.0  # seconds to wait", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell(BODY),
    ]
    nbformat.write(nb, folder / "01_tiny.ipynb")
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", folder)
    return roots


def _recorded(data_root, run):
    return json.loads((data_root / run / "results" / "01_tiny.json").read_text())["n"]


READER = """
from helpers.analysis import results
results.save(run, "02_tiny", {"n": results.load(run, "01_tiny")["n"] * 10 + m})
"""


def _reader(folder):
    """02_tiny: reads what 01_tiny recorded (the registry: 02 reads 01) and has a parameter of its own, ``m``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = 'run: str = "default"  # name of the run\nm: int = 0  # added to ten times 01\'s number'
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Reader"),
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(READER),
    ]
    nbformat.write(nb, folder / "02_tiny.ipynb")


def _record(reports, run="a"):
    return json.loads((reports / run / "run.json").read_text())


def test_a_rerun_reuses_what_is_up_to_date_and_runs_exactly_what_changed(tiny, capsys):
    data, reports = tiny
    _reader(paths.NOTEBOOKS_DIR)
    report.execute("a", overrides="n=1")
    assert _record(reports)["reused"] == [] and "runs: no earlier result to reuse" in capsys.readouterr().out
    report.execute("a", overrides="n=1")  # nothing changed: both reused, nothing executed
    assert _record(reports)["reused"] == ["01_tiny", "02_tiny"] and _record(reports)["ran_now"] == []
    assert "01_tiny up to date" in capsys.readouterr().out
    report.execute("a", overrides="n=1 m=3")  # a parameter of 02 only
    out = capsys.readouterr().out
    assert _record(reports)["ran_now"] == ["02_tiny"] and "02_tiny runs: parameter m changed" in out
    report.execute("a", overrides="n=2 m=3")  # 01's parameter: 01 reruns, and 02 because 01's record changed
    out = capsys.readouterr().out
    assert _record(reports)["ran_now"] == ["01_tiny", "02_tiny"] and "01_tiny results changed" in out
    reused = (data / "a" / "results" / "02_tiny.json").read_text()
    record = _record(reports)  # as if a helper 02 imports had been edited, and the page template too
    record["inputs"]["02_tiny"]["helpers/analysis/results.py"] = "edited"
    record["page"] = "an older template"
    (reports / "a" / "run.json").write_text(json.dumps(record))
    page = (reports / "a" / "01_tiny.html").stat().st_mtime_ns
    report.execute("a", overrides="n=2 m=3")
    out = capsys.readouterr().out
    assert _record(reports)["ran_now"] == ["02_tiny"] and "helpers/analysis/results.py changed" in out
    assert (reports / "a" / "01_tiny.html").stat().st_mtime_ns != page  # rendered again, not executed
    report.execute("a", overrides="n=2 m=3", force=True)
    assert _record(reports)["ran_now"] == ["01_tiny", "02_tiny"] and "runs: forced" in capsys.readouterr().out
    assert json.loads((data / "a" / "results" / "02_tiny.json").read_text()) == json.loads(reused) == {"n": 23}


def test_a_notebook_edited_while_it_runs_runs_again_next_time(tiny, capsys):
    """Its inputs are recorded as they were when it started: the edit made meanwhile is seen by the next run."""
    _, reports = tiny
    source = paths.NOTEBOOKS_DIR / "01_tiny.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("from pathlib import Path\nPath('01_tiny.ipynb').touch()"))
    nb.cells[0].source = "# Tiny, edited while it runs"
    edited = nbformat.writes(nb)
    nb.cells[-1].source += f"\nPath('01_tiny.ipynb').write_text({edited!r})"
    nbformat.write(nb, source)
    report.execute("a")
    capsys.readouterr()
    report.execute("a")
    assert _record(reports)["ran_now"] == ["01_tiny"] and "01_tiny runs:" in capsys.readouterr().out


def test_runs_outside_the_runner_write_a_scratch_copy_that_the_next_report_retires(tiny, capsys, monkeypatch):
    from helpers.analysis import results

    data, reports = tiny
    report.execute("a", overrides="n=4")
    published = (data / "a" / "results" / "01_tiny.json").read_text()
    monkeypatch.delenv("CLICKSTREAM_RUN_DIR", raising=False)  # as in JupyterLab or papermill called directly
    results.save("a", "01_tiny", {"n": 99})
    assert (data / "a" / "results" / "01_tiny.json").read_text() == published  # the published run is untouched
    assert results.load("a", "01_tiny") == {"n": 99} and results.load_all("a")["01_tiny"] == {"n": 99}
    assert paths.raw_dir("a") == data / "a" / "raw" and paths.raw_dir("a", write=True) == paths.scratch_dir("a") / "raw"
    assert "outside `make report`" in capsys.readouterr().out
    report.execute("a", overrides="n=4")
    assert "held output of notebooks run outside `make report` (01_tiny)" in capsys.readouterr().out
    assert not paths.scratch_dir("a").exists() and results.load("a", "01_tiny") == {"n": 4}


def test_run_writes_report_html_index_and_results(tiny):
    data, reports = tiny
    report.execute("a", overrides="n=7")
    assert _recorded(data, "a") == 7
    html = (reports / "a" / "01_tiny.html").read_text()
    assert "<p>x</p>" in html and "name of the run" not in html  # parameters cell hidden
    assert 'src="http' not in html
    index = (reports / "a" / "index.html").read_text()
    assert "01_tiny" in index and "<td>n</td><td>7</td>" in index
    assert "<td>fail</td><td>False</td>" in index  # defaults are recorded too


def test_two_runs_do_not_touch_each_other(tiny):
    data, reports = tiny
    report.execute("a", overrides="n=1")
    report.execute("b", overrides="n=2")
    assert (_recorded(data, "a"), _recorded(data, "b")) == (1, 2)


def test_failed_run_keeps_previous_report_and_says_where_the_error_is(tiny):
    data, reports = tiny
    report.execute("a", overrides="n=1")
    before = (reports / "a" / "01_tiny.html").read_bytes()
    with pytest.raises(schedule.NotebookFailed) as err:
        report.execute("a", overrides="n=2 fail=true")
    assert "failing on purpose" in str(err.value)
    assert err.value.where.exists() and err.value.where.parent.name == "a.failed"
    assert _recorded(data, "a") == 1
    assert (reports / "a" / "01_tiny.html").read_bytes() == before
    assert not any((data / ".staging").iterdir())
    report.execute("a", overrides="n=3")  # a later success clears the stray failed copy
    assert not (reports / "a.failed").exists() and _recorded(data, "a") == 3


def test_a_kernel_that_dies_is_one_line_and_keeps_the_previous_report(tiny):
    data, reports = tiny
    report.execute("a", overrides="n=1")
    before = (reports / "a" / "01_tiny.html").read_bytes()
    path = paths.NOTEBOOKS_DIR / "01_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    nbformat.write(nb, path)
    with pytest.raises(ReportError, match="01_tiny failed: its kernel died while running") as err:
        report.execute("a", overrides="n=2")
    assert "Traceback" not in str(err.value)
    assert (reports / "a" / "01_tiny.html").read_bytes() == before and _recorded(data, "a") == 1


def test_only_reruns_selected_notebooks_on_a_copy(tiny):
    data, _ = tiny
    report.execute("a", overrides="n=1")
    report.execute("a", overrides="n=5", only=["01"])
    assert _recorded(data, "a") == 5


def test_partial_rerun_records_what_ran_and_marks_downstream_pages_stale(tiny):
    data, reports = tiny
    first = nbformat.read(paths.NOTEBOOKS_DIR / "01_tiny.ipynb", as_version=4)
    nbformat.write(first, paths.NOTEBOOKS_DIR / "02_tiny.ipynb")  # 02 reads what 01 writes (the registry)
    report.execute("a", overrides="n=1")
    full = json.loads((reports / "a" / "run.json").read_text())
    assert full["stale"] == [] and full["ran_now"] == ["01_tiny", "02_tiny"]
    before = (reports / "a" / "02_tiny.html").read_text()
    report.execute("a", overrides="n=5", only=["01"])
    record = json.loads((reports / "a" / "run.json").read_text())
    assert record["ran_now"] == ["01_tiny"] and record["stale"] == ["02_tiny"]
    assert (
        record["notebooks"]["01_tiny"]["parameters"]["n"] == 5
        and record["notebooks"]["02_tiny"]["parameters"]["n"] == 1
    )
    page = (reports / "a" / "02_tiny.html").read_text()
    assert "Out of date:" in page and "ONLY=02" in page and "Out of date:" not in before
    assert "Out of date:" in (reports / "a" / "index.html").read_text()
    report.execute("a", overrides="n=5", only=["02"])
    record = json.loads((reports / "a" / "run.json").read_text())
    assert record["stale"] == [] and "Out of date:" not in (reports / "a" / "index.html").read_text()


def test_same_run_name_at_once_refuses_clearly(tiny):
    data, _ = tiny
    errors = []
    first = threading.Thread(target=lambda: report.execute("a", overrides="pause=4"))
    first.start()
    import time

    time.sleep(1.0)
    try:
        report.execute("a")
    except ReportError as exc:
        errors.append(str(exc))
    first.join()
    assert errors and "in progress" in errors[0]
    assert _recorded(data, "a") == 1


@pytest.mark.parametrize(
    "overrides, scenario, message",
    [
        ("nope=1", None, "parameter 'nope' is not declared"),
        ("n=abc", None, "parameter 'n' must be an int, got 'abc'"),
        ("n=1.5", None, "parameter 'n' must be an int"),
        ("fail=maybe", None, "parameter 'fail' must be a bool"),
        ("n", None, "must be written NAME=VALUE"),
        ("", "no_such_scenario", "scenario 'no_such_scenario' does not exist"),
    ],
)
def test_bad_parameters_stop_before_anything_runs(tiny, overrides, scenario, message):
    data, reports = tiny
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        report.execute("a", scenario=scenario, overrides=overrides)
    assert not (reports / "a").exists() and not (data / "a").exists()


def test_bad_run_name_and_unknown_only(tiny):
    with pytest.raises(ParameterError, match="parameter .run. must be letters"):
        report.execute("../evil")
    with pytest.raises(ParameterError, match="matches no notebook"):
        report.execute("a", only=["09"])


def test_cli_exit_code_and_one_line_message(tiny, capsys):
    assert report.main(["--run", "a", "--params", "n=abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: parameter 'n' must be an int, got 'abc'"]


def test_labels_from_data_are_escaped_on_the_front_page(tiny):
    _, reports = tiny
    report.execute("a", overrides={"label": "<script>alert(1)</script>"})
    index = (reports / "a" / "index.html").read_text()
    assert "<script>alert(1)</script>" not in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index


def test_killed_run_leaves_the_previous_report_intact(tiny, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    data, reports = tiny
    report.execute("a", overrides="n=1")
    before = (reports / "a" / "01_tiny.html").read_bytes()
    script = (
        f"import helpers.paths as p, pathlib; p.NOTEBOOKS_DIR = pathlib.Path({str(paths.NOTEBOOKS_DIR)!r}); "
        "from helpers.runner import report; report.execute('a', overrides='n=2 pause=30')"
    )
    child = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy(), start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any((reports / ".staging").glob("a-*")) and child.poll() is None:
        time.sleep(0.2)
    time.sleep(5)  # the kernel has started and is sleeping inside the notebook
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert _recorded(data, "a") == 1
    assert (reports / "a" / "01_tiny.html").read_bytes() == before
    report.execute("a", overrides="n=3")  # the lock died with the process: a new run goes ahead
    assert _recorded(data, "a") == 3


@pytest.mark.parametrize(
    "overrides, message",
    [
        ("n_sessions=0", "parameter 'n_sessions' must be between 1 and"),
        ("n_sessions=abc", "parameter 'n_sessions' must be an int, got 'abc'"),
        ("target_conversion=1.5", "parameter 'target_conversion' must be between"),
        ("idle_spend_effect=-9", "parameter 'idle_spend_effect' must be between"),
        ("alpha=2", "parameter 'alpha' must be a significance level"),
        ("data_dir=/no/such/folder", "parameter 'data_dir': folder /no/such/folder does not exist"),
        ("engine=oracle", "parameter 'engine' must be one of duckdb, spark"),
    ],
)
def test_real_notebook_parameters_are_checked_before_running(roots, overrides, message):
    from helpers.runner import params

    declared = params.declared(report.numbered_notebooks())
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        params.resolve(declared, None, overrides)


def test_malformed_yaml_mapping_and_scenario_give_one_line_errors(roots, tmp_path, monkeypatch):
    from helpers.data.mapping import load_mapping
    from helpers.runner import params

    bad = tmp_path / "map.yaml"
    bad.write_text("columns: {session_id: sid, timestamp: [unclosed\n")
    with pytest.raises(ParameterError, match="mapping map.yaml is not valid YAML"):
        load_mapping(bad)
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "broken.yaml").write_text("parameters: {a: [1\n")
    monkeypatch.setattr(paths, "SCENARIOS_DIR", scenarios)
    with pytest.raises(ParameterError, match="scenario 'broken' is not valid YAML"):
        params.load_scenario("broken")


def test_spark_engine_without_java_is_a_clear_error(tmp_path, monkeypatch):
    import shutil as sh

    from helpers.data.gold import build_gold

    monkeypatch.setattr(sh, "which", lambda name: None)
    with pytest.raises(ReportError, match="needs Java"):
        build_gold(tmp_path / "raw", tmp_path / "gold", engine="spark")
    assert not (tmp_path / "gold" / "sessions.parquet").exists()


def test_notebooks_wait_only_for_what_they_read():
    present = ["01_a", "02_b", "03_c", "04_d", "05_e", "06_f", "07_extra"]
    assert schedule.needs("01_a", present) == set()
    assert schedule.needs("03_c", present) == {"02"} and schedule.needs("05_e", present) == {"02"}
    assert schedule.needs("06_f", present) == {"02", "03", "04", "05"}
    assert schedule.needs("07_extra", present) == {"01", "02", "03", "04", "05", "06"}  # unknown: after all earlier
    assert schedule.needs("06_f", ["03_c", "06_f"]) == {"03"}  # --only: what is not rerun is not waited for


def _fake_runs(monkeypatch, fail: str | None = None):
    """Replace the notebook runner by one that sleeps and logs start and end times."""
    import time

    log = {}

    def fake(job, out_dir, progress, reuse):
        start = time.perf_counter()
        time.sleep(0.2)
        log[job.nb.stem] = (start, time.perf_counter())
        if job.nb.stem == fail:
            raise ReportError(f"{job.nb.stem} failed on purpose")
        return schedule.Outcome(0.2, False, [], {})

    monkeypatch.setattr(schedule, "run_one", fake)
    monkeypatch.setattr(kernels, "warm_pool", lambda notebooks, **kw: contextlib.nullcontext())  # no kernels here
    monkeypatch.setattr(schedule, "likely_reused", lambda *args: set())
    return log


NAMES = ["01_simulate", "02_gold_table", "03_conversion", "04_spend", "05_purchase_style", "06_strategy"]


def test_analyses_run_side_by_side_after_the_gold_table(monkeypatch, tmp_path):
    from pathlib import Path

    log = _fake_runs(monkeypatch)
    timings = schedule.run_all([Path(f"{n}.ipynb") for n in NAMES], "r", {}, {}, tmp_path, False)
    assert sorted(timings) == NAMES
    assert log["02_gold_table"][0] >= log["01_simulate"][1]
    starts = [log[n][0] for n in ("03_conversion", "04_spend", "05_purchase_style")]
    ends = [log[n][1] for n in ("03_conversion", "04_spend", "05_purchase_style")]
    assert min(starts) >= log["02_gold_table"][1] and max(starts) < min(ends)  # all three at once
    assert log["06_strategy"][0] >= max(ends)


def test_after_a_failure_nothing_new_starts_and_the_error_is_raised(monkeypatch, tmp_path):
    from pathlib import Path

    log = _fake_runs(monkeypatch, fail="04_spend")
    with pytest.raises(ReportError, match="04_spend failed on purpose"):
        schedule.run_all([Path(f"{n}.ipynb") for n in NAMES], "r", {}, {}, tmp_path, False)
    assert {"03_conversion", "05_purchase_style"} <= set(log) and "06_strategy" not in log


def test_warm_up_imports_what_the_notebooks_import_and_binds_no_name(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import json, os.path\nfrom helpers import paths, results  # note\nx = 1"),
        nbformat.v4.new_code_cell("if x:\n    import csv\nfrom collections import (\n    OrderedDict,\n)"),
    ]
    nbformat.write(nb, tmp_path / "01_a.ipynb")
    names = kernels.modules_imported([tmp_path / "01_a.ipynb", tmp_path / "missing.ipynb"])
    # top level only (the import under ``if`` is the cell's own), parenthesised names too
    assert names == [
        "json",
        "os.path",
        "helpers",
        "helpers.paths",
        "helpers.results",
        "collections",
        "collections.OrderedDict",
    ]
    scope: dict = {}
    exec(kernels.warm_up_code([*names, "no_such_module"]), scope)
    assert set(scope) == {"__builtins__"}  # imported, yet nothing bound: a missing import still fails
