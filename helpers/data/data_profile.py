"""Profile raw tables with DuckDB: sizes, funnel and realism against published benchmarks.

Usage::

    from helpers.data.data_profile import raw_profile, benchmark_table
    prof = raw_profile(paths.raw_dir("default"))
    benchmark_table(prof)
"""

from __future__ import annotations

from pathlib import Path

import duckdb  # noqa: F401  (type of the connections below)
import pandas as pd

from helpers.data.schema import FUNNEL_STEPS

# Published ranges the simulator is tuned to land in, by benchmark id (the profile's key); a range is a
# band around the published figures, since sites differ widely. The metric's name and the source of
# each range are worded in ``helpers.presentation.findings.BENCHMARK_WORDS``.
BENCHMARKS = [
    ("conversion", 0.015, 0.04),
    ("cart_share", 0.06, 0.12),
    ("cart_abandonment", 0.60, 0.80),
    ("one_event_share", 0.30, 0.50),
    ("median_minutes_multi", 1.0, 3.0),
    ("cost_share_range", 0.25, 0.75),
]


def _con() -> duckdb.DuckDBPyConnection:
    from helpers.data.duck import connect

    return connect()


def raw_profile(raw_dir: Path) -> dict:
    """Counts, funnel and realism metrics of a folder of raw Parquet tables."""
    raw = Path(raw_dir)
    con = _con()
    for name in ("sessions", "events", "orders", "order_items", "products"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{raw / (name + '.parquet')}')")
    counts = {
        n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0]
        for n in ("sessions", "events", "orders", "order_items", "products")
    }
    per_session = (
        con.execute("""
        WITH s AS (
          SELECT s.session_id,
                 count(e.event_id) AS n_events,
                 bool_or(e.event_type = 'page_view') AS pv,
                 bool_or(e.event_type = 'add_to_cart') AS cart,
                 bool_or(e.event_type = 'checkout') AS co,
                 bool_or(e.event_type = 'purchase') AS buy,
                 date_diff('millisecond', s.started_at, max(e.ts)) / 1000.0 AS seconds
          FROM sessions s LEFT JOIN events e USING (session_id)
          GROUP BY s.session_id, s.started_at)
        SELECT count(*) AS sessions,
               avg(CASE WHEN pv THEN 1 ELSE 0 END) AS pv_share,
               avg(CASE WHEN cart THEN 1 ELSE 0 END) AS cart_share,
               sum(CASE WHEN cart THEN 1 ELSE 0 END) AS cart_sessions,
               sum(CASE WHEN cart AND NOT coalesce(buy, false) AND o.session_id IS NULL THEN 1 ELSE 0 END)
                   AS cart_sessions_not_bought,
               avg(CASE WHEN co THEN 1 ELSE 0 END) AS checkout_share,
               avg(CASE WHEN buy THEN 1 ELSE 0 END) AS purchase_share,
               avg(CASE WHEN n_events = 1 THEN 1 ELSE 0 END) AS one_event_share,
               median(seconds) FILTER (WHERE n_events >= 2) / 60 AS median_minutes_multi,
               quantile_cont(seconds, 0.9) FILTER (WHERE n_events >= 2) / 60 AS p90_minutes_multi,
               avg(n_events) AS mean_events
        FROM s LEFT JOIN (SELECT DISTINCT session_id FROM orders) AS o USING (session_id)""")
        .df()
        .iloc[0]
        .to_dict()
    )
    buyers = con.execute("SELECT count(DISTINCT session_id) FROM orders").fetchone()[0]
    carts = per_session.pop("cart_sessions") or 0
    not_bought = per_session.pop("cart_sessions_not_bought") or 0
    cost = con.execute("SELECT * FROM products LIMIT 0").df().columns
    cost_range = (None, None)
    if "cost_usd" in cost:
        cost_range = tuple(
            con.execute(
                "SELECT min(cost_usd / price_usd), max(cost_usd / price_usd) FROM products WHERE price_usd > 0"
            ).fetchone()
        )
    return {
        "counts": counts,
        **{k: float(v) if v is not None else None for k, v in per_session.items()},
        "conversion": buyers / max(counts["sessions"], 1),
        # cart sessions without a purchase / cart sessions
        "cart_abandonment": (not_bought / carts) if carts else None,
        "cost_share_range": list(cost_range),
    }


def benchmark_table(profile: dict) -> list[dict]:
    """Each benchmark's id, this data's value (a number, or the lowest and highest), the published band, a verdict.

    ``in_range`` is ``yes``, ``no`` or ``n/a`` (no value); ``findings.benchmark_frame`` words the rows.
    """
    rows = []
    for bid, lo, hi in BENCHMARKS:
        value = profile.get(bid)
        if isinstance(value, (list, tuple)):
            value = [None if v is None else float(v) for v in value]
            ok = None if None in value else (value[0] >= lo - 0.01 and value[1] <= hi + 0.01)
        else:
            value = None if value is None else float(value)
            ok = None if value is None else lo <= value <= hi
        rows.append(
            {"id": bid, "value": value, "low": lo, "high": hi, "in_range": {True: "yes", False: "no", None: "n/a"}[ok]}
        )
    return rows


def funnel(raw_dir: Path) -> pd.DataFrame:
    """Sessions reaching each funnel step, with the share of all sessions and of the step before."""
    raw = Path(raw_dir)
    con = _con()
    df = con.execute(f"""
        SELECT event_type, count(DISTINCT session_id) AS sessions
        FROM read_parquet('{raw / "events.parquet"}') GROUP BY event_type""").df()
    total = con.execute(f"SELECT count(*) FROM read_parquet('{raw / 'sessions.parquet'}')").fetchone()[0]
    df = df.set_index("event_type").reindex(list(FUNNEL_STEPS)).fillna(0).reset_index()
    df["share_of_sessions"] = df["sessions"] / max(total, 1)
    df["share_of_previous"] = df["sessions"] / df["sessions"].shift(1)
    return df.rename(columns={"event_type": "step"})


def distributions(raw_dir: Path, max_rows: int = 200_000) -> pd.DataFrame:
    """Events per session and session length in minutes (a uniform sample for plotting)."""
    raw = Path(raw_dir)
    return (
        _con()
        .execute(f"""
        SELECT count(e.event_id) AS events,
               coalesce(date_diff('millisecond', s.started_at, max(e.ts)), 0) / 60000.0 AS minutes
        FROM (SELECT * FROM read_parquet('{raw / "sessions.parquet"}')
              USING SAMPLE reservoir({max_rows} ROWS) REPEATABLE (1)) s
        LEFT JOIN read_parquet('{raw / "events.parquet"}') e USING (session_id)
        GROUP BY s.session_id, s.started_at""")
        .df()
    )


def run_record(profile: dict, bench: list[dict], config, provenance: dict | None) -> dict:
    """What 01 records: the source, table sizes, the profile, the realism checks, the knobs or the provenance."""
    return {
        "source": "simulator" if config is not None else "user_data",
        "counts": profile["counts"],
        "profile": profile,
        "benchmarks_in_range": sum(row["in_range"] == "yes" for row in bench),
        "benchmarks_checked": sum(row["in_range"] != "n/a" for row in bench),
        "benchmark_table": bench,
        "config": config.as_dict() if config is not None else None,
        "provenance": provenance,
    }
