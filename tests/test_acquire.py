"""01's choice between simulating and importing (``helpers.data.acquire``), without a kernel."""

from __future__ import annotations

from helpers import registry
from helpers.data import acquire
from helpers.data.simulate import SimConfig, simulate_to_parquet


def test_the_import_parameters_are_01s_options():
    assert set(acquire.OWN_DATA + acquire.IMPORT_OPTIONS) == set(registry.NOTEBOOKS["01_simulate"].options)


def test_any_own_data_parameter_turns_simulation_off():
    assert acquire.simulates({"data_dir": "", "event_log": "", "session_table": "", "seed": 3})
    for name in acquire.OWN_DATA:
        assert not acquire.simulates({name: "somewhere"})


def test_simulating_keeps_the_knobs_and_the_truth_importing_keeps_the_provenance(tmp_path):
    params = {"run": "x", "seed": 5, "n_sessions": 400, "time_effect": 0.5, "data_dir": "", "mapping": "", "preset": ""}
    simulated = acquire.raw_tables(tmp_path / "sim", params, progress=False)
    assert simulated.simulated and simulated.provenance is None
    assert simulated.config == SimConfig(n_sessions=400, seed=5, time_effect=0.5)
    assert simulated.truth["time_effect"] == 0.5
    simulate_to_parquet(SimConfig(n_sessions=400, seed=6), tmp_path / "own")
    imported = acquire.raw_tables(tmp_path / "imported", {**params, "data_dir": str(tmp_path / "own")})
    assert not imported.simulated and imported.truth is None and imported.config is None
    assert imported.provenance and (tmp_path / "imported" / "sessions.parquet").exists()
