"""A flat event log (one row per event) into the five raw tables, with its provenance.

Usage::

    from helpers.data.event_log import import_event_log
    import_event_log("events.csv", load_mapping(preset="rees46"), paths.raw_dir("mine"))

The rules (duplicates, refunds, ordering, sessionisation, orders) are listed in
``helpers.data.ingest``; the raw tables are derived by ``sql/derive_raw_tables.sql``.

The log is read from disk twice and copied in memory once: a first pass counts (rows, event
names, values that do not parse, malformed rows) and stops on a mistake before anything is
built; a second pass reads only the mapped columns into one cleaned table (``log0``: typed,
exact duplicates merged), from which ``log`` gets its integer ids and the raw tables are derived.
DuckDB spills to disk beyond its memory limit.
"""

from __future__ import annotations

import re
from pathlib import Path

from helpers.data import contract, duck
from helpers.data.files import write_json
from helpers.data.mapping import (
    check_event_names,
    check_variants,
    column_expr,
    input_files,
    open_source,
    resolve_columns,
)
from helpers.data.timestamps import timestamp_plan
from helpers.errors import DataContractError

MAX_UNPARSED_SHARE = 0.01  # above this share of a column's values (or of the rows) not parsing, the import stops
MISSING_TOKENS = ("", "N/A", "NA", "#N/A", "NULL", "NONE", "NAN", "-")  # read as a missing value, and counted
DECIMAL_COMMA = re.compile(r"^-?[0-9]+,[0-9]+$")
NUMERIC_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "DOUBLE", "FLOAT")
TREATED_AS = {  # what became of a value not parsed, by role (codes; the pages word them)
    "timestamp": "row_dropped",
    "price": "read_as_missing_no_revenue",
    "quantity": "read_as_1",
    "exposed_at": "read_as_missing_no_exposure",
}


def id_expr(con, col: str, table: str = "mapped") -> str:
    """An integer id from ``col``: the value itself when every value is an integer, else a rank."""
    non_int = con.execute(
        f"SELECT count(*) FROM {table} WHERE {col} IS NOT NULL "
        f"AND TRY_CAST(trim(CAST({col} AS VARCHAR)) AS BIGINT) IS NULL"
    ).fetchone()[0]
    if non_int == 0:
        return f"TRY_CAST(trim(CAST({col} AS VARCHAR)) AS BIGINT)"
    return f"DENSE_RANK() OVER (ORDER BY CAST({col} AS VARCHAR))"


def id_column(con, col: str, table: str, name: str) -> tuple[str, str]:
    """An integer id for ``col`` and the join it needs: the value when every value is an integer, else its rank.

    The rank is that of the key among the distinct keys (a small table), not a window over every row.
    """
    non_int = con.execute(  # stops at the first key that is not an integer
        f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {col} IS NOT NULL "
        f"AND TRY_CAST(trim({col}) AS BIGINT) IS NULL LIMIT 1)"
    ).fetchone()[0]
    if non_int == 0:
        return f"TRY_CAST(trim({col}) AS BIGINT)", ""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
                    SELECT k, row_number() OVER (ORDER BY k) AS id FROM (SELECT DISTINCT {col} AS k FROM {table})""")
    return f"{name}.id", f" LEFT JOIN {name} ON {name}.k IS NOT DISTINCT FROM {table}.{col}"


def import_event_log(
    log_path: str | Path, mapping: dict, out_dir: Path, session_gap_minutes: float = 30
) -> dict[str, int]:
    """Derive the five raw tables from a flat event log, check them and write them to ``out_dir``.

    ``log_path`` is a CSV (``.csv``, ``.csv.gz``) or Parquet file, a folder of them or a glob.
    Writes ``provenance.json`` beside the tables: what was read, dropped and not parsed, and how.
    """
    log_path = Path(log_path)
    table = f"event_log {log_path.name}"
    con = duck.connect()
    found = open_source(con, log_path, table, event_log=True)
    files = input_files(log_path, table)
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM src LIMIT 1)").fetchone()[0] and not duck.rejected_rows(
        con
    ):
        what = f"file {files[0].name} has" if len(files) == 1 else f"the {len(files)} files have"
        raise DataContractError(table, None, f"{what} a header but no rows")
    cols = resolve_columns(mapping, found, table)
    types = {r[0]: r[1].upper() for r in con.execute("DESCRIBE src").fetchall()}
    ts_expr, zone, mismatch = timestamp_plan(con, "src", cols["timestamp"][0], mapping, table)
    values = _value_sql(cols, types, mapping, ts_expr)
    if "exposed_at" in cols:  # the first exposure to an experiment, read like the timestamp
        exposed_expr, _, _ = timestamp_plan(con, "src", cols["exposed_at"][0], mapping, table)
        values["exposed_at"] = (column_expr(cols, "exposed_at"), exposed_expr)
    header = _header_test(cols, files)
    stats = _first_pass(con, cols, values, mismatch, header)
    rejected = duck.rejected_rows(con)
    rows_read = stats["rows"] + stats["header_rows"] + sum(n for n, _ in rejected.values())
    _stop_on_unreadable(table, cols, files, stats, rejected, rows_read, mapping, mismatch)
    names = check_event_names(stats["names"], mapping, table, cols["event_type"][0])
    sessionised = "session_id" not in cols
    duplicates, refunds = _clean_table(con, cols, values, mapping, header, ordered=not sessionised)
    variants = (
        check_variants(con, "log0", "user_id" if "user_id" in cols else "session_id", table, cols["variant"][0])
        if "variant" in cols
        else {}
    )
    _keyed_log(con, cols, session_gap_minutes if sessionised else None)
    out_of_order = None if sessionised else _out_of_order(con)
    derive_tables(con, "order_src" if "order_id" in cols else "CAST(ts AS VARCHAR)")
    if variants:
        user_level_variant(con)
    con.execute("DROP TABLE log; DROP TABLE buys")
    counts = contract.validate_derived(con)
    malformed = {reason: n for reason, (n, _) in rejected.items()}
    provenance = with_provenance(
        con,
        {
            "kind": "event_log",
            "file": str(log_path),
            "files": [f.name for f in files],
            "mapping": mapping["code"],
            "rows_read": rows_read,
            "rows_dropped": {
                **malformed,
                "repeated_header": stats["header_rows"],
                "timestamp_missing": stats["timestamp"]["missing"],
                "timestamp_not_parsed": stats["timestamp"]["not_parsed"],
                "exact_duplicate": duplicates,
                "refund": refunds,
            },
            "rows_dropped_examples": {reason: shown for reason, (_, shown) in rejected.items()},
            "values_not_parsed": _not_parsed_record(cols, stats),
            "max_unparsed_share": MAX_UNPARSED_SHARE,
            "decimal": mapping.get("decimal") or ".",
            "timezone": zone,
            "event_names": names,
            "rows_out_of_order": out_of_order,
            "sessions_from": "inactivity_gap" if sessionised else "session_id_column",
            "session_gap_minutes": session_gap_minutes if sessionised else None,
            "has_prices": "price" in cols,
            "has_products": "product_id" in cols,
            "variants": variants,  # users per variant: an experiment's log
        },
    )
    contract.write_views(con, out_dir, stored_in_order=("events",))  # derive_tables stores events in order
    write_json(provenance, Path(out_dir) / "provenance.json")
    return counts


def _text(ref: str) -> str:
    return f"trim(CAST({ref} AS VARCHAR))"


def missing_sql(ref: str) -> str:
    """True for an empty value or a placeholder such as N/A or null."""
    tokens = ", ".join(duck.literal(t) for t in MISSING_TOKENS)
    return f"coalesce(upper({_text(ref)}) IN ({tokens}), true)"


def _value_sql(cols: dict, types: dict, mapping: dict, ts_expr: str) -> dict[str, tuple[str, str]]:
    """Role -> (SQL of the raw value, SQL of the parsed value, NULL when missing or not parsed).

    Of the missing-value placeholders only 'NaN' parses as a number, so only a NaN is tested for them.
    """
    out = {"timestamp": (column_expr(cols, "timestamp"), ts_expr)}
    for role, kind in (("price", "DOUBLE"), ("quantity", "BIGINT")):
        if role not in cols:
            continue
        ref = column_expr(cols, role)
        if types.get(cols[role][0], "VARCHAR") in NUMERIC_TYPES:
            parsed = f"TRY_CAST({ref} AS {kind})"
        elif mapping.get("decimal") == "," and kind == "DOUBLE":
            parsed = f"TRY_CAST(replace({_text(ref)}, ',', '.') AS {kind})"
        else:
            parsed = f"TRY_CAST({_text(ref)} AS {kind})"
        if kind == "DOUBLE":
            parsed = f"CASE WHEN isnan({parsed}) AND {missing_sql(ref)} THEN NULL ELSE {parsed} END"
        out[role] = (ref, parsed)
    return out


def _header_test(cols: dict, files: list[Path]) -> str:
    """SQL true for a CSV row that repeats the header (files joined by hand); false for Parquet."""
    if files[0].suffix == ".parquet":
        return "false"
    name = cols["timestamp"][0]
    return f"coalesce({_text(duck.quote(name))} = {duck.literal(name)}, false)"


def _first_pass(con, cols: dict, values: dict, mismatch: str | None, header: str) -> dict:
    """Pass 1 over the file: rows and rows per event name, missing and unparsed values with examples.

    Each value is parsed once; whether it is missing (empty or N/A) or does not parse is asked only of
    the values that gave no result, and whether a time names no zone only of times not ending in ' UTC' or 'Z'.
    """
    tokens = ", ".join(duck.literal(t) for t in MISSING_TOKENS)
    inner = [f"CAST({column_expr(cols, 'event_type')} AS VARCHAR) AS _name", f"{header} AS _hdr"]
    middle = ["_name", "_hdr"]
    parts = ["count(*) FILTER (WHERE _hdr) AS header_rows"]
    for i, (raw, parsed) in enumerate(values.values()):
        inner += [f"{_text(raw)} AS _t{i}", f"{parsed} AS _v{i}"]
        missing = f"coalesce(upper(_t{i}) IN ({tokens}), true)"
        middle += [
            f"CASE WHEN _v{i} IS NULL THEN {missing} ELSE false END AS _m{i}",
            f"CASE WHEN _v{i} IS NULL AND NOT {missing} THEN _t{i} END AS _b{i}",
        ]
        parts += [
            f"count(*) FILTER (WHERE _m{i} AND NOT _hdr)",
            f"count(_b{i}) FILTER (WHERE NOT _hdr)",
            f"min(_b{i}) FILTER (WHERE NOT _hdr)",
            f"max(_b{i}) FILTER (WHERE NOT _hdr)",
        ]
    if mismatch:  # _t0 is the timestamp's text; the zone test names the column itself
        inner.append(duck.quote(cols["timestamp"][0]))
        middle.append(
            f"CASE WHEN suffix(_t0, ' UTC') OR suffix(_t0, 'Z') THEN NULL WHEN {mismatch} THEN _t0 END AS _zone_free"
        )
        parts += ["count(_zone_free) FILTER (WHERE NOT _hdr)", "min(_zone_free) FILTER (WHERE NOT _hdr)"]
    rows = con.execute(
        f"SELECT _name, count(*) FILTER (WHERE NOT _hdr) AS n, {', '.join(parts)} "
        f"FROM (SELECT {', '.join(middle)} FROM (SELECT {', '.join(inner)} FROM src)) GROUP BY _name ORDER BY n DESC"
    ).fetchall()
    stats = {"names": {r[0]: r[1] for r in rows if r[1]}, "rows": sum(r[1] for r in rows)}
    stats["header_rows"] = sum(r[2] for r in rows)
    at = 3
    for role in values:
        shown = sorted({v for r in rows for v in (r[at + 2], r[at + 3]) if v is not None})
        stats[role] = {
            "missing": sum(r[at] for r in rows),
            "not_parsed": sum(r[at + 1] for r in rows),
            "examples": shown[:5],
        }
        at += 4
    if mismatch:
        stats["zone_mismatch"] = (sum(r[at] for r in rows), sorted({r[at + 1] for r in rows if r[at + 1]})[:5])
    return stats


def _stop_on_unreadable(table, cols, files, stats, rejected, rows_read, mapping, mismatch) -> None:
    """Stop, in one line, on an input without rows or with too many rows or values that cannot be read."""
    what = f"file {files[0].name} has" if len(files) == 1 else f"the {len(files)} files have"
    if rows_read == stats["header_rows"]:
        raise DataContractError(table, None, f"{what} a header but no rows")
    for reason, (n, shown) in rejected.items():
        if n / rows_read > MAX_UNPARSED_SHARE:
            raise DataContractError(
                table,
                None,
                f"{n:,} of {rows_read:,} rows ({n / rows_read:.1%}) are {duck.reject_words(reason)}, above the "
                f"{MAX_UNPARSED_SHARE:.0%} allowed: is the delimiter or the quoting right?",
                shown,
            )
    if stats["rows"] == 0:
        raise DataContractError(
            table, None, f"{what} no row that can be read", [duck.reject_words(r) for r in rejected]
        )
    if mismatch and stats["zone_mismatch"][0]:
        raise DataContractError(
            table,
            cols["timestamp"][0],
            "time zones are mixed: some values carry an offset or 'UTC', others none",
            stats["zone_mismatch"][1],
        )
    ts = stats["timestamp"]
    lost = ts["missing"] + ts["not_parsed"]
    if lost / stats["rows"] > MAX_UNPARSED_SHARE:
        rule = (
            f"{lost:,} of {stats['rows']:,} rows ({lost / stats['rows']:.1%}) have a timestamp that is missing "
            f"({ts['missing']:,}) or does not parse ({ts['not_parsed']:,}), above the {MAX_UNPARSED_SHARE:.0%} allowed"
        )
        raise DataContractError(table, cols["timestamp"][0], rule, ts["examples"] or ["(empty)"])
    for role in ("price", "quantity", "exposed_at"):
        if role not in stats:
            continue
        given = stats["rows"] - stats[role]["missing"]
        bad = stats[role]["not_parsed"]
        if given and bad / given > MAX_UNPARSED_SHARE:
            rule = (
                f"{bad:,} of {given:,} values ({bad / given:.1%}) are not numbers, above the "
                f"{MAX_UNPARSED_SHARE:.0%} allowed"
            )
            if mapping.get("decimal") != "," and any(DECIMAL_COMMA.match(v) for v in stats[role]["examples"]):
                rule += (
                    "; they look like decimal commas: add 'decimal: \",\"' to the mapping "
                    "(with a preset, in a mapping file given beside it)"
                )
            raise DataContractError(table, cols[role][0], rule, stats[role]["examples"])


def _not_parsed_record(cols: dict, stats: dict) -> list[dict]:
    """Per parsed column: values given, missing (empty or N/A), not parsed, examples, and what was done."""
    return [
        {
            "column": cols[role][0],
            "role": role,
            "rows": stats["rows"],
            "missing": stats[role]["missing"],
            "not_parsed": stats[role]["not_parsed"],
            "examples": stats[role]["examples"],
            "treated_as": TREATED_AS[role],
        }
        for role in ("timestamp", "price", "quantity", "exposed_at")
        if role in stats
    ]


def _clean_table(con, cols: dict, values: dict, mapping: dict, header: str, ordered: bool) -> tuple[int, int]:
    """Pass 2: ``log0``, the mapped columns typed, rows without a time gone, exact duplicates merged.

    Returns the exact duplicates merged and the refund rows (purchases with a negative price or
    quantity), which are dropped. With a session id, ``rn`` keeps each row's place in the file.
    """
    case = " ".join(
        f"WHEN ev IN ({', '.join(duck.literal(v) for v in vals)}) THEN {duck.literal(step)}"
        for step, vals in mapping["event_types"].items()
    )
    keyed = {
        role: f"CAST({column_expr(cols, role)} AS VARCHAR)"
        for role in ("session_id", "user_id", "product_id", "order_id", "device", "traffic_source")
        if role in cols
    }
    if "variant" in cols:  # an empty or N/A variant is no variant (a user outside the experiment)
        ref = column_expr(cols, "variant")
        keyed["variant"] = f"CASE WHEN {missing_sql(ref)} THEN NULL ELSE {_text(ref)} END"
    exposed = values["exposed_at"][1] if "exposed_at" in values else "CAST(NULL AS TIMESTAMP)"
    price = values["price"][1] if "price" in cols else "CAST(NULL AS DOUBLE)"
    qty = f"COALESCE({values['quantity'][1]}, 1)" if "quantity" in cols else "1"
    row_number = "row_number() OVER () AS rn, " if ordered else ""
    if ordered:
        con.execute("SET preserve_insertion_order = true")  # file order, for the rows-out-of-order count
    try:
        con.execute(f"""
            CREATE TABLE log0 AS
            SELECT *, CASE {case} ELSE 'other' END AS step
            FROM (SELECT ts, ev, {
            ", ".join(f"{role}" for role in keyed) + ", " if keyed else ""
        } price_v, qty_v, exposed_v,
                         {"min(rn) AS rn, " if ordered else ""}count(*) AS copies
                  FROM (SELECT {row_number}{values["timestamp"][1]} AS ts, CAST({column_expr(cols, "event_type")}
                               AS VARCHAR) AS ev, {
            ", ".join(f"{sql} AS {role}" for role, sql in keyed.items()) + ", " if keyed else ""
        }{price} AS price_v, {qty} AS qty_v, {exposed} AS exposed_v
                        FROM src WHERE NOT {header})
                  WHERE ts IS NOT NULL
                  GROUP BY ALL)""")
    finally:
        con.execute("SET preserve_insertion_order = false")
    duplicates, refunds = con.execute(
        "SELECT sum(copies) - count(*), count(*) FILTER (WHERE step = 'purchase' AND (price_v < 0 OR qty_v < 0)) "
        "FROM log0"
    ).fetchone()
    con.execute("DELETE FROM log0 WHERE step = 'purchase' AND (price_v < 0 OR qty_v < 0)")
    return int(duplicates or 0), int(refunds or 0)


def _keyed_log(con, cols: dict, gap_minutes: float | None) -> None:
    """``log`` from ``log0``: sessions (the id column, or each user's inactivity gaps), integer ids, roles typed."""
    if gap_minutes is not None:
        gap_ms = float(gap_minutes) * 60 * 1000
        con.execute(f"""CREATE TEMP VIEW keyed AS
            SELECT *, user_id || '#' || CAST(sum(new) OVER (PARTITION BY user_id ORDER BY ts
                   ROWS UNBOUNDED PRECEDING) AS VARCHAR) AS session_key
            FROM (SELECT *, CASE WHEN date_diff('millisecond', lag(ts) OVER (PARTITION BY user_id ORDER BY ts), ts)
                                      <= {gap_ms} THEN 0 ELSE 1 END AS new FROM log0)""")
        con.execute("CREATE TABLE keys AS SELECT * FROM keyed")
        con.execute("DROP VIEW keyed")
        con.execute("DROP TABLE log0")
        con.execute("ALTER TABLE keys RENAME TO log0")
    else:
        con.execute("ALTER TABLE log0 RENAME COLUMN session_id TO session_key")
    sid, sjoin = id_column(con, "session_key", "log0", "session_ids")
    pid, pjoin = id_column(con, "product_id", "log0", "product_ids") if "product_id" in cols else ("NULL", "")
    uid, ujoin = id_column(con, "user_id", "log0", "user_ids") if "user_id" in cols else ("NULL", "")
    con.execute(f"""
        CREATE TABLE log AS
        SELECT {sid} AS session_id, ts, step AS event_type, CAST({pid} AS BIGINT) AS product_id,
               CASE WHEN price_v < 0 THEN NULL ELSE price_v END AS price, qty_v AS quantity,
               CAST({uid} AS BIGINT) AS user_id,
               {"device" if "device" in cols else "'unknown'"} AS device,
               {"traffic_source" if "traffic_source" in cols else "'unknown'"} AS traffic_source,
               {"variant" if "variant" in cols else "CAST(NULL AS VARCHAR)"} AS variant, exposed_v AS exposed_at,
               {"order_id" if "order_id" in cols else "NULL"} AS order_src{", rn" if "rn" in _columns(con) else ""}
        FROM log0{sjoin}{pjoin}{ujoin}""")
    con.execute("DROP TABLE log0")


def _columns(con, table: str = "log0") -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _out_of_order(con) -> int:
    """Rows stamped earlier than the row before them in the file, within one session (clock skew or export order)."""
    return con.execute("""SELECT count(*) FROM (SELECT ts, lag(ts) OVER (PARTITION BY session_id ORDER BY rn) AS before
                          FROM log) WHERE ts < before""").fetchone()[0]


def derive_tables(con, order_key: str) -> None:
    """sessions, orders, order_items, products and events from the cleaned ``log`` table."""
    con.execute(duck.sql_file("derive_raw_tables.sql", order_key=order_key))


def user_level_variant(con) -> None:
    """Each session carries its user's variant and first exposure, also the sessions before assignment.

    The log may name the variant only on rows after assignment; a user's pre-period sessions then
    belong to the same user and arm, and the read-out tells them apart by the exposure time.
    """
    con.execute("""CREATE OR REPLACE TABLE sessions AS
        SELECT * REPLACE (max(variant) OVER (PARTITION BY user_id) AS variant,
                          min(exposed_at) OVER (PARTITION BY user_id) AS exposed_at)
        FROM sessions ORDER BY session_id""")


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
