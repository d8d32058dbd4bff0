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


def timestamp_expr(con, src: str, col: str, mapping: dict, table: str) -> tuple[str, str]:
    """SQL turning ``col`` of ``src`` into a UTC TIMESTAMP, and a sentence saying how its zone was known."""
    ref = duck.quote(col)
    kind = dict((r[0], r[1]) for r in con.execute(f"DESCRIBE {src}").fetchall())[col].upper()
    zone, unit = mapping.get("timezone"), mapping.get("timestamp_unit")
    if zone:
        check_zone(con, zone)
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


def out_of_order_rows(con, ts_expr: str, session: str | None) -> int | None:
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
