"""DuckDB sessions and the small SQL-text helpers the contract checks and the importers share.

Usage::

    from helpers.data import duck
    con = duck.connect()                        # UTC, bounded memory, spills to a temp folder
    con.execute(f"SELECT {duck.quote('my col')} FROM {duck.source_sql(path)}")
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import duckdb

from helpers import paths

MEMORY_LIMIT = "3GB"  # per DuckDB connection (it spills beyond): with Python beside it a process stays under 4 GB


def connect(memory_limit: str = MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC with bounded memory (it spills to disk beyond the limit)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{memory_limit}'")
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


def log_source_sql(files: list[Path]) -> str:
    """A table function reading an event log's files: Parquet typed; CSV as text, malformed rows set aside.

    A CSV row with the wrong number of fields (a cut-off last line, a stray delimiter) is not read
    as data: DuckDB skips it and records it in ``reject_errors`` (see ``rejected_rows``). A single
    CSV's dialect is sniffed once and written out; a folder or glob is left to DuckDB's own sniffing.
    """
    listed = "[" + ", ".join(literal(str(f)) for f in files) + "]"
    if files[0].suffix == ".parquet":
        return f"read_parquet({listed}, union_by_name = true)"
    options = "all_varchar = true, header = true, null_padding = false, strict_mode = true, ignore_errors = true"
    if len(files) == 1:
        options = _sniffed(files[0], options) or options
    return f"read_csv({listed}, {options}, store_rejects = true)"


def _sniffed(path: Path, options: str) -> str | None:
    """``options`` with the dialect and columns DuckDB's sniffer finds in ``path`` written out; None if it finds none.

    A read with its dialect written out does not sniff the file again each time a query names it.
    """
    head = f"FROM read_csv({literal(str(path))}, "
    try:
        with duckdb.connect() as con:
            prompt = con.execute(f"SELECT Prompt FROM sniff_csv({literal(str(path))}, {options})").fetchone()[0]
            if not (prompt.startswith(head) and prompt.endswith(");")):
                return None
            # a written-out line end '\r\n' reads no row (DuckDB 2.0); left out, every line end is read
            pinned = re.sub(r"new_line='[^']*', ", "", prompt[len(head) : -2])
            con.execute(f"DESCRIBE SELECT * FROM read_csv({literal(str(path))}, {pinned})")
    except duckdb.Error:  # unreadable or empty: reading it as before says why
        return None
    return pinned


REJECT_WORDS = {
    "malformed": "malformed rows (wrong number of fields)",
    "not_utf8": "rows that are not valid UTF-8 text",
}


def reject_words(code: str) -> str:
    """A reason code of ``rejected_rows`` in words, for messages and pages."""
    if code.startswith("unreadable:"):
        return f"unreadable rows ({code.split(':', 1)[1].replace('_', ' ')})"
    return REJECT_WORDS[code]


def rejected_rows(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, list[str]]]:
    """CSV rows DuckDB skipped so far, by reason code (``malformed``, ``not_utf8``, ``unreadable:<error>``):
    (distinct rows, a few examples 'file line N: text')."""
    try:
        rows = con.execute("""
            SELECT CASE WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS')
                        THEN 'malformed'
                        WHEN error_type = 'INVALID UNICODE' THEN 'not_utf8'
                        ELSE 'unreadable:' || replace(lower(CAST(error_type AS VARCHAR)), ' ', '_') END AS reason,
                   count(DISTINCT (s.file_path, e.line)) AS n,
                   list(DISTINCT parse_filename(s.file_path) || ' line ' || e.line || ': '
                        || left(e.csv_line, 80))[:3] AS shown
            FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id)
            GROUP BY reason ORDER BY reason""").fetchall()
    except duckdb.Error:  # no CSV was read, so there are no reject tables
        return {}
    return {reason: (n, shown) for reason, n, shown in rows}


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
