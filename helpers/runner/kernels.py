"""Jupyter kernels for the runner: local IPC sockets, and a pool of kernels warmed in advance.

Starting a kernel and importing pandas, SciPy, statsmodels and matplotlib takes two to three
seconds, the same for every notebook. The pool does that for the next notebooks while the
current ones run, so a notebook starts on a kernel that is already up with the libraries
imported. Usage (the runner does this)::

    with kernels.warm_pool(notebooks):
        papermill.execute_notebook(..., kernel_manager_class="helpers.runner.kernels.WarmKernelManager")

A warmed kernel has imported the modules the notebooks import (read from their code), inside a
function that leaves no name behind and outside the notebook's history; the notebook's own
cells do everything else, so a notebook that forgets an import still fails as on a fresh kernel.
Without a pool, or when warming fails, a kernel is started the usual way.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import tempfile
import threading
import uuid
from pathlib import Path

from jupyter_client.manager import KernelManager

from helpers import paths

ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
WARM_AHEAD = 2  # kernels warming or ready at once: more would only compete for the cores


class IPCKernelManager(KernelManager):
    """Kernel over local IPC sockets (no TCP ports), started in the notebooks folder."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        runtime = Path(tempfile.gettempdir()) / "clickstream-kernels"
        runtime.mkdir(exist_ok=True)
        self.ip = str(runtime / f"kernel-{uuid.uuid4().hex[:12]}")

    async def _async_pre_start_kernel(self, **kw):
        kw["cwd"] = str(paths.NOTEBOOKS_DIR)  # notebooks open files relative to their folder
        # Notebooks run side by side, one core each: a BLAS that also spreads over every core
        # oversubscribes them (measured: 03's model fits 3x slower). A user's own setting wins.
        kw["env"] = {**ONE_BLAS_THREAD, **(kw.get("env") or os.environ)}
        return await super()._async_pre_start_kernel(**kw)

    def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        name = getattr(_measured, "notebook", None)
        process = getattr(self.provisioner, "process", None)
        if name and process is not None:
            peak = peak_rss_mb(process.pid)
            if peak is not None:
                PEAK_MB[name] = peak
            cpu = cpu_seconds(process.pid)
            if cpu is not None:
                CPU_S[name] = cpu
        super().shutdown_kernel(now=now, restart=restart)

    async def _async_interrupt_kernel(self) -> None:
        # jupyter_client interrupts (SIGINT) before every shutdown; a kernel still flushing
        # output then logs "KeyboardInterrupt caught in kernel". A finished notebook needs no
        # interrupt: the shutdown request that follows stops the kernel.
        if not self.shutting_down:
            await super()._async_interrupt_kernel()


IMPORT = re.compile(r"^import\s+(?P<modules>[\w.]+(?:\s*,\s*[\w.]+)*)")
FROM = re.compile(r"^from\s+(?P<module>[\w.]+)\s+import\s+(?P<names>[^#]*)")


def modules_imported(notebooks: list[Path]) -> list[str]:
    """Modules the code cells of ``notebooks`` import at top level (``from a import b`` gives a and a.b)."""
    names: list[str] = []
    for path in notebooks:
        try:
            cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue  # papermill reports an unreadable notebook; warming just skips it
        for line in "\n".join("".join(c.get("source", [])) for c in cells if c.get("cell_type") == "code").splitlines():
            if match := IMPORT.match(line):
                names += [n.strip() for n in match["modules"].split(",")]
            elif match := FROM.match(line):
                names.append(match["module"])
                items = match["names"].replace("(", " ").replace(")", " ").split(",")
                names += [f"{match['module']}.{item.split()[0]}" for item in items if item.strip()]
    return list(dict.fromkeys(n for n in names if not n.startswith(".")))


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


# Peak resident memory and CPU seconds of each notebook's kernel, read just before it stops (Linux).
PEAK_MB: dict[str, float] = {}
CPU_S: dict[str, float] = {}
_measured = threading.local()


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident memory of process ``pid`` in MB (``VmHWM``), or None where /proc has none."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds process ``pid`` has used so far (start-up and warm-up included), or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def measuring(notebook: str):
    """Record the peak memory of the kernel that runs ``notebook`` in this thread into ``PEAK_MB``."""
    _measured.notebook = notebook
    try:
        yield
    finally:
        _measured.notebook = None


class _Pool:
    """Keeps up to ``ahead`` kernels warming or ready, one per warm-up code, in order."""

    def __init__(self, codes: list[str], ahead: int):
        self._lock = threading.Lock()
        self._ready: queue.Queue = queue.Queue()
        self._codes, self._ahead, self._open, self._closed = list(codes), ahead, 0, False
        self._refill()

    def _refill(self) -> None:
        with self._lock:
            while not self._closed and self._open < self._ahead and self._codes:
                self._open += 1
                threading.Thread(target=self._warm, args=(self._codes.pop(0),), daemon=True).start()

    def _warm(self, code: str) -> None:
        km = None
        try:
            km = IPCKernelManager(kernel_name="python3")
            km.start_kernel()
            client = km.client()
            client.start_channels()
            try:
                client.wait_for_ready(timeout=60)
                reply = client.execute_interactive(code, silent=True, store_history=False, timeout=120)
                if reply["content"]["status"] != "ok":
                    raise RuntimeError("warm-up failed")
            finally:
                client.stop_channels()
        except Exception:  # a kernel that cannot be warmed is replaced by a cold start
            _shutdown(km)
            km = None
        with self._lock:
            closed = self._closed
        if closed:
            _shutdown(km)
        else:
            self._ready.put(km)

    def take(self) -> KernelManager | None:
        """A warmed kernel (waiting for one being warmed), or None when none is coming."""
        with self._lock:
            if self._open == 0:
                return None
        km = self._ready.get()
        with self._lock:
            self._open -= 1
        self._refill()
        return km

    def close(self) -> None:
        with self._lock:
            self._closed = True
        while True:
            try:
                _shutdown(self._ready.get_nowait())
            except queue.Empty:
                return


def _shutdown(km: KernelManager | None) -> None:
    if km is not None:
        with contextlib.suppress(Exception):
            km.shutdown_kernel(now=True)
            km.cleanup_resources()


_active: _Pool | None = None


@contextlib.contextmanager
def warm_pool(notebooks: list[Path], ahead: int = WARM_AHEAD):
    """Warm a kernel for each of ``notebooks`` (with its imports) while this block runs; unused ones are shut down."""
    global _active
    _active = _Pool([warm_up_code(modules_imported([nb])) for nb in notebooks], ahead)
    try:
        yield
    finally:
        pool, _active = _active, None
        pool.close()


class WarmKernelManager(IPCKernelManager):
    """What papermill constructs: a warmed kernel from the active pool, else a new one."""

    def __new__(cls, **kwargs):
        km = _active.take() if _active is not None else None
        # Not an instance of this class, so Python does not run __init__ on it again.
        return km if km is not None else IPCKernelManager(**kwargs)
