"""Figure style and the report's recurring charts: one place where figures are styled.

Usage::

    from helpers import plots
    plots.use_house_style()
    fig, ax = plots.funnel(funnel_table)

Style: a colour-blind-safe palette (seaborn ``colorblind``), titles that state the finding's
subject, labelled axes with units, and figures sized to fit an HTML page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

PALETTE = sns.color_palette("colorblind")
WIDE = (9, 4)
SQUARE = (5.5, 4.5)


def use_house_style() -> None:
    """Apply the report's figure style (call once per notebook)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    plt.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": WIDE,
        "axes.titlesize": 12, "axes.titleweight": "bold", "axes.labelsize": 10,
        "figure.autolayout": True,
    })
    pd.set_option("display.max_columns", 12)
    pd.set_option("display.width", 120)
    pd.set_option("display.float_format", lambda v: f"{v:,.4g}")


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
    left.set_title("Most sessions have few events")
    minutes = dist.loc[dist["events"] >= 2, "minutes"]
    minutes = minutes[minutes > 0]
    if len(minutes):
        bins = np.logspace(np.log10(minutes.min()), np.log10(minutes.max()), 40)
        right.hist(minutes, bins=bins, color=PALETTE[1])
        right.set_xscale("log")
        right.axvline(minutes.median(), color="black", ls="--", lw=1)
        right.text(minutes.median(), right.get_ylim()[1] * 0.9, f" median {minutes.median():.1f} min", fontsize=9)
    right.set_xlabel("session length, minutes (log scale; sessions with 2+ events)")
    right.set_ylabel("sessions")
    right.set_title("Session length has a heavy right tail")
    return fig, (left, right)
