"""The resident kernel server: kept between report commands, one connection per run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from helpers.runner import kernels

pytestmark = pytest.mark.notebook


def _notebook(folder: Path, name: str, code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, folder / name)
    return folder / name


@pytest.fixture
def servers(monkeypatch):
    """A private folder for resident servers (short: a socket path has at most 108 bytes); they are retired after."""
    folder = Path(tempfile.mkdtemp(prefix="rk-"))
    monkeypatch.setenv("CLICKSTREAM_KERNEL_SERVER", "resident")
    monkeypatch.setenv("CLICKSTREAM_KERNEL_SERVER_DIR", str(folder))
    yield folder
    kernels.retire_resident(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A notebooks folder whose notebook imports ``probe_pkg``, a package of the project that a test edits."""
    from helpers import paths

    package = tmp_path / "lib" / "probe_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "lib"))
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", tmp_path)
    monkeypatch.setattr(kernels.ResidentServer, "PROJECT", ("probe_pkg",))
    monkeypatch.setattr(kernels, "_stamp_text", lambda: "as written")
    return _notebook(tmp_path, "01_probe.ipynb", "import probe_pkg\nprint(probe_pkg.VALUE)")


def _run_once(notebook: Path, fresh: bool = False, keep_running: bool = False) -> tuple[int, int, str]:
    """One run's kernel: the server's pid, the kernel's pid and what the notebook's code printed."""
    from tests.test_kernels import _run, _started

    with kernels.warm_pool([notebook], ahead=0, fresh=fresh):
        km = _started()
        assert isinstance(km.provisioner.process, kernels.Forked)
        server, kernel = kernels._server.pid, km.provisioner.pid
        _, out = _run(km, "import probe_pkg\nprint(probe_pkg.VALUE)")
        if not keep_running:
            km.shutdown_kernel(now=True)
    return server, kernel, out.strip()


def _gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has exited within ``within`` seconds (a server this process started stays a zombie)."""
    from tests.test_kernels import _alive

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_resident_server_serves_the_next_run_stops_each_runs_kernels_and_imports_an_edited_package_again(
    servers, probe, monkeypatch
):
    first, kernel, out = _run_once(probe, keep_running=True)
    assert out == "1"
    assert _gone(kernel)  # the run ended with its kernel still running: the server stopped it
    assert not _gone(first, within=0.5) and kernels.resident_servers(servers)  # the server stays

    second, _, out = _run_once(probe)
    assert (second, out) == (first, "1")  # the same server, the libraries it imported reused

    (probe.parent / "lib" / "probe_pkg" / "__init__.py").write_text("VALUE = 2\n")
    monkeypatch.setattr(kernels, "_stamp_text", lambda: "edited")
    third, _, out = _run_once(probe)
    assert (third, out) == (first, "2")  # the same server, the edited package imported afresh

    fourth, _, out = _run_once(probe, fresh=True)  # FORCE=1: a new server; the old one leaves
    assert fourth != first and out == "2" and _gone(first)

    used = kernels.resident_cpu_s(servers)
    assert list(used) == [fourth] and used[fourth] > 0

    a_run = kernels._connect(kernels.resident_servers(servers)[0])  # a run still in progress
    assert kernels.retire_resident(servers) == 1
    assert not kernels.resident_servers(servers)  # at once: the next command starts a new server
    assert not _gone(fourth, within=0.5)  # while this one finishes the run it has
    a_run.close()
    assert _gone(fourth)


def test_an_idle_resident_server_exits_and_removes_its_socket(servers, probe, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_KERNEL_SERVER_IDLE_S", "1")
    server, _, _ = _run_once(probe)
    assert _gone(server) and not kernels.resident_servers(servers)


def test_a_folder_other_users_can_enter_or_a_symlink_is_not_used(servers, tmp_path, monkeypatch, capfd):
    servers.chmod(0o755)
    assert kernels.resident_folder() is None
    servers.chmod(0o700)
    link = tmp_path / "link"
    link.symlink_to(servers)  # another user could re-point a link between the check and the use
    monkeypatch.setenv("CLICKSTREAM_KERNEL_SERVER_DIR", str(link))
    assert kernels.resident_folder() is None
    assert capfd.readouterr().err.count("not a folder private to this user") == 2


def test_a_request_the_server_cannot_read_ends_only_that_connection(servers, probe):
    server, _, _ = _run_once(probe)
    path = kernels.resident_servers(servers)[0]
    other = kernels._connect(path)  # another run, connected meanwhile
    assert kernels._request(other, {"times": True})["pid"] == server
    for garbage in (b"[1]\n", b'{"status": [1]}\n', b"not json\n"):
        bad = kernels._connect(path)
        bad.sendall(garbage)
        assert bad.recv(100) == b""  # that connection is closed
        bad.close()
    assert kernels._request(other, {"times": True})["pid"] == server  # the server and the other run go on
    other.close()


def test_the_report_command_returns_while_its_server_stays_for_the_next_command(servers, tmp_path):
    """Two commands, as `make report` twice: each returns (no pipe of theirs is held open), the second forks its
    kernel from the server the first started, and `make kernels-stop` stops it."""
    from tests.test_report_runner import BODY, PARAMS

    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(PARAMS + "\npause: float = 0.0  # seconds", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(BODY),
    ]
    nbformat.write(nb, folder / "01_tiny.ipynb")
    env = dict(os.environ, CLICKSTREAM_DATA_ROOT=str(tmp_path / "data"), CLICKSTREAM_REPORTS_ROOT=str(tmp_path))
    script = (
        f"import helpers.paths as p, pathlib, sys; p.NOTEBOOKS_DIR = pathlib.Path({str(folder)!r}); "
        "from helpers.runner import report; report.main(['--run', 'a', '--params', sys.argv[1]])"
    )
    pids = []
    for n in (1, 2):
        done = subprocess.run([sys.executable, "-c", script, f"n={n}"], env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        pids.append(list(kernels.resident_cpu_s(servers)))
    assert pids[0] == pids[1] and len(pids[0]) == 1  # one server, the same for both commands
    assert (tmp_path / "data" / "a" / "results" / "01_tiny.json").read_text().count('"n": 2') == 1
    stop = subprocess.run(
        [sys.executable, "-m", "helpers.runner.kernels", "stop"], env=env, capture_output=True, text=True, timeout=60
    )
    assert stop.stdout.strip().endswith("asked to leave (each finishes the runs it has first): 1")
    assert not kernels.resident_servers(servers)  # its socket is gone at once: the next command starts a new one
    assert _gone(pids[0][0])


def test_commands_share_a_server_unless_something_an_import_could_read_differs(tmp_path):
    python, cwd = sys.executable, str(tmp_path)
    base = {"PATH": "/usr/bin", "OPENBLAS_NUM_THREADS": "1", "JPY_PARENT_PID": "11", "MAKEFLAGS": ""}
    key = kernels._launch_key((python, base, cwd))
    for same in (
        {"JPY_PARENT_PID": "12"},
        {"MAKEFLAGS": " -- FORCE=1", "MAKEOVERRIDES": "x"},
        {"CLICKSTREAM_RUN_DIR": "/x"},
    ):
        assert kernels._launch_key((python, base | same, cwd)) == key, same
    for other in ({"OPENBLAS_NUM_THREADS": "2"}, {"MPLBACKEND": "agg"}):
        assert kernels._launch_key((python, base | other, cwd)) != key, other
    assert kernels._launch_key((python, base, str(tmp_path / "elsewhere"))) != key


def test_make_gives_its_variables_to_the_report_as_arguments_not_in_its_environment(tmp_path):
    """`make report FORCE=1` or `RUN=tm` must not change the environment, which keys the kept kernel server."""
    from helpers import paths

    probe = tmp_path / "probe.mk"
    probe.write_text(f"include {paths.PROJECT_ROOT / 'Makefile'}\nprobe:\n\t@env\n")
    out = subprocess.run(
        ["make", "-s", "-f", str(probe), "probe", "FORCE=1", "RUN=tm", 'PARAMS="seed=7"', "ONLY=03"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not [line for line in out.splitlines() if line.split("=", 1)[0] in {"FORCE", "RUN", "PARAMS", "ONLY"}]


@pytest.mark.parametrize("given, expect", [("30", 30.0), ("abc", 600.0), ("-5", 600.0), ("nan", 600.0)])
def test_the_idle_time_is_read_or_a_mistake_is_named(monkeypatch, capfd, given, expect):
    monkeypatch.setenv("CLICKSTREAM_KERNEL_SERVER_IDLE_S", given)
    assert kernels.idle_s() == expect
    assert ("must be a number of seconds" in capfd.readouterr().err) == (expect == 600.0)
