"""The comparison in words: values, intervals and differences as text, and a changed verdict explained.

Usage::

    from helpers.compare import words
    words.value("share", 0.0241)                      # '2.41 %'
    words.difference("share", row.diff)               # '+0.05 pp [-0.17, +0.27]'
    words.estimate_change(before, after)              # "03 time: odds ratio per SD rose from ..."

Direction words come from the numbers (rose or fell from the sign of the change; "larger than
chance" only when the change is flagged, Holm over its family). A change that is not flagged is
"not distinguishable from chance", never "no change"; runs that share their data or seed get no
test, and their words say the test does not apply.
"""

from __future__ import annotations

from helpers.compare import stats


def value(kind: str, v: float | None) -> str:
    """One value for its kind: int, share (0-1 as %), usd, ratio, pct (already %), smd."""
    if v is None:
        return "n/a"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "share":
        return f"{100 * v:.2f} %"
    if kind == "usd":
        return f"{v:,.0f} USD" if abs(v) >= 10_000 else f"{v:,.2f} USD"
    if kind == "ratio":
        return f"{v:.2f}"
    if kind == "pct":
        return f"{v:+.1f} %"
    return f"{v:+.2f}"


def interval(kind: str, ci: tuple[float, float] | None) -> str:
    """A 95 % CI as '[a, b]' in the value's own format."""
    if ci is None or ci[0] is None:
        return ""
    return f"[{value(kind, ci[0])}, {value(kind, ci[1])}]"


def with_ci(kind: str, v: float | None, ci: tuple[float, float] | None) -> str:
    """A value followed by its CI."""
    return f"{value(kind, v)} {interval(kind, ci)}".strip()


def difference(kind: str, d: stats.Difference) -> str:
    """B against A: a difference in the value's unit (points for shares), or a ratio ×r for odds ratios and spend."""
    if d.value is None:
        return "n/a"
    if d.scale == "log":
        text = f"×{d.value:.2f}"
        return text + (f" [{d.lo:.2f}, {d.hi:.2f}]" if d.lo is not None else "")
    if kind == "share":
        fmt = lambda x: f"{100 * x:+.2f}"  # noqa: E731
        unit = " pp"
    elif kind == "usd":
        fmt = lambda x: f"{x:+,.0f}" if abs(d.value) >= 10_000 else f"{x:+,.2f}"  # noqa: E731
        unit = " USD"
    elif kind == "int":
        fmt, unit = (lambda x: f"{x:+,.0f}"), ""
    else:
        fmt, unit = (lambda x: f"{x:+.2f}"), ""
    text = fmt(d.value) + unit
    return text + (f" [{fmt(d.lo)}, {fmt(d.hi)}]" if d.lo is not None else "")


def p_value(p: float | None, sentence: bool = False) -> str:
    """A p-value as '< 0.001' or '0.123' ('= 0.123' inside a sentence)."""
    if p is None:
        return ""
    if p < 0.001:
        return "< 0.001"
    return f"= {p:.3f}" if sentence else f"{p:.3f}"


def band_text(est) -> str:
    """The no-effect band an estimate's verdict is read against, in its unit."""
    lo, hi = est.band
    if est.scale == "log":
        return f"the negligible band [{lo:.2f}, {hi:.2f}]"
    if est.scale == "log1p_pct":
        return f"the ±{hi:g} % negligible band"
    return f"the ±{hi:g} SD equivalence margin"


def position(lo: float | None, hi: float | None, band: tuple[float, float] | None) -> str | None:
    """Where a CI lies against a band: 'above', 'below', 'inside' or 'across' (it crosses an edge)."""
    if band is None or lo is None or hi is None:
        return None
    if lo > band[1]:
        return "above"
    if hi < band[0]:
        return "below"
    if band[0] <= lo and hi <= band[1]:
        return "inside"
    return "across"


PLACE = {"above": "lies above", "below": "lies below", "inside": "lies inside", "across": "crosses an edge of"}
PLACED = {"above": "lay above", "below": "lay below", "inside": "lay inside", "across": "crossed an edge of"}
KIND = {"log": "ratio", "log1p_pct": "pct", "linear": "smd"}


def chance(d: stats.Difference) -> str:
    """Whether a change is beyond chance, in words, with the test that decided it."""
    if not d.tested:
        return "the test does not apply (the runs share their data or seed)"
    if d.flagged:
        return "larger than chance"
    return "not distinguishable from chance"


def estimate_change(a, b, moved: stats.Difference | None = None) -> str:
    """One estimate in A and in B (``comparison.Estimate``), where its CI lies against its band, and the test.

    ``moved`` is the test of the change (``comparison.estimate_test``); without one the two runs are
    taken as independent samples.
    """
    kind = KIND[a.scale]
    if moved is None:
        moved = stats.difference_of_estimates(a.value, a.lo, a.hi, b.value, b.lo, b.hi, a.scale)
    verb = "rose" if b.value > a.value else ("fell" if b.value < a.value else "stayed")
    text = (
        f"{b.label} ({b.unit}) {verb} from {with_ci(kind, a.value, (a.lo, a.hi))} to "
        f"{with_ci(kind, b.value, (b.lo, b.hi))}; verdict {a.verdict} in A, {b.verdict} in B"
    )
    before, after = position(a.band_lo, a.band_hi, a.band), position(b.band_lo, b.band_hi, b.band)
    if after is not None:
        ci = f"its {b.band_level} CI"
        if before == after:
            text += f"; {ci} {PLACE[after]} {band_text(b)} in both"
        else:
            text += f"; {ci} now {PLACE[after]} {band_text(b)}" + (f" (it {PLACED[before]} it in A)" if before else "")
    if moved.value is not None and moved.tested:
        p = f"p {p_value(moved.p, sentence=True)}"
        if moved.p_adjusted is not None:
            p += f", Holm-adjusted {p_value(moved.p_adjusted, sentence=True)}"
        text += f". B against A: {difference(kind, moved)}, {p}, {chance(moved)}"
    elif moved.value is not None:
        text += f". B against A: {difference(kind, moved)}; {chance(moved)}"
    if a.specification != b.specification:
        text += f" (models differ: {a.specification} in A, {b.specification} in B)"
    return text + "."


def note(row) -> str:
    """A metric row's note (``MetricRow.note``, a code) in words."""
    if row.note == "count":
        return "a count of the whole data: no interval"
    if row.note == "too_few":
        return "too few sessions or buyers for an interval"
    if row.note == "models_differ" and row.note_detail:
        return f"different models: {row.note_detail[0]} in A, {row.note_detail[1]} in B"
    if row.note in ("only_in_a", "only_in_b"):
        return f"not estimated in {'B' if row.note == 'only_in_a' else 'A'}"
    return row.note


METHOD = {
    "independent": "independent samples",
    "paired_users": "paired over shared users",
    "not_applicable": "does not apply: shared data or seed",
    "count": "",
}

DESIGN = {
    "independent": (
        "A and B are independent samples (different data, no shared seed): each difference is tested with "
        "√(SE_A² + SE_B²)."
    ),
    "same_seed": (
        "A and B were simulated from one seed and share {users:,} users: they are not independent samples, so "
        "the independent-samples test does not apply. Conversion, revenue per session and order value are "
        "compared paired over the users (each user's contribution to B minus its contribution to A); the "
        "answers' estimates are shown without a test, and a verdict that changed is listed, not counted."
    ),
    "same_data": (
        "A and B read the same data (one data fingerprint): nothing differs by sampling, so the "
        "independent-samples test does not apply. The means are compared paired over the users (their "
        "difference is zero); the answers' estimates differ only through the settings and are shown without "
        "a test, and a verdict that changed is counted as a change the settings made."
    ),
    "same_run": "A and B are one run: every difference is zero by construction, and no test applies.",
}


def design(code: str, users: int = 0) -> str:
    """The design of the comparison in words: which test applies and why."""
    return DESIGN[code].format(users=users)


STATUS = {
    "unchanged": "Verdict unchanged",
    "changed": "Verdict changed beyond chance",
    "settings": "Verdict changed with the settings (same data)",
    "estimability": "Verdict changed: estimated in one run only",
    "within_chance": "Verdict differs, but not distinguishable from chance (not counted as a change)",
    "untested": "Verdict differs; the runs share their seed, so no test applies (not counted as a change)",
}
