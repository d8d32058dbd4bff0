"""The gold table on a hand-built fixture: every column against values worked out by hand."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from helpers.data.contract import normalise_folder
from helpers.data.event_log import import_event_log
from helpers.data.gold import GOLD_COLUMNS, build_gold, count_buyers, count_sessions, gold_pandas, read_gold, reconcile
from helpers.data.mapping import load_mapping
from helpers.data.simulate import SimConfig, simulate_to_parquet
from helpers.runner import params

from . import rawfixture

NAN = math.nan
# session_id -> expected values, worked out by hand from tests/rawfixture.py
EXPECTED = {
    "session_seconds": [110, 0, 5, 60, 0, 3, 150],
    "first_event_delay_seconds": [2, NAN, 5, 0, 0, 3, 5],
    "max_idle_seconds": [60, 0, 0, 10, 0, 0, 90],
    # session 1: only gaps between browsing events count (8 s); the cart and checkout gaps are left out
    "pre_conversion_max_idle_seconds": [8, 0, 0, 0, 0, 0, 90],
    "event_count": [5, 0, 1, 7, 3, 2, 3],
    "n_page_view": [2, 0, 0, 1, 2, 1, 3],
    "n_add_to_cart": [1, 0, 0, 2, 0, 0, 0],
    "n_checkout": [1, 0, 0, 2, 1, 1, 0],
    "n_purchase": [1, 0, 1, 2, 0, 0, 0],
    # browsing: events before the first checkout that are not add-to-cart
    "pre_conversion_event_count": [2, 0, 0, 1, 2, 0, 3],
    "pre_conversion_cart_count": [1, 0, 0, 1, 0, 0, 0],
    "pre_conversion_page_views": [2, 0, 0, 1, 2, 0, 3],
    "pre_conversion_seconds": [10, 0, 0, 0, 0, 0, 150],
    # the landmark at 120 s: only session 7 is still active then without a checkout
    "landmark_event_count": [2, 0, 0, 1, 2, 0, 2],
    "landmark_at_risk": [0, 0, 0, 0, 0, 0, 1],
    # the second browsing event: session 1 at 10 s, 5 at 0 s (two page views at the start), 7 at 60 s
    "landmark_seconds": [10, NAN, NAN, NAN, 0, NAN, 60],
    "did_purchase": [1, 0, 1, 1, 0, 0, 0],
    "amount_usd": [25, 0, 7.5, 15, 0, 0, 0],
    "n_orders": [1, 0, 1, 2, 0, 0, 0],
    "n_items": [3, 0, 1, 2, 0, 0, 0],
    "avg_item_price_usd": [25 / 3, NAN, 7.5, 7.5, NAN, NAN, NAN],
    "gross_margin_usd": [2 * 6 + 2, 0, 5, 6 + 2, 0, 0, 0],
    "events_per_minute": [5 * 60 / 110, NAN, 60 / 5, 7, NAN, 40, 3 * 60 / 150],  # none without a duration
    "start_hour": [10, 11, 23, 12, 13, 14, 15],
    "start_weekday": [1, 1, 1, 1, 1, 1, 1],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("gold")
    raw = root / "raw"
    normalise_folder(rawfixture.write(root / "src"), raw)
    build_gold(raw, root / "gold")
    return raw, root / "gold", read_gold(root / "gold")


@pytest.mark.parametrize("column", sorted(EXPECTED))
def test_column_matches_hand_computed_values(built, column):
    _, _, gold = built
    got = gold[column].astype(float).to_numpy()
    assert np.allclose(got, np.asarray(EXPECTED[column], dtype=float), equal_nan=True), (column, got)


def test_one_row_per_session_with_every_dictionary_column(built):
    _, _, gold = built
    assert list(gold.columns) == GOLD_COLUMNS
    assert gold["session_id"].tolist() == [1, 2, 3, 4, 5, 6, 7]


def test_reconciliation_agrees(built):
    raw, gold_dir, _ = built
    assert reconcile(raw, gold_dir)["agrees"].all()


def _assert_same_values(gold: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Same columns and rows; integers and text exactly, floats to 1e-12 relative (sums in another order)."""
    assert list(ref.columns) == GOLD_COLUMNS and len(ref) == len(gold)
    for col in GOLD_COLUMNS:
        a, b = gold[col], ref[col]
        if a.dtype.kind in "iub":
            assert (a.astype("int64").to_numpy() == b.astype("int64").to_numpy()).all(), col
        elif a.dtype.kind == "f":
            assert np.allclose(a, b.astype(float), rtol=1e-12, atol=0, equal_nan=True), col
        elif a.dtype.kind == "M":
            b = pd.to_datetime(b).astype(a.dtype)
            assert ((a.to_numpy() == b.to_numpy()) | (a.isna().to_numpy() & b.isna().to_numpy())).all(), col
        else:
            both_missing = a.isna().to_numpy() & b.isna().to_numpy()
            assert ((a.astype(str) == b.astype(str)).to_numpy() | both_missing).all(), col


def test_pandas_reference_gives_the_same_table(built):
    raw, _, gold = built
    _assert_same_values(gold, gold_pandas(raw))


def test_polars_reference_gives_the_same_table(built, tmp_path):
    pytest.importorskip("polars", reason="Polars is a benchmark-only extra (make venv installs it)")
    from helpers.runner.bench import gold_polars

    raw, _, gold = built
    _assert_same_values(gold, gold_polars(raw).to_pandas())
    simulate_to_parquet(SimConfig(n_sessions=5_000, seed=4), tmp_path / "sim")
    build_gold(tmp_path / "sim", tmp_path / "gold")
    _assert_same_values(read_gold(tmp_path / "gold"), gold_polars(tmp_path / "sim").to_pandas())


def test_missing_optional_columns_become_unknown(tmp_path):
    frames = rawfixture.tables()
    frames["sessions"] = frames["sessions"].drop(columns=["device", "traffic_source", "user_id"])
    frames["products"] = frames["products"].drop(columns=["cost_usd", "category"])
    normalise_folder(rawfixture.write(tmp_path / "src", frames), tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    gold = read_gold(tmp_path / "gold")
    assert set(gold["device"]) == {"unknown"} and set(gold["traffic_source"]) == {"unknown"}
    assert gold.loc[gold.did_purchase == 1, "gross_margin_usd"].isna().all()
    assert (gold.loc[gold.did_purchase == 0, "gross_margin_usd"] == 0).all()
    assert gold["user_id"].tolist() == gold["session_id"].tolist()


def test_csv_input_gives_the_same_gold_table(tmp_path, built):
    _, _, gold = built
    normalise_folder(rawfixture.write(tmp_path / "src", fmt="csv"), tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    pd.testing.assert_frame_equal(read_gold(tmp_path / "gold"), gold, check_dtype=False)


LOG = """sid,when,name,item,price,qty
s1,2026-01-05T10:00:00Z,view_item,A,10,
s1,2026-01-05T10:00:30Z,add_to_cart,A,10,1
s1,2026-01-05T10:01:00Z,remove_from_cart,A,10,1
s1,2026-01-05T10:01:10Z,add_to_cart,B,5,2
s1,2026-01-05T10:02:00Z,purchase,B,5,2
s1,2026-01-05T10:02:00Z,purchase,A,10,1
s2,2026-01-05T11:00:00Z,view_item,C,7.5,
"""


def test_flat_event_log_without_checkout_and_with_extra_types(tmp_path):
    (tmp_path / "log.csv").write_text(LOG)
    (tmp_path / "map.yaml").write_text(
        "columns: {session_id: sid, timestamp: when, event_type: name, product_id: item, price: price, quantity: qty}\n"
        "event_types: {page_view: [view_item], add_to_cart: [add_to_cart], purchase: [purchase]}\n"
    )
    counts = import_event_log(tmp_path / "log.csv", load_mapping(tmp_path / "map.yaml"), tmp_path / "raw")
    assert counts == {"sessions": 2, "events": 6, "orders": 1, "order_items": 2, "products": 3}
    build_gold(tmp_path / "raw", tmp_path / "gold")
    g = read_gold(tmp_path / "gold").set_index("session_id")
    s1 = g.loc[1]
    assert (s1.event_count, s1.n_page_view, s1.n_add_to_cart, s1.n_checkout, s1.n_purchase) == (5, 1, 2, 0, 1)
    # browsing is the view and the 'other' event (remove_from_cart); the two cart adds are funnel steps
    assert (s1.pre_conversion_event_count, s1.pre_conversion_seconds, s1.max_idle_seconds) == (2, 60.0, 50.0)
    assert s1.pre_conversion_cart_count == 2
    assert (s1.amount_usd, s1.n_items, s1.did_purchase) == (20.0, 3, 1)
    assert g.loc[2, "did_purchase"] == 0 and g.loc[2, "traffic_source"] == "unknown"


@pytest.mark.spark
def test_spark_builds_the_same_gold_table_as_duckdb(tmp_path):
    if shutil.which("java") is None:
        pytest.skip("no Java on this machine: the Spark engine cannot start")
    pytest.importorskip("pyspark")
    simulate_to_parquet(SimConfig(n_sessions=4_000, seed=11), tmp_path / "raw")
    normalise_folder(rawfixture.write(tmp_path / "fx"), tmp_path / "fxraw")
    for raw in ("raw", "fxraw"):
        build_gold(tmp_path / raw, tmp_path / f"duck_{raw}")
        build_gold(tmp_path / raw, tmp_path / f"spark_{raw}", engine="spark", spark_master="local[2]")
        duck, spark = read_gold(tmp_path / f"duck_{raw}"), read_gold(tmp_path / f"spark_{raw}")
        assert list(spark.columns) == list(duck.columns)
        pd.testing.assert_frame_equal(spark, duck, check_dtype=False, check_exact=False, rtol=1e-9)


def test_building_in_session_buckets_gives_the_same_table(tmp_path, monkeypatch):
    import helpers.data.gold as gold_mod

    simulate_to_parquet(SimConfig(n_sessions=5_000, seed=12), tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "one")
    monkeypatch.setattr(gold_mod, "EVENTS_PER_PASS", 2_000)  # about seven passes
    build_gold(tmp_path / "raw", tmp_path / "many")
    assert (tmp_path / "many" / "sessions.parquet").is_dir()
    pd.testing.assert_frame_equal(read_gold(tmp_path / "many"), read_gold(tmp_path / "one"))
    assert reconcile(tmp_path / "raw", tmp_path / "many")["agrees"].all()
    # a gold table in parts has a fingerprint like one file (the runner compares it between runs)
    from helpers.data.files import data_fingerprint

    before = data_fingerprint(tmp_path / "many")
    assert before == data_fingerprint(tmp_path / "many") != data_fingerprint(tmp_path / "one")
    part = sorted((tmp_path / "many" / "sessions.parquet").glob("*.parquet"))[-1]
    part.write_bytes(part.read_bytes()[:-1] + b"\0")
    assert data_fingerprint(tmp_path / "many") != before


def test_reading_a_sample_buyers_or_columns_streams_only_those(tmp_path):
    simulate_to_parquet(SimConfig(n_sessions=6_000, seed=21), tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    whole = read_gold(tmp_path / "gold")
    first = read_gold(tmp_path / "gold", ["session_id", "did_purchase"], sample_rows=1_000, seed=3)
    again = read_gold(tmp_path / "gold", ["session_id", "did_purchase"], sample_rows=1_000, seed=3)
    other = read_gold(tmp_path / "gold", ["session_id", "did_purchase"], sample_rows=1_000, seed=4)
    assert len(first) == 1_000 and first.session_id.is_unique and set(first.session_id) <= set(whole.session_id)
    pd.testing.assert_frame_equal(first, again)  # the same seed, the same sessions
    assert set(first.session_id) != set(other.session_id)
    assert first.session_id.is_monotonic_increasing and list(first.columns) == ["session_id", "did_purchase"]
    pd.testing.assert_frame_equal(read_gold(tmp_path / "gold", sample_rows=10_000), whole)  # smaller: all of it
    buyers = read_gold(tmp_path / "gold", buyers_only=True)
    expected = whole[whole.did_purchase == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(buyers, expected)
    assert count_sessions(tmp_path / "gold") == 6_000 and count_buyers(tmp_path / "gold") == len(expected)


def test_a_user_sample_keeps_every_session_of_the_users_it_keeps(tmp_path):
    from helpers.data.gold import traffic

    simulate_to_parquet(SimConfig(n_sessions=8_000, seed=5, sessions_per_user=4), tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    whole = read_gold(tmp_path / "gold", ["session_id", "user_id", "did_purchase"])
    part = read_gold(tmp_path / "gold", ["session_id", "user_id", "did_purchase"], sample_users=2_000, seed=1)
    assert 1_000 < len(part) < 3_000 and part.session_id.is_monotonic_increasing
    kept = whole[whole.user_id.isin(part.user_id)]
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), part)  # whole users, never part of one
    again = read_gold(tmp_path / "gold", ["session_id", "user_id", "did_purchase"], sample_users=2_000, seed=1)
    other = read_gold(tmp_path / "gold", ["session_id", "user_id", "did_purchase"], sample_users=2_000, seed=2)
    pd.testing.assert_frame_equal(part, again)
    assert set(part.user_id) != set(other.user_id)
    pd.testing.assert_frame_equal(read_gold(tmp_path / "gold", sample_users=10_000), read_gold(tmp_path / "gold"))
    buyers = read_gold(tmp_path / "gold", ["did_purchase"], sample_users=2_000, seed=1, buyers_only=True)
    assert (buyers.did_purchase == 1).all() and len(buyers) == part.did_purchase.sum()
    totals = traffic(tmp_path / "gold")
    assert (totals["sessions"], totals["buyers"]) == (len(whole), int(whole.did_purchase.sum()))


def test_strategy_reads_a_share_of_users_above_its_limit_and_counts_traffic_on_every_session(tmp_path, monkeypatch):
    from helpers.analysis import strategy
    from helpers.data.gold import traffic

    simulate_to_parquet(SimConfig(n_sessions=8_000, seed=5, sessions_per_user=4), tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    settings = strategy.Settings.pick(params.notebook_defaults("06_strategy"))
    whole = strategy.analyse(tmp_path / "gold", {}, settings)
    monkeypatch.setattr(strategy, "MAX_SESSIONS_READ", 2_000)
    part = strategy.analyse(tmp_path / "gold", {}, settings)
    assert whole.segment_sessions_read is None and 1_000 < part.segment_sessions_read < 3_000
    totals = traffic(tmp_path / "gold")
    assert part.baseline == whole.baseline == totals["buyers"] / totals["sessions"]
    assert part.sessions_per_day == whole.sessions_per_day
    assert sum(row["sessions"] for row in part.segments) == part.segment_sessions_read
