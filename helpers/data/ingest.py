"""Bring your own data: raw tables, a flat event log with a mapping or preset, or a session table.

Usage::

    from helpers.data.ingest import import_data
    import_data(paths.raw_dir("mine"), event_log="events.csv", preset="rees46")
    import_data(paths.raw_dir("mine"), event_log="events.csv", mapping="mapping.yaml")
    import_data(paths.raw_dir("mine"), session_table="sessions.csv", mapping="sessions.yaml")

A **flat event log** has one row per event (the shape most analytics exports take). A mapping
(YAML) or a preset (``PRESETS`` in ``helpers.presets``) names its columns and which of its
event names mean page_view, add_to_cart, checkout and purchase; any other event name is kept
as 'other' (an interaction, not a funnel step)::

    columns:
      session_id: session        # or a list of columns that together identify a session;
                                 # leave it out to split each user's events by inactivity
      user_id: visitor           # needed when there is no session id
      timestamp: event_time      # text with an offset or 'UTC', text + 'timezone', or epoch numbers
      event_type: event_name
      product_id: item_id        # optional
      price: item_price          # optional, needed for revenue
      quantity: qty              # optional, 1 when absent
      order_id: transaction_id   # optional; else a session's purchase rows at one time form an order
      device: device_category    # optional
      traffic_source: source     # optional
    event_types:
      page_view: [page_view, view_item]
      add_to_cart: [add_to_cart]
      checkout: [begin_checkout]
      purchase: [purchase]
    timezone: Europe/Berlin      # for timestamps without an offset (an IANA name)
    timestamp_unit: ms           # for epoch numbers: s, ms, us or ns (detected when left out)

Rules, applied in this order and counted in ``provenance.json``: exact duplicate rows are
dropped; purchase rows with a negative price or quantity are refunds and are dropped (a zero
price is kept); rows are ordered by time within each session, whatever their order in the
file. Without a session id, a user's events form a new session after ``session_gap_minutes``
of inactivity (30 by default). Sessions start at their first event. Each order becomes one
purchase event; its rows become order items. Products take their median observed price.

A **session table** has one row per session: an event (or page) count, seconds on site, a 0/1
purchase flag and optionally revenue. Its events are laid out evenly over the session, so the
analyses that need real event timing (idle gaps) or products say they are not available.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from helpers.data import contract, duck
from helpers.data.files import write_json
from helpers.data.presets import PRESETS
from helpers.data.schema import FUNNEL_STEPS
from helpers.errors import DataContractError, ParameterError

EVENT_ROLES = (
    "session_id",
    "user_id",
    "timestamp",
    "event_type",
    "product_id",
    "price",
    "quantity",
    "order_id",
    "device",
    "traffic_source",
)
SESSION_ROLES = (
    "session_id",
    "user_id",
    "started_at",
    "events",
    "seconds",
    "purchased",
    "revenue",
    "device",
    "traffic_source",
)
EPOCH_TO_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
TZ_CARRIED = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?|\s*(UTC|GMT))$"
PLAUSIBLE_YEARS = (1990, 2100)


# --------------------------------------------------------------------------------------------
# Mappings
# --------------------------------------------------------------------------------------------


def load_mapping(path: str | Path | None = None, preset: str = "", kind: str = "events") -> dict:
    """Read and check a mapping file, or take a preset; an empty path and preset mean the canonical names."""
    if preset:
        if preset not in PRESETS:
            raise ParameterError(f"parameter 'preset': unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        return {**PRESETS[preset], "name": f"preset '{preset}'", "strict": False}
    roles = EVENT_ROLES if kind == "events" else SESSION_ROLES
    if not path:
        if kind != "events":
            raise ParameterError("a session table needs a mapping (parameter 'mapping')")
        return {
            "columns": {c: c for c in EVENT_ROLES},
            "event_types": {s: [s] for s in FUNNEL_STEPS},
            "name": "the canonical column names",
            "strict": False,
        }
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"parameter 'mapping': file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"mapping {path.name} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ParameterError(f"mapping {path.name} must be a mapping with 'columns' and 'event_types'")
    columns = data.get("columns") or {}
    unknown = sorted(set(columns) - set(roles))
    if unknown:
        raise ParameterError(f"mapping {path.name}: unknown column role '{unknown[0]}'; roles: {', '.join(roles)}")
    need = ("timestamp", "event_type") if kind == "events" else ("events", "seconds", "purchased")
    missing = [c for c in need if c not in columns]
    if kind == "events" and "session_id" not in columns and "user_id" not in columns:
        missing.append("session_id (or user_id, to split sessions by inactivity)")
    if kind == "sessions" and "session_id" not in columns:
        missing.append("session_id")
    if missing:
        raise ParameterError(f"mapping {path.name}: 'columns' must name {', '.join(missing)}")
    types = data.get("event_types") or {s: [s] for s in FUNNEL_STEPS}
    bad = sorted(set(types) - set(FUNNEL_STEPS))
    if bad:
        raise ParameterError(
            f"mapping {path.name}: event_types key '{bad[0]}' must be one of {', '.join(FUNNEL_STEPS)}"
        )
    unit = data.get("timestamp_unit")
    if unit is not None and unit not in EPOCH_TO_MICROS:
        raise ParameterError(
            f"mapping {path.name}: timestamp_unit {unit!r} must be one of {', '.join(EPOCH_TO_MICROS)}"
        )
    return {
        "columns": columns,
        "name": f"mapping {path.name}",
        "strict": True,
        "timezone": data.get("timezone"),
        "timestamp_unit": unit,
        "event_types": {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in types.items()},
    }


def _names(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _open_source(con, path: Path, table: str) -> list[str]:
    """A view ``src`` over a CSV or Parquet file; its column names."""
    if path.suffix not in (".parquet", ".csv", ".gz"):
        raise ParameterError(f"{table} {path.name} must be a .csv or .parquet file")
    try:
        con.execute(f"CREATE OR REPLACE VIEW src AS SELECT * FROM {duck.source_sql(path)}")
        return [r[0] for r in con.execute("DESCRIBE src").fetchall()]
    except Exception as exc:  # duckdb raises several types for unreadable files
        raise DataContractError(table, None, duck.read_problem(exc, path)) from None


def _resolve_columns(mapping: dict, found: list[str], table: str) -> dict[str, list[str]]:
    """Role -> source columns; a mapped column that is missing is an error (a preset drops optional ones)."""
    resolved = {}
    for role, value in mapping["columns"].items():
        names = _names(value)
        absent = [n for n in names if n not in found]
        if not absent:
            resolved[role] = names
        elif mapping["strict"] or role in ("timestamp", "event_type", "events", "seconds", "purchased"):
            close = difflib.get_close_matches(absent[0], found, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise DataContractError(
                table,
                absent[0],
                f"column mapped to '{role}' ({mapping['name']}) is missing; columns found: {', '.join(found)}{hint}",
            )
    if "session_id" not in resolved and "user_id" not in resolved:
        raise DataContractError(
            table,
            None,
            f"{mapping['name']}: neither a session id nor a user id column is in the "
            f"file (columns found: {', '.join(found)})",
        )
    return resolved


def _check_event_names(con, mapping: dict, table: str, column: str) -> dict[str, int]:
    """Every mapped event name must occur (user mappings); purchases must occur (always). Returns counts by name."""
    counts = dict(
        con.execute("SELECT CAST(event_type AS VARCHAR), count(*) FROM mapped GROUP BY 1 ORDER BY 2 DESC").fetchall()
    )
    found = ", ".join(f"{k} ({v:,})" for k, v in list(counts.items())[:12])
    for step, names in mapping["event_types"].items():
        for name in names:
            if name in counts or not mapping["strict"]:
                continue
            close = difflib.get_close_matches(name, [str(k) for k in counts], n=1)
            hint = f"; closest: '{close[0]}'" if close else ""
            raise DataContractError(
                table,
                column,
                f"event name '{name}' mapped to {step} ({mapping['name']}) matches no row; values found: {found}{hint}",
            )
    if not any(counts.get(name) for name in mapping["event_types"].get("purchase", [])):
        raise DataContractError(
            table,
            column,
            f"no purchase events: none of "
            f"{mapping['event_types'].get('purchase', [])} occurs ({mapping['name']}); "
            f"values found: {found}",
        )
    return counts


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------


def _check_zone(con, zone: str) -> None:
    try:
        con.execute(f"SELECT timezone({duck.literal(zone)}, TIMESTAMP '2020-01-01')").fetchone()
    except Exception:
        raise ParameterError(
            f"time zone {zone!r} is unknown: use an IANA name such as UTC, Europe/Berlin or America/New_York"
        ) from None


def timestamp_expr(con, src: str, col: str, mapping: dict, table: str) -> tuple[str, str]:
    """SQL turning ``col`` of ``src`` into a UTC TIMESTAMP, and a sentence saying how its zone was known."""
    ref = duck.quote(col)
    kind = dict((r[0], r[1]) for r in con.execute(f"DESCRIBE {src}").fetchall())[col].upper()
    zone, unit = mapping.get("timezone"), mapping.get("timestamp_unit")
    if zone:
        _check_zone(con, zone)
    numeric = kind in ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "UBIGINT", "FLOAT") or (
        kind == "VARCHAR"
        and con.execute(
            f"SELECT bool_and(regexp_matches(trim({ref}), '^[0-9]+(\\.[0-9]+)?$')) FROM {src} WHERE {ref} IS NOT NULL"
        ).fetchone()[0]
    )
    if numeric:
        value = f"TRY_CAST(trim(CAST({ref} AS VARCHAR)) AS DOUBLE)"
        if not unit:
            median = con.execute(f"SELECT median({value}) FROM {src}").fetchone()[0] or 0
            unit = next(
                (u for u, floor in (("ns", 1e17), ("us", 1e14), ("ms", 1e11), ("s", 1e8)) if median >= floor), None
            )
            if unit is None:
                raise DataContractError(
                    table,
                    col,
                    "numbers too small to be epoch seconds; declare timestamp_unit or give dates as text",
                    [median],
                )
        expr = f"make_timestamp(CAST({value} * {EPOCH_TO_MICROS[unit]} AS BIGINT))"
        lo, hi = con.execute(f"SELECT min(year({expr})), max(year({expr})) FROM {src}").fetchone()
        if lo is None or lo < PLAUSIBLE_YEARS[0] or hi > PLAUSIBLE_YEARS[1]:
            example = con.execute(f"SELECT {ref}, {expr} FROM {src} LIMIT 1").fetchone()
            raise DataContractError(
                table,
                col,
                f"read as epoch {unit}, the times fall in the years {lo}-{hi}, outside "
                f"{PLAUSIBLE_YEARS[0]}-{PLAUSIBLE_YEARS[1]}: is timestamp_unit right?",
                [f"{example[0]} -> {example[1]}"],
            )
        return expr, f"epoch {unit} (UTC)"
    if "TIME ZONE" in kind:
        return f"CAST({ref} AS TIMESTAMP)", "carried by the timestamps"
    text = f"trim(CAST({ref} AS VARCHAR))"
    n_tz, n_all = con.execute(
        f"SELECT count(*) FILTER (WHERE regexp_matches({text}, '{TZ_CARRIED}')), count({ref}) FROM {src}"
    ).fetchone()
    if 0 < n_tz < n_all:
        bad = duck.examples(con, f"SELECT {ref} FROM {src} WHERE NOT regexp_matches({text}, '{TZ_CARRIED}')")
        raise DataContractError(
            table, col, "time zones are mixed: some values carry an offset or 'UTC', others none", bad
        )
    if n_tz:
        return f"CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP)", "carried by the timestamps"
    if not zone:
        example = duck.examples(con, f"SELECT {ref} FROM {src} WHERE {ref} IS NOT NULL", 1)
        raise DataContractError(
            table,
            col,
            "timestamps carry no time zone; declare one in the mapping, e.g. "
            "'timezone: UTC' or 'timezone: Europe/Berlin'",
            example,
        )
    return (
        f"CAST(timezone({duck.literal(zone)}, TRY_CAST({text} AS TIMESTAMP)) AS TIMESTAMP)",
        f"{zone} (declared in the mapping)",
    )


# --------------------------------------------------------------------------------------------
# Event logs
# --------------------------------------------------------------------------------------------


def _id_expr(con, col: str, table: str = "mapped") -> str:
    """An integer id from ``col``: the value itself when every value is an integer, else a rank."""
    non_int = con.execute(
        f"SELECT count(*) FROM {table} WHERE {col} IS NOT NULL "
        f"AND TRY_CAST(trim(CAST({col} AS VARCHAR)) AS BIGINT) IS NULL"
    ).fetchone()[0]
    if non_int == 0:
        return f"TRY_CAST(trim(CAST({col} AS VARCHAR)) AS BIGINT)"
    return f"DENSE_RANK() OVER (ORDER BY CAST({col} AS VARCHAR))"


def _role(cols: dict[str, list[str]], role: str) -> str:
    names = cols[role]
    if len(names) == 1:
        return duck.quote(names[0])
    return "concat_ws('|', " + ", ".join(f"CAST({duck.quote(n)} AS VARCHAR)" for n in names) + ")"


def import_event_log(
    log_path: str | Path, mapping: dict, out_dir: Path, session_gap_minutes: float = 30
) -> dict[str, int]:
    """Derive the five raw tables from a flat event log, check them and write them to ``out_dir``.

    Writes ``provenance.json`` beside the tables: what was read, dropped and why, and how.
    """
    log_path = Path(log_path)
    table = f"event_log {log_path.name}"
    con = duck.connect()
    found = _open_source(con, log_path, table)
    cols = _resolve_columns(mapping, found, table)
    ts_expr, zone = timestamp_expr(con, "src", cols["timestamp"][0], mapping, table)
    rows_read = con.execute("SELECT count(*) FROM src").fetchone()[0]
    out_of_order = _out_of_order_rows(con, ts_expr, _role(cols, "session_id") if "session_id" in cols else None)
    roles = ", ".join(f"{_role(cols, r)} AS {r}" for r in cols if r != "timestamp")
    con.execute(f"CREATE TABLE mapped AS SELECT DISTINCT {ts_expr} AS ts, {roles} FROM src")
    duplicates = rows_read - con.execute("SELECT count(*) FROM mapped").fetchone()[0]
    names = _check_event_names(con, mapping, table, cols["event_type"][0])
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
    sid = _id_expr(con, "session_key", "keyed")
    pid = _id_expr(con, "product_id", "keyed") if "product_id" in cols else "CAST(NULL AS BIGINT)"
    uid = _id_expr(con, "user_id", "keyed") if "user_id" in cols else "NULL"
    order_src = "CAST(order_id AS VARCHAR)" if "order_id" in cols else "NULL"
    con.execute(f"""
        CREATE TABLE log AS
        SELECT {sid} AS session_id, ts, step AS event_type, {pid} AS product_id, price_v AS price, qty_v AS quantity,
               {uid} AS user_id,
               {"CAST(device AS VARCHAR)" if "device" in cols else "'unknown'"} AS device,
               {"CAST(traffic_source AS VARCHAR)" if "traffic_source" in cols else "'unknown'"} AS traffic_source,
               {order_src} AS order_src
        FROM keyed""")
    _derive_tables(con, "order_src" if "order_id" in cols else "CAST(ts AS VARCHAR)")
    counts = contract.validate(con)
    provenance = _provenance(
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


def _out_of_order_rows(con, ts_expr: str, session: str | None) -> int | None:
    """Rows stamped earlier than the row before them in the file, within one session (clock skew or export order)."""
    if session is None:
        return None
    con.execute("SET preserve_insertion_order = true")  # file order, for this count only
    try:
        return con.execute(f"""SELECT count(*) FROM (SELECT {ts_expr} AS ts, lag({ts_expr}) OVER (PARTITION BY {session}
                               ORDER BY rn) AS before FROM (SELECT *, row_number() OVER () AS rn FROM src))
                               WHERE ts < before""").fetchone()[0]
    finally:
        con.execute("SET preserve_insertion_order = false")


def _derive_tables(con, order_key: str) -> None:
    """sessions, orders, order_items, products and events from the cleaned ``log`` table."""
    con.execute(f"""
        CREATE TABLE sessions AS
        SELECT session_id, COALESCE(min(user_id), session_id) AS user_id, min(ts) AS started_at,
               COALESCE(min(device), 'unknown') AS device, COALESCE(min(traffic_source), 'unknown') AS traffic_source
        FROM log GROUP BY session_id;
        CREATE TABLE buys AS
        SELECT *, DENSE_RANK() OVER (ORDER BY session_id, {order_key}) AS order_id
        FROM log WHERE event_type = 'purchase';
        CREATE TABLE orders AS
        SELECT order_id, min(session_id) AS session_id, min(ts) AS ordered_at,
               round(sum(COALESCE(price, 0) * quantity), 2) AS total_usd
        FROM buys GROUP BY order_id;
        CREATE TABLE order_items AS
        SELECT order_id, product_id, quantity, COALESCE(price, 0) AS unit_price_usd
        FROM buys WHERE product_id IS NOT NULL;
        CREATE TABLE products AS
        SELECT product_id, 'unknown' AS category, COALESCE(median(price), 0) AS price_usd,
               CAST(NULL AS DOUBLE) AS cost_usd
        FROM log WHERE product_id IS NOT NULL GROUP BY product_id;
        CREATE TABLE events AS
        SELECT row_number() OVER (ORDER BY session_id, ts, event_type) AS event_id,
               session_id, ts, event_type, product_id
        FROM (SELECT session_id, ts, event_type, product_id FROM log WHERE event_type <> 'purchase'
              UNION ALL
              SELECT session_id, ordered_at, 'purchase', NULL FROM orders);
    """)


def _provenance(con, record: dict) -> dict:
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


# --------------------------------------------------------------------------------------------
# Session tables
# --------------------------------------------------------------------------------------------


def import_session_table(path: str | Path, mapping: dict, out_dir: Path) -> dict[str, int]:
    """Raw tables from one row per session: events laid out evenly over the session's seconds."""
    path = Path(path)
    table = f"session_table {path.name}"
    con = duck.connect()
    found = _open_source(con, path, table)
    cols = _resolve_columns(mapping, found, table)
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
        ref = _role(cols, role)
        num[role] = f"TRY_CAST(trim(CAST({ref} AS VARCHAR)) AS DOUBLE)"
        rule = {"events": ">= 0", "seconds": ">= 0", "purchased": "IN (0, 1)", "revenue": ">= 0"}[role]
        bad = duck.examples(con, f"SELECT {ref} FROM src WHERE {num[role]} IS NULL OR NOT ({num[role]} {rule})")
        if bad:
            raise DataContractError(table, cols[role][0], f"column mapped to '{role}' must be a number {rule}", bad)
    device = f"CAST({_role(cols, 'device')} AS VARCHAR)" if "device" in cols else "'unknown'"
    source = f"CAST({_role(cols, 'traffic_source')} AS VARCHAR)" if "traffic_source" in cols else "'unknown'"
    con.execute(f"""CREATE TABLE st AS SELECT {_role(cols, "session_id")} AS session_key, {start} AS started_at,
        CAST({num["events"]} AS BIGINT) AS n, {num["seconds"]} AS seconds, CAST({num["purchased"]} AS INTEGER) AS buy,
        {num.get("revenue", "0.0")} AS revenue,
        {device} AS device, {source} AS traffic_source
        FROM src""")
    sid = _id_expr(con, "session_key", "st")
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
    provenance = _provenance(
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


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def import_data(
    raw_out: Path,
    data_dir: str = "",
    event_log: str = "",
    mapping: str = "",
    preset: str = "",
    session_table: str = "",
    session_gap_minutes: float = 30,
) -> dict[str, int]:
    """Import a user's data into ``raw_out``: a folder of raw tables, a flat event log or a session table."""
    given = [
        name for name, v in (("data_dir", data_dir), ("event_log", event_log), ("session_table", session_table)) if v
    ]
    if len(given) > 1:
        raise ParameterError(
            f"give only one of the parameters data_dir, event_log, session_table (got {', '.join(given)})"
        )
    if data_dir:
        counts = contract.normalise_folder(Path(data_dir).expanduser(), raw_out)
        con = contract.load_views(Path(raw_out))
        write_json(
            _provenance(
                con,
                {
                    "kind": "raw tables",
                    "file": str(data_dir),
                    "mapping": "none (raw tables)",
                    "rows_read": counts["events"],
                    "rows_dropped": {},
                    "timezone": "as in the tables",
                    "sessions_from": "the sessions table",
                    "has_prices": True,
                    "has_products": True,
                },
            ),
            Path(raw_out) / "provenance.json",
        )
        return counts
    if session_table:
        return import_session_table(
            Path(session_table).expanduser(), load_mapping(mapping, preset, "sessions"), raw_out
        )
    return import_event_log(Path(event_log).expanduser(), load_mapping(mapping, preset), raw_out, session_gap_minutes)


def preflight(values: dict) -> None:
    """Import the user's data into a throw-away folder: a data or mapping error stops the run before any notebook."""
    import shutil
    import tempfile

    if not (values.get("data_dir") or values.get("event_log") or values.get("session_table")):
        if values.get("mapping") or values.get("preset"):
            raise ParameterError("a mapping or preset needs an event_log or session_table to apply to")
        return
    folder = Path(tempfile.mkdtemp(prefix="clickstream-preflight-"))
    try:
        import_data(
            folder / "raw",
            **{
                k: values[k]
                for k in ("data_dir", "event_log", "mapping", "preset", "session_table", "session_gap_minutes")
                if k in values
            },
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
