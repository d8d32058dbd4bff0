"""A session table (one row per session) into the five raw tables, events laid out evenly.

Usage::

    from helpers.data.session_table import import_session_table
    import_session_table("sessions.csv", load_mapping("sessions.yaml", kind="sessions"), paths.raw_dir("st"))
"""

from __future__ import annotations

from pathlib import Path

from helpers.data import contract, duck
from helpers.data.event_log import id_expr, with_provenance
from helpers.data.files import write_json
from helpers.data.mapping import column_expr, open_source, resolve_columns
from helpers.data.timestamps import timestamp_expr
from helpers.errors import DataContractError


def import_session_table(path: str | Path, mapping: dict, out_dir: Path) -> dict[str, int]:
    """Raw tables from one row per session: events laid out evenly over the session's seconds."""
    path = Path(path)
    table = f"session_table {path.name}"
    con = duck.connect()
    found = open_source(con, path, table)
    cols = resolve_columns(mapping, found, table)
    rows_read = con.execute("SELECT count(*) FROM src").fetchone()[0]
    if "started_at" in cols:
        start, zone = timestamp_expr(con, "src", cols["started_at"][0], mapping, table)
    else:
        start, zone = (
            "TIMESTAMP '2000-01-03 00:00:00' + to_seconds(row_number() OVER ())",
            "not given (sessions spaced 1 s apart)",
        )
    num = {}
    for role in ("events", "seconds", "purchased", "revenue"):
        if role not in cols:
            continue
        ref = column_expr(cols, role)
        num[role] = f"TRY_CAST(trim(CAST({ref} AS VARCHAR)) AS DOUBLE)"
        rule = {"events": ">= 0", "seconds": ">= 0", "purchased": "IN (0, 1)", "revenue": ">= 0"}[role]
        bad = duck.examples(con, f"SELECT {ref} FROM src WHERE {num[role]} IS NULL OR NOT ({num[role]} {rule})")
        if bad:
            raise DataContractError(table, cols[role][0], f"column mapped to '{role}' must be a number {rule}", bad)
    device = f"CAST({column_expr(cols, 'device')} AS VARCHAR)" if "device" in cols else "'unknown'"
    source = f"CAST({column_expr(cols, 'traffic_source')} AS VARCHAR)" if "traffic_source" in cols else "'unknown'"
    con.execute(f"""CREATE TABLE st AS SELECT {column_expr(cols, "session_id")} AS session_key, {start} AS started_at,
        CAST({num["events"]} AS BIGINT) AS n, {num["seconds"]} AS seconds, CAST({num["purchased"]} AS INTEGER) AS buy,
        {num.get("revenue", "0.0")} AS revenue,
        {device} AS device, {source} AS traffic_source
        FROM src""")
    sid = id_expr(con, "session_key", "st")
    con.execute(f"""
        CREATE TABLE st2 AS SELECT {sid} AS session_id, * FROM st;
        CREATE TABLE sessions AS SELECT session_id, session_id AS user_id, started_at, device, traffic_source FROM st2;
        CREATE TABLE orders AS
        SELECT row_number() OVER (ORDER BY session_id) AS order_id, session_id,
               started_at + to_microseconds(CAST(seconds * 1e6 AS BIGINT)) AS ordered_at, round(revenue, 2) AS total_usd
        FROM st2 WHERE buy = 1;
        CREATE TABLE order_items AS SELECT order_id, CAST(NULL AS BIGINT) AS product_id, 1 AS quantity,
               total_usd AS unit_price_usd FROM orders WHERE false;
        CREATE TABLE products AS SELECT CAST(NULL AS BIGINT) AS product_id, 'unknown' AS category, 0.0 AS price_usd,
               CAST(NULL AS DOUBLE) AS cost_usd WHERE false;
        CREATE TABLE events AS
        SELECT row_number() OVER (ORDER BY session_id, ts, kind) AS event_id, session_id, ts,
               CASE WHEN kind = 1 THEN 'purchase' ELSE 'page_view' END AS event_type, CAST(NULL AS BIGINT) AS product_id
        FROM (SELECT session_id, 0 AS kind,
                     started_at + to_microseconds(CAST(seconds * 1e6 * i / greatest(n - 1, 1) AS BIGINT)) AS ts
              FROM (SELECT session_id, started_at, seconds, n, unnest(range(n)) AS i FROM st2)
              UNION ALL SELECT session_id, 1, ordered_at FROM orders);
    """)
    counts = contract.validate(con)
    if not counts["orders"]:
        raise DataContractError(table, cols["purchased"][0], "no purchases: every session has the flag 0")
    provenance = with_provenance(
        con,
        {
            "kind": "session table",
            "file": str(path),
            "mapping": mapping["name"],
            "rows_read": rows_read,
            "rows_dropped": {},
            "timezone": zone,
            "sessions_from": "one row per session",
            "has_prices": "revenue" in cols,
            "has_products": False,
            "not_available": "event timing (idle gaps) and products: the data hold one row per session",
        },
    )
    contract.write_views(con, out_dir)
    write_json(provenance, Path(out_dir) / "provenance.json")
    return counts
