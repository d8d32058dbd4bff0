"""The report as one file to attach: its front page, or every page, printed to ``reports/<run>/report.pdf``.

Usage::

    python -m helpers.presentation.pdf default          # the front page
    python -m helpers.presentation.pdf default --all    # every page, the front page first
    make pdf RUN=default [ALL=1]

The installed headless Chromium (Debian's ``chromium``) prints one print copy of the chosen pages: the
site's stylesheet inlined, each page starting on a new sheet, links between the pages kept as links inside
the file (and links to pages left out dropped), the collapsed footers opened. ``site.css``'s print rules hide
the navigation, start each numbered section of a notebook page on a new sheet and keep figures whole. Chromium
runs with a profile of its own in a temporary folder and in a process group of its own, which is ended before
the command returns, so nothing is left running.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from helpers import paths
from helpers.data.files import atomic_path
from helpers.errors import ReportError
from helpers.presentation import website

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 180
PROFILE_PREFIX = "clickstream-pdf-"  # the temporary folder of Chromium's profile


class PdfError(ReportError):
    """The PDF cannot be printed: no Chromium, no report for the run, or Chromium failed."""


def chromium() -> str:
    """The path of the installed Chromium, or a ``PdfError`` saying how to install it."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError(
        "printing the PDF needs headless Chromium, and none is installed (looked on PATH for "
        f"{', '.join(CHROMIUM_NAMES)}); on Debian or Ubuntu: apt-get install chromium"
    )


def page_names(all_pages: bool) -> list[str]:
    """The pages printed, in the site's order: the front page, or every page (front page first)."""
    return [name for name, _ in website.PAGES] if all_pages else ["index"]


def print_document(folder: Path, names: list[str]) -> str:
    """One HTML document holding the main content of each page in ``names``, ready for printing."""
    folder = Path(folder)
    styles = ""  # the notebook pages' own style sheets (nbconvert's), taken once from the first of them
    sections = []
    for name in names:
        raw = (folder / f"{name}.html").read_text(encoding="utf-8")
        if not styles and "jp-Notebook" in raw:
            head = re.search(r"<head>(.*?)</head>", raw, re.S)
            styles = "".join(re.findall(r"<style[^>]*>.*?</style>", head.group(1) if head else "", re.S))
        main = re.search(r'<main class="site-main">(.*)</main>', raw, re.S)
        footer = re.search(r'<footer class="repro">.*?</footer>', raw, re.S)
        content = (main.group(1) if main else "") + (footer.group(0) if footer else "")
        sections.append(
            f'<section class="print-page" id="page-{name}"><div class="site-main">{content}</div></section>'
        )
    body = _local_links("".join(sections), set(names))
    title = re.search(r"<title>(.*?)</title>", (folder / f"{names[0]}.html").read_text(encoding="utf-8"), re.S)
    css = (folder / "site.css").read_text(encoding="utf-8")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title.group(1) if title else 'Clickstream report'}</title>{styles}<style>{css}</style></head>"
        f'<body class="print-document">{body}</body></html>'
    )


def _local_links(body: str, included: set[str]) -> str:
    """Links to a printed page point inside the document; links anywhere else (a file on someone's disk) go."""

    def fix(match: re.Match) -> str:
        target = match.group(1)
        if target.startswith("#"):
            return match.group(0)
        page = re.fullmatch(r"([A-Za-z0-9_-]+)\.html(?:#(.*))?", target)
        if page and page.group(1) in included:
            return f'href="#{page.group(2) or "page-" + page.group(1)}"'
        return ""

    body = re.sub(r'href="([^"]*)"', fix, body)
    return re.sub(r"<p>\s*<a\s*>[^<]*</a>\s*</p>", "", body)  # a paragraph that was only such a link


def write_pdf(run: str, all_pages: bool = False, folder: Path | None = None) -> Path:
    """Print the front page (``all_pages``: every page) of ``run``'s report to ``reports/<run>/report.pdf``."""
    folder = Path(folder) if folder is not None else paths.reports_root() / run
    missing = [n for n in page_names(all_pages) if not (folder / f"{n}.html").exists()]
    if missing:
        raise PdfError(
            f"run '{run}' has no report to print: {folder / (missing[0] + '.html')} does not exist; "
            f"make it first: make report RUN={run}"
        )
    browser = chromium()
    out = folder / paths.REPORT_PDF
    with tempfile.TemporaryDirectory(prefix=PROFILE_PREFIX) as scratch:
        document = Path(scratch) / "report.html"
        document.write_text(print_document(folder, page_names(all_pages)), encoding="utf-8")
        printed = Path(scratch) / paths.REPORT_PDF
        _print(browser, document, printed, Path(scratch) / "profile")
        if not printed.exists() or not printed.read_bytes().startswith(b"%PDF"):
            raise PdfError(f"Chromium ({browser}) wrote no PDF for {folder}")
        with atomic_path(out) as tmp:
            shutil.copyfile(printed, tmp)
    return out


def _print(browser: str, document: Path, out: Path, profile: Path) -> None:
    """Run headless Chromium once to print ``document``; its whole process group is ended before returning."""
    command = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-pdf-header-footer",
        f"--print-to-pdf={out}",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--allow-file-access-from-files",
        *(["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),  # Chromium refuses root else
        document.as_uri(),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _, err = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _end_group(process.pid)
        process.communicate()
        raise PdfError(f"Chromium did not finish printing within {TIMEOUT_S} s") from None
    finally:
        _end_group(process.pid)
    if process.returncode != 0:
        last = [line for line in err.decode(errors="replace").splitlines() if line.strip()][-3:]
        raise PdfError(f"Chromium failed printing the PDF (exit {process.returncode}): {' | '.join(last)}")


def _end_group(pgid: int) -> None:
    """End what is left of Chromium's process group (helpers it started that outlive it)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def page_count(pdf: Path) -> int:
    """The number of pages of a PDF Chromium wrote (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", Path(pdf).read_bytes()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.presentation.pdf", description=__doc__.split("\n")[0])
    parser.add_argument("run", nargs="?", default="default", help="the run whose report to print (reports/<run>/)")
    parser.add_argument("--all", action="store_true", help="every page, not only the front page")
    args = parser.parse_args(argv)
    try:
        out = write_pdf(args.run, all_pages=args.all)
    except PdfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}: {'every page' if args.all else 'the front page'}, {page_count(out)} PDF pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
