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

from pathlib import Path

from helpers.data import contract
from helpers.data.event_log import import_event_log, with_provenance
from helpers.data.files import write_json
from helpers.data.mapping import load_mapping
from helpers.data.session_table import import_session_table
from helpers.errors import ParameterError


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
            with_provenance(
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
