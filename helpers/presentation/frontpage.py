"""The run's front page, ``reports/<run>/index.html``: the answers first, then how they were reached.

Usage::

    from helpers.presentation.frontpage import write_index
    write_index("default", reports_folder, data_folder)

Headline numbers, each question's answer with its CI and badge (linked to its evidence), one key
figure, the recommendations, the experiment in three lines, where the data came from, the
limitations, then the pages and parameters. Every value from data or parameters is escaped, so a
label such as ``<script>`` shows as text. No script, no external URL.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from helpers import paths
from helpers.analysis import results, stats
from helpers.data import fitness
from helpers.data.files import atomic_path, read_json
from helpers.presentation import formatting, website
from helpers.presentation.formatting import e as esc
from helpers.presentation.words import answers
from helpers.presentation.words import common as common_words
from helpers.presentation.words import fitness as fitness_words
from helpers.presentation.words import readout as readout_words
from helpers.presentation.words import strategy as strategy_words
from helpers.presentation.words import summary as summary_words


def _results(data_folder: Path, name: str):
    """A notebook's recorded result (typed for the analyses), or None when it has not run."""
    path = Path(data_folder) / "results" / f"{name}.json"
    return results.typed(name, read_json(path)) if path.exists() else None


def headline_html(gold: dict, fit: fitness.Fitness | None = None, population=None) -> str:
    """Sessions, time range, conversion with its CI, sessions with a purchase, revenue and average order value.

    With 01's record ``fit``: no revenue or order value when the data have no prices (never a placeholder
    0), dates known to the month shown as months, a slice under a day with its hours. With 03's
    ``population`` of an experiment run, a note says the numbers hold both arms and the answers do not.
    """
    if not gold:
        return ""
    n, buyers, revenue, orders = gold["rows"], gold["buyers"], gold["revenue_usd"], gold.get("orders") or 0
    sums = gold.get("user_sums")  # clustered by user when users repeat (Wilson's interval when they do not)
    if sums and n:
        lo, hi = stats.proportion_ci_from_sums(sums["users"], buyers, n, sums["bb"], sums["bn"], sums["nn"])
    else:
        lo, hi = stats.wilson(buyers, n)
    first, last = gold.get("time_range") or ["", ""]
    cells = [
        ("sessions", f"{n:,}"),
        ("sessions started (UTC)", f"{first[:10]} to {last[:10]}"),
        ("conversion", f"{buyers / n:.2%}" if n else "n/a", f"95 % CI [{lo:.2%}, {hi:.2%}]" if n else ""),
        ("sessions with a purchase", f"{buyers:,}"),
        ("revenue", f"{revenue:,.0f} USD"),
        ("average order value", f"{revenue / orders:,.2f} USD" if orders else "n/a"),
    ]
    if fit is not None:  # what these data hold: no placeholder number, no made-up day
        cells = [c for c in cells if fit.has_prices or c[0] not in ("revenue", "average order value")]
        when = fitness_words.months_text(fit) or (fitness.span_text(fit) if (fit.span_hours or 24) < 24 else None)
        cells = [(c[0], when) if c[0] == "sessions started (UTC)" and when else c for c in cells]
    body = "".join(
        f"<div><span>{esc(c[0])}</span><b{' class=small' if len(c[1]) > 14 else ''}>{esc(c[1])}</b>"
        + (f"<span>{esc(c[2])}</span>" if len(c) > 2 and c[2] else "")
        + "</div>"
        for c in cells
    )
    note = readout_words.headline_note(population)
    note = f'<p class="sub">{esc(note)}</p>' if note else ""
    return f'<section class="headline" aria-label="Headline numbers">{body}</section>{note}'


def _population(data_folder: Path):
    """The sessions 03 described (an experiment run's untreated ones), or None."""
    return getattr(_results(data_folder, "03_conversion"), "population", None)


def key_figure_html(data_folder: Path, caption: str) -> str:
    """The key figure, embedded so the page stays one offline file; a sentence when there is none.

    Screens up to 600 px wide (a phone) get its narrow drawing, whose text reads at that width.
    """
    path, narrow = Path(data_folder) / paths.KEY_FIGURE, Path(data_folder) / paths.KEY_FIGURE_NARROW
    if not path.exists():
        return "<p>No key figure: the strategy page did not draw one for these data.</p>"
    data, small = (base64.b64encode(p.read_bytes()).decode() if p.exists() else "" for p in (path, narrow))
    phone = f'<source media="(max-width: 600px)" srcset="data:image/png;base64,{small}">' if small else ""
    return (
        f'<figure class="key-figure"><picture>{phone}<img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
        f"</picture><figcaption>{esc(caption)}</figcaption></figure>"
    )


def experiment_card_html(strategy) -> str:
    """The experiment on one card: hypothesis, lever, metrics, size, weeks and what the simulated run decided."""
    if strategy.plan is None:
        return ""
    plan = strategy_words.plan_words(strategy.plan)
    if getattr(strategy, "sizing", None) and not strategy.weeks_needed:  # the data carry no runtime
        size, weeks = fitness_words.unsized_text(strategy), "none from these data (see Size)"
        size += "" if strategy.design is not None else f"; {fitness_words.design_text(strategy)}"
    elif strategy.sample_size_per_arm and strategy.weeks_needed:
        size = (
            f"{strategy.sample_size_per_arm:,} sessions per arm to detect a {strategy.relative_mde:.0%} relative lift"
        )
        weeks = f"{strategy.weeks_needed} week{'s' if strategy.weeks_needed != 1 else ''} of traffic"
        if strategy.span_hours is not None and strategy.span_hours < 24:
            weeks += f" (a rough extrapolation: the data span only {strategy.span_hours * 60:,.0f} minutes)"
        if strategy.design is not None:
            size += f"; {strategy_words.design_phrase(strategy.design, strategy.sample_size_per_arm)}"
        elif getattr(strategy, "sizing", None):
            size += f"; {fitness_words.design_text(strategy)}"
    else:
        size, weeks = "cannot be sized: the baseline conversion or the traffic rate is unknown", "unknown"
    exp = strategy.experiment
    if exp is not None:
        result = (
            f"conversion {100 * exp.diff:+.2f} points [{100 * exp.diff_lo:+.2f}, {100 * exp.diff_hi:+.2f}] "
            f"(true {100 * exp.true_diff:+.2f}; {strategy_words.method_words(exp.method)}); "
            f"decision: {strategy_words.decision(exp)}"
        )
        if strategy_words.assumed_lever_short(exp):  # the lever's effect was an input of the simulator, not found
            result = f"{strategy_words.assumed_lever_short(exp)}: {result}"
        rate = strategy.aa_rate
        if rate is not None:
            result += (
                f"; false-positive rate over {rate.replications:,} A/A replications {rate.rate:.1%} "
                f"[{rate.lo:.1%}, {rate.hi:.1%}] at α = {rate.alpha:g}"
            )
    else:
        result = f"not simulated: {strategy_words.not_simulated(strategy)}"
    rows = [
        ("Hypothesis", plan["hypothesis"]),
        ("Why this lever", plan["basis"]),
        ("Lever", f"{plan['lever']}: {plan['intervention']}"),
        ("Primary metric", plan["primary"]),
        ("Guardrails", plan["guardrails"]),
        ("Size", size),
        ("Runtime", weeks),
        ("Unit", plan["unit"]),
        ("Simulated result", result),
    ]
    body = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows if str(v).strip())  # a row needs words
    more = '<p><a href="06_strategy.html#4-%C2%B7-Experiment-proposal">The plan in full</a></p>'
    return f'<dl class="experiment-card">{body}</dl>{more}'


def summary_first_html(data_folder: Path) -> str:
    """At most three sentences before everything else, one per question, in business units and hedged
    (``words.summary``), from the same results the answers below quote; nothing before 03 has run."""
    res = {name: _results(data_folder, name) for name in ("03_conversion", "04_spend", "05_purchase_style")}
    if all(r is None for r in res.values()):
        return ""
    res["06_strategy"] = _results(data_folder, "06_strategy")
    body = "".join(f"<p>{esc(x)}</p>" for x in summary_words.sentences(res))
    return (
        f'<section class="summary-first" aria-label="Summary"><h2 id="summary">In short</h2><div>{body}</div></section>'
    )


def readout_html(data_folder: Path) -> str:
    """An experiment run says so first: the read-out's decision, lift with CI, sample ratio, guardrails, mechanism."""
    strategy = _results(data_folder, "06_strategy")
    test = getattr(strategy, "readout", None)
    if test is None:
        return ""
    rows = "".join(
        f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in readout_words.card_rows(test, strategy.plan_source)
    )
    return (
        '<h2 id="readout">Experiment read-out</h2><p class="experiment-run"><b>An experiment run:</b> the data carry '
        f"a variant per user ({esc(test.control)} and {esc(test.treatment)}), so the test is read out here; the "
        f'answers below describe the untreated sessions.</p><dl class="experiment-card">{rows}</dl>'
        '<p><a href="06_strategy.html#6-%C2%B7-The-read-out-of-the-test">The read-out in full</a></p>'
    )


def summary_section(data_folder: Path) -> str:
    """The answers, key figure, recommendations, experiment plan and limitations, once ``06_strategy`` has run.

    Each answer is worded from its own analysis's result (03, 04, 05), not from a copy kept by 06.
    """
    strategy = _results(data_folder, "06_strategy")
    if strategy is None:
        return "<p>The answers appear once <code>06_strategy</code> has run.</p>"
    res = {
        name: _results(data_folder, name) for name in ("01_simulate", "03_conversion", "04_spend", "05_purchase_style")
    }
    res = {name: result for name, result in res.items() if result is not None}
    plan = experiment_card_html(strategy)
    limits = "".join(f"<li>{esc(x)}</li>" for x in answers.limitations(res))
    conversion = res.get("03_conversion")
    if conversion is not None and not conversion.ok:  # a split of a handful of buyers shows noise, not a pattern
        why = common_words.reason_words(conversion) or "too few buyers"
        figure = (
            f"<p>No key figure: {esc(why)}, so conversion split into groups "
            "of sessions would show chance, not a pattern.</p>"
        )
    else:
        prices = (fit := fitness.load(Path(data_folder) / "raw")) is None or fit.has_prices
        figure = key_figure_html(data_folder, strategy_words.key_figure_caption(strategy, prices))
    return (
        '<h2 id="answers">Answers</h2>'
        + formatting.summary_html(answers.summary(res))
        + '<h2 id="key-figure">Key figure</h2>'
        + figure
        + '<h2 id="recommendations">Recommendations</h2>'
        + formatting.recommendations_html(strategy_words.recommendations(strategy.recommendations))
        + (f'<h2 id="experiment">Proposed experiment</h2>{plan}' if plan else "")
        + (f'<h2 id="limitations">Limitations</h2><ul>{limits}</ul>' if limits else "")
    )


def comparisons_html(run: str, record: dict) -> str:
    """Links to the comparison pages (``make compare``) that include ``run``; marked when made before its rerun."""
    items = ""
    for path in sorted(paths.reports_root().glob("compare-*/compare.json")):
        made = read_json(path)
        sides = {made["a"]["run"]: made["a"]["finished_utc"], made["b"]["run"]: made["b"]["finished_utc"]}
        if run not in sides:
            continue
        old = (
            " (made before this run's latest rerun: run make compare again)"
            if sides[run] != record.get("finished_utc")
            else ""
        )
        label = f"{made['a']['run']} → {made['b']['run']}"
        items += f'<li><a href="../{esc(path.parent.name)}/index.html">{esc(label)}</a>{esc(old)}</li>'
    return f'<h2 id="comparisons">Comparisons with other runs</h2><ul>{items}</ul>' if items else ""


def cannot_tell_html(fit: fitness.Fitness | None) -> str:
    """'What these data cannot tell', before the answers: 01's record in a reader's words (none: nothing)."""
    items = fitness_words.cannot_tell(fit) if fit is not None else []
    if not items:
        return ""
    body = "".join(f"<li>{esc(x)}</li>" for x in items)
    return f'<h2 id="cannot-tell">What these data cannot tell</h2><ul class="cannot-tell">{body}</ul>'


def write_index(run: str, reports_folder: Path, data_folder: Path) -> Path:
    """Write ``index.html`` for one run folder."""
    fit = fitness.load(Path(data_folder) / "raw")  # 01's record of what the data hold
    reports_folder = Path(reports_folder)
    record = json.loads((reports_folder / "run.json").read_text()) if (reports_folder / "run.json").exists() else {}
    seconds = record.get("seconds", {})
    labels = dict(website.PAGES)
    pages = "".join(
        f'<tr><td><a href="{esc(name)}.html">{esc(labels.get(name, name))}</a></td><td>{secs:,.1f}</td></tr>'
        for name, secs in sorted(seconds.items())
    )
    params = record.get("parameters", {})
    sim = _results(data_folder, "01_simulate") or {}
    simulated = sim.get("source", "simulator") == "simulator"
    if not simulated:  # the simulator's knobs and empty data parameters say nothing about a user's data
        from helpers.data.simulate import SimConfig

        params = {k: v for k, v in params.items() if k not in SimConfig.knobs() and v != ""}
    param_rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in sorted(params.items()))
    if simulated:
        knobs = sim.get("config") or {}
        source = (
            "<p>Simulated: a shop whose true effects are known, so each page compares its estimates with the "
            "truth. Knobs: "
            + esc(
                ", ".join(
                    f"{k} {v}" for k, v in knobs.items() if k.endswith(("effect", "strength", "sessions", "seed"))
                )
            )
            + ".</p>"
        )
    else:
        source = formatting.provenance_html(sim["provenance"]) if sim.get("provenance") else ""
    finished = record.get("finished_utc", "").replace("T", " ").replace("+00:00", "")
    stale = record.get("stale", [])
    verb = "predates" if len(stale) == 1 else "predate"
    warning = (
        f'<p class="stale" role="note"><b>Out of date:</b> {esc(", ".join(stale))} {verb} the rerun of '
        f"{esc(', '.join(record.get('ran_now', [])))}; the answers below may mix runs. Refresh with "
        f"<code>make report RUN={esc(run)} ONLY={esc(','.join(n[:2] for n in stale))}</code>.</p>"
        if stale
        else ""
    )
    content = f"""<h1>Clickstream report: {esc(run)}</h1>
{warning}
<p class="sub">{"Simulated data" if simulated else "Your data"} · scenario {esc(record.get("scenario") or "none")}
· finished {esc(finished)} UTC</p>
{summary_first_html(data_folder)}
{headline_html(_results(data_folder, "02_gold_table") or {}, fit, _population(data_folder))}
{cannot_tell_html(fit)}
{readout_html(data_folder)}
{summary_section(data_folder)}
<h2 id="data">Data</h2>
{source}
{comparisons_html(run, record)}
<h2 id="pages">Pages</h2>
<table><thead><tr><th>Page</th><th>Seconds to run</th></tr></thead><tbody>{pages}</tbody></table>
<details><summary>Parameters of this run</summary><table><tbody>{param_rows}</tbody></table></details>"""
    footer = website.prev_next_html("index") + website.footer_html(
        run, {}, record.get("data_fingerprint", ""), record.get("versions", {}), record.get("commit")
    )
    content = website.link_terms(content)  # the first use of each glossary term, as on every other page
    content = website.toc_html(content) + content
    out = reports_folder / "index.html"
    with atomic_path(out) as tmp:
        Path(tmp).write_text(website.page("index", f"Clickstream report · {run}", content, footer), encoding="utf-8")
    return out
