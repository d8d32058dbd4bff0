"""`make pdf`: the front page (or every page) printed by headless Chromium into one file to attach.

The printing tests need Debian's ``chromium`` and ``pdftotext``/``pdfinfo`` (poppler-utils), and are
skipped with the reason when either is missing; the errors and the print document are tested without them.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.presentation import pdf

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo")
needs_printing = pytest.mark.skipif(
    CHROMIUM is None or not POPPLER,
    reason="printing needs Chromium (Debian 'chromium') and poppler-utils (pdftotext, pdfinfo)",
)


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    """The text of a PDF's pages in the order it was drawn (a table cell's lines stay together), spaces collapsed."""
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    out = subprocess.run(["pdftotext", "-raw", *pages, str(path), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", " ", out.stdout)


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def chromium_processes() -> list[str]:
    """Command lines of running processes that use a profile folder of this module's printing."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if pdf.PROFILE_PREFIX in text:
            found.append(text[:200])
    return found


@pytest.fixture(scope="module")
def printed(default_report, tmp_path_factory):
    """A copy of the default report, printed twice: the front page, then every page."""
    folder = tmp_path_factory.mktemp("pdf") / "default"
    shutil.copytree(default_report[0], folder)
    front = pdf.write_pdf("default", folder=folder)
    front_copy = folder.parent / "front.pdf"
    shutil.copyfile(front, front_copy)
    every = pdf.write_pdf("default", all_pages=True, folder=folder)
    return folder, front_copy, every


@needs_printing
def test_the_front_page_prints_first_with_its_title_and_answers(printed):
    folder, front, every = printed
    assert front.read_bytes().startswith(b"%PDF") and every == folder / "report.pdf"
    n_front, n_every = pdf_pages(front), pdf_pages(every)
    assert n_front == pdf.page_count(front) and n_every == pdf.page_count(every)
    assert 1 <= n_front <= 10, n_front  # the front page alone: a few sheets, not the whole site
    assert n_every > n_front + 10, (n_every, n_front)  # every page: six notebooks and the glossary follow
    answer = first_answer(folder / "index.html")
    brief = summary_text(folder / "index.html")
    for path in (front, every):
        first = pdf_text(path, 1, 1)
        assert "Clickstream report: default" in first and "average order value" in first, first[:300]
        assert "In short" in first and brief in first, (brief, first[:600])  # the summary, whole, on the first sheet
        assert "Answers" in pdf_text(path, 1, 2) and "Who purchases" in pdf_text(path, 1, 2)  # the table after it
        assert "On this page" not in first and "Overview 01 Data" not in first  # contents and navigation hidden
        assert answer in pdf_text(path, 1, 2), answer
    text = pdf_text(every)
    order = [text.index(words) for words in ("Clickstream report: default", "06 · What product", "Glossary The terms")]
    assert order == sorted(order), order  # the front page first, the glossary last


def summary_text(index: Path) -> str:
    """The front page's summary (its 'In short' paragraph), as shown."""
    found = re.search(r'<section class="summary-first".*?</h2>(.*?)</section>', index.read_text(), re.S)
    words = re.sub(r"<[^>]+>", " ", re.sub(r"</?a\b[^>]*>", "", found.group(1)))  # a glossary link is in its sentence
    return " ".join(html.unescape(words).split())


def first_answer(index: Path) -> str:
    """The first words of the front page's first answer, as shown."""
    cell = re.search(
        r'<table class="answers".*?<tbody>\s*<tr>\s*<td[^>]*>.*?</td>\s*<td[^>]*>(.*?)</td>', index.read_text(), re.S
    )
    words = html.unescape(re.sub(r"<[^>]+>", " ", cell.group(1))).split()
    return " ".join(words[:6])


@needs_printing
def test_printing_leaves_no_chromium_running(printed):
    assert chromium_processes() == []


@needs_printing
def test_the_command_line_writes_the_file_and_says_so(printed, monkeypatch, capsys):
    folder = printed[0]
    monkeypatch.setenv("CLICKSTREAM_REPORTS_ROOT", str(folder.parent))
    assert pdf.main(["default"]) == 0
    assert f"wrote {folder / 'report.pdf'}: the front page" in capsys.readouterr().out
    assert chromium_processes() == []


def test_a_run_without_a_report_is_named_with_the_command_that_makes_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLICKSTREAM_REPORTS_ROOT", str(tmp_path))
    with pytest.raises(pdf.PdfError, match=r"run 'nothing' has no report to print: .*make report RUN=nothing"):
        pdf.write_pdf("nothing")
    assert pdf.main(["nothing"]) == 2
    assert "error: run 'nothing' has no report" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()


def test_without_chromium_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    (tmp_path / "index.html").write_text('<main class="site-main"><h1>x</h1></main>')
    monkeypatch.setattr(pdf, "CHROMIUM_NAMES", ("no-such-browser-here",))
    with pytest.raises(pdf.PdfError, match="needs headless Chromium.*apt-get install chromium"):
        pdf.write_pdf("x", folder=tmp_path)
    assert not (tmp_path / "report.pdf").exists()


def test_the_print_document_keeps_links_between_printed_pages_and_drops_the_rest(tmp_path):
    (tmp_path / "site.css").write_text("body{margin:0}")
    page = (
        '<html><head><title>T · run</title></head><body><nav class="site-nav">nav</nav><main class="site-main">'
        '<h1>{}</h1><a href="03_conversion.html#3-Effects">effects</a> <a href="glossary.html#sd">SD</a> '
        '<a href="#answers">here</a> <a href="../compare-a-vs-b/index.html">compare</a><details><summary>s</summary>'
        '</details><p><a href="06_strategy.html#4">The plan in full</a></p></main><nav class="prev-next">next</nav>'
        '<footer class="repro">footer</footer></body></html>'
    )
    for name in ("index", "03_conversion"):
        (tmp_path / f"{name}.html").write_text(page.format(name))
    front = pdf.print_document(tmp_path, ["index"])
    assert "<title>T · run</title>" in front and "body{margin:0}" in front and "footer" in front
    assert "site-nav" not in front and "prev-next" not in front  # only the main content and the footer
    assert 'href="#answers"' in front and "03_conversion.html" not in front and "glossary.html" not in front
    assert "compare-a-vs-b" not in front and "<a >effects</a>" in front  # a link to a file not printed goes
    assert "The plan in full" not in front  # and a paragraph that was only such a link
    both = pdf.print_document(tmp_path, ["index", "03_conversion"])
    assert 'href="#3-Effects"' in both and both.count('class="print-page"') == 2
    assert both.index('id="page-index"') < both.index('id="page-03_conversion"')


def test_the_runners_pdf_option_prints_after_a_successful_run_only(monkeypatch, capsys):
    from helpers.errors import ReportError
    from helpers.runner import report

    calls = []
    monkeypatch.setattr(report, "execute", lambda run, *a, **k: calls.append(("run", run)))
    monkeypatch.setattr(pdf, "write_pdf", lambda run, all_pages: calls.append(("pdf", run, all_pages)) or Path("x.pdf"))
    assert report.main(["--run", "r1", "--pdf"]) == 0
    assert report.main(["--run", "r2", "--pdf", "all"]) == 0
    assert report.main(["--run", "r3"]) == 0
    assert calls == [("run", "r1"), ("pdf", "r1", False), ("run", "r2"), ("pdf", "r2", True), ("run", "r3")]

    def failing(run, *a, **k):
        raise ReportError("02_gold_table failed")

    monkeypatch.setattr(report, "execute", failing)
    calls.clear()
    assert report.main(["--run", "r4", "--pdf"]) == 2 and calls == []
    assert "02_gold_table failed" in capsys.readouterr().err
