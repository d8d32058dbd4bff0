"""The rendered site as analysts read it: headless Chromium at desktop and phone widths, and a scan of the text.

The browser test needs Debian's ``chromium`` and the ``playwright`` package (a dev dependency);
``.ci/run`` installs Chromium when it is missing. Without them the test is skipped with the reason.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import stat
from pathlib import Path

import pytest

from helpers.presentation import website

pytestmark = pytest.mark.notebook
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (1280, 390)
PHONE = 390


@pytest.fixture
def small(default_report):
    return default_report[0]


@pytest.fixture
def time_matters(time_matters_report):
    return time_matters_report[0]


def pages_of(folder: Path) -> list[Path]:
    return [folder / f"{name}.html" for name, _ in website.PAGES]


def visible_text(path: Path) -> str:
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"</?a\b[^>]*>", "", text)  # a link (a glossary term's) is part of its sentence
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def test_files_are_readable_by_others_and_the_site_is_complete(small):
    for path in [small, *small.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
    for page in pages_of(small):
        assert page.exists(), page.name
    assert (small / "site.css").exists()
    css = (small / "site.css").read_text()
    assert "http" not in css and "@import" not in css and "@media print" in css


def test_no_snake_case_header_raw_dict_or_unformatted_number_on_any_page(small, time_matters):
    for folder in (small, time_matters):
        for page in pages_of(folder):
            raw = page.read_text(encoding="utf-8")
            heads = "".join(re.findall(r"<thead>(.*?)</thead>", raw, re.S))  # column headers; row labels are data
            headers = [
                html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
                for h in re.findall(r"<th[^>]*>(.*?)</th>", heads, re.S)
            ]
            snake = [h for h in headers if re.search(r"\b[a-z0-9]+_[a-z0-9_]+\b", h)]
            assert not snake, (page.name, snake[:5])
            text = visible_text(page)
            assert not re.search(r"\{'[a-z_]+': ", text), page.name  # a printed Python dict
            assert not re.search(r"\b(PosixPath|Outcome|Record|DataFrame)\(", text), page.name  # a printed object
            assert not re.search(r"\d[eE][+-]\d\d\b", text), (
                page.name,
                re.findall(r".{30}\d[eE][+-]\d\d.{10}", text)[:3],
            )
            assert not re.search(r"\d+\.\d{6,}\b", text), (page.name, re.findall(r".{30}\d+\.\d{6,}.{10}", text)[:3])
            assert "$+" not in text and "$-" not in text, page.name


def test_every_page_has_its_own_title_navigation_and_footer(small):
    titles = set()
    for page in pages_of(small):
        raw = page.read_text(encoding="utf-8")
        title = re.search(r"<title>(.*?)</title>", raw, re.S).group(1).strip()
        assert title and title != "Notebook" and title not in titles, (page.name, title)
        titles.add(title)
        assert 'class="site-nav"' in raw and 'aria-current="page"' in raw, page.name
        assert page.name == "glossary.html" or "Reproducibility" in raw, page.name
        assert not re.search(r'(src|href)="(https?:)?//', raw), page.name  # offline: nothing external
        assert "<script" not in raw, page.name
    for page in pages_of(small)[1:7]:
        assert 'class="toc"' in page.read_text(encoding="utf-8"), page.name
        assert 'href="glossary.html#' in page.read_text(encoding="utf-8"), page.name


def test_front_page_holds_the_answers(small):
    text = visible_text(small / "index.html")
    for words in (
        "sessions",
        "conversion",
        "95 % CI",
        "buyers",
        "revenue",
        "average order value",
        "Answers",
        "Who purchases",
        "Who spends more",
        "How do purchase styles arise",
        "Key figure",
        "Recommendations",
        "Proposed experiment",
        "Hypothesis",
        "Lever",
        "Primary metric",
        "Guardrails",
        "Runtime",
        "Data",
        "Simulated",
        "Limitations",
    ):
        assert words in text, words
    assert re.search(r"Confidence|high|medium|low", text)
    assert (
        'src="data:image/png;base64,' in (small / "index.html").read_text()
        and 'alt="Conversion' in (small / "index.html").read_text()
    )


def _browser_check(folder: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors: list[str] = []
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                for path in pages_of(folder):
                    page.goto(path.as_uri())
                    where = f"{path.name} at {width} px"
                    if errors:
                        problems.append(f"{where}: console errors {errors[:2]}")
                        errors.clear()
                    broken = page.evaluate(
                        "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length"
                    )
                    if broken:
                        problems.append(f"{where}: {broken} broken image(s)")
                    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
                    if overflow > 0:
                        problems.append(f"{where}: the page is {overflow} px wider than the window")
                    if width == PHONE:
                        problems += [f"{where}: {t}" for t in page.evaluate(HIDDEN_COLUMNS)]
                        if path.name == "index.html":
                            problems += _key_figure_too_small(page, where)
                    missing_alt = page.evaluate("[...document.images].filter(i => !i.alt).length")
                    if missing_alt and path.name == "index.html":
                        problems.append(f"{where}: {missing_alt} image(s) without alt text")
                    if width == WIDTHS[0]:
                        links = page.evaluate(
                            "[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
                        )
                        problems += _dead_links(folder, path, links)
                page.close()
        finally:
            browser.close()
    return problems


# Tables whose columns run beyond their own box or the window (scrolled out of sight), as their first words.
HIDDEN_COLUMNS = """[...document.querySelectorAll('table')].filter(t => {
    const box = t.closest('.jp-OutputArea-output') || t.parentElement;
    return t.scrollWidth > t.clientWidth + 1 || box.scrollWidth > box.clientWidth + 1
        || t.getBoundingClientRect().right > window.innerWidth;
}).map(t => 'a table scrolls sideways: ' + t.innerText.replace(/\\s+/g, ' ').slice(0, 50))"""


def _key_figure_too_small(page, where: str) -> list[str]:
    """The key figure's smallest text as shown (its PNG records it in pixels) against the body text's size."""
    import base64
    import io

    from PIL import Image

    from helpers.presentation.plots import TEXT_PX_KEY

    shown = page.evaluate(
        """() => { const img = document.querySelector('figure.key-figure img');
        return img && {src: img.currentSrc, width: img.clientWidth, natural: img.naturalWidth,
                       body: parseFloat(getComputedStyle(document.body).fontSize)}; }"""
    )
    if shown is None:  # no key figure on these data, and the page says so in a sentence
        found = page.evaluate("document.body.innerText.includes('No key figure')")
        return [] if found else [f"{where}: no key figure (figure.key-figure img) and no sentence saying why"]
    png = Image.open(io.BytesIO(base64.b64decode(shown["src"].split(",", 1)[1])))
    text_px = float(png.text[TEXT_PX_KEY]) * shown["width"] / shown["natural"]
    if text_px < shown["body"]:
        return [f"{where}: the key figure's text shows {text_px:.1f} px high, below the body text's {shown['body']} px"]
    return []


def _dead_links(folder: Path, page: Path, links: list[str]) -> list[str]:
    dead = []
    for href in links:
        target, _, anchor = href.partition("#")
        file = folder / target if target else page
        if not file.exists():
            dead.append(f"{page.name}: link to missing {href}")
        elif anchor and f'id="{anchor}"' not in html.unescape(file.read_text(encoding="utf-8")):
            dead.append(f"{page.name}: link to missing anchor {href}")
    return dead


@pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (Debian package 'chromium'; .ci/run installs it)"
)
@pytest.mark.parametrize("which", ["small", "time_matters"])
def test_pages_in_a_real_browser(which, request):
    pytest.importorskip("playwright", reason="the playwright package is not installed (make venv installs it)")
    folder = request.getfixturevalue(which)
    assert _browser_check(folder) == []


def _recorded(folder: Path) -> dict:
    """A whole report's recorded results, typed, from its data folder beside its reports folder."""
    from helpers.analysis.results import typed

    found = folder.parents[1] / "data" / folder.name / "results"
    return {p.stem: typed(p.stem, json.loads(p.read_text())) for p in found.glob("*.json")}


def test_front_pages_open_with_a_summary_in_business_units_from_the_results(small, time_matters):
    from helpers.presentation.words import summary

    from .summarycheck import MODEL_UNITS, numbers_not_in_results

    leads = {small: "Each extra event before checkout goes with +", time_matters: "Each extra minute before checkout"}
    for folder, lead in leads.items():
        res = _recorded(folder)
        sentences = summary.sentences(res)
        brief = " ".join(sentences)
        text = visible_text(folder / "index.html")
        assert len(sentences) <= 3 and brief.startswith(lead), brief
        assert text.index("In short") < text.index(brief) < text.index("Answers Question"), folder.name
        assert not MODEL_UNITS.search(brief), brief
        assert numbers_not_in_results(brief, res) == [], brief  # each number a field of a result, as shown
        u = res["03_conversion"].unit("engagement" if folder == small else "time")
        assert f"{u.points:+.2f} points of conversion (95 % CI {u.lo:+.2f} to {u.hi:+.2f})" in brief
        assert "confidence" in sentences[0] and "per order" in sentences[1] and "minutes" in sentences[2]


# Capitals that are not technical terms (units, formats): every other acronym on any page has a glossary entry.
PLAIN_CAPITALS = {"USD", "UTC", "SQL", "ISO", "CSV", "ID", "HTML", "JSON", "PDF", "PNG", "OK"}


def test_every_technical_term_of_the_site_is_in_the_glossary_and_linked_on_the_front_page(small, time_matters):
    from .test_summary import unlinked_terms

    for folder in (small, time_matters):
        for page in pages_of(folder):
            text = re.sub(r"<footer.*?</footer>", " ", page.read_text(encoding="utf-8"), flags=re.S)
            text = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", text, flags=re.S)
            text = html.unescape(re.sub(r"<[^>]+>", " ", text))
            capitals = set(re.findall(r"(?<![\w/-])[A-Z][A-Z0-9]+(?:[/-][A-Z0-9]+)*(?![\w/-])", text))
            missing = [
                c
                for c in sorted(capitals - PLAIN_CAPITALS)
                if not any(re.search(pattern, f" {c} ") for _, _, pattern in website.GLOSSARY.values())
            ]
            assert missing == [], (page.name, missing)
        assert unlinked_terms((folder / "index.html").read_text(encoding="utf-8")) == [], folder.name


def test_time_matters_front_page_says_time_is_the_stronger(time_matters):
    from helpers.analysis.results import typed
    from helpers.presentation.words import answers

    found = time_matters.parents[1] / "data" / "tm" / "results" / "03_conversion.json"
    text = visible_text(time_matters / "index.html")
    assert answers.summary({"03_conversion": typed("03_conversion", json.loads(found.read_text()))})[0].answer in text
    assert "Time is the clearly stronger of the two" in text and "Lever time before checkout" in text


def test_the_footer_asks_git_once_per_process(monkeypatch):
    import subprocess

    calls = []
    real = subprocess.run

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    website.git_commit.cache_clear()
    monkeypatch.setattr(subprocess, "run", counting)
    first, second = website.git_commit(), website.git_commit()
    assert first == second and first != "unknown"  # the project is a git checkout
    assert len(calls) == 2  # rev-parse and status, once
    website.git_commit.cache_clear()


def test_a_front_page_written_later_keeps_the_runs_commit(monkeypatch):
    monkeypatch.setattr(website, "git_commit", lambda: "later0000000")
    later = website.footer_html("default", {}, "abc", {}, "run000000000")
    assert "run000000000" in later and "later0000000" not in later
    assert "later0000000" in website.footer_html("default", {}, "abc", {})
