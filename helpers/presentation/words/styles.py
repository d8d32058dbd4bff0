"""05's words: how purchase styles arise, and whether they browse alike.

Usage::

    from helpers.presentation.words import styles as words
    words.intro(result); words.closing(result)      # 05's opening and findings block
    words.classifier_line(result)
"""

from __future__ import annotations

import math

from helpers.analysis.purchase_styles import ALPHA, CLASSIFIER_TERMS, StylesResult, auc_bound
from helpers.presentation.words import common
from helpers.presentation.words.common import (  # noqa: F401  (re-exported: a page imports one module)
    badge_line,
    cap,
    ci,
    closing,
    clustering_line,
    intro,
    lines,
    p_value,
)

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
TERM_WORDS = {  # the classifier's terms (``Classifier.features``) in words
    "C(device)": "device",
    "C(traffic_source)": "traffic source",
    "C(start_weekday)": "weekday",
    "C(start_hour)": "hour",
    "first_delay": "delay to the first event",
}


def _names(columns: list[str]) -> str:
    words = [METRIC_WORDS.get(c, c) for c in columns]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def features_phrase(features: list[str]) -> str:
    """The classifier's terms in words: pre-checkout browsing, and the context controls when used."""
    controls = [TERM_WORDS.get(t, t) for t in features if t not in CLASSIFIER_TERMS]
    text = "browsing events, time and longest idle gap before checkout"
    return text + (f", with context controls ({', '.join(controls)})" if controls else "")


@common.answer.register
def styles_answer(result: StylesResult) -> str:
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


@common.evidence.register
def _(result: StylesResult) -> str:
    v, h = result.verdicts, result.headline
    tested = f", {p_value(v.behaviour_p)}" if v.behaviour_p is not None else ""
    return (
        f"SMD of the duration before checkout {h.estimate:+.2f} {ci(h.lo, h.hi, '+.2f')} ({headline_level()}); "
        f"browsing classifier AUC {v.behaviour_auc:.3f} {ci(v.behaviour_auc_lo, v.behaviour_auc_hi, '.3f')} (95 % CI)"
        f"{tested}"
    )


def headline_level(alpha: float = ALPHA) -> str:
    """The level of 05's headline CI: the 1 − 2α interval its equivalence test reads ('90 % CI, the TOST's'), never
    95 %."""
    return f"{1 - 2 * alpha:.0%} CI, the equivalence test's".replace("%", " %")


def smd_phrase(row) -> str:
    """One metric's SMD with the 90 % CI the equivalence test reads and its TOST p (``SmdRow.tost_p``)."""
    text = f"{METRIC_WORDS.get(row.column, row.metric)} {row.smd:+.2f} {ci(row.smd_lo90, row.smd_hi90, '+.2f')}"
    return text + (f" (TOST {p_value(row.tost_p)})" if getattr(row, "tost_p", None) is not None else "")


def time_ratio_phrase(result) -> str:
    """The styles' time before checkout as a multiple with its 90 % CI, the band that counts as alike and each style's
    median: 'expensive-few over cheap-many ×0.84 [0.70, 1.01] (90 % CI; alike within ×1.46 either way); medians
    68 s and 78 s'; '' when not recorded."""
    row = result.metric("pre_conversion_seconds")
    if row is None or row.ratio is None:
        return ""
    width = abs(row.ratio_hi90 - row.ratio_lo90)
    d = max(0, min(3, 1 - round(math.log10(width)))) if width > 0 else 2
    return (
        f"expensive-few over cheap-many ×{row.ratio:.{d}f} [{row.ratio_lo90:.{d}f}, {row.ratio_hi90:.{d}f}] (90 % CI; "
        f"alike within ×{row.ratio_band:.2f} either way); medians {row.median_b:,.0f} s and {row.median_a:,.0f} s"
    )


@common.lines.register
def styles_lines(result: StylesResult) -> list[str]:
    """05's findings as Markdown bullets."""
    v = result.verdicts
    out = [f"- **{styles_answer(result)}**"]
    diffs = ", ".join(smd_phrase(r) for r in result.comparison or [] if r.column in METRIC_WORDS)
    out.append(
        f"- Standardised differences, expensive-few minus cheap-many, with the {1 - 2 * ALPHA:.0%} CIs the "
        f"equivalence test at α = {ALPHA:g} reads: {diffs}."
    )
    if time_ratio_phrase(result):
        out.append(f"- In minutes: time before checkout, {time_ratio_phrase(result)}.")
    if v.tost_p is not None:
        below = "below" if v.tost_p < v.alpha else "not below"
        out.append(
            f"- The styles browse alike exactly when every one of these is equivalent: the largest TOST p, "
            f"{p_value(v.tost_p)}, is {below} α = {v.alpha:g} (intersection-union test)."
        )
    chance = "better than chance" if v.behaviour_above_chance else "no better than chance can be shown"
    c = result.classifier
    if c is not None and c.gain is not None:
        adds = "adds to" if v.behaviour_above_chance else "cannot be shown to add to"
        out.append(
            f"- Browsing ({features_phrase(CLASSIFIER_TERMS)}) {adds} what the context tells of the style: "
            f"out-of-fold AUC gain {c.gain:+.3f} {ci(c.gain_lo, c.gain_hi, '+.3f')} over the context alone "
            f"({c.auc_controls:.3f}), permutation {p_value(c.p)}."
        )
        chance = None
    if chance:
        out.append(
            f"- A classifier on {features_phrase(result.classifier.features)} tells the styles apart with out-of-fold "
            f"AUC {v.behaviour_auc:.3f} {ci(v.behaviour_auc_lo, v.behaviour_auc_hi, '.3f')}, permutation "
            f"{p_value(v.behaviour_p)}: {chance}."
        )
    if v.higher_margin_style:
        out.append(f"- {cap(v.higher_margin_style)} buyers earn more gross margin per buyer (95 % CIs do not overlap).")
    elif v.margin_known:
        out.append("- Gross margin per buyer does not differ clearly between the styles (95 % CIs overlap).")
    if result.truth:
        out.append(
            f"- Truth check: the simulator's answer is '{result.truth.expected_browsing}'; "
            f"this page found '{v.browsing}'."
        )
    return out


@common.intro.register
def styles_intro(result: StylesResult) -> str:
    """05's opening sentence: buyers, the median splits and how many fall in each style."""
    if not result.buyers:
        return "**No buyers with items.**" + common.intro_tail(result, pooled=False)
    text = (
        f"**{result.buyers:,} buyers.** Median average item price **${result.price_median:,.2f}**, median units "
        f"**{result.items_median:g}**. Cheap-many: price at or below the median and more units than the median "
        f"({result.n_cheap_many:,} buyers); expensive-few: price above the median and at most the median units "
        f"({result.n_expensive_few:,}); the rest are 'other' ({result.n_other:,})."
    )
    if result.sampled:
        text += f" Comparisons use a uniform random sample of {len(result.evidence.buyers):,} buyers."
    return text + common.intro_tail(result, pooled=False)


def mixture_line(mix) -> str:
    """Whether the buyers are two groups (the likelihood-ratio test of one group against two), and how far a
    two-component mixture agrees with the median-split rule (which decides nothing: it is fitted on the
    variables that define the styles)."""
    if mix.verdict in ("two_groups", "one_group_not_rejected"):
        test = (
            f"A likelihood-ratio test of one group against two on log price × log units (parametric bootstrap, "
            f"{mix.bootstraps} samples of one group) gives {p_value(mix.p)}: "
        )
        test += (
            "the buyers are two groups."
            if mix.verdict == "two_groups"
            else "two groups cannot be told from one, so the styles are a rule laid on one population."
        )
        return (
            f"{test} A two-component mixture agrees with the rule for {mix.agreement:.1%} of these buyers "
            f"(adjusted Rand index {mix.adjusted_rand:.2f}); agreement on the variables that define the styles "
            "would come from one population too."
        )
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
    if c.gain is not None:
        return (
            f"AUC **{c.auc:.3f}** (95 % CI {c.lo:.3f} to {c.hi:.3f}) from {features_phrase(c.features)}, against "
            f"{c.auc_controls:.3f} from the context alone: browsing adds **{c.gain:+.3f}** (95 % CI "
            f"{c.gain_lo:+.3f} to {c.gain_hi:+.3f}; permutation {p_value(c.p)}, one-sided)."
        )
    return (
        f"AUC **{c.auc:.3f}** (95 % CI {c.lo:.3f} to {c.hi:.3f}; permutation {p_value(c.p)}, one-sided), "
        f"from {features_phrase(c.features)}."
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
    c = result.classifier
    unit = "whole users among users with as many sessions" if c.grouped else "sessions"
    folds = "each user's sessions in one fold, " if c.grouped else ""
    if c.gain is not None:
        return (
            f"{c.folds} folds ({folds}stratified by style), the same for browsing + context and for the context "
            f"alone. The p-value of browsing's AUC gain is from {c.permutations} permutations of the style labels "
            f"({unit}) within strata of device and traffic source, both cross-validations refitted for each; the "
            f"95 % CIs are percentiles of {c.bootstraps} bootstrap resamples of "
            f"{'users' if c.grouped else 'sessions'}. 'Browsing adds to context' needs p ≤ {ALPHA:g} (one-sided); "
            f"'alike' needs the gain's upper bound at most {auc_bound(margin) - 0.5:.3f}, the AUC above 0.5 of a "
            f"{margin:g} SD difference."
        )
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
