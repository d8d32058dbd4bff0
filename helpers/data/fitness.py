"""Data fitness: what the data hold and how they were cut, measured once from the raw and gold tables.

Usage::

    from helpers.data.fitness import measure, Fitness
    fit = measure(paths.raw_dir(run), paths.gold_dir(run))    # one typed record: numbers and codes
    fit = measure(paths.raw_dir(run))                         # the same, in 01, before the gold table exists
    save(fit, raw_dir); fit = load(raw_dir)   # 01 writes raw/fitness.json; 03-06 and the front page read it

How 03 and 06 would call it, through the needs of each question (``helpers.analysis.needs``)::

    from helpers.analysis import needs
    verdict = needs.assess(fit, "03_conversion")               # reason codes and their values
    if verdict.not_estimable:                                 # a need is missing: no answer, say why
        result.status, result.reason = "not estimable", ", ".join(verdict.codes)
    result.badge = needs.cap_badge(result.badge, verdict)      # a weakened need: never 'high'

    days = needs.own_rate_runtime_days(fit, baseline, relative_mde, alpha, power)   # 06, at the data's rate
    sizing = needs.assess(fit, "06_sizing", runtime_days=days)  # short_span, dates_only, sample_rate -> no weeks
    needs.eligible(answer.badge, verdict)                      # may a recommendation rest on this answer?

The record holds numbers and codes only; pages word them. Realism bands (conversion, cart
abandonment, one-event sessions) are recorded in ``outside_bands`` to inform the reader; they
cap nothing. Only artefacts of the data's shape (no checkout step, no prices, no user ids, dates
without times, a short or cut slice, a thinned log) are grounds for the caps in ``needs``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import pandas as pd

from helpers.data import duck, gold
from helpers.data.data_profile import BENCHMARKS

# Codes of the record's categorical fields.
PRICE_VARYING, PRICE_CONSTANT, PRICE_FLAG, PRICE_ABSENT = "varying", "constant", "flag", "absent"
SECONDS, DATES, MONTHS = "seconds", "dates", "months"  # timestamp resolution of session starts
NO_TIMES = "none"  # a session table without start times: the importer spaced its sessions 1 s apart
PER_EVENT, LAID_OUT = "per_event", "laid_out"  # event times as recorded, or spread evenly by the importer

FILE = "fitness.json"  # beside the raw tables it describes (01 writes both)
EDGE_MINUTES = 30.0  # a session active this close to the slice's first or last event may be cut there
SPAN_TOLERANCE_HOURS = 1.0  # a slice from 00:07 on the 1st to 23:54 on the 28th covers 28 whole days
DATES_ONLY_SHARE = 0.99  # at least this share of session starts at 00:00:00 means the times are dates only
# the provenance's input codes in the fitness record's words
INPUT_KINDS = {"event_log": "event log", "session_table": "session table", "raw_tables": "raw tables"}
REALISM_KEYS = ("conversion", "cart_abandonment", "one_event_share")  # bands from data_profile.BENCHMARKS


@dataclass
class Fitness:
    """What the data hold and how they were cut: numbers and codes, no sentences."""

    input_kind: str  # 'simulator', 'event log', 'session table', 'raw tables'
    sessions: int
    events: int
    buyers: int  # sessions with an order
    orders: int
    conversion: float | None  # buyers / sessions
    # funnel steps
    has_checkout_step: bool  # any checkout event
    checkout_share_of_buyers: float | None  # buyers with a checkout event / buyers
    has_cart_step: bool
    cart_abandonment: float | None  # cart sessions without an order / cart sessions
    # prices and products
    price_kind: str  # PRICE_VARYING, PRICE_CONSTANT (one price), PRICE_FLAG (the 0/1 purchase flag), PRICE_ABSENT
    distinct_prices: int  # positive unit prices (order totals when there are no order items)
    has_products: bool  # at least two products among the items bought
    # users
    has_user_ids: bool  # some session's user differs from the session itself (see _users)
    users: int | None  # None without user ids
    sessions_per_user: float | None
    # time
    timestamp_resolution: str  # SECONDS, DATES (every start at 00:00), MONTHS (... on the 1st), NO_TIMES
    event_timing: str  # PER_EVENT, or LAID_OUT when a session table's events were spread by the importer
    first_ts: str | None  # the first session start, ISO
    last_ts: str | None  # the last event (or session start), ISO
    span_hours: float | None  # first to last; a date or month counts whole (DATES, MONTHS); None for NO_TIMES
    whole_days: int | None  # floor((span + SPAN_TOLERANCE_HOURS) / 24 h); None for MONTHS and NO_TIMES
    whole_weeks: int | None  # the same in weeks; None for MONTHS and NO_TIMES
    edge_share: float | None  # sessions active within EDGE_MINUTES of the slice's first or last event; SECONDS only
    # a thinned or split log
    share_purchases_without_browsing: float | None  # buyers with no browsing before the first checkout or purchase
    single_event_share: float
    events_per_session: float
    landmark_at_risk_sessions: int  # sessions still active, unconverted, at the landmark (gold.LANDMARK_SECONDS)
    landmark_at_risk_buyers: int
    # daily traffic
    days_observed: int | None  # calendar days with a session start; None for MONTHS and NO_TIMES
    sessions_per_day: float | None  # sessions / span in days; None under a day of span, for MONTHS and NO_TIMES
    daily_sessions_median: float | None  # median sessions per calendar day, first and last day left out
    outside_bands: list[str] = field(default_factory=list)  # realism keys outside their published band
    one_row_per_user: bool = False  # a per-user export: each user's visits summed into one row

    @property
    def has_prices(self) -> bool:
        """Prices that vary: a constant price or the 0/1 purchase flag is no price."""
        return self.price_kind == PRICE_VARYING

    @property
    def covers_whole_day(self) -> bool:
        return bool(self.whole_days)

    @property
    def covers_whole_week(self) -> bool:
        return bool(self.whole_weeks)

    def to_json(self) -> dict:
        """Plain JSON: numbers, strings, booleans and lists."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Fitness:
        """The record again from its JSON; unknown keys are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def measure(raw_dir: Path, gold_dir: Path | None = None) -> Fitness:
    """The fitness record of one run's raw tables and gold table, in DuckDB SQL.

    Without ``gold_dir`` (01, before the gold table is built) the gold table's own SQL runs over
    the raw tables as a view, so the record is the same.
    """
    raw_dir = Path(raw_dir)
    con = duck.connect()
    gold.raw_views(con, raw_dir)  # optional columns a table lacks are filled, as when the gold table is built
    if gold_dir is None:
        con.execute(f"CREATE VIEW gold AS {gold.gold_sql('duckdb')}")
    else:
        target = Path(gold_dir) / "sessions.parquet"
        files = f"{target}/*.parquet" if target.is_dir() else str(target)
        con.execute(f"CREATE VIEW gold AS SELECT * FROM read_parquet({duck.literal(files)})")
    provenance = _provenance(raw_dir)
    kind = INPUT_KINDS.get(provenance.get("kind")) or (
        "simulator" if (raw_dir / "truth.json").exists() else "raw tables"
    )
    g = _gold_facts(con)
    resolution = NO_TIMES if provenance.get("timezone") == "not_given" else _resolution(con)
    span = _span(con, resolution)
    users = _users(con, g["sessions"])
    record = Fitness(
        input_kind=kind,
        sessions=g["sessions"],
        events=g["events"],
        buyers=g["buyers"],
        orders=g["orders"],
        conversion=g["buyers"] / g["sessions"] if g["sessions"] else None,
        has_checkout_step=g["checkout_events"] > 0,
        checkout_share_of_buyers=_ratio(g["buyers_with_checkout"], g["buyers"]),
        has_cart_step=g["cart_sessions"] > 0,
        cart_abandonment=_ratio(g["cart_sessions_not_bought"], g["cart_sessions"]),
        **_prices(con, provenance),
        **users,
        timestamp_resolution=resolution,
        event_timing=LAID_OUT if kind == "session table" else PER_EVENT,
        **span,
        edge_share=_edge_share(con) if resolution == SECONDS and g["events"] else None,
        share_purchases_without_browsing=_ratio(g["buyers_without_browsing"], g["buyers"]),
        single_event_share=g["single_event_share"],
        events_per_session=g["events_per_session"],
        landmark_at_risk_sessions=g["landmark_sessions"],
        landmark_at_risk_buyers=g["landmark_buyers"],
        **_daily(con, resolution, g["sessions"], span["span_hours"]),
    )
    record.outside_bands = _outside_bands(record)
    # a per-user export maps its session column to the user column (the importer records it: renumbered ids
    # cannot tell a session table whose users each came once from one)
    record.one_row_per_user = kind == INPUT_KINDS["session_table"] and provenance.get("one_row_per_user") is True
    return record


def save(fit: Fitness, raw_dir: Path) -> Path:
    """Write the record to ``raw_dir/fitness.json`` (01, once the raw tables are written)."""
    path = Path(raw_dir) / FILE
    path.write_text(json.dumps(fit.to_json(), indent=2) + "\n", encoding="utf-8")
    return path


def load(raw_dir: Path) -> Fitness | None:
    """The record 01 wrote beside the raw tables; None when there is none (a run from before the record)."""
    path = Path(raw_dir) / FILE
    return Fitness.from_json(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


# --------------------------------------------------------------------------------------------
# The record shown: 01's table (01 imports no analysis and no wording module, so it sits here)
# --------------------------------------------------------------------------------------------


def hours_text(hours: float) -> str:
    """A span in hours and minutes under a day ('2 h 50 min'), in days above."""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 24:
        h, m = divmod(round(hours * 60), 60)
        return f"{h} h {m:02d} min" if m else f"{h} h"
    return f"{hours / 24:.1f} days" if hours < 72 else f"{hours / 24:.0f} days"


def span_text(fit) -> str:
    """What time the data cover, as precisely as the data know it: hours under a day, months when only months."""
    if fit.timestamp_resolution == "none" or not fit.first_ts:
        return "unknown: the sessions have no start times"
    first, last = pd.Timestamp(fit.first_ts), pd.Timestamp(fit.last_ts)
    if fit.timestamp_resolution == "months":
        return f"{first:%B %Y} to {last:%B %Y} (months only: every session is dated the 1st at 00:00)"
    if fit.timestamp_resolution == "dates":
        return f"{first:%Y-%m-%d} to {last:%Y-%m-%d} (dates only: every session starts at 00:00)"
    if fit.span_hours < 24:
        day = f"{first:%Y-%m-%d} {first:%H:%M} to " + (f"{last:%H:%M}" if first.date() == last.date() else f"{last}")
        return f"{hours_text(fit.span_hours)} ({day} UTC)"
    return f"{hours_text(fit.span_hours)} ({first:%Y-%m-%d} to {last:%Y-%m-%d})"


PRICE_TEXT = {
    PRICE_VARYING: "vary",
    PRICE_CONSTANT: "one price for everything: no prices",
    PRICE_FLAG: "the 0/1 purchase flag: no prices",
    PRICE_ABSENT: "none",
}


def table(fit) -> pd.DataFrame:
    """01's table of the record: each measure, its value, and what it means for the answers."""
    rows = [
        ("input", fit.input_kind, ""),
        ("sessions", f"{fit.sessions:,}", f"{fit.buyers:,} with an order"),
        ("time covered", span_text(fit), ""),
        ("daily sessions", f"{fit.sessions_per_day:,.0f}" if fit.sessions_per_day else "unknown", ""),
        (
            "checkout step",
            f"{fit.checkout_share_of_buyers:.0%} of buyers" if fit.checkout_share_of_buyers is not None else "none",
            "",
        ),
        ("prices", PRICE_TEXT.get(fit.price_kind, fit.price_kind), f"{fit.distinct_prices:,} distinct"),
        (
            "user ids",
            "one row per user (a per-user export)"
            if fit.one_row_per_user
            else (f"{fit.users:,} users, {fit.sessions_per_user:.2f} sessions each" if fit.has_user_ids else "none"),
            "",
        ),
        (
            "purchases with no browsing before them",
            "" if fit.share_purchases_without_browsing is None else f"{fit.share_purchases_without_browsing:.0%}",
            "",
        ),
        ("one-event sessions", f"{fit.single_event_share:.0%}", f"{fit.events_per_session:.2f} events per session"),
        ("sessions near the slice's edges", "" if fit.edge_share is None else f"{fit.edge_share:.0%}", ""),
    ]
    return pd.DataFrame(rows, columns=["measure", "value", "note"])


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _provenance(raw_dir: Path) -> dict:
    path = raw_dir / "provenance.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _gold_facts(con) -> dict:
    """Counts from the gold table: sessions, buyers, funnel steps, browsing before purchase, landmark."""
    names = (
        "sessions",
        "events",
        "buyers",
        "orders",
        "checkout_events",
        "buyers_with_checkout",
        "cart_sessions",
        "cart_sessions_not_bought",
        "buyers_without_browsing",
        "single_event_share",
        "events_per_session",
        "landmark_sessions",
        "landmark_buyers",
    )
    row = con.execute("""
        SELECT count(*), coalesce(sum(event_count), 0), coalesce(sum(did_purchase), 0), coalesce(sum(n_orders), 0),
               coalesce(sum(n_checkout), 0),
               count(*) FILTER (WHERE did_purchase = 1 AND n_checkout > 0),
               count(*) FILTER (WHERE n_add_to_cart > 0),
               count(*) FILTER (WHERE n_add_to_cart > 0 AND did_purchase = 0),
               count(*) FILTER (WHERE did_purchase = 1 AND pre_conversion_event_count = 0),
               coalesce(avg(CASE WHEN event_count = 1 THEN 1.0 ELSE 0.0 END), 0),
               coalesce(avg(event_count), 0),
               coalesce(sum(landmark_at_risk), 0),
               coalesce(sum(landmark_at_risk * did_purchase), 0)
        FROM gold""").fetchone()
    return {n: (float(v) if isinstance(v, float) else int(v)) for n, v in zip(names, row)}


def _prices(con, provenance: dict) -> dict:
    """The price code: varying, one constant price, the 0/1 purchase flag, or absent; and distinct prices."""
    items, item_prices, items_flag, products = con.execute("""
        SELECT count(*), count(DISTINCT unit_price_usd) FILTER (WHERE unit_price_usd > 0),
               coalesce(bool_and(unit_price_usd IN (0, 1)), true), count(DISTINCT product_id)
        FROM order_items""").fetchone()
    paid, totals, totals_flag = con.execute("""
        SELECT count(*) FILTER (WHERE total_usd > 0), count(DISTINCT total_usd) FILTER (WHERE total_usd > 0),
               coalesce(bool_and(total_usd = 1) FILTER (WHERE total_usd > 0), true)
        FROM orders""").fetchone()
    distinct = int(item_prices if items else totals)
    if provenance.get("has_prices") is False or not paid:
        kind = PRICE_ABSENT
    elif totals_flag and items_flag:
        kind = PRICE_FLAG
    elif distinct <= 1:
        kind = PRICE_CONSTANT
    else:
        kind = PRICE_VARYING
    return {"price_kind": kind, "distinct_prices": distinct, "has_products": int(products) >= 2}


def _users(con, sessions: int) -> dict:
    """User ids: present when some session's user is not the session itself.

    The importers fill a missing user with the session's id (``schema.UNKNOWN_FILL``), so the raw
    tables cannot tell a user column holding one user per session, numbered as the sessions are,
    from none; either way no session shares its user, so there is no design effect to measure.
    """
    distinct_from_session, users = con.execute(
        "SELECT count(*) FILTER (WHERE user_id IS DISTINCT FROM session_id), count(DISTINCT user_id) FROM sessions"
    ).fetchone()
    if not distinct_from_session:
        return {"has_user_ids": False, "users": None, "sessions_per_user": None}
    return {"has_user_ids": True, "users": int(users), "sessions_per_user": sessions / users if users else None}


def _resolution(con) -> str:
    """SECONDS, or DATES when (nearly) every session starts at 00:00:00, MONTHS when also on the 1st."""
    midnight, first_of_month = con.execute("""
        SELECT avg(CASE WHEN started_at = date_trunc('day', started_at) THEN 1.0 ELSE 0.0 END),
               avg(CASE WHEN started_at = date_trunc('month', started_at) THEN 1.0 ELSE 0.0 END)
        FROM sessions""").fetchone()
    if (first_of_month or 0) >= DATES_ONLY_SHARE:
        return MONTHS
    return DATES if (midnight or 0) >= DATES_ONLY_SHARE else SECONDS


def _span(con, resolution: str) -> dict:
    """First start, last activity and the span in hours; whole days and weeks in it."""
    first, last_start, last_event = con.execute(
        "SELECT (SELECT min(started_at) FROM sessions), (SELECT max(started_at) FROM sessions), "
        "(SELECT max(ts) FROM events)"
    ).fetchone()
    if first is None or resolution == NO_TIMES:
        return {"first_ts": None, "last_ts": None, "span_hours": None, "whole_days": None, "whole_weeks": None}
    first, last = pd.Timestamp(first), pd.Timestamp(max(x for x in (last_start, last_event) if x is not None))
    if resolution == MONTHS:  # a month known only by its first day covers the whole month
        end = pd.Timestamp(last_start).to_period("M").to_timestamp(how="end").ceil("D")
        hours = (end - first).total_seconds() / 3600
        return {
            "first_ts": first.isoformat(),
            "last_ts": last.isoformat(),
            "span_hours": hours,
            "whole_days": None,  # the days are not known
            "whole_weeks": None,
        }
    if resolution == DATES:  # a date covers its whole day
        hours = ((pd.Timestamp(last_start).normalize() - first.normalize()).days + 1) * 24.0
    else:
        hours = (last - first).total_seconds() / 3600
    return {
        "first_ts": first.isoformat(),
        "last_ts": last.isoformat(),
        "span_hours": hours,
        "whole_days": math.floor((hours + SPAN_TOLERANCE_HOURS) / 24),
        "whole_weeks": math.floor((hours + SPAN_TOLERANCE_HOURS) / (24 * 7)),
    }


def _edge_share(con) -> float:
    """Sessions whose first event lies within EDGE_MINUTES of the slice's first event, or last within its last."""
    return float(
        con.execute(f"""
        WITH s AS (SELECT session_id, min(ts) AS first, max(ts) AS last FROM events GROUP BY session_id),
             edge AS (SELECT min(first) AS lo, max(last) AS hi FROM s)
        SELECT avg(CASE WHEN s.first < edge.lo + INTERVAL {EDGE_MINUTES * 60:.0f} SECOND
                          OR s.last > edge.hi - INTERVAL {EDGE_MINUTES * 60:.0f} SECOND THEN 1.0 ELSE 0.0 END)
        FROM s, edge""").fetchone()[0]
        or 0.0
    )


def _daily(con, resolution: str, sessions: int, span_hours: float | None) -> dict:
    """Days with sessions, sessions per day over the span, median sessions per whole calendar day."""
    if resolution in (MONTHS, NO_TIMES):
        return {"days_observed": None, "sessions_per_day": None, "daily_sessions_median": None}
    per_day = con.execute(
        "SELECT CAST(started_at AS DATE) AS day, count(*) AS n FROM sessions GROUP BY day ORDER BY day"
    ).df()
    inner = per_day["n"] if resolution == DATES else per_day["n"].iloc[1:-1]  # first and last day are partial
    return {
        "days_observed": len(per_day),
        "sessions_per_day": sessions / (span_hours / 24) if span_hours and span_hours >= 24 else None,
        "daily_sessions_median": float(inner.median()) if len(inner) else None,
    }


def _outside_bands(record: Fitness) -> list[str]:
    """Realism keys whose value lies outside the published band (they inform; they cap nothing)."""
    values = {
        "conversion": record.conversion,
        "cart_abandonment": record.cart_abandonment,
        "one_event_share": record.single_event_share,
    }
    out = []
    for key, lo, hi in BENCHMARKS:
        if key in REALISM_KEYS and values[key] is not None and not lo <= values[key] <= hi:
            out.append(key)
    return out
