"""Kernels forked from the fork server: fresh, separate, launched as usual kernels are, and never left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from helpers.runner import kernels

PROBE = (
    "import json as _j, os as _o, sys as _s\n"
    "print(_j.dumps({'env': dict(_o.environ), 'cwd': _o.getcwd(), 'path': _s.path, 'argv0': _s.argv[0],"
    " 'executable': _s.executable, 'main': _s.modules['__main__'].__name__}))"
)


def _notebook(folder: Path, name: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, folder / name)
    return folder / name


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The notebooks folder kernels start in, with a notebook importing a module no kernel loads by itself."""
    from helpers import paths

    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", tmp_path)
    _notebook(tmp_path, "01_a.ipynb", "import fractions\nx = fractions.Fraction(1, 3)")
    return tmp_path


def _started() -> kernels.IPCKernelManager:
    km = kernels.IPCKernelManager(kernel_name="python3")
    km.start_kernel()
    return km


def _run(km, code: str, timeout: float = 30) -> tuple[dict, str]:
    """The reply's content and the printed text of ``code`` run on ``km``'s kernel."""
    client = kernels.blocking_client(km)
    client.start_channels()
    out: list[str] = []
    try:
        client.wait_for_ready(timeout=30)
        hook = lambda m: out.append(m["content"]["text"]) if m["msg_type"] == "stream" else None  # noqa: E731
        reply = client.execute_interactive(code, output_hook=hook, timeout=timeout)
    finally:
        client.stop_channels()
    return reply["content"], "".join(out)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.notebook
def test_a_forked_kernel_runs_code_is_interrupted_measured_and_stopped(folder):
    with kernels.warm_pool([folder / "01_a.ipynb"], ahead=0):
        km = _started()
        process = km.provisioner.process
        assert isinstance(process, kernels.Forked) and process.pid in _children(kernels._server.pid)
        reply, out = _run(km, "import sys\nprint('fractions' in sys.modules, 'fractions' in dir(), 6 * 7)")
        assert reply["status"] == "ok" and out.split() == ["True", "False", "42"]  # imported by the server, unbound
        threading.Timer(1.0, km.interrupt_kernel).start()
        t0 = time.monotonic()
        reply, _ = _run(km, "import time\ntime.sleep(30)")
        assert reply["ename"] == "KeyboardInterrupt" and time.monotonic() - t0 < 10
        with kernels.measuring("probe"):
            km.shutdown_kernel()
        assert not km.is_alive() and not _alive(process.pid)
        assert kernels.CPU_S.pop("probe") < 5 and kernels.PEAK_MB.pop("probe") > 0


@pytest.mark.notebook
def test_notebooks_share_no_names_and_one_that_forgets_an_import_fails(folder):
    import papermill

    second = _notebook(folder, "02_b.ipynb", "assert 'x' not in dir() and len(In) == 2, (dir(), In)", "fractions")

    def execute(nb: Path) -> None:
        papermill.execute_notebook(
            str(nb),
            str(folder / f"out-{nb.name}"),
            kernel_name="python3",
            progress_bar=False,
            kernel_manager_class="helpers.runner.kernels.WarmKernelManager",
        )

    with kernels.warm_pool([folder / "01_a.ipynb", second]):
        execute(folder / "01_a.ipynb")  # binds x and imports fractions
        with pytest.raises(papermill.PapermillExecutionError) as raised:
            execute(second)
        assert kernels._server.pid is not None
    assert raised.value.ename == "NameError" and raised.value.exec_count == 2  # the first cell passed


@pytest.mark.notebook
def test_a_forked_kernel_has_the_environment_folder_and_path_of_a_usual_one(folder, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_PROBE", "given to kernels")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    usual = _started()
    try:
        assert not isinstance(usual.provisioner.process, kernels.Forked)
        seen_usual = json.loads(_run(usual, PROBE)[1])
    finally:
        usual.shutdown_kernel(now=True)
    with kernels.warm_pool([folder / "01_a.ipynb"], ahead=0):
        forked = _started()
        try:
            assert isinstance(forked.provisioner.process, kernels.Forked)
            seen_forked = json.loads(_run(forked, PROBE)[1])
        finally:
            forked.shutdown_kernel(now=True)
    assert seen_forked == seen_usual  # environment, folder, sys.path, sys.argv[0], interpreter
    env = seen_forked["env"]
    assert seen_forked["cwd"] == str(folder) and env["CLICKSTREAM_PROBE"] == "given to kernels"
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["JPY_PARENT_PID"] == str(os.getpid())  # the runner's


@pytest.mark.notebook
def test_what_the_runner_sets_in_its_environment_meanwhile_does_not_stop_forking(folder, monkeypatch):
    monkeypatch.delenv("CLICKSTREAM_SET_BY_AN_IMPORT", raising=False)
    with kernels.warm_pool([folder / "01_a.ipynb"], ahead=0):
        first = _started()  # starts the fork server with the environment the pool opened with
        # as pyarrow sets _RJEM_MALLOC_CONF when the runner imports it for its pages while kernels start
        monkeypatch.setenv("CLICKSTREAM_SET_BY_AN_IMPORT", "the runner's own")
        second = _started()
        try:
            assert isinstance(second.provisioner.process, kernels.Forked)  # was: started the usual way
            env = json.loads(_run(second, PROBE)[1])["env"]
        finally:
            second.shutdown_kernel(now=True)
            first.shutdown_kernel(now=True)
    assert "CLICKSTREAM_SET_BY_AN_IMPORT" not in env


@pytest.mark.notebook
def test_runs_of_one_process_share_a_server_that_imports_what_a_later_run_adds(folder, monkeypatch):
    second = _notebook(folder, "02_b.ipynb", "import colorsys")
    with kernels.warm_pool([folder / "01_a.ipynb"], ahead=0):
        km = _started()
        first = kernels._server.pid
        km.shutdown_kernel(now=True)
    monkeypatch.setenv("CLICKSTREAM_RUN_DIR", "another run")  # read when called, never at import: kept
    with kernels.warm_pool([second], ahead=0):
        km = _started()
        try:
            assert isinstance(km.provisioner.process, kernels.Forked) and kernels._server.pid == first
            _, out = _run(km, "import sys\nprint('colorsys' in sys.modules, 'fractions' in sys.modules)")
        finally:
            km.shutdown_kernel(now=True)
    assert out.split() == ["True", "True"]  # the later run's import was added to the server's
    servers = [first]
    for change in ("a helpers module edited", "an environment variable an import could read"):
        if change.startswith("a helpers"):
            monkeypatch.setattr(kernels, "_helpers_stamp", lambda: ("edited",))
        else:
            monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
        with kernels.warm_pool([second], ahead=0):
            km = _started()
            try:
                assert isinstance(km.provisioner.process, kernels.Forked), change
                assert kernels._server.pid not in servers, change  # a server of its own
                servers.append(kernels._server.pid)
            finally:
                km.shutdown_kernel(now=True)


FAKE_SERVER = """
import json, socket, sys
channel = socket.socket(fileno=int(sys.argv[1]))
channel.sendall(json.dumps({"ready": True, "pid": 1}).encode() + b"\\n")
for line in channel.makefile("rb"):
    channel.sendall(b'{"error": "refused on purpose"}\\n')
"""


@pytest.mark.notebook
@pytest.mark.parametrize("server", ["exits", "refuses"])
def test_without_a_working_fork_server_kernels_start_the_usual_way(folder, monkeypatch, tmp_path, capfd, server):
    script = tmp_path / "server.py"
    script.write_text("raise SystemExit(3)" if server == "exits" else FAKE_SERVER)
    monkeypatch.setattr(kernels, "SERVER_SCRIPT", script)
    with kernels.warm_pool([folder / "01_a.ipynb"], ahead=0):
        km = _started()
        try:
            assert isinstance(km.provisioner.process, subprocess.Popen)  # launched as before, a child of this process
            reply, out = _run(km, "print(6 * 7)")
            assert reply["status"] == "ok" and out.strip() == "42"
        finally:
            km.shutdown_kernel(now=True)
    said = capfd.readouterr().err
    assert ("fork server failed" in said) if server == "exits" else ("refused on purpose" in said)


def test_a_kernel_launched_differently_is_not_forked():
    server = kernels.ForkServer([])
    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"]
    assert server.spawn([sys.executable, "-m", "other_kernel", "-f", "k.json"], {"env": {}}) is None
    assert server.spawn(cmd, {"env": {}, "independent": True}) is None  # must outlive the runner
    assert server.spawn(cmd, {"env": {}, "stdout": subprocess.PIPE}) is None
    assert server._process is None  # none of them started the server


RUNNER = """
import pathlib, sys, time
from helpers.runner import kernels
with kernels.warm_pool([pathlib.Path(sys.argv[1])], ahead=1):
    km = kernels.IPCKernelManager(kernel_name="python3")
    km.start_kernel()
    client = kernels.blocking_client(km)
    client.start_channels()
    client.execute("import time; time.sleep(60)")  # busy when the runner is killed
    print(kernels._server.pid, flush=True)
    time.sleep(60)
"""


@pytest.mark.notebook
def test_killing_the_runner_leaves_no_kernel_behind(folder):
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(folder / "01_a.ipynb")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        server = int(runner.stdout.readline())
        deadline = time.monotonic() + 30
        while len(_children(server)) < 2 and time.monotonic() < deadline:  # the kernel and the one warmed ahead
            time.sleep(0.1)
        forked = _children(server)
        assert len(forked) == 2 and all(_alive(pid) for pid in forked)
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in [server, *forked]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in [server, *forked])
