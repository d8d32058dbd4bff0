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

# Published ranges the simulator is tuned to land in. The source column says where each range
# comes from; a range is a band around the published figures, since sites differ widely.
BENCHMARKS = [
    (
        "session conversion rate",
        "conversion",
        0.015,
        0.04,
        "Smart Insights, 'What are typical average add-to-cart conversion rates?' (D. Chaffey): "
        "e-commerce conversion mostly 2-3 % of sessions",
    ),
    (
        "sessions with an add-to-cart",
        "cart_share",
        0.06,
        0.12,
        "Smart Insights (same article): add-to-cart rates around 7-10 % of sessions",
    ),
    (
        "cart abandonment (carts not bought)",
        "cart_abandonment",
        0.60,
        0.80,
        "Baymard Institute, 'Cart Abandonment Rate Statistics': average of 49 studies about 70 %",
    ),
    (
        "one-event sessions",
        "one_event_share",
        0.30,
        0.50,
        "bounce rates of 30-50 % are the usual band in web-analytics benchmark reports",
    ),
    (
        "median duration of sessions with 2+ events, min",
        "median_minutes_multi",
        1.0,
        3.0,
        "web-analytics benchmark reports put typical visits at a few minutes; a one-event session "
        "has no measurable duration in a clickstream, so it is left out",
    ),
    (
        "cost as share of price (lowest, highest)",
        "cost_share_range",
        0.25,
        0.75,
        "retail gross margins of 25-75 % of price (product costs are simulated in that band)",
    ),
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


def benchmark_table(profile: dict) -> pd.DataFrame:
    """Simulated value beside each published range, with a verdict per row."""
    rows = []
    for label, key, lo, hi, source in BENCHMARKS:
        value = profile.get(key)
        if isinstance(value, (list, tuple)):
            ok = None if None in value else (value[0] >= lo - 0.01 and value[1] <= hi + 0.01)
            shown = "n/a" if None in value else f"{value[0]:.0%} - {value[1]:.0%}"
        else:
            ok = None if value is None else lo <= value <= hi
            shown = "n/a" if value is None else (f"{value:.1%}" if hi <= 1 else f"{value:.2f}")
        band = f"{100 * lo:g}% - {100 * hi:g}%" if hi <= 1 else f"{lo:g} - {hi:g}"  # 1.5%, never rounded to 2%
        rows.append(
            {
                "metric": label,
                "this data": shown,
                "published range": band,
                "in range": {True: "yes", False: "no", None: "n/a"}[ok],
                "source": source,
            }
        )
    return pd.DataFrame(rows)


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


def run_record(profile: dict, bench: pd.DataFrame, config, provenance: dict | None) -> dict:
    """What 01 records: the source, table sizes, the profile, the realism checks, the knobs or the provenance."""
    return {
        "source": "simulator" if config is not None else "user data",
        "counts": profile["counts"],
        "profile": profile,
        "benchmarks_in_range": int((bench["in range"] == "yes").sum()),
        "benchmarks_checked": int((bench["in range"] != "n/a").sum()),
        "benchmark_table": bench.to_dict(orient="records"),
        "config": config.as_dict() if config is not None else None,
        "provenance": provenance,
    }


def parse_table(provenance: dict) -> pd.DataFrame:
    """Per parsed column of an imported log: rows, values missing (empty or N/A), values not parsed, examples, action.

    Empty for inputs that parse nothing (raw tables, session tables). Rows dropped, by reason, are
    in ``provenance['rows_dropped']``; this table shows the values behind the timestamp drops and
    the prices and quantities that were kept but could not be read.
    """
    rows = [
        {
            "column": v["column"],
            "role": v["role"],
            "rows": v["rows"],
            "missing (empty or N/A)": v["missing"],
            "not parsed": v["not_parsed"],
            "share not parsed": f"{v['not_parsed'] / max(v['rows'] - v['missing'], 1):.2%}",
            "examples": ", ".join(v["examples"]) or "–",
            "then": v["treated_as"],
        }
        for v in provenance.get("values_not_parsed") or []
    ]
    return pd.DataFrame(rows)
