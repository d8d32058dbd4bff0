"""The comparison page, ``reports/compare-<A>-vs-<B>/index.html``, in the site's style.

Usage::

    from helpers.compare import comparison, page
    html_text = page.render(comparison.compare("default", "tm"))

One offline page: the site's navigation bar (linking both runs' front pages), a contents box, the
design of the comparison (which test applies), the four sections (what differs in the parameters
and the data first, since it is the cause; then headline metrics, conclusions, recommendations),
how it was computed, and the reproducibility footer. Figures are embedded PNGs; every value from data is escaped.
"""

from __future__ import annotations

import base64
import io

from helpers.compare import stats, words
from helpers.compare.comparison import Comparison, DriftRow
from helpers.data.gold import DICTIONARY
from helpers.presentation import formatting, website
from helpers.presentation.formatting import e as esc

OVERLAYS = 3  # overlay plots for at most this many of the columns that moved most
UNITS = {col: unit for col, unit, _ in DICTIONARY}


def nav_html(found: Comparison) -> str:
    """The navigation bar: each run's front page, and this page marked as current."""
    links = [(f"../{found.a.name}/index.html", f"A: {found.a.name}")]
    if found.b.name != found.a.name:
        links.append((f"../{found.b.name}/index.html", f"B: {found.b.name}"))
    body = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for href, label in links)
    body += '<a href="index.html" aria-current="page" class="current">Comparison</a>'
    return f'<nav class="site-nav" aria-label="Report pages">{body}</nav>'


def _pages(conclusions) -> str:
    """'03 and 04': the notebooks (by number) of ``conclusions``."""
    numbers = [c.page[:2] for c in conclusions]
    return ", ".join(numbers[:-1]) + (" and " if len(numbers) > 1 else "") + numbers[-1] if numbers else ""


def summary_html(found: Comparison) -> str:
    """Four numbers an analyst reads first: what differs beyond chance, and what changed."""
    tested = [m for m in found.metrics if m.diff.tested]
    flagged = [m for m in tested if m.diff.flagged]
    changed = [c for c in found.conclusions if c.changed]
    differ = [c for c in found.conclusions if c.verdict_a != c.verdict_b and not c.changed]
    recs = [r for r in found.recommendations if r.change != "unchanged"]
    scored = [d for d in found.drift if d.drift]
    moved = [d for d in scored if d.drift.psi >= stats.PSI_MOVED]
    untested = len(found.metrics) - len(tested) - sum(m.diff.method == "count" for m in found.metrics)
    rule = "Holm-adjusted p < 0.05" + (f"; {untested} rows untested (shared data or seed)" if untested else "")
    verdict_note = _pages(changed) or "none"
    if differ:
        verdict_note += f"; {len(differ)} more differ, not counted ({_pages(differ)})"
    cells = [
        ("metrics that differ beyond chance", f"{len(flagged)} of {len(tested)} tested", rule),
        ("verdicts that changed", f"{len(changed)} of {len(found.conclusions)}", verdict_note),
        ("recommendations that changed", f"{len(recs)} of {len(found.recommendations)}", "appeared, gone, status"),
        ("gold columns that moved", f"{len(moved)} of {len(scored)}", f"PSI ≥ {stats.PSI_MOVED:g}"),
    ]
    body = "".join(f"<div><span>{esc(a)}</span><b>{esc(b)}</b><span>{esc(c)}</span></div>" for a, b, c in cells)
    return f'<section class="headline" aria-label="What changed in numbers">{body}</section>'


def metrics_html(found: Comparison) -> str:
    """Headline metrics side by side with B - A, its 95 % CI, p and Holm-adjusted p; flagged rows in bold."""
    rows = ""
    for m in found.metrics:
        if m.diff.tested:
            flag = "yes" if m.diff.flagged else "not distinguishable from chance"
        else:
            flag = "no test: shared data or seed" if m.diff.method == "not_applicable" else ""
        note = words.note(m)
        cells = [
            esc(m.label) + (f"<br><small>{esc(note)}</small>" if note else ""),
            esc(words.with_ci(m.kind, m.a, m.a_ci)),
            esc(words.with_ci(m.kind, m.b, m.b_ci)),
            esc(words.difference(m.kind, m.diff)),
            esc(words.METHOD.get(m.diff.method, "")),
            esc(words.p_value(m.diff.p)).replace(" ", "&nbsp;"),
            esc(words.p_value(m.diff.p_adjusted)).replace(" ", "&nbsp;"),
            f"<b>{flag}</b>" if m.diff.flagged else esc(flag),
        ]
        rows += f"<tr{' class=flagged' if m.diff.flagged else ''}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "Metric", "A (95 % CI)", "B (95 % CI)", "B against A (95 % CI)", "Test", "p", "p (Holm)",
            "Beyond chance (Holm)",
        )
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def answer_cell(answer, verdict: str) -> str:
    """The answer as the run's front page words it, and its confidence badge (its rules are on that page)."""
    if answer is None:
        return f"<p>{esc(verdict)}</p>"
    level = answer.badge.level
    pill = (
        f'<span class="badge badge-{esc(level)}" style="display:inline-block;padding:0 .5em;border-radius:.7em;'
        f'color:#fff;background:{formatting.BADGE_COLOURS[level]};font-size:.85em">{esc(level)}</span>'
    )
    return f"<p>{esc(answer.answer)}</p><p>Confidence {pill}</p>"


def conclusions_html(found: Comparison) -> str:
    """Each question's answer and badge in A beside B, and what changed with the numbers behind it."""
    rows = ""
    for c in found.conclusions:
        if c.verdict_a != c.verdict_b:
            status = words.STATUS[c.status]
            status = f"<b>{esc(status)}</b>" if c.changed else esc(status)
            what = f"<p>{status}: " + esc(c.verdict_a) + " → " + esc(c.verdict_b) + ".</p>"
            what += "<ul>" + "".join(f"<li>{esc(r)}</li>" for r in c.reasons) + "</ul>"
        else:
            what = f"<p>Verdict unchanged: {esc(c.verdict_a)}.</p>"
        if c.badge_changes:
            what += "<p><small>Badge: " + esc("; ".join(c.badge_changes)) + ".</small></p>"
        link = f'<a href="../{esc(found.b.name)}/{esc(c.page)}.html">{esc(c.question)}</a>'
        rows += (
            f"<tr><td>{link}</td><td>{answer_cell(c.answer_a, c.verdict_a)}</td>"
            f"<td>{answer_cell(c.answer_b, c.verdict_b)}</td><td>{what}</td></tr>"
        )
    return (
        '<table class="answers" style="table-layout:fixed;width:100%"><thead><tr><th style="width:14%">Question</th>'
        '<th style="width:27%">A</th><th style="width:27%">B</th><th style="width:32%">What changed</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def recommendations_html(found: Comparison) -> str:
    """Recommendations that appeared, disappeared or changed status, with the reason; the rest in one line."""
    changed = [r for r in found.recommendations if r.change != "unchanged"]
    same = [r for r in found.recommendations if r.change == "unchanged"]
    if not found.recommendations:
        return "<p>Neither run recorded recommendations (06 did not run).</p>"
    items = "".join(
        f"<li><b>{esc(r.title)}</b>: <em>{esc(r.change)}</em> ({esc(r.status_a)} in A, {esc(r.status_b)} in B). "
        f"{esc(r.reason)}</li>"
        for r in changed
    )
    text = f"<ul>{items}</ul>" if changed else "<p>No recommendation appeared, disappeared or changed status.</p>"
    if same:
        text += "<p>Unchanged: " + esc("; ".join(f"{r.title} ({r.status_a})" for r in same)) + ".</p>"
    return text


def provenance_html(found: Comparison) -> str:
    """Where each run's data came from, side by side; rows that differ marked."""
    pa, pb = found.provenance
    rows = ""
    for key in pa:
        differs = pa[key] != pb.get(key, "")
        mark = " (differs)" if differs and found.a.name != found.b.name else ""
        rows += f"<tr><th>{esc(key)}{esc(mark)}</th><td>{esc(pa[key])}</td><td>{esc(pb.get(key, ''))}</td></tr>"
    return (
        '<table class="provenance"><thead><tr><th>Property</th><th>A</th><th>B</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def parameters_html(found: Comparison) -> str:
    if not found.parameters:
        return "<p>Every parameter is the same in both runs.</p>"
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(a)}</td><td>{esc(b)}</td></tr>" for k, a, b in found.parameters)
    return f"<table><thead><tr><th>Parameter</th><th>A</th><th>B</th></tr></thead><tbody>{rows}</tbody></table>"


def drift_html(found: Comparison) -> str:
    """PSI of each gold column the analyses use, largest first, and overlays of those that moved most."""
    rows = ""
    for d in found.drift:
        psi = f"{d.drift.psi:.3f}" if d.drift else ""
        verdict = d.drift.verdict if d.drift else d.note
        cells = [f"<code>{esc(d.column)}</code>", esc(d.scope), esc(d.summary_a), esc(d.summary_b), psi, esc(verdict)]
        rows += "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    head = "".join(f"<th>{h}</th>" for h in ("Gold column", "Rows", "A", "B", "PSI", "Drift"))
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    top = [d for d in found.drift if d.drift and d.drift.psi >= stats.PSI_SHIFT][:OVERLAYS]
    if not top:
        figures = f"<p>No column shifted (every PSI below {stats.PSI_SHIFT:g}), so no overlay is drawn.</p>"
    else:
        figures = '<div style="display:flex;flex-wrap:wrap;gap:.6rem">' + "".join(map(overlay_html, top)) + "</div>"
    return table + figures


def overlay_html(d: DriftRow) -> str:
    """One column's shares per PSI bin in A and in B, as an embedded PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from helpers.presentation import plots

    plots.use_house_style()
    fig, ax = plt.subplots(figsize=(4.4, 3.0))
    x = np.arange(len(d.drift.labels))
    ax.bar(x - 0.2, d.drift.share_a, width=0.4, color=plots.PALETTE[0], label="A")
    ax.bar(x + 0.2, d.drift.share_b, width=0.4, color=plots.PALETTE[1], label="B")
    ax.set_xticks(x, d.drift.labels, rotation=45, ha="right", fontsize=7)
    unit = UNITS.get(d.column, "")
    ax.set_xlabel(f"{d.column}" + (f" ({unit})" if unit else ""), fontsize=8)
    ax.set_ylabel(f"share of {d.scope}", fontsize=8)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_title(f"{d.column}: PSI {d.drift.psi:.2f}", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    alt = f"{d.column}: share of {d.scope} in each bin, A beside B; PSI {d.drift.psi:.2f} ({d.drift.verdict})"
    data = base64.b64encode(buffer.getvalue()).decode()
    return (
        f'<figure style="margin:0;max-width:100%"><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
        f"<figcaption><small>{esc(alt)}</small></figcaption></figure>"
    )


def design_html(found: Comparison) -> str:
    """Which test applies to this pair of runs, said before any number."""
    return f'<p class="design"><b>Design:</b> {esc(words.design(found.design, found.shared_users))}</p>'


def method_html(found: Comparison) -> str:
    """How each section is computed, stated once."""
    items = [
        "Which test applies depends on the design. Independent runs (different seeds or stores): conversion, "
        "revenue per session and average order value are ratios of sums whose standard errors are clustered "
        "by user (delta method; the plain standard error when every user has one session), and B - A has the "
        "standard error √(SE_A² + SE_B²), a 95 % CI of ± 1.96 of it and a two-sided z-test p from the same "
        "statistic. Runs that share their data or their simulator seed are not independent (at a correlation "
        "of 0.9 that formula overstates the standard error about three times), so it is not used: the means "
        "are compared paired over the users both runs hold (each user's contribution to B's ratio minus its "
        "contribution to A's, clustered by user), and the answers' estimates, recorded only with their "
        "intervals, are shown without a test. Counts (sessions, buyers, revenue) are the whole data, so they "
        "carry no interval.",
        "Each answer's estimates, for independent runs: their standard errors are recovered from the recorded "
        "95 % CIs on the scale where the estimate is normal (log odds ratios for 03, log(1 + % change) for 04, "
        "standardised mean differences for 05), and the difference is tested once (a z-test of B - A on that "
        "scale, shown as a ratio B ÷ A for odds ratios and spend multipliers), not as two separate tests.",
        "Many rows, one family: a row is flagged as beyond chance when its Holm-adjusted p-value is below 0.05 "
        "(Holm's step-down adjustment over every tested row of the table), so with nothing changed the chance "
        "of any false flag on the page is at most 5 %. The 95 % CIs are each row's own. A row that is not "
        "flagged is not distinguishable from chance, which is not the same as no change.",
        "A verdict that differs counts as changed only when the change in an estimate behind it is beyond "
        "chance (the estimates whose class moved, across all questions, are one Holm family), or when both "
        "runs read the same data (the settings made the change), or when one run could not estimate it. A "
        "verdict that flipped with a change not distinguishable from chance, or between runs that share a "
        "seed (no test applies), is listed but not counted.",
        "Recommendations are matched by their id.",
        f"Drift: the population stability index of each gold column the analyses read, over all sessions "
        f"(a uniform sample of at most {200_000:,} per run) or over buyers for spend and items; bins are A's "
        f"deciles for a number (one bin per value when a column has at most ten) and one bin per level for a "
        f"label. PSI below {stats.PSI_SHIFT:g}: stable; from {stats.PSI_SHIFT:g}: shifted; from "
        f"{stats.PSI_MOVED:g}: moved. The overlays show the {OVERLAYS} columns with the largest PSI from "
        f"{stats.PSI_SHIFT:g}.",
    ]
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def render(found: Comparison) -> str:
    """The whole comparison page."""
    a, b = found.a, found.b
    kind = lambda run: "simulated" if run.simulated else "your data"  # noqa: E731
    content = f"""<h1>What changed: {esc(a.name)} → {esc(b.name)}</h1>
<p class="sub">A is run <b>{esc(a.name)}</b> ({kind(a)}, finished {esc(found.provenance[0]["finished (UTC)"])} UTC);
B is run <b>{esc(b.name)}</b> ({kind(b)}, finished {esc(found.provenance[1]["finished (UTC)"])} UTC).
Made with <code>make compare A={esc(a.name)} B={esc(b.name)}</code>.</p>
{design_html(found)}
{summary_html(found)}
<h2 id="data">What differs: parameters and data</h2>
<h3>Parameters that differ</h3>
{parameters_html(found)}
<h3>Where the data came from</h3>
{provenance_html(found)}
<h3>Gold columns the analyses use</h3>
{drift_html(found)}
<h2 id="metrics">Headline metrics</h2>
{metrics_html(found)}
<h2 id="conclusions">Conclusions</h2>
{conclusions_html(found)}
<h2 id="recommendations">Recommendations</h2>
{recommendations_html(found)}
<h2 id="method">How this page is computed</h2>
{method_html(found)}"""
    content = website.link_terms(content, href=f"../{a.name}/glossary.html")
    content = website.toc_html(content) + content
    versions = {**website.package_versions()}
    footer = website.footer_html(
        found.name,
        {"A": a.name, "B": b.name},
        f"{a.record.get('data_fingerprint', '')} vs {b.record.get('data_fingerprint', '')}",
        versions,
    )
    title = f"What changed · {a.name} vs {b.name}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
        f'<link rel="stylesheet" href="site.css"></head><body class="site-page">{nav_html(found)}'
        f'<main class="site-main">{content}</main>{footer}</body></html>'
    )
