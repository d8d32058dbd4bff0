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

While the pool is open, kernels are forked from one fork server (``forkserver.py``) that imported
ipykernel and those modules once, so no kernel pays for them again: each is still a process of its
own with a fresh namespace and history. The server is kept for the next run of the same process
(``_kept_server``), or, with ``CLICKSTREAM_KERNEL_SERVER=resident`` (the report command's default),
for the next command (``ResidentServer``). When the server cannot start, or a fork fails, the kernel
is started the usual way. A forked kernel's ``cpu_s`` counts its own work only (the imports are the
server's); its ``peak_mb`` counts the library pages it shares with the server, as a kernel started
the usual way counts its own copy of them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName

from helpers import paths

ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
WARM_AHEAD = 2  # kernels warming or ready at once: more would only compete for the cores


class IPCKernelManager(KernelManager):
    """Kernel over local IPC sockets (no TCP ports), started in the notebooks folder.

    Its ``client()`` is asynchronous, as nbclient's own kernel manager gives: nbclient waits for a cell's
    output and watches the kernel in one event loop, and a blocking client would hold that loop forever
    once the kernel died (measured: a killed kernel hung the runner). ``blocking_client`` is for this module.
    """

    client_class = DottedObjectName("jupyter_client.asynchronous.AsyncKernelClient")

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
        kw["env"] = {**ONE_BLAS_THREAD, **_without_runner_imports(kw.get("env") or os.environ)}
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

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        server = _server
        forked = server.spawn(kernel_cmd, kw) if server and isinstance(self.provisioner, LocalProvisioner) else None
        if forked is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        # What LocalProvisioner.launch_kernel records, so its poll, wait, signals and cleanup work unchanged.
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = forked, forked.pid, forked.pid
        provisioner.cwd = kw.get("cwd") or os.getcwd()
        self._reconcile_connection_info(provisioner.connection_info)

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


def blocking_client(km: KernelManager) -> BlockingKernelClient:
    """A blocking client of ``km``'s kernel (``km.client()`` is asynchronous)."""
    return BlockingKernelClient(**km.get_connection_info(session=True), connection_file=km.connection_file, parent=km)


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
            client = blocking_client(km)
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
_env_at_open: dict[str, str] | None = None  # the runner's environment when the pool opened


def _without_runner_imports(env) -> dict[str, str]:
    """``env`` without what the runner's own imports set in its environment since the pool opened.

    pyarrow and scikit-learn set allocator and OpenMP variables when imported; the runner imports them for
    its pages while kernels start. A kernel's own imports set them alike, and a kernel launched with them
    would differ from the fork server's launch and start the usual way (measured: four of six kernels).
    """
    env = dict(env)
    if _env_at_open is None:
        return env
    for key in set(os.environ) | set(_env_at_open):
        now, then = os.environ.get(key), _env_at_open.get(key)
        if now != then and env.get(key) == now:
            if then is None:
                env.pop(key, None)
            else:
                env[key] = then
    return env


@contextlib.contextmanager
def warm_pool(notebooks: list[Path], ahead: int = WARM_AHEAD, fork: bool = True, fresh: bool = False):
    """Warm a kernel for each of ``notebooks`` (with its imports) while this block runs; unused ones are shut down.

    With ``fork``, kernels started meanwhile are forked from a server that imported what the notebooks import:
    the resident one when ``CLICKSTREAM_KERNEL_SERVER=resident`` (``fresh``: a new one), else this process's.
    """
    global _active, _server, _env_at_open
    _env_at_open = dict(os.environ)
    modules = modules_imported(notebooks)
    folder = resident_folder() if fork and notebooks else None
    if folder is not None:
        _server = ResidentServer(modules, folder, fresh)
    else:
        _server = _kept_server(modules) if fork and notebooks else None
    _active = _Pool([warm_up_code(modules_imported([nb])) for nb in notebooks], ahead)
    try:
        yield
    finally:
        pool, _active = _active, None
        pool.close()
        if isinstance(_server, ResidentServer):
            _server.close()  # the resident server stops this run's kernels still running, and stays
        _server, _env_at_open = None, None


_kept: ForkServer | None = None


def _kept_server(modules: list[str]) -> ForkServer:
    """The fork server of this process, kept from one run to the next (the runs of a test session, or of a
    program calling ``report.execute`` again): it imports what a new run needs beyond what it has. A new one
    starts when the last failed, its script changed or a ``helpers`` module it may have imported changed on
    disk (a kernel forked from it would run the old code). It stops when this process exits (its end of the
    socket closes), stopping any kernel still running."""
    global _kept
    if _kept is None or _kept.broken or _kept.script != SERVER_SCRIPT or _kept.sources != _helpers_stamp():
        if _kept is not None:
            _kept.close()
        _kept = ForkServer(modules)
        atexit.register(_kept.close)
    else:
        _kept.new_run(modules)
    return _kept


def close_kept_server() -> None:
    """Stop this process's fork server and wait for it, so that no process of the run outlives it (and the
    caller's count of its children's CPU includes the server and its kernels)."""
    if _kept is not None:
        _kept.close()


SERVER_SCRIPT = Path(__file__).with_name("forkserver.py")
START_TIMEOUT_S = 180  # the server's imports: 2-3 s on an idle machine
REPLY_TIMEOUT_S = 30
# Environment variables read when called, never at import: runs that differ only in these share a server
# (a forked kernel still gets exactly the environment it was launched with).
READ_WHEN_CALLED = ("CLICKSTREAM_",)
FORKABLE = {"env", "cwd", "independent", "kernel_id"}  # launch arguments a fork honours; any other: a usual start


class ForkServer:
    """The fork server of one run: started by the first kernel launch, with that kernel's Python, environment
    and folder (what the imports see); a later launch with the same three is forked, any other starts as usual.

    Once it fails (cannot start, stops answering), every later kernel starts the usual way.
    """

    def __init__(self, modules: list[str]):
        self.modules = list(modules)
        self.script, self.sources = SERVER_SCRIPT, _helpers_stamp()
        self.pid: int | None = None
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._channel: socket.socket | None = None
        self._buffer = b""
        self._launch: tuple | None = None
        self._broken = False
        self._forked_this_run, self._run_modules = 0, list(modules)

    def spawn(self, cmd: list[str], kw: dict) -> Forked | None:
        """The kernel ``cmd`` forked with launch arguments ``kw`` (as ``launch_kernel`` takes them), or None."""
        cmd = [os.path.expanduser(part) for part in cmd]
        if cmd[1:3] != ["-m", "ipykernel_launcher"] or kw.get("independent") or not hasattr(os, "pidfd_open"):
            return None
        if any(v is not None for k, v in kw.items() if k not in FORKABLE):
            return None
        env = dict(kw.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # as launch_kernel sets it: the kernel's runner
        cwd = kw.get("cwd") or os.getcwd()
        launch = (cmd[0], env, cwd)
        with self._lock:
            if self._launch is not None and _for_imports(launch) != _for_imports(self._launch):
                if self._forked_this_run:
                    return None
                self._stop_process()  # kept from an earlier run launched otherwise: start again as this one
                self.modules = list(self._run_modules)
            if self._broken:
                return None
            try:
                if self._channel is None:
                    self._start(launch)
                reply = self._ask(self._fork_request(cmd[3:], env, cwd))
            except (OSError, ValueError) as exc:
                self._fail(f"{type(exc).__name__}: {exc}")
                return None
        if "pid" not in reply:
            _note(f"a kernel could not be forked ({reply.get('error')}); it starts the usual way")
            return None
        with self._lock:
            self._forked_this_run += 1
        return Forked(reply["pid"], self)

    def _import_request(self, modules: list[str]) -> dict:
        return {"import": modules}

    def _fork_request(self, args: list[str], env: dict, cwd: str) -> dict:
        return {"fork": args, "env": env, "cwd": cwd}

    def new_run(self, modules: list[str]) -> None:
        """A run needing ``modules`` starts using this server: the server imports those it lacks, and until the
        run forks a kernel, a launch unlike the last restarts the server with this run's modules only."""
        with self._lock:
            self._forked_this_run, self._run_modules = 0, list(modules)
        self.add_modules(modules)

    def _stop_process(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._process is not None:
            try:
                self._process.wait(timeout=REPLY_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = self._channel = self._launch = self.pid = None
        self._buffer = b""

    @property
    def broken(self) -> bool:
        return self._broken

    def add_modules(self, modules: list[str]) -> None:
        """Have the server import ``modules`` it has not imported yet (now if it runs, else when it starts)."""
        with self._lock:
            new = [m for m in modules if m not in self.modules]
            self.modules += new
            if not new or self._channel is None or self._broken:
                return
            try:
                ready = self._ask(self._import_request(new)).get("ready")
            except (OSError, ValueError) as exc:
                self._fail(f"{type(exc).__name__}: {exc}")
                return
            if not ready:
                self._fail("it had threads running after importing more modules")

    def status(self, pid: int) -> int:
        """Exit code of the forked kernel ``pid``, which has exited (1 when the server cannot tell)."""
        with self._lock:
            try:
                code = None if self._broken else self._ask({"status": pid}).get("status")
            except (OSError, ValueError):
                code = None
        return 1 if code is None else code

    def close(self) -> None:
        """Close the runner's end: the server stops any kernel still running and exits."""
        with self._lock:
            self._broken = True
            self._stop_process()

    def _start(self, launch: tuple) -> None:
        python, env, cwd = launch
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(
                [python, str(SERVER_SCRIPT), str(theirs.fileno()), *self.modules],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # the terminal's Ctrl-C goes to the runner, which stops the kernels
            )
        self._channel, self._launch = ours, launch
        ours.settimeout(START_TIMEOUT_S)
        ready = self._read()
        if not ready.get("ready"):
            raise OSError("the fork server had threads running after its imports")
        self.pid = ready["pid"]
        ours.settimeout(REPLY_TIMEOUT_S)

    def _ask(self, request: dict) -> dict:
        self._channel.sendall(json.dumps(request).encode() + b"\n")
        return self._read()

    def _read(self) -> dict:
        while b"\n" not in self._buffer:
            data = self._channel.recv(65536)
            if not data:
                raise OSError("the fork server exited")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _fail(self, why: str) -> None:
        self._broken = True
        _note(f"kernels start the usual way: the fork server failed ({why})")
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


class ResidentServer(ForkServer):
    """A fork server kept between commands (``forkserver.py --listen``), one per interpreter, environment, folder
    and installed packages, found by its socket in ``resident_folder()``. This run is one connection to it:
    closing it stops the run's kernels. It drops and imports again the ``helpers`` modules when any changed on
    disk, so an edited helper does not cost the libraries' imports again; it exits after ``idle_s()`` unused."""

    PROJECT = ("helpers",)  # packages whose modules are imported again when one changed on disk

    def __init__(self, modules: list[str], folder: Path, fresh: bool = False):
        super().__init__(modules)
        self.folder, self.fresh = folder, fresh

    def _import_request(self, modules: list[str]) -> dict:
        return {"import": modules, "stamp": _stamp_text(), "project": list(self.PROJECT)}

    def _fork_request(self, args: list[str], env: dict, cwd: str) -> dict:
        # A helper edited since the run began is imported afresh before this kernel is forked.
        return super()._fork_request(args, env, cwd) | {"stamp": _stamp_text(), "project": list(self.PROJECT)}

    def _start(self, launch: tuple) -> None:
        if _private(self.folder) is None:  # checked again where it is used
            raise OSError(f"{self.folder} is no longer a folder private to this user")
        path = self.folder / f"server-{_launch_key(launch)}.sock"
        if len(str(path)) > 100:
            raise OSError(f"the socket path {path} is too long for a Unix socket")
        for attempt in (1, 2):  # a server found may be leaving (retired, or idle) as it is reached: start one
            with _locked(path.with_suffix(".lock")):
                sock = _connect(path)
                if sock is not None and (self.fresh or attempt == 2):  # FORCE=1: the old one ends its runs
                    _request(sock, {"retire": True})
                    sock.close()
                    sock = None
                if sock is None:
                    sock = self._spawn(launch, path)
            self._channel, self._launch, self._buffer = sock, launch, b""
            sock.settimeout(START_TIMEOUT_S)
            try:
                ready = self._ask(self._import_request(self.modules))
                break
            except (OSError, ValueError):
                sock.close()
                if attempt == 2:
                    raise
        if not ready.get("ready"):
            raise OSError("the resident fork server had threads running after its imports")
        self.pid = ready["pid"]
        sock.settimeout(REPLY_TIMEOUT_S)

    def _spawn(self, launch: tuple, path: Path) -> socket.socket:
        python, env, cwd = launch
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        log = os.open(path.with_suffix(".log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:  # the log takes the kernels' own output too (not the notebooks')
            process = subprocess.Popen(
                [python, str(SERVER_SCRIPT), "--listen", str(path), str(idle_s()), *self.modules],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # outlives this command; holds none of its pipes
            )
        finally:
            os.close(log)
        _started_servers.append(process)  # never waited for: it is meant to outlive this process
        return _connect_when_listening(path, process)


_started_servers: list[subprocess.Popen] = []


def resident_folder() -> Path | None:
    """Where resident fork servers listen, when ``CLICKSTREAM_KERNEL_SERVER`` is ``resident`` (the report
    command's default); None otherwise, or when the folder could let another user in."""
    if os.environ.get("CLICKSTREAM_KERNEL_SERVER", "process") != "resident" or not hasattr(os, "pidfd_open"):
        return None
    folder = Path(
        os.environ.get("CLICKSTREAM_KERNEL_SERVER_DIR")
        or Path(tempfile.gettempdir()) / f"clickstream-kernel-servers-{os.getuid()}"
    )
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        _note(f"no resident kernel server ({exc}); this run imports the libraries itself")
        return None
    if _private(folder) is None:
        _note(
            f"no resident kernel server: {folder} is not a folder private to this user (a symlink, or open to others)"
        )
        return None
    return folder


def _private(folder: Path) -> Path | None:
    """``folder`` when it is a real folder (not a symlink) owned by this user and closed to others, else None."""
    import stat

    try:
        info = os.lstat(folder)
    except OSError:
        return None
    ok = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
    return folder if ok else None


def idle_s() -> float:
    """Seconds a resident server waits unused before it exits (``CLICKSTREAM_KERNEL_SERVER_IDLE_S``, 600)."""
    given = os.environ.get("CLICKSTREAM_KERNEL_SERVER_IDLE_S", "600")
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        _note(f"CLICKSTREAM_KERNEL_SERVER_IDLE_S must be a number of seconds, got {given!r}; using 600")
        return 600.0
    return seconds


# Set by the shell, make or the runner and read by no library when imported: commands that differ only in
# these share a resident server (JPY_PARENT_PID is the runner's pid, read by a kernel when it starts).
NOT_READ_BY_IMPORTS = {"JPY_PARENT_PID", "PWD", "OLDPWD", "SHLVL", "_", "COLUMNS", "LINES"} | {
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKEOVERRIDES",
    "MAKE_TERMOUT",
    "MAKE_TERMERR",  # make
    "SSH_CLIENT",
    "SSH_CONNECTION",
    "SSH_TTY",
    "TMUX_PANE",
    "WINDOWID",
    "TERM_SESSION_ID",  # the terminal
}


def _launch_key(launch: tuple) -> str:
    """One resident server per interpreter, folder, environment (less what is read when called), server script
    and installed packages (an install or upgrade changes the site-packages folder)."""
    import hashlib
    import sysconfig

    python, env, cwd = _for_imports(launch)
    env = {k: v for k, v in env.items() if k not in NOT_READ_BY_IMPORTS}
    stamps = []  # the interpreter, its standard library and the packages: replaced or upgraded, a new server
    for folder in (os.path.realpath(python), sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]):
        with contextlib.suppress(OSError):
            stamps.append((folder, os.stat(folder).st_mtime_ns))
    text = json.dumps([python, sorted(env.items()), cwd, SERVER_SCRIPT.read_bytes().hex(), stamps])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _stamp_text() -> str:
    import hashlib

    return hashlib.sha256(repr(_helpers_stamp()).encode()).hexdigest()[:16]


LOCK_WAIT_S = 60  # another command starting the same server: its imports take a few seconds


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (two commands starting at once start one server); OSError after
    ``LOCK_WAIT_S``, so a command never waits on another for ever (its kernels then start the usual way)."""
    import fcntl

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OSError(f"{path} stayed locked by another command for {LOCK_WAIT_S} s") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


CONNECT_TIMEOUT_S = 5  # a server that does not accept within this is stuck: none is used


def _connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT_S)
    try:
        sock.connect(str(path))
    except OSError:  # none there, or a socket left by a server that died
        sock.close()
        return None
    return sock


def _connect_when_listening(path: Path, process: subprocess.Popen) -> socket.socket:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        sock = _connect(path)
        if sock is not None:
            return sock
        if process.poll() is not None:
            raise OSError(f"the resident fork server exited with code {process.returncode}")
        time.sleep(0.01)
    raise OSError("the resident fork server did not start listening")


def _request(sock: socket.socket, message: dict) -> dict:
    """One request and its answer; {} when the server left meanwhile (it was exiting)."""
    try:
        sock.settimeout(REPLY_TIMEOUT_S)
        sock.sendall(json.dumps(message).encode() + b"\n")
        return json.loads(sock.makefile("rb").readline() or b"{}")
    except OSError:
        return {}


def resident_servers(folder: Path | None = None) -> list[Path]:
    """The sockets of the resident servers listening in ``folder`` (``resident_folder()`` when None)."""
    folder = folder or resident_folder()
    return sorted(folder.glob("server-*.sock")) if folder is not None else []


def resident_cpu_s(folder: Path) -> dict[int, float]:
    """CPU seconds each resident server in ``folder`` (by pid) and its finished kernels have used: a benchmark
    reads the difference before and after a run, whose kernels are not its children."""
    used = {}
    for path in resident_servers(folder):
        sock = _connect(path)
        if sock is not None:
            with sock:
                times = _request(sock, {"times": True})
            if "pid" in times:
                used[times["pid"]] = times["cpu"] + times["children_cpu"]
    return used


def retire_resident(folder: Path | None = None, stamp: str | None = None) -> int:
    """Retire the resident servers in ``folder``: each exits when its runs end (at once when idle). With ``stamp``
    they stay, and instead import the ``helpers`` modules afresh for the next run, as after an edit."""
    count = 0
    for path in resident_servers(folder):
        sock = _connect(path)
        if sock is None:
            continue
        with sock:
            if stamp is None:
                _request(sock, {"retire": True})
            else:
                _request(sock, {"import": [], "stamp": stamp, "project": list(ResidentServer.PROJECT)})
        count += 1
    return count


def _helpers_stamp() -> tuple:
    """Path, size and modification time of every ``helpers`` module."""
    files = sorted(Path(paths.PROJECT_ROOT, "helpers").rglob("*.py"))
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def _for_imports(launch: tuple) -> tuple:
    """What of a launch the server's imports could see: the interpreter, folder and environment, less the
    variables read only when called (``READ_WHEN_CALLED``)."""
    python, env, cwd = launch
    return python, {k: v for k, v in env.items() if not k.startswith(READ_WHEN_CALLED)}, cwd


class Forked:
    """A forked kernel as jupyter_client's provisioner uses a Popen: poll, wait and signals (through a pidfd,
    which names this process even after its pid is reused); its exit code comes from the server."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, server: ForkServer):
        self.pid, self.returncode, self._server = pid, None, server
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except OSError:  # already exited and reaped
            self._pidfd = None

    def poll(self) -> int | None:
        if self.returncode is None and (self._pidfd is None or select.select([self._pidfd], [], [], 0)[0]):
            self.returncode = self._server.status(self.pid)
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_server: ForkServer | None = None


def _note(text: str) -> None:
    sys.stderr.write(f"note: {text}\n")


class WarmKernelManager(IPCKernelManager):
    """What papermill constructs: a warmed kernel from the active pool, else a new one."""

    def __new__(cls, **kwargs):
        km = _active.take() if _active is not None else None
        # Not an instance of this class, so Python does not run __init__ on it again.
        return km if km is not None else IPCKernelManager(**kwargs)


if __name__ == "__main__":  # python -m helpers.runner.kernels stop
    if sys.argv[1:] != ["stop"]:
        raise SystemExit("usage: python -m helpers.runner.kernels stop")
    os.environ["CLICKSTREAM_KERNEL_SERVER"] = "resident"  # whatever this shell set: stop the resident ones
    print(f"resident kernel servers asked to leave (each finishes the runs it has first): {retire_resident()}")
