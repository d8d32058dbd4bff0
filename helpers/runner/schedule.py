"""Which notebook runs when: each starts once the notebooks it reads from have finished (``READS_FROM``).

Usage::

    from helpers.runner.schedule import needs, run_all
    needs("06_strategy", present)          # {"02", "03", "04", "05"}
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import papermill

from helpers import paths
from helpers.data.files import data_fingerprint
from helpers.errors import ReportError
from helpers.presentation import website
from helpers.runner import kernels

_SAY_LOCK = threading.Lock()


def say(text: str) -> None:
    """One whole line to stdout; lines of notebooks running side by side never interleave."""
    with _SAY_LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


PARALLEL_NOTEBOOKS = 3  # 03, 04 and 05 read only the gold table, so they run side by side


# Which notebooks read what another one wrote (by number): rerunning one makes these stale.
READS_FROM = {"01": set(), "02": {"01"}, "03": {"02"}, "04": {"02"}, "05": {"02"}, "06": {"02", "03", "04", "05"}}


def needs(nb: str, present: list[str]) -> set[str]:
    """Notebooks among ``present`` (by number) that must finish before ``nb`` starts.

    Known notebooks wait for what they read (``READS_FROM``); any other waits for every earlier one.
    """
    number = nb[:2]
    earlier = {p[:2] for p in present if p[:2] < number}
    return (READS_FROM[number] & earlier) if number in READS_FROM else earlier


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


def run_all(
    notebooks: list[Path], run: str, chosen: dict, declared: dict, out_dir: Path, progress: bool
) -> dict[str, float]:
    """Run ``notebooks``, each as soon as those it reads from are done; return seconds by notebook.

    After a failure nothing new starts; the ones already running finish, then the first error is raised.
    """
    present = [nb.name for nb in notebooks]
    order = {nb.stem: i for i, nb in enumerate(notebooks, 1)}
    pending, running, done, timings, failure = list(notebooks), {}, set(), {}, None
    with kernels.warm_pool(notebooks), ThreadPoolExecutor(max_workers=PARALLEL_NOTEBOOKS) as pool:
        while pending or running:
            ready = [nb for nb in pending if needs(nb.name, present) <= done] if failure is None else []
            for nb in ready:
                pending.remove(nb)
                alone = len(ready) == 1 and not running  # a progress bar only when nothing else prints
                running[
                    pool.submit(
                        run_one, nb, order[nb.stem], len(notebooks), run, chosen, declared, out_dir, progress and alone
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


def run_one(
    nb: Path, i: int, total: int, run: str, chosen: dict, declared: dict, out_dir: Path, progress: bool
) -> float:
    own = {k: v for k, v in chosen.items() if nb.stem in declared[k]["notebooks"]}
    if "run" in declared and nb.stem in declared["run"]["notebooks"]:
        own["run"] = run
    out_nb = out_dir / nb.name
    out_nb.unlink(missing_ok=True)  # may be a hard link to the previous report
    (out_dir / f"{nb.stem}.html").unlink(missing_ok=True)
    say(f"[{i}/{total}] {nb.stem} ...")
    t0 = time.perf_counter()
    try:
        with kernels.measuring(nb.stem):
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
    fingerprint = data_fingerprint(Path(os.environ.get("CLICKSTREAM_RUN_DIR", "")) / "raw")
    website.render_notebook(
        out_nb, out_dir / f"{nb.stem}.html", run, {k: v for k, v in own.items() if k != "run"}, fingerprint
    )
    peak = kernels.PEAK_MB.get(nb.stem)
    say(f"[{i}/{total}] {nb.stem} done in {seconds:.1f} s" + (f", peak {peak:,.0f} MB" if peak else ""))
    return round(seconds, 2)


class NotebookFailed(ReportError):
    """A notebook raised; the executed copy with the error is kept for reading."""

    def __init__(self, notebook: str, ename: str, evalue: str, where: Path):
        self.notebook, self.ename, self.evalue, self.where = notebook, ename, evalue, where
        super().__init__(f"{notebook} failed: {ename}: {evalue}\n  the executed notebook with the error: {where}")
