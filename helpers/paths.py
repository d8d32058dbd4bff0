"""One place for every path the project reads or writes.

Usage::

    from helpers import paths
    raw = paths.raw_dir("default")          # data/default/raw/

Paths resolve from this package, never from the current directory, so a notebook behaves the
same in JupyterLab, under papermill from any folder, and in pytest. Three environment variables
move them (the report runner and the tests use them; analysts rarely need to):

- ``CLICKSTREAM_DATA_ROOT`` / ``CLICKSTREAM_REPORTS_ROOT``: parents of ``<run>/`` folders;
- ``CLICKSTREAM_RUN_DIR``: the data folder of the run being built (the runner's staging folder).

Outside the runner (JupyterLab, papermill called directly) notebooks read the published run
``data/<run>/`` but write into ``data/.scratch/<run>/`` (``write=True``), and read their own
scratch output back from there: a published run changes only through ``make report``, so its
pages never disagree with its results.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
SCENARIOS_DIR = NOTEBOOKS_DIR / "scenarios"
SQL_DIR = Path(__file__).resolve().parent / "data" / "sql"


def data_root() -> Path:
    """Folder holding one ``<run>/`` folder of data per run."""
    return Path(os.environ.get("CLICKSTREAM_DATA_ROOT", PROJECT_ROOT / "data"))


def reports_root() -> Path:
    """Folder holding one ``<run>/`` folder of rendered reports per run."""
    return Path(os.environ.get("CLICKSTREAM_REPORTS_ROOT", PROJECT_ROOT / "reports"))


def run_dir(run: str) -> Path:
    """Data folder of ``run`` (the staging folder while the runner builds it)."""
    override = os.environ.get("CLICKSTREAM_RUN_DIR")
    return Path(override) if override else data_root() / run


SCRATCH = ".scratch"  # data/.scratch/<run>/: what notebooks run outside the report runner write


def outside_runner() -> bool:
    """True in JupyterLab or under papermill directly: not inside ``make report``."""
    return "CLICKSTREAM_RUN_DIR" not in os.environ


def scratch_dir(run: str) -> Path:
    """Where notebooks run outside the report runner write ``run``'s data; the published run stays as it was."""
    return data_root() / SCRATCH / run


def _data(run: str, name: str, write: bool) -> Path:
    """``name`` inside the run's data: the runner's folder; outside it, the scratch copy once one exists
    (and always for writing), else the published run."""
    if not outside_runner():
        return run_dir(run) / name
    scratch = scratch_dir(run) / name
    return scratch if write or scratch.exists() else data_root() / run / name


def raw_dir(run: str, write: bool = False) -> Path:
    """Raw tables of ``run``: sessions, events, orders, order_items, products, truth.json."""
    return _data(run, "raw", write)


def gold_dir(run: str, write: bool = False) -> Path:
    """Gold tables of ``run`` (one row per session)."""
    return _data(run, "gold", write)


def results_dir(run: str, write: bool = False) -> Path:
    """Key numbers and verdicts each notebook records for later notebooks and tests (see ``result_file``)."""
    return _data(run, "results", write)


def result_file(run: str, notebook: str, write: bool = False) -> Path:
    """The record of one notebook: outside the runner, its scratch copy when one was written, else the published one."""
    if write or not outside_runner():
        return results_dir(run, write) / f"{notebook}.json"
    scratch = scratch_dir(run) / "results" / f"{notebook}.json"
    return scratch if scratch.exists() else data_root() / run / "results" / f"{notebook}.json"


KEY_FIGURE = Path("figures") / "key_figure.png"  # inside a run's data folder: drawn by 06, shown on the front page
KEY_FIGURE_NARROW = KEY_FIGURE.with_name("key_figure_narrow.png")  # the same figure drawn for a phone
REPORT_PDF = "report.pdf"  # inside a run's reports folder: the pages printed by make pdf (helpers/presentation/pdf.py)


def key_figure(run: str, write: bool = False, narrow: bool = False) -> Path:
    """The front page's key figure of ``run``, drawn by ``06_strategy`` (``narrow``: its rendering for phones)."""
    name = KEY_FIGURE_NARROW if narrow else KEY_FIGURE
    return _data(run, str(name.parent), write) / name.name


def experiment_dir(run: str, write: bool = False) -> Path:
    """The simulated experiment's arms of ``run``."""
    return _data(run, "experiment", write)
