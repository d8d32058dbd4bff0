"""Mappings: which column of a store's export plays which role, and which event names are funnel steps.

Usage::

    from helpers.data.mapping import load_mapping
    mapping = load_mapping("mapping.yaml")           # or load_mapping(preset="rees46")

The mapping format is documented in ``helpers.data.ingest``; every check raises an error that
names the file, the column, the rule and the values found.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from helpers.data import duck
from helpers.data.files import read_yaml_mapping
from helpers.data.presets import PRESETS
from helpers.data.schema import FUNNEL_STEPS
from helpers.data.timestamps import EPOCH_TO_MICROS
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
    data = read_yaml_mapping(path, f"mapping {path.name}", "a mapping with 'columns' and 'event_types'")
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


def as_list(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def open_source(con, path: Path, table: str) -> list[str]:
    """A view ``src`` over a CSV or Parquet file; its column names."""
    if path.suffix not in (".parquet", ".csv", ".gz"):
        raise ParameterError(f"{table} {path.name} must be a .csv or .parquet file")
    try:
        con.execute(f"CREATE OR REPLACE VIEW src AS SELECT * FROM {duck.source_sql(path)}")
        return [r[0] for r in con.execute("DESCRIBE src").fetchall()]
    except Exception as exc:  # duckdb raises several types for unreadable files
        raise DataContractError(table, None, duck.read_problem(exc, path)) from None


def resolve_columns(mapping: dict, found: list[str], table: str) -> dict[str, list[str]]:
    """Role -> source columns; a mapped column that is missing is an error (a preset drops optional ones)."""
    resolved = {}
    for role, value in mapping["columns"].items():
        names = as_list(value)
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


def check_event_names(con, mapping: dict, table: str, column: str) -> dict[str, int]:
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


def column_expr(cols: dict[str, list[str]], role: str) -> str:
    names = cols[role]
    if len(names) == 1:
        return duck.quote(names[0])
    return "concat_ws('|', " + ", ".join(f"CAST({duck.quote(n)} AS VARCHAR)" for n in names) + ")"
