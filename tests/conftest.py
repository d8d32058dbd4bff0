"""Shared fixtures: every test writes under its own temporary data and reports roots."""

from __future__ import annotations

import pytest


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Point data/ and reports/ at a temporary folder for one test."""
    data, reports = tmp_path / "data", tmp_path / "reports"
    monkeypatch.setenv("CLICKSTREAM_DATA_ROOT", str(data))
    monkeypatch.setenv("CLICKSTREAM_REPORTS_ROOT", str(reports))
    monkeypatch.delenv("CLICKSTREAM_RUN_DIR", raising=False)
    return data, reports

