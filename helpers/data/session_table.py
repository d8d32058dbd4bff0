"""A session table (one row per session) into the five raw tables, events laid out evenly.

Usage::

    from helpers.data.session_table import import_session_table
    import_session_table("sessions.csv", load_mapping("sessions.yaml", kind="sessions"), paths.raw_dir("st"))
"""

from __future__ import annotations

from pathlib import Path

from helpers.data import contract, duck
from helpers.data.event_log import MAX_UNPARSED_SHARE, id_expr, missing_sql, user_level_variant, with_provenance
from helpers.data.files import write_json
from helpers.data.mapping import check_variants, column_expr, open_source, resolve_columns
from helpers.data.timestamps import timestamp_expr
from helpers.errors import DataContractError

RULES = {"events": ">= 0", "seconds": ">= 0", "purchased": "IN (0, 1)", "revenue": ">= 0"}  # what each number must be


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
            "not_given",  # sessions spaced 1 s apart
        )
    num = {
        role: f"TRY_CAST(trim(CAST({column_expr(cols, role)} AS VARCHAR)) AS DOUBLE)" for role in RULES if role in cols
    }
    checks = {role: (column_expr(cols, role), f"coalesce({num[role]} {RULES[role]}, false)") for role in num}
    if "started_at" in cols:
        checks["started_at"] = (column_expr(cols, "started_at"), f"{start} IS NOT NULL")
    parsed, dropped = _parse_counts(con, cols, checks, table, rows_read)
    device = f"CAST({column_expr(cols, 'device')} AS VARCHAR)" if "device" in cols else "'unknown'"
    source = f"CAST({column_expr(cols, 'traffic_source')} AS VARCHAR)" if "traffic_source" in cols else "'unknown'"
    usable = " AND ".join(ok for _, ok in checks.values()) or "true"
    user = column_expr(cols, "user_id" if "user_id" in cols else "session_id")
    variant, exposed = _experiment_sql(con, cols, mapping, table)
    con.execute(f"""CREATE TABLE st AS SELECT * EXCLUDE (usable) FROM (
        SELECT {column_expr(cols, "session_id")} AS session_key, CAST({user} AS VARCHAR) AS user_key,
        {variant} AS variant, {exposed} AS exposed_at, {start} AS started_at,
        CAST({num["events"]} AS BIGINT) AS n, {num["seconds"]} AS seconds, CAST({num["purchased"]} AS INTEGER) AS buy,
        {num.get("revenue", "0.0")} AS revenue,
        {device} AS device, {source} AS traffic_source, {usable} AS usable
        FROM src) WHERE usable""")
    variants = check_variants(con, "st", "user_key", table, cols["variant"][0]) if "variant" in cols else {}
    sid, uid = id_expr(con, "session_key", "st"), id_expr(con, "user_key", "st")
    con.execute(f"""
        CREATE TABLE st2 AS SELECT {sid} AS session_id, {uid} AS user_id, * FROM st;
        CREATE TABLE sessions AS SELECT session_id, user_id, started_at, device, traffic_source, variant, exposed_at
        FROM st2;
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
    if variants:
        user_level_variant(con)
    rows_per_user = con.execute("SELECT count(*) / count(DISTINCT user_id) FROM sessions").fetchone()[0]
    counts = contract.validate(con)
    if not counts["orders"]:
        raise DataContractError(table, cols["purchased"][0], "no purchases: every session has the flag 0")
    provenance = with_provenance(
        con,
        {
            "kind": "session_table",
            "file": str(path),
            "mapping": mapping["code"],
            "rows_read": rows_read,
            "rows_dropped": {"value_missing_or_not_parsed": dropped},
            "values_not_parsed": parsed,
            "max_unparsed_share": MAX_UNPARSED_SHARE,
            "timezone": zone,
            "sessions_from": "one_row_per_session",
            "has_prices": "revenue" in cols,
            "has_products": False,
            "not_available": "event_timing_and_products",
            "variants": variants,  # users per variant: an experiment's export
            # 1: one row per user (an experimentation platform's export); None without a user column
            "rows_per_user": float(rows_per_user or 0.0) if "user_id" in cols else None,
            # the session column is the user column: a per-user export (the ids cannot tell it, being renumbered)
            "one_row_per_user": "user_id" in cols and cols["user_id"][0] == cols["session_id"][0],
        },
    )
    contract.write_views(con, out_dir)
    write_json(provenance, Path(out_dir) / "provenance.json")
    return counts


def _experiment_sql(con, cols: dict, mapping: dict, table: str) -> tuple[str, str]:
    """SQL of the variant (empty or N/A: none) and of the first exposure (a time; unreadable: none)."""
    variant, exposed = "CAST(NULL AS VARCHAR)", "CAST(NULL AS TIMESTAMP)"
    if "variant" in cols:
        ref = column_expr(cols, "variant")
        variant = f"CASE WHEN {missing_sql(ref)} THEN NULL ELSE trim(CAST({ref} AS VARCHAR)) END"
    if "exposed_at" in cols:
        exposed, _ = timestamp_expr(con, "src", cols["exposed_at"][0], mapping, table)
    return variant, exposed


def _parse_counts(con, cols: dict, checks: dict, table: str, rows_read: int) -> tuple[list[dict], int]:
    """Per checked column: values missing (empty or N/A) and present but unusable, with examples; the rows dropped.

    A row with any such value is dropped; above ``MAX_UNPARSED_SHARE`` of the rows the import stops,
    naming the column, its rule and the values.
    """
    parts = []
    for raw, ok in checks.values():
        missing = missing_sql(raw)
        bad = f"CASE WHEN NOT ({ok}) AND NOT {missing} THEN CAST({raw} AS VARCHAR) END"
        parts += [f"count(*) FILTER (WHERE NOT ({ok}) AND {missing})", f"count({bad})", f"min({bad})", f"max({bad})"]
    dropped = " OR ".join(f"NOT ({ok})" for _, ok in checks.values()) or "false"
    row = con.execute(f"SELECT count(*) FILTER (WHERE {dropped}), {', '.join(parts)} FROM src").fetchone()
    found = []
    for i, role in enumerate(checks):
        missing, not_parsed, low, high = row[1 + 4 * i : 5 + 4 * i]
        rule = "a time" if role == "started_at" else f"a number {RULES[role]}"
        examples = sorted({v for v in (low, high) if v is not None})
        if rows_read and (missing + not_parsed) / rows_read > MAX_UNPARSED_SHARE:
            raise DataContractError(
                table,
                cols[role][0],
                f"{missing + not_parsed:,} of {rows_read:,} values ({(missing + not_parsed) / rows_read:.1%}) are "
                f"missing ({missing:,}) or not {rule} ({not_parsed:,}), above the {MAX_UNPARSED_SHARE:.0%} allowed "
                f"(column mapped to '{role}')",
                examples or ["(empty)"],
            )
        found.append(
            {
                "column": cols[role][0],
                "role": role,
                "rows": rows_read,
                "missing": missing,
                "not_parsed": not_parsed,
                "examples": examples,
                "treated_as": "row_dropped",
            }
        )
    return found, row[0]  # rows dropped: a row with two bad values is dropped once
