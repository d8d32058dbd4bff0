"""The run's front page, ``reports/<run>/index.html``: summary, parameters, links, timings.

Usage::

    from helpers.frontpage import write_index
    write_index("default", reports_folder, data_folder)

Self-contained HTML (inline CSS, no scripts). Every value that comes from data or parameters is
escaped, so a label such as ``<script>`` shows as text.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from . import tables
from .io import atomic_path, read_json

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2rem auto;
padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{margin-bottom:.2rem} .sub{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.92rem}
th,td{border-bottom:1px solid #ddd;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-size:.8rem;color:#fff}
.high{background:#1f6f43}.medium{background:#8a6d00}.low{background:#8b2c2c}.none{background:#666}
code{background:#f3f3f3;padding:0 .25rem;border-radius:.2rem}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>" for i, c in enumerate(r)
        ) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_section(data_folder: Path) -> str:
    """The answers, recommendations, experiment plan and limitations, once ``06_strategy`` has run."""
    path = Path(data_folder) / "results" / "06_strategy.json"
    if not path.exists():
        return "<p>The answers appear once <code>06_strategy</code> has run.</p>"
    strategy = read_json(path)
    plan = "".join(f"<li>{_e(line.lstrip('- ').replace('**', ''))}</li>" for line in strategy.get("experiment_lines", [])[:3])
    limits = "".join(f"<li>{_e(x)}</li>" for x in strategy.get("limitations", []))
    return (
        "<h2>Answers</h2>" + tables.summary_html(strategy.get("summary", []))
        + "<h2>Recommendations</h2>" + tables.recommendations_html(strategy.get("recommendations", []))
        + (f"<h2>Proposed experiment</h2><ul>{plan}</ul>" if plan else "")
        + (f"<h2>Limitations</h2><ul>{limits}</ul>" if limits else "")
    )


def _results(data_folder: Path, name: str) -> dict:
    path = Path(data_folder) / "results" / f"{name}.json"
    return read_json(path) if path.exists() else {}


def write_index(run: str, reports_folder: Path, data_folder: Path) -> Path:
    """Write ``index.html`` for one run folder."""
    reports_folder = Path(reports_folder)
    record = json.loads((reports_folder / "run.json").read_text()) if (reports_folder / "run.json").exists() else {}
    reports = sorted(p for p in reports_folder.glob("[0-9][0-9]_*.html"))
    seconds = record.get("seconds", {})
    links = "".join(
        f'<tr><td><a href="{_e(p.name)}">{_e(p.stem)}</a></td>'
        f'<td class="num">{_e(seconds.get(p.stem, ""))}</td></tr>'
        for p in reports
    )
    total = sum(v for v in seconds.values() if isinstance(v, (int, float)))
    params = record.get("parameters", {})
    sim = _results(data_folder, "01_simulate")
    simulated = sim.get("source", "simulator") == "simulator"
    if not simulated:  # the simulator's knobs and empty data parameters say nothing about a user's data
        from .simulate import SimConfig

        params = {k: v for k, v in params.items() if k not in SimConfig.__dataclass_fields__ and v != ""}
    param_rows = [[k, v] for k, v in sorted(params.items())] or [["(all defaults)", ""]]
    source = ("<h2>Data</h2><p>Simulated: a shop whose true effects are known (the simulator's knobs are among the "
              "parameters below).</p>" if simulated else
              "<h2>Data</h2>" + tables.provenance_html(sim["provenance"]) if sim.get("provenance") else "")
    versions = [[k, v] for k, v in record.get("versions", {}).items()]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Clickstream report: {_e(run)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body>
<h1>Clickstream report: run <code>{_e(run)}</code></h1>
<p class="sub">Scenario: {_e(record.get("scenario") or "none")} · finished {_e(record.get("finished_utc", "").replace("T", " ").replace("+00:00", ""))} UTC
· {total:.1f} s of notebook time · data fingerprint <code>{_e(record.get("data_fingerprint", ""))}</code></p>
{summary_section(data_folder)}
{source}
<h2>Reports</h2>
<table><thead><tr><th>Notebook</th><th>Seconds</th></tr></thead><tbody>{links}</tbody></table>
<h2>Parameters</h2>
{_table(["parameter", "value"], param_rows)}
<h2>Package versions</h2>
{_table(["package", "version"], versions)}
</body></html>
"""
    out = reports_folder / "index.html"
    with atomic_path(out) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return out
