"""HTML blocks shared by the strategy page and the front page: the answers and the recommendations.

Usage::

    from helpers.presentation import formatting
    html = formatting.summary_html(answers.summary(results.load_all(run)))   # words.answers

Every value is HTML-escaped, so a label from the data cannot inject markup. The styles are
inline, so a block looks the same inside a notebook page and on the front page.
"""

from __future__ import annotations

import html

BADGE_COLOURS = {"high": "#1a6b3c", "medium": "#8a5a00", "low": "#a23b2a", "none": "#5f5f5f"}


def e(value) -> str:
    """HTML-escape any value."""
    return html.escape(str(value), quote=True)


def badge_html(b) -> str:
    """A coloured confidence badge (``results.Badge``) followed by the rules it met and missed."""
    colour = BADGE_COLOURS[b.level]
    pill = (
        f'<span class="badge badge-{e(b.level)}" style="display:inline-block;padding:0 .5em;border-radius:.7em;'
        f'color:#fff;background:{colour};font-size:.85em">{e(b.level)}</span>'
    )
    rules = "".join(f"<li>✓ {e(r)}</li>" for r in b.passed) + "".join(f"<li>✗ {e(r)}</li>" for r in b.failed)
    return f'{pill}<ul class="rules" style="margin:.3em 0 0 1em;padding:0;font-size:.85em">{rules}</ul>'


def summary_html(rows: list, link: bool = True) -> str:
    """The answers table (``words.answers.Answer`` rows): question, answer, evidence with CIs, badge with its rules."""
    body = ""
    for r in rows:
        question = f'<a href="{e(r.link)}">{e(r.question)}</a>' if link else e(r.question)
        body += (
            f"<tr><td>{question}</td><td>{e(r.answer)}</td><td>{e(r.evidence)}</td><td>{badge_html(r.badge)}</td></tr>"
        )
    return (
        '<table class="answers" style="table-layout:fixed;width:100%"><thead><tr><th style="width:16%">Question</th>'
        '<th style="width:38%">Answer</th><th style="width:24%">Evidence (95 % CIs unless stated)</th>'
        f'<th style="width:22%">Confidence</th></tr></thead><tbody>{body}</tbody></table>'
    )


def recommendations_html(recs: list, link: bool = True) -> str:
    """Recommendations as worded (``words.strategy.recommendations``): supported in bold with their impact (an
    association, labelled) and what they are (a hypothesis, or an action an experiment supports), withdrawn ones
    greyed with the reason; each links to the section it rests on."""
    items = ""
    for r in recs:
        grey = r.status != "supported"
        style = ' style="color:#6b6b6b"' if grey else ""
        title = f"<s>{e(r.title)}</s>" if grey else f"<b>{e(r.title)}</b>"
        kind = "" if grey else f" · {e(r.kind_text)}"  # worded from its kind and codes (words.strategy.kind_text)
        impact = f" <span class=impact>{e(r.impact_label)}: {e(r.impact)}.</span>" if r.impact and not grey else ""
        rests = f'<a href="{e(r.link)}">{e(r.evidence)}</a>' if link and r.link else e(r.evidence)
        items += (
            f'<li class="rec rec-{e(r.status).replace(" ", "-")}"{style}>{title} '
            f"<em>({e(r.status)}{kind})</em>. {e(r.text)}{impact} <small>Rests on: {rests}.</small></li>"
        )
    return f'<ul class="recommendations">{items}</ul>'


def records_frame(rows: list, index: str):
    """A table of typed records (``results.Record``), indexed by one of their fields."""
    import pandas as pd

    return pd.DataFrame([r.to_json() for r in rows]).set_index(index)


def span(hours: float) -> str:
    """A duration in the unit that reads best: minutes under two hours, hours under three days, else days."""
    if hours < 2:
        return f"{hours * 60:,.1f} minutes"
    return f"{hours:,.1f} hours" if hours < 72 else f"{hours / 24:,.1f} days"


# An import's provenance holds codes (helpers.data.event_log, session_table, ingest); these word them.
KIND_WORDS = {"event_log": "event log", "session_table": "session table", "raw_tables": "raw tables"}
DROPPED_WORDS = {
    "repeated_header": "repeated header rows",
    "timestamp_missing": "rows without a timestamp (empty or N/A)",
    "timestamp_not_parsed": "rows whose timestamp does not parse",
    "exact_duplicate": "exact duplicate rows",
    "refund": "refund rows (purchase with a negative price or quantity)",
    "value_missing_or_not_parsed": "rows with a value missing or not parsed",
}
TREATED_WORDS = {
    "row_dropped": "row dropped",
    "read_as_missing_no_revenue": "read as missing: no revenue from the row",
    "read_as_1": "read as 1",
    "read_as_missing_no_exposure": "read as missing: the row gives no exposure time",
}
SESSIONS_FROM_WORDS = {
    "session_id_column": "the session id column",
    "sessions_table": "the sessions table",
    "one_row_per_session": "one row per session",
}
NOT_AVAILABLE_WORDS = {
    "event_timing_and_products": "event timing (idle gaps) and products: the data hold one row per session"
}


def dropped_words(code: str) -> str:
    """A reason rows were dropped (a CSV row DuckDB rejected: ``duck.reject_words``)."""
    from helpers.data import duck

    return DROPPED_WORDS[code] if code in DROPPED_WORDS else duck.reject_words(code)


def timezone_words(code: str) -> str:
    """How an import knew its time zone: carried by the values, epoch (UTC), declared, as in the tables, none."""
    how, _, arg = code.partition(":")
    if how == "epoch":
        return f"epoch {arg} (UTC)"
    if how == "declared":
        return f"{arg} (declared in the mapping)"
    words = {"timestamps": "carried by the timestamps", "as_in_tables": "as in the tables"}
    return words.get(how) or {"not_given": "not given (sessions spaced 1 s apart)"}[how]


def mapping_words(code: str) -> str:
    """The mapping an import read: a preset, a file, both, the canonical names or none (raw tables)."""
    named = {"none": "none (raw tables)", "canonical": "the canonical column names"}
    if code in named:
        return named[code]
    parts = []
    for part in code.split("+"):
        how, _, arg = part.partition(":")
        parts.append(f"preset '{arg}'" if how == "preset" else f"mapping {arg}")
    return " with ".join(parts)


def sessions_from_words(p: dict) -> str:
    """How an import made its sessions."""
    if p["sessions_from"] == "inactivity_gap":
        return f"inactivity gaps over {p['session_gap_minutes']:g} minutes per user"
    return SESSIONS_FROM_WORDS[p["sessions_from"]]


def parse_table(provenance: dict):
    """Per parsed column of an imported log: rows, values missing (empty or N/A), values not parsed, examples, action.

    Empty for inputs that parse nothing (raw tables, session tables). Rows dropped, by reason, are
    in ``provenance['rows_dropped']``; this table shows the values behind the timestamp drops and
    the prices and quantities that were kept but could not be read.
    """
    import pandas as pd

    rows = [
        {
            "column": v["column"],
            "role": v["role"],
            "rows": v["rows"],
            "missing (empty or N/A)": v["missing"],
            "not parsed": v["not_parsed"],
            "share not parsed": f"{v['not_parsed'] / max(v['rows'] - v['missing'], 1):.2%}",
            "examples": ", ".join(v["examples"]) or "–",
            "then": TREATED_WORDS[v["treated_as"]],
        }
        for v in provenance.get("values_not_parsed") or []
    ]
    return pd.DataFrame(rows)


def _not_parsed(columns: list[dict]) -> str:
    """Per parsed column with a value missing or not parsed: the counts, examples and what was done; then the rest."""
    parts, clean = [], []
    for v in columns:
        name = v["column"] if v["column"] == v["role"] else f"{v['column']} ({v['role']})"
        if not (v["not_parsed"] or v["missing"]):
            clean.append(name)
            continue
        text = f"{name}: {v['not_parsed']:,} not parsed, {v['missing']:,} missing"
        if v["not_parsed"] and v.get("examples"):
            text += f" (e.g. {', '.join(map(str, v['examples'][:3]))})"
        parts.append(f"{text}, {TREATED_WORDS[v['treated_as']]}")
    if clean:
        parts.append(f"every value read in {', '.join(clean)}")
    return "; ".join(parts)


def provenance_html(p: dict) -> str:
    """Where the user's data came from: file, mapping, rows read and dropped, sessions, time range and zone."""
    dropped = "; ".join(f"{dropped_words(k)}: {v:,}" for k, v in p.get("rows_dropped", {}).items() if v) or "none"
    rows = [
        ("data", f"{KIND_WORDS[p['kind']]}: {p['file']}"),
        ("mapping", mapping_words(p["mapping"])),
        ("rows read", f"{p['rows_read']:,}"),
        ("rows dropped", dropped),
        *([("values not parsed", _not_parsed(p["values_not_parsed"]))] if p.get("values_not_parsed") else []),
        ("sessions", f"{p['sessions']:,} ({sessions_from_words(p)}), {p['buyers']:,} with a purchase"),
        ("time range (UTC)", f"{p['time_range'][0]} to {p['time_range'][1]} ({span(p['span_hours'])})"),
        ("time zone", timezone_words(p["timezone"])),
        (
            "data quality",
            f"{p['zero_length_share']:.1%} of sessions last 0 s; {p['single_event_share']:.1%} have a "
            "single event"
            + (
                ""
                if p.get("rows_out_of_order") is None
                else f"; {p['rows_out_of_order']:,} rows stamped earlier than the row before "
                "them in the same session (clock skew or export order; sorted by time)"
            ),
        ),
        ("prices / products", f"{'yes' if p['has_prices'] else 'no'} / {'yes' if p['has_products'] else 'no'}"),
    ]
    if p.get("not_available"):
        rows.append(("not available", NOT_AVAILABLE_WORDS[p["not_available"]]))
    body = "".join(
        f"<tr><th style='text-align:left;width:22%'>{e(k)}</th><td style='text-align:left'>{e(v)}</td></tr>"
        for k, v in rows
    )
    return f'<table class="provenance" style="width:100%;table-layout:fixed">{body}</table>'


# --------------------------------------------------------------------------------------------
# Tables for people: one helper formats every table a page shows
# --------------------------------------------------------------------------------------------

# column -> (header in words with units, kind). Kinds: int, usd, share (0-1 shown as %), pct (already %),
# pp, p, ratio, num, signed, text. A column not listed gets its name in words and a kind by its dtype.
COLUMNS: dict[str, tuple[str, str]] = {
    "sessions": ("sessions", "int"),
    "buyers": ("buyers", "int"),
    "n_a": ("cheap-many buyers", "int"),
    "n_b": ("expensive-few buyers", "int"),
    "cheap-many": ("cheap-many buyers", "int"),
    "expensive-few": ("expensive-few buyers", "int"),
    "sessions_per_arm": ("sessions per arm", "int"),
    "cv_auc": ("CV ROC-AUC", "num"),
    "cv_auc_sd": ("ROC-AUC sd over folds", "num"),
    "auc": ("CV ROC-AUC", "num"),
    "auc_sd": ("ROC-AUC sd", "num"),
    "pr_auc": ("CV PR-AUC", "num"),
    "pr_auc_sd": ("PR-AUC sd", "num"),
    "aic": ("AIC", "int"),
    "r2": ("R²", "num"),
    "adj_r2": ("adjusted R²", "num"),
    "cv_rmse": ("CV RMSE (log points)", "num"),
    "cv_rmse_sd": ("RMSE sd over folds", "num"),
    "lr_p_vs_engagement": ("LR test p vs engagement only", "p"),
    "lr_p_vs_time": ("LR test p vs time only", "p"),
    "lr_p_vs_both": ("LR test p vs both", "p"),
    "wald_p_vs_engagement": ("clustered Wald test p vs engagement only", "p"),
    "wald_p_vs_time": ("clustered Wald test p vs time only", "p"),
    "wald_p_vs_both": ("clustered Wald test p vs both", "p"),
    "engagement_or_per_sd": ("engagement odds ratio per SD", "ratio"),
    "time_or_per_sd": ("time odds ratio per SD", "ratio"),
    "or_per_sd": ("odds ratio per SD", "ratio"),
    "p": ("p", "p"),
    "ame": ("AME (pp per log1p unit)", "pp"),
    "ame_p": ("AME p", "p"),
    "scale": ("scale", "text"),
    "coef": ("coefficient", "signed"),
    "pct_per_sd": ("spend change per SD", "pct"),
    "detectable_pct": ("detectable at 80 % power (± per SD)", "pct"),
    "gamma_pct": ("Gamma GLM check per SD", "pct"),
    "smd": ("SMD", "signed"),
    "verdict": ("verdict", "text"),
    "truth": ("truth", "signed"),
    "estimate": ("estimate", "signed"),
    "covered": ("truth inside CI", "text"),
    "conversion": ("conversion", "share"),
    "median_events": ("median events before checkout", "num1"),
    "median_seconds": ("median seconds before checkout", "int"),
    "spend_per_buyer": ("spend per buyer", "usd"),
    "mean_usd": ("spend per order", "usd"),
    "rule": ("events before checkout", "text"),
    "revenue_per_session": ("revenue per session", "usd"),
    "relative_mde": ("relative lift to detect", "share"),
    "days": ("days of traffic", "num1"),
    "share_of_revenue": ("share of revenue", "share"),
    "revenue_per_buyer": ("revenue per buyer", "usd"),
    "margin_per_buyer": ("gross margin per buyer", "usd"),
    "revenue_usd": ("revenue", "usd"),
    "gold table": ("gold table", "num"),
    "raw tables": ("raw tables", "num"),
    "agrees": ("agrees", "text"),
    "note": ("note", "text"),
    "engagement_or": ("engagement odds ratio per SD", "ratio"),
    "time_or": ("time odds ratio per SD", "ratio"),
}


def fmt(value, kind: str) -> str:
    """One value as text for its kind (see ``COLUMNS``)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if kind == "text" or isinstance(value, str):
        return str(value) if not isinstance(value, bool) else ("yes" if value else "no")
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = float(value)
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "usd":
        return f"{v:,.2f} USD"
    if kind == "share":
        return f"{100 * v:.2f} %" if abs(v) < 0.1 else f"{100 * v:.1f} %"
    if kind == "pct":
        return f"{v:+.1f} %"
    if kind == "pp":
        return f"{100 * v:+.2f} pp"
    if kind == "p":
        return "<\u00a00.001" if v < 0.001 else f"{v:.3f}"  # a no-break space: the cell never wraps
    if kind == "ratio":
        return f"{v:.2f}"
    if kind == "signed":
        return f"{v:+.3f}"
    if kind == "num1":
        return f"{v:,.1f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 0.01 or v == 0:
        return f"{v:.3f}"
    return f"{v:.4f}" if abs(v) >= 0.0001 else ("< 0.0001" if v > 0 else "> -0.0001")


def words(name) -> str:
    """A column or index name as words."""
    return COLUMNS.get(str(name), (str(name).replace("_", " "), ""))[0]


def show(
    frame,
    cis: dict[str, tuple[str, str]] | None = None,
    kinds: dict[str, str] | None = None,
    index: bool = True,
    caption: str | None = None,
):
    """A table for people: headers in words with units, numbers formatted by kind, CIs as '[a, b]'.

    ``cis`` maps a shown column to its (low, high) columns; they are merged into one "95 % CI"
    column after it and dropped. ``kinds`` overrides a column's kind. Labels are HTML-escaped.
    """
    import pandas as pd

    cis, kinds = cis or {}, kinds or {}
    hidden = {c for pair in cis.values() for c in pair}
    out = {}
    for col in frame.columns:
        if col in hidden:
            continue
        kind = kinds.get(col) or COLUMNS.get(str(col), ("", ""))[1] or _kind(frame[col])
        out[words(col)] = [fmt(v, kind) for v in frame[col]]
        if col in cis:
            lo, hi = cis[col]
            label = "95 % CI" if "95 % CI" not in out else f"95 % CI ({words(col)})"
            out[label] = [
                f"[{fmt(a, kind)}, {fmt(b, kind)}]" if a == a and b == b else "" for a, b in zip(frame[lo], frame[hi])
            ]
    out = {k: v for k, v in out.items() if any(x != "" for x in v)}  # a column with nothing to say is left out
    shown = pd.DataFrame(out, index=frame.index)
    shown.index = shown.index.map(
        lambda v: v if isinstance(v, str) else fmt(v, "num") if isinstance(v, float) else str(v)
    )
    shown.index.names = [words(n) if n is not None else None for n in frame.index.names]
    styler = shown.style.format(escape="html").format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    text_columns = [
        words(c)
        for c in frame.columns
        if c not in hidden and (kinds.get(c) or COLUMNS.get(str(c), ("", ""))[1] or _kind(frame[c])) == "text"
    ]
    styler = styler.set_properties(subset=[c for c in text_columns if c in shown], **{"text-align": "left"})
    styler = styler.set_properties(subset=[c for c in shown if c.startswith("95 % CI")], **{"white-space": "nowrap"})
    styler = styler.set_table_styles([{"selector": "th.row_heading", "props": "text-align: left"}], overwrite=False)
    if not index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(e(caption))
    return styler


def _kind(series) -> str:
    import pandas as pd

    if series.dtype == bool or not pd.api.types.is_numeric_dtype(series):
        return "text"
    if str(series.dtype).startswith(("int", "Int", "uint")):
        return "int"
    return "num"
