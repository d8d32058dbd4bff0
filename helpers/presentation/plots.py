"""Figure style and the report's recurring charts: one place where figures are styled.

Usage::

    from helpers.presentation import plots
    plots.use_house_style()
    fig, ax = plots.funnel(funnel_table)

Style: a colour-blind-safe palette (seaborn ``colorblind``), titles that state the finding's
subject, labelled axes with units, and figures sized to fit an HTML page.
"""

from __future__ import annotations

import io
import struct
import textwrap
import zlib
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

PALETTE = sns.color_palette("colorblind")
WIDE = (9, 4)
SQUARE = (5.5, 4.5)
# The key figure for a phone: at 200 dpi it is 720 px wide, shown about 366 px wide on a 390 px screen, so
# text of 12 pt (33 px in the PNG) shows about 17 px high, above the page's 16 px body text.
PHONE = (3.6, 6.4)
PHONE_DPI = 200
PHONE_TEXT = 12
TEXT_PX_KEY = "Smallest text px"  # PNG text chunk written by save()


def use_house_style() -> None:
    """Apply the report's figure style (call once per notebook)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.figsize": WIDE,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.labelsize": 10,
            "figure.autolayout": True,
        }
    )
    pd.set_option("styler.format.escape", "html")  # labels from data cannot inject markup
    _describe_figures()
    pd.set_option("display.max_columns", 12)
    pd.set_option("display.width", 120)
    pd.set_option("display.float_format", lambda v: f"{v:,.4g}")


def plain_log_x(ax) -> None:
    """A log x axis labelled with plain numbers at its major ticks only (no overprinted minor labels)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(plt.matplotlib.ticker.NullFormatter())


def alt_text(fig) -> str:
    """A figure described in words for screen readers: its titles and axis labels."""
    parts = []
    if fig._suptitle is not None and fig._suptitle.get_text():
        parts.append(fig._suptitle.get_text())
    for ax in fig.axes:
        bits = [
            ax.get_title(),
            f"horizontal axis: {ax.get_xlabel()}" if ax.get_xlabel() else "",
            f"vertical axis: {ax.get_ylabel()}" if ax.get_ylabel() else "",
        ]
        text = "; ".join(b for b in bits if b)
        if text:
            parts.append(text)
    return "Figure: " + (". ".join(parts) if parts else "a chart")


def _describe_figures() -> None:
    """In a notebook, show each figure as PNG with its alt text in the output's metadata (the site template uses it)."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    plt.close(plt.figure())  # loads the inline backend now, so its own figure format does not replace ours later
    png = shell.display_formatter.formatters["image/png"]
    png.for_type(Figure, lambda fig: (print_figure(fig, "png", bbox_inches="tight"), {"alt": alt_text(fig)}))


def funnel(table: pd.DataFrame):
    """Horizontal bars of sessions reaching each funnel step, labelled with their share."""
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.barh(table["step"], table["sessions"], color=PALETTE[0])
    ax.invert_yaxis()
    for y, (n, share) in enumerate(zip(table["sessions"], table["share_of_sessions"])):
        ax.text(n, y, f"  {int(n):,} ({share:.1%})", va="center", fontsize=9)
    ax.set_xlabel("sessions reaching the step")
    ax.set_title("Funnel: sessions reaching each step")
    ax.set_xlim(0, table["sessions"].max() * 1.35)
    return fig, ax


def session_distributions(dist: pd.DataFrame):
    """Events per session (bars) and session length (log-scaled histogram)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=WIDE)
    counts = dist["events"].clip(upper=20).value_counts().sort_index()
    left.bar(counts.index, counts.values / counts.sum(), color=PALETTE[0])
    left.set_xlabel("events per session (20 = 20 or more)")
    left.set_ylabel("share of sessions")
    left.set_title("Events per session")
    minutes = dist.loc[dist["events"] >= 2, "minutes"]
    minutes = minutes[minutes > 0]
    if len(minutes):
        bins = np.logspace(np.log10(minutes.min()), np.log10(minutes.max()), 40)
        right.hist(minutes, bins=bins, color=PALETTE[1])
        plain_log_x(right)
        right.axvline(minutes.median(), color="black", ls="--", lw=1)
        right.text(minutes.median(), right.get_ylim()[1] * 0.9, f" median {minutes.median():.1f} min", fontsize=9)
    right.set_xlabel("session length, minutes (log scale; sessions with 2+ events)")
    right.set_ylabel("sessions")
    right.set_title("Session length")
    return fig, (left, right)


def heatmap(rate: pd.DataFrame, size: pd.DataFrame, title: str, xlabel: str, ylabel: str):
    """Conversion-rate heatmap with the rate and cell count written in each cell."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    annot = rate.map(lambda v: "" if pd.isna(v) else f"{v:.1%}") + size.map(
        lambda v: "" if pd.isna(v) else f"\n(n={int(v):,})"
    )
    sns.heatmap(
        rate,
        annot=annot,
        fmt="",
        cmap="viridis",
        ax=ax,
        cbar_kws={"label": "conversion rate"},
        annot_kws={"fontsize": 8},
    )
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


def binned_curves(curves: dict[str, pd.DataFrame], ylabel: str, title: str, log_x: bool = True):
    """One panel per feature: binned rate with its 95 % CI band."""
    fig, axes = plt.subplots(1, len(curves), figsize=WIDE, sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (label, g), color in zip(axes, curves.items(), PALETTE):
        ax.plot(g["x"], g["rate"], marker="o", color=color)
        ax.fill_between(g["x"], g["lo"], g["hi"], alpha=0.25, color=color)
        if log_x and (g["x"] > 0).all() and g["x"].max() / g["x"].min() > 20:
            plain_log_x(ax)
        ax.set_xlabel(label)
    axes[0].set_ylabel(ylabel)
    axes[0].yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    fig.suptitle(title, fontweight="bold")
    return fig, axes


def calibration(observed, predicted, title: str):
    """Calibration curve against the diagonal."""
    fig, ax = plt.subplots(figsize=SQUARE)
    top = max(np.max(observed), np.max(predicted)) * 1.05
    ax.plot([0, top], [0, top], ls="--", color="grey", label="perfect calibration")
    ax.plot(predicted, observed, marker="o", color=PALETTE[0], label="model (out-of-fold)")
    ax.set_xlabel("predicted purchase probability")
    ax.set_ylabel("observed purchase rate")
    ax.set_title(title)
    ax.legend()
    return fig, ax


def empty(title: str, sentence: str, size=(8, 1.6)):
    """A panel that says in words why there is nothing to draw."""
    fig, ax = plt.subplots(figsize=size)
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, sentence, ha="center", va="center", fontsize=10, wrap=True, transform=ax.transAxes)
    return fig, ax


def forest(
    table: pd.DataFrame,
    est: str,
    lo: str,
    hi: str,
    title: str,
    xlabel: str,
    ref: float = 1.0,
    log_x: bool = True,
    hue: str | None = None,
    edges: tuple[float, ...] = (),
):
    """Point estimates with 95 % CIs, one row per index entry, each labelled with its numbers; a line at ``ref``.

    Labels round to two decimals, or more where two would move a bound onto the other side of one
    of ``edges`` (an equivalence margin, say): a bound of -0.203 never reads as -0.20.

    Rows with an infinite or missing interval (a separated fit) are left out and counted in the
    title; every interval lies inside the axes; with nothing to draw, the panel says so.
    """
    values = table[[est, lo, hi]].astype(float)
    ok = np.isfinite(values).all(axis=1) & ((values > 0).all(axis=1) if log_x else True)
    dropped = int((~ok).sum())
    table, values = table[ok], values[ok]
    if dropped:
        title = f"{title} ({dropped} without a finite interval left out)"
    if table.empty:
        return empty(title, "No estimate with a finite confidence interval to show.")
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(table) + 1.6))
    y = np.arange(len(table))
    colors = (
        [PALETTE[0]] * len(table) if hue is None else [PALETTE[i % len(PALETTE)] for i in pd.factorize(table[hue])[0]]
    )
    for yi, (mid, low, high), color in zip(y, values.to_numpy(), colors):
        ax.errorbar([mid], [yi], xerr=[[mid - low], [high - mid]], fmt="o", color=color, capsize=3)
        d = label_decimals((low, high), (ref, *edges))
        ax.annotate(
            f"{mid:.{d}f} [{low:.{d}f}, {high:.{d}f}]",
            (high, yi),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color="#333333",
        )
    ax.axvline(ref, color="grey", ls="--", lw=1)
    ax.set_yticks(y, [str(i) for i in table.index])
    ax.set_ylim(len(table) - 0.5, -0.5)
    span_lo, span_hi = min(values[lo].min(), ref), max(values[hi].max(), ref)
    if log_x:
        ax.set_xscale("log")
        ax.set_xlim(span_lo / 1.08, span_hi * (span_hi / span_lo) ** 0.45 * 1.08)  # room for the labels
        low, high = ax.get_xlim()
        ticks = [t for t in (0.1, 0.25, 0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10, 20) if low <= t <= high]
        ax.xaxis.set_major_locator(plt.matplotlib.ticker.FixedLocator(ticks))
        ax.xaxis.set_major_formatter(plt.matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(plt.matplotlib.ticker.NullFormatter())
    else:
        width = span_hi - span_lo or 1.0
        ax.set_xlim(span_lo - 0.05 * width, span_hi + 0.55 * width)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return fig, ax


def label_decimals(values, edges, start: int = 2, most: int = 5) -> int:
    """The fewest decimals (from ``start``) at which no value rounds onto or across an edge it does not touch."""
    for d in range(start, most + 1):
        if all(v == e or np.sign(round(v, d) - e) == np.sign(v - e) for v in values for e in edges):
            return d
    return most


def partial_regression(binned: pd.DataFrame, title: str, xlabel: str, ylabel: str):
    """Binned partial-regression plot: residual outcome against residual feature, with 95 % CIs."""
    fig, ax = plt.subplots(figsize=SQUARE)
    ax.errorbar(
        binned["x"],
        binned["y"],
        yerr=[binned["y"] - binned["lo"], binned["hi"] - binned["y"]],
        fmt="o",
        color=PALETTE[0],
        capsize=2,
    )
    slope = np.polyfit(binned["x"], binned["y"], 1, w=np.sqrt(binned["n"]))
    xs = np.linspace(binned["x"].min(), binned["x"].max(), 2)
    ax.plot(xs, np.polyval(slope, xs), color=PALETTE[3], label=f"slope {slope[0]:+.3f}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return fig, ax


def grouped_lines(
    table: pd.DataFrame, x: str, y: str, lo: str, hi: str, group: str, title: str, xlabel: str, ylabel: str
):
    """One line with a CI band per group."""
    fig, ax = plt.subplots(figsize=WIDE)
    for (name, part), color in zip(table.groupby(group, observed=True), PALETTE):
        ax.plot(part[x], part[y], marker="o", color=color, label=str(name))
        ax.fill_between(part[x], part[lo], part[hi], color=color, alpha=0.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(title=group.replace("_", " "))
    return fig, ax


def style_scatter(buyers: pd.DataFrame, title: str):
    """Buyers by average item price and units bought, coloured by purchase style."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(buyers))
    for (style, part), color in zip(buyers.groupby("style"), PALETTE):
        ax.scatter(
            part["avg_item_price_usd"],
            part["n_items"] + jitter[buyers.index.get_indexer(part.index)],
            s=8,
            alpha=0.5,
            color=color,
            label=f"{style} ({len(part):,})",
        )
    plain_log_x(ax)
    ax.set_xlabel("average item price, USD (log scale)")
    ax.set_ylabel("units bought (jittered)")
    ax.set_title(title)
    ax.legend(markerscale=2)
    return fig, ax


def segments(seg: pd.DataFrame, words: str = "events before checkout", narrow: bool = False, revenue: bool = True):
    """Conversion and revenue per session (95 % CIs) by thirds of sessions on the driver (``words`` names it).

    ``narrow`` draws the panels one above the other in larger type, each bar labelled with its value: the
    front page's key figure on a phone, where the side-by-side figure shrinks to 40 % and its text to 6 px.
    Without prices (``revenue`` False) the revenue panel is a sentence, never bars of a placeholder 0.
    """
    if narrow:
        fig, (left, right) = plt.subplots(2, 1, figsize=PHONE)
    else:
        fig, (left, right) = plt.subplots(1, 2, figsize=WIDE)
    x = np.arange(len(seg))
    left.bar(
        x,
        seg["conversion"],
        color=PALETTE[0],
        yerr=np.clip([seg["conversion"] - seg["conv_lo"], seg["conv_hi"] - seg["conversion"]], 0, None),
        capsize=4,
    )
    left.set_xticks(x, seg.index)
    left.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    left.set_xlabel(f"third of sessions by {words}")
    left.set_ylabel("conversion rate (95 % CI)")
    left.set_title("Conversion rate (95 % CI)")
    if not revenue:  # no prices: revenue is not in these data
        right.axis("off")
        right.text(0.5, 0.5, "No prices in these data:\nrevenue per session is not known", ha="center", va="center")
        if narrow:
            _phone_type(fig, (left,), seg)
        return fig, (left, right)
    right.bar(x, seg["revenue_per_session"], color=PALETTE[2], yerr=_revenue_errors(seg), capsize=4)
    right.set_xticks(x, seg.index)
    right.set_xlabel(f"third of sessions by {words}")
    ci = " (95 % CI)" if _has_revenue_cis(seg) else ""
    right.set_ylabel(f"USD per session{ci}")
    right.set_title(f"Revenue per session{ci}")
    if narrow:
        _phone_type(fig, (left, right), seg)
    return fig, (left, right)


def _has_revenue_cis(seg: pd.DataFrame) -> bool:
    """Whether ``seg`` records a revenue-per-session CI (``revenue_per_session_lo``/``_hi``, numbers)."""
    columns = ["revenue_per_session_lo", "revenue_per_session_hi"]
    return set(columns) <= set(seg.columns) and bool(np.isfinite(seg[columns].to_numpy(float)).all())


def _revenue_errors(seg: pd.DataFrame):
    """Error-bar lengths below and above each segment's revenue per session, or None without its CI."""
    if not _has_revenue_cis(seg):
        return None
    mid = seg["revenue_per_session"]
    return np.clip([mid - seg["revenue_per_session_lo"], seg["revenue_per_session_hi"] - mid], 0, None)


def _phone_type(fig, axes, seg: pd.DataFrame) -> None:
    """Large type for a phone, wrapped labels, and each bar's value written above it inside the axes."""
    panels = [(axes[0], seg["conv_hi"], [f"{v:.2%}" for v in seg["conversion"]])]
    if len(axes) > 1:
        top = seg["revenue_per_session_hi"] if _has_revenue_cis(seg) else seg["revenue_per_session"]
        panels.append((axes[1], top, [f"{v:,.2f}" for v in seg["revenue_per_session"]]))
    for ax, top, labels in panels:
        for xi, (y, label) in enumerate(zip(top.astype(float), labels)):
            ax.annotate(label, (xi, y), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom")
        ax.set_ylim(0, float(np.nanmax(top)) * 1.25 or 1)
        ax.set_title(ax.get_title(), fontsize=PHONE_TEXT + 1, fontweight="bold")
        ax.set_xlabel(textwrap.fill(ax.get_xlabel(), 26), fontsize=PHONE_TEXT)
        ax.set_ylabel(ax.get_ylabel(), fontsize=PHONE_TEXT)
        ax.tick_params(labelsize=PHONE_TEXT)
        ax.yaxis.set_major_locator(plt.matplotlib.ticker.MaxNLocator(4))
        for text in ax.texts:
            text.set_fontsize(PHONE_TEXT)
    fig.tight_layout(h_pad=1.5)


def smallest_text_px(fig, dpi: float) -> float:
    """The height in pixels of the smallest text in ``fig`` when saved at ``dpi`` (1 pt = 1/72 inch).

    Measure a figure that has been drawn (saved): tick labels get their text only when it is drawn.
    """
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return round(min(sizes) * dpi / 72, 1) if sizes else 0.0


def key_figure(seg: pd.DataFrame, words: str, path: Path, narrow_path: Path, revenue: bool = True):
    """The front page's key figure, drawn twice: side by side (shown here, and on wide screens) and one panel
    above the other in large type (``narrow_path``, for screens up to 600 px wide); ``revenue`` False: no prices."""
    phone, _ = segments(seg, words, narrow=True, revenue=revenue)
    save(phone, narrow_path, show=False, dpi=PHONE_DPI)
    plt.close(phone)
    fig, axes = segments(seg, words, revenue=revenue)
    save(fig, path)
    return fig, axes


def save(fig, path: Path, show: bool = True, dpi: float | None = None) -> None:
    """Write ``fig`` as a PNG (for the front page's key figure), creating its folder. In a notebook the same
    image is shown (unless ``show`` is false) and the figure closed: drawn once, not once for the file and again
    for the page (0.7 s). The PNG records its smallest text's height in pixels (``TEXT_PX_KEY``), so the site's
    browser test can tell how large that text shows on a page."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dpi = dpi or plt.rcParams["savefig.dpi"]
    if dpi == "figure":
        dpi = fig.dpi
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=dpi)  # the page's figures' resolution unless told
    png = _png_text(buffer.getvalue(), TEXT_PX_KEY, str(smallest_text_px(fig, dpi)))  # tick labels exist once drawn
    path.write_bytes(png)
    if not show:
        return
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return
    if get_ipython() is not None:
        display(Image(png), metadata={"image/png": {"alt": alt_text(fig)}})
        plt.close(fig)


def _png_text(png: bytes, key: str, value: str) -> bytes:
    """``png`` with a text chunk ``key``: ``value`` added before its end (PNG specification, section 11.3.4.3)."""
    data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    end = png.rindex(b"IEND") - 4  # the IEND chunk starts with its length
    return png[:end] + chunk + png[end:]


def lift_over_time(periods: pd.DataFrame, title: str, xlabel: str, ylabel: str):
    """A relative lift per period (columns ``period``, ``rel``, ``rel_lo``, ``rel_hi`` as fractions) with 95 % CIs.

    The whole test's lift is drawn as a dashed line when ``periods.attrs['overall']`` holds it; zero as a grey line.
    """
    fig, ax = plt.subplots(figsize=WIDE)
    x = np.arange(len(periods))
    est = 100 * periods["rel"].to_numpy(float)
    lo, hi = (100 * periods[c].to_numpy(float) for c in ("rel_lo", "rel_hi"))
    bounded = np.isfinite(lo) & np.isfinite(hi)  # Fieller's CI is unbounded where the control is not clear of zero
    err = [est[bounded] - lo[bounded], hi[bounded] - est[bounded]]
    ax.errorbar(
        x[bounded], est[bounded], yerr=err, fmt="o", color=PALETTE[0], capsize=3, label="lift in the period (95 % CI)"
    )
    if not bounded.all():
        ax.plot(x[~bounded], est[~bounded], "x", color=PALETTE[0], ms=8, label="lift in the period (CI unbounded)")
    ax.axhline(0, color="grey", lw=1)
    overall = periods.attrs.get("overall")
    if overall is not None:
        ax.axhline(
            100 * overall, color=PALETTE[1], ls="--", lw=1.5, label=f"whole test, unadjusted {100 * overall:+.1f} %"
        )
    ax.set_xticks(
        x, periods["period"], rotation=45 if len(periods) > 7 else 0, ha="right" if len(periods) > 7 else "center"
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best")
    return fig, ax
