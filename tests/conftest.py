"""Shared fixtures: every test writes under its own temporary data and reports roots.

The whole-report runs most tests read (the default, time-matters and negative-time worlds at small
size, and the shared real sample) are made once per session and shared by the notebook and site tests.
The statistical specifications read small worlds analysed in-process (``worlds``): each is made once
per session and shared by every test that asks for it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from . import worlds as world_tables
from .runs import SHARED_SAMPLE, run_report

# Tests that use these fixtures start Jupyter kernels: they are marked `notebook` (not in `make test-fast`).
KERNEL_FIXTURES = {"tiny", "default_report", "time_matters_report", "negative_time_report", "rees46_report"}
SHARED_REPORTS = KERNEL_FIXTURES - {"tiny"}
# Tests that use these analyse a 20,000-session simulated world whole, in-process: marked `world` (in `make test`,
# not in the edit loop's `make test-fast`).
WORLD_FIXTURES = {"simulated_world", "small_shop"}
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if KERNEL_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.notebook)
        if WORLD_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.world)


if importlib.util.find_spec("xdist"):  # `make test` runs on two workers (pytest-xdist)

    def pytest_xdist_make_scheduler(config, log):
        """Whole modules to a worker, so that a module's own fixtures are made once, and every module that
        reads a session's shared reports to one worker, so that those are made once too; likewise the modules
        that read the session's small shop."""
        from xdist.scheduler import LoadScopeScheduling

        texts = {f"tests/{f.name}": f.read_text(encoding="utf-8") for f in TESTS.glob("test_*.py")}
        shared = {m for m, text in texts.items() if any(name in text for name in SHARED_REPORTS)}
        shop = {m for m, text in texts.items() if "small_shop" in text} - shared

        class ModulesSharingReportsTogether(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                module = nodeid.split("::", 1)[0]
                return "shared-reports" if module in shared else "small-shop" if module in shop else module

        return ModulesSharingReportsTogether(config, log)


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Point data/ and reports/ at a temporary folder for one test."""
    data, reports = tmp_path / "data", tmp_path / "reports"
    monkeypatch.setenv("CLICKSTREAM_DATA_ROOT", str(data))
    monkeypatch.setenv("CLICKSTREAM_REPORTS_ROOT", str(reports))
    monkeypatch.delenv("CLICKSTREAM_RUN_DIR", raising=False)
    return data, reports


@pytest.fixture(scope="session")
def default_report(tmp_path_factory):
    """The default world at 60,000 sessions, run under a strict umask (pages must still be readable by others)."""
    root = tmp_path_factory.mktemp("default")
    old = os.umask(0o077)
    try:
        pages, results = run_report(root, "default", overrides="n_sessions=60000 experiment_sessions_per_arm=20000")
    finally:
        os.umask(old)
    return pages, results


@pytest.fixture(scope="session")
def time_matters_report(tmp_path_factory):
    """The time-matters world at 20,000 sessions."""
    return run_report(
        tmp_path_factory.mktemp("tm"), "tm", "time_matters", "n_sessions=20000 experiment_sessions_per_arm=5000"
    )


@pytest.fixture(scope="session")
def negative_time_report(tmp_path_factory):
    """A world where time before checkout lowers purchase, at 20,000 sessions."""
    return run_report(
        tmp_path_factory.mktemp("neg"),
        "neg",
        overrides="n_sessions=20000 time_effect=-1 experiment_sessions_per_arm=3000",
    )


@pytest.fixture(scope="session")
def rees46_report(tmp_path_factory):
    """The shared real sample (REES46, 359 rows) through its preset: the real-data smoke test and compare read it."""
    if not SHARED_SAMPLE.exists():
        pytest.skip(f"the shared real sample is absent ({SHARED_SAMPLE})")
    return run_report(
        tmp_path_factory.mktemp("rees46"), "rees46", overrides={"event_log": str(SHARED_SAMPLE), "preset": "rees46"}
    )


@pytest.fixture(scope="session")
def small_shop(tmp_path_factory):
    """The default simulator at 20,000 sessions (seed 5), 03-05 analysed in-process with the notebooks' defaults:
    ``(folder, truth, results)``, made once per session (each test module runs its own 06 on it; copy the dict
    before adding to it)."""
    from helpers.data.gold import build_gold
    from helpers.data.simulate import SimConfig, simulate_to_parquet
    from helpers.runner import validate

    folder = tmp_path_factory.mktemp("shop")
    truth = simulate_to_parquet(SimConfig(n_sessions=20_000, seed=5), folder / "raw")
    build_gold(folder / "raw", folder / "gold")
    return folder, truth, validate.analyse_world(folder / "gold", truth, 5)


@pytest.fixture(scope="session")
def simulated_world(tmp_path_factory):
    """``simulated_world(scenario)``: that simulated world at 20,000 sessions, analysed in-process (03-06), made
    once per session; ``None`` is the default world."""
    made: dict = {}

    def world(scenario: str | None = None) -> world_tables.World:
        if scenario not in made:
            made[scenario] = world_tables.simulated(tmp_path_factory.mktemp(scenario or "default"), scenario)
        return made[scenario]

    return world
