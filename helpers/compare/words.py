"""The comparison in words: values, intervals and differences as text, and a changed verdict explained.

Usage::

    from helpers.compare import words
    words.value("share", 0.0241)                      # '2.41 %'
    words.difference("share", row.diff)               # '+0.05 pp [-0.17, +0.27]'
    words.estimate_change(before, after)              # "03 time: odds ratio per SD rose from ..."

Direction words come from the numbers (rose or fell from the sign of the change; "larger than
chance" only when the 95 % CI of the change excludes no change).
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


def estimate_change(a, b) -> str:
    """One estimate in A and in B (``comparison.Estimate``), where its CI lies against its band, and the test."""
    kind = KIND[a.scale]
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
    if moved.value is not None:
        chance = "larger than chance" if moved.flagged else "within chance"
        text += f". B against A: {difference(kind, moved)}, p {p_value(moved.p, sentence=True)}, {chance}"
    if a.specification != b.specification:
        text += f" (models differ: {a.specification} in A, {b.specification} in B)"
    return text + "."
