"""One place for every path the project reads or writes.

Usage::

    from helpers import paths
    raw = paths.raw_dir("default")          # data/default/raw/

Paths resolve from this package, never from the current directory, so a notebook behaves the
same in JupyterLab, under papermill from any folder, and in pytest. Three environment variables
move them (the report runner and the tests use them; analysts rarely need to):

- ``CLICKSTREAM_DATA_ROOT`` / ``CLICKSTREAM_REPORTS_ROOT``: parents of ``<run>/`` folders;
- ``CLICKSTREAM_RUN_DIR``: the data folder of the run being built (the runner's staging folder).
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


def raw_dir(run: str) -> Path:
    """Raw tables of ``run``: sessions, events, orders, order_items, products, truth.json."""
    return run_dir(run) / "raw"


def gold_dir(run: str) -> Path:
    """Gold tables of ``run`` (one row per session)."""
    return run_dir(run) / "gold"


def results_dir(run: str) -> Path:
    """Key numbers and verdicts each notebook records for later notebooks and tests."""
    return run_dir(run) / "results"


KEY_FIGURE = Path("figures") / "key_figure.png"  # inside a run's data folder: drawn by 06, shown on the front page


def key_figure(run: str) -> Path:
    """The front page's key figure of ``run``, drawn by ``06_strategy``."""
    return run_dir(run) / KEY_FIGURE


def experiment_dir(run: str) -> Path:
    """The simulated experiment's arms of ``run``."""
    return run_dir(run) / "experiment"
