"""Kernels: started the usual way in the notebooks folder, warmed ahead, measured, over private sockets, and never
left behind."""

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
import psutil
import pytest

from helpers.errors import ReportError
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


@pytest.fixture
def short_tmp():
    """A temporary folder with a short path (a Unix socket's path has at most 104-108 bytes), removed after."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="k-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


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


def _descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}


def _gone(pids, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.notebook
def test_a_warmed_kernel_runs_code_is_interrupted_measured_and_stopped(folder):
    with kernels.warm_pool([folder / "01_a.ipynb"]), kernels.measuring() as measured:
        km = kernels.WarmKernelManager(kernel_name="python3")  # as papermill makes it: the one warmed ahead
        pid = km.provisioner.pid
        assert pid in _descendants() and measured.pid == pid  # a child of this process, the usual way
        reply, out = _run(km, "import sys\nprint('fractions' in sys.modules, 'fractions' in dir(), 6 * 7)")
        assert reply["status"] == "ok" and out.split() == ["True", "False", "42"]  # imported ahead, unbound
        threading.Timer(1.0, km.interrupt_kernel).start()
        t0 = time.monotonic()
        reply, _ = _run(km, "import time\ntime.sleep(30)")
        assert reply["ename"] == "KeyboardInterrupt" and time.monotonic() - t0 < 10
        _run(km, "block = bytearray(300 * 2**20)")
        km.shutdown_kernel()
        assert not km.is_alive() and _gone([pid])
    assert measured.peak_mb > 300 and 0 < measured.cpu_s < 30


@pytest.mark.notebook
@pytest.mark.parametrize("now", [False, True])
def test_a_finished_kernel_is_stopped_without_an_interrupt(folder, now):
    """jupyter_client sends SIGINT before every shutdown; an idle kernel then may log "KeyboardInterrupt caught"."""
    km = kernels.NotebookKernelManager(kernel_name="python3")
    km.start_kernel()
    sent, send = [], km.provisioner.send_signal

    async def recording(signum):
        sent.append(signum)
        await send(signum)

    km.provisioner.send_signal = recording
    pid = km.provisioner.pid
    _run(km, "print(1)")
    km.shutdown_kernel(now=now)
    assert signal.SIGINT not in sent and sent == ([signal.SIGKILL] if now else [])
    assert not km.is_alive() and _gone([pid], within=1) and not list(Path(km.ip).parent.glob(Path(km.ip).name + "-*"))


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
            kernel_manager_class=kernels.MANAGER,
        )

    with kernels.warm_pool([folder / "01_a.ipynb", second]):
        execute(folder / "01_a.ipynb")  # binds x and imports fractions
        with pytest.raises(papermill.PapermillExecutionError) as raised:
            execute(second)
    assert raised.value.ename == "NameError" and raised.value.exec_count == 2  # the first cell passed


@pytest.mark.notebook
def test_a_warmed_kernel_has_the_environment_folder_and_path_of_one_started_with_its_notebook(folder, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_PROBE", "given to kernels")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's own setting wins
    seen = []
    for ahead in (0, 1):
        with kernels.warm_pool([folder / "01_a.ipynb"], ahead=ahead):
            km = kernels.WarmKernelManager(kernel_name="python3")
            try:
                if not ahead:
                    assert not km.has_kernel  # nbclient starts it, as here
                    km.start_kernel()
                seen.append(json.loads(_run(km, PROBE)[1]))
            finally:
                km.shutdown_kernel(now=True)
    assert seen[0] == seen[1]  # environment, folder, sys.path, sys.argv[0], interpreter
    env = seen[0]["env"]
    assert seen[0]["cwd"] == str(folder) and env["CLICKSTREAM_PROBE"] == "given to kernels"
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "3"
    assert env["JPY_PARENT_PID"] == str(os.getpid())  # the runner's: a kernel exits when its runner is gone


def test_kernels_ahead_is_read_from_the_environment(monkeypatch, capsys):
    monkeypatch.delenv("CLICKSTREAM_KERNELS_AHEAD", raising=False)
    assert kernels.kernels_ahead() == kernels.AHEAD
    monkeypatch.setenv("CLICKSTREAM_KERNELS_AHEAD", "0")
    assert kernels.kernels_ahead() == 0
    monkeypatch.setenv("CLICKSTREAM_KERNELS_AHEAD", "two")
    assert kernels.kernels_ahead() == kernels.AHEAD
    assert "CLICKSTREAM_KERNELS_AHEAD must be a whole number, got 'two'" in capsys.readouterr().err


def test_the_socket_folder_is_private_to_this_user_and_anything_else_is_refused(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    folder = kernels.socket_folder()
    assert folder == tmp_path / f"clickstream-kernels-{os.getuid()}" and oct(folder.stat().st_mode & 0o777) == "0o700"
    assert kernels.socket_folder() == folder  # found again as it was
    km = kernels.NotebookKernelManager(kernel_name="python3")
    assert km.transport == "ipc" and Path(km.ip).parent == folder
    folder.chmod(0o755)
    with pytest.raises(ReportError, match=r"only you can open .* mode 0o755"):
        kernels.socket_folder()
    folder.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    folder.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ReportError, match="not a folder"):
        kernels.socket_folder()
    monkeypatch.setattr(os, "getuid", lambda: 4242)  # a folder by that name made by someone else
    (tmp_path / "clickstream-kernels-4242").mkdir(mode=0o700)
    with pytest.raises(ReportError, match="owned by user"):
        kernels.socket_folder()


def test_sockets_left_a_day_ago_are_removed_and_others_kept(tmp_path):
    import socket

    made = []
    for name in ("kernel-old-1", "kernel-new-1"):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(tmp_path / name))
        made.append(tmp_path / name)
    (tmp_path / "kernel-file").write_text("not a socket")
    day_ago = time.time() - kernels.STALE_S - 60
    for path in (made[0], tmp_path / "kernel-file"):
        os.utime(path, (day_ago, day_ago))
    kernels.remove_stale_sockets(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel-file", "kernel-new-1"]


@pytest.mark.notebook
def test_closing_the_pool_stops_every_kernel_it_warmed_or_saw_start(folder):
    notebooks = [_notebook(folder, f"0{i}_n.ipynb", "import fractions") for i in (2, 3, 4)]
    before = _descendants()
    with kernels.warm_pool(notebooks, ahead=2):
        km = kernels.WarmKernelManager(kernel_name="python3")  # taken; never stopped by its user
        other = kernels.NotebookKernelManager(kernel_name="python3")  # started by hand while the pool is open
        other.start_kernel()
        time.sleep(0.5)  # the next one is warming now
        started = _descendants() - before
        assert km.provisioner.pid in started and other.provisioner.pid in started and len(started) >= 3
    assert _gone(started) and not _descendants() - before


CHILD = "import subprocess, sys\nchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"


@pytest.mark.notebook
def test_what_a_notebook_started_is_stopped_even_when_its_kernel_dies(folder):
    """A kernel stopped the usual way stops its subprocesses itself (ipykernel); one that died cannot."""
    import papermill
    from nbclient.exceptions import DeadKernelError

    code = f"open({str(folder / 'pid')!r}, 'w').write(str(child.pid))\nimport os, signal\nos.kill(os.getpid(), 9)"
    nb = _notebook(folder, "01_child.ipynb", CHILD + code)
    with kernels.warm_pool([nb], ahead=0), kernels.measuring() as measured:
        with pytest.raises(DeadKernelError):
            papermill.execute_notebook(
                str(nb), str(folder / "out.ipynb"), kernel_name="python3", kernel_manager_class=kernels.MANAGER
            )
    assert _gone([int((folder / "pid").read_text())], within=2)
    assert measured.peak_mb > 0  # read while it ran: the one-line message of a kernel that died gives it


RUNNER = """
import pathlib, sys, time
from helpers.runner import kernels
with kernels.warm_pool([pathlib.Path(sys.argv[1])] * 3, ahead=2):
    km = kernels.WarmKernelManager(kernel_name="python3")
    client = kernels.blocking_client(km)
    client.start_channels()
    client.execute("import time; time.sleep(60)")  # busy when the runner is killed
    print(km.provisioner.pid, flush=True)
    time.sleep(60)
"""


@pytest.mark.notebook
def test_killing_the_runner_leaves_no_kernel_behind(folder, short_tmp):
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(folder / "01_a.ipynb")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ, TMPDIR=str(short_tmp)),  # the sockets a killed runner leaves go with the test
    )
    try:
        busy = int(runner.stdout.readline())
        deadline = time.monotonic() + 30
        while len(psutil.Process(runner.pid).children()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)  # the busy kernel and the two warmed ahead
        started = [p.pid for p in psutil.Process(runner.pid).children()]
        assert busy in started and len(started) == 3
    finally:
        os.killpg(runner.pid, signal.SIGKILL)  # no chance to stop anything
        runner.wait()
    assert _gone(started, within=15)  # each kernel sees its runner gone (ipykernel watches its parent)


RECORD = """
from helpers.analysis import results
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # left running on purpose
results.save(run, NAME, {"n": n, "child": child.pid})
"""


@pytest.mark.notebook
def test_no_process_a_report_started_is_alive_when_it_returns(roots, tmp_path, monkeypatch):
    from helpers import paths
    from helpers.runner import report

    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("01_first", "02_second", "03_third"):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        params = 'run: str = "default"  # name of the run\nn: int = 1  # a number to record'
        nb.cells = [
            nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell(RECORD.replace("NAME", repr(name))),
        ]
        nbformat.write(nb, folder / f"{name}.ipynb")
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", folder)
    before = _descendants()
    report.execute("a", overrides="n=2", progress=False)
    data, _ = roots
    children = [json.loads(p.read_text())["child"] for p in (data / "a" / "results").glob("*.json")]
    assert len(children) == 3
    assert not _descendants() - before  # every kernel, warmed or not, is stopped
    assert _gone(children, within=2)  # and what the notebooks left running in their kernels' sessions
