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


def span(hours: float) -> str:
    """A duration in the unit that reads best: minutes under two hours, hours under three days, else days."""
    if hours < 2:
        return f"{hours * 60:,.1f} minutes"
    return f"{hours:,.1f} hours" if hours < 72 else f"{hours / 24:,.1f} days"


def provenance_html(p: dict) -> str:
    """Where the user's data came from: file, mapping, rows read and dropped, sessions, time range and zone."""
    dropped = "; ".join(f"{k}: {v:,}" for k, v in p.get("rows_dropped", {}).items() if v) or "none"
    rows = [("data", f"{p['kind']}: {p['file']}"), ("mapping", p["mapping"]),
            ("rows read", f"{p['rows_read']:,}"), ("rows dropped", dropped),
            ("sessions", f"{p['sessions']:,} ({p['sessions_from']}), {p['buyers']:,} with a purchase"),
            ("time range (UTC)", f"{p['time_range'][0]} to {p['time_range'][1]} ({span(p['span_hours'])})"),
            ("time zone", p["timezone"]),
            ("data quality", f"{p['zero_length_share']:.1%} of sessions last 0 s; {p['single_event_share']:.1%} have a "
                             "single event"),
            ("prices / products", f"{'yes' if p['has_prices'] else 'no'} / {'yes' if p['has_products'] else 'no'}")]
    if p.get("not_available"):
        rows.append(("not available", p["not_available"]))
    body = "".join(f"<tr><th style='text-align:left;width:22%'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f'<table class="provenance" style="width:100%;table-layout:fixed">{body}</table>'
