"""A flat event log (one row per event) into the five raw tables, with its provenance.

Usage::

    from helpers.data.event_log import import_event_log
    import_event_log("events.csv", load_mapping(preset="rees46"), paths.raw_dir("mine"))

The rules (duplicates, refunds, ordering, sessionisation, orders) are listed in
``helpers.data.ingest``; the raw tables are derived by ``sql/derive_raw_tables.sql``.
"""

from __future__ import annotations

from pathlib import Path

from helpers.data import contract, duck
from helpers.data.files import write_json
from helpers.data.mapping import check_event_names, column_expr, open_source, resolve_columns
from helpers.data.timestamps import out_of_order_rows, timestamp_expr
from helpers.errors import DataContractError


def id_expr(con, col: str, table: str = "mapped") -> str:
    """An integer id from ``col``: the value itself when every value is an integer, else a rank."""
    non_int = con.execute(
        f"SELECT count(*) FROM {table} WHERE {col} IS NOT NULL "
        f"AND TRY_CAST(trim(CAST({col} AS VARCHAR)) AS BIGINT) IS NULL"
    ).fetchone()[0]
    if non_int == 0:
        return f"TRY_CAST(trim(CAST({col} AS VARCHAR)) AS BIGINT)"
    return f"DENSE_RANK() OVER (ORDER BY CAST({col} AS VARCHAR))"


def import_event_log(
    log_path: str | Path, mapping: dict, out_dir: Path, session_gap_minutes: float = 30
) -> dict[str, int]:
    """Derive the five raw tables from a flat event log, check them and write them to ``out_dir``.

    Writes ``provenance.json`` beside the tables: what was read, dropped and why, and how.
    """
    log_path = Path(log_path)
    table = f"event_log {log_path.name}"
    con = duck.connect()
    found = open_source(con, log_path, table)
    cols = resolve_columns(mapping, found, table)
    ts_expr, zone = timestamp_expr(con, "src", cols["timestamp"][0], mapping, table)
    rows_read = con.execute("SELECT count(*) FROM src").fetchone()[0]
    out_of_order = out_of_order_rows(con, ts_expr, column_expr(cols, "session_id") if "session_id" in cols else None)
    roles = ", ".join(f"{column_expr(cols, r)} AS {r}" for r in cols if r != "timestamp")
    con.execute(f"CREATE TABLE mapped AS SELECT DISTINCT {ts_expr} AS ts, {roles} FROM src")
    duplicates = rows_read - con.execute("SELECT count(*) FROM mapped").fetchone()[0]
    names = check_event_names(con, mapping, table, cols["event_type"][0])
    missing_ts = con.execute("SELECT count(*) FROM mapped WHERE ts IS NULL").fetchone()[0]
    if missing_ts:
        raise DataContractError(
            table,
            cols["timestamp"][0],
            "must not be missing (null, empty or unreadable)",
            duck.examples(con, f"SELECT * FROM src WHERE {ts_expr} IS NULL"),
        )
    case = " ".join(
        f"WHEN CAST(event_type AS VARCHAR) IN ({', '.join(duck.literal(v) for v in vals)}) THEN {duck.literal(step)}"
        for step, vals in mapping["event_types"].items()
    )
    price = "TRY_CAST(price AS DOUBLE)" if "price" in cols else "CAST(NULL AS DOUBLE)"
    qty = "COALESCE(TRY_CAST(quantity AS BIGINT), 1)" if "quantity" in cols else "1"
    con.execute(f"""CREATE TABLE typed AS SELECT *, CASE {case} ELSE 'other' END AS step,
                    {price} AS price_v, {qty} AS qty_v FROM mapped""")
    refunds = con.execute(
        "SELECT count(*) FROM typed WHERE step = 'purchase' AND (price_v < 0 OR qty_v < 0)"
    ).fetchone()[0]
    con.execute("DELETE FROM typed WHERE step = 'purchase' AND (price_v < 0 OR qty_v < 0)")
    con.execute("UPDATE typed SET price_v = NULL WHERE price_v < 0")
    sessionised = "session_id" not in cols
    if sessionised:
        gap = float(session_gap_minutes) * 60
        con.execute(f"""CREATE TABLE keyed AS
            SELECT *, CAST(user_id AS VARCHAR) || '#' || CAST(sum(new) OVER (PARTITION BY user_id ORDER BY ts
                   ROWS UNBOUNDED PRECEDING) AS VARCHAR) AS session_key
            FROM (SELECT *, CASE WHEN date_diff('millisecond', lag(ts) OVER (PARTITION BY user_id ORDER BY ts), ts)
                                      <= {gap * 1000} THEN 0 ELSE 1 END AS new FROM typed)""")
    else:
        con.execute("CREATE TABLE keyed AS SELECT *, CAST(session_id AS VARCHAR) AS session_key FROM typed")
    sid = id_expr(con, "session_key", "keyed")
    pid = id_expr(con, "product_id", "keyed") if "product_id" in cols else "CAST(NULL AS BIGINT)"
    uid = id_expr(con, "user_id", "keyed") if "user_id" in cols else "NULL"
    order_src = "CAST(order_id AS VARCHAR)" if "order_id" in cols else "NULL"
    con.execute(f"""
        CREATE TABLE log AS
        SELECT {sid} AS session_id, ts, step AS event_type, {pid} AS product_id, price_v AS price, qty_v AS quantity,
               {uid} AS user_id,
               {"CAST(device AS VARCHAR)" if "device" in cols else "'unknown'"} AS device,
               {"CAST(traffic_source AS VARCHAR)" if "traffic_source" in cols else "'unknown'"} AS traffic_source,
               {order_src} AS order_src
        FROM keyed""")
    derive_tables(con, "order_src" if "order_id" in cols else "CAST(ts AS VARCHAR)")
    counts = contract.validate(con)
    provenance = with_provenance(
        con,
        {
            "kind": "event log",
            "file": str(log_path),
            "mapping": mapping["name"],
            "rows_read": rows_read,
            "rows_dropped": {
                "exact duplicate rows": duplicates,
                "refund rows (purchase with a negative price or quantity)": refunds,
            },
            "timezone": zone,
            "event_names": names,
            "rows_out_of_order": out_of_order,
            "sessions_from": f"inactivity gaps over {session_gap_minutes:g} minutes per user"
            if sessionised
            else "the session id column",
            "has_prices": "price" in cols,
            "has_products": "product_id" in cols,
        },
    )
    contract.write_views(con, out_dir)
    write_json(provenance, Path(out_dir) / "provenance.json")
    return counts


def derive_tables(con, order_key: str) -> None:
    """sessions, orders, order_items, products and events from the cleaned ``log`` table."""
    con.execute(duck.sql_file("derive_raw_tables.sql", order_key=order_key))


def with_provenance(con, record: dict) -> dict:
    """Add what the derived tables hold: sessions, time range, zero-length and single-event sessions."""
    s = con.execute("""
        SELECT count(*), min(first), max(last), avg(CASE WHEN last = first THEN 1.0 ELSE 0 END),
               avg(CASE WHEN n = 1 THEN 1.0 ELSE 0 END)
        FROM (SELECT session_id, min(ts) AS first, max(ts) AS last, count(*) AS n
              FROM events GROUP BY session_id)""").fetchone()
    buyers = con.execute("SELECT count(DISTINCT session_id) FROM orders").fetchone()[0]
    return {
        **record,
        "sessions": s[0],
        "buyers": buyers,
        "time_range": [str(s[1]), str(s[2])],
        "span_hours": (s[2] - s[1]).total_seconds() / 3600 if s[1] is not None else 0.0,
        "zero_length_share": float(s[3] or 0),
        "single_event_share": float(s[4] or 0),
    }
