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

The log may be a ``.csv``, ``.csv.gz`` or ``.parquet`` file, a folder of them or a glob
(``events-2019-*.csv.gz``: one file per month). ``decimal: ","`` reads prices written with a
decimal comma; with a preset, a mapping file holding only that line adjusts the preset.

Nothing is lost without a count: a CSV row with the wrong number of fields (a cut-off last
line) is dropped; a timestamp that is empty, N/A or unreadable drops its row; a price that is
N/A counts as missing, one that does not parse too, and a quantity that does not parse reads
as 1. Each is counted, with examples, in ``provenance.json`` (``rows_dropped``,
``values_not_parsed``); above ``MAX_UNPARSED_SHARE`` (1 %) of the rows or of a column's values
the import stops with one line naming the file, the column and the values. An empty file and
a header-only file each say so.

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

import hashlib
import json
import shutil
import time
import uuid
from pathlib import Path

from helpers import paths
from helpers.data import contract
from helpers.data.event_log import import_event_log, with_provenance
from helpers.data.files import read_json, write_json
from helpers.data.mapping import input_files, load_mapping
from helpers.data.session_table import import_session_table
from helpers.errors import ParameterError, ReportError

PROVENANCE_FORMAT = 2  # 2: provenance.json holds codes (kind, mapping, reasons, zone, sessions), worded by the pages


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
    taken = _take_import(_import_settings(locals()), raw_out)
    if taken is not None:
        return taken
    if data_dir:
        counts = contract.normalise_folder(Path(data_dir).expanduser(), raw_out)
        con = contract.load_views(Path(raw_out))
        write_json(
            with_provenance(
                con,
                {
                    "kind": "raw_tables",
                    "file": str(data_dir),
                    "mapping": "none",
                    "rows_read": counts["events"],
                    "rows_dropped": {},
                    "timezone": "as_in_tables",
                    "sessions_from": "sessions_table",
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
    """Import the user's data before any notebook: a data or mapping error stops the run there.

    The import is kept (``data/.imports/<key>``) and ``import_data`` in 01 takes it instead of
    reading the log again, as long as the files, the mapping and the settings are unchanged.
    """
    if not (values.get("data_dir") or values.get("event_log") or values.get("session_table")):
        if values.get("mapping") or values.get("preset"):
            raise ParameterError("a mapping or preset needs an event_log or session_table to apply to")
        return
    chosen = _import_settings(values)
    _prune_imports()
    folder = _import_cache(chosen)
    stage = folder.with_name(f".{folder.name}-{uuid.uuid4().hex[:8]}")
    try:
        write_json(import_data(stage / "raw", **chosen), stage / "counts.json")
        if not folder.exists():
            stage.rename(folder)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


IMPORT_DEFAULTS = {
    "data_dir": "",
    "event_log": "",
    "mapping": "",
    "preset": "",
    "session_table": "",
    "session_gap_minutes": 30.0,
}
KEEP_IMPORTS_SECONDS = 6 * 3600  # an import the run never took (it stopped) is removed after this


def _import_settings(values: dict) -> dict:
    """The settings an import depends on, every one present and in one type, so equal settings name one import."""
    out = {k: values.get(k) or default for k, default in IMPORT_DEFAULTS.items()}
    out["session_gap_minutes"] = float(out["session_gap_minutes"])
    return {k: str(v) if k != "session_gap_minutes" else v for k, v in out.items()}


def _import_cache(chosen: dict) -> Path:
    """The folder of a kept import: named by the inputs' paths, sizes and times, the mapping's text and the settings."""
    keyed = {**chosen, "provenance_format": PROVENANCE_FORMAT}  # an import kept by older code is not taken
    digest = hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode())
    for key in ("data_dir", "event_log", "session_table", "mapping"):
        if not chosen.get(key):
            continue
        path = Path(chosen[key]).expanduser()
        found = input_files(path, key) if key == "event_log" else sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in found:
            if f.is_file():
                stat = f.stat()
                digest.update(f"{f}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return paths.data_root() / ".imports" / digest.hexdigest()[:20]


def _take_import(chosen: dict, raw_out: Path) -> dict[str, int] | None:
    """Move a kept import of exactly these inputs into ``raw_out``; its row counts, or None when there is none."""
    try:
        folder = _import_cache(chosen)
    except ReportError:
        return None
    claimed = folder.with_name(f".taken-{folder.name}-{uuid.uuid4().hex[:8]}")
    try:
        folder.rename(claimed)  # atomic: one run takes it
    except OSError:
        return None
    try:
        raw_out = Path(raw_out)
        raw_out.mkdir(parents=True, exist_ok=True)
        for f in (claimed / "raw").iterdir():
            f.replace(raw_out / f.name)
        return read_json(claimed / "counts.json")
    finally:
        shutil.rmtree(claimed, ignore_errors=True)


def _prune_imports() -> None:
    root = paths.data_root() / ".imports"
    if not root.exists():
        return
    for folder in root.iterdir():
        if time.time() - folder.stat().st_mtime > KEEP_IMPORTS_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)
