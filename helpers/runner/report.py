"""Run the numbered notebooks in order with papermill and render them to HTML with nbconvert.

Usage::

    python -m helpers.runner.report --run default
    python -m helpers.runner.report --run big --params "n_sessions=1000000 seed=7"
    python -m helpers.runner.report --run tm --scenario time_matters --only 03
    python -m helpers.runner.report --run default --pdf        # then reports/default/report.pdf (--pdf all)

A run builds into staging folders and replaces ``data/<run>/`` and ``reports/<run>/`` only when
every notebook succeeded, so a failed or interrupted run never loses the last good report. Two
runs with the same name do not overlap: the second one refuses with a clear message.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from helpers import paths
from helpers.data.files import data_fingerprint, share_tree
from helpers.errors import ParameterError, ReportError
from helpers.runner import params as params_mod
from helpers.runner.run_record import mark_stale_pages, previous_timings, read_record, write_run_record
from helpers.runner.schedule import Reuse, run_all, say
from helpers.runner.staging import env_set, link_copy, run_lock, swap_in


def numbered_notebooks(only: list[str] | None = None) -> list[Path]:
    """Notebooks ``NN_name.ipynb`` in order, optionally only those whose prefix is in ``only``."""
    found = sorted(p for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {o.strip() for o in only if o.strip()}
        unknown = wanted - {p.name[:2] for p in found} - {p.stem for p in found}
        if unknown:
            raise ParameterError(
                f"--only {sorted(unknown)[0]!r} matches no notebook; known: " + ", ".join(p.stem for p in found)
            )
        found = [p for p in found if p.name[:2] in wanted or p.stem in wanted]
    return found


def execute(
    run: str = "default",
    scenario: str | None = None,
    overrides: str | dict | None = None,
    only: list[str] | None = None,
    progress: bool | None = None,
    force: bool = False,
) -> Path:
    """Run the notebooks of one run; return ``reports/<run>/``. Raises on any failure.

    A notebook whose inputs (``freshness.inputs``) are as the run's last record says is not
    executed again: its executed copy, page and outputs are reused. ``force`` runs every notebook;
    ``only`` runs the chosen ones whatever changed and keeps the others as they are.
    """

    params_mod.check_run_name(run)
    all_notebooks = numbered_notebooks()
    if not all_notebooks:
        raise ReportError(f"no numbered notebooks found in {paths.NOTEBOOKS_DIR}")
    notebooks = numbered_notebooks(only)
    declared = params_mod.declared(all_notebooks)
    chosen = params_mod.resolve(declared, scenario, overrides)
    chosen.pop("run", None)
    if not only or any(nb.name.startswith("01") for nb in notebooks):
        from helpers.data.ingest import preflight

        preflight(chosen)  # a data or mapping mistake stops here, before any notebook and any write
    if progress is None:
        progress = sys.stderr.isatty()

    data_final = paths.data_root() / run
    reports_final = paths.reports_root() / run
    token = f"{run}-{uuid.uuid4().hex[:8]}"
    data_stage = paths.data_root() / ".staging" / token
    reports_stage = paths.reports_root() / ".staging" / token
    failed_dir = paths.reports_root() / f"{run}.failed"

    with run_lock(run):
        if only and not data_final.exists():
            raise ReportError(f"--only needs an earlier full run '{run}' in {data_final}; run it without --only first")
        previous = read_record(reports_final) if data_final.exists() and not force else {}
        if only or previous:
            link_copy(data_final, data_stage)
            link_copy(reports_final, reports_stage)
            (reports_stage / paths.REPORT_PDF).unlink(missing_ok=True)  # printed from the old pages: not this run's
        data_stage.mkdir(parents=True, exist_ok=True)
        reports_stage.mkdir(parents=True, exist_ok=True)
        timings = previous_timings(reports_stage)
        started = datetime.now(UTC)
        reuse = Reuse(
            inputs=previous.get("inputs", {}),
            page=previous.get("page"),
            always={nb.stem for nb in notebooks} if only else set(),
            force=force,
        )
        say(f"run '{run}': {len(notebooks)} notebook(s) -> {reports_final}")
        try:
            with env_set(CLICKSTREAM_RUN_DIR=str(data_stage)):
                outcomes = run_all(notebooks, run, chosen, declared, reports_stage, progress, reuse)
            timings.update({name: o.seconds for name, o in outcomes.items() if not o.reused})
            effective = {k: params_mod.default_value(v) for k, v in declared.items() if k != "run"} | chosen
            ran = {
                nb.stem: {k: v for k, v in chosen.items() if nb.stem in declared[k]["notebooks"]}
                for nb in notebooks
                if not outcomes[nb.stem].reused
            }
            record = write_run_record(
                reports_stage,
                run,
                scenario,
                effective,
                timings,
                started,
                data_fingerprint(data_stage / "raw"),
                ran,
                partial=bool(only) or bool(previous),
                outcomes=outcomes,
                only=bool(only),
            )
            mark_stale_pages(reports_stage, run, record)
            if ran or not previous or previous.get("page") != record["page"]:  # else the site is as it was
                from helpers.presentation.frontpage import write_index
                from helpers.presentation.website import write_assets

                write_assets(reports_stage, run)
                write_index(run, reports_stage, data_stage)
            share_tree(reports_stage)
            share_tree(data_stage)
        except BaseException:
            shutil.rmtree(data_stage, ignore_errors=True)
            if reports_stage.exists():
                shutil.rmtree(failed_dir, ignore_errors=True)
                failed_dir.parent.mkdir(parents=True, exist_ok=True)
                reports_stage.rename(failed_dir)
            raise
        shutil.rmtree(failed_dir, ignore_errors=True)
        swap_in(data_stage, data_final)
        swap_in(reports_stage, reports_final)
        retire_scratch(run)
    say(f"done: {reports_final / 'index.html'}")
    return reports_final


def retire_scratch(run: str) -> None:
    """Remove what notebooks run outside the runner wrote for ``run`` (``paths.scratch_dir``), saying what it was,
    so notebooks opened next read the report just published rather than an older scratch copy."""
    scratch = paths.scratch_dir(run)
    if not scratch.exists():
        return
    held = sorted(p.stem for p in (scratch / "results").glob("*.json")) or sorted(p.name for p in scratch.iterdir())
    shutil.rmtree(scratch, ignore_errors=True)
    say(
        f"note: {scratch} held output of notebooks run outside `make report` ({', '.join(held) or 'empty'}); "
        "it is not part of this report and was removed, so notebooks opened now read this report's data"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.runner.report", description=__doc__.split("\n")[0])
    parser.add_argument("--run", default="default", help="name of the run: data/<run>/ and reports/<run>/")
    parser.add_argument("--scenario", default=None, help="notebooks/scenarios/NAME.yaml")
    parser.add_argument("--params", default="", help='parameters, e.g. "n_sessions=5000 seed=7"')
    parser.add_argument("--data", default="", help="folder of your own raw tables (instead of simulating)")
    parser.add_argument("--event-log", default="", help="a flat event log file (CSV or Parquet)")
    parser.add_argument("--mapping", default="", help="YAML column mapping for --event-log or --session-table")
    parser.add_argument("--preset", default="", help="built-in mapping for --event-log: rees46, retailrocket, ga4")
    parser.add_argument("--session-table", default="", help="a table with one row per session (CSV or Parquet)")
    parser.add_argument("--only", default="", help="comma-separated notebook numbers, e.g. 03,04")
    parser.add_argument("--force", action="store_true", help="run every notebook, even those that are up to date")
    parser.add_argument(
        "--pdf",
        nargs="?",
        const="front",
        choices=("front", "all"),
        help="then print the front page (--pdf all: every page) to reports/<run>/report.pdf with headless Chromium",
    )
    args = parser.parse_args(argv)
    overrides = params_from_args(args)
    only = [o for o in args.only.split(",") if o.strip()] or None
    try:
        execute(args.run, args.scenario or None, overrides, only, force=args.force)
        if args.pdf:
            from helpers.presentation import pdf

            print(f"pdf: {pdf.write_pdf(args.run, all_pages=args.pdf == 'all')}")
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: the previous report of '{args.run}' is untouched", file=sys.stderr)
        return 130
    return 0


def params_from_args(args) -> dict:
    try:
        overrides = params_mod.parse_overrides(args.params)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for flag, name in (
        (args.data, "data_dir"),
        (args.event_log, "event_log"),
        (args.mapping, "mapping"),
        (args.session_table, "session_table"),
    ):
        if flag:
            overrides[name] = str(Path(flag).expanduser().resolve())
    if args.preset:
        overrides["preset"] = args.preset
    return overrides


if __name__ == "__main__":
    code = main()
    # Every file is written, the run published and its kernels stopped (``kernels.warm_pool``): leave without
    # tearing down the libraries the pages loaded (0.7 s of a rerun that takes a few seconds).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
