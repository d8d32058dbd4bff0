"""A run's raw tables: simulated, or your own data imported; which one the notebook's parameters say.

Usage::

    from helpers.data import acquire
    got = acquire.raw_tables(raw, globals())    # 01's parameters: simulates unless data_dir, event_log or
    got.truth, got.provenance, got.config       # session_table names your data
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers.data.files import read_json
from helpers.data.simulate import SimConfig, simulate_to_parquet

OWN_DATA = ("data_dir", "event_log", "session_table")  # any of these given: the run imports instead of simulating
IMPORT_OPTIONS = ("mapping", "preset", "session_gap_minutes")


@dataclass
class Acquired:
    """What filled the raw folder: the simulator (its config and truth) or an import (its provenance)."""

    config: SimConfig | None
    truth: dict | None
    provenance: dict | None

    @property
    def simulated(self) -> bool:
        return self.config is not None


def simulates(parameters: dict) -> bool:
    """Whether a run with these parameters simulates (none of ``OWN_DATA`` given)."""
    return not any(parameters.get(name) for name in OWN_DATA)


def raw_tables(raw: Path, parameters: dict, progress: bool = True) -> Acquired:
    """Fill ``raw`` with the run's raw tables: simulated with the simulator's knobs among ``parameters``, or
    imported from the data they name (then ``provenance.json`` says what was read, dropped and why)."""
    if simulates(parameters):
        config = SimConfig.from_dict(parameters)
        return Acquired(config, simulate_to_parquet(config, raw, progress=progress), None)
    from helpers.data.ingest import import_data

    given = {name: parameters[name] for name in OWN_DATA + IMPORT_OPTIONS if name in parameters}
    import_data(raw, **given)
    return Acquired(None, None, read_json(raw / "provenance.json"))
