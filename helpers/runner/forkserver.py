"""A fork server for notebook kernels: ipykernel and the notebooks' libraries are imported once, then each
kernel is a forked child that becomes a fresh IPython kernel.

Started by ``kernels.ForkServer`` as a script (``python forkserver.py FD MODULE ...``), never as part of the
``helpers.runner`` package, so the children hold nothing a kernel started the usual way would not. It runs
in the kernels' folder with the kernels' environment, imports, then answers requests on the socket ``FD``,
one JSON line each way:

    {"fork": [args of ipykernel_launcher], "env": {...}, "cwd": "..."}  ->  {"pid": 123}
    {"status": 123}                                                        ->  {"status": 0}   (after it exited)
    {"import": ["module", ...]}                                            ->  {"ready": true}  (no thread started)

Each child starts a session of its own (as ``launch_kernel`` does), takes the given cwd, environment (with
what the imports added to it, as a kernel's own imports would) and arguments, and runs ``ipykernel_launcher``
as ``python -m`` would; it is killed if this server dies. The server stops its kernels and exits when the
runner's end of the socket closes (the runner finished, or was killed). Only the standard library is
imported before the requested modules.

**Resident** (``python forkserver.py --listen PATH IDLE_S MODULE ...``): the server listens on the Unix socket
``PATH`` and outlives the command that started it, so the next ``make report`` forks its kernels at once. Each
connection is one run: when it closes, that run's kernels are stopped. Three more requests:

    {"import": [...], "stamp": "...", "project": ["helpers"]}  a changed stamp (also sent with each fork) first
                                                               drops the project's modules (edited on disk), so
                                                               they are imported afresh
    {"times": true}    ->  {"cpu": s, "children_cpu": s, "pid": 123}   (its CPU and its reaped kernels')
    {"retire": true}   ->  {"retired": true}   (no new connection; it exits when its runs end)

It exits after ``IDLE_S`` seconds without a connection, removing its socket. It serves only its own user (the
peer's uid), and a request it cannot read ends that connection only.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import io
import json
import os
import runpy
import select
import signal
import socket
import sys
import threading
import time
import traceback

# What a kernel imports while it starts (ipykernel's application, shell, debugger and history).
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.history",
    "psutil",
)
INLINE = "module://matplotlib_inline.backend_inline"  # ipykernel's default backend, set before any notebook code
REAP_EVERY_S = 0.5
STOP_GRACE_S = 2.0


def import_quietly(modules: list[str]) -> None:
    """Import ``modules`` (each may fail, as ``from a import f`` names no module a.f) with their output and
    warnings discarded, as a warm-up cell's would be."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for name in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(name)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--listen":
        return main_resident(argv[1], float(argv[2]), argv[3:])
    channel = socket.socket(fileno=int(argv[0]))
    started_env = _import_all(argv[1:])
    python_threads = threading.active_count()  # a Python thread could hold a lock a child would inherit
    _send(channel, {"ready": python_threads == 1, "pid": os.getpid()})
    if python_threads != 1:
        return 1
    serve(channel, started_env)
    return 0


def _import_all(modules: list[str]) -> dict[str, str]:
    """What a kernel imports while it starts, then ``modules``; returns the environment from before the imports."""
    if sys.path and sys.path[0] == os.path.dirname(os.path.realpath(__file__)):
        del sys.path[0]  # as ipykernel_launcher removes the folder it was started from
    started_env = dict(os.environ)
    import_quietly(list(KERNEL_MODULES))
    import_for_kernels(modules, started_env)
    return started_env


def main_resident(path: str, idle_s: float, modules: list[str]) -> int:
    """Listen on ``path`` first (a runner connecting meanwhile waits for the imports), import, then serve runs."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    own = os.stat(path).st_ino
    try:
        started_env = _import_all(modules)
        if threading.active_count() != 1:
            return 1  # every run's first request then fails, and its kernels start the usual way
        Resident(listener, (path, own), started_env, idle_s).serve()
        return 0
    finally:
        _unlink_own(path, own)
        listener.close()


def _unlink_own(path: str, inode: int) -> None:
    """Remove the socket file if it is still this server's (a newer server may have taken the path)."""
    with contextlib.suppress(OSError):
        if os.stat(path).st_ino == inode:
            os.unlink(path)


class Resident:
    """The resident server's loop: connections (one per run), each with its kernels."""

    def __init__(self, listener: socket.socket, own: tuple[str, int], started_env: dict[str, str], idle_s: float):
        self.listener, self.own, self.started_env, self.idle_s = listener, own, started_env, idle_s
        self.runs: dict[socket.socket, dict] = {}  # connection -> {"buffer": bytes, "children": {pid: code}}
        self.stamp: str | None = None
        self.retired = False

    def serve(self) -> None:
        idle_since = time.monotonic()
        try:
            while True:
                waiting = [*self.runs] if self.retired else [self.listener, *self.runs]
                readable, _, _ = select.select(waiting, [], [], REAP_EVERY_S)
                for run in self.runs.values():
                    _reap(run["children"])
                for sock in readable:
                    if sock is self.listener:
                        if self.retired:  # retired by a request read just before: its listener is closed
                            continue
                        conn, _ = self.listener.accept()
                        if _peer_uid(conn) == os.getuid():  # the folder is private; this checks again
                            self.runs[conn] = {"buffer": b"", "children": {}}
                        else:
                            conn.close()
                    elif sock in self.runs and not self._serve(sock):
                        self._end(sock)
                if self.runs:
                    idle_since = time.monotonic()
                elif self.retired or time.monotonic() - idle_since > self.idle_s:
                    return
        finally:
            for sock in list(self.runs):
                self._end(sock)

    def _end(self, sock: socket.socket) -> None:
        _stop(self.runs.pop(sock)["children"])
        sock.close()

    def _serve(self, sock: socket.socket) -> bool:
        """Answer what ``sock`` sent; False once its runner is gone."""
        run = self.runs[sock]
        try:
            data = sock.recv(65536)
            if not data:
                return False
            run["buffer"] += data
            while b"\n" in run["buffer"]:
                line, run["buffer"] = run["buffer"].split(b"\n", 1)
                _send(sock, self._answer(json.loads(line), sock, run["children"]))
        except Exception:  # the runner went away, or sent what is not a request: only its run ends
            return False
        return True

    def _answer(self, request: dict, sock: socket.socket, children: dict) -> dict:
        if request.get("times"):
            for run in self.runs.values():
                _reap(run["children"])
            t = os.times()
            return {"cpu": t.user + t.system, "children_cpu": t.children_user + t.children_system, "pid": os.getpid()}
        if request.get("retire"):
            self._retire()
            return {"retired": True}
        stamp = request.get("stamp")
        if stamp is not None and stamp != self.stamp:  # sent with every import and fork request
            if self.stamp is not None:
                forget(request.get("project", []))  # edited on disk since they were imported
            self.stamp = stamp
        if "import" in request:
            answer = _answer(request, sock, children, self.started_env) | {"pid": os.getpid()}
            if not answer["ready"]:
                self._retire()  # an import left a thread running: no later run can fork from here
            return answer
        close = [self.listener, *self.runs]  # a kernel holds no runner's connection and not the listener
        return _answer(request, sock, children, self.started_env, close)

    def _retire(self) -> None:
        """No new run: the path is freed for a new server at once, and a runner that connected meanwhile is
        refused at once (it starts a new server); this one leaves when its runs end."""
        if not self.retired:
            self.retired = True
            _unlink_own(*self.own)
            self.listener.close()


def _peer_uid(conn: socket.socket) -> int | None:
    """The user id of the process at the other end of a Unix socket (Linux), or None."""
    import struct

    try:
        return struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
    except (OSError, AttributeError):
        return None


def forget(packages: list[str]) -> None:
    """Drop ``packages`` and their modules from ``sys.modules``, so the next import reads their files again."""
    for name in [n for n in sys.modules if n.split(".", 1)[0] in packages]:
        del sys.modules[name]
    importlib.invalidate_caches()


def import_for_kernels(modules: list[str], started_env: dict[str, str]) -> None:
    """Import ``modules`` as a kernel's cells would: the notebooks' folder on the path, the inline backend set."""
    os.environ.setdefault("MPLBACKEND", INLINE)  # read when matplotlib is imported, so set as a kernel has it
    with _cwd_on_path():
        import_quietly(modules)
    if "MPLBACKEND" not in started_env:
        del os.environ["MPLBACKEND"]


@contextlib.contextmanager
def _cwd_on_path():
    """The folder on ``sys.path`` where an IPython kernel puts it (before site-packages), as notebook cells see it."""
    at = next((i for i, p in enumerate(sys.path) if p.endswith(("site-packages", "dist-packages"))), len(sys.path))
    sys.path.insert(at, "")
    try:
        yield
    finally:
        sys.path.remove("")


def serve(channel: socket.socket, started_env: dict[str, str]) -> None:
    """Answer requests until the runner's end closes; then stop the kernels still running and return."""
    children: dict[int, int | None] = {}  # pid -> exit code once reaped
    buffer = b""
    try:
        while True:
            readable, _, _ = select.select([channel], [], [], REAP_EVERY_S)
            _reap(children)
            if not readable:
                continue
            data = channel.recv(65536)
            if not data:
                return
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                _send(channel, _answer(json.loads(line), channel, children, started_env))
    except OSError:
        return  # the runner's end went away mid-answer
    finally:
        _stop(children)  # never reached in a forked child, which leaves through os._exit


def _answer(
    request: dict, channel: socket.socket, children: dict, started_env: dict[str, str], close: list | None = None
) -> dict:
    if "import" in request:  # a later run of the same runner needs more modules
        import_for_kernels(request["import"], started_env)
        return {"ready": threading.active_count() == 1}
    if "status" in request:
        pid = request["status"]
        if children.get(pid) is None and pid in children:
            with contextlib.suppress(ChildProcessError):
                children[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        return {"status": children.get(pid)}
    try:
        env = _kernel_env(request["env"], started_env)
        pid = fork_kernel(request["fork"], env, request["cwd"], close or [channel])
    except Exception as exc:  # the runner starts this kernel the usual way
        return {"error": f"{type(exc).__name__}: {exc}"}
    children[pid] = None
    return {"pid": pid}


def _kernel_env(given: dict[str, str], started_env: dict[str, str]) -> dict[str, str]:
    """``given`` with what the imports changed in this process's environment, as a kernel's own imports would."""
    env = dict(given)
    env.update({k: v for k, v in os.environ.items() if started_env.get(k) != v})
    for key in set(started_env) - set(os.environ):
        env.pop(key, None)
    return env


def fork_kernel(args: list[str], env: dict[str, str], cwd: str, close: list[socket.socket]) -> int:
    """Fork a child that becomes a kernel (closing the server's sockets ``close``); return its pid once it leads
    a session of its own."""
    started_r, started_w = os.pipe()
    server = os.getpid()
    # What the server imported is never collected in a kernel: a collection there would write to every object
    # it inherited and so copy every page of them (the kernels' system CPU).
    gc.freeze()
    try:
        pid = os.fork()
    except OSError:
        os.close(started_r)
        os.close(started_w)
        raise
    if pid == 0:
        code = 1
        try:
            os.close(started_r)
            for sock in close:
                sock.close()
            os.setsid()
            _die_with_parent(server)
            os.close(started_w)
            code = become_kernel(args, env, cwd)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            _exit_as_python_does(code)
    os.close(started_w)
    try:
        os.read(started_r, 1)  # empty once the child has its own session (or died)
    finally:
        os.close(started_r)
    return pid


def _die_with_parent(server: int) -> None:
    """Have the kernel killed when this server goes, however it goes (the kernel's own poller watches the runner,
    which is not its parent)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != server:
        os._exit(1)


def become_kernel(args: list[str], env: dict[str, str], cwd: str) -> int:
    """In the forked child: the cwd, environment and arguments a launched kernel has, then ipykernel_launcher."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()  # the global generator was seeded from entropy at import: each kernel its own
    sys.argv = [sys.argv[0], *args]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    return 0


def _exit_as_python_does(code: int) -> None:
    """End the child as the interpreter would (threads joined, exit handlers run, output flushed), never
    returning into the server's loop."""
    try:
        threading._shutdown()
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
    finally:
        os._exit(code)


def _reap(children: dict) -> None:
    for pid in [pid for pid, status in children.items() if status is None]:
        try:
            done, raw = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not ours to wait for any more: its code is unknown
            children[pid] = 1
            continue
        if done:
            children[pid] = os.waitstatus_to_exitcode(raw)


def _stop(children: dict) -> None:
    """Stop kernels still running (their runner is gone), so none outlives this run."""
    running = [pid for pid, status in children.items() if status is None]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in running:
            with contextlib.suppress(OSError):
                os.killpg(pid, sig)
        deadline = time.monotonic() + STOP_GRACE_S
        while running and time.monotonic() < deadline:
            _reap(children)
            running = [pid for pid in running if children[pid] is None]
            time.sleep(0.05)
        if not running:
            return
    _reap(children)


def _send(channel: socket.socket, message: dict) -> None:
    channel.sendall(json.dumps(message).encode() + b"\n")


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # The kernels are stopped; tearing down the imported libraries would only keep the runner waiting (0.6 s).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
