"""The raw-data contract: a catalogue of bad and awkward inputs with their expected outcome.

Each error names the table, the column and the rule, shows offending values, and leaves no
output behind. Awkward-but-valid inputs give a documented result instead.
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.data.contract import normalise_folder
from helpers.data.gold import build_gold, read_gold
from helpers.errors import DataContractError

from . import rawfixture


def _edit(fn):
    frames = rawfixture.tables()
    fn(frames)
    return frames


def _drop_table(f):
    del f["orders"]


def _set(table, col, idx, value):
    def fn(f):
        f[table][col] = f[table][col].astype(object)
        f[table].loc[idx, col] = value

    return fn


ERRORS = [
    # (case, edit, table, column, words in the rule, an example shown)
    ("missing table", _drop_table, "orders", None, "table is missing", None),
    (
        "missing required column",
        lambda f: f.__setitem__("events", f["events"].drop(columns=["ts"])),
        "events",
        "ts",
        "required column is missing",
        None,
    ),
    ("wrong type", _set("order_items", "quantity", 0, "two"), "order_items", "quantity", "type bigint", "two"),
    (
        "duplicate keys",
        lambda f: f["events"].__setitem__("event_id", [1] * 2 + list(range(3, 22))),
        "events",
        "event_id",
        "unique",
        "1",
    ),
    (
        "events of unknown sessions",
        _set("events", "session_id", 0, 99),
        "events",
        "session_id",
        "existing sessions",
        "99",
    ),
    (
        "orders of unknown sessions",
        _set("orders", "session_id", 0, 77),
        "orders",
        "session_id",
        "existing sessions",
        "77",
    ),
    (
        "items of unknown products",
        _set("order_items", "product_id", 0, 55),
        "order_items",
        "product_id",
        "existing products",
        "55",
    ),
    (
        "items of unknown orders",
        _set("order_items", "order_id", 0, 66),
        "order_items",
        "order_id",
        "existing orders",
        "66",
    ),
    ("negative price", _set("products", "price_usd", 0, -3.0), "products", "price_usd", ">= 0", "-3.0"),
    ("negative quantity", _set("order_items", "quantity", 1, -1), "order_items", "quantity", "> 0", "-1"),
    ("null timestamp", _set("events", "ts", 2, None), "events", "ts", "must not be missing", None),
    (
        "NaN price",
        _set("order_items", "unit_price_usd", 0, float("nan")),
        "order_items",
        "unit_price_usd",
        "must not be missing",
        None,
    ),
    (
        "events before session start",
        _set("events", "ts", 0, pd.Timestamp("2026-01-05 09:00:00")),
        "events",
        "ts",
        "before its session",
        "event 1",
    ),
    ("unknown event type", _set("events", "event_type", 0, "click"), "events", "event_type", "must be one of", "click"),
    (
        "empty sessions table",
        lambda f: f.__setitem__("sessions", f["sessions"].iloc[:0]),
        "sessions",
        None,
        "no rows",
        None,
    ),
    ("duplicate sessions", _set("sessions", "session_id", 1, 1), "sessions", "session_id", "unique", "1"),
]


@pytest.mark.parametrize("case, edit, table, column, rule, example", ERRORS, ids=[e[0] for e in ERRORS])
def test_violation_names_table_column_rule_and_writes_nothing(tmp_path, case, edit, table, column, rule, example):
    fmt = "csv" if case == "wrong type" else "parquet"  # Parquet cannot hold a text in a number column
    src = rawfixture.write(tmp_path / "src", _edit(edit), fmt=fmt)
    out = tmp_path / "raw"
    with pytest.raises(DataContractError) as err:
        normalise_folder(src, out)
    message = str(err.value)
    assert err.value.table == table and f"raw table '{table}'" in message
    assert err.value.column == column
    if column:
        assert f"column '{column}'" in message
    assert rule in message
    if example:
        assert example in message
    assert "Traceback" not in message and len(message.splitlines()) == 1
    assert not out.exists()


def _csv(tmp_path, name, text):
    src = rawfixture.write(tmp_path / "src", fmt="csv")
    (src / f"{name}.csv").write_bytes(text if isinstance(text, bytes) else text.encode())
    return src


def test_mixed_time_zones_are_an_error(tmp_path):
    src = _csv(
        tmp_path,
        "sessions",
        "session_id,started_at\n1,2026-01-05T10:00:00+00:00\n2,2026-01-05 11:00:00\n"
        "3,2026-01-05 23:59:00\n4,2026-01-05 12:00:00\n5,2026-01-05 13:00:00\n6,2026-01-05 14:00:00\n",
    )
    with pytest.raises(DataContractError, match="time zones are mixed") as err:
        normalise_folder(src, tmp_path / "raw")
    assert err.value.column == "started_at" and "2026-01-05 11:00:00" in str(err.value)


def test_offsets_are_converted_to_utc(tmp_path):
    src = _csv(
        tmp_path,
        "sessions",
        "session_id,started_at\n1,2026-01-05T12:00:00+02:00\n2,2026-01-05T11:00:00Z\n"
        "3,2026-01-05T23:59:00Z\n4,2026-01-05T12:00:00Z\n5,2026-01-05T13:00:00Z\n6,2026-01-05T14:00:00Z\n7,2026-01-05T15:00:00Z\n",
    )
    normalise_folder(src, tmp_path / "raw")
    started = pd.read_parquet(tmp_path / "raw" / "sessions.parquet")["started_at"]
    assert started.iloc[0] == pd.Timestamp("2026-01-05 10:00:00")


def test_non_utf8_text_is_an_error_naming_the_file(tmp_path):
    text = "session_id,started_at,device\n1,2026-01-05 10:00:00,m\xf3vil\n".encode("latin-1")
    src = _csv(tmp_path, "sessions", text)
    with pytest.raises(DataContractError, match="UTF-8") as err:
        normalise_folder(src, tmp_path / "raw")
    assert err.value.table == "sessions"


def test_csv_with_stray_header_row_and_trailing_delimiter_is_read(tmp_path):
    src = rawfixture.write(tmp_path / "src", fmt="csv")
    lines = (src / "events.csv").read_text().splitlines()
    body = [line + "," for line in lines]  # trailing delimiter on every row
    body.insert(5, lines[0])  # the header again in the middle
    (src / "events.csv").write_text("\n".join(body) + "\n")
    normalise_folder(src, tmp_path / "raw")
    events = pd.read_parquet(tmp_path / "raw" / "events.parquet")
    assert len(events) == 21 and list(events.columns) == ["event_id", "session_id", "ts", "event_type", "product_id"]


def test_timestamps_without_zone_are_taken_as_utc(tmp_path):
    normalise_folder(rawfixture.write(tmp_path / "src", fmt="csv"), tmp_path / "raw")
    started = pd.read_parquet(tmp_path / "raw" / "sessions.parquet")["started_at"]
    assert started.iloc[0] == pd.Timestamp("2026-01-05 10:00:00")


@pytest.mark.parametrize("case", ["no orders", "one device", "all one-event", "huge outlier order", "empty events"])
def test_awkward_but_valid_data_build_a_gold_table(tmp_path, case):
    frames = rawfixture.tables()
    if case == "no orders":
        frames["orders"], frames["order_items"] = frames["orders"].iloc[:0], frames["order_items"].iloc[:0]
        frames["events"] = frames["events"][frames["events"].event_type != "purchase"]
    elif case == "one device":
        frames["sessions"]["device"] = "desktop"
    elif case == "all one-event":
        frames["events"] = frames["events"].groupby("session_id").head(1)
    elif case == "huge outlier order":
        frames["order_items"].loc[0, "quantity"] = 10_000_000
        frames["orders"].loc[0, "total_usd"] = 10_000_000 * 10.0 + 5.0
    elif case == "empty events":
        frames["events"] = frames["events"].iloc[:0]
    normalise_folder(rawfixture.write(tmp_path / "src", frames), tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    gold = read_gold(tmp_path / "gold")
    assert len(gold) == 7
    expected_buyers = {"no orders": 0, "one device": 3, "all one-event": 3, "huge outlier order": 3, "empty events": 3}
    assert gold["did_purchase"].sum() == expected_buyers[case]
    if case == "all one-event":
        assert (gold["max_idle_seconds"] == 0).all()


def test_event_types_raw_schema_and_gold_columns_are_each_defined_once(tmp_path):
    """The simulator, the contract and the gold table use the schema's definitions, and no module lists them again."""
    import re
    from pathlib import Path

    from helpers.data import gold, schema
    from helpers.data.simulate import SimConfig, simulate_to_parquet

    simulate_to_parquet(SimConfig(n_sessions=2_000, seed=3), tmp_path / "raw")
    counts = normalise_folder(tmp_path / "raw", tmp_path / "typed")
    assert set(counts) == set(schema.TABLES)
    for table, columns in schema.COLUMNS.items():
        assert list(pd.read_parquet(tmp_path / "typed" / f"{table}.parquet").columns) == list(columns), table
    seen = set(pd.read_parquet(tmp_path / "typed" / "events.parquet").event_type)
    assert seen <= set(schema.EVENT_TYPES) and set(schema.FUNNEL_STEPS) <= seen
    build_gold(tmp_path / "typed", tmp_path / "gold")
    built = read_gold(tmp_path / "gold")
    assert list(built.columns) == gold.GOLD_COLUMNS
    assert {f"n_{step}" for step in schema.FUNNEL_STEPS} <= set(gold.GOLD_COLUMNS)
    listing = re.compile(r"""["']page_view["'],\s*["']add_to_cart["']""")  # the steps written out as a list
    helpers_dir = Path(schema.__file__).parents[1]
    again = [p.name for p in helpers_dir.rglob("*.py") if p.name != "schema.py" and listing.search(p.read_text())]
    assert again == [], f"event types listed outside helpers/data/schema.py: {again}"
    readme = (helpers_dir.parent / "README.md").read_text()
    assert "helpers/data/schema.py" in readme and "RAW_SCHEMA" not in readme
