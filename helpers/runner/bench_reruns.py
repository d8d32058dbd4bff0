"""What a rerun costs: the default report cold, again with nothing changed, after a 06-only parameter,
after an edit to a helper 04 imports, and forced; and the cold report's CPU against the notebooks' own
code run in one plain Python process (and against the analysis functions alone).

Usage::

    python -m helpers.runner.bench_reruns                  # 100,000 sessions; prints the ratios
    python -m helpers.runner.bench_reruns --sessions 20000 --ahead 2   # only the default number of warm kernels

Every figure is a ratio measured in the same run on the same machine (machines differ by 2-3x). Each
report command is a process of its own, as ``make report`` is; its CPU counts its kernels'. The whole
sequence runs with kernels warmed ahead (``CLICKSTREAM_KERNELS_AHEAD``, 2) and, side by side, with none
(0), so the table shows what warming buys on each step. The edited helper is simulated by changing the
hash ``run.json`` recorded for it, which is what the runner compares; the source tree is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import paths
from helpers.runner.kernels import AHEAD

EDITED_HELPER = "helpers/analysis/spend.py"  # read by 04, and by 06 through its typed results


def _report(params: str, env: dict, force: bool = False) -> dict:
    """One ``make report`` equivalent in a child process: wall seconds, and CPU seconds of it and its kernels."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "helpers.runner.report", "--run", "bench", "--params", params]
    subprocess.run(cmd + (["--force"] if force else []), env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": round(wall, 2), "cpu": round(cpu, 2)}


def _pretend_edited(reports: Path, helper: str) -> None:
    record_path = reports / "bench" / "run.json"
    record = json.loads(record_path.read_text())
    readers = [inputs for inputs in record["inputs"].values() if helper in inputs]
    if not readers:
        raise SystemExit(f"no notebook depends on {helper} any more: choose another EDITED_HELPER")
    for inputs in readers:
        inputs[helper] = "edited"
    record_path.write_text(json.dumps(record))


def in_process_cpu(n_sessions: int) -> float:
    """CPU seconds of 01-06's computing called in one Python process (simulate, gold, the four analyses).

    BLAS gets one thread, as in the kernels: several threads spinning on two busy cores count CPU
    seconds that do no work (measured: 12 s with one thread, 19-72 s without on a loaded machine).
    """
    code = f"""
import resource, tempfile, pathlib
from helpers.analysis import strategy
from helpers.runner import validate
from helpers.data.gold import build_gold
from helpers.data.simulate import SimConfig, simulate_to_parquet
from helpers.runner import params
t0 = resource.getrusage(resource.RUSAGE_SELF)
d = pathlib.Path(tempfile.mkdtemp())
truth = simulate_to_parquet(SimConfig(n_sessions={n_sessions}, seed=42), d / "raw")
build_gold(d / "raw", d / "gold")
found = {{n: m.analyse(d / "gold", validate.settings(n, 42), truth) for n, m in validate.ANALYSES.items()}}
s = strategy.Settings.pick({{**params.notebook_defaults("06_strategy"), "seed": 42}})
strategy.analyse(d / "gold", found, s, truth, d / "experiment")
t1 = resource.getrusage(resource.RUSAGE_SELF)
print(t1.ru_utime - t0.ru_utime + t1.ru_stime - t0.ru_stime)
"""
    from helpers.runner.kernels import ONE_BLAS_THREAD  # as in the kernels: a like-for-like count of CPU seconds

    env = {**os.environ, **ONE_BLAS_THREAD}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


NOTEBOOKS_IN_ONE_PROCESS = """
import io, json, os, pathlib, resource, sys
os.environ["MPLBACKEND"] = "agg"
import IPython.display
from IPython.core.formatters import DisplayFormatter
import matplotlib.pyplot as plt
formatter = DisplayFormatter()
IPython.display.display = lambda *objs, **kw: [formatter.format(o) for o in objs]  # as a kernel formats outputs
notebooks, run, given = pathlib.Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
os.chdir(notebooks)
for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
    space = {"__name__": "__main__"}
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = "".join(cell["source"])
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            code += "\\n" + "\\n".join(f"{k} = {v!r}" for k, v in {"run": run, **given}.items() if k + ":" in code)
        exec(compile(code, path.name, "exec"), space)
        for number in plt.get_fignums():  # drawn as the inline backend draws them after each cell
            plt.figure(number).savefig(io.BytesIO(), format="png", bbox_inches="tight")
        plt.close("all")
r = resource.getrusage(resource.RUSAGE_SELF)
print(r.ru_utime + r.ru_stime)
"""


def notebooks_in_process_cpu(n_sessions: int, root: Path) -> float:
    """CPU seconds of every numbered notebook's code run in order in one plain Python process, imports, figures
    (drawn to PNG after each cell, as the inline backend does) and output formatting included: the report's own
    work without kernels, papermill, nbconvert or the runner."""
    from helpers.runner.kernels import ONE_BLAS_THREAD

    env = {**os.environ, **ONE_BLAS_THREAD, "CLICKSTREAM_RUN_DIR": str(root / "in-process")}
    args = [str(paths.NOTEBOOKS_DIR), "in-process", json.dumps({"n_sessions": n_sessions})]
    out = subprocess.run(
        [sys.executable, "-c", NOTEBOOKS_IN_ONE_PROCESS, *args], check=True, capture_output=True, text=True, env=env
    )
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


def steps(n_sessions: int, again: bool) -> dict:
    """The reruns of one report in order, from a fresh start (no run): each a function of the report's root folder
    and environment that runs it and returns its wall and CPU seconds."""
    base = f"n_sessions={n_sessions}"
    mde = "0.16" if again else "0.15"

    def edited(root: Path, env: dict) -> dict:
        _pretend_edited(root / "reports", EDITED_HELPER)
        return _report(f"{base} relative_mde={mde}", env)

    return {
        "cold": lambda root, env: _report(base, env),
        "nothing changed": lambda root, env: _report(base, env),
        "06-only parameter": lambda root, env: _report(f"{base} relative_mde={mde}", env),
        f"{EDITED_HELPER} edited": edited,
        "forced": lambda root, env: _report(base, env, force=True),  # the cold report's parameters, all again
    }


def _fresh(root: Path, ahead: int) -> dict:
    """The environment of report commands in ``root`` with ``ahead`` kernels warmed ahead, with no run yet."""
    for folder in ("data", "reports"):  # as a fresh clone
        shutil.rmtree(root / folder, ignore_errors=True)
    env = dict(
        os.environ,
        CLICKSTREAM_DATA_ROOT=str(root / "data"),
        CLICKSTREAM_REPORTS_ROOT=str(root / "reports"),
        CLICKSTREAM_KERNELS_AHEAD=str(ahead),
    )
    env.pop("CLICKSTREAM_RUN_DIR", None)
    return env


def measure(n_sessions: int, settings: tuple[int, ...] = (2, 0)) -> dict[int, dict]:
    """Each setting's steps (by kernels warmed ahead): the whole sequence twice, each time from a fresh start. The
    settings take turns at every step (in the reverse order the second time), so that each step's runs under the
    settings are minutes apart at most and a slower spell of a shared machine weighs on them alike; then the
    one-process baselines, under the first setting."""
    measured: dict[int, dict] = {ahead: {} for ahead in settings}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        root = Path(tmp)
        for again, order in (("", settings), (", again", settings[::-1])):
            envs = {ahead: _fresh(root / f"ahead-{ahead}", ahead) for ahead in order}
            for name, run in steps(n_sessions, bool(again)).items():
                for ahead in order:
                    measured[ahead][f"{name}{again}"] = run(root / f"ahead-{ahead}", envs[ahead])
        # The least of two runs: noise on a shared machine only adds, and a smaller baseline is the stricter one.
        in_one = min(notebooks_in_process_cpu(n_sessions, root / f"one-process-{i}") for i in (1, 2))
    first = measured[settings[0]]
    first["notebooks in one process"] = {"wall": None, "cpu": in_one}
    first["in-process analyses"] = {"wall": None, "cpu": min(in_process_cpu(n_sessions) for _ in (1, 2))}
    return measured


TARGETS = {"nothing changed": 0.05, "06-only parameter": 0.35, f"{EDITED_HELPER} edited": 0.40}


def _least(steps: dict, name: str, key: str) -> float:
    """The lesser of a step and its second run (noise on a shared machine only adds)."""
    return min(s[key] for n, s in steps.items() if n in (name, f"{name}, again"))


def table(steps: dict) -> str:
    cold_wall, forced_wall = _least(steps, "cold", "wall"), _least(steps, "forced", "wall")
    lines = ["| step | wall s (two runs) | CPU s | lesser wall ÷ lesser cold | target |", "|---|---:|---:|---:|---|"]
    for name, s in steps.items():
        if s["wall"] is None or name.endswith(", again"):
            continue
        again = steps.get(f"{name}, again", s)
        walls, cpus = f"{s['wall']:.1f}, {again['wall']:.1f}", f"{s['cpu']:.1f}, {again['cpu']:.1f}"
        share = _least(steps, name, "wall") / cold_wall
        target = {"forced": "cold ≤ 1.1 × forced"}.get(name, f"≤ {TARGETS[name]:.0%}" if name in TARGETS else "")
        lines.append(f"| {name} | {walls} | {cpus} | {share:.0%} | {target} |")
    notebooks, analyses = steps["notebooks in one process"]["cpu"], steps["in-process analyses"]["cpu"]
    # A forced run does a cold run's work again (every notebook).
    report_cpu = min(_least(steps, "cold", "cpu"), _least(steps, "forced", "cpu"))
    lines += [
        "",
        "Each step ran twice (the second sequence from a fresh start again); a share is the lesser of a step's two "
        "runs over the lesser cold run, as noise on a shared machine only adds. Every baseline below is the lesser "
        "of its runs too.",
        f"Cold report ÷ forced rerun (wall, the lesser of two runs each): {cold_wall / forced_wall:.2f} "
        "(target ≤ 1.1).",
        f"Report CPU ({report_cpu:.1f} s, the least of the cold and forced runs: runner, kernels, "
        f"papermill, pages) ÷ the notebooks' own code run in one plain Python process ({notebooks:.1f} s: imports, "
        f"analyses, figures, tables): {report_cpu / notebooks:.2f} (target ≤ 1.5).",
        f"The same report CPU ÷ the analysis functions alone in one process ({analyses:.1f} s, no figures or "
        f"tables): {report_cpu / analyses:.2f}.",
    ]
    return "\n".join(lines)


def side_by_side(measured: dict[int, dict]) -> str:
    """Each step's lesser wall and CPU seconds under each setting of kernels warmed ahead, and what the first
    setting saves against each other one: lesser against lesser, and in each round (the runs side by side)."""
    settings = list(measured)
    first, others = settings[0], settings[1:]
    head = " | ".join(f"{a} ahead: wall s, CPU s" for a in settings)
    saved = " | ".join(f"saved vs {a} ahead: wall s (each round)" for a in others)
    lines = [f"| step | {head} | {saved} |", "|---|" + "---:|" * (len(settings) + len(others))]
    for name, step in measured[first].items():
        if step["wall"] is None or name.endswith(", again"):
            continue
        walls = {a: _least(measured[a], name, "wall") for a in settings}
        cells = " | ".join(f"{walls[a]:.1f}, {_least(measured[a], name, 'cpu'):.1f}" for a in settings)
        rounds = [n for n in (name, f"{name}, again") if n in measured[first]]
        gains = " | ".join(
            f"{walls[a] - walls[first]:+.1f} ("
            + ", ".join(f"{measured[a][n]['wall'] - measured[first][n]['wall']:+.1f}" for n in rounds)
            + ")"
            for a in others
        )
        lines.append(f"| {name} | {cells} | {gains} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--out", default=str(paths.reports_root() / "bench" / "reruns.md"))
    parser.add_argument(
        "--ahead", type=int, nargs="+", default=[AHEAD, 0], help="kernels warmed ahead: the first setting, then others"
    )
    args = parser.parse_args(argv)
    measured = measure(args.sessions, tuple(dict.fromkeys(args.ahead)))
    text = f"Reruns at {args.sessions:,} sessions ({os.cpu_count()} cores), {args.ahead[0]} kernels warmed ahead\n\n"
    text += table(measured[args.ahead[0]])
    if len(measured) > 1:
        text += "\n\nThe same steps side by side, by kernels warmed ahead (the lesser of two runs each):\n\n"
        text += side_by_side(measured)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
