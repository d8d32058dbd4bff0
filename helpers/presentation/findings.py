"""Findings in words: the one place where verdicts become sentences, titles, badges and advice.

Usage::

    from helpers.presentation import findings
    findings.conversion_lines(result)          # 03's findings, one Markdown bullet each
    findings.summary(results.load_all(run))    # the front page's answers with their badges

Every function reads the typed results the analyses return (``helpers.results``), so a sentence
can only say what its verdict says; the rules that decide recommendations and the experiment's
lever live in ``helpers.strategy``. Direction words come from the sign of a CI, never
from a typed phrase; each branch (positive, negative, none or negligible, unclear) is unit-tested.
Observational findings say "is associated with", never "drives" or "causes".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from helpers.analysis.results import Answer, Badge
from helpers.presentation.formatting import fmt, span

if TYPE_CHECKING:  # for annotations only: 01 and 02 word their findings without SciPy
    from helpers.analysis.stats import Health

SUPPORTED = "supported"
HIGHER_LOWER = {"positive": "higher", "negative": "lower"}
FEATURE_WORDS = {
    "engagement": "a higher count of events before checkout",
    "time": "a longer time before checkout",
    "idle": "a longer idle gap before checkout",
}


# --------------------------------------------------------------------------------------------
# Formatting pieces
# --------------------------------------------------------------------------------------------


def ci(lo: float, hi: float, fmt: str = ".2f") -> str:
    """A CI as '[lo, hi]'."""
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def times(value: float, lo: float, hi: float) -> str:
    """An odds ratio with its CI: '×1.52 [1.40, 1.65]'."""
    return f"×{value:.2f} {ci(lo, hi)}"


def pct(value: float, lo: float, hi: float) -> str:
    """A % change with its CI: '+4.1 % [+1.0 %, +7.3 %]'."""
    return f"{value:+.1f} % [{lo:+.1f} %, {hi:+.1f} %]"


def p_value(p: float) -> str:
    """'p < 0.001' or 'p = 0.012' (the number as every table shows it)."""
    text = fmt(p, "p")
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def badge_line(b: Badge) -> str:
    """A badge as one Markdown line with the rules it passed and failed."""
    text = f"**Confidence: {b.level}.**"
    if b.passed:
        text += " Rules met: " + "; ".join(b.passed) + "."
    if b.failed:
        text += " Not met: " + "; ".join(b.failed) + "."
    return text


def health_note(health: Health) -> str:
    """One line on the health of a page's fits, shown beside their table."""
    models = health.models
    if health.ok:
        epp = [h["events_per_parameter"] for h in models.values() if h.get("events_per_parameter") is not None]
        cond = max((h["condition_number"] or 0) for h in models.values()) if models else 0
        text = (
            f"Fit health: all {len(models)} models converged with no sign of separation; largest condition "
            f"number {cond:,.0f}" + (f"; at least {min(epp):,.0f} outcome events per parameter." if epp else ".")
        )
    else:
        text = "**Fit health: problems, so no verdict rests on these fits.** " + "; ".join(health.reasons) + "."
    if health.warnings:
        text += " Warnings raised: " + "; ".join(health.warnings[:5]) + "."
    return text


# --------------------------------------------------------------------------------------------
# 03 · Who purchases?
# --------------------------------------------------------------------------------------------


def effect_phrase(feature: str, cls: str, outcome: str = "purchase odds", ci: tuple | None = None) -> str:
    """One feature's association in words, from its class ('positive', 'negative', 'negligible', 'unclear').

    ``ci`` (the odds ratio's 95 % CI) tells an unclear effect whose direction is known (the CI
    excludes 1 but reaches into the band of no material association) from one whose direction is not.
    """
    words = FEATURE_WORDS[feature]
    if cls in HIGHER_LOWER:
        return f"{words} is associated with {HIGHER_LOWER[cls]} {outcome}"
    if cls == "negligible":
        return f"{words} has no material association with {outcome}"
    if ci is not None and (ci[0] > 1 or ci[1] < 1):
        return (
            f"{words} is associated with {'higher' if ci[0] > 1 else 'lower'} {outcome}, "
            "though whether by a material amount is unclear"
        )
    return f"the data cannot tell whether {words} goes with higher or lower {outcome}"


def time_adds_phrase(v) -> str:
    """Whether time adds to engagement, with the direction of time's association (``v``: 03's verdicts)."""
    if v.time_adds == "yes":
        return (
            f"time adds to engagement: holding engagement fixed, longer time before checkout is associated "
            f"with {HIGHER_LOWER[v.time_sign]} purchase odds"
        )
    if v.time_adds == "no":
        return "time adds nothing material once engagement is known"
    return "whether time adds to engagement is unclear"


def conversion_answer(v) -> str:
    """03's one-sentence answer for the front page and the summary (``v``: 03's verdicts)."""
    if not v.healthy:
        return "Not answered: " + "; ".join(v.health_reasons) + "."
    if v.answer in ("engagement", "time"):
        lead = f"{cap(v.answer)} is the clearly stronger of the two: {effect_phrase(v.answer, getattr(v, v.answer))}"
    elif v.answer == "neither":
        lead = "Neither engagement nor time before checkout is materially associated with purchase"
    else:
        lead = "The data cannot tell whether engagement or time goes more with purchase"
    if v.answer == "time" and v.time_adds == "yes":
        return f"{lead}, and it adds to what engagement explains."
    return f"{lead}; {time_adds_phrase(v)}."


def conversion_lines(result) -> list[str]:
    """03's findings as Markdown bullets, from its typed result."""
    v, e, t = result.verdicts, result.effect("engagement"), result.effect("time")
    band = f"[{1 / result.negligible_or:.2f}, {result.negligible_or:.2f}]"
    lines = [
        f"- **{conversion_answer(v)}**",
        f"- Per SD, holding the other fixed, the purchase odds change {times(e.or_per_sd, e.or_lo, e.or_hi)} "
        f"with engagement and {times(t.or_per_sd, t.or_lo, t.or_hi)} with time (95 % CIs; an odds ratio "
        f"inside {band} counts as no material association). In words: "
        f"{effect_phrase('engagement', v.engagement, ci=(e.or_lo, e.or_hi))}; "
        f"{effect_phrase('time', v.time, ci=(t.or_lo, t.or_hi))}.",
    ]
    if v.time_adds == "yes":
        lines.append(
            f"- Time given engagement, in the model with controls: Wald {p_value(v.p_time_given_engagement)}; "
            f"cross-validated AUC {v.auc_gain_from_time:+.3f}."
        )
    lines.append(
        f"- On its own, engagement reaches a cross-validated AUC of {v.auc_engagement_only:.3f} and time "
        f"{v.auc_time_only:.3f} (0.5 is chance)."
    )
    lines.append(f"- In business units: {unit_phrase(result.unit('engagement'))}; {unit_phrase(result.unit('time'))}.")
    leak = result.leakage_auc()
    if leak:
        lines.append(
            f"- Counting the funnel's own events would inflate the AUC to {leak[1]:.3f} (leakage-free: {leak[0]:.3f})."
        )
    lines += [f"- {cart_steps_line(result.leakage)}"] if result.leakage and len(result.leakage) == 3 else []
    if result.clustering:
        lines.append(f"- {clustering_line(result.clustering, 'sessions')}")
    if not v.stable:
        lines.append(
            "- The answer changes when the controls (device, traffic source, weekday, hour) are dropped: "
            "read it with care."
        )
    lines += truth_lines(result.truth)
    return lines


def clustering_line(c, rows: str) -> str:
    """How the rows group into users and what that does to the intervals (``c``: a ``stats.Clustering``)."""
    if c.clustered:
        return (
            f"Intervals are clustered by user: {c.rows:,} {rows} from {c.users:,} users ({c.rows_per_user:.1f} per "
            f"user, up to {c.max_rows_per_user:,}), so a user's repeated {rows} are not counted as independent "
            "evidence."
        )
    return f"Each user has one of these {rows}, so they are treated as independent."


def cart_steps_line(audit: list[dict]) -> str:
    """What counting the add-to-cart steps as engagement would do to its odds ratio (03's audit rows)."""
    used, carts = audit[0]["engagement_or_per_sd"], audit[1]["engagement_or_per_sd"]
    return (
        "Engagement counts browsing only: add-to-cart steps follow the decision to buy, so counting them would "
        f"move engagement's odds ratio per SD from ×{used:.2f} to ×{carts:.2f} (both without controls)."
    )


def landmark_line(lm, main) -> str:
    """03's landmark check in one sentence: the same question in a window of fixed length."""
    if lm.verdict == "not estimated":
        return f"Landmark check not run: {lm.reason}."
    same = "the same reading as" if lm.agrees else "a different reading from"
    return (
        f"Landmark check: among {lm.sessions:,} sessions still active {lm.seconds} s after they start "
        f"({lm.buyers:,} buyers), each SD more browsing in those first {lm.seconds} s goes with purchase odds "
        f"{times(lm.or_per_sd, lm.or_lo, lm.or_hi)}; the window is the same length for buyers and non-buyers, so "
        f"it cannot restate the funnel. That is {same} the main window (×{main.or_per_sd:.2f}), "
        f"{lm.moved_pct:+.0f} % on the odds ratio."
    )


def unit_phrase(u) -> str:
    """'+1 event before checkout ≈ +0.45 points of conversion [+0.40, +0.50] (the median session has 3)'."""
    median = f"{u.median:,.0f}" if u.unit == "event" else f"{u.median:,.1f}"
    return (
        f"+1 {u.unit} before checkout ≈ {u.points:+.2f} points of conversion [{u.lo:+.2f}, {u.hi:+.2f}] "
        f"(the median session has {median} {u.unit}s)"
    )


def truth_lines(rows) -> list[str]:
    """One bullet on how many true effects lie inside their CIs; none without a truth."""
    if not rows:
        return []
    return [f"- Truth check: {sum(r.covered for r in rows)} of {len(rows)} true effects lie inside their 95 % CI."]


def forest_title(result) -> str:
    """Title of 03's effect plot: what is shown, with the numbers."""
    return (
        f"Purchase odds per SD: engagement ×{result.effect('engagement').or_per_sd:.2f}, "
        f"time ×{result.effect('time').or_per_sd:.2f}"
    )


def entanglement_line(tangle) -> str:
    """How entangled engagement and time are: their correlation and variance inflation factors."""
    vifs = ", ".join(f"{k} {v:.1f}" for k, v in tangle.vif.items())
    return f"Correlation of engagement and time: **{tangle.corr:.2f}**; variance inflation factors: {vifs}."


def brier_line(cal) -> str:
    """The calibration in one sentence: Brier score against the base rate's."""
    return (
        f"Brier score **{cal.brier:.5f}** against **{cal.brier_base:.5f}** for the base rate "
        f"(skill {cal.brier_skill:.1%})."
    )


def calibration_title(skill: float) -> str:
    """Title of 03's calibration plot, with the Brier skill it shows."""
    return f"Out-of-fold predicted against observed purchase rates (Brier skill {skill:.1%})"


# --------------------------------------------------------------------------------------------
# 04 · Who spends more?
# --------------------------------------------------------------------------------------------


def held_fixed(feature: str, specification: str | None) -> str:
    """What a spend model holds fixed besides ``feature``, in words."""
    others = ["engagement", "time"] + (["idle time"] if specification and "idle" in specification else [])
    others = [o for o in others if not o.startswith(feature)]
    return f"holding {', '.join(others)} and context fixed"


def usd(value: float, lo: float | None = None, hi: float | None = None) -> str:
    """A USD amount per order, with its CI when given: '+12.40 USD [+3.10, +21.70]'."""
    text = f"{value:+,.2f} USD"
    return text + (f" [{lo:+,.2f}, {hi:+,.2f}]" if lo is not None and hi is not None else "")


def spend_call_phrase(call, negligible_pct: float) -> str:
    """One feature's association with spend per order, from its call (see ``spend.feature_call``)."""
    words = FEATURE_WORDS[call.feature]
    if call.verdict == "not available":
        return f"{words} is not available for session-level input (no event timing)"
    if call.verdict == "cannot size":
        return (
            f"these data cannot size how {words} relates to spend: its 95 % CI spans more than 100 points per SD "
            f"({pct(call.pct, call.lo, call.hi)})"
        )
    size = f"{pct(call.pct, call.lo, call.hi)} per SD, {usd(call.usd, call.usd_lo, call.usd_hi)} per order"
    if call.verdict in HIGHER_LOWER:
        return f"{words} is associated with {HIGHER_LOWER[call.verdict]} spend ({size})"
    if call.verdict == "negligible":
        return f"{words} has no material association with spend ({size}; inside ±{negligible_pct:g} %)"
    if call.verdict == "depends":
        direction, reverses, while_not_held = _depends(call)
        when = (
            "depending on whether idle time is held fixed"
            if reverses
            else "by a material amount only "
            + ("while idle time is not held fixed" if while_not_held else "once idle time is held fixed too")
        )
        before = pct(call.other_pct, call.other_lo, call.other_hi)
        return (
            f"{words} goes with {direction} spend {when}: {before} per SD "
            f"{held_fixed(call.feature, call.other_specification)}, {pct(call.pct, call.lo, call.hi)} "
            f"{held_fixed(call.feature, call.specification)}"
        )
    detect = (
        f"; these data would detect about ±{abs(call.detectable):.1f} % per SD with 80 % power"
        if call.detectable is not None and abs(call.detectable) <= 50
        else ""
    )
    return f"the data cannot tell how {words} relates to spend ({size}{detect})"


def _depends(call) -> tuple[str, bool, bool]:
    """A 'depends' call's shape: its direction, whether the sign reverses across the models, and whether it is
    material in the model without idle time (rather than only in the one with it)."""
    material = [c for spec, c in call.classes.items() if spec != "Gamma GLM check" and c in HIGHER_LOWER]
    reverses = len(set(material)) > 1
    direction = HIGHER_LOWER[material[0]] if material and not reverses else "higher or lower"
    return direction, reverses, call.classes.get(call.other_specification) in HIGHER_LOWER


def spend_fact(result) -> str:
    """04's plain descriptive fact: spend per order of buyers with few and with many events before checkout."""
    if len(result.by_engagement) < 2:
        return ""
    few, many = result.by_engagement
    return (
        f"Buyers with {few.rule} events before checkout spend {few.mean_usd:,.2f} USD per order "
        f"[{few.lo:,.2f}, {few.hi:,.2f}], those with {many.rule} spend {many.mean_usd:,.2f} USD "
        f"[{many.lo:,.2f}, {many.hi:,.2f}]."
    )


def spend_answer(result) -> str:
    """04's answer: the descriptive fact first, then each feature with the others held fixed."""
    v = result.verdicts
    calls = [c for c in v.calls() if c.verdict != "not available"]
    held = "; ".join(f"{spend_call_phrase(c, v.negligible_pct)}" for c in calls)
    text = (spend_fact(result) + " " if spend_fact(result) else "") + f"Holding the other behaviours fixed, {held}."
    if v.idle.verdict == "not available":
        text += " Idle gaps are not available for session-level input."
    if v.explains_little:
        text += f" Behaviour explains little of spend (adjusted R² {v.best_adj_r2:.3f})."
    return cap(text)


def spend_call_short(call) -> str:
    """One feature's call in a few words with its numbers, for the front page."""
    size = f"{call.pct:+.1f} % per SD, {usd(call.usd)} per order" if call.pct is not None else ""
    if call.verdict in HIGHER_LOWER:
        return f"{HIGHER_LOWER[call.verdict]} spend ({size})"
    if call.verdict == "negligible":
        return f"no material association ({size})"
    if call.verdict == "depends":
        direction, reverses, while_not_held = _depends(call)
        numbers = f"({call.other_pct:+.1f} % against {call.pct:+.1f} % per SD)"
        if reverses:
            return f"reverses when idle time is held fixed {numbers}"
        held = "while idle time is not held fixed" if while_not_held else "once idle time is held fixed too"
        return f"{direction} spend, material only {held} {numbers}"
    if call.verdict == "cannot size":
        return "cannot be sized with these data"
    return f"not clear from these data ({size})"


def spend_summary(result) -> str:
    """04's answer for the front page: the plain fact, then each feature's call in a few words."""
    v = result.verdicts
    short = {"engagement": "more events", "time": "longer time", "idle": "longer idle gaps"}
    parts = [f"{short[c.feature]}: {spend_call_short(c)}" for c in v.calls() if c.verdict != "not available"]
    text = (spend_fact(result) + " " if spend_fact(result) else "") + "Others held fixed, " + "; ".join(parts) + "."
    if v.explains_little:
        text += f" Behaviour explains little of spend (adjusted R² {v.best_adj_r2:.3f})."
    return text


def spend_lines(result) -> list[str]:
    """04's findings as Markdown bullets."""
    v = result.verdicts
    better = {
        "engagement": "On its own, engagement predicts spend better than time",
        "time": "On its own, time predicts spend better than engagement",
        "neither clearly": "On its own, neither engagement nor time predicts spend clearly better",
    }[v.explains_better]
    lines = [
        f"- **{spend_answer(result)}**",
        f"- {better}: cross-validated RMSE {v.rmse_engagement_only:.4f} (engagement) against "
        f"{v.rmse_time_only:.4f} (time), in log points; adjusted R² {v.adj_r2_engagement_only:.3f} against "
        f"{v.adj_r2_time_only:.3f}.",
        f"- A direction is stated only when the per-SD CI lies outside ±{v.negligible_pct:g} % in every model "
        "shown and the Gamma GLM check lies on the same side of zero; USD are per order at the mean order value "
        f"({result.mean_spend:,.2f} USD).",
        "- These models describe buyers only (spend given a purchase); buying itself goes with engagement or time "
        "(03), so a difference among buyers is not a difference among visitors.",
    ]
    if result.clustering:
        lines.append(f"- {clustering_line(result.clustering, 'buying sessions')}")
    lines += [f"- Not interpreted: {reason}." for reason in v.reasons]
    return lines + truth_lines(result.truth)


def held_fixed_line(result) -> str:
    """Time's association with spend as more is held fixed: with engagement, then with idle time too."""
    t = result.verdicts.time
    text = f"Time {held_fixed('time', t.specification)}: {pct(t.pct, t.lo, t.hi)} spend per SD."
    if t.other_specification:
        text = (
            f"Time {held_fixed('time', t.other_specification)}: {pct(t.other_pct, t.other_lo, t.other_hi)} "
            f"spend per SD; {held_fixed('time', t.specification)}: {pct(t.pct, t.lo, t.hi)}."
        )
    return text


def style_check_line(result) -> str:
    """04's check for confounding by purchase style, in one sentence."""
    text = f"Purchase styles browse: **{result.style_check.browsing}**"
    return text + (" — the associations above are not interpreted." if result.verdicts.confounded else ".")


# --------------------------------------------------------------------------------------------
# 05 · How do purchase styles arise?
# --------------------------------------------------------------------------------------------


METRIC_WORDS = {
    "pre_conversion_seconds": "duration before checkout",
    "pre_conversion_event_count": "events before checkout",
    "pre_conversion_page_views": "page views before checkout",
}
CLASS_WORDS = {
    "equivalent": "alike (90 % CI within ±{m} SD)",
    "small difference": "differ slightly (CI clear of zero but inside ±{m} SD)",
    "different": "differ by more than {m} SD",
    "inconclusive": "can be neither told apart nor shown alike (CI crosses ±{m} SD)",
}


def _names(columns: list[str]) -> str:
    words = [METRIC_WORDS.get(c, c) for c in columns]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def styles_answer(result) -> str:
    """05's answer: the overall verdict, then each duration and volume metric in its class, and who is in neither."""
    v, m = result.verdicts, result.equivalence_margin
    lead = {
        "similar": "Cheap-many and expensive-few buyers browse alike",
        "different": "Cheap-many and expensive-few buyers browse differently",
        "inconclusive": "The data cannot tell whether cheap-many and expensive-few buyers browse alike",
    }[v.browsing]
    groups: dict[str, list[str]] = {}
    for column, cls in v.by_metric.items():
        groups.setdefault(cls, []).append(column)
    parts = [f"{_names(cols)} {CLASS_WORDS[cls].format(m=f'{m:g}')}" for cls, cols in groups.items()]
    total = result.n_cheap_many + result.n_expensive_few + result.n_other
    neither = (
        f" {result.n_other / total:.0%} of buyers ({result.n_other:,} of {total:,}) fall in neither style."
        if total
        else ""
    )
    return f"{lead}: {'; '.join(parts)}.{neither}"


def styles_lines(result) -> list[str]:
    """05's findings as Markdown bullets."""
    v = result.verdicts
    lines = [f"- **{styles_answer(result)}**"]
    diffs = ", ".join(
        f"{METRIC_WORDS.get(r.column, r.metric)} {r.smd:+.2f} {ci(r.smd_lo, r.smd_hi, '+.2f')}"
        for r in result.comparison or []
        if r.column in METRIC_WORDS
    )
    lines.append(f"- Standardised differences, expensive-few minus cheap-many (95 % CIs): {diffs}.")
    chance = "better than chance" if v.behaviour_above_chance else "no better than chance can be shown"
    lines.append(
        f"- A classifier on {result.classifier.features} tells the styles apart with out-of-fold AUC "
        f"{v.behaviour_auc:.3f} {ci(v.behaviour_auc_lo, v.behaviour_auc_hi, '.3f')}, permutation "
        f"{p_value(v.behaviour_p)}: {chance}."
    )
    if v.higher_margin_style:
        lines.append(
            f"- {cap(v.higher_margin_style)} buyers earn more gross margin per buyer (95 % CIs do not overlap)."
        )
    elif v.margin_known:
        lines.append("- Gross margin per buyer does not differ clearly between the styles (95 % CIs overlap).")
    if result.truth:
        lines.append(
            f"- Truth check: the simulator's answer is '{result.truth.expected_browsing}'; "
            f"this page found '{v.browsing}'."
        )
    return lines


def mixture_line(mix) -> str:
    """How far a two-component mixture agrees with the median-split rule, with its verdict."""
    verdict = {
        "agrees": "a data-driven grouping largely agrees with the rule, so the two styles are real groups",
        "partly": "a data-driven grouping agrees only in part: the styles are the ends of a continuum more than "
        "separate groups",
        "does not agree": "a data-driven grouping does not find these two groups: the styles are a rule laid on a "
        "continuum of prices and units",
    }.get(mix.verdict, "the mixture could not be compared")
    return (
        f"The mixture agrees with the rule for **{mix.agreement:.1%}** of these buyers "
        f"(adjusted Rand index {mix.adjusted_rand:.2f}): {verdict}."
    )


def classifier_line(result) -> str:
    """05's classifier: its AUC with CI and permutation p-value, and the features it used."""
    c = result.classifier
    return (
        f"AUC **{c.auc:.3f}** (95 % CI {c.lo:.3f} to {c.hi:.3f}; permutation {p_value(c.p)}, one-sided), "
        f"from {c.features}."
    )


def smd_method_line(result) -> str:
    """How 05's SMD intervals treat users with several buyer sessions, in one line."""
    c = result.clustering
    if c is None:
        return "Buyer sessions are treated as independent: the intervals are Hedges and Olkin's."
    if not c.clustered:
        return clustering_line(c, "buyer sessions") + " The intervals are Hedges and Olkin's."
    return clustering_line(c, "buyer sessions") + " The SD term of each SMD's variance carries the same design effect."


def classifier_method_line(result, margin: float) -> str:
    """How 05's classifier is tested: folds, permutations, the CI and the two rules, in one line."""
    from helpers.analysis.purchase_styles import ALPHA, auc_bound

    c = result.classifier
    unit = "whole users among users with as many sessions" if c.grouped else "sessions"
    folds = "each user's sessions in one fold, " if c.grouped else ""
    return (
        f"{c.folds} folds ({folds}stratified by style). The p-value is from {c.permutations} permutations of the "
        f"style labels ({unit}), the cross-validation refitted for each; the 95 % CI is the AUC ± 1.96 SD of "
        f"those permuted AUCs. 'Above chance' needs p ≤ {ALPHA:g} (one-sided); 'alike' needs the CI to reach "
        f"{auc_bound(margin):.3f} or below, the AUC of a {margin:g} SD difference."
    )


def style_truth_line(truth) -> str:
    """05's truth check: what the simulator's knobs make the right answer."""
    return (
        f"The simulator separates the styles with price-affinity strength {truth.style_strength:g} and "
        f"links browsing to price affinity with strength {truth.style_browse_effect:g}, so the true "
        f"answer is **{truth.expected_browsing}**."
    )


def styles_intro(result) -> str:
    """05's opening sentence: buyers, the median splits and how many fall in each style."""
    if not result.buyers:
        return "**No buyers with items.**" + _intro_tail(result, pooled=False)
    text = (
        f"**{result.buyers:,} buyers.** Median average item price **${result.price_median:,.2f}**, median units "
        f"**{result.items_median:g}**. Cheap-many: price at or below the median and more units than the median "
        f"({result.n_cheap_many:,} buyers); expensive-few: price above the median and at most the median units "
        f"({result.n_expensive_few:,}); the rest are 'other' ({result.n_other:,})."
    )
    if result.sampled:
        text += f" Comparisons use a uniform random sample of {len(result.evidence.buyers):,} buyers."
    return text + _intro_tail(result, pooled=False)


# --------------------------------------------------------------------------------------------
# Each page's opening and closing
# --------------------------------------------------------------------------------------------


def conversion_intro(result) -> str:
    """03's opening sentence: sessions, buyers, sampling, controls left out, pooling, estimability."""
    share = result.all_buyers / result.sessions
    text = f"**{result.sessions:,} sessions**, **{result.all_buyers:,} buyers** ({share:.2%})."
    if result.sampled:
        rows = len(result.evidence.frame)
        text += f" Models use a uniform random sample of {rows:,} sessions ({result.buyers:,} buyers)."
    return text + _intro_tail(result)


def spend_intro(result) -> str:
    """04's opening sentence: buyers, median spend, sampling, controls left out, idle availability, estimability."""
    if result.buyers:
        text = (
            f"**{result.buyers:,} buyers** with a positive amount, out of {result.sessions:,} sessions; median spend "
            f"${result.median_spend:,.2f}."
        )
    else:
        text = "**No buyers with a positive amount.**"
    if result.sampled:
        text += f" Models use a uniform random sample of {len(result.evidence.buyers):,} buyers."
    if not result.idle_measured:
        text += " Idle gaps are not available for session-level input: the idle model is left out."
    return text + _intro_tail(result, pooled=False)


def _intro_tail(result, pooled: bool = True) -> str:
    skipped = getattr(result, "skipped_controls", None)
    text = f" Controls left out: {', '.join(skipped)}." if skipped and result.ok else ""
    if pooled and result.pooled:
        text += f" Pooled: {'; '.join(result.pooled)}."
    if not result.ok:
        text += f"\n\n**Not estimable here: {result.reason}.** The sections below are skipped."
    return text


def closing(result, lines) -> str:
    """A page's findings block: its bullets and badge, or why nothing could be estimated."""
    if not result.ok:
        return f"- Not estimable here: {result.reason}."
    return "\n".join(lines(result)) + "\n\n" + badge_line(result.badge)


# --------------------------------------------------------------------------------------------
# The front page and 06
# --------------------------------------------------------------------------------------------

QUESTIONS = {
    "03_conversion": "Who purchases: engagement or time on site?",
    "04_spend": "Who spends more among buyers?",
    "05_purchase_style": "How do purchase styles arise?",
}


def summary(res: dict) -> list[Answer]:
    """One row per question: answer, key evidence with CI, badge with its rules, and where to read more."""
    rows = []
    for page, question in QUESTIONS.items():
        result = res.get(page)
        where = {"question": question, "page": page, "link": f"{page}.html#Findings"}
        if result is None or not result.ok:
            reason = (result.reason if result is not None else None) or "too few buyers"
            rows.append(
                Answer(**where, answer=f"Not estimable here: {reason}.", evidence="", badge=Badge.from_rules(None, {}))
            )
            continue
        rows.append(Answer(**where, answer=_answer(page, result), evidence=_evidence(page, result), badge=result.badge))
    return rows


def _answer(page: str, result) -> str:
    if page == "03_conversion":
        return conversion_answer(result.verdicts)
    if page == "04_spend":
        return spend_summary(result)
    return styles_answer(result)


def _evidence(page: str, result) -> str:
    v = result.verdicts
    if page == "03_conversion":
        e, t = result.effect("engagement"), result.effect("time")
        return (
            f"odds per SD: engagement {times(e.or_per_sd, e.or_lo, e.or_hi)}, "
            f"time {times(t.or_per_sd, t.or_lo, t.or_hi)}"
        )
    if page == "04_spend":
        parts = [f"{c.feature} {pct(c.pct, c.lo, c.hi)}" for c in v.calls() if c.pct is not None]
        return "spend per SD, others held fixed: " + ", ".join(parts)
    h = result.headline
    tested = f", {p_value(v.behaviour_p)}" if v.behaviour_p is not None else ""
    return (
        f"SMD of the duration before checkout {h.estimate:+.2f} {ci(h.lo, h.hi, '+.2f')}; browsing classifier "
        f"AUC {v.behaviour_auc:.3f} {ci(v.behaviour_auc_lo, v.behaviour_auc_hi, '.3f')}{tested}"
    )


def experiment_lines(
    plan,
    n_needed: int | None,
    weeks: int | None,
    relative_mde: float,
    span_hours: float | None = None,
    design=None,
) -> list[str]:
    """The experiment proposal as Markdown bullets: lever and hypothesis, metrics, size, intervention, unit.

    ``design`` (an ``experiment.DesignEffect``) states how repeated users inflate the size.
    """
    size = (
        f"{n_needed:,} sessions per arm, {weeks} week{'s' if weeks != 1 else ''} of traffic, to detect a "
        f"{relative_mde:.0%} relative lift"
        if n_needed and weeks is not None
        else "cannot be sized: the baseline conversion or the traffic rate is unknown"
    )
    if n_needed and design is not None:
        size += f"; {design_phrase(design, n_needed)}"
    if n_needed and weeks is not None and span_hours is not None and span_hours < 24:
        size += (
            f" (the traffic rate comes from data spanning only {span_hours * 60:,.0f} minutes, so the runtime is a "
            "rough extrapolation)"
        )
    return [
        f"- **Lever:** {plan.lever}. Hypothesis: {plan.hypothesis} ({plan.basis})",
        f"- **Primary metric:** {plan.primary}; guardrails: {'; '.join(plan.guardrails)}.",
        f"- **Size:** {size}.",
        f"- **Intervention:** {plan.intervention}",
        f"- **Unit of randomisation:** {plan.unit}; when users repeat, every variance is taken at user level "
        "(the delta method, each user's sessions summed).",
    ]


def design_phrase(design, n_sessions: int) -> str:
    """'sessions per user m = 4.0, ICC 0.002, design effect D = 1.006: 16,000 users / 64,000 sessions per arm'."""
    users = -(-n_sessions // design.sessions_per_user)  # rounded up
    if design.cluster_size == 1:
        return f"one session per user (no user repeats), so design effect D = 1: {n_sessions:,} sessions per arm"
    icc = (
        f"ICC of conversion within user not estimable from {design.icc_buyers} buyers (taken as 0)"
        if getattr(design, "icc_buyers", None) is not None
        else f"ICC of conversion within user {design.icc:.3f}"
    )
    return (
        f"sessions per user m = {design.cluster_size:.1f} (size-weighted; {design.sessions_per_user:.1f} on average), "
        f"{icc}, design effect D = {design.design_effect:.3f}: "
        f"{users:,.0f} users / {n_sessions:,} sessions per arm"
    )


def limitations(res: dict) -> list[str]:
    """What a reader must keep in mind, computed from what ran and what could not."""
    simulated = (res.get("01_simulate") or {}).get("source") == "simulator"
    out = [
        "Observational data: every association here may reflect something not measured (intent, promotions, "
        "prices seen); only the experiment can show cause and effect."
    ]
    if simulated:
        out.append(
            "The data are simulated, so the simulator's known truth is compared with each estimate; a real "
            "shop's data can hold patterns the simulator lacks."
        )
    out.append("Spend is modelled among buyers only: it describes spend given a purchase, not spend per visitor.")
    for page, question in QUESTIONS.items():
        result = res.get(page)
        if result is not None and not result.ok:
            out.append(f"{question} Not estimable here: {result.reason or 'too few buyers'}.")
    spend = res.get("04_spend")
    if spend is not None and spend.ok and spend.verdicts.confounded:
        out.append(
            "The purchase styles browse differently, so 04's behaviour and spend associations are not interpreted."
        )
    conv = res.get("03_conversion")
    if conv is not None and conv.sampled:
        out.append("The conversion models were fitted on a uniform random sample of sessions.")
    return out


def simulation_lines(rec: dict, truth: dict | None) -> list[str]:
    """01's findings: what the data hold, how realistic they look, and (simulated) the truth to check against."""
    counts, prof = rec["counts"], rec["profile"]
    misses = ", ".join(row["metric"] for row in rec["benchmark_table"] if row["in range"] == "no") or "none"
    lines = [
        f"- The run holds **{counts['sessions']:,} sessions** with **{counts['events']:,} events** "
        f"({prof['mean_events']:.2f} per session) and **{counts['orders']:,} orders**.",
        f"- **{rec['benchmarks_in_range']} of {rec['benchmarks_checked']}** realism checks land in their published "
        f"range; outside: {misses}.",
    ]
    hours = (rec.get("provenance") or {}).get("span_hours")
    if hours is not None and hours < 24:
        lines.append(
            f"- The data cover only {span(hours)}: the published ranges describe whole days of traffic, "
            "so a miss here may come from the short slice rather than from the store."
        )
    cart = f"- Session conversion is **{prof['conversion']:.2%}**; {prof['cart_share']:.1%} of sessions add to cart"
    if prof.get("cart_abandonment") is not None:
        cart += (
            f", and {prof['cart_abandonment']:.0%} of cart sessions end without a purchase (cart abandonment = "
            "cart sessions without a purchase / cart sessions)"
        )
    lines.append(cart + ".")
    if truth:
        lines.append(
            f"- The simulator's truth for later checks: direct time effect **{truth['time_effect']:+.2f}**, "
            f"engagement effect **{truth['engagement_effect']:+.2f}** (log-odds per log1p unit), idle-time "
            f"effect on log spend **{truth['implied_idle_on_log_spend']:+.3f}** per log1p second."
        )
    else:
        lines.append("- These are your data: there is no known truth, so later notebooks skip their truth checks.")
    return lines


def gold_lines(rec: dict, checks: int) -> list[str]:
    """02's findings: size, buyers, revenue, reconciliation, the funnel's share of events, what is missing."""
    rows, buyers = rec["rows"], rec["buyers"]
    share = f" ({buyers / rows:.2%})" if rows else ""
    lines = [
        f"- **{rows:,} sessions**, of which **{buyers:,}** bought{share}, for **{rec['revenue_usd']:,.0f} USD** of "
        f"revenue; all {checks} reconciliation checks agree."
    ]
    if buyers:
        lines.append(
            f"- Buyers average {rec['mean_events_buyers']:.1f} events in all but {rec['mean_pre_events_buyers']:.1f} "
            "before their first checkout: the difference is the funnel itself, which is why the models use "
            "the pre-conversion counts."
        )
    else:
        lines.append("- No session bought anything.")
    missing = [c for c, ok in rec["known_columns"].items() if not ok] + ([] if rec["has_cost"] else ["product cost"])
    lines.append(
        f"- Not in these data: {', '.join(missing)}; later notebooks skip what needs them."
        if missing
        else "- Device, traffic source and product cost are all present."
    )
    return lines


def traffic_line(result) -> str:
    """06's traffic facts behind the experiment's size, or why it cannot be sized."""
    if result.sample_size_per_arm and result.sessions_per_day:
        d = result.design
        deff = (
            f" Sessions per user m = {d.cluster_size:.1f} and an ICC of {d.icc:.3f} (one-way ANOVA estimator, "
            f"{d.users:,} users) give a design effect D = 1 + (m − 1) × ICC = **{d.design_effect:.3f}**, which "
            "multiplies every size below."
            if d is not None
            else ""
        )
        return (
            f"Baseline conversion **{result.baseline:.2%}**; the data span {span(result.span_hours)}, "
            f"about **{result.sessions_per_day:,.0f} sessions a day**; α = {result.alpha}, power {result.power:.0%}."
            + deff
        )
    if not result.sample_size_per_arm:
        return "*The baseline conversion is 0 or 1: no power analysis is possible.*"
    return "*All sessions start at the same moment: the traffic rate, and so the runtime, is unknown.*"


def experiment_result_lines(exp, aa, n_arm: int, alpha: float, rate=None) -> list[str]:
    """06's simulated experiment in words: lift against the truth, method, secondaries, guardrails, decision, A/A rate.

    ``rate`` (an ``experiment.AARate``) is the false-positive rate over many A/A replications; the
    single A/A arm ``aa`` is reported as a check of the pipeline only.
    """
    pp = lambda x: f"{100 * x:+.3f} pp"  # noqa: E731
    inside = "inside" if exp.true_covered else "outside"
    users = f" ({exp.users_control:,} and {exp.users_treatment:,} users)" if exp.users_control else ""
    return [
        f"**{n_arm:,} sessions per arm{users}.** Conversion {exp.control_rate:.3%} (control) against "
        f"{exp.treatment_rate:.3%} (treatment): difference **{pp(exp.diff)}** (95 % CI {pp(exp.diff_lo)} to "
        f"{pp(exp.diff_hi)}, {p_value(exp.p_value)}); the simulator's true difference is {pp(exp.true_diff)} "
        f"({inside} the CI).",
        method_line(exp),
        f"Events per minute (all events over all minutes) {exp.epm_control:.2f} against {exp.epm_treatment:.2f}: "
        f"{exp.epm_diff:+.2f} ({exp.epm_lo:+.2f} to {exp.epm_hi:+.2f}); spend per session "
        f"{exp.spend_diff:+.3f} USD ({exp.spend_lo:+.3f} to {exp.spend_hi:+.3f} USD).",
        f"Guardrails: session duration {exp.duration_rel:+.1%} (one-sided upper bound {exp.duration_rel_hi:+.1%} "
        f"against a margin of +{exp.guardrail_margin:.0%}: {'holds' if exp.duration_ok else 'fails'}); revenue per "
        f"session {exp.revenue_rel:+.1%} (upper bound {exp.revenue_rel_hi:+.1%}: "
        f"{'no significant fall' if exp.revenue_ok else 'a significant fall'}).",
        f"**Decision: {exp.decision}.**",
    ] + ([aa_rate_line(rate, aa)] if rate is not None else [])


def method_line(exp) -> str:
    """How the conversion difference was analysed, and what treating sessions as independent would change."""
    if exp.method == "score" or not exp.diff_se_naive:
        return "Each user has one session here, so the CI and the p-value both come from the score method."
    return (
        f"Users have several sessions, so the CI and the p-value both come from the {exp.method}: the difference's "
        f"SE is {100 * exp.diff_se:.3f} pp against {100 * exp.diff_se_naive:.3f} pp if every session were "
        f"independent (×{exp.diff_se / exp.diff_se_naive:.2f}); the guardrails and secondary metrics use it too."
    )


def aa_rate_line(rate, aa=None) -> str:
    """The false-positive rate over many A/A replications, with its Wilson CI (and the naive test's rate)."""
    naive = (
        f"; treating sessions as independent would reject {rate.naive_rejections} of them"
        if rate.naive_rejections != rate.rejections
        else ""
    )
    pipeline = (
        f" (A second control arm run through the whole pipeline differs from this control by "
        f"{100 * aa.diff:+.3f} pp: a check of the pipeline, not of the rate.)"
        if aa is not None
        else ""
    )
    return (
        f"**False-positive rate:** {rate.rejections} of {rate.replications:,} simulated A/A replications "
        f"({rate.sessions_per_arm:,} sessions per arm, the simulator's purchase step, {rate.method}) reject at "
        f"α = {rate.alpha:g}: **{rate.rate:.1%}** (Wilson 95 % CI [{rate.lo:.1%}, {rate.hi:.1%}]){naive}.{pipeline}"
    )


def odds_test_words(feature: str, side: int, negligible_or: float) -> str:
    """The test behind a 03 recommendation, in words."""
    where = "above" if side > 0 else "outside"
    band = f"[×{1 / negligible_or:.2f}, ×{negligible_or:.2f}]"
    return f"03: {feature}'s odds ratio per SD {where} the no-effect band {band}"


def idle_test_words(negligible_pct: float) -> str:
    return f"04: spend change per SD of the longest idle gap below −{negligible_pct:g} % in each model shown"


def segment_test_words() -> str:
    return "06: conversion of the high third minus the low third differs from zero (user-level SE)"


def style_test_words(margin: float, metrics: int) -> str:
    counted = f"{metrics} metric{'s' if metrics != 1 else ''}"
    return f"05: every duration and volume SMD within ±{margin:g} ({counted}; TOST, the largest p)"


def segment_contrast_phrase(c: dict) -> str:
    """'+2.10 points [+1.80, +2.40], p < 0.001'."""
    return f"{100 * c['diff']:+.2f} points [{100 * c['lo']:+.2f}, {100 * c['hi']:+.2f}], {p_value(c['p'])}"


def holm_withdrawal(p: float, adjusted: float, tests: int, alpha: float) -> str:
    """Why a recommendation whose rule held is withdrawn after Holm's adjustment."""
    return (
        f"its test ({p_value(p)}) does not survive Holm's adjustment across the {tests} tests behind the "
        f"recommendations (adjusted {p_value(adjusted)}, not below α = {alpha:g})"
    )


def multiplicity_line(recs, alpha: float) -> str:
    """Which tests form the family, and how many survive Holm's adjustment."""
    tested = [r for r in recs if r.p_value is not None]
    survive = sum(r.p_holm < alpha for r in tested)
    family = "this one test" if len(tested) == 1 else f"these {len(tested)} tests"
    return (
        f"Each recommendation rests on one interval-based test (its primary outcome); its p-value is read from the "
        f"interval its rule uses. Holm's step-down adjustment runs across {family}, and "
        f"**{survive} of {len(tested)}** stay below α = {alpha:g}; only a supported recommendation whose test "
        "survives is counted as supported."
    )


def strategy_lines(result) -> list[str]:
    """06's findings: how many recommendations stand, and what the simulated experiment decided."""
    recs, exp = result.recommendations, result.experiment
    supported = [r.title for r in recs if r.status == SUPPORTED]
    withdrawn = [r.title for r in recs if r.status == "withdrawn"]
    lines = [
        f"- **{len(supported)} of {len(recs)} recommendations are supported** by this data, each by a test that "
        "survives Holm's adjustment across the recommendations' tests"
        + (f"; withdrawn: {', '.join(withdrawn)}." if withdrawn else ".")
    ]
    if exp:
        lines.append(
            f"- Simulated, the experiment gives: {exp.decision}; the measured lift's CI "
            f"{'covers' if exp.true_covered else 'misses'} the true lift."
        )
    return lines


def cap(text: str) -> str:
    """``text`` with its first letter in upper case."""
    return text[:1].upper() + text[1:]
