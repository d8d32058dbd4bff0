"""Timestamps of an export: zones carried or stated, epoch units, plausible years, rows out of order.

Usage::

    from helpers.data.timestamps import timestamp_expr
    sql, zone = timestamp_expr(con, "src", "event_time", mapping, "event_log events.csv")
"""

from __future__ import annotations

from helpers.data import duck
from helpers.errors import DataContractError, ParameterError

EPOCH_TO_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}


TZ_CARRIED = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?|\s*(UTC|GMT))$"


PLAUSIBLE_YEARS = (1990, 2100)


def check_zone(con, zone: str) -> None:
    try:
        con.execute(f"SELECT timezone({duck.literal(zone)}, TIMESTAMP '2020-01-01')").fetchone()
    except Exception:
        raise ParameterError(
            f"time zone {zone!r} is unknown: use an IANA name such as UTC, Europe/Berlin or America/New_York"
        ) from None


SAMPLE_ROWS = 50_000  # the first rows of a file decide a timestamp's kind, epoch unit and zone


def timestamp_expr(con, src: str, col: str, mapping: dict, table: str) -> tuple[str, str]:
    """SQL turning ``col`` of ``src`` into a UTC TIMESTAMP, and a code saying how its zone was known."""
    expr, zone, mismatch = timestamp_plan(con, src, col, mapping, table)
    if mismatch:
        check_zones_agree(con, src, col, mismatch, table)
    return expr, zone


def timestamp_plan(con, src: str, col: str, mapping: dict, table: str) -> tuple[str, str, str | None]:
    """How to read ``col``, decided on the first ``SAMPLE_ROWS`` rows (read from disk only that far).

    Returns the SQL of the UTC timestamp, a code saying how its zone was known (``timestamps``: the
    values carry it; ``epoch:<unit>``; ``declared:<zone>``: the mapping's), and, when the
    values carry their zone, a SQL condition true for a value that does not (a mixed-zone file); the
    caller counts that condition over every row in its own pass.
    """
    ref = duck.quote(col)
    sample = f"(SELECT {ref} FROM {src} LIMIT {SAMPLE_ROWS})"
    kind = dict((r[0], r[1]) for r in con.execute(f"DESCRIBE {src}").fetchall())[col].upper()
    zone, unit = mapping.get("timezone"), mapping.get("timestamp_unit")
    if zone:
        check_zone(con, zone)
    numeric = kind in ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "UBIGINT", "FLOAT") or (
        kind == "VARCHAR"
        and con.execute(
            f"SELECT bool_and(regexp_matches(trim({ref}), '^[0-9]+(\\.[0-9]+)?$')) FROM {sample} "
            f"WHERE NULLIF(trim({ref}), '') IS NOT NULL"
        ).fetchone()[0]
    )
    if numeric:
        value = f"TRY_CAST(trim(CAST({ref} AS VARCHAR)) AS DOUBLE)"
        if not unit:
            median = con.execute(f"SELECT median({value}) FROM {sample}").fetchone()[0] or 0
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
        lo, hi = con.execute(f"SELECT min(year({expr})), max(year({expr})) FROM {sample}").fetchone()
        if lo is None or lo < PLAUSIBLE_YEARS[0] or hi > PLAUSIBLE_YEARS[1]:
            example = con.execute(f"SELECT {ref}, {expr} FROM {sample} LIMIT 1").fetchone()
            raise DataContractError(
                table,
                col,
                f"read as epoch {unit}, the times fall in the years {lo}-{hi}, outside "
                f"{PLAUSIBLE_YEARS[0]}-{PLAUSIBLE_YEARS[1]}: is timestamp_unit right?",
                [f"{example[0]} -> {example[1]}"],
            )
        return expr, f"epoch:{unit}", None
    if "TIME ZONE" in kind:
        return f"CAST({ref} AS TIMESTAMP)", "timestamps", None
    text = f"trim(CAST({ref} AS VARCHAR))"
    carried = f"(suffix({text}, ' UTC') OR suffix({text}, 'Z') OR regexp_matches({text}, '{TZ_CARRIED}'))"
    mismatch = f"(NOT {carried} AND TRY_CAST({text} AS TIMESTAMP) IS NOT NULL)"  # a time naming no zone
    n_tz, n_plain = con.execute(
        f"SELECT count(*) FILTER (WHERE {carried}), count(*) FILTER (WHERE {mismatch}) FROM {sample}"
    ).fetchone()
    if n_tz and n_plain:
        bad = duck.examples(con, f"SELECT {ref} FROM {sample} WHERE {mismatch}")
        raise DataContractError(
            table, col, "time zones are mixed: some values carry an offset or 'UTC', others none", bad
        )
    if n_tz:
        # ' UTC' and 'Z' (most exports) are read directly, three times faster than DuckDB's zone-aware parse
        fast = (
            f"CASE WHEN suffix({text}, ' UTC') THEN TRY_CAST(left({text}, -4) AS TIMESTAMP) "
            f"WHEN suffix({text}, 'Z') THEN TRY_CAST(left({text}, -1) AS TIMESTAMP) END"
        )
        expr = f"coalesce({fast}, CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP))"
        return expr, "timestamps", mismatch
    if not zone:
        example = duck.examples(con, f"SELECT {ref} FROM {sample} WHERE {ref} IS NOT NULL", 1)
        raise DataContractError(
            table,
            col,
            "timestamps carry no time zone; declare one in the mapping, e.g. "
            "'timezone: UTC' or 'timezone: Europe/Berlin'",
            example,
        )
    return (
        f"CAST(timezone({duck.literal(zone)}, TRY_CAST({text} AS TIMESTAMP)) AS TIMESTAMP)",
        f"declared:{zone}",
        None,
    )


def check_zones_agree(con, src: str, col: str, mismatch: str, table: str) -> None:
    """Stop when some values carry their zone and others do not (a full pass; small inputs only)."""
    bad = duck.examples(con, f"SELECT {duck.quote(col)} FROM {src} WHERE {mismatch}")
    if bad:
        raise DataContractError(
            table, col, "time zones are mixed: some values carry an offset or 'UTC', others none", bad
        )
