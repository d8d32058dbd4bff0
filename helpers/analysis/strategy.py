"""What product strategy follows? Segments, recommendations, the experiment: policy from the recorded answers.

Usage::

    from helpers.analysis import strategy
    result = strategy.analyse(gold_dir, results.load_all(run), settings, truth, folder)
    result.recommendations[0].status                  # 'supported', 'withdrawn' or 'not estimated'

The rules that turn answers into advice live here (which recommendation stands, which lever the
experiment tests); the sentences that word them come from ``helpers.findings``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from helpers.analysis import experiment, results, stats
from helpers.analysis.conversion import ConversionResult
from helpers.analysis.purchase_styles import StylesResult
from helpers.analysis.spend import SpendResult
from helpers.data import gold
from helpers.data.simulate import SimConfig
from helpers.presentation import findings

SUPPORTED, WITHDRAWN, NOT_ESTIMATED = "supported", "withdrawn", "not estimated"
GOLD_COLUMNS_READ = [
    "session_id",
    "started_at",
    "did_purchase",
    "amount_usd",
    "pre_conversion_event_count",
    "pre_conversion_seconds",
]
KEY_FIGURE_CAPTION = "Conversion (95 % CI) and revenue per session by engagement segment (events before checkout)"


@dataclass
class Settings(results.Settings):
    """06's settings: the parameters its notebook declares (defaults live in the notebook only)."""

    seed: int
    alpha: float
    power: float
    relative_mde: float
    guardrail_margin: float
    experiment_density_lift: float
    experiment_sessions_per_arm: int


@dataclass
class Recommendation(results.Record):
    title: str
    status: str
    text: str
    evidence: str


@dataclass
class ExperimentPlan(results.Record):
    """The experiment the evidence points to."""

    primary: str
    unit: str
    guardrail: str
    lever: str
    simulate: bool
    hypothesis: str
    intervention: str
    basis: str


@dataclass
class Evidence:
    """What 06's page shows beyond the record (kept in memory only)."""

    segments: pd.DataFrame
    mde_table: pd.DataFrame | None = None


@dataclass
class StrategyResult(results.Record):
    """06's result: the summary, the recommendations, the experiment's plan, size and simulated outcome."""

    NOTEBOOK: ClassVar[str] = "06_strategy"
    summary: list[results.Answer] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)
    segment_cuts: dict[str, float] = field(default_factory=dict)
    baseline: float | None = None
    sessions_per_day: float | None = None
    span_hours: float | None = None
    sample_size_per_arm: int | None = None
    days_needed: float | None = None
    experiment: experiment.Outcome | None = None
    aa: experiment.Outcome | None = None
    not_simulated_because: str | None = None
    plan: ExperimentPlan | None = None
    experiment_lines: list[str] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)
    alpha: float | None = None
    power: float | None = None
    relative_mde: float | None = None
    key_figure_caption: str = KEY_FIGURE_CAPTION
    evidence: Evidence | None = results.memory()

    @property
    def supported(self) -> list[Recommendation]:
        return [r for r in self.recommendations if r.status == SUPPORTED]


def analyse(
    gold_dir: Path, upstream: dict, settings: Settings, truth: dict | None = None, folder: Path | None = None
) -> StrategyResult:
    """06's whole analysis: summary, segments, recommendations, plan, power and (simulated) experiment.

    ``upstream`` holds the typed results of 01-05 by notebook name; ``folder`` receives the
    simulated arms.
    """
    s = settings
    sessions = gold.read_gold(gold_dir, columns=GOLD_COLUMNS_READ)
    seg, cuts = segments(sessions)
    flow = traffic(sessions)
    baseline, per_day = flow["baseline"], flow["sessions_per_day"]
    n_needed = experiment.sample_size(baseline, s.relative_mde, s.alpha, s.power) if 0 < baseline < 1 else None
    days = 2 * n_needed / per_day if n_needed and per_day else None
    plan = experiment_plan(upstream)
    result = StrategyResult(
        summary=findings.summary(upstream),
        recommendations=recommendations(upstream, seg.reset_index().to_dict(orient="records"), cuts),
        segments=seg.reset_index().to_dict(orient="records"),
        segment_cuts=cuts,
        baseline=baseline,
        sessions_per_day=per_day,
        span_hours=flow["span_hours"],
        sample_size_per_arm=n_needed,
        days_needed=days,
        plan=plan,
        experiment_lines=findings.experiment_lines(plan, n_needed, days, s.relative_mde, flow["span_hours"]),
        limitations=findings.limitations(upstream),
        alpha=s.alpha,
        power=s.power,
        relative_mde=s.relative_mde,
        evidence=Evidence(segments=seg),
    )
    if n_needed and per_day:
        result.evidence.mde_table = experiment.mde_table(baseline, s.alpha, s.power, per_day)
    result.not_simulated_because = why_not_simulated(truth, plan, n_needed)
    if result.not_simulated_because is None:
        result.experiment, result.aa = experiment.run_simulated(
            SimConfig.from_dict(truth["config"]),
            s.experiment_sessions_per_arm or n_needed,
            s.seed,
            s.experiment_density_lift,
            s.alpha,
            s.guardrail_margin,
            folder,
        )
    return result


def why_not_simulated(truth: dict | None, plan: ExperimentPlan, n_needed: int | None) -> str | None:
    """Why the experiment cannot be run on the simulator here, or None when it can."""
    if truth is None:
        return "these are not simulated data"
    if not plan.simulate:
        return f"the simulator has no lever for {plan.lever}"
    if not n_needed:
        return "the baseline conversion is 0 or 1"
    return None


def segments(sessions: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Low / middle / high engagement sessions by tertiles of pre-conversion events."""
    x = sessions["pre_conversion_event_count"]
    lo_cut, hi_cut = float(x.quantile(1 / 3)), float(x.quantile(2 / 3))
    if hi_cut <= lo_cut:
        hi_cut = lo_cut + 1
    seg = np.where(x <= lo_cut, "low", np.where(x >= hi_cut, "high", "middle"))
    g = (
        sessions.assign(segment=seg)
        .groupby("segment")
        .agg(
            sessions=("session_id", "size"),
            buyers=("did_purchase", "sum"),
            revenue=("amount_usd", "sum"),
            median_events=("pre_conversion_event_count", "median"),
            median_seconds=("pre_conversion_seconds", "median"),
        )
    )
    g = g.reindex(["low", "middle", "high"]).dropna(how="all")
    g["conversion"] = g["buyers"] / g["sessions"]
    g["conv_lo"], g["conv_hi"] = stats.wilson(g["buyers"], g["sessions"])
    g["revenue_per_session"] = g["revenue"] / g["sessions"]
    g["spend_per_buyer"] = g["revenue"] / g["buyers"].replace(0, np.nan)
    return g, {"low_max_events": lo_cut, "high_min_events": hi_cut}


def traffic(sessions: pd.DataFrame) -> dict:
    """Baseline conversion and sessions per day over the data's true span (in hours, never floored)."""
    started = sessions["started_at"]
    span_hours = (started.max() - started.min()).total_seconds() / 3600 if len(sessions) else 0.0
    per_day = len(sessions) / (span_hours / 24) if span_hours > 0 else None
    return {
        "baseline": float(sessions["did_purchase"].mean()) if len(sessions) else float("nan"),
        "span_hours": span_hours,
        "sessions_per_day": per_day,
    }


# --------------------------------------------------------------------------------------------
# Recommendations: which stand on the recorded answers
# --------------------------------------------------------------------------------------------


def recommendations(upstream: dict, seg: list[dict] | None = None, cuts: dict | None = None) -> list[Recommendation]:
    """Each recommendation, its status (supported, withdrawn with the reason, not estimated) and its evidence."""
    conv = upstream.get("03_conversion") or ConversionResult(status="missing")
    sp = upstream.get("04_spend") or SpendResult(status="missing")
    st = upstream.get("05_purchase_style") or StylesResult(status="missing")
    recs = [_engagement_rec(conv), _idle_rec(sp)]
    if seg and len(seg) >= 2:
        recs.append(_segment_rec(seg[0], seg[-1], cuts or {}))
    recs += _style_recs(st)
    return recs


def _engagement_rec(conv: ConversionResult) -> Recommendation:
    title = "Optimise for engagement, not time on site"
    if not conv.ok:
        return Recommendation(title, NOT_ESTIMATED, "", "03 could not fit its models")
    v = conv.verdicts
    evidence = f"03: engagement {v.engagement}, time {v.time}, time adds: {v.time_adds}"
    time_helps = v.time_adds == "yes" and v.time_sign == "positive"
    if v.answer == "engagement" and v.engagement == "positive" and not time_helps:
        return Recommendation(
            title,
            SUPPORTED,
            "Build features that invite meaningful actions (compare, save, add to cart) rather "
            "than ones that only keep visitors longer.",
            evidence,
        )
    if not v.healthy:
        why = "the conversion models are in poor health"
    elif time_helps:
        why = "longer time before checkout is associated with higher purchase odds by itself"
    elif v.engagement != "positive":
        why = findings.effect_phrase("engagement", v.engagement)
    else:
        why = "engagement is not clearly the stronger of the two"
    return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence)


def _idle_rec(sp: SpendResult) -> Recommendation:
    title = "Turn idle time into interaction"
    if not sp.ok:
        return Recommendation(title, NOT_ESTIMATED, "", "04 could not fit its models")
    v = sp.verdicts
    call = v.idle_given_engagement_time
    if call == "not available":
        return Recommendation(title, NOT_ESTIMATED, "", "04: idle gaps are not available for session-level input")
    evidence = f"04: idle gaps and spend {findings.pct(v.idle_pct, v.idle_lo, v.idle_hi)} per SD"
    if call == "negative":
        return Recommendation(
            title,
            SUPPORTED,
            "After a long pause, offer a low-effort next step (compare, see details, save "
            "for later); longer idle gaps are associated with smaller baskets.",
            evidence,
        )
    why = (
        "; ".join(v.reasons)
        if call == "unclear"
        else findings.spend_phrase("idle", call, v.idle_pct, v.idle_lo, v.idle_hi, v.idle_detectable)
    )
    return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence)


def _segment_rec(low: dict, high: dict, cuts: dict) -> Recommendation:
    title = "Segment the experience by engagement level"
    lo_txt = f"{low['conversion']:.2%} [{low['conv_lo']:.2%}, {low['conv_hi']:.2%}]"
    hi_txt = f"{high['conversion']:.2%} [{high['conv_lo']:.2%}, {high['conv_hi']:.2%}]"
    evidence = f"conversion: low engagement {lo_txt}, high engagement {hi_txt}"
    few, many = _events(cuts.get("low_max_events", math.nan)), _events(cuts.get("high_min_events", math.nan))
    if high["conv_lo"] > low["conv_hi"]:
        return Recommendation(
            title,
            SUPPORTED,
            f"Sessions with at least {many} before checkout convert more: keep their path to "
            f"checkout short. Sessions with at most {few} convert less: guide them with fewer, clearer choices.",
            evidence,
        )
    if low["conv_lo"] > high["conv_hi"]:
        return Recommendation(
            title,
            SUPPORTED,
            f"Sessions with at most {few} before checkout convert more: quick deciders "
            f"should reach checkout without extra steps. Sessions with at least {many} convert less: find "
            "where they get stuck.",
            evidence,
        )
    return Recommendation(
        title, WITHDRAWN, "Withdrawn: the conversion CIs of low- and high-engagement sessions overlap.", evidence
    )


def _style_recs(st: StylesResult) -> list[Recommendation]:
    title = "Sell expensive items through price framing, not browsing mechanics"
    if not st.ok:
        return [Recommendation(title, NOT_ESTIMATED, "", "05 could not compare the styles")]
    v = st.verdicts
    evidence = f"05: browsing {v.browsing}, behaviour-only AUC {v.behaviour_auc:.3f}"
    if v.browsing == "similar":
        recs = [
            Recommendation(
                title,
                SUPPORTED,
                "The styles browse alike, so value framing (bundles, comparisons, guarantees) is "
                "the lever for expensive items.",
                evidence,
            )
        ]
    else:
        why = {
            "different": "the styles browse differently, so browsing mechanics may shape what is bought",
            "inconclusive": "the data cannot tell whether the styles browse alike",
        }[v.browsing]
        recs = [Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence)]
    margin_title = "Protect the margin of the style that earns more per buyer"
    if v.higher_margin_style:
        recs.append(
            Recommendation(
                margin_title,
                SUPPORTED,
                f"{findings.cap(v.higher_margin_style)} buyers earn more gross margin per buyer; test discounts on "
                "them with care.",
                "05: margin per buyer by style, 95 % CIs apart",
            )
        )
    else:
        why = "the styles' margin-per-buyer CIs overlap" if v.margin_known else "product costs are unknown"
        recs.append(Recommendation(margin_title, WITHDRAWN, f"Withdrawn: {why}.", "05: margin per buyer by style"))
    return recs


def experiment_plan(upstream: dict) -> ExperimentPlan:
    """The experiment the evidence points to: lever, hypothesis, intervention, metrics, and whether it is simulated."""
    conv = upstream.get("03_conversion")
    v = conv.verdicts if conv is not None and conv.ok else None
    primary, unit = "session conversion", "user where users are identified, else session"
    if v and v.answer == "time" and v.time == "positive":
        return ExperimentPlan(
            primary=primary,
            unit=unit,
            guardrail="checkout completion rate",
            lever="time before checkout",
            simulate=False,
            hypothesis="Content that holds attention before checkout (reviews, guides, richer product pages) "
            "raises conversion.",
            intervention="Show richer product content on the pages visitors read before checkout.",
            basis="03 finds time before checkout the clearly stronger, positive correlate of purchase.",
        )
    supported = bool(v and v.engagement == "positive")
    return ExperimentPlan(
        primary=primary,
        unit=unit,
        guardrail="mean session duration",
        lever="interaction density",
        simulate=True,
        hypothesis="Raising interactions per minute raises conversion without lengthening sessions.",
        intervention="Detect idle gaps between interactions and offer a low-effort next step (compare, expand "
        "details, save for later).",
        basis=(
            "03 finds more events before checkout associated with higher purchase odds."
            if supported
            else "Exploratory: 03 supports no behavioural lever clearly, so the experiment tests the most "
            "plausible one."
        ),
    )


def _events(n: float) -> str:
    if isinstance(n, float) and math.isnan(n):
        return "a few events"
    return f"{n:g} event" + ("" if n == 1 else "s")
