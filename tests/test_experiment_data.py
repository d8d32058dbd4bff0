"""An experiment in the data: ``variant`` and ``exposed_at`` as mapping roles of event logs and session tables.

Each user carries one arm on every session (before assignment too), the gold table carries both
columns, and a mapping mistake (a third arm, a user in two arms) stops the import naming the file's
column, the rule and the values found.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from helpers.data import gold
from helpers.data.event_log import import_event_log
from helpers.data.mapping import load_mapping
from helpers.data.session_table import import_session_table
from helpers.data.simulate_experiment import ExperimentDesign, simulate_experiment, write_example
from helpers.errors import DataContractError

COLUMNS = {
    "session_id": "sid",
    "user_id": "uid",
    "timestamp": "ts",
    "event_type": "ev",
    "price": "price",
    "variant": "arm",
    "exposed_at": "exposed",
}


def _log() -> pd.DataFrame:
    """Three users: u1 in control with a pre-period session (no arm on its rows), u2 in treatment, u3 outside."""
    rows = [
        ("s1", "u1", "2026-02-01 10:00:00 UTC", "page_view", None, "", ""),
        ("s1", "u1", "2026-02-01 10:01:00 UTC", "purchase", 20.0, "", ""),
        ("s2", "u1", "2026-02-03 09:00:00 UTC", "page_view", None, "control", "2026-02-03 09:00:00 UTC"),
        ("s3", "u2", "2026-02-03 11:00:00 UTC", "page_view", None, "treatment", "2026-02-03 11:00:00 UTC"),
        ("s3", "u2", "2026-02-03 11:02:00 UTC", "purchase", 35.0, "treatment", "2026-02-03 11:00:00 UTC"),
        ("s4", "u3", "2026-02-04 08:00:00 UTC", "page_view", None, "N/A", ""),
    ]
    return pd.DataFrame(rows, columns=["sid", "uid", "ts", "ev", "price", "arm", "exposed"])


def _import(tmp_path, log: pd.DataFrame, columns: dict | None = None):
    log.to_csv(tmp_path / "log.csv", index=False)
    event_types = {"page_view": ["page_view"], "purchase": ["purchase"]}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"columns": columns or COLUMNS, "event_types": event_types}))
    out = tmp_path / "raw"
    import_event_log(tmp_path / "log.csv", load_mapping(tmp_path / "m.yaml"), out)
    return out


def test_event_log_variant_reaches_every_session_of_its_user_and_the_gold_table(tmp_path):
    raw = _import(tmp_path, _log())
    sessions = pd.read_parquet(raw / "sessions.parquet").sort_values("session_id")
    assert sessions["variant"].fillna("-").tolist() == ["control", "control", "treatment", "-"]  # s1: pre-period
    exposed = pd.to_datetime(sessions["exposed_at"])
    assert exposed.iloc[0] == exposed.iloc[1] == pd.Timestamp("2026-02-03 09:00:00") and pd.isna(exposed.iloc[3])
    assert json.loads((raw / "provenance.json").read_text())["variants"] == {"control": 1, "treatment": 1}
    gold.build_gold(raw, tmp_path / "gold")
    table = gold.read_gold(tmp_path / "gold")
    assert {"variant", "exposed_at"} <= set(table.columns) and table["variant"].notna().sum() == 3
    assert (table["started_at"] < table["exposed_at"]).tolist() == [True, False, False, False]


def test_a_log_without_an_experiment_has_empty_variant_columns(tmp_path):
    columns = {k: v for k, v in COLUMNS.items() if k not in ("variant", "exposed_at")}
    raw = _import(tmp_path, _log(), columns)
    gold.build_gold(raw, tmp_path / "gold")
    table = gold.read_gold(tmp_path / "gold")
    assert table["variant"].isna().all() and table["exposed_at"].isna().all()


def test_a_third_variant_is_named_with_its_users(tmp_path):
    log = _log()
    log.loc[5, "arm"] = "treatment_b"
    with pytest.raises(DataContractError, match=r"column 'arm'.*at most 2 variants.*found 3") as err:
        _import(tmp_path, log)
    assert "log.csv" in str(err.value) and any("treatment_b" in x for x in err.value.examples)


def test_a_user_in_two_variants_is_named(tmp_path):
    log = _log()
    log.loc[2, "arm"] = "treatment"
    log.loc[5, ["uid", "arm"]] = ["u1", "control"]
    with pytest.raises(DataContractError, match=r"column 'arm'.*each user must stay in one variant; 1 users"):
        _import(tmp_path, log)


def test_a_per_user_export_reads_as_a_session_table(tmp_path):
    """An experimentation platform's export: one row per user with its arm, pages, seconds, purchase and revenue."""
    users = pd.DataFrame(
        {
            "user": ["a", "b", "c", "d"],
            "group": ["control", "treatment", "control", "treatment"],
            "pages": [3, 5, 2, 8],
            "seconds": [60, 90, 30, 200],
            "bought": [0, 1, 0, 1],
            "revenue": [0, 12.5, 0, 30],
        }
    )
    users.to_csv(tmp_path / "users.csv", index=False)
    mapping = {
        "columns": {
            "session_id": "user",
            "user_id": "user",
            "variant": "group",
            "events": "pages",
            "seconds": "seconds",
            "purchased": "bought",
            "revenue": "revenue",
        }
    }
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mapping))
    import_session_table(tmp_path / "users.csv", load_mapping(tmp_path / "m.yaml", kind="sessions"), tmp_path / "raw")
    sessions = pd.read_parquet(tmp_path / "raw" / "sessions.parquet")
    assert sessions.groupby("variant").size().to_dict() == {"control": 2, "treatment": 2}
    provenance = json.loads((tmp_path / "raw" / "provenance.json").read_text())
    assert provenance["rows_per_user"] == 1.0 and provenance["variants"] == {"control": 2, "treatment": 2}


def test_the_example_export_reads_back_with_its_arms(tmp_path):
    design = ExperimentDesign(users=300, pre_period_days=7, seed=4)
    log, mapping = write_example(tmp_path / "experiment.csv", design)
    import_event_log(log, load_mapping(mapping), tmp_path / "raw")
    sessions = pd.read_parquet(tmp_path / "raw" / "sessions.parquet")
    truth = simulate_experiment(design, raw=False).sessions
    assert len(sessions) == len(truth)
    arms = sessions.groupby("variant")["user_id"].nunique().to_dict()
    assert arms == truth.groupby("variant")["user_id"].nunique().to_dict()
