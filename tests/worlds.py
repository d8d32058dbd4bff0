"""Small worlds analysed in-process, as ``make validate`` analyses them: no kernel, no page.

A world is raw tables (simulated, or a user's export through the importer), the gold table the gold
SQL builds from them, 01's fitness record when the data are not simulated, and the typed results of
03-06 from each analysis's ``analyse`` with its notebook's default settings. The notebooks make the
same calls (tests/test_pipeline.py checks that a notebook records exactly what ``analyse`` returns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers.analysis import strategy
from helpers.data import fitness, gold
from helpers.data.gold import build_gold
from helpers.data.simulate import SimConfig, simulate_to_parquet
from helpers.runner import params, validate

SEED = 42  # the notebooks' default seed: a world here is the report's world at the same size


@dataclass
class World:
    """One world's folder, truth (simulated worlds), fitness record (imported ones) and typed results by notebook."""

    folder: Path
    truth: dict | None
    fit: fitness.Fitness | None
    results: dict

    def __getitem__(self, notebook: str):
        return self.results[notebook]

    @property
    def gold(self) -> Path:
        return self.folder / "gold"


def analyse(folder: Path, truth: dict | None, fit=None, seed: int = SEED, sessions_per_arm: int = 5_000) -> World:
    """03-06 on ``folder/gold`` with each notebook's defaults (``fit``: 01's record, for imported data)."""
    extra = {"04_spend": {"idle": gold.idle_measured(folder / "raw")}}  # a session table holds no idle gaps
    found = {
        name: module.analyse(folder / "gold", validate.settings(name, seed), truth, fitness=fit, **extra.get(name, {}))
        for name, module in validate.ANALYSES.items()
    }
    chosen = {**params.notebook_defaults("06_strategy"), "seed": seed, "experiment_sessions_per_arm": sessions_per_arm}
    found["06_strategy"] = strategy.analyse(
        folder / "gold", found, strategy.Settings.pick(chosen), truth, folder / "experiment", fitness=fit
    )
    return World(folder, truth, fit, found)


def simulated(folder: Path, scenario: str | None = None, n_sessions: int = 20_000, **overrides) -> World:
    """A simulated world: ``scenario``'s knobs (notebooks/scenarios) and ``overrides`` at ``n_sessions``."""
    knobs = {**params.load_scenario(scenario), **overrides}
    truth = simulate_to_parquet(SimConfig(n_sessions=n_sessions, seed=SEED, **knobs), folder / "raw")
    build_gold(folder / "raw", folder / "gold")
    return analyse(folder, truth)


def imported(folder: Path) -> World:
    """A user's raw tables already in ``folder/raw``: the gold table, 01's fitness record, 03-06 read with it."""
    build_gold(folder / "raw", folder / "gold")
    fit = fitness.measure(folder / "raw", folder / "gold")
    return analyse(folder, None, fit)
