"""The session-level gold table: one SQL definition, run by DuckDB (default) or Spark.

Usage::

    from helpers.data.gold import build_gold, read_gold, DICTIONARY
    build_gold(paths.raw_dir("default"), paths.gold_dir("default"))            # DuckDB
    build_gold(raw, out, engine="spark", spark_master="local[2]")              # Spark
    gold = read_gold(paths.gold_dir("default"))

The SQL is ``helpers/sql/gold_table.sql`` (DuckDB dialect); for Spark it is transpiled with
sqlglot. Every column is explained once, in ``DICTIONARY`` below.
"""

from __future__ import annotations

import json
import math
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data import duck, schema
from helpers.data.files import write_json
from helpers.data.records import Record
from helpers.paths import SQL_DIR

LANDMARK_SECONDS = 120  # the landmark: browsing in a session's first two minutes, for sessions still active then
LANDMARK_EVENTS = 2  # the time landmark: seconds to a session's second browsing event, the same count for all

# column, unit, definition (with edge cases). The one place a gold column is explained.
DICTIONARY: list[tuple[str, str, str]] = [
    ("session_id", "id", "The session (one row per row of `sessions`)."),
    ("user_id", "id", "The visitor; the session id when the data carry no user."),
    ("started_at", "UTC time", "Session start as recorded in `sessions`."),
    ("device", "label", "Device; 'unknown' when the data have none."),
    ("traffic_source", "label", "Traffic source; 'unknown' when the data have none."),
    (
        "variant",
        "label",
        "The experiment's arm of the session's user (every session of the user, before and after assignment); "
        "empty when the data carry no experiment or the user was not in it.",
    ),
    (
        "exposed_at",
        "UTC time",
        "The user's first exposure to the experiment; sessions that start before it are the user's pre-period. "
        "Empty when the data give no exposure time.",
    ),
    ("start_hour", "hour 0-23", "Hour of `started_at` (UTC)."),
    ("start_weekday", "1-7", "ISO weekday of `started_at`: 1 Monday ... 7 Sunday."),
    ("session_seconds", "s", "Last event time minus session start; 0 for a session without events."),
    ("first_event_delay_seconds", "s", "First event time minus session start; empty without events."),
    (
        "max_idle_seconds",
        "s",
        "Longest gap between consecutive events (ordered by time, then event id); 0 with fewer than two events.",
    ),
    (
        "pre_conversion_max_idle_seconds",
        "s",
        "Longest gap between consecutive browsing events (see `pre_conversion_event_count`); 0 with fewer than two. "
        "Leakage-free idle time: gaps of the checkout and of the cart steps are left out.",
    ),
    ("event_count", "events", "All events of the session, every type."),
    ("n_page_view", "events", "Page views."),
    ("n_add_to_cart", "events", "Add-to-cart events."),
    ("n_checkout", "events", "Checkout events."),
    ("n_purchase", "events", "Purchase events."),
    (
        "pre_conversion_event_count",
        "events",
        "Browsing: events before the first checkout or purchase (ties broken by event id) that are not "
        "add-to-cart; every such event when there is no checkout. Add-to-cart is a step of the funnel, which "
        "buyers take by definition, so it is not counted. Leakage-free engagement.",
    ),
    ("pre_conversion_cart_count", "events", "Add-to-cart events before the first checkout or purchase."),
    ("pre_conversion_page_views", "events", "Page views before the first checkout or purchase."),
    (
        "pre_conversion_seconds",
        "s",
        "Time from session start to the last browsing event (see `pre_conversion_event_count`); 0 without one. "
        "Leakage-free time on site.",
    ),
    (
        "landmark_event_count",
        "events",
        f"Browsing events in the first {LANDMARK_SECONDS} seconds of the session (the landmark).",
    ),
    (
        "landmark_at_risk",
        "0/1",
        f"1 when the session is still active {LANDMARK_SECONDS} seconds after its start (an event after that "
        "moment) and has not checked out or purchased by then: the sessions a landmark analysis compares.",
    ),
    (
        "landmark_seconds",
        "s",
        f"Seconds from session start to its browsing event number {LANDMARK_EVENTS}: time over the same number of "
        "events for every session, so it cannot include buying (03's landmark check of time); empty with fewer.",
    ),
    ("did_purchase", "0/1", "1 when the session has at least one order."),
    ("amount_usd", "USD", "Sum of the session's order totals; 0 without orders."),
    ("n_orders", "orders", "Orders placed in the session."),
    ("n_items", "units", "Units bought: sum of order-item quantities."),
    ("avg_item_price_usd", "USD/unit", "Items' value divided by units; empty without items."),
    (
        "gross_margin_usd",
        "USD",
        "Sum of quantity x (unit price - product cost); 0 without orders; empty when costs are unknown.",
    ),
    (
        "events_per_minute",
        "events/min",
        "event_count x 60 / max(session_seconds, 1 s): interaction density; empty for a 0-second session.",
    ),
]
GOLD_COLUMNS = [c for c, _, _ in DICTIONARY]


def dictionary_frame() -> pd.DataFrame:
    """The data dictionary as a table for the notebook."""
    return pd.DataFrame(DICTIONARY, columns=["column", "unit", "definition"])


def gold_sql(dialect: str = "duckdb") -> str:
    """The gold-table SQL in ``dialect`` ('duckdb' or 'spark')."""
    sql = (
        (SQL_DIR / "gold_table.sql")
        .read_text(encoding="utf-8")
        .replace("{landmark_seconds}", str(LANDMARK_SECONDS))
        .replace("{landmark_events}", str(LANDMARK_EVENTS))
    )
    if dialect == "duckdb":
        return sql
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write=dialect)[0]


EVENTS_PER_PASS = 12_000_000  # larger inputs are built in passes over session buckets


def missing_optional(raw_dir: Path, table: str) -> dict[str, str]:
    """Optional schema columns a raw Parquet file lacks (tables written before the column existed), with the
    SQL that fills them (``schema.UNKNOWN_FILL``, cast to the column's type)."""
    import pyarrow.parquet as pq

    found = set(pq.read_schema(Path(raw_dir) / f"{table}.parquet").names)
    return {
        col: f"CAST({schema.UNKNOWN_FILL[col]} AS {kind})"
        for col, (kind, required) in schema.COLUMNS[table].items()
        if not required and col not in found
    }


def _register_raw(con, raw_dir: Path, bucket: tuple[int, int] | None = None) -> None:
    """Views over the raw files; with ``bucket=(b, k)`` only sessions whose id hashes to b of k."""
    for table in schema.TABLES:
        path = str(Path(raw_dir) / f"{table}.parquet").replace("'", "''")
        keep = ""
        if bucket and table in ("sessions", "events", "orders"):
            keep = f" WHERE hash(session_id) % {bucket[1]} = {bucket[0]}"
        fill = "".join(f", {sql} AS {col}" for col, sql in missing_optional(raw_dir, table).items())
        con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT *{fill} FROM read_parquet('{path}'){keep}")


def raw_views(con, raw_dir: Path) -> None:
    """Views ``sessions``, ``events``, ... over a run's raw Parquet files, optional columns a file lacks filled."""
    _register_raw(con, raw_dir)


def _build_with_duckdb(raw_dir: Path, stage: Path, threads: int | None) -> int:
    """Run the SQL once, or once per session bucket when the events exceed EVENTS_PER_PASS.

    Every gold column is computed within one session, so buckets of sessions (with their
    events and orders) give exactly the same rows; memory is bounded by the bucket size.
    """
    con = duck.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    _register_raw(con, raw_dir)
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    passes = max(1, math.ceil(events / EVENTS_PER_PASS))
    if passes == 1:
        con.execute(f"COPY ({gold_sql('duckdb')}) TO '{stage}' (FORMAT parquet, COMPRESSION zstd)")
        return con.execute(f"SELECT count(*) FROM read_parquet('{stage}')").fetchone()[0]
    stage.mkdir()
    for b in range(passes):
        _register_raw(con, raw_dir, (b, passes))
        con.execute(
            f"COPY ({gold_sql('duckdb')}) TO '{stage / f'part-{b:04d}.parquet'}' (FORMAT parquet, COMPRESSION zstd)"
        )
    return con.execute(f"SELECT count(*) FROM read_parquet('{stage}/*.parquet')").fetchone()[0]


def build_gold(
    raw_dir: Path, out_dir: Path, engine: str = "duckdb", spark_master: str = "local[*]", threads: int | None = None
) -> dict:
    """Build ``out_dir/sessions.parquet`` from typed raw tables; return rows and seconds."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "sessions.parquet"
    stage = out_dir / f".sessions-{uuid.uuid4().hex[:8]}.parquet"
    t0 = time.perf_counter()
    try:
        if engine == "duckdb":
            rows = _build_with_duckdb(raw_dir, stage, threads)
        elif engine == "spark":
            rows = _build_with_spark(raw_dir, stage, spark_master)
        else:
            raise ValueError(f"engine must be 'duckdb' or 'spark', got {engine!r}")
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        stage.replace(target)
    finally:
        if stage.exists():
            shutil.rmtree(stage) if stage.is_dir() else stage.unlink()
    return {"rows": int(rows), "seconds": time.perf_counter() - t0, "engine": engine}


def spark_session(master: str = "local[*]"):
    """A Spark session in UTC, quiet, sized for one machine by default."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName("clickstream-gold")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _build_with_spark(raw_dir: Path, stage: Path, master: str) -> int:
    from helpers.errors import ReportError

    if shutil.which("java") is None:
        raise ReportError("engine 'spark' needs Java 17 on this machine (none found); use engine=duckdb")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ReportError("engine 'spark' needs pyspark, which make venv installs (pip: pip install pyspark)") from None
    import sqlglot

    spark = spark_session(master)
    for table in schema.TABLES:
        frame = spark.read.parquet(str(Path(raw_dir) / f"{table}.parquet"))
        for col, sql in missing_optional(raw_dir, table).items():
            frame = frame.selectExpr("*", sqlglot.transpile(f"{sql} AS {col}", read="duckdb", write="spark")[0])
        frame.createOrReplaceTempView(table)
    frame = spark.sql(gold_sql("spark"))
    frame.write.mode("overwrite").option("compression", "zstd").parquet(str(stage))
    return spark.read.parquet(str(stage)).count()


def read_gold(
    gold_dir: Path,
    columns: list[str] | None = None,
    buyers_only: bool = False,
    sample_rows: int | None = None,
    seed: int = 0,
    sample_users: int | None = None,
) -> pd.DataFrame:
    """Read the gold table (a file from DuckDB or a folder from Spark), ordered by session.

    ``columns``, ``buyers_only`` (sessions with ``did_purchase = 1``), ``sample_rows`` (a
    uniform random sample of that many sessions when the table is larger; the same rows for the
    same ``seed``) and ``sample_users`` (every session of a random share of users, about that many
    sessions, when the table is larger: what a per-user analysis needs) are applied while reading,
    so memory holds only what a notebook uses: DuckDB filters and samples as it streams the file,
    which is never decoded whole.
    """
    import pyarrow.parquet as pq

    selected = ", ".join(duck.quote(c) for c in columns) if columns else "*"
    total = count_sessions(gold_dir) if sample_rows is not None or sample_users is not None else 0
    if sample_users is not None and total > sample_users:
        per_million = max(1, int(1_000_000 * sample_users / total))  # users kept, per million, by a seeded hash
        keep = f"hash(user_id, {int(seed)}) % 1000000 < {per_million}"
        keep += " AND did_purchase = 1" if buyers_only else ""
        table = _gold_view(gold_dir).sql(f"SELECT {selected} FROM gold WHERE {keep}").to_arrow_table()
    elif buyers_only:
        table = _gold_view(gold_dir).sql(f"SELECT {selected} FROM gold WHERE did_purchase = 1").to_arrow_table()
    elif sample_rows is not None and total > sample_rows:
        con = _gold_view(gold_dir)
        con.execute("SET threads = 1")  # a reservoir sample repeats for a seed only on one thread
        sql = f"SELECT {selected} FROM gold USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE ({int(seed)})"
        table = con.sql(sql).to_arrow_table()
    else:
        table = pq.read_table(Path(gold_dir) / "sessions.parquet", columns=columns)
    frame = table.to_pandas()
    if "session_id" in frame.columns:
        frame = frame.sort_values("session_id", kind="stable").reset_index(drop=True)
    return frame


def _gold_view(gold_dir: Path):
    """A DuckDB connection with the view ``gold`` over the gold table (a file, or a folder of parts)."""
    con = duck.connect()
    target = Path(gold_dir) / "sessions.parquet"
    files = f"{target}/*.parquet" if target.is_dir() else str(target)
    con.execute(f"CREATE VIEW gold AS SELECT * FROM read_parquet('{files}')")
    return con


def describe(gold_dir: Path, columns: list[str]) -> pd.DataFrame:
    """Count, mean, standard deviation, min, median, 90th percentile and max of ``columns``, in SQL.

    The statistics of pandas' ``describe`` (sample sd, linearly interpolated quantiles) without
    loading the table: memory stays flat at any size.
    """
    con = _gold_view(gold_dir)
    rows = []
    for col in columns:
        c = duck.quote(col)
        stats = con.execute(
            f"SELECT count({c}), avg({c}), stddev_samp({c}), min({c}), quantile_cont({c}, 0.5), "
            f"quantile_cont({c}, 0.9), max({c}) FROM gold"
        ).fetchone()
        rows.append([col, *(float(v) if v is not None else np.nan for v in stats)])
    names = ["count", "mean", "standard deviation", "min", "median", "90th percentile", "max"]
    return pd.DataFrame(rows, columns=["column", *names]).set_index("column").rename_axis(None)


def by_segment(gold_dir: Path, column: str) -> pd.DataFrame:
    """Sessions, conversion rate and revenue by the levels of ``column``."""
    c = duck.quote(column)
    sql = (
        f"SELECT {c}, count(*) AS sessions, avg(did_purchase) AS conversion, sum(amount_usd) AS revenue_usd "
        f"FROM gold GROUP BY {c} ORDER BY {c}"
    )
    return _gold_view(gold_dir).execute(sql).df().set_index(column)


def headline(gold_dir: Path) -> dict:
    """The gold table's totals that 02 records: rows, buyers, revenue, orders, time range, known columns."""
    con = _gold_view(gold_dir)
    row = con.execute(
        """SELECT count(*), sum(did_purchase), sum(amount_usd), sum(n_orders), min(started_at), max(started_at),
                  bool_or(device <> 'unknown'), bool_or(traffic_source <> 'unknown'),
                  bool_or(did_purchase = 1 AND gross_margin_usd IS NOT NULL),
                  avg(event_count) FILTER (WHERE did_purchase = 1),
                  avg(pre_conversion_event_count) FILTER (WHERE did_purchase = 1)
           FROM gold"""
    ).fetchone()
    rows, buyers = int(row[0]), int(row[1] or 0)
    return {
        "rows": rows,
        "unique_sessions": con.execute("SELECT count(DISTINCT session_id) FROM gold").fetchone()[0] == rows,
        "buyers": buyers,
        "revenue_usd": float(row[2] or 0.0),
        "orders": int(row[3] or 0),
        "time_range": [str(pd.Timestamp(row[4])), str(pd.Timestamp(row[5]))],
        "known_columns": {"device": bool(row[6]), "traffic_source": bool(row[7])},
        "has_cost": bool(row[8]) if buyers else False,
        "mean_events_buyers": float(row[9]) if buyers else None,
        "mean_pre_events_buyers": float(row[10]) if buyers else None,
        "user_sums": _user_sums(con),
    }


def _user_sums(con) -> dict | None:
    """Per-user sums behind a conversion CI clustered by user (``stats.proportion_ci_from_sums``): users, and
    the sums over users of b_u², b_u n_u and n_u² (b_u buyers, n_u sessions of user u); None without user ids."""
    names = {c[0] for c in con.execute("DESCRIBE gold").fetchall()}
    if "user_id" not in names:
        return None
    row = con.execute(
        """WITH u AS (SELECT count(*)::DOUBLE AS n, sum(did_purchase)::DOUBLE AS b FROM gold GROUP BY user_id)
           SELECT count(*), sum(b * b), sum(b * n), sum(n * n) FROM u"""
    ).fetchone()
    return {"users": int(row[0]), "bb": float(row[1] or 0), "bn": float(row[2] or 0), "nn": float(row[3] or 0)}


def count_buyers(gold_dir: Path) -> int:
    """Sessions with a purchase in the gold table, counted in SQL."""
    return int(_gold_view(gold_dir).execute("SELECT coalesce(sum(did_purchase), 0) FROM gold").fetchone()[0])


def traffic(gold_dir: Path) -> dict:
    """Sessions, buyers and the first and last session start of the whole gold table, in SQL."""
    row = (
        _gold_view(gold_dir)
        .execute("SELECT count(*), sum(did_purchase), min(started_at), max(started_at) FROM gold")
        .fetchone()
    )
    return {"sessions": int(row[0]), "buyers": int(row[1] or 0), "first": row[2], "last": row[3]}


def count_sessions(gold_dir: Path) -> int:
    """Rows of the gold table, from the Parquet metadata (nothing is read)."""
    import pyarrow.dataset as ds

    return ds.dataset(Path(gold_dir) / "sessions.parquet", format="parquet").count_rows()


def reconcile(raw_dir: Path, gold_dir: Path) -> pd.DataFrame:
    """Checks that the gold table agrees with the raw tables; one row per check."""
    con = _gold_view(gold_dir)
    _register_raw(con, raw_dir)
    q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    checks = [
        ("rows = sessions", q("SELECT count(*) FROM gold"), q("SELECT count(*) FROM sessions")),
        ("one row per session", q("SELECT count(DISTINCT session_id) FROM gold"), q("SELECT count(*) FROM gold")),
        (
            "revenue = sum of order totals",
            q("SELECT round(sum(amount_usd), 2) FROM gold"),
            q("SELECT round(coalesce(sum(total_usd), 0), 2) FROM orders"),
        ),
        (
            "buyers = sessions with an order",
            q("SELECT sum(did_purchase) FROM gold"),
            q("SELECT count(DISTINCT session_id) FROM orders"),
        ),
        ("events = raw events", q("SELECT sum(event_count) FROM gold"), q("SELECT count(*) FROM events")),
        (
            "units = sum of item quantities",
            q("SELECT sum(n_items) FROM gold"),
            q("SELECT coalesce(sum(quantity), 0) FROM order_items"),
        ),
    ]
    frame = pd.DataFrame(checks, columns=["check", "gold table", "raw tables"])
    frame["agrees"] = [
        bool(np.isclose(float(a or 0), float(b or 0), rtol=1e-9, atol=0.01))
        for a, b in zip(frame["gold table"], frame["raw tables"])
    ]
    return frame


def gold_pandas(raw_dir: Path) -> pd.DataFrame:
    """The same table with a straightforward pandas groupby (reference for speed and checks)."""
    raw = Path(raw_dir)
    sessions = pd.read_parquet(raw / "sessions.parquet")
    for col in missing_optional(raw, "sessions"):
        sessions[col] = pd.Series(None, index=sessions.index, dtype="datetime64[us]" if col == "exposed_at" else object)
    events = pd.read_parquet(raw / "events.parquet").sort_values(["session_id", "ts", "event_id"])
    orders = pd.read_parquet(raw / "orders.parquet")
    items = pd.read_parquet(raw / "order_items.parquet")
    products = pd.read_parquet(raw / "products.parquet")

    g = events.groupby("session_id", sort=False)
    events["gap"] = g["ts"].diff().dt.total_seconds()
    events["conv"] = events["event_type"].isin(["checkout", "purchase"]).astype(int)
    events["seen"] = events.groupby("session_id", sort=False)["conv"].cummax()
    events["conv_ts"] = events["ts"].where(events["seen"] == 1)
    events["pre_cart"] = ((events["seen"] == 0) & (events["event_type"] == "add_to_cart")).astype(int)
    browsing = events[(events["seen"] == 0) & (events["event_type"] != "add_to_cart")].copy()
    browsing["browse_gap"] = browsing.groupby("session_id", sort=False)["ts"].diff().dt.total_seconds()
    browsing["page_view"] = (browsing["event_type"] == "page_view").astype(int)
    browsing = browsing.merge(sessions[["session_id", "started_at"]], on="session_id")
    landmark = browsing["started_at"] + pd.Timedelta(seconds=LANDMARK_SECONDS)
    browsing["early"] = (browsing["ts"] <= landmark).astype(int)
    rank = browsing.groupby("session_id", sort=False).cumcount() + 1
    browsing["landmark_events_ts"] = browsing["ts"].where(rank == LANDMARK_EVENTS)
    w = browsing.groupby("session_id").agg(
        pre_count=("event_id", "size"),
        pre_page_views=("page_view", "sum"),
        pre_end_ts=("ts", "max"),
        pre_max_idle=("browse_gap", "max"),
        landmark_count=("early", "sum"),
        landmark_events_ts=("landmark_events_ts", "max"),
    )
    agg = (
        events.groupby("session_id")
        .agg(
            event_count=("event_id", "size"),
            first_ts=("ts", "min"),
            last_ts=("ts", "max"),
            conversion_ts=("conv_ts", "min"),
            max_idle_seconds=("gap", "max"),
            pre_cart_count=("pre_cart", "sum"),
        )
        .join(w)
    )
    types = events.pivot_table(
        index="session_id", columns="event_type", values="event_id", aggfunc="size", fill_value=0
    )
    for t in schema.FUNNEL_STEPS:
        agg[f"n_{t}"] = types[t] if t in types else 0
    o = orders.groupby("session_id").agg(n_orders=("order_id", "size"), amount_usd=("total_usd", "sum"))
    it = items.merge(orders[["order_id", "session_id"]], on="order_id").merge(
        products[["product_id", "cost_usd"]], on="product_id", how="left"
    )
    it["value"] = it["quantity"] * it["unit_price_usd"]
    it["margin"] = it["quantity"] * (it["unit_price_usd"] - it["cost_usd"])
    i = it.groupby("session_id").agg(
        n_items=("quantity", "sum"), items_usd=("value", "sum"), gross_margin_usd=("margin", "sum")
    )
    out = (
        sessions.merge(agg, on="session_id", how="left")
        .merge(o, on="session_id", how="left")
        .merge(i, on="session_id", how="left")
    )
    out["session_seconds"] = (out["last_ts"] - out["started_at"]).dt.total_seconds().fillna(0.0)
    out["first_event_delay_seconds"] = (out["first_ts"] - out["started_at"]).dt.total_seconds()
    out["max_idle_seconds"] = out["max_idle_seconds"].fillna(0.0)
    out["pre_conversion_max_idle_seconds"] = out["pre_max_idle"].fillna(0.0)
    out["pre_conversion_event_count"] = out["pre_count"].fillna(0).astype(int)
    out["pre_conversion_cart_count"] = out["pre_cart_count"].fillna(0).astype(int)
    out["pre_conversion_page_views"] = out["pre_page_views"].fillna(0).astype(int)
    out["landmark_event_count"] = out["landmark_count"].fillna(0).astype(int)
    mark = out["started_at"] + pd.Timedelta(seconds=LANDMARK_SECONDS)
    not_yet = out["conversion_ts"].isna() | (out["conversion_ts"] > mark)
    out["landmark_at_risk"] = ((out["last_ts"] > mark) & not_yet).astype(int)
    out["pre_conversion_seconds"] = (out["pre_end_ts"] - out["started_at"]).dt.total_seconds().fillna(0.0)
    out["landmark_seconds"] = (out["landmark_events_ts"] - out["started_at"]).dt.total_seconds()
    out["did_purchase"] = (out["n_orders"].fillna(0) > 0).astype(int)
    out["amount_usd"] = out["amount_usd"].fillna(0.0)
    out["avg_item_price_usd"] = out["items_usd"] / out["n_items"].where(out["n_items"] > 0)
    out["gross_margin_usd"] = out["gross_margin_usd"].where(out["n_orders"].notna(), 0.0)
    for c in ("event_count", *(f"n_{t}" for t in schema.FUNNEL_STEPS), "n_orders", "n_items"):
        out[c] = out[c].fillna(0).astype(int)
    out["start_hour"] = out["started_at"].dt.hour
    out["start_weekday"] = out["started_at"].dt.day_of_week + 1
    out["events_per_minute"] = (out["event_count"] * 60.0 / out["session_seconds"].clip(lower=1.0)).where(
        out["session_seconds"] > 0
    )
    return out[GOLD_COLUMNS].sort_values("session_id").reset_index(drop=True)


def idle_measured(raw_dir: Path) -> bool:
    """Whether the raw data time each event, so idle gaps exist (not for a one-row-per-session import)."""
    provenance = Path(raw_dir) / "provenance.json"
    if not provenance.exists():
        return True
    return json.loads(provenance.read_text(encoding="utf-8"))["kind"] != "session_table"


# --------------------------------------------------------------------------------------------
# An experiment's untreated sessions: what 03-05 describe when the data carry a variant
# --------------------------------------------------------------------------------------------

UNTREATED = "untreated"  # the folder, inside the gold folder, of the sessions no treatment touched


@dataclass
class Population(Record):
    """Which sessions a description rests on: 'all', or 'untreated' (an experiment's control arm and pre-period)."""

    population: str = "all"
    sessions: int = 0  # sessions described
    sessions_all: int = 0  # sessions in the gold table
    control: str | None = None  # the variant taken as control (for 'untreated')
    variants: list[str] = field(default_factory=list)


def control_name(variants: list[str]) -> str:
    """The control among an experiment's variants: the one named 'control' (any case), else the first by name."""
    return next((v for v in sorted(variants) if v.lower() == "control"), sorted(variants)[0])


def write_untreated(gold_dir: Path) -> Population:
    """When the gold table carries a variant, write its untreated sessions to ``gold_dir/untreated/`` (02).

    Untreated: sessions of users outside the experiment, of the control arm, and of any user before
    the first exposure. 03-05 describe these (``described``), so the treatment does not shift what
    they measure; 06 reads the whole table. Returns the population, also written beside the table.
    """
    con = _gold_view(gold_dir)
    total = int(con.execute("SELECT count(*) FROM gold").fetchone()[0])
    variants = [r[0] for r in con.execute("SELECT DISTINCT variant FROM gold WHERE variant IS NOT NULL").fetchall()]
    folder = Path(gold_dir) / UNTREATED
    if not variants:
        shutil.rmtree(folder, ignore_errors=True)
        return Population("all", total, total)
    control = control_name(variants)
    keep = f"variant IS NULL OR variant = {duck.literal(control)} OR started_at < exposed_at"
    folder.mkdir(parents=True, exist_ok=True)
    target = str(folder / "sessions.parquet").replace("'", "''")
    con.execute(f"COPY (SELECT * FROM gold WHERE {keep} ORDER BY session_id) TO '{target}' (FORMAT parquet)")
    kept = int(con.execute(f"SELECT count(*) FROM gold WHERE {keep}").fetchone()[0])
    population = Population(UNTREATED, kept, total, control, sorted(variants))
    write_json(population.to_json(), folder / "population.json")
    return population


def described(gold_dir: Path) -> Path:
    """The gold folder 03-05 describe: the untreated sessions when the data carry an experiment, else all."""
    folder = Path(gold_dir) / UNTREATED
    return folder if (folder / "sessions.parquet").exists() else Path(gold_dir)


def population(gold_dir: Path) -> Population:
    """Which sessions ``described(gold_dir)`` holds (read from what 02 wrote)."""
    path = Path(gold_dir) / UNTREATED / "population.json"
    if path.exists():
        return Population.from_json(json.loads(path.read_text(encoding="utf-8")))
    total = count_sessions(gold_dir)
    return Population("all", total, total)
