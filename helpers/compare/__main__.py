"""Compare two runs: ``python -m helpers.compare A B`` (``make compare A=... B=...``).

Usage::

    python -m helpers.compare default tm      # writes reports/compare-default-vs-tm/index.html

Refuses with one line on stderr, exit code 2 and nothing written when a run does not exist, is
stale, failed on its last attempt, is being rebuilt, or was made by another version of the results.
On success it writes the page, ``site.css`` and ``compare.json`` (which the runs' front pages read
to link the page), re-renders both runs' front pages with the link, and prints the page's path.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from helpers import paths
from helpers.compare import comparison, page
from helpers.data.files import atomic_path, share_tree
from helpers.errors import ReportError
from helpers.presentation import website
from helpers.runner.params import check_run_name
from helpers.runner.staging import run_lock


def write(found: comparison.Comparison) -> Path:
    """Write the comparison's folder and link it from both runs' front pages; return its ``index.html``."""
    from helpers.presentation.frontpage import write_index

    html_text = page.render(found)  # everything is computed before the first write
    folder = paths.reports_root() / found.name
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "site.css") as tmp:
        shutil.copyfile(website.TEMPLATES / "site.css", tmp)
    record = {
        "a": {"run": found.a.name, "finished_utc": found.a.record.get("finished_utc")},
        "b": {"run": found.b.name, "finished_utc": found.b.record.get("finished_utc")},
        "made_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with atomic_path(folder / "compare.json") as tmp:
        Path(tmp).write_text(json.dumps(record, indent=2), encoding="utf-8")
    out = folder / "index.html"
    with atomic_path(out) as tmp:
        Path(tmp).write_text(html_text, encoding="utf-8")
    share_tree(folder)
    for side in (found.a, found.b) if found.b.name != found.a.name else (found.a,):
        write_index(side.name, side.reports, side.data)
    return out


def run(name_a: str, name_b: str) -> Path:
    """Check, compare and write; a ReportError (nothing written) when the runs cannot be compared."""
    for name in (name_a, name_b):
        check_run_name(name)
        comparison.open_run(name)  # refuse before taking any lock
    with contextlib.ExitStack() as locks:
        for name in sorted({name_a, name_b}):
            locks.enter_context(run_lock(name))
        return write(comparison.compare(name_a, name_b))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.compare", description=__doc__.split("\n")[0])
    parser.add_argument("a", help="run A (before): reports/<A>/ and data/<A>/")
    parser.add_argument("b", help="run B (after)")
    args = parser.parse_args(argv)
    try:
        out = run(args.a, args.b)
    except ReportError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
