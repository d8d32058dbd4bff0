"""Benchmarks: wall time and peak memory of each stage against the number of sessions.

Usage::

    python -m helpers.bench --sizes 1e4 1e5 1e6        # or: make bench SIZES="1e4 1e5"
    python -m helpers.bench --sizes 1e7 --no-report     # stages only, no full report

Each measurement runs in a fresh Python process, so its peak resident memory is its own.
Results go to ``reports/bench/benchmark.json`` after every size (a rerun skips sizes already
measured unless ``--force``) and a log-log plot to ``reports/bench/benchmark.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import paths

PANDAS_MAX_SESSIONS = 4_000_000  # the pandas reference needs ~10x the data in memory; skipped above


def _measure(step: str, n: int, folder: Path) -> dict:
    """Run one step in a child process; return its seconds and peak memory (MB)."""
    cmd = [sys.executable, "-m", "helpers.bench", "--child", step, "--n", str(n), "--dir", str(folder)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark step {step} at {n:,} sessions failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child(step: str, n: int, folder: Path) -> None:
    import pyarrow.parquet as pq

    from .gold import build_gold, gold_pandas
    from .simulate import SimConfig, simulate_to_parquet

    t0 = time.perf_counter()  # imports above are not timed: the step's own work is
    extra = {}
    if step == "simulate":
        simulate_to_parquet(SimConfig(n_sessions=n, seed=1), folder / "raw")
        extra["events"] = pq.ParquetFile(folder / "raw" / "events.parquet").metadata.num_rows
    elif step == "gold_duckdb":
        extra["rows"] = build_gold(folder / "raw", folder / "gold")["rows"]
    elif step == "gold_pandas":
        extra["rows"] = len(gold_pandas(folder / "raw"))
    elif step == "report":
        env = {
            **os.environ,
            "CLICKSTREAM_DATA_ROOT": str(folder / "data"),
            "CLICKSTREAM_REPORTS_ROOT": str(folder / "reports"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "helpers.report", "--run", "bench", "--params", f"n_sessions={n}"],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        record = json.loads((folder / "reports" / "bench" / "run.json").read_text())
        extra["notebooks"] = record["seconds"]
    seconds = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 3), "peak_mb": round(max(own, children), 1), **extra}))


def run(sizes: list[int], with_report: bool, force: bool) -> dict:
    out_dir = paths.reports_root() / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "benchmark.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }
    results = data.setdefault("sizes", {})
    for n in sizes:
        if str(n) in results and not force:
            print(f"{n:>12,} sessions: already measured (use --force to redo)", flush=True)
            continue
        work = paths.data_root() / ".bench" / str(n)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        row = {}
        steps = ["simulate", "gold_duckdb"] + (["gold_pandas"] if n <= PANDAS_MAX_SESSIONS else [])
        steps += ["report"] if with_report else []
        for step in steps:
            print(f"{n:>12,} sessions: {step} ...", end="", flush=True)
            row[step] = _measure(step, n, work)
            print(f" {row[step]['seconds']:.2f} s, peak {row[step]['peak_mb']:,.0f} MB", flush=True)
        if "gold_pandas" in row:
            row["duckdb_speedup"] = round(row["gold_pandas"]["seconds"] / row["gold_duckdb"]["seconds"], 1)
        results[str(n)] = row
        path.write_text(json.dumps(data, indent=2))
        shutil.rmtree(work, ignore_errors=True)
    plot(data, out_dir / "benchmark.png")
    print(table(data))
    return data


def table(data: dict) -> str:
    """The README's Markdown table of the benchmark."""
    lines = [
        "| sessions | events | simulate s (MB) | gold DuckDB s (MB) | gold pandas s (MB) | speed-up "
        "| whole report s (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, row in sorted(data.get("sizes", {}).items(), key=lambda kv: int(kv[0])):

        def cell(step, row=row):
            r = row.get(step)
            return f"{r['seconds']:.2f} ({r['peak_mb']:,.0f})" if r else "–"

        lines.append(
            f"| {int(n):,} | {row['simulate'].get('events', 0):,} | {cell('simulate')} | {cell('gold_duckdb')} | "
            f"{cell('gold_pandas')} | {row.get('duckdb_speedup', '–')} | {cell('report')} |"
        )
    return "\n".join(lines)


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(data.get("sizes", {}), key=int)
    if not sizes:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for step in ("simulate", "gold_duckdb", "gold_pandas", "report"):
        xs = [int(n) for n in sizes if step in data["sizes"][n]]
        if xs:
            left.plot(xs, [data["sizes"][str(n)][step]["seconds"] for n in xs], marker="o", label=step)
            right.plot(xs, [data["sizes"][str(n)][step]["peak_mb"] for n in xs], marker="o", label=step)
    for ax, label in ((left, "wall time, s"), (right, "peak memory, MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sessions (log scale)")
        ax.set_ylabel(label + " (log scale)")
        ax.legend()
    left.set_title("Time grows about linearly with sessions")
    right.set_title("Peak memory by stage")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1e4", "1e5", "1e6"], help="numbers of sessions, e.g. 1e4 1e6")
    parser.add_argument("--no-report", action="store_true", help="skip the whole-report measurement")
    parser.add_argument("--force", action="store_true", help="measure sizes again even if recorded")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.n, Path(args.dir))
        return 0
    run([int(float(s)) for s in args.sizes], not args.no_report, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
