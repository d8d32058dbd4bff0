"""DuckDB sessions and the small SQL-text helpers the contract checks and the importers share.

Usage::

    from helpers.data import duck
    con = duck.connect()                        # UTC, bounded memory, spills to a temp folder
    con.execute(f"SELECT {duck.quote('my col')} FROM {duck.source_sql(path)}")
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from helpers import paths

MEMORY_LIMIT = "4GB"  # per DuckDB connection; the gold build also works in bounded passes


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC with bounded memory (it spills to disk beyond the limit)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")  # outputs that need an order say ORDER BY
    spill = Path(tempfile.gettempdir()) / "clickstream-duckdb"  # never the working directory
    spill.mkdir(exist_ok=True)
    con.execute(f"SET temp_directory = '{spill}'")
    return con


def quote(name: str) -> str:
    """A column or table name as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A value as a SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def source_sql(path: Path) -> str:
    """A table function reading ``path`` (Parquet typed; CSV as text, to be typed by the caller)."""
    quoted = str(path).replace("'", "''")
    if path.suffix == ".parquet":
        return f"read_parquet('{quoted}')"
    return f"read_csv('{quoted}', all_varchar = true, header = true, null_padding = true)"


def examples(con: duckdb.DuckDBPyConnection, sql: str, limit: int = 5) -> list:
    """Up to ``limit`` rows of ``sql`` (single values when it selects one column): offending values to show."""
    return [r[0] if len(r) == 1 else r for r in con.execute(f"{sql} LIMIT {limit}").fetchall()]


def read_problem(exc: Exception, path: Path) -> str:
    """A one-line reason a file cannot be read, from DuckDB's error."""
    text = str(exc)
    if "unicode" in text.lower() or "utf-8" in text.lower() or "encoding" in text.lower():
        return f"file {path.name} is not valid UTF-8 text; re-save it as UTF-8"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"file {path.name} cannot be read ({first[:160]})"


def sql_file(name: str, **values: str) -> str:
    """The SQL text of ``helpers/data/sql/<name>``, with ``{placeholders}`` filled from ``values``."""
    text = (paths.SQL_DIR / name).read_text(encoding="utf-8")
    return text.format(**values) if values else text
