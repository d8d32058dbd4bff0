"""What product strategy follows? Segments, recommendations, the experiment: policy from the recorded answers.

Usage::

    from helpers.analysis import strategy
    result = strategy.analyse(gold_dir, results.load_all(run), settings, truth, folder)
    result.recommendations[0].status                  # 'supported', 'withdrawn' or 'not estimated'

The rules that turn answers into advice live here (which recommendation stands, which lever the
experiment tests); the sentences that word them come from ``helpers.presentation.findings``.

Each recommendation rests on one interval-based test (its primary outcome, ``Recommendation.test``)
whose p-value is read from the interval the rule uses, so p < alpha exactly when the rule holds.
Holm's step-down adjustment runs across these tests, and a recommendation counts as supported only
when its test survives it.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
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
    "user_id",
    "started_at",
    "did_purchase",
    "amount_usd",
    "pre_conversion_event_count",
    "pre_conversion_seconds",
]
MAX_SESSIONS_READ = 2_000_000  # above this, 06 reads every session of a random share of users (memory stays flat)
DRIVERS = {
    "engagement": ("pre_conversion_event_count", "events before checkout"),
    "time": ("pre_conversion_seconds", "seconds before checkout"),
}
AA_REPLICATIONS, AA_SESSIONS = 200, 10_000  # A/A replications on the page: about a second of the purchase step


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
    """One recommendation: whether the evidence supports it, its expected impact and the section it rests on.

    ``kind`` is 'action' when the answer behind it is a direct effect the models estimate (and the
    simulator defines), 'hypothesis' when it rests on a description that only the experiment can
    turn into a cause.
    """

    title: str
    status: str
    text: str
    evidence: str
    impact: str = ""
    link: str = ""
    kind: str = "hypothesis"
    test: str = ""  # the interval-based test the recommendation rests on
    p_value: float | None = None
    p_holm: float | None = None  # Holm-adjusted across every recommendation's test


@dataclass
class ExperimentPlan(results.Record):
    """The experiment the evidence points to."""

    primary: str
    unit: str
    guardrails: list[str]
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
    segment_sessions_read: int | None = None  # sessions the segments rest on, when fewer than the table holds
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
    key_figure_caption: str = ""
    driver: str = "engagement"
    driver_reason: str = ""
    weeks_needed: int | None = None
    design: experiment.DesignEffect | None = None
    users_per_arm: int | None = None
    segment_contrast: dict[str, float] | None = None
    aa_rate: experiment.AARate | None = None
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
    sessions = gold.read_gold(gold_dir, columns=GOLD_COLUMNS_READ, sample_users=MAX_SESSIONS_READ, seed=s.seed)
    drive, why = driver(upstream.get("03_conversion"))
    seg, cuts = segments(sessions, drive)
    contrast = segment_contrast(sessions, cuts)
    flow = traffic(gold.traffic(gold_dir))  # the whole table, even when the segments read a share of users
    baseline, per_day = flow["baseline"], flow["sessions_per_day"]
    design = experiment.design_effect(sessions)
    n_needed = (
        experiment.sample_size(baseline, s.relative_mde, s.alpha, s.power, design.design_effect)
        if 0 < baseline < 1
        else None
    )
    days = 2 * n_needed / per_day if n_needed and per_day else None
    weeks = max(1, math.ceil(days / 7)) if days is not None else None
    plan = experiment_plan(upstream, s.guardrail_margin)
    segment_rows = seg.reset_index().to_dict(orient="records")
    result = StrategyResult(
        summary=findings.summary(upstream),
        recommendations=recommendations(upstream, segment_rows, cuts, drive, s.alpha, contrast),
        segments=segment_rows,
        segment_cuts=cuts,
        segment_sessions_read=len(sessions) if len(sessions) < flow["sessions"] else None,
        segment_contrast=contrast,
        design=design,
        users_per_arm=math.ceil(n_needed / design.sessions_per_user) if n_needed else None,
        baseline=baseline,
        sessions_per_day=per_day,
        span_hours=flow["span_hours"],
        sample_size_per_arm=n_needed,
        days_needed=days,
        weeks_needed=weeks,
        plan=plan,
        experiment_lines=findings.experiment_lines(plan, n_needed, weeks, s.relative_mde, flow["span_hours"], design),
        limitations=findings.limitations(upstream),
        alpha=s.alpha,
        power=s.power,
        relative_mde=s.relative_mde,
        key_figure_caption=f"Conversion (95 % CI) and revenue per session by {DRIVERS[drive][1]} (thirds of sessions)",
        driver=drive,
        driver_reason=why,
        evidence=Evidence(segments=seg),
    )
    if n_needed and per_day:
        result.evidence.mde_table = experiment.mde_table(baseline, s.alpha, s.power, per_day, design)
    result.not_simulated_because = why_not_simulated(truth, plan, n_needed)
    if result.not_simulated_because is None:
        config = SimConfig.from_dict(truth["config"])
        n_arm = s.experiment_sessions_per_arm or n_needed
        result.experiment, result.aa, result.aa_rate = simulated_experiment(config, n_arm, s, folder)
    return result


def simulated_experiment(
    config: SimConfig, n_arm: int, s: Settings, folder: Path | None
) -> tuple[experiment.Outcome, experiment.Outcome, experiment.AARate]:
    """The experiment and its A/A check through the pipeline, and the A/A rate over replications.

    The replications run in a second thread while the arms go through the pipeline: each draws
    from its own seeds, so the numbers are the same either way, and NumPy's draws and DuckDB's
    queries release the GIL, so on two cores the two overlap.
    """
    experiment.untreated_intercept(config)  # calibrated once, before both threads read it
    with ThreadPoolExecutor(max_workers=1) as pool:
        rate = pool.submit(experiment.aa_rate, config, min(n_arm, AA_SESSIONS), AA_REPLICATIONS, s.alpha, s.seed)
        outcome, aa = experiment.run_simulated(
            config, n_arm, s.seed, s.experiment_density_lift, s.alpha, s.guardrail_margin, folder
        )
        return outcome, aa, rate.result()


def why_not_simulated(truth: dict | None, plan: ExperimentPlan, n_needed: int | None) -> str | None:
    """Why the experiment cannot be run on the simulator here, or None when it can."""
    if truth is None:
        return "these are not simulated data"
    if not plan.simulate:
        return f"the simulator has no lever for {plan.lever}"
    if not n_needed:
        return "the baseline conversion is 0 or 1"
    return None


def driver(conv) -> tuple[str, str]:
    """The behaviour 06 splits sessions by: 03's answer when it names one, else engagement (and why)."""
    if conv is not None and conv.ok and conv.verdicts.answer in DRIVERS:
        return conv.verdicts.answer, f"03 finds {conv.verdicts.answer} the clearly stronger correlate of purchase"
    return (
        "engagement",
        "03 names no clearly stronger correlate of purchase, so sessions are split by engagement for reference",
    )


def _thirds(sessions: pd.DataFrame, cuts: dict) -> np.ndarray:
    x = sessions[DRIVERS[cuts["by"]][0]]
    return np.where(x <= cuts["low_max"], "low", np.where(x >= cuts["high_min"], "high", "middle"))


def segments(sessions: pd.DataFrame, by: str = "engagement") -> tuple[pd.DataFrame, dict]:
    """Low / middle / high thirds of sessions by the driver (events or seconds before checkout)."""
    x = sessions[DRIVERS[by][0]]
    lo_cut, hi_cut = float(x.quantile(1 / 3)), float(x.quantile(2 / 3))
    if hi_cut <= lo_cut:
        hi_cut = lo_cut + 1
    seg = _thirds(sessions, {"by": by, "low_max": lo_cut, "high_min": hi_cut})
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
    g["conv_lo"], g["conv_hi"] = _segment_cis(sessions, seg, g.index)
    g["revenue_per_session"] = g["revenue"] / g["sessions"]
    g["spend_per_buyer"] = g["revenue"] / g["buyers"].replace(0, np.nan)
    return g, {"by": by, "low_max": lo_cut, "high_min": hi_cut}


def _segment_cis(sessions: pd.DataFrame, seg: np.ndarray, labels) -> tuple[list[float], list[float]]:
    """Each segment's conversion CI, clustered by user when users repeat (``stats.proportion_ci``)."""
    y = sessions["did_purchase"].to_numpy(float)
    users = sessions["user_id"].to_numpy() if "user_id" in sessions else None
    bounds = []
    for label in labels:
        part = seg == label
        groups = None if users is None else stats.user_groups(pd.DataFrame({"user_id": users[part]}))
        bounds.append(stats.proportion_ci(y[part], groups))
    return [b[0] for b in bounds], [b[1] for b in bounds]


def segment_contrast(sessions: pd.DataFrame, cuts: dict, level: float = 0.95) -> dict[str, float] | None:
    """Conversion of the high third minus the low third: CI and p-value by the delta method at user level."""
    seg = _thirds(sessions, cuts)
    high, low = seg == "high", seg == "low"
    if not high.any() or not low.any():
        return None
    y = sessions["did_purchase"].to_numpy(float)
    diff = y[high].mean() - y[low].mean()
    influence = np.where(high, (y - y[high].mean()) / high.sum(), 0.0) - np.where(
        low, (y - y[low].mean()) / low.sum(), 0.0
    )
    se = math.sqrt(experiment.cluster_variance(influence, stats.user_groups(sessions)))
    half = stats.normal_ppf(0.5 + level / 2) * se
    p = 2 * stats.normal_sf(abs(diff) / se) if se > 0 else float(diff == 0)
    return {"diff": float(diff), "lo": float(diff - half), "hi": float(diff + half), "p": float(p), "se": se}


def traffic(totals: dict) -> dict:
    """Baseline conversion and sessions per day over the data's true span (in hours, never floored).

    ``totals``: sessions, buyers and the first and last start of the whole table (``gold.traffic``).
    """
    n = totals["sessions"]
    span_hours = (totals["last"] - totals["first"]).total_seconds() / 3600 if n else 0.0
    return {
        "baseline": totals["buyers"] / n if n else float("nan"),
        "span_hours": span_hours,
        "sessions_per_day": n / (span_hours / 24) if span_hours > 0 else None,
        "sessions": n,
    }


# --------------------------------------------------------------------------------------------
# Recommendations: which stand on the recorded answers
# --------------------------------------------------------------------------------------------


def recommendations(
    upstream: dict,
    seg: list[dict] | None = None,
    cuts: dict | None = None,
    drive: str = "engagement",
    alpha: float = 0.05,
    contrast: dict | None = None,
) -> list[Recommendation]:
    """Each recommendation, its status (supported, withdrawn with the reason, not estimated), impact and evidence.

    ``contrast`` is the high-minus-low conversion difference of the segments (``segment_contrast``);
    every recommendation's test then goes through Holm's adjustment at ``alpha`` (``holm_gate``).
    """
    conv = upstream.get("03_conversion") or ConversionResult(status="missing")
    sp = upstream.get("04_spend") or SpendResult(status="missing")
    st = upstream.get("05_purchase_style") or StylesResult(status="missing")
    mean_order = sp.mean_spend if sp.mean_spend else None
    recs = [
        _tested(_engagement_rec(conv, mean_order), _odds_test(conv, "engagement", +1)),
        _tested(_time_rec(conv, mean_order), _odds_test(conv, "time", 0)),
        _tested(_idle_rec(sp, conv), _idle_test(sp)),
    ]
    if seg and len(seg) >= 2:
        recs.append(_tested(_segment_rec(seg[0], seg[-1], cuts or {}, conv, drive, contrast), _segment_test(contrast)))
    recs.append(_tested(_style_rec(st), _style_test(st)))
    return holm_gate(recs, alpha)


# --------------------------------------------------------------------------------------------
# Multiplicity: one test per recommendation, Holm across them
# --------------------------------------------------------------------------------------------


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given (family-wise error rate at any alpha)."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p, kind="stable")
    steps = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(steps, 1.0)
    return out


def material_p(estimate: float, lo: float, hi: float, band: float, side: int = 0, level: float = 0.95) -> float:
    """p-value of the test that an effect lies beyond the no-effect band [-band, band], read from its symmetric CI.

    ``side`` +1 tests above the band, -1 below it, 0 either side (two one-sided tests); p < 1 - level
    exactly when the CI clears the band on that side, so the p-value and the interval rule agree.
    """
    se = (hi - lo) / (2 * stats.normal_ppf(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = min(stats.normal_sf((s * estimate - band) / se) for s in ((side,) if side else (1, -1)))
    return float(min(1.0, 2 * tail)) if np.isfinite(tail) else 1.0


def tost_p(estimate: float, lo90: float, hi90: float, margin: float) -> float:
    """p-value of the equivalence test (TOST) within ±``margin``, read from a symmetric 90 % CI."""
    se = (hi90 - lo90) / (2 * stats.normal_ppf(0.95))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = max(stats.normal_sf((estimate + margin) / se), stats.normal_sf((margin - estimate) / se))
    return float(p) if np.isfinite(p) else 1.0


def _tested(rec: Recommendation, test: tuple[str, float | None]) -> Recommendation:
    rec.test, rec.p_value = test
    return rec


def _odds_test(conv: ConversionResult, feature: str, side: int) -> tuple[str, float | None]:
    """03: the feature's odds ratio per SD beyond the no-effect band (above it for +1, either side for 0)."""
    e = conv.effect(feature) if conv.ok and conv.effects and conv.negligible_or else None
    if e is None or e.or_per_sd is None:
        return "", None
    with np.errstate(divide="ignore"):  # a separated fit's interval can reach 0 or infinity: then p = 1
        estimate, lo, hi = np.log([e.or_per_sd, e.or_lo, e.or_hi])
    p = material_p(estimate, lo, hi, math.log(conv.negligible_or), side)
    return findings.odds_test_words(feature, side, conv.negligible_or), p


def _idle_test(sp: SpendResult) -> tuple[str, float | None]:
    """04: the longest idle gap's spend change per SD below the band in both models shown (the larger p)."""
    call = sp.verdicts.idle if sp.ok and sp.verdicts else None
    if call is None or call.lo is None:
        return "", None
    band = math.log1p(sp.verdicts.negligible_pct / 100)
    shown = [(call.pct, call.lo, call.hi), (call.other_pct, call.other_lo, call.other_hi)]
    ps = [material_p(*np.log1p(np.array(x) / 100), band, -1) for x in shown if x[0] is not None]
    return findings.idle_test_words(sp.verdicts.negligible_pct), max(ps)


def _segment_test(contrast: dict | None) -> tuple[str, float | None]:
    if contrast is None:
        return "", None
    return findings.segment_test_words(), contrast["p"]


def _style_test(st: StylesResult) -> tuple[str, float | None]:
    """05: every duration and volume SMD within ±margin (TOST on each, the largest p: intersection-union)."""
    from helpers.analysis.purchase_styles import SIMILARITY_METRICS

    rows = [r for r in st.comparison or [] if r.column in SIMILARITY_METRICS] if st.ok else []
    if not rows or not st.equivalence_margin:
        return "", None
    p = max(tost_p(r.smd, r.smd_lo90, r.smd_hi90, st.equivalence_margin) for r in rows)
    return findings.style_test_words(st.equivalence_margin, len(rows)), p


def holm_gate(recs: list[Recommendation], alpha: float) -> list[Recommendation]:
    """Holm across every recommendation's test; a supported one whose adjusted p is not below ``alpha`` is withdrawn."""
    tested = [r for r in recs if r.p_value is not None]
    for rec, adjusted in zip(tested, holm([r.p_value for r in tested])):
        rec.p_holm = float(adjusted)
        if rec.status == SUPPORTED and adjusted >= alpha:
            why = findings.holm_withdrawal(rec.p_value, rec.p_holm, len(tested), alpha)
            rec.status, rec.text, rec.impact = WITHDRAWN, f"Withdrawn: {why}.", ""
    return recs


def multiplicity_table(recs: list[Recommendation]) -> pd.DataFrame:
    """The family of tests behind the recommendations: each test, its raw and Holm-adjusted p, the status."""
    rows = [
        {"recommendation": r.title, "test": r.test, "p": r.p_value, "Holm-adjusted p": r.p_holm, "status": r.status}
        for r in recs
        if r.p_value is not None
    ]
    return pd.DataFrame(rows, columns=["recommendation", "test", "p", "Holm-adjusted p", "status"])


def _time_helps(conv: ConversionResult) -> bool:
    v = conv.verdicts
    return v.time == "positive" and (v.answer == "time" or v.time_adds == "yes")


def _conversion_impact(conv: ConversionResult, feature: str, mean_order: float | None) -> str:
    u = conv.unit(feature)
    text = f"+1 {u.unit} before checkout ≈ {u.points:+.2f} points of conversion [{u.lo:+.2f}, {u.hi:+.2f}]"
    if mean_order:
        per_thousand = u.points / 100 * 1000 * mean_order
        text += f", about {per_thousand:+,.0f} USD per 1,000 sessions at {mean_order:,.2f} USD an order"
    return text


def _engagement_rec(conv: ConversionResult, mean_order: float | None) -> Recommendation:
    title = "Optimise for engagement, not time on site"
    link = "03_conversion.html#Findings"
    if not conv.ok:
        return Recommendation(title, NOT_ESTIMATED, "", "03 could not fit its models", link=link)
    v = conv.verdicts
    evidence = f"03: engagement {v.engagement}, time {v.time}, time adds: {v.time_adds}"
    if v.answer == "engagement" and v.engagement == "positive" and not _time_helps(conv):
        return Recommendation(
            title,
            SUPPORTED,
            "Build features that invite meaningful actions (compare, save, read details) rather "
            "than ones that only keep visitors longer.",
            evidence,
            _conversion_impact(conv, "engagement", mean_order),
            link,
            "action",
        )
    if not v.healthy:
        why = "the conversion models are in poor health"
    elif _time_helps(conv):
        why = "longer time before checkout is associated with higher purchase odds by itself"
    elif v.engagement != "positive":
        why = findings.effect_phrase("engagement", v.engagement)
    else:
        why = "engagement is not clearly the stronger of the two"
    return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence, link=link)


TIME_RECS = {
    "positive": (
        "Hold attention before checkout with richer product content",
        "Reviews, guides and fuller product pages give visitors reasons to stay before they decide.",
    ),
    "negative": (
        "Shorten the path to checkout",
        "Fewer steps and faster pages between the product and checkout: longer visits go with lower purchase odds "
        "here, whatever the visitor does.",
    ),
}


def _time_rec(conv: ConversionResult, mean_order: float | None) -> Recommendation:
    """Content that holds attention (time positive) or a shorter path (time negative), when 03's answer is time."""
    sign = conv.verdicts.time if conv.ok and conv.verdicts.time in TIME_RECS else "positive"
    title, text = TIME_RECS[sign]
    link = "03_conversion.html#Findings"
    if not conv.ok:
        return Recommendation(title, NOT_ESTIMATED, "", "03 could not fit its models", link=link)
    v = conv.verdicts
    evidence = f"03: answer {v.answer}, time {v.time}, time adds: {v.time_adds}"
    if v.answer == "time" and v.time in TIME_RECS:
        return Recommendation(
            title, SUPPORTED, text, evidence, _conversion_impact(conv, "time", mean_order), link, "action"
        )
    why = (
        "the conversion models are in poor health"
        if not v.healthy
        else "03 does not find time before checkout the clearly stronger correlate of purchase"
    )
    return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence, link=link)


def _one_sd_shorter(mean_spend: float, call) -> tuple[float, float, float]:
    """USD per order, with its CI, for one SD less of a feature whose effect is ``call.pct`` % per SD more.

    The model is multiplicative (log spend): one SD less divides spend by (1 + pct / 100), so
    -23.6 % per SD longer is +30.9 % per SD shorter, not +23.6 %.
    """
    less = lambda pct: mean_spend * (1 / (1 + pct / 100) - 1)  # noqa: E731
    return less(call.pct), less(call.hi), less(call.lo)


def _idle_rec(sp: SpendResult, conv: ConversionResult) -> Recommendation:
    title = "Turn idle time into interaction"
    link = "04_spend.html#Findings"
    if not sp.ok:
        return Recommendation(title, NOT_ESTIMATED, "", "04 could not fit its models", link=link)
    v = sp.verdicts
    call = v.idle
    if call.verdict == "not available":
        return Recommendation(
            title, NOT_ESTIMATED, "", "04: idle gaps are not available for session-level input", link=link
        )
    evidence = f"04: longest idle gap and spend {findings.pct(call.pct, call.lo, call.hi)} per SD"
    if call.verdict == "negative" and conv.ok and _time_helps(conv):
        why = "shorter pauses would shorten the time before checkout that 03 links to higher purchase odds"
        return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence, link=link)
    if call.verdict == "negative":
        return Recommendation(
            title,
            SUPPORTED,
            "After a long pause, offer a low-effort next step (compare, see details, save for later); longer idle "
            "gaps are associated with smaller orders.",
            evidence,
            f"a longest idle gap one SD shorter goes with {findings.usd(*_one_sd_shorter(sp.mean_spend, call))} "
            "per order",
            link,
            "action",
        )
    why = (
        "; ".join(v.reasons)
        if call.verdict == "unclear" and v.reasons
        else findings.spend_call_phrase(call, v.negligible_pct)
    )
    return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence, link=link)


def _segment_rec(
    low: dict, high: dict, cuts: dict, conv: ConversionResult, drive: str, contrast: dict | None = None
) -> Recommendation:
    words = DRIVERS[drive][1]
    title = f"Segment the experience by {drive} level"
    link = "06_strategy.html#2-%C2%B7-Segments-by-the-driver-of-purchase"
    lo_txt = f"{low['conversion']:.2%} [{low['conv_lo']:.2%}, {low['conv_hi']:.2%}]"
    hi_txt = f"{high['conversion']:.2%} [{high['conv_lo']:.2%}, {high['conv_hi']:.2%}]"
    evidence = f"conversion: low {drive} {lo_txt}, high {drive} {hi_txt}"
    if not conv.ok:
        return Recommendation(title, NOT_ESTIMATED, "", "03 could not fit its models", link=link)
    if contrast is None:
        return Recommendation(title, NOT_ESTIMATED, "", "the low and high thirds cannot be compared", link=link)
    evidence += f"; high minus low {findings.segment_contrast_phrase(contrast)}"
    if conv.verdicts.answer != drive:
        why = "03 does not find this behaviour the clearly stronger correlate of purchase, so segments by it would "
        why += "only mirror what travels with it"
        return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence, link=link)
    few, many = _amount(cuts.get("low_max", math.nan), drive), _amount(cuts.get("high_min", math.nan), drive)
    impact = (
        f"{(high['conversion'] - low['conversion']) * 100:+.2f} points of conversion and "
        f"{high['revenue_per_session'] - low['revenue_per_session']:+,.2f} USD per session, "
        "from the low to the high third"
    )
    if contrast["lo"] > 0:
        text = SEGMENT_TEXT[drive, "high"].format(few=few, many=many)
    elif contrast["hi"] < 0:
        text = SEGMENT_TEXT[drive, "low"].format(few=few, many=many)
    else:
        why = f"the conversion difference between the high and low thirds by {words} has a CI that includes zero"
        return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence, link=link)
    return Recommendation(title, SUPPORTED, text, evidence, impact, link, "hypothesis")


SEGMENT_TEXT = {
    ("engagement", "high"): "Sessions with at least {many} before checkout convert more: keep their path to checkout "
    "short. Sessions with at most {few} convert less: guide them with fewer, clearer choices.",
    ("engagement", "low"): "Sessions with at most {few} before checkout convert more: quick deciders should reach "
    "checkout without extra steps. Sessions with at least {many} convert less: find where they get stuck.",
    ("time", "high"): "Sessions that spend at least {many} before checkout convert more: give short visits a reason "
    "to stay (guides, comparisons). Sessions under {few} convert least: they leave before they look.",
    ("time", "low"): "Sessions that reach checkout within {few} convert more: keep that path fast. Sessions that "
    "take at least {many} convert less: find what holds them up.",
}


def _style_rec(st: StylesResult) -> Recommendation:
    title = "Sell expensive items through price framing, not browsing mechanics"
    link = "05_purchase_style.html#Findings"
    if not st.ok:
        return Recommendation(title, NOT_ESTIMATED, "", "05 could not compare the styles", link=link)
    v = st.verdicts
    evidence = f"05: browsing {v.browsing}, browsing classifier AUC {v.behaviour_auc:.3f}"
    evidence += f" (permutation p = {v.behaviour_p:.3f})" if v.behaviour_p is not None else ""
    share = next((r["share_of_revenue"] for r in st.money or [] if r["style"] == "expensive-few"), None)
    impact = f"expensive-few buyers bring {share:.0%} of revenue" if share is not None else ""
    if v.browsing == "similar":
        return Recommendation(
            title,
            SUPPORTED,
            "The styles browse alike, so value framing (bundles, comparisons, guarantees) is the lever for expensive "
            "items.",
            evidence,
            impact,
            link,
            "hypothesis",
        )
    why = {
        "different": "the styles browse differently, so browsing mechanics may shape what is bought",
        "inconclusive": "the data cannot tell whether the styles browse alike",
    }[v.browsing]
    return Recommendation(title, WITHDRAWN, f"Withdrawn: {why}.", evidence, link=link)


# 03's time sign -> the experiment's hypothesis, intervention and basis (the simulator has no lever for either)
TIME_PLANS = {
    "positive": (
        "Content that holds attention before checkout (reviews, guides, richer product pages) would raise conversion.",
        "Show richer product content on the pages visitors read before checkout.",
        "03 finds time before checkout the clearly stronger, positive correlate of purchase.",
    ),
    "negative": (
        "A shorter path to checkout (fewer steps, faster pages) would raise conversion.",
        "Remove a step between the product page and checkout, or make the pages faster.",
        "03 finds time before checkout the clearly stronger correlate of purchase, and a negative one.",
    ),
}


def experiment_plan(upstream: dict, guardrail_margin: float = 0.05) -> ExperimentPlan:
    """The experiment the evidence points to: lever, hypothesis, intervention, metrics, and whether it is simulated."""
    conv = upstream.get("03_conversion")
    v = conv.verdicts if conv is not None and conv.ok else None
    primary, unit = "session conversion", "user where users are identified, else session"
    revenue = "revenue per session (no significant fall)"
    if v and v.answer == "time" and v.time in TIME_PLANS:
        hypothesis, intervention, basis = TIME_PLANS[v.time]
        return ExperimentPlan(
            primary=primary,
            unit=unit,
            guardrails=["checkout completion rate", revenue],
            lever="time before checkout",
            simulate=False,
            hypothesis=hypothesis,
            intervention=intervention,
            basis=basis,
        )
    supported = bool(v and v.engagement == "positive")
    return ExperimentPlan(
        primary=primary,
        unit=unit,
        guardrails=[f"mean session duration (not more than {guardrail_margin:.0%} longer)", revenue],
        lever="interaction density",
        simulate=True,
        hypothesis="More interactions per minute at the same time on site would raise conversion.",
        intervention="Detect idle gaps between interactions and offer a low-effort next step (compare, expand "
        "details, save for later).",
        basis=(
            "03 links more events before checkout with higher purchase odds; only the experiment can show that "
            "adding interactions causes it."
            if supported
            else "Exploratory: 03 supports no behavioural lever clearly, so the experiment tests the most "
            "plausible one."
        ),
    )


def _amount(n: float, drive: str) -> str:
    if isinstance(n, float) and math.isnan(n):
        return "a few events" if drive == "engagement" else "a short time"
    if drive == "time":
        return f"{n:,.0f} seconds"
    return f"{n:g} event" + ("" if n == 1 else "s")
