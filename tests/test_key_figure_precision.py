"""Issue 33, readable precision: CIs on the key figure's revenue bars, no empty rows on the experiment card,
odds ratios on the front page at the precision their CI supports. In-process, on hand-built input."""

from __future__ import annotations

import dataclasses
import math
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer
from scipy import stats as sps

from helpers.analysis import strategy
from helpers.presentation import frontpage, plots
from helpers.presentation.words import fitness as fitness_words

matplotlib.use("Agg")

# Twelve sessions, one event more each: the thirds by events are sessions 1-4, 5-8 and 9-12
SESSIONS = pd.DataFrame(
    {
        "session_id": [f"s{i}" for i in range(1, 13)],
        "user_id": ["a", "a", "b", "c", "d", "e", "f", "g", "h", "h", "h", "i"],
        "pre_conversion_event_count": range(1, 13),
        "pre_conversion_seconds": [10.0 * i for i in range(1, 13)],
        "amount_usd": [10.0, 0.0, 20.0, 0.0, 0.0, 30.0, 0.0, 0.0, 5.0, 5.0, 0.0, np.nan],
    }
).assign(did_purchase=lambda s: s["amount_usd"].fillna(0).gt(0).astype(int))


def test_revenue_per_session_ci_clustered_by_user_where_users_repeat():
    seg, _ = strategy.segments(SESSIONS, "engagement")
    low, middle = seg.loc["low"], seg.loc["middle"]
    # low third: user a has two sessions (10, 0), b one (20), c one (0); mean 7.5 USD per session
    residual_by_user = np.array([(10 - 7.5) + (0 - 7.5), 20 - 7.5, 0 - 7.5])  # -5, 12.5, -7.5
    se = math.sqrt(3 / 2 * (residual_by_user**2).sum()) / 4  # CR1 with G = 3 users, n = 4 sessions
    half = sps.t.ppf(0.975, 3 - 1) * se  # t on G - 1 df below 50 users
    assert low["revenue_per_session"] == pytest.approx(7.5)
    assert low["revenue_per_session_lo"] == pytest.approx(7.5 - half)
    assert low["revenue_per_session_hi"] == pytest.approx(7.5 + half)
    # middle third: four users, one session each: Student's t on n - 1 df with the sample SD (15)
    half = sps.t.ppf(0.975, 3) * 15 / 2
    assert middle["revenue_per_session_lo"] == pytest.approx(7.5 - half)
    assert middle["revenue_per_session_hi"] == pytest.approx(7.5 + half)
    # a session without an amount brings 0 USD (session 12), as in the bar itself
    high = seg.loc["high"]
    assert high["revenue_per_session_lo"] < high["revenue_per_session"] == pytest.approx(2.5)
    row = seg.reset_index().to_dict(orient="records")[0]  # what the strategy result records: numbers
    assert isinstance(row["revenue_per_session_lo"], float) and isinstance(row["revenue_per_session_hi"], float)


@pytest.mark.parametrize("narrow", [False, True])
def test_the_key_figure_draws_the_revenue_ci_as_error_bars(narrow):
    seg, _ = strategy.segments(SESSIONS, "engagement")
    fig, (left, right) = plots.segments(seg, narrow=narrow)
    bars = next(c for c in right.containers if isinstance(c, BarContainer))
    assert bars.errorbar is not None, "revenue bars without their CI"
    segments = bars.errorbar.lines[2][0].get_segments()  # one vertical line per bar, from lo to hi
    ends = [(float(s[0][1]), float(s[1][1])) for s in segments]
    for (lo, hi), (_, row) in zip(ends, seg.iterrows()):
        assert lo == pytest.approx(row["revenue_per_session_lo"])
        assert hi == pytest.approx(row["revenue_per_session_hi"])
    assert "95 % CI" in right.get_title()
    if narrow:  # each bar's value sits above its whisker, inside the axes
        assert right.get_ylim()[1] > float(seg["revenue_per_session_hi"].max())
    matplotlib.pyplot.close(fig)


def test_segments_without_a_revenue_ci_still_draw_their_bars():
    seg = pd.DataFrame(
        {
            "conversion": [0.01, 0.02],
            "conv_lo": [0.0, 0.01],
            "conv_hi": [0.02, 0.03],
            "revenue_per_session": [1.0, 2.0],
        },
        index=["low", "high"],
    )
    fig, (_, right) = plots.segments(seg)
    bars = next(c for c in right.containers if isinstance(c, BarContainer))
    assert len(right.patches) == 2 and bars.errorbar is None and "CI" not in right.get_title()
    matplotlib.pyplot.close(fig)


def _card(plan) -> str:
    result = strategy.StrategyResult(plan=plan, not_simulated="no_simulator_lever")
    return frontpage.experiment_card_html(result)


def test_the_collect_more_data_card_has_no_empty_row():
    plan = strategy.ExperimentPlan(
        lever="interaction_density", simulate=True, basis="engagement_positive", guardrails=[], guardrail_margin=0.05
    )
    plan = strategy.fit_plan(plan, [], None, None)  # nothing supported, no lean: collect more data
    assert plan.lever == strategy.COLLECT_MORE_DATA and plan.guardrails == []
    html = _card(plan)
    rows = re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", html)
    assert rows and all(value.strip() for _, value in rows), rows
    assert "Guardrails" not in dict(rows) and "Hypothesis" in dict(rows)
    with_guardrails = dataclasses.replace(plan, guardrails=["session_duration"], margins={"session_duration": 0.05})
    assert "<dt>Guardrails</dt>" in _card(with_guardrails)


@pytest.mark.parametrize(
    ("value", "lo", "hi", "shown"),
    [
        (1.5234, 1.4012, 1.6521, "×1.52 [1.40, 1.65]"),  # width 0.25: two decimals
        (2.1349, 0.6123, 7.4391, "×2.1 [0.6, 7.4]"),  # width 6.8: one decimal
        (3.0412, 0.4123, 26.281, "×3 [0.4, 26]"),  # width 26: none; a bound above 0 never shows as 0
        (0.5, math.nan, math.nan, "cannot be sized with these data"),
    ],
)
def test_odds_ratios_are_rounded_to_what_their_ci_supports(value, lo, hi, shown):
    assert fitness_words.readable_times(value, lo, hi) == shown


def test_the_front_page_odds_ratios_carry_no_more_digits_than_their_ci_warrants():
    from helpers.analysis.conversion import ConversionResult, OddsEffect
    from helpers.presentation.words import answers

    def effect(feature, value, lo, hi):
        return OddsEffect(feature, "log1p", 0.0, 0.0, 0.0, None, value, lo, hi, None)

    wide, narrow = effect("engagement", 2.1349, 0.6123, 7.4391), effect("time", 1.5234, 1.4012, 1.6521)
    result = ConversionResult(effects=[wide, narrow])
    text = answers.conversion_evidence(result)
    assert "engagement ×2.1 [0.6, 7.4]" in text and "time ×1.52 [1.40, 1.65]" in text, text
