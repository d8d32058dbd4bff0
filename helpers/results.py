"""Key numbers and verdicts that each notebook records for later notebooks and the tests.

Usage::

    from helpers import results
    results.save("default", "03_conversion", {"auc": 0.81})
    results.load("default", "03_conversion")["auc"]
"""

from __future__ import annotations

from . import paths
from .io import read_json, write_json


def save(run: str, notebook: str, values: dict) -> None:
    """Write ``data/<run>/results/<notebook>.json``."""
    write_json(values, paths.results_dir(run) / f"{notebook}.json")


def load(run: str, notebook: str) -> dict:
    """Read the results a notebook recorded; a clear error if it has not run yet."""
    path = paths.results_dir(run) / f"{notebook}.json"
    if not path.exists():
        raise FileNotFoundError(f"no results from {notebook} for run '{run}' ({path}); run that notebook first")
    return read_json(path)


def load_all(run: str) -> dict[str, dict]:
    """All recorded results of a run, keyed by notebook name."""
    folder = paths.results_dir(run)
    return {p.stem: read_json(p) for p in sorted(folder.glob("*.json"))}
