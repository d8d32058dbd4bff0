"""HTML blocks shared by the strategy page and the front page: the answers and the recommendations.

Usage::

    from helpers import tables
    html = tables.summary_html(findings.summary(results.load_all(run)))

Every value is HTML-escaped, so a label from the data cannot inject markup. The styles are
inline, so a block looks the same inside a notebook page and on the front page.
"""

from __future__ import annotations

import html

BADGE_COLOURS = {"high": "#1a6b3c", "medium": "#8a5a00", "low": "#a23b2a", "none": "#5f5f5f"}


def e(value) -> str:
    """HTML-escape any value."""
    return html.escape(str(value), quote=True)


def badge_html(b: dict) -> str:
    """A coloured confidence badge followed by the rules it met and missed."""
    colour = BADGE_COLOURS[b["level"]]
    pill = (f'<span class="badge badge-{e(b["level"])}" style="display:inline-block;padding:0 .5em;border-radius:.7em;'
            f'color:#fff;background:{colour};font-size:.85em">{e(b["level"])}</span>')
    rules = "".join(f"<li>✓ {e(r)}</li>" for r in b["passed"]) + "".join(f"<li>✗ {e(r)}</li>" for r in b["failed"])
    return f'{pill}<ul class="rules" style="margin:.3em 0 0 1em;padding:0;font-size:.85em">{rules}</ul>'


def summary_html(rows: list[dict], link: bool = True) -> str:
    """The answers table: question, answer, evidence with CIs, confidence badge with its rules."""
    body = ""
    for r in rows:
        question = f'<a href="{e(r["link"])}">{e(r["question"])}</a>' if link else e(r["question"])
        body += (f"<tr><td>{question}</td><td>{e(r['answer'])}</td><td>{e(r['evidence'])}</td>"
                 f"<td>{badge_html(r['badge'])}</td></tr>")
    return ('<table class="answers" style="table-layout:fixed;width:100%"><thead><tr><th style="width:16%">Question</th>'
            '<th style="width:38%">Answer</th><th style="width:24%">Evidence (95 % CI)</th>'
            f'<th style="width:22%">Confidence</th></tr></thead><tbody>{body}</tbody></table>')


def recommendations_html(recs: list[dict]) -> str:
    """Recommendations as a list: supported ones in bold, withdrawn ones greyed with their reason."""
    items = ""
    for r in recs:
        grey = r["status"] != "supported"
        style = ' style="color:#6b6b6b"' if grey else ""
        title = f"<s>{e(r['title'])}</s>" if grey else f"<b>{e(r['title'])}</b>"
        items += (f'<li class="rec rec-{e(r["status"]).replace(" ", "-")}"{style}>{title} '
                  f"<em>({e(r['status'])})</em>. {e(r['text'])} <small>Rests on: {e(r['evidence'])}.</small></li>")
    return f'<ul class="recommendations">{items}</ul>'
