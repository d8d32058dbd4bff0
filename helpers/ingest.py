"""Bring your own data: a folder of raw tables, or a flat event log with a column mapping.

Usage::

    from helpers.ingest import import_event_log, load_mapping
    import_event_log("events.csv", load_mapping("mapping.yaml"), paths.raw_dir("mine"))

A flat event log has one row per event (the shape most analytics exports take). The mapping
names its columns and which of its event names mean page_view, add_to_cart, checkout and
purchase; any other event name is kept as 'other' (it counts as an interaction, not a funnel
step). Example mapping (``docs`` in the README)::

    columns:
      session_id: session        # required
      timestamp: event_time      # required
      event_type: event_name     # required
      product_id: item_id        # optional
      price: item_price          # optional, needed for revenue
      quantity: qty              # optional, 1 when absent
      order_id: transaction_id   # optional; else a session's purchase rows at one time form an order
      user_id: visitor           # optional
      device: device_category    # optional
      traffic_source: source     # optional
    event_types:
      page_view: [page_view, view_item]
      add_to_cart: [add_to_cart]
      checkout: [begin_checkout]
      purchase: [purchase]

Sessions start at their first event. Each order becomes one purchase event; its rows become
order items. Products take their median observed price; category and cost are unknown.
Identifiers that are not integers are numbered (dense rank) in order of their text.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import contract
from .errors import DataContractError, ParameterError

REQUIRED = ("session_id", "timestamp", "event_type")
OPTIONAL = ("product_id", "price", "quantity", "order_id", "user_id", "device", "traffic_source")
STEPS = ("page_view", "add_to_cart", "checkout", "purchase")


def load_mapping(path: str | Path | None) -> dict:
    """Read and check a mapping file; an empty path means the canonical names."""
    if not path:
        return {"columns": {c: c for c in REQUIRED + OPTIONAL}, "event_types": {s: [s] for s in STEPS}}
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
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ParameterError(f"mapping {path.name}: 'columns' must name {', '.join(missing)}")
    unknown = sorted(set(columns) - set(REQUIRED + OPTIONAL))
    if unknown:
        raise ParameterError(f"mapping {path.name}: unknown column role '{unknown[0]}'; roles: {', '.join(REQUIRED + OPTIONAL)}")
    types = data.get("event_types") or {s: [s] for s in STEPS}
    bad = sorted(set(types) - set(STEPS))
    if bad:
        raise ParameterError(f"mapping {path.name}: event_types key '{bad[0]}' must be one of {', '.join(STEPS)}")
    return {"columns": columns, "event_types": {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in types.items()}}


def _id_expr(con, col: str) -> str:
    """An integer id from ``col``: the value itself when every value is an integer, else a rank."""
    non_int = con.execute(
        f"SELECT count(*) FROM log_src WHERE {col} IS NOT NULL AND TRY_CAST(trim(CAST({col} AS VARCHAR)) AS BIGINT) IS NULL"
    ).fetchone()[0]
    if non_int == 0:
        return f"TRY_CAST(trim(CAST({col} AS VARCHAR)) AS BIGINT)"
    return f"DENSE_RANK() OVER (ORDER BY CAST({col} AS VARCHAR))"


def import_event_log(log_path: str | Path, mapping: dict, out_dir: Path) -> dict[str, int]:
    """Derive the five raw tables from a flat event log, check them and write them to ``out_dir``."""
    log_path = Path(log_path)
    con = contract.connect()
    src = contract._source_sql(log_path) if log_path.suffix in (".parquet", ".csv", ".gz") else None
    if src is None:
        raise ParameterError(f"parameter 'event_log': {log_path.name} must be a .csv or .parquet file")
    try:
        con.execute(f"CREATE VIEW log_raw AS SELECT * FROM {src}")
        found = [r[0] for r in con.execute("DESCRIBE log_raw").fetchall()]
    except Exception as exc:  # duckdb raises several types for unreadable files
        raise DataContractError("event_log", None, contract._read_problem(exc, log_path)) from None
    cols = mapping["columns"]
    for role, name in cols.items():
        if name not in found:
            raise DataContractError("event_log", name, f"column mapped to '{role}' is missing (columns found: {', '.join(found)})")
    roles = ", ".join(f"{contract._q(cols[r])} AS {r}" for r in cols)
    con.execute(f"CREATE VIEW log_src AS SELECT {roles} FROM log_raw")
    ts_types = dict(con.execute("DESCRIBE log_src").fetchall()[i][:2] for i in range(len(cols)))
    ts_expr = contract._typed_column(con, "event_log", "log_src", "timestamp", "TIMESTAMP", ts_types)
    case = " ".join(f"WHEN CAST(event_type AS VARCHAR) IN ({', '.join(contract._lit(v) for v in vals)}) THEN {contract._lit(step)}"
                    for step, vals in mapping["event_types"].items())
    sid = _id_expr(con, "session_id")
    pid = _id_expr(con, "product_id") if "product_id" in cols else "CAST(NULL AS BIGINT)"
    uid = _id_expr(con, "user_id") if "user_id" in cols else None
    price = "TRY_CAST(price AS DOUBLE)" if "price" in cols else "CAST(NULL AS DOUBLE)"
    qty = "COALESCE(TRY_CAST(quantity AS BIGINT), 1)" if "quantity" in cols else "1"
    order_key = "CAST(order_id AS VARCHAR)" if "order_id" in cols else "CAST(ts AS VARCHAR)"
    con.execute(f"""
        CREATE TABLE log AS
        SELECT {sid} AS session_id, {ts_expr} AS ts,
               CASE {case} ELSE 'other' END AS event_type,
               {pid} AS product_id, {price} AS price, {qty} AS quantity,
               {uid if uid else 'NULL'} AS user_id,
               {'CAST(device AS VARCHAR)' if 'device' in cols else "'unknown'"} AS device,
               {'CAST(traffic_source AS VARCHAR)' if 'traffic_source' in cols else "'unknown'"} AS traffic_source,
               {('CAST(order_id AS VARCHAR)' if 'order_id' in cols else 'NULL')} AS order_src
        FROM log_src""")
    bad = contract._examples(con, "SELECT '(row with session ' || session_id || ')' FROM log WHERE ts IS NULL")
    if bad:
        raise DataContractError("event_log", cols["timestamp"], "must not be missing (null or empty)", bad)
    con.execute(f"""
        CREATE TABLE sessions AS
        SELECT session_id, COALESCE(min(user_id), session_id) AS user_id, min(ts) AS started_at,
               COALESCE(min(device), 'unknown') AS device, COALESCE(min(traffic_source), 'unknown') AS traffic_source
        FROM log GROUP BY session_id;
        CREATE TABLE buys AS
        SELECT *, DENSE_RANK() OVER (ORDER BY session_id, {order_key.replace('order_id', 'order_src')}) AS order_id
        FROM log WHERE event_type = 'purchase';
        CREATE TABLE orders AS
        SELECT order_id, min(session_id) AS session_id, min(ts) AS ordered_at,
               round(sum(COALESCE(price, 0) * quantity), 2) AS total_usd
        FROM buys GROUP BY order_id;
        CREATE TABLE order_items AS
        SELECT order_id, product_id, quantity, price AS unit_price_usd FROM buys WHERE product_id IS NOT NULL;
        CREATE TABLE products AS
        SELECT product_id, 'unknown' AS category, median(price) AS price_usd, CAST(NULL AS DOUBLE) AS cost_usd
        FROM log WHERE product_id IS NOT NULL GROUP BY product_id;
        CREATE TABLE events AS
        SELECT row_number() OVER (ORDER BY session_id, ts, event_type) AS event_id, session_id, ts, event_type, product_id
        FROM (SELECT session_id, ts, event_type, product_id FROM log WHERE event_type <> 'purchase'
              UNION ALL
              SELECT session_id, ordered_at, 'purchase', NULL FROM orders);
    """)
    counts = contract.validate(con)
    contract.write_views(con, out_dir)
    return counts


def import_data(raw_out: Path, data_dir: str = "", event_log: str = "", mapping: str = "") -> dict[str, int]:
    """Import a user's data into ``raw_out``: a folder of raw tables or a flat event log."""
    if data_dir and event_log:
        raise ParameterError("give either parameter 'data_dir' or 'event_log', not both")
    if data_dir:
        return contract.normalise_folder(Path(data_dir).expanduser(), raw_out)
    return import_event_log(Path(event_log).expanduser(), load_mapping(mapping), raw_out)
