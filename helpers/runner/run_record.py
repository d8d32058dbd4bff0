"""The run record ``reports/<run>/run.json``: parameters, timings, the data fingerprint, stale pages.

Usage::

    from helpers.runner.run_record import write_run_record
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from helpers.data.files import atomic_path, write_json
from helpers.runner import freshness
from helpers.runner.schedule import stale_after


def read_record(folder: Path) -> dict:
    """The ``run.json`` of a reports folder, or {} when there is none (or it cannot be read)."""
    try:
        return json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def previous_timings(reports_stage: Path) -> dict:
    record = reports_stage / "run.json"
    if record.exists():
        return json.loads(record.read_text()).get("seconds", {})
    return {}


def write_run_record(
    folder: Path,
    run: str,
    scenario,
    chosen: dict,
    timings: dict,
    started,
    fingerprint: str,
    ran: dict[str, dict],
    partial: bool,
    outcomes: dict | None = None,
    only: bool = False,
) -> dict:
    """``run.json``: what ran in this call with which parameters, every page's last run, which pages are stale,
    and for each notebook what it depends on (``inputs``) and whether it was reused or why it ran (``why``)."""
    previous = json.loads((folder / "run.json").read_text()) if partial and (folder / "run.json").exists() else {}
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    pages = dict(previous.get("notebooks", {}))
    outcomes = outcomes or {}
    for name, params in ran.items():
        measured = outcomes.get(name)
        pages[name] = {
            "finished_utc": finished,
            "parameters": params,
            "seconds": timings.get(name),
            "peak_mb": getattr(measured, "peak_mb", None),
            "cpu_s": getattr(measured, "cpu_s", None),
        }
    stale = sorted((set(previous.get("stale", [])) - set(ran)) | stale_after(set(ran), set(pages))) if only else []
    inputs = dict(previous.get("inputs", {})) | {name: o.inputs for name, o in outcomes.items()}
    why = {name: "; ".join(o.why) if not o.reused else "up to date: reused" for name, o in outcomes.items()}
    record = {
        "run": run,
        "scenario": scenario,
        "data_fingerprint": fingerprint,
        "parameters": chosen,
        "ran_now": sorted(ran),
        "reused": sorted(name for name, o in outcomes.items() if o.reused),
        "why": why,
        "inputs": inputs,
        "page": freshness.page(),
        "notebooks": pages,
        "stale": stale,
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": finished,
        "seconds": timings,
        "versions": _versions(),
        "commit": _commit(),  # what the pages' footers show; a front page written later keeps it
    }
    write_json(record, folder / "run.json")
    return record


def _versions() -> dict:
    from helpers.presentation import website

    return website.package_versions()


def _commit() -> str:
    from helpers.presentation import website

    return website.git_commit()


def mark_stale_pages(folder: Path, run: str, record: dict) -> None:
    """Put a banner on each stale page naming the rerun it predates and the command that refreshes it."""

    if not record["stale"]:
        return
    numbers = ",".join(name[:2] for name in record["stale"])
    for name in record["stale"]:
        page = folder / f"{name}.html"
        if not page.exists():
            continue
        banner = (
            f'<p class="stale" role="note"><b>Out of date:</b> {", ".join(record["ran_now"])} reran at '
            f"{record['finished_utc'].replace('T', ' ')[:16]} UTC after this page was made, so its numbers may "
            f"not match. Refresh with <code>make report RUN={run} ONLY={numbers}</code>.</p>"
        )
        text = page.read_text(encoding="utf-8").replace(
            '<main class="site-main">', '<main class="site-main">' + banner, 1
        )
        with atomic_path(page) as tmp:  # a new file: the previous report's hard-linked copy stays untouched
            Path(tmp).write_text(text, encoding="utf-8")
