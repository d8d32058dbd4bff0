"""The report as one small offline site: navigation, per-page contents, glossary links, footer, stylesheet.

Usage::

    from helpers.presentation import website
    website.render_notebook(executed_ipynb, html_path, run="default", parameters={...}, fingerprint="...")
    website.write_assets(reports_folder)          # site.css and glossary.html

Every page links ``site.css`` (one stylesheet, no external URL, font or script), carries a
navigation bar with the current page marked, a table of contents of its sections, previous and
next links, the first use of each glossary term linked to ``glossary.html``, and a collapsed
reproducibility footer (run, parameters, data fingerprint, commit, package versions).
"""

from __future__ import annotations

import functools
import html
import re
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from helpers import paths
from helpers.data.files import atomic_path

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGES = [
    ("index", "Overview"),
    ("01_simulate", "01 Data"),
    ("02_gold_table", "02 Gold table"),
    ("03_conversion", "03 Who buys"),
    ("04_spend", "04 Who spends"),
    ("05_purchase_style", "05 Styles"),
    ("06_strategy", "06 Strategy"),
    ("glossary", "Glossary"),
]

# term id -> (name, definition, pattern of its first use in a page), from templates/glossary.yaml
GLOSSARY: dict[str, tuple[str, str, str]] = {
    term: (entry["name"], entry["definition"], entry["first_use"])
    for term, entry in yaml.safe_load((TEMPLATES / "glossary.yaml").read_text(encoding="utf-8")).items()
}
SKIP_INSIDE = {"a", "style", "script", "title", "h1", "h2", "h3", "h4", "th", "nav", "summary"}


def nav_html(current: str) -> str:
    """The navigation bar, the current page marked."""
    marked = ' aria-current="page" class="current"'
    links = "".join(
        f'<a href="{name}.html"{marked if name == current else ""}>{html.escape(label)}</a>' for name, label in PAGES
    )
    return f'<nav class="site-nav" aria-label="Report pages">{links}</nav>'


def prev_next_html(current: str) -> str:
    """Previous and next page links."""
    names = [n for n, _ in PAGES]
    i = names.index(current) if current in names else 0
    prev = (
        f'<a rel="prev" href="{names[i - 1]}.html">← {html.escape(PAGES[i - 1][1])}</a>' if i > 0 else "<span></span>"
    )
    nxt = f'<a rel="next" href="{names[i + 1]}.html">{html.escape(PAGES[i + 1][1])} →</a>' if i + 1 < len(names) else ""
    return f'<nav class="prev-next" aria-label="Previous and next page">{prev}{nxt}</nav>'


def footer_html(run: str, parameters: dict, fingerprint: str, versions: dict, commit: str | None = None) -> str:
    """The collapsed reproducibility footer; ``commit`` is the run's (``run.json``) when a page is written later."""
    rows = [("run", run), ("data fingerprint", fingerprint or "n/a"), ("commit", commit or git_commit())]
    rows += [(f"parameter {k}", v) for k, v in sorted(parameters.items())]
    rows += [(f"package {k}", v) for k, v in versions.items()]
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return (
        f'<footer class="repro"><details><summary>Reproducibility: run {html.escape(run)}, data '
        f"{html.escape(fingerprint or 'n/a')}</summary><table>{body}</table></details></footer>"
    )


@functools.cache
def git_commit() -> str:
    """The project's git commit, marked '+changes' when the work tree differs; 'unknown' outside git.

    Looked up once per process, so a run asks git once however many pages it renders.
    """
    root = paths.PROJECT_ROOT
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("+changes" if dirty else "")) if sha else "unknown"


@functools.cache
def package_versions() -> dict[str, str]:
    """Versions of Python and the packages the report depends on (read once per process: every page's footer)."""
    from importlib.metadata import PackageNotFoundError, version

    names = [
        "numpy",
        "pandas",
        "pyarrow",
        "duckdb",
        "sqlglot",
        "scipy",
        "scikit-learn",
        "statsmodels",
        "matplotlib",
        "seaborn",
        "papermill",
        "nbconvert",
        "pyspark",
    ]
    out = {"python": sys.version.split()[0]}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def toc_html(body: str) -> str:
    """Contents of a page from its second-level headings (their ids come from nbconvert)."""
    items = []
    for anchor, inner in re.findall(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', body, flags=re.S):
        label = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r'<a class="anchor-link".*?</a>', "", inner))).strip()
        items.append(f'<li><a href="#{anchor}">{html.escape(label)}</a></li>')
    return (
        f'<nav class="toc" aria-label="On this page"><b>On this page</b><ol>{"".join(items)}</ol></nav>'
        if items
        else ""
    )


def link_terms(body: str, href: str = "glossary.html") -> str:
    """Link the first use of each glossary term in the page's text to its glossary entry."""
    left = dict(GLOSSARY)
    parts = re.split(r"(<[^>]+>)", body)
    stack: list[str] = []
    for i, part in enumerate(parts):
        if part.startswith("<"):
            tag = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            if tag:
                name = tag.group(1).lower()
                if part.startswith("</"):
                    if name in stack:
                        del stack[len(stack) - 1 - stack[::-1].index(name) :]
                elif not part.endswith("/>") and name in SKIP_INSIDE:
                    stack.append(name)
            continue
        if stack or not part.strip() or not left:
            continue
        for term, (_, _, pattern) in list(left.items()):
            match = re.search(pattern, part)
            if match:
                part = (
                    part[: match.start()]
                    + f'<a class="term" href="{href}#{term}">{match.group(0)}</a>'
                    + part[match.end() :]
                )
                del left[term]
        parts[i] = part
    return "".join(parts)


def decorate(body: str) -> str:
    """Add the contents box after the navigation, link glossary terms and label table cells (a rendered page in,
    the page out)."""
    body = stack_tables(link_terms(body))
    return body.replace("<!--toc-->", toc_html(body), 1)


STACK_FROM_COLUMNS = 3  # tables with this many columns or more become one card per row on a phone


def stack_tables(body: str) -> str:
    """Mark each table of ``STACK_FROM_COLUMNS`` columns or more ``class="stack"`` and give each data cell its
    column's header as ``data-label``: on a narrow screen site.css shows such a table as one card per row, each
    value beside its header, instead of columns beyond the screen's edge."""
    return re.sub(r"<table\b[^>]*>.*?</table>", _stack_table, body, flags=re.S)


def _stack_table(match: re.Match) -> str:
    table = match.group(0)
    head = re.search(r"<thead>(.*?)</thead>", table, re.S)
    if head is None or "<table" in table[6:] or re.match(r'<table[^>]*class="[^"]*answers', table):
        return table
    columns: list[list[str]] = []  # the header texts above each column, one list per column
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", head.group(1), re.S):
        position = 0
        for attrs, inner in re.findall(r"<th([^>]*)>(.*?)</th>", row, re.S):
            span = re.search(r'colspan="?(\d+)', attrs)
            text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", inner))).strip()
            for _ in range(int(span.group(1)) if span else 1):
                columns += [[]] * (position + 1 - len(columns))
                columns[position] = [*columns[position], text] if text else columns[position]
                position += 1
    if len(columns) < STACK_FROM_COLUMNS:
        return table
    labels = [" · ".join(dict.fromkeys(texts)) for texts in columns]

    def label_row(row: re.Match) -> str:
        cells = re.findall(r"<td\b", row.group(0))
        names = iter(labels[len(labels) - len(cells) :])  # data cells are the row's last; row headers may span
        return re.sub(r"<td\b", lambda _: f'<td data-label="{html.escape(next(names, ""))}"', row.group(0))

    body = re.sub(
        r"<tbody>.*?</tbody>", lambda b: re.sub(r"<tr\b.*?</tr>", label_row, b.group(0), flags=re.S), table, flags=re.S
    )
    if re.match(r'<table[^>]*\bclass="', body):
        return re.sub(r'\bclass="', 'class="stack ', body, count=1)
    return '<table class="stack"' + body[len("<table") :]


def header_html(current: str) -> str:
    return nav_html(current) + "<!--toc-->"


_EXPORTING = threading.Lock()


@functools.cache
def _exporter():
    """The page exporter, made once per process: each new one compiled its ten templates again (0.3 s a page)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"parameters", "injected-parameters"}), enabled=True
    )
    return exporter


def warm_exporter() -> None:
    """Render a one-cell notebook, discarding it: the exporter compiles its templates and page checks now, not
    when the first real page is waited for."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# -")], metadata={"title": "-"})
    with _EXPORTING:
        _exporter().from_notebook_node(nb, resources={"site": {"header": "", "footer": ""}})


def render_notebook(executed: Path, html_path: Path, run: str, parameters: dict, fingerprint: str) -> None:
    """Render an executed notebook as a site page: no code, no prompts, no parameter cells, no stderr."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
    name = Path(executed).stem
    title = next(
        (
            line[2:].strip()
            for c in nb.cells
            if c.cell_type == "markdown"
            for line in c.source.splitlines()
            if line.startswith("# ")
        ),
        name,
    )
    nb.metadata["title"] = f"{title} · {run}"
    resources = {
        "site": {
            "header": header_html(name),
            "footer": prev_next_html(name) + footer_html(run, parameters, fingerprint, package_versions()),
        }
    }
    with _EXPORTING:  # pages of notebooks that ran side by side share one exporter
        body, _ = _exporter().from_notebook_node(nb, resources=resources)
    with atomic_path(html_path) as tmp:
        Path(tmp).write_text(decorate(body), encoding="utf-8")


def glossary_html(run: str) -> str:
    """The glossary page."""
    entries = "".join(
        f'<dt id="{term}">{html.escape(name)}</dt><dd>{html.escape(text)}</dd>'
        for term, (name, text, _) in GLOSSARY.items()
    )
    return page(
        "glossary",
        f"Glossary · {run}",
        f'<h1>Glossary</h1><p>The terms the report uses, in plain words.</p><dl class="glossary">{entries}</dl>',
        prev_next_html("glossary"),
    )


def page(current: str, title: str, content: str, footer: str = "") -> str:
    """A standalone site page (front page, glossary) around ``content``."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f'<link rel="stylesheet" href="site.css"></head><body class="site-page">{nav_html(current)}'
        f'<main class="site-main">{content}</main>{footer}</body></html>'
    )


def write_assets(folder: Path, run: str) -> None:
    """Write the stylesheet and the glossary page into a run's reports folder."""
    with atomic_path(Path(folder) / "site.css") as tmp:
        Path(tmp).write_text((TEMPLATES / "site.css").read_text(encoding="utf-8"), encoding="utf-8")
    with atomic_path(Path(folder) / "glossary.html") as tmp:
        Path(tmp).write_text(glossary_html(run), encoding="utf-8")
