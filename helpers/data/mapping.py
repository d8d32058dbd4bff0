"""Mappings: which column of a store's export plays which role, and which event names are funnel steps.

Usage::

    from helpers.data.mapping import load_mapping
    mapping = load_mapping("mapping.yaml")           # or load_mapping(preset="rees46")

The mapping format is documented in ``helpers.data.ingest``; every check raises an error that
names the file, the column, the rule and the values found.
"""

from __future__ import annotations

import difflib
import gzip
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
    "variant",
    "exposed_at",
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
    "variant",
    "exposed_at",
)
EXPERIMENT_ROLES = ("variant", "exposed_at")  # a run whose data carry a variant is an experiment run
MAX_VARIANTS = 2  # a read-out compares one control with one treatment


OPTION_KEYS = ("timezone", "timestamp_unit", "decimal")  # a mapping's settings beside 'columns' and 'event_types'


def load_mapping(path: str | Path | None = None, preset: str = "", kind: str = "events") -> dict:
    """Read and check a mapping file, or take a preset; an empty path and preset mean the canonical names.

    With both, the file adjusts the preset: it may hold only settings, e.g. ``decimal: ","`` for
    prices written with a decimal comma, or ``timezone:``.
    """
    if preset:
        if preset not in PRESETS:
            raise ParameterError(f"parameter 'preset': unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        base = {**PRESETS[preset], "name": f"preset '{preset}'", "code": f"preset:{preset}", "strict": False}
        if not path:
            return base
        extra = _read_mapping_file(Path(path), kind, need_columns=False)
        merged = {**base, **{k: v for k, v in extra.items() if v is not None and k not in ("name", "code", "strict")}}
        code = f"preset:{preset}+{extra['code']}"
        return {**merged, "name": f"preset '{preset}' with {extra['name']}", "code": code, "strict": False}
    if not path:
        if kind != "events":
            raise ParameterError("a session table needs a mapping (parameter 'mapping')")
        return {
            "columns": {c: c for c in EVENT_ROLES},
            "event_types": {s: [s] for s in FUNNEL_STEPS},
            "name": "the canonical column names",
            "code": "canonical",
            "strict": False,
        }
    return _read_mapping_file(Path(path), kind)


def _read_mapping_file(path: Path, kind: str, need_columns: bool = True) -> dict:
    """A mapping file, checked: known roles, the required ones, funnel steps, the timestamp unit, the decimal mark."""
    roles = EVENT_ROLES if kind == "events" else SESSION_ROLES
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
    if missing and need_columns:
        raise ParameterError(f"mapping {path.name}: 'columns' must name {', '.join(missing)}")
    types = data.get("event_types") or ({s: [s] for s in FUNNEL_STEPS} if need_columns else {})
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
    decimal = data.get("decimal")
    if decimal is not None and str(decimal) not in (".", ","):
        raise ParameterError(f"mapping {path.name}: decimal {decimal!r} must be '.' or ','")
    mapping = {
        "name": f"mapping {path.name}",
        "code": f"file:{path.name}",  # the provenance's code for the mapping (its name is for messages)
        "strict": True,
        "timezone": data.get("timezone"),
        "timestamp_unit": unit,
        "decimal": None if decimal is None else str(decimal),
    }
    if columns or need_columns:
        mapping["columns"] = columns
    if types:
        mapping["event_types"] = {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in types.items()}
    return mapping


def as_list(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


SUFFIXES = (".csv", ".csv.gz", ".parquet")
GLOB_CHARS = "*?["


def _suffix(path: Path) -> str:
    return ".csv.gz" if path.name.endswith(".csv.gz") else path.suffix


def input_files(path: Path, table: str) -> list[Path]:
    """The files of an input: one file, every file of a folder, or a glob (``events-2019-*.csv.gz``)."""
    text = str(path)
    if any(ch in text for ch in GLOB_CHARS):
        files = sorted(p for p in Path(text).parent.glob(Path(text).name) if p.is_file())
        where = f"the pattern {path.name}"
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        where = f"the folder {path.name}"
    elif not path.exists():
        raise DataContractError(table, None, f"file {path} does not exist")
    else:
        files, where = [path], path.name
    if not files:
        raise DataContractError(table, None, f"{where} matches no file")
    odd = [p.name for p in files if _suffix(p) not in SUFFIXES]
    if odd:
        raise DataContractError(table, None, f"{where}: each file must be .csv, .csv.gz or .parquet", odd)
    kinds = {_suffix(p) == ".parquet" for p in files}
    if len(kinds) > 1:
        raise DataContractError(table, None, f"{where} mixes Parquet and CSV files; keep one format", files[:2])
    for p in files:
        if _is_empty(p):
            raise DataContractError(table, None, f"file {p.name} is empty: no header and no rows")
    return files


def _is_empty(path: Path) -> bool:
    """True for a file with nothing in it (a byte-order mark and blank lines count as nothing)."""
    if path.stat().st_size == 0:
        return True
    if _suffix(path) == ".parquet":
        return False
    opener = gzip.open if _suffix(path) == ".csv.gz" else open
    try:
        with opener(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False  # not gzip after all: DuckDB's reader names the problem
    return not head.replace(b"\xef\xbb\xbf", b"").strip()


def open_source(con, path: Path, table: str, event_log: bool = False) -> list[str]:
    """A view ``src`` over a file, a folder or a glob of CSV or Parquet files; its column names.

    For an event log, CSV rows with the wrong number of fields are set aside and counted
    (``duck.rejected_rows``) instead of being read as data.
    """
    files = input_files(Path(path), table)
    if not event_log and len(files) > 1:
        raise DataContractError(table, None, "give one file, not a folder or pattern")
    source = duck.log_source_sql(files) if event_log else duck.source_sql(files[0])
    try:
        con.execute(f"CREATE OR REPLACE VIEW src AS SELECT * FROM {source}")
        return [r[0] for r in con.execute("DESCRIBE src").fetchall()]
    except Exception as exc:  # duckdb raises several types for unreadable files
        raise DataContractError(table, None, duck.read_problem(exc, files[0])) from None


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


def check_event_names(counts: dict[str, int], mapping: dict, table: str, column: str) -> dict[str, int]:
    """Every mapped event name must occur (user mappings); purchases must occur (always). Returns ``counts``.

    ``counts`` holds the rows of each event name, most frequent first.
    """
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


def check_variants(con, source: str, user: str, table: str, column: str) -> dict[str, int]:
    """The experiment's arms in ``source`` (columns ``variant`` and ``user``): at most two, each user in one.

    Returns users per variant. A third variant or a user seen in two variants is a mistake in the
    export or the mapping (an A/A/B test, a user re-bucketed): the error names the file's column,
    the rule and the values found.
    """
    rows = con.execute(
        f"SELECT variant, count(DISTINCT {user}) FROM {source} WHERE variant IS NOT NULL "
        "GROUP BY variant ORDER BY 2 DESC"
    ).fetchall()
    counts = {str(v): int(n) for v, n in rows}
    if len(counts) > MAX_VARIANTS:
        raise DataContractError(
            table,
            column,
            f"column mapped to 'variant' must hold at most {MAX_VARIANTS} variants (a control and one treatment); "
            f"found {len(counts)}",
            [f"{v} ({n:,} users)" for v, n in counts.items()],
        )
    both = con.execute(
        f"SELECT {user}, string_agg(DISTINCT variant, ' and ' ORDER BY variant), count(*) OVER () FROM {source} "
        f"WHERE variant IS NOT NULL GROUP BY {user} HAVING count(DISTINCT variant) > 1 ORDER BY {user} LIMIT 5"
    ).fetchall()
    if both:
        raise DataContractError(
            table,
            column,
            f"each user must stay in one variant; {both[0][2]:,} users appear in two",
            [f"user {u}: {v}" for u, v, _ in both],
        )
    return counts
