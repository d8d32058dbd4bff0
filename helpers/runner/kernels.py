"""Jupyter kernels for the runner: started the usual way, over private IPC sockets, and warmed ahead.

Every notebook runs on a kernel that jupyter_client starts as it always does (``python -m
ipykernel_launcher``, a child process of the runner), with three settings of the runner's: it starts in
the notebooks folder, with one BLAS thread (a user's own setting wins), and it talks over Unix sockets in
a folder only this user can open (``socket_folder``). Usage (the runner does this)::

    with kernels.warm_pool(notebooks):                       # kernels started ahead; all stopped at the end
        with kernels.measuring() as kernel:
            papermill.execute_notebook(..., kernel_manager_class=kernels.MANAGER)
        kernel.peak_mb, kernel.cpu_s

Starting a kernel and importing pandas, SciPy, statsmodels and matplotlib takes two to three seconds. While
notebooks run, the pool starts the kernels of the next ones (``kernels_ahead()`` at a time) and has each
import what its notebook imports, inside a function that binds no name and outside the history, so a
notebook that forgets an import still fails as on a fresh kernel. When warming fails, or
``CLICKSTREAM_KERNELS_AHEAD=0``, a kernel starts when its notebook starts.

No kernel outlives the block: nbclient stops each notebook's kernel when the notebook ends, and the pool
stops the kernels it warmed that no notebook took and any other it saw start that still runs. A kernel whose
runner is killed exits by itself within a second or two (ipykernel watches its parent process).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import stat
import sys
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path

from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager
from traitlets import DottedObjectName

from helpers import paths
from helpers.errors import ReportError
from helpers.runner import imports

# Notebooks run side by side, one core each: a BLAS that also spreads over every core oversubscribes them
# (measured: 03's model fits 3x slower). A user's own setting wins.
ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
AHEAD = 2  # kernels warming or ready at once: more would only compete for the cores
WARM_TIMEOUT_S = 180  # a warm-up's imports: 2-3 s on an idle machine
SAMPLE_EVERY_S = 0.5  # how often a running kernel's memory is read (its peak survives its death)
MANAGER = "helpers.runner.kernels.WarmKernelManager"  # what papermill is given as kernel_manager_class


def socket_folder() -> Path:
    """The folder of the kernels' IPC sockets: ``clickstream-kernels-<uid>`` in the temporary folder, created
    private (0700) to this user, and checked each time: another user's folder, a link or one others can open
    is refused (a ReportError naming it), since whoever can open a kernel's sockets can run code in it."""
    folder = Path(tempfile.gettempdir()) / f"clickstream-kernels-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    wrong = [
        "not a folder" if not stat.S_ISDIR(info.st_mode) else "",
        f"owned by user {info.st_uid}" if info.st_uid != os.getuid() else "",
        f"mode {oct(info.st_mode & 0o777)}" if info.st_mode & 0o077 else "",
    ]
    if any(wrong):
        raise ReportError(
            f"the kernels' socket folder {folder} must be a folder (not a link) that you own and only you can open "
            f"(mode 0700); it is {', '.join(w for w in wrong if w)}: remove it and run again"
        )
    return folder


STALE_S = 24 * 3600  # a socket left this long ago is a killed command's: no kernel of ours runs for a day


def remove_stale_sockets(folder: Path) -> None:
    """Remove the sockets that kernels of killed commands left in ``folder`` more than ``STALE_S`` ago."""
    old = time.time() - STALE_S
    for path in folder.glob("kernel-*"):
        with contextlib.suppress(OSError):
            if path.is_socket() and path.lstat().st_mtime < old:
                path.unlink()


def kernels_ahead() -> int:
    """Kernels warmed ahead at once: ``CLICKSTREAM_KERNELS_AHEAD`` (default 2; 0 starts each kernel when its
    notebook starts)."""
    given = os.environ.get("CLICKSTREAM_KERNELS_AHEAD", str(AHEAD)).strip()
    if given.isdigit():
        return int(given)
    sys.stderr.write(f"note: CLICKSTREAM_KERNELS_AHEAD must be a whole number, got {given!r}; using {AHEAD}\n")
    return AHEAD


class Measured:
    """Peak resident memory (MB) and CPU seconds of the kernel of one notebook, read while it runs and once more
    just before it stops (a kernel that died keeps its last reading)."""

    def __init__(self):
        self.pid: int | None = None
        self.peak_mb: float | None = None
        self.cpu_s: float | None = None
        self._lock = threading.Lock()

    def read(self) -> None:
        pid = self.pid
        if pid is None:
            return
        peak, cpu = peak_rss_mb(pid), cpu_seconds(pid)
        with self._lock:
            if peak is not None:
                self.peak_mb = max(peak, self.peak_mb or 0.0)
            if cpu is not None:
                self.cpu_s = cpu


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of process ``pid`` in MB: the kernel's own high-water mark where /proc has it (Linux),
    else its resident memory now (sampled every ``SAMPLE_EVERY_S``, so the peak seen); None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    import psutil

    try:
        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except psutil.Error:
        return None


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds process ``pid`` has used so far (start-up and warm-up included), or None."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return round(times.user + times.system, 2)


_measuring = threading.local()


@contextlib.contextmanager
def measuring():
    """Measure the kernel that a notebook run in this thread (within the block) is given: yields its
    ``Measured``, read every ``SAMPLE_EVERY_S`` and just before the kernel stops."""
    measured, stop = Measured(), threading.Event()
    _measuring.current = measured

    def keep_reading() -> None:
        while not stop.wait(SAMPLE_EVERY_S):
            measured.read()

    reader = threading.Thread(target=keep_reading, daemon=True)
    reader.start()
    try:
        yield measured
    finally:
        stop.set()
        reader.join()
        _measuring.current = None


class NotebookKernelManager(KernelManager):
    """A kernel started the usual way, over IPC sockets in ``socket_folder()``, in the notebooks folder, with one
    BLAS thread; it reads its process's memory and CPU for ``measuring`` before it stops.

    Its ``client()`` is asynchronous, as nbclient's own kernel manager gives: nbclient waits for a cell's output
    and watches the kernel in one event loop, and a blocking client would hold that loop forever once the kernel
    died (measured: a killed kernel hung the runner). ``blocking_client`` is for this module.
    """

    client_class = DottedObjectName("jupyter_client.asynchronous.AsyncKernelClient")

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(socket_folder() / f"kernel-{uuid.uuid4().hex[:12]}"))
        super().__init__(**kwargs)
        self.measured: Measured | None = None
        self.group: int | None = None  # the kernel's process group (its session): what it started runs in it
        pool = _pool  # read once: the pool may close meanwhile
        if pool is not None:
            pool.saw(self)

    def start_kernel(self, **kw) -> None:
        kw.setdefault("cwd", str(paths.NOTEBOOKS_DIR))  # notebooks open files relative to their folder
        kw["env"] = {**ONE_BLAS_THREAD, **(kw.get("env") or os.environ)}
        super().start_kernel(**kw)
        self.group = getattr(self.provisioner, "pgid", None)
        self.measure(self.measured)

    def measure(self, measured: Measured | None) -> None:
        """Report this kernel's memory and CPU to ``measured`` (from now on, and once more before it stops)."""
        self.measured = measured
        if measured is not None and self.has_kernel:
            measured.pid = getattr(self.provisioner, "pid", None)
            measured.read()

    def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Stop the kernel as jupyter_client does, less the interrupt it sends first: a kernel whose notebook has
        finished needs none, and an idle ipykernel that gets one logs "KeyboardInterrupt caught in kernel"."""
        if self.measured is not None:
            self.measured.read()
        if restart or not self.has_kernel:
            super().shutdown_kernel(now=now, restart=restart)
            return
        if now:
            self.signal_kernel(signal.SIGKILL)
        else:
            self.request_shutdown()
        self.finish_shutdown()  # waits for it to exit; terminates, then kills it, if it does not
        self.cleanup_resources()

    def cleanup_resources(self, restart: bool = False) -> None:
        super().cleanup_resources(restart=restart)  # also what nbclient calls after a kernel that died
        if not restart:
            self.stop_group()

    def stop_group(self) -> None:
        """Kill what the stopped kernel left running in its process group (a notebook's own subprocesses)."""
        group, self.group = self.group, None
        if group is not None and group != os.getpgrp():
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)


class WarmKernelManager(NotebookKernelManager):
    """What papermill constructs (``MANAGER``): a kernel warmed by the open pool, else a new one it starts."""

    def __new__(cls, **kwargs):
        pool = _pool  # read once: the pool may close meanwhile
        km = pool.take() if pool is not None else None
        km = km if km is not None else NotebookKernelManager(**kwargs)
        km.measure(getattr(_measuring, "current", None))
        return km  # not an instance of this class, so Python does not run __init__ on it again


def modules_imported(notebooks: list[Path]) -> list[str]:
    """Modules the code cells of ``notebooks`` import at top level (``from a import b`` gives a and a.b), read
    by the same parser as freshness (``imports.top_level``)."""
    names: list[str] = []
    for path in notebooks:
        try:
            cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue  # papermill reports an unreadable notebook; warming just skips it
        for cell in cells:
            if cell.get("cell_type") == "code":
                source = "".join(cell.get("source", []))
                names += imports.top_level(source) or imports.top_level(imports.without_magics(source))
    return list(dict.fromkeys(names))


def warm_up_code(modules: list[str]) -> str:
    """Code importing ``modules`` (each may fail: ``from a import f`` names no module a.f) and binding nothing."""
    return (
        "def _warm_up(names):\n"
        "    import importlib\n"
        "    for name in names:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except Exception:\n"
        "            pass\n"
        f"_warm_up({modules!r})\n"
        "del _warm_up\n"
    )


def blocking_client(km: KernelManager) -> BlockingKernelClient:
    """A blocking client of ``km``'s kernel (``km.client()`` is asynchronous)."""
    return BlockingKernelClient(**km.get_connection_info(session=True), connection_file=km.connection_file, parent=km)


def warm_up(km: KernelManager, code: str, cancelled: threading.Event) -> bool:
    """Run ``code`` silently (no history, no output) on ``km``'s kernel; False when it failed, the kernel died,
    it took ``WARM_TIMEOUT_S`` or ``cancelled`` was set meanwhile (checked every fifth of a second)."""
    client = blocking_client(km)
    client.start_channels(iopub=False, stdin=False, hb=False, control=False)
    try:
        asked = client.execute(code, silent=True, store_history=False)
        deadline = time.monotonic() + WARM_TIMEOUT_S
        while not cancelled.is_set() and time.monotonic() < deadline:
            try:
                reply = client.get_shell_msg(timeout=0.2)
            except queue.Empty:
                if not km.is_alive():
                    return False
                continue
            if reply["parent_header"].get("msg_id") == asked:
                return reply["content"]["status"] == "ok"
        return False
    finally:
        client.stop_channels()


def stop(km: KernelManager | None) -> None:
    """Stop ``km``'s kernel at once if it still runs (and remove its connection file and sockets)."""
    if km is None:
        return
    with contextlib.suppress(Exception):
        if km.is_alive():
            km.shutdown_kernel(now=True)


class _Pool:
    """Up to ``ahead`` kernels warming or ready at once, one per warm-up code, in order; it knows every kernel
    manager made while it is open, so that closing it stops them all."""

    def __init__(self, codes: list[str], ahead: int):
        self._lock = threading.Lock()
        self._ready: queue.Queue = queue.Queue()
        self._codes, self._ahead, self._open = list(codes), ahead, 0
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seen: weakref.WeakSet = weakref.WeakSet()
        self._refill()

    def saw(self, km: KernelManager) -> None:
        with self._lock:
            self._seen.add(km)

    def _refill(self) -> None:
        with self._lock:
            while not self._closing.is_set() and self._open < self._ahead and self._codes:
                self._open += 1
                thread = threading.Thread(target=self._warm, args=(self._codes.pop(0),), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _warm(self, code: str) -> None:
        km = None
        try:
            km = NotebookKernelManager(kernel_name="python3")
            self.saw(km)  # the pool may not be ``_pool`` yet: its first kernels start as it opens
            km.start_kernel()
            if not warm_up(km, code, self._closing):
                raise RuntimeError("not warmed")
        except Exception:  # a kernel that cannot be warmed is replaced by one started when its notebook starts
            stop(km)
            km = None
        self._ready.put(km)

    def take(self) -> KernelManager | None:
        """A warmed kernel (waiting for one being warmed), or None when none is coming."""
        with self._lock:
            if self._open == 0 or self._closing.is_set():
                return None
            self._open -= 1
        km = self._ready.get()
        self._refill()
        return km

    def close(self) -> None:
        """Stop warming, then stop every kernel still running that was made while the pool was open."""
        self._closing.set()
        for thread in self._threads:
            thread.join()
        with self._lock:
            seen = list(self._seen)
        for km in seen:
            stop(km)


_pool: _Pool | None = None


@contextlib.contextmanager
def warm_pool(notebooks: list[Path], ahead: int | None = None):
    """Warm a kernel for each of ``notebooks`` (with its imports), ``ahead`` at a time (``kernels_ahead()``),
    while this block runs; at its end, every kernel made meanwhile that still runs is stopped."""
    global _pool
    ahead = kernels_ahead() if ahead is None else ahead
    remove_stale_sockets(socket_folder())
    _pool = _Pool([warm_up_code(modules_imported([nb])) for nb in notebooks], ahead)
    try:
        yield
    finally:
        pool, _pool = _pool, None
        pool.close()
