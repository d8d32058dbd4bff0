"""The raw-data contract: checks in DuckDB that name table, column, rule and offending values.

Usage::

    from helpers.data.contract import normalise_folder, validate_folder
    normalise_folder("path/to/my_tables", paths.raw_dir("mine"))   # check + write typed Parquet
    validate_folder(paths.raw_dir("default"))                        # check only

A folder holds one file per table, ``NAME.parquet`` or ``NAME.csv`` (``sessions``, ``events``,
``orders``, ``order_items``, ``products``). Columns and types are those of ``schema.COLUMNS``
(the one place the raw schema is written down); optional columns may be missing and are then
filled with ``'unknown'`` (device, traffic_source, category) or left empty (cost_usd). Extra
columns are ignored. A violation raises ``DataContractError`` before anything is written.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

from helpers.data.duck import connect, examples, literal, quote, read_problem, source_sql
from helpers.data.schema import COLUMNS, EVENT_TYPES, KEYS, TABLES, UNKNOWN_FILL
from helpers.errors import DataContractError

TZ_SUFFIX = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
VALUE_RULES = (
    ("order_items", "quantity", "> 0"),
    ("order_items", "unit_price_usd", ">= 0"),
    ("orders", "total_usd", ">= 0"),
    ("products", "price_usd", ">= 0"),
    ("products", "cost_usd", ">= 0"),
)


def _find(folder: Path, table: str) -> Path:
    for suffix in (".parquet", ".csv", ".csv.gz"):
        path = folder / f"{table}{suffix}"
        if path.exists():
            return path
    raise DataContractError(table, None, f"table is missing: expected {table}.parquet or {table}.csv in {folder}")


def _typed_column(con, table: str, src: str, col: str, kind: str, src_types: dict[str, str]) -> str:
    """SQL expression casting ``col`` of ``src`` to ``kind``; raises on values that do not fit."""
    ref = quote(col)
    src_type = src_types[col].upper()
    if kind == "TIMESTAMP":
        if "TIME ZONE" in src_type:
            return f"CAST({ref} AT TIME ZONE 'UTC' AS TIMESTAMP)"
        if src_type == "VARCHAR":
            n_tz, n_all = con.execute(
                f"SELECT count(*) FILTER (WHERE regexp_matches(trim({ref}), '{TZ_SUFFIX}')), count({ref}) FROM {src}"
            ).fetchone()
            if 0 < n_tz < n_all:
                bad = examples(con, f"SELECT {ref} FROM {src} WHERE NOT regexp_matches(trim({ref}), '{TZ_SUFFIX}')")
                good = examples(con, f"SELECT {ref} FROM {src} WHERE regexp_matches(trim({ref}), '{TZ_SUFFIX}')", 1)
                raise DataContractError(
                    table, col, f"time zones are mixed: some values carry an offset (e.g. {good[0]}), others none", bad
                )
            if n_tz:
                expr = f"CAST(TRY_CAST(trim({ref}) AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
            else:
                expr = f"TRY_CAST(trim({ref}) AS TIMESTAMP)"
        else:
            expr = f"TRY_CAST({ref} AS TIMESTAMP)"
    elif kind in ("BIGINT", "DOUBLE") and src_type == "VARCHAR":
        expr = f"TRY_CAST(trim({ref}) AS {kind})"
    else:
        expr = f"TRY_CAST({ref} AS {kind})"
    bad = examples(con, f"SELECT {ref} FROM {src} WHERE {ref} IS NOT NULL AND {expr} IS NULL")
    if bad:
        raise DataContractError(table, col, f"values must be of type {kind.lower()}", bad)
    if kind == "DOUBLE":
        expr = f"CASE WHEN isnan({expr}) THEN NULL ELSE {expr} END"
    return expr


def load_views(folder: Path, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """Create typed views ``sessions``, ``events``, ... over the files in ``folder``."""
    folder = Path(folder)
    con = con or connect()
    for table in TABLES:
        path = _find(folder, table)
        src = f"src_{table}"
        try:
            con.execute(f"CREATE OR REPLACE VIEW {src}_file AS SELECT * FROM {source_sql(path)}")
            described = con.execute(f"DESCRIBE {src}_file").fetchall()
            src_types = {row[0]: row[1] for row in described}
            # A CSV row that repeats the header (files concatenated) is dropped, not read as data.
            keep = (
                ""
                if path.suffix == ".parquet"
                else (f" WHERE {quote(described[0][0])} IS DISTINCT FROM {literal(described[0][0])}")
            )
            con.execute(f"CREATE OR REPLACE VIEW {src} AS SELECT * FROM {src}_file{keep}")
            con.execute(f"SELECT count(*) FROM {src}").fetchone()
        except duckdb.Error as exc:
            raise DataContractError(table, None, read_problem(exc, path)) from None
        selects = []
        for col, (kind, required) in COLUMNS[table].items():
            if col not in src_types:
                if required:
                    raise DataContractError(
                        table, col, f"required column is missing (columns found: {', '.join(src_types) or 'none'})"
                    )
                selects.append(f"CAST({UNKNOWN_FILL[col]} AS {kind}) AS {col}")
                continue
            expr = _typed_column(con, table, src, col, kind, src_types)
            if col in ("device", "traffic_source", "category"):
                expr = f"COALESCE(NULLIF(trim({expr}), ''), 'unknown')"
            selects.append(f"{expr} AS {col}")
        con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT {', '.join(selects)} FROM {src}")
    return con


def _event_type_rule(con) -> None:
    """Every event's type is one of ``EVENT_TYPES``."""
    allowed = ", ".join(f"'{t}'" for t in EVENT_TYPES)
    _rule(
        con,
        "events",
        "event_type",
        f"must be one of {', '.join(EVENT_TYPES)}",
        f"SELECT DISTINCT event_type FROM events WHERE event_type IS NULL OR event_type NOT IN ({allowed})",
    )


def _rule(con, table: str, column: str | None, rule: str, offending_sql: str) -> None:
    bad = examples(con, offending_sql)
    if bad:
        raise DataContractError(table, column, rule, bad)


def validate(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Check keys, references, values and time order on the typed views; return row counts."""
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    if counts["sessions"] == 0:
        raise DataContractError("sessions", None, "table has no rows; nothing to analyse")
    for table, key in KEYS.items():
        _rule(
            con,
            table,
            key,
            "must not be missing",
            f"SELECT '(row ' || rn || ')' FROM (SELECT row_number() OVER () rn, {key} FROM {table}) "
            f"WHERE {key} IS NULL",
        )
        _rule(
            con,
            table,
            key,
            "must be unique (duplicate keys)",
            f"SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1",
        )
    for table, col in (
        ("sessions", "started_at"),
        ("events", "ts"),
        ("events", "session_id"),
        ("orders", "session_id"),
        ("orders", "total_usd"),
        ("order_items", "order_id"),
        ("order_items", "product_id"),
        ("order_items", "quantity"),
        ("order_items", "unit_price_usd"),
        ("products", "price_usd"),
    ):
        _rule(con, table, col, "must not be missing (null, empty or NaN)", f"SELECT * FROM {table} WHERE {col} IS NULL")
    _event_type_rule(con)
    refs = (
        ("events", "session_id", "sessions"),
        ("orders", "session_id", "sessions"),
        ("order_items", "order_id", "orders"),
        ("order_items", "product_id", "products"),
    )
    for table, col, parent in refs:
        _rule(
            con,
            table,
            col,
            f"must refer to an existing {parent}.{col} (unknown {parent})",
            f"SELECT DISTINCT c.{col} FROM {table} c ANTI JOIN {parent} p ON c.{col} = p.{col}",
        )
    for table, col, rule in VALUE_RULES:
        _rule(con, table, col, f"must be {rule}", f"SELECT {col} FROM {table} WHERE NOT ({col} {rule})")
    _rule(
        con,
        "events",
        "ts",
        "must not be before its session's started_at",
        "SELECT 'event ' || e.event_id || ' at ' || e.ts || ' < ' || s.started_at FROM events e "
        "JOIN sessions s USING (session_id) WHERE e.ts < s.started_at",
    )
    return counts


def validate_derived(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The checks of ``validate`` that can fail on tables built by ``sql/derive_raw_tables.sql``; row counts.

    The rest hold by construction there: keys come from GROUP BY, DENSE_RANK or row_number (unique,
    and only a session id can be missing), every reference is to a table grouped from the same rows,
    events start no earlier than their session (its first event), and started_at, ts, total_usd,
    quantity, unit and product prices are never missing (COALESCE). Checked here: rows exist, no
    session id is missing (an empty id column), event types, and the signs of quantities and prices.
    """
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    if counts["sessions"] == 0:
        raise DataContractError("sessions", None, "table has no rows; nothing to analyse")
    _rule(
        con,
        "sessions",
        "session_id",
        "must not be missing",
        "SELECT '(row ' || rn || ')' FROM (SELECT row_number() OVER () rn, session_id FROM sessions) "
        "WHERE session_id IS NULL",
    )
    _event_type_rule(con)
    for table, col, rule in VALUE_RULES:
        _rule(con, table, col, f"must be {rule}", f"SELECT {col} FROM {table} WHERE NOT ({col} {rule})")
    return counts


def validate_folder(folder: Path) -> dict[str, int]:
    """Load and check a folder of raw tables; return row counts."""
    return validate(load_views(folder))


def normalise_folder(folder: Path, out_dir: Path) -> dict[str, int]:
    """Check a folder of raw tables and write them, typed and complete, as Parquet to ``out_dir``.

    Nothing is written unless every check passes; files appear together (staged, then moved).
    """
    con = load_views(folder)
    counts = validate(con)
    write_views(con, out_dir)
    return counts


def write_views(con: duckdb.DuckDBPyConnection, out_dir: Path, stored_in_order: tuple[str, ...] = ()) -> None:
    """Write the five typed views to ``out_dir`` as Parquet in key order, all or nothing.

    Tables named in ``stored_in_order`` are tables already stored in key order: they are written
    in that order (insertion order kept) instead of being sorted again.
    """
    out_dir = Path(out_dir)
    stage = out_dir.parent / f".{out_dir.name}-{uuid.uuid4().hex[:8]}"
    stage.mkdir(parents=True)
    try:
        for table in TABLES:
            order = f" ORDER BY {KEYS[table]}" if table in KEYS and table not in stored_in_order else ""
            target = str(stage / f"{table}.parquet").replace("'", "''")
            keep = "true" if table in stored_in_order else "false"
            con.execute(f"SET preserve_insertion_order = {keep}")
            con.execute(f"COPY (SELECT * FROM {table}{order}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        con.execute("SET preserve_insertion_order = false")
        out_dir.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            (stage / f"{table}.parquet").replace(out_dir / f"{table}.parquet")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
