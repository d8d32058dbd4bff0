"""Which notebook runs when: each starts once the notebooks it reads from have finished (``registry``).

Usage::

    from helpers.runner.schedule import needs, run_all
    needs("06_strategy", present)          # {"02", "03", "04", "05"}
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from helpers import paths, registry
from helpers.data.files import data_fingerprint
from helpers.errors import ReportError
from helpers.runner import freshness

_SAY_LOCK = threading.Lock()


def say(text: str) -> None:
    """One whole line to stdout; lines of notebooks running side by side never interleave."""
    with _SAY_LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


PARALLEL_NOTEBOOKS = 3  # 03, 04 and 05 read only the gold table, so they run side by side


def needs(nb: str, present: list[str]) -> set[str]:
    """Notebooks among ``present`` (by number) that must finish before ``nb`` starts.

    Notebooks in the registry wait for what they read (``registry.reads_from``); any other waits for every
    earlier one.
    """
    number = nb[:2]
    earlier = {p[:2] for p in present if p[:2] < number}
    return (registry.reads_from(number) & earlier) if number in registry.BY_NUMBER else earlier


def stale_after(rerun: set[str], known: set[str]) -> set[str]:
    """Notebooks of ``known`` downstream of a rerun one (transitively) that were not rerun themselves."""
    changed, stale = {n for n in known if n[:2] in {r[:2] for r in rerun}}, set()
    grew = True
    while grew:
        grew = False
        for name in sorted(known - changed):
            if registry.reads_from(name) & {c[:2] for c in changed}:
                changed.add(name)
                stale.add(name)
                grew = True
    return stale


@dataclass
class Reuse:
    """What the last run of these notebooks left to reuse, and whether reuse is allowed.

    ``inputs`` and ``page`` are what ``run.json`` recorded (``freshness.inputs`` per notebook and
    the page template's hash); ``always`` names notebooks that run whatever changed (``--only``);
    ``force`` runs every notebook.
    """

    inputs: dict[str, dict] = field(default_factory=dict)
    page: str | None = None
    always: set[str] = field(default_factory=set)
    force: bool = False


@dataclass
class Outcome:
    """One notebook in one run: its seconds, whether its last output was reused, and why it ran."""

    seconds: float
    reused: bool
    why: list[str]
    inputs: dict[str, str]
    peak_mb: float | None = None  # the kernel's peak resident memory
    cpu_s: float | None = None  # the kernel's CPU s, its start and warm-up included


def likely_reused(notebooks: list[Path], reuse: Reuse, present: list[str], chosen: dict, declared: dict) -> set[str]:
    """Notebooks whose own source, helpers, parameters and environment are unchanged and whose upstream
    notebooks are likely reused too: no kernel is warmed for them (a wrong guess only costs a cold start)."""
    freshness.prime(notebooks)  # here, before any thread starts: the notebooks' threads then parse nothing
    if reuse.force:
        return set()
    likely: set[str] = set()
    for nb in notebooks:
        before = reuse.inputs.get(nb.stem)
        upstream = {p for p in present if p[:2] in registry.reads_from(nb.name)}
        if nb.stem in reuse.always or not before or not upstream <= likely:
            continue
        now = freshness.inputs(nb, own_parameters(nb, chosen, declared), Path(os.devnull), [])
        if all(before.get(k) == v for k, v in now.items()):
            likely.add(nb.stem)
    return likely


def own_parameters(nb: Path, chosen: dict, declared: dict) -> dict:
    """The chosen parameters that notebook ``nb`` declares."""
    return {k: v for k, v in chosen.items() if nb.stem in declared[k]["notebooks"]}


def run_all(
    notebooks: list[Path],
    run: str,
    chosen: dict,
    declared: dict,
    out_dir: Path,
    progress: bool,
    reuse: Reuse | None = None,
) -> dict[str, Outcome]:
    """Run ``notebooks``, each as soon as those it reads from are done, reusing what is up to date.

    After a failure nothing new starts; the ones already running finish, then the first error is raised.
    """
    reuse = reuse or Reuse(force=True)
    present = [nb.stem for nb in notebooks]
    order = {nb.stem: i for i, nb in enumerate(notebooks, 1)}
    pending, running, done, outcomes, failure = list(notebooks), {}, set(), {}, None
    likely = likely_reused(notebooks, reuse, present, chosen, declared)
    warm = [nb for nb in notebooks if nb.stem not in likely]
    with _kernels_warmed(warm), ThreadPoolExecutor(max_workers=PARALLEL_NOTEBOOKS) as pool:
        if warm:  # the front page is written after the last notebook: its imports need not wait for it
            threading.Thread(target=_import_page_modules, daemon=True).start()
        while pending or running:
            ready = [nb for nb in pending if needs(nb.name, present) <= done] if failure is None else []
            for nb in ready:
                pending.remove(nb)
                alone = len(ready) == 1 and not running  # a progress bar only when nothing else prints
                job = Job(nb, order[nb.stem], len(notebooks), run, own_parameters(nb, chosen, declared), present)
                running[pool.submit(run_one, job, out_dir, progress and alone, reuse)] = nb
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                nb = running.pop(future)
                if future.exception() is not None:
                    failure = failure or future.exception()
                else:
                    outcomes[nb.stem] = future.result()
                    done.add(nb.name[:2])
    if failure is not None:
        raise failure
    return outcomes


def _kernels_warmed(notebooks: list[Path]):
    """Kernels warmed for ``notebooks`` while the run lasts, every one stopped when it ends; with none to run,
    jupyter_client is not even loaded."""
    if not notebooks:
        return contextlib.nullcontext()
    from helpers.runner import kernels

    return kernels.warm_pool(notebooks)


def _import_page_modules() -> None:
    """Import what rendering the pages and the front page needs (about 2 s of CPU), and have the page exporter
    compile its templates, while notebooks run; at a lower priority than theirs, since a notebook waits for
    nothing here (Linux gives a thread its own priority)."""
    import importlib

    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    for module in ("helpers.presentation.website", "helpers.presentation.frontpage", "nbconvert"):
        importlib.import_module(module)
    for dotted in registry.result_types().values():
        importlib.import_module(dotted.rpartition(".")[0])
    sys.modules["helpers.presentation.website"].warm_exporter()


@dataclass
class Job:
    """One notebook to run in one run: its place in the order, its parameters, the run's notebooks."""

    nb: Path
    i: int
    total: int
    run: str
    own: dict
    present: list[str]


def run_one(job: Job, out_dir: Path, progress: bool, reuse: Reuse) -> Outcome:
    """Execute and render one notebook, or reuse its last output when nothing it depends on changed."""
    nb, run_dir = job.nb, Path(os.environ.get("CLICKSTREAM_RUN_DIR", ""))
    own = dict(job.own, **({"run": job.run} if "run" in notebook_parameters(nb) else {}))
    now = freshness.inputs(nb, job.own, run_dir, job.present)
    why = ["forced"] if reuse.force else (["chosen with ONLY"] if nb.stem in reuse.always else [])
    why = why or freshness.changes(reuse.inputs.get(nb.stem), now)
    out_nb, page = out_dir / nb.name, out_dir / f"{nb.stem}.html"
    if not why and out_nb.exists() and page.exists():
        if reuse.page != freshness.page():
            _render(out_nb, page, job, run_dir)
        say(f"[{job.i}/{job.total}] {nb.stem} up to date")
        return Outcome(0.0, True, [], now)
    out_nb.unlink(missing_ok=True)  # may be a hard link to the previous report
    page.unlink(missing_ok=True)
    clear_outputs(run_dir, nb.stem)
    say(f"[{job.i}/{job.total}] {nb.stem} runs: {'; '.join(why) or 'its last output is missing'}")
    import papermill  # here, not at the top: a run with nothing to execute loads neither
    from nbclient.exceptions import DeadKernelError

    from helpers.runner import kernels

    t0 = time.perf_counter()
    try:
        with kernels.measuring() as kernel:
            papermill.execute_notebook(
                str(nb),
                str(out_nb),
                parameters=own,
                kernel_name="python3",
                progress_bar=progress,
                log_output=False,
                request_save_on_cell_execute=False,  # saving after every cell cost about 1 CPU-s per report
                kernel_manager_class=kernels.MANAGER,  # warmed ahead, in the notebooks folder, one BLAS thread
            )
    except papermill.PapermillExecutionError as exc:  # papermill saved the notebook up to the failing cell
        where = paths.reports_root() / f"{job.run}.failed" / nb.name
        raise NotebookFailed(nb.stem, exc.ename, exc.evalue, where) from None
    except DeadKernelError:
        peak = kernel.peak_mb
        raise ReportError(
            f"{nb.stem} failed: its kernel died while running"
            + (f" (peak memory {peak:,.0f} MB; most often the machine ran out of memory)" if peak else "")
        ) from None
    seconds = time.perf_counter() - t0
    _render(out_nb, page, job, run_dir)
    peak, cpu = kernel.peak_mb, kernel.cpu_s
    say(f"[{job.i}/{job.total}] {nb.stem} done in {seconds:.1f} s" + (f", peak {peak:,.0f} MB" if peak else ""))
    ended = freshness.inputs(nb, job.own, run_dir, job.present)  # an input it also writes (none today) is seen
    # An input that changed while the notebook ran (a helper or the notebook edited meanwhile) is recorded as it
    # was when the notebook started, so the next run sees the edit and runs the notebook again.
    recorded = {key: now.get(key, value) for key, value in ended.items()}
    return Outcome(round(seconds, 2), False, why, recorded, peak, cpu)


def clear_outputs(run_dir: Path, stem: str) -> None:
    """Remove what notebook ``stem`` wrote in the (staged) run folder, so nothing of its last run survives a rerun.

    The staged folder holds hard links to the published run: removing them leaves that run intact.
    """
    import shutil

    (run_dir / "results" / f"{stem}.json").unlink(missing_ok=True)
    for name in registry.writes(stem):
        shutil.rmtree(run_dir / name, ignore_errors=True)


def _render(out_nb: Path, page: Path, job: Job, run_dir: Path) -> None:
    from helpers.presentation import website

    website.render_notebook(out_nb, page, job.run, job.own, data_fingerprint(run_dir / "raw"))


@functools.cache
def notebook_parameters(nb: Path) -> frozenset[str]:
    """Names the notebook's ``parameters`` cell declares."""
    from helpers.runner import params

    return frozenset(params.declared([nb]))


class NotebookFailed(ReportError):
    """A notebook raised; the executed copy with the error is kept for reading."""

    def __init__(self, notebook: str, ename: str, evalue: str, where: Path):
        self.notebook, self.ename, self.evalue, self.where = notebook, ename, evalue, where
        super().__init__(f"{notebook} failed: {ename}: {evalue}\n  the executed notebook with the error: {where}")
