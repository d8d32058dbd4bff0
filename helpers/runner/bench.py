"""Benchmarks: wall time and peak memory of each stage against the number of sessions.

Usage::

    python -m helpers.runner.bench --sizes 1e4 1e5 1e6        # or: make bench SIZES="1e4 1e5"
    python -m helpers.runner.bench --sizes 1e7 --no-report     # stages only, no full report

Each measurement runs in a fresh Python process, so its peak resident memory is its own.
Results go to ``reports/bench/benchmark.json`` after every size (a rerun skips sizes already
measured unless ``--force``) and a log-log plot to ``reports/bench/benchmark.png``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from helpers import paths
from helpers.data.gold import GOLD_COLUMNS, LANDMARK_EVENTS, LANDMARK_SECONDS
from helpers.data.schema import FUNNEL_STEPS as FUNNEL

PANDAS_MAX_SESSIONS = 4_000_000  # the pandas reference needs ~10x the data in memory; skipped above


def gold_polars(raw_dir: Path):
    """The gold table with a Polars lazy query: the benchmark's second reference (``pip install polars``).

    The same rules as ``helpers/sql/gold_table.sql`` step by step (ordering by time then event id,
    millisecond gaps, the running conversion flag, SQL's null handling of sums), so the result is
    the same table value for value; ``tests/test_gold.py`` checks that when Polars is installed.
    """
    import polars as pl

    raw = Path(raw_dir)
    scan = {
        t: pl.scan_parquet(raw / f"{t}.parquet") for t in ("sessions", "events", "orders", "order_items", "products")
    }
    missing = {"variant": pl.String, "exposed_at": pl.Datetime("us")}  # an experiment's columns, empty without one
    known = scan["sessions"].collect_schema().names()
    scan["sessions"] = scan["sessions"].with_columns(
        *(pl.lit(None, dtype=kind).alias(col) for col, kind in missing.items() if col not in known)
    )
    conv = pl.col("event_type").is_in(["checkout", "purchase"]).cast(pl.Int32)
    landmark_ms = LANDMARK_SECONDS * 1000
    ev = (
        scan["events"]
        .sort("session_id", "ts", "event_id")
        .with_columns(
            gap_ms=pl.col("ts").dt.epoch("ms").diff().over("session_id"),
            seen=conv.cum_max().over("session_id"),
        )
        .with_columns(browsing=(pl.col("seen") == 0) & (pl.col("event_type") != "add_to_cart"))
        .with_columns(browse_ms=pl.when(pl.col("browsing")).then(pl.col("ts").dt.epoch("ms")))
        .with_columns(  # the gap to the previous browsing event (SQL's LAG over the browsing rows)
            browse_gap_ms=pl.col("browse_ms") - pl.col("browse_ms").shift(1).forward_fill().over("session_id")
        )
        .join(scan["sessions"].select("session_id", "started_at"), on="session_id")
        .with_columns(since_start=pl.col("ts").dt.epoch("ms") - pl.col("started_at").dt.epoch("ms"))
        .group_by("session_id")
        .agg(
            event_count=pl.len().cast(pl.Int64),
            **{f"n_{t}": (pl.col("event_type") == t).sum().cast(pl.Int64) for t in FUNNEL},
            first_ts=pl.col("ts").min(),
            last_ts=pl.col("ts").max(),
            max_gap_ms=pl.col("gap_ms").max(),
            conversion_ms=pl.col("since_start").filter(pl.col("seen") == 1).min(),
            last_ms=pl.col("since_start").max(),
            pre_max_gap_ms=pl.col("browse_gap_ms").max(),
            pre_count=pl.col("browsing").sum().cast(pl.Int64),
            pre_page_views=(pl.col("browsing") & (pl.col("event_type") == "page_view")).sum().cast(pl.Int64),
            pre_cart_count=((pl.col("seen") == 0) & (pl.col("event_type") == "add_to_cart")).sum().cast(pl.Int64),
            pre_end_ts=pl.col("ts").filter(pl.col("browsing")).max(),
            landmark_count=(pl.col("browsing") & (pl.col("since_start") <= landmark_ms)).sum().cast(pl.Int64),
            landmark_events_ts=pl.col("ts").filter(pl.col("browsing")).get(LANDMARK_EVENTS - 1, null_on_oob=True),
        )
    )
    orders = (
        scan["orders"]
        .group_by("session_id")
        .agg(n_orders=pl.len().cast(pl.Int64), amount_usd=pl.col("total_usd").sum())
    )
    margin = pl.col("quantity") * (pl.col("unit_price_usd") - pl.col("cost_usd"))
    items = (
        scan["order_items"]
        .join(scan["orders"].select("order_id", "session_id"), on="order_id")
        .join(scan["products"].select("product_id", "cost_usd"), on="product_id", how="left")
        .group_by("session_id")
        .agg(
            n_items=pl.col("quantity").sum(),
            items_usd=(pl.col("quantity") * pl.col("unit_price_usd")).sum(),
            gross_margin_usd=pl.when(margin.count() > 0).then(margin.sum()),  # SQL: NULL when all are NULL
        )
    )

    def ms_since_start(col: str) -> pl.Expr:
        return pl.col(col).dt.epoch("ms") - pl.col("started_at").dt.epoch("ms")

    out = (
        scan["sessions"]
        .join(ev, on="session_id", how="left")
        .join(orders, on="session_id", how="left")
        .join(items, on="session_id", how="left")
        .with_columns(
            start_hour=pl.col("started_at").dt.hour().cast(pl.Int32),
            start_weekday=pl.col("started_at").dt.weekday().cast(pl.Int32),
            session_seconds=ms_since_start("last_ts").fill_null(0) / 1000,
            first_event_delay_seconds=ms_since_start("first_ts") / 1000,
            max_idle_seconds=pl.col("max_gap_ms").fill_null(0) / 1000,
            pre_conversion_max_idle_seconds=pl.col("pre_max_gap_ms").fill_null(0) / 1000,
            pre_conversion_event_count=pl.col("pre_count").fill_null(0),
            pre_conversion_cart_count=pl.col("pre_cart_count").fill_null(0),
            pre_conversion_page_views=pl.col("pre_page_views").fill_null(0),
            landmark_event_count=pl.col("landmark_count").fill_null(0),
            landmark_at_risk=(
                (pl.col("last_ms") > landmark_ms)
                & (pl.col("conversion_ms").is_null() | (pl.col("conversion_ms") > landmark_ms))
            )
            .fill_null(False)
            .cast(pl.Int32),
            pre_conversion_seconds=ms_since_start("pre_end_ts").fill_null(0) / 1000,
            landmark_seconds=ms_since_start("landmark_events_ts") / 1000,
            did_purchase=(pl.col("n_orders") > 0).fill_null(False).cast(pl.Int32),
            amount_usd=pl.col("amount_usd").fill_null(0.0),
            avg_item_price_usd=pl.col("items_usd") / pl.when(pl.col("n_items") > 0).then(pl.col("n_items")),
            gross_margin_usd=pl.when(pl.col("n_orders").is_null()).then(0.0).otherwise(pl.col("gross_margin_usd")),
            **{c: pl.col(c).fill_null(0) for c in ("event_count", *(f"n_{t}" for t in FUNNEL), "n_orders", "n_items")},
        )
        .with_columns(
            events_per_minute=pl.when(pl.col("session_seconds") > 0).then(
                pl.col("event_count") * 60.0 / pl.max_horizontal("session_seconds", 1.0)
            )
        )
        .select(GOLD_COLUMNS)
        .sort("session_id")
    )
    return out.collect()


def _measure(step: str, n: int, folder: Path) -> dict:
    """Run one step in a child process; return its seconds and peak memory (MB)."""
    cmd = [sys.executable, "-m", "helpers.runner.bench", "--child", step, "--n", str(n), "--dir", str(folder)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark step {step} at {n:,} sessions failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child(step: str, n: int, folder: Path) -> None:
    import pyarrow.parquet as pq

    from helpers.data.gold import build_gold, gold_pandas
    from helpers.data.simulate import SimConfig, simulate_to_parquet

    t0 = time.perf_counter()  # imports above are not timed: the step's own work is
    extra = {}
    if step == "simulate":
        simulate_to_parquet(SimConfig(n_sessions=n, seed=1), folder / "raw")
        extra["events"] = pq.ParquetFile(folder / "raw" / "events.parquet").metadata.num_rows
    elif step == "gold_duckdb":
        extra["rows"] = build_gold(folder / "raw", folder / "gold")["rows"]
    elif step == "gold_pandas":
        extra["rows"] = len(gold_pandas(folder / "raw"))
    elif step == "gold_polars":
        extra["rows"] = len(gold_polars(folder / "raw"))
    elif step in REAL_STEPS:
        extra.update(_real_step(step, folder))
    elif step == "report":
        env = {
            **os.environ,
            "CLICKSTREAM_DATA_ROOT": str(folder / "data"),
            "CLICKSTREAM_REPORTS_ROOT": str(folder / "reports"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "helpers.runner.report", "--run", "bench", "--params", f"n_sessions={n}"],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        record = json.loads((folder / "reports" / "bench" / "run.json").read_text())
        extra["notebooks"] = record["seconds"]
        # Each notebook's kernel peak; 03, 04 and 05 run at once, so their sum bounds the report's total.
        extra["notebook_peak_mb"] = {k: v.get("peak_mb") for k, v in record["notebooks"].items()}
    seconds = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 3), "peak_mb": round(max(own, children), 1), **extra}))


def machine() -> dict:
    """The machine a benchmark ran on: cores, platform, Python, memory."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def run(sizes: list[int], with_report: bool, force: bool) -> dict:
    out_dir = paths.reports_root() / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "benchmark.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["machine"] = machine()
    results = data.setdefault("sizes", {})
    for n in sizes:
        if str(n) in results and not force:
            print(f"{n:>12,} sessions: already measured (use --force to redo)", flush=True)
            continue
        work = paths.data_root() / ".bench" / str(n)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        row = {}
        steps = ["simulate", "gold_duckdb", "gold_polars"] + (["gold_pandas"] if n <= PANDAS_MAX_SESSIONS else [])
        steps += ["report"] if with_report else []
        for step in steps:
            print(f"{n:>12,} sessions: {step} ...", end="", flush=True)
            row[step] = _measure(step, n, work)
            print(f" {row[step]['seconds']:.2f} s, peak {row[step]['peak_mb']:,.0f} MB", flush=True)
        for other in ("polars", "pandas"):  # how many times faster the project's SQL is, same data, same run
            if f"gold_{other}" in row:
                row[f"vs_{other}"] = round(row[f"gold_{other}"]["seconds"] / row["gold_duckdb"]["seconds"], 2)
        if "vs_polars" in row:
            print(
                f"{n:>12,} sessions: gold SQL {row['vs_polars']:.2f}x Polars lazy (target >= 1.5x)"
                + (f", {row['vs_pandas']:.2f}x vectorised pandas (target >= 3x)" if "vs_pandas" in row else ""),
                flush=True,
            )
        results[str(n)] = row
        path.write_text(json.dumps(data, indent=2))
        shutil.rmtree(work, ignore_errors=True)
    plot(data, out_dir / "benchmark.png")
    print(table(data))
    return data


def _cell(row: dict, step: str) -> str:
    """'1.23 (456)': a step's seconds and peak MB, or a dash when it did not run."""
    r = row.get(step)
    return f"{r['seconds']:.2f} ({r['peak_mb']:,.0f})" if r else "–"


def table(data: dict) -> str:
    """The README's Markdown table of the benchmark."""
    lines = [
        "| sessions | events | simulate s (MB) | gold SQL s (MB) | gold Polars s (MB) | gold pandas s (MB) "
        "| SQL vs Polars | SQL vs pandas | whole report s (MB) | 03+04+05 at once MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, row in sorted(data.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        cell = functools.partial(_cell, row)

        lines.append(
            f"| {int(n):,} | {row['simulate'].get('events', 0):,} | {cell('simulate')} | {cell('gold_duckdb')} | "
            f"{cell('gold_polars')} | {cell('gold_pandas')} | {ratio(row, 'vs_polars')} | {ratio(row, 'vs_pandas')} "
            f"| {cell('report')} | {together(row)} |"
        )
    return "\n".join(lines)


def together(row: dict) -> str:
    """The summed kernel peaks of the three notebooks that run side by side (an upper bound of their joint use)."""
    peaks = row.get("report", {}).get("notebook_peak_mb") or {}
    side_by_side = [peaks.get(n) for n in ("03_conversion", "04_spend", "05_purchase_style")]
    return f"{sum(side_by_side):,.0f}" if all(side_by_side) else "–"


def ratio(row: dict, key: str) -> str:
    return f"{row[key]:.2f}×" if key in row else "–"


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(data.get("sizes", {}), key=int)
    if not sizes:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    from matplotlib.ticker import FuncFormatter, LogLocator

    labels = {
        "simulate": "simulate",
        "gold_duckdb": "gold table, SQL (DuckDB)",
        "gold_polars": "gold table, Polars lazy",
        "gold_pandas": "gold table, pandas",
        "report": "whole report",
    }
    for step, label in labels.items():
        xs = [int(n) for n in sizes if step in data["sizes"][n]]
        if xs:
            left.plot(xs, [data["sizes"][str(n)][step]["seconds"] for n in xs], marker="o", label=label)
            right.plot(xs, [data["sizes"][str(n)][step]["peak_mb"] for n in xs], marker="o", label=label)
    for ax, label in ((left, "wall time, s"), (right, "peak MB, largest process")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_xlabel("sessions (log scale)")
        ax.set_ylabel(label + " (log scale)")
    left.set_title("Time against sessions (log-log)")
    right.set_title("Memory against sessions (log-log)")
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------------------------------
# make bench-real: a REES46-shaped log through PRESET=rees46, beside DuckDB reading the CSV alone
# --------------------------------------------------------------------------------------------

SHARED_SAMPLE = paths.PROJECT_ROOT.parent / "shared" / "data" / "rees46_oct_sample" / "events.csv"
REAL_STEPS = ("duckdb_csv", "import_real", "report_real")


def tile_rees46(sample: Path, n_events: int, out: Path) -> Path:
    """A REES46-format CSV of ``n_events`` rows: the sample's rows repeated, each copy with new session and user ids.

    Copy ``c`` keeps the rows, products, prices and times of the sample shifted by ``c mod 31`` days;
    its ``user_session`` is a new UUID-shaped id and its ``user_id`` is moved by ``c`` billion.
    """
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"""CREATE TABLE sample AS SELECT row_number() OVER () AS rn, *
                    FROM read_csv('{sample}', all_varchar = true, header = true)""")
    rows = con.execute("SELECT count(*) FROM sample").fetchone()[0]
    copies = -(-n_events // rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"""COPY (
        SELECT strftime(CAST(replace(event_time, ' UTC', '') AS TIMESTAMP) + to_days(CAST(c % 31 AS INTEGER)),
                        '%Y-%m-%d %H:%M:%S') || ' UTC' AS event_time,
               event_type, product_id, category_id, category_code, brand, price,
               CAST(CAST(user_id AS BIGINT) + c * 1000000000 AS VARCHAR) AS user_id,
               CASE WHEN c = 0 THEN user_session ELSE
                    regexp_replace(md5(user_session || '#' || c), '^(.{{8}})(.{{4}})(.{{4}})(.{{4}})(.{{12}})$',
                                   '\\1-\\2-\\3-\\4-\\5') END AS user_session
        FROM sample, range({copies}) AS t(c)
        ORDER BY c, rn LIMIT {n_events}) TO '{out}' (HEADER, DELIMITER ',')""")
    return out


def _real_step(step: str, folder: Path) -> dict:
    """One measured step on ``folder/events.csv``: DuckDB alone, the project's import, or the whole report."""
    log = folder / "events.csv"
    if step == "duckdb_csv":
        import duckdb

        con = duckdb.connect()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{log}')")
        return {"rows": con.execute("SELECT count(*) FROM t").fetchone()[0]}
    if step == "import_real":
        from helpers.data.ingest import import_data

        return import_data(folder / "raw", event_log=str(log), preset="rees46")
    env = {
        **os.environ,
        "CLICKSTREAM_DATA_ROOT": str(folder / "data"),
        "CLICKSTREAM_REPORTS_ROOT": str(folder / "reports"),
    }
    cmd = [
        sys.executable,
        "-m",
        "helpers.runner.report",
        "--run",
        "real",
        "--event-log",
        str(log),
        "--preset",
        "rees46",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    record = json.loads((folder / "reports" / "real" / "run.json").read_text())
    return {
        "notebooks": record["seconds"],
        "notebook_peak_mb": {k: v.get("peak_mb") for k, v in record["notebooks"].items()},
    }


def run_real(sizes: list[int], with_report: bool, force: bool) -> dict:
    """Import and whole-report seconds and peak MB on tiled REES46 logs, beside DuckDB reading the CSV by itself."""
    out_dir = paths.reports_root() / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "benchmark_real.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["machine"] = machine() | {"load_average_at_start": os.getloadavg()[0]}
    results = data.setdefault("sizes", {})
    for n in sizes:
        if str(n) in results and not force:
            print(f"{n:>12,} events: already measured (use --force to redo)", flush=True)
            continue
        work = paths.data_root() / ".bench-real" / str(n)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"{n:>12,} events: tiling the shared REES46 sample ...", flush=True)
        tile_rees46(SHARED_SAMPLE, n, work / "events.csv")
        row = {"csv_mb": round((work / "events.csv").stat().st_size / 2**20, 1)}
        for step in ("duckdb_csv", "import_real") + (("report_real",) if with_report else ()):
            print(f"{n:>12,} events: {step} ...", end="", flush=True)
            row[step] = _measure(step, n, work)
            print(f" {row[step]['seconds']:.2f} s, peak {row[step]['peak_mb']:,.0f} MB", flush=True)
        row["import_vs_duckdb"] = round(row["import_real"]["seconds"] / row["duckdb_csv"]["seconds"], 2)
        print(
            f"{n:>12,} events: import takes {row['import_vs_duckdb']:.2f}x DuckDB reading the CSV alone (target <= 2x)"
        )
        results[str(n)] = row
        path.write_text(json.dumps(data, indent=2))
        shutil.rmtree(work, ignore_errors=True)
    print(real_table(data))
    return data


def real_table(data: dict) -> str:
    """The README's Markdown table of ``make bench-real``."""
    lines = [
        "| events | CSV MB | sessions | DuckDB reads the CSV s (MB) | import s (MB) | import vs DuckDB "
        "| whole report s (MB) | largest notebook MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, row in sorted(data.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        cell = functools.partial(_cell, row)

        peaks = [v for v in (row.get("report_real", {}).get("notebook_peak_mb") or {}).values() if v]
        lines.append(
            f"| {int(n):,} | {row['csv_mb']:,.0f} | {row['import_real'].get('sessions', 0):,} | {cell('duckdb_csv')} "
            f"| {cell('import_real')} | {row['import_vs_duckdb']:.2f}× | {cell('report_real')} "
            f"| {f'{max(peaks):,.0f}' if peaks else '–'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.runner.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1e4", "1e5", "1e6"], help="numbers of sessions, e.g. 1e4 1e6")
    parser.add_argument("--no-report", action="store_true", help="skip the whole-report measurement")
    parser.add_argument("--force", action="store_true", help="measure sizes again even if recorded")
    parser.add_argument("--real", action="store_true", help="sizes are events of a tiled REES46 log (make bench-real)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.n, Path(args.dir))
        return 0
    sizes = [int(float(s)) for s in args.sizes]
    if args.real:
        run_real(sizes, not args.no_report, args.force)
    else:
        run(sizes, not args.no_report, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
