"""Run the numbered notebooks in order with papermill and render them to HTML with nbconvert.

Usage::

    python -m helpers.runner.report --run default
    python -m helpers.runner.report --run big --params "n_sessions=1000000 seed=7"
    python -m helpers.runner.report --run tm --scenario time_matters --only 03

A run builds into staging folders and replaces ``data/<run>/`` and ``reports/<run>/`` only when
every notebook succeeded, so a failed or interrupted run never loses the last good report. Two
runs with the same name do not overlap: the second one refuses with a clear message.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from helpers import paths
from helpers.data.files import share_tree, write_json
from helpers.errors import ParameterError, ReportError
from helpers.presentation import website


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


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Staging, locking, swapping
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def run_lock(run: str):
    """Hold an exclusive lock on ``run``; refuse at once if another process holds it."""
    lock_dir = paths.data_root() / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    handle = open(lock_dir / f"{run}.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ReportError(f"another run named '{run}' is in progress; wait for it or choose another RUN name") from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _link_copy(src: Path, dst: Path) -> None:
    """Copy a folder tree as hard links (cheap); files are later replaced, never edited."""
    if src.exists():
        shutil.copytree(src, dst, copy_function=os.link, dirs_exist_ok=True)


def _swap_in(staged: Path, final: Path) -> None:
    """Replace ``final`` by ``staged`` with two renames; the old folder is removed last."""
    old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    if final.exists():
        final.rename(old)
    staged.rename(final)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _env(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


_SAY_LOCK = threading.Lock()


def _say(text: str) -> None:
    """One whole line to stdout; lines of notebooks running side by side never interleave."""
    with _SAY_LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def execute(
    run: str = "default",
    scenario: str | None = None,
    overrides: str | dict | None = None,
    only: list[str] | None = None,
    progress: bool | None = None,
) -> Path:
    """Run the notebooks of one run; return ``reports/<run>/``. Raises on any failure."""
    from helpers.runner import params as params_mod

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
        if only:
            if not data_final.exists():
                raise ReportError(
                    f"--only needs an earlier full run '{run}' in {data_final}; run it without --only first"
                )
            _link_copy(data_final, data_stage)
            _link_copy(reports_final, reports_stage)
        data_stage.mkdir(parents=True, exist_ok=True)
        reports_stage.mkdir(parents=True, exist_ok=True)
        timings = _previous_timings(reports_stage)
        started = datetime.now(UTC)
        _say(f"run '{run}': {len(notebooks)} notebook(s) -> {reports_final}")
        try:
            with _env(CLICKSTREAM_RUN_DIR=str(data_stage)):
                timings.update(_run_all(notebooks, run, chosen, declared, reports_stage, progress))
            effective = {k: params_mod.default_value(v) for k, v in declared.items() if k != "run"} | chosen
            ran = {
                nb.stem: {k: v for k, v in chosen.items() if nb.stem in declared[k]["notebooks"]} for nb in notebooks
            }
            record = _write_run_record(
                reports_stage,
                run,
                scenario,
                effective,
                timings,
                started,
                data_fingerprint(data_stage / "raw"),
                ran,
                partial=bool(only),
            )
            _mark_stale_pages(reports_stage, run, record)
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
        _swap_in(data_stage, data_final)
        _swap_in(reports_stage, reports_final)
    _say(f"done: {reports_final / 'index.html'}")
    return reports_final


PARALLEL_NOTEBOOKS = 3  # 03, 04 and 05 read only the gold table, so they run side by side


def needs(nb: str, present: list[str]) -> set[str]:
    """Notebooks among ``present`` (by number) that must finish before ``nb`` starts.

    Known notebooks wait for what they read (``READS_FROM``); any other waits for every earlier one.
    """
    number = nb[:2]
    earlier = {p[:2] for p in present if p[:2] < number}
    return (READS_FROM[number] & earlier) if number in READS_FROM else earlier


def _run_all(
    notebooks: list[Path], run: str, chosen: dict, declared: dict, out_dir: Path, progress: bool
) -> dict[str, float]:
    """Run ``notebooks``, each as soon as those it reads from are done; return seconds by notebook.

    After a failure nothing new starts; the ones already running finish, then the first error is raised.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from helpers.runner.kernels import warm_pool

    present = [nb.name for nb in notebooks]
    order = {nb.stem: i for i, nb in enumerate(notebooks, 1)}
    pending, running, done, timings, failure = list(notebooks), {}, set(), {}, None
    with warm_pool(notebooks), ThreadPoolExecutor(max_workers=PARALLEL_NOTEBOOKS) as pool:
        while pending or running:
            ready = [nb for nb in pending if needs(nb.name, present) <= done] if failure is None else []
            for nb in ready:
                pending.remove(nb)
                alone = len(ready) == 1 and not running  # a progress bar only when nothing else prints
                running[
                    pool.submit(
                        _run_one, nb, order[nb.stem], len(notebooks), run, chosen, declared, out_dir, progress and alone
                    )
                ] = nb
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                nb = running.pop(future)
                if future.exception() is not None:
                    failure = failure or future.exception()
                else:
                    timings[nb.stem] = future.result()
                    done.add(nb.name[:2])
    if failure is not None:
        raise failure
    return timings


def _run_one(
    nb: Path, i: int, total: int, run: str, chosen: dict, declared: dict, out_dir: Path, progress: bool
) -> float:
    import papermill

    own = {k: v for k, v in chosen.items() if nb.stem in declared[k]["notebooks"]}
    if "run" in declared and nb.stem in declared["run"]["notebooks"]:
        own["run"] = run
    out_nb = out_dir / nb.name
    out_nb.unlink(missing_ok=True)  # may be a hard link to the previous report
    (out_dir / f"{nb.stem}.html").unlink(missing_ok=True)
    _say(f"[{i}/{total}] {nb.stem} ...")
    t0 = time.perf_counter()
    from helpers.runner.kernels import measuring

    try:
        with measuring(nb.stem):
            papermill.execute_notebook(
                str(nb),
                str(out_nb),
                parameters=own,
                kernel_name="python3",
                progress_bar=progress,
                log_output=False,
                kernel_manager_class="helpers.runner.kernels.WarmKernelManager",  # started in the notebooks folder
            )
    except papermill.PapermillExecutionError as exc:
        where = paths.reports_root() / f"{run}.failed" / nb.name
        raise NotebookFailed(nb.stem, exc.ename, exc.evalue, where) from None
    seconds = time.perf_counter() - t0
    from helpers.presentation.website import render_notebook

    fingerprint = data_fingerprint(Path(os.environ.get("CLICKSTREAM_RUN_DIR", "")) / "raw")
    render_notebook(out_nb, out_dir / f"{nb.stem}.html", run, {k: v for k, v in own.items() if k != "run"}, fingerprint)
    from helpers.runner.kernels import PEAK_MB

    peak = PEAK_MB.get(nb.stem)
    _say(f"[{i}/{total}] {nb.stem} done in {seconds:.1f} s" + (f", peak {peak:,.0f} MB" if peak else ""))
    return round(seconds, 2)


class NotebookFailed(ReportError):
    """A notebook raised; the executed copy with the error is kept for reading."""

    def __init__(self, notebook: str, ename: str, evalue: str, where: Path):
        self.notebook, self.ename, self.evalue, self.where = notebook, ename, evalue, where
        super().__init__(f"{notebook} failed: {ename}: {evalue}\n  the executed notebook with the error: {where}")


def _previous_timings(reports_stage: Path) -> dict:
    record = reports_stage / "run.json"
    if record.exists():
        return json.loads(record.read_text()).get("seconds", {})
    return {}


def data_fingerprint(raw: Path) -> str:
    """SHA-256 over the raw tables' bytes: the same data give the same fingerprint."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(Path(raw).glob("*.parquet")):
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


# Which notebooks read what another one wrote (by number): rerunning one makes these stale.
READS_FROM = {"01": set(), "02": {"01"}, "03": {"02"}, "04": {"02"}, "05": {"02"}, "06": {"02", "03", "04", "05"}}


def stale_after(rerun: set[str], known: set[str]) -> set[str]:
    """Notebooks of ``known`` downstream of a rerun one (transitively) that were not rerun themselves."""
    changed, stale = {n for n in known if n[:2] in {r[:2] for r in rerun}}, set()
    grew = True
    while grew:
        grew = False
        for name in sorted(known - changed):
            if READS_FROM.get(name[:2], set()) & {c[:2] for c in changed}:
                changed.add(name)
                stale.add(name)
                grew = True
    return stale


def _write_run_record(
    folder: Path,
    run: str,
    scenario,
    chosen: dict,
    timings: dict,
    started,
    fingerprint: str,
    ran: dict[str, dict],
    partial: bool,
) -> dict:
    """``run.json``: what ran in this call with which parameters, every page's last run, and which pages are stale."""
    previous = json.loads((folder / "run.json").read_text()) if partial and (folder / "run.json").exists() else {}
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    pages = dict(previous.get("notebooks", {}))
    for name, params in ran.items():
        from helpers.runner.kernels import PEAK_MB

        pages[name] = {
            "finished_utc": finished,
            "parameters": params,
            "seconds": timings.get(name),
            "peak_mb": PEAK_MB.pop(name, None),  # the kernel's peak resident memory
        }
    stale = sorted((set(previous.get("stale", [])) - set(ran)) | stale_after(set(ran), set(pages))) if partial else []
    record = {
        "run": run,
        "scenario": scenario,
        "data_fingerprint": fingerprint,
        "parameters": chosen,
        "ran_now": sorted(ran),
        "notebooks": pages,
        "stale": stale,
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": finished,
        "seconds": timings,
        "versions": website.package_versions(),
    }
    write_json(record, folder / "run.json")
    return record


def _mark_stale_pages(folder: Path, run: str, record: dict) -> None:
    """Put a banner on each stale page naming the rerun it predates and the command that refreshes it."""
    from helpers.data.files import atomic_path

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
    args = parser.parse_args(argv)
    overrides = params_from_args(args)
    only = [o for o in args.only.split(",") if o.strip()] or None
    try:
        execute(args.run, args.scenario or None, overrides, only)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: the previous report of '{args.run}' is untouched", file=sys.stderr)
        return 130
    return 0


def params_from_args(args) -> dict:
    from helpers.runner.params import parse_overrides

    try:
        overrides = parse_overrides(args.params)
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
    sys.exit(main())
