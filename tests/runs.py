"""Run the whole report into a temporary root, as the notebook, site and real-data tests do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.runner import report

# The shared real sample: 359 rows of the REES46 October export (see its SOURCE.md)
SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "rees46_oct_sample" / "events.csv"


def run_report(root, name: str, scenario=None, overrides=None):
    """Run the whole report under ``root``; return its reports folder and its recorded results by notebook."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CLICKSTREAM_DATA_ROOT", str(root / "data"))
    mp.setenv("CLICKSTREAM_REPORTS_ROOT", str(root / "reports"))
    try:
        report.execute(name, scenario=scenario, overrides=overrides, progress=False)
    finally:
        mp.undo()
    results = {p.stem: json.loads(p.read_text()) for p in (root / "data" / name / "results").glob("*.json")}
    return root / "reports" / name, results
