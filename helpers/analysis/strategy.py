"""What product strategy follows? Segments, recommendations, the experiment: policy from the recorded answers.

Usage::

    from helpers.analysis import strategy
    result = strategy.analyse(gold_dir, results.load_all(run), settings, truth, folder)
    result.recommendations[0].status                  # 'supported', 'withdrawn' or 'not estimated'

The rules that turn answers into advice live here (which recommendation stands, which lever the
experiment tests). A recommendation is known by its stable ``id`` (``RECOMMENDATIONS``) and carries
codes and numbers only; its title, advice, evidence and impact are worded when a page is built
(``helpers.presentation.words.strategy``).

Each recommendation rests on one interval-based test (its primary outcome, ``Recommendation.test``)
whose p-value is read from the interval the rule uses, so p < alpha exactly when the rule holds.
Holm's step-down adjustment runs across these tests, and a recommendation counts as supported only
when its test survives it.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from helpers.analysis import experiment, needs, results, stats
from helpers.analysis.conversion import ConversionResult
from helpers.analysis.purchase_styles import StylesResult
from helpers.analysis.readout import PlanSource, ReadoutResult
from helpers.analysis.spend import SpendResult
from helpers.data import gold
from helpers.data.fitness import Fitness
from helpers.data.simulate import SimConfig

SUPPORTED, WITHDRAWN, NOT_ESTIMATED = "supported", "withdrawn", "not estimated"
GOLD_COLUMNS_READ = [
    "session_id",
    "user_id",
    "started_at",
    "did_purchase",
    "amount_usd",
    "pre_conversion_event_count",
    "pre_conversion_seconds",
    "session_seconds",
    "pre_conversion_max_idle_seconds",  # its SD among buyers says what 04's 'one SD' of idle gap means
]
MAX_SESSIONS_READ = 2_000_000  # above this, 06 reads every session of a random share of users (memory stays flat)
DRIVERS = {
    "engagement": ("pre_conversion_event_count", "events before checkout"),
    "time": ("pre_conversion_seconds", "seconds before checkout"),
}
# Every recommendation's stable id: what validation, comparison and the wording tables key on
RECOMMENDATIONS = (
    "engagement_over_time",
    "time_richer_content",
    "time_shorter_path",
    "idle_to_interaction",
    "segment_by_engagement",
    "segment_by_time",
    "styles_price_framing",
)
AA_REPLICATIONS, AA_SESSIONS = 200, 10_000  # A/A replications on the page: about a second of the purchase step


@dataclass
class Settings(results.Settings):
    """06's settings: the parameters its notebook declares (defaults live in the notebook only)."""

    seed: int
    alpha: float
    power: float
    relative_mde: float
    guardrail_margin: float
    revenue_margin: float
    experiment_density_lift: float
    experiment_sessions_per_arm: int
    store_daily_sessions: float  # the store's real sessions per day; 0: the data's own rate
    experiment_start: str  # the day the proposed test starts (YYYY-MM-DD), recorded in its plan; "": not known


@dataclass
class Recommendation(results.Record):
    """One recommendation, by its stable ``id`` (one of ``RECOMMENDATIONS``): its status, why not supported, the
    test it rests on, and the codes and numbers its words quote.

    ``kind`` is 'hypothesis' for every recommendation that rests on observational data (all of 03-05's
    answers); only an experiment's result makes one an 'action' (``promote``: a read-out whose instrument is
    strong and moves purchase the way the recommendation says). ``codes['evidence']`` says which
    ('observational' or 'experiment'); ``codes['conditions_on'] == 'purchase'`` marks one resting on 04's
    buyers-only model, at most a hypothesis about spend among buyers. ``values`` holds what its 'one SD'
    means in the data's units (``unit_changes``). ``reason`` is a code (for example 'time_helps',
    'holm_adjusted') when the status is not 'supported'; ``test`` is the code of the interval-based test
    behind it.
    """

    id: str
    status: str
    reason: str | None = None
    link: str = ""
    kind: str = "hypothesis"
    test: str = ""  # the interval-based test the recommendation rests on (a code)
    p_value: float | None = None
    p_holm: float | None = None  # Holm-adjusted across every recommendation's test
    codes: dict[str, str] = field(default_factory=dict)  # the verdicts its evidence quotes
    values: dict[str, float | None] = field(default_factory=dict)  # the numbers its evidence and impact quote


@dataclass
class ExperimentPlan(results.Record):
    """The experiment the evidence points to: its lever, why that lever (``basis``), metrics and unit, as codes."""

    lever: str  # 'interaction_density' or 'time_before_checkout'
    simulate: bool
    basis: str  # 'engagement_positive', 'exploratory', 'time_positive' or 'time_negative'
    guardrails: list[str]  # 'session_duration', 'checkout_completion', 'revenue_per_session'
    guardrail_margin: float
    primary: str = "session_conversion"
    margins: dict[str, float] = field(default_factory=dict)  # each guardrail's non-inferiority margin (relative)
    unit: str = "user"  # users where they are identified, else sessions
    split: dict[str, float] = field(default_factory=lambda: {"control": 0.5, "treatment": 0.5})  # control first
    start_date: str | None = None  # YYYY-MM-DD when known; else the read-out starts each user at the exposure


@dataclass
class Evidence:
    """What 06's page shows beyond the record (kept in memory only)."""

    segments: pd.DataFrame
    mde_table: pd.DataFrame | None = None


@dataclass
class StrategyResult(results.Record):
    """06's result: the recommendations, the experiment's plan, size and simulated outcome (codes and numbers)."""

    NOTEBOOK: ClassVar[str] = "06_strategy"
    recommendations: list[Recommendation] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)
    segment_cuts: dict[str, float] = field(default_factory=dict)
    segment_sessions_read: int | None = None  # sessions the segments rest on, when fewer than the table holds
    segments_population: str = "all"  # the sessions segments, key figure and units read: 'all' or 'untreated'
    baseline: float | None = None
    sessions_per_day: float | None = None
    span_hours: float | None = None
    sample_size_per_arm: int | None = None
    days_needed: float | None = None
    experiment: experiment.Outcome | None = None
    aa: experiment.Outcome | None = None
    not_simulated: str | None = None  # why the experiment was not simulated (a code), None when it was
    plan: ExperimentPlan | None = None
    alpha: float | None = None
    power: float | None = None
    relative_mde: float | None = None
    driver: str = "engagement"
    driver_from_answer: bool = False  # True when 03's answer names the driver, else engagement for reference
    weeks_needed: int | None = None
    design: experiment.DesignEffect | None = None
    users_per_arm: int | None = None
    segment_contrast: dict[str, float] | None = None
    aa_rate: experiment.AARate | None = None
    guardrail_sizing: dict[str, dict[str, float]] = field(default_factory=dict)  # experiment.guardrail_plan
    unit_changes: dict[str, dict[str, float]] = field(default_factory=dict)  # what one SD means (``unit_changes``)
    sizing: list[str] = field(default_factory=list)  # needs' codes for the sizing (short_span, sample_rate, ...)
    runtime_from: str | None = None  # 'store' (store_daily_sessions), 'data' (its own rate), None: no runtime
    store_daily_sessions: float | None = None  # the store's daily sessions when given
    readout: ReadoutResult | None = None  # the test read out when the data carry a variant (``readout.read_out``)
    plan_source: PlanSource | None = None  # where the read-out's plan came from, with its hash
    evidence: Evidence | None = results.memory()

    @property
    def supported(self) -> list[Recommendation]:
        return [r for r in self.recommendations if r.status == SUPPORTED]


def analyse(
    gold_dir: Path,
    upstream: dict,
    settings: Settings,
    truth: dict | None = None,
    folder: Path | None = None,
    fitness: Fitness | None = None,
    readout: ReadoutResult | None = None,
    plan_source: PlanSource | None = None,
) -> StrategyResult:
    """06's whole analysis: segments, recommendations, plan, power and (simulated) experiment.

    ``upstream`` holds the typed results of 01-05 by notebook name; ``folder`` receives the
    simulated arms; ``fitness`` (01's record) says whether a runtime and a design effect can be read
    from these data (``runtime``, ``known_design``) and which answers a recommendation may rest on.
    ``readout`` (``readout.read_out``: the test the data carry, read against the plan from ``plan_source``)
    is recorded, and may make a recommendation an action (``promote``).
    """
    s = settings
    described = gold.population(gold_dir)  # an experiment's untreated sessions, as 03-05 read; else all
    sessions = gold.read_gold(
        gold.described(gold_dir), columns=GOLD_COLUMNS_READ, sample_users=MAX_SESSIONS_READ, seed=s.seed
    )
    drive, named = driver(upstream.get("03_conversion"))
    seg, cuts = segments(sessions, drive)
    contrast = segment_contrast(sessions, cuts)
    units = unit_changes(sessions)
    flow = traffic(gold.traffic(gold_dir))  # the whole table, even when the segments read a share of users
    baseline, per_day = flow["baseline"], flow["sessions_per_day"]
    rate = s.store_daily_sessions or per_day  # the store's real daily traffic when given, else the data's own
    design_known = known_design(fitness)
    design = experiment.design_effect(sessions if design_known else sessions.drop(columns="user_id"))  # else D = 1
    n_needed = None
    if 0 < baseline < 1:  # sized with the ICC's upper bound and the sessions per user over the planned weeks
        span_days = flow["span_hours"] / 24 if flow["span_hours"] else None
        n_needed, design = experiment.planned_size(baseline, s.relative_mde, s.alpha, s.power, design, span_days, rate)
    days, weeks, sizing = runtime(fitness, n_needed, rate, bool(s.store_daily_sessions))
    plan = experiment_plan(upstream, s.guardrail_margin, s.revenue_margin)
    segment_rows = seg.reset_index().to_dict(orient="records")
    result = StrategyResult(
        recommendations=recommendations(
            upstream, segment_rows, cuts, drive, s.alpha, contrast, fitness, units, readout
        ),
        readout=readout,
        plan_source=plan_source,
        unit_changes=units,
        segments=segment_rows,
        segment_cuts=cuts,
        segment_sessions_read=len(sessions) if len(sessions) < described.sessions else None,
        segments_population=described.population,
        segment_contrast=contrast,
        design=design if design_known else None,
        users_per_arm=math.ceil(n_needed / (design.sessions_per_user_planned or design.sessions_per_user))
        if n_needed and design_known
        else None,
        baseline=baseline,
        sessions_per_day=per_day,
        span_hours=flow["span_hours"],
        sample_size_per_arm=n_needed,
        days_needed=days,
        weeks_needed=weeks,
        plan=plan,
        alpha=s.alpha,
        power=s.power,
        relative_mde=s.relative_mde,
        driver=drive,
        driver_from_answer=named,
        evidence=Evidence(segments=seg),
    )
    result.sizing, result.store_daily_sessions = sizing, s.store_daily_sessions or None
    result.runtime_from = None if days is None else ("store" if s.store_daily_sessions else "data")
    if days is None and set(sizing) & {"short_span", "dates_only", "no_timestamps"}:
        result.sessions_per_day = None  # a daily rate from under a day, or from made-up dates, is no rate
    result.plan = plan = fit_plan(plan, result.recommendations, upstream.get("03_conversion"), fitness)
    plan.start_date = s.experiment_start or None  # the read-out's pre-period ends there (else at each exposure)
    deff = design.design_effect_planned or design.design_effect
    result.guardrail_sizing = experiment.guardrail_plan(sessions, n_needed, plan.margins, s.alpha, s.power, deff)
    if n_needed and rate and days is not None:  # no table of days where no runtime can be read
        planned = dataclasses.replace(design, design_effect=deff, sessions_per_user=design.sessions_per_user_planned)
        result.evidence.mde_table = experiment.mde_table(baseline, s.alpha, s.power, rate, planned)
    result.not_simulated = why_not_simulated(truth, plan, n_needed, readout)
    if result.not_simulated is None:
        config = SimConfig.from_dict(truth["config"])
        n_arm = s.experiment_sessions_per_arm or n_needed
        result.experiment, result.aa, result.aa_rate = simulated_experiment(config, n_arm, s, folder)
    return result


def known_design(fit: Fitness | None) -> bool:
    """Whether these data can measure a design effect: user ids and at least two sessions per user on average.

    Without them the design effect is unknown, and the experiment is sized with the stated assumption
    that sessions are independent (D = 1); the page says so instead of quoting an ICC.
    """
    if fit is None:
        return True
    return fit.has_user_ids and (fit.sessions_per_user or 0.0) >= needs.LIMITS.min_sessions_per_user


def runtime(
    fit: Fitness | None, n_needed: int | None, rate: float | None, store_rate: bool
) -> tuple[float | None, int | None, list[str]]:
    """Days and whole weeks the experiment runs, and the sizing codes of ``needs`` (``06_sizing``).

    At the data's own rate (``store_rate`` False) no runtime is given when the data cannot carry one:
    under a day of data, dates without times or no times at all (not estimable), or more than a year
    at that rate (``sample_rate``: the data look like a sample; give the store's daily sessions). With
    the store's daily sessions given, the runtime is the store's and the codes only inform.
    """
    days = 2 * n_needed / rate if n_needed and rate else None
    if fit is None:
        return days, (max(1, math.ceil(days / 7)) if days is not None else None), []
    verdict = needs.assess(fit, "06_sizing", runtime_days=None if store_rate else days)
    if verdict.not_estimable and not store_rate:
        days = None
    weeks = max(1, math.ceil(days / 7)) if days is not None else None
    return days, weeks, verdict.codes


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
            config, n_arm, s.seed, s.experiment_density_lift, s.alpha, s.guardrail_margin, folder, s.revenue_margin
        )
        return outcome, aa, rate.result()


def why_not_simulated(
    truth: dict | None, plan: ExperimentPlan, n_needed: int | None, readout: ReadoutResult | None = None
) -> str | None:
    """Why the experiment cannot be run on the simulator here (a code), or None when it can."""
    if readout is not None:
        return "carries_test"
    if truth is None:
        return "real_data"
    if not plan.simulate:
        return "no_simulator_lever"
    if not n_needed:
        return "baseline_degenerate"
    return None


def driver(conv) -> tuple[str, bool]:
    """The behaviour 06 splits sessions by: 03's answer when it names one (True), else engagement (False)."""
    if conv is not None and conv.ok and conv.verdicts.answer in DRIVERS:
        return conv.verdicts.answer, True
    return "engagement", False


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
    g["revenue_per_session_lo"], g["revenue_per_session_hi"] = _segment_revenue_cis(sessions, seg, g.index)
    g["spend_per_buyer"] = g["revenue"] / g["buyers"].replace(0, np.nan)
    # thirds of sessions, where 04's few/many events are thirds of buyers ('population' says which)
    return g, {"by": by, "low_max": lo_cut, "high_min": hi_cut, "population": "sessions"}


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


def _segment_revenue_cis(sessions: pd.DataFrame, seg: np.ndarray, labels) -> tuple[list[float], list[float]]:
    """Each segment's revenue-per-session CI (a session without a purchase brings 0 USD), clustered by user
    when users repeat (``stats.mean_ci``: t on n - 1 df unclustered, CR1 with t on G - 1 df below 50 users)."""
    amount = sessions["amount_usd"].astype(float).fillna(0.0).to_numpy()
    users = sessions["user_id"].to_numpy() if "user_id" in sessions else None
    los, his = [], []
    for label in labels:
        part = seg == label
        groups = None if users is None else stats.user_groups(pd.DataFrame({"user_id": users[part]}))
        _, lo, hi = stats.mean_ci(amount[part], groups=groups) if part.sum() > 1 else (math.nan,) * 3
        los.append(float(lo))
        his.append(float(hi))
    return los, his


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
    groups = stats.user_groups(sessions)
    se = math.sqrt(experiment.cluster_variance(influence, groups))
    half = stats.critical_value(level, groups) * se  # t on G - 1 df below 50 users
    p = stats.two_sided_p(diff / se, groups) if se > 0 else float(diff == 0)
    return {"diff": float(diff), "lo": float(diff - half), "hi": float(diff + half), "p": float(p), "se": se}


# Whose spread gives each behaviour's 'one SD': 03 models every session, 04 buyers with a positive amount
UNIT_POPULATIONS = {"engagement": "sessions", "time": "sessions", "idle": "buyers"}


def unit_changes(sessions: pd.DataFrame) -> dict[str, dict[str, float]]:
    """What one SD of each behaviour's log1p scale means in the data's units, from the gold table.

    The models take log1p of events, seconds and the longest idle gap, so one SD more multiplies
    (1 + value) by ``ratio`` = exp(SD of log1p value) in the population each answer models
    (``UNIT_POPULATIONS``). At the population's median value that is ``more`` units more (events,
    seconds) and, for a shorter idle gap, ``less`` seconds less: per feature ``sd_log``, ``ratio``,
    ``median``, ``more``, ``less``. A feature without spread (or without its column) is left out.
    """
    buyers = sessions["did_purchase"].eq(1) & sessions["amount_usd"].fillna(0).gt(0)
    out = {}
    for feature, population in UNIT_POPULATIONS.items():
        column = stats.FEATURES[feature][0]
        if column not in sessions:
            continue
        part = sessions.loc[buyers, column] if population == "buyers" else sessions[column]
        raw = part.astype(float).fillna(0.0).clip(lower=0)
        sd = float(np.log1p(raw).std()) if len(raw) > 1 else math.nan
        if not math.isfinite(sd) or sd <= 0:
            continue
        ratio, median = math.exp(sd), float(raw.median())
        out[feature] = {
            "sd_log": sd,
            "ratio": ratio,
            "median": median,
            "more": (1 + median) * (ratio - 1),
            "less": (1 + median) * (1 - 1 / ratio),
        }
    return out


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
    fitness: Fitness | None = None,
    units: dict | None = None,
    readout=None,
) -> list[Recommendation]:
    """Each recommendation, its status (supported, withdrawn with the reason, not estimated), impact and evidence.

    ``contrast`` is the high-minus-low conversion difference of the segments (``segment_contrast``);
    every recommendation's test then goes through Holm's adjustment at ``alpha`` (``holm_gate``), and a
    supported one stands only on an answer ``needs.eligible`` allows (``eligibility_gate``). ``units``
    (``unit_changes``) says what each 'one SD' means in the data's units. Every recommendation is a
    hypothesis; ``readout`` (an experiment's ``readout.ReadoutResult``) may promote one to an action
    (``promote``).
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
    for rec in recs:
        _with_unit(rec, units or {})
    return promote(eligibility_gate(holm_gate(recs, alpha), upstream, fitness), readout)


# The behaviour each recommendation's 'one SD' is of (``unit_changes``)
UNIT_OF = {
    "engagement_over_time": "engagement",
    "time_richer_content": "time",
    "time_shorter_path": "time",
    "idle_to_interaction": "idle",
}


def _with_unit(rec: Recommendation, units: dict) -> Recommendation:
    """Record what the recommendation's 'one SD' means in the data's units, and in which population."""
    feature = UNIT_OF.get(rec.id)
    if feature is None or feature not in units:
        return rec
    u = units[feature]
    rec.codes["sd_population"] = UNIT_POPULATIONS[feature]
    rec.values |= {f"unit_{k}": v for k, v in u.items()}
    return rec


# A recommendation an experiment may promote to an action: the session-level behaviour the read-out's
# instrument must move (``readout.LEVERS``) and the sign its effect on purchase must have
PROMOTABLE = {
    "engagement_over_time": ("log_browsing_events", +1),
    "time_richer_content": ("log_seconds_before_checkout", +1),
    "time_shorter_path": ("log_seconds_before_checkout", -1),
}


def promote(recs: list[Recommendation], readout=None) -> list[Recommendation]:
    """Only an experiment makes an action: a supported recommendation in ``PROMOTABLE`` becomes one when the
    read-out (a ``readout.ReadoutResult``, not stopped for its sample ratio) has a strong instrument
    (``first_stage_f`` at least ``readout.STRONG_F``) for its behaviour whose CI of the effect on purchase lies
    on the recommendation's side of zero. Every other stays a hypothesis; the codes say why
    (``codes['experiment']``: 'instrument_supports', 'weak_instrument', 'instrument_not_on_side',
    'no_instrument', 'stopped_srm'). The idle-gap one rests on a model that conditions on purchase and is never
    promoted by a test of conversion."""
    for rec in recs:
        rec.kind, rec.codes["evidence"] = "hypothesis", "observational"
        if readout is None or rec.status != SUPPORTED or rec.id not in PROMOTABLE:
            continue
        behaviour, side = PROMOTABLE[rec.id]
        iv = getattr(readout, "instrument", None)
        if getattr(readout, "decision", None) == "stopped_srm":
            rec.codes["experiment"] = "stopped_srm"
        elif iv is None or iv.behaviour != behaviour:
            rec.codes["experiment"] = "no_instrument"
        elif not iv.strong:
            rec.codes["experiment"] = "weak_instrument"
            rec.values["first_stage_f"] = iv.first_stage_f
        else:
            on_side = iv.effect_lo > 0 if side > 0 else iv.effect_hi < 0
            rec.codes["experiment"] = "instrument_supports" if on_side else "instrument_not_on_side"
            rec.values |= {"iv_effect": iv.effect, "iv_lo": iv.effect_lo, "iv_hi": iv.effect_hi}
            rec.values["first_stage_f"] = iv.first_stage_f
            if on_side:
                rec.kind, rec.codes["evidence"] = "action", "experiment"
    return recs


# The answer each recommendation rests on: its eligibility is that answer's (``needs.eligible``)
RESTS_ON = {
    "engagement_over_time": "03_conversion",
    "time_richer_content": "03_conversion",
    "time_shorter_path": "03_conversion",
    "segment_by_engagement": "03_conversion",
    "segment_by_time": "03_conversion",
    "idle_to_interaction": "04_spend",
    "styles_price_framing": "05_purchase_style",
}


def eligibility_gate(recs: list[Recommendation], upstream: dict, fit: Fitness | None = None) -> list[Recommendation]:
    """A supported recommendation stands only on an answer ``needs.eligible`` allows (the one rule): not one
    that is not estimable, capped for the data's shape, or badged low; else it is withdrawn, its codes kept."""
    for rec in recs:
        if rec.status != SUPPORTED:
            continue
        page = RESTS_ON[rec.id]
        answer = upstream.get(page)
        verdict = needs.assess(fit, page) if fit is not None else None
        ok = needs.eligible(answer.badge if answer is not None else None, verdict)
        if not ok.ok:
            rec.status, rec.reason = WITHDRAWN, "not_eligible"
            rec.codes["eligibility"] = ",".join(ok.codes)
    return recs


# --------------------------------------------------------------------------------------------
# Multiplicity: one test per recommendation, Holm across them
# --------------------------------------------------------------------------------------------


holm = stats.holm  # one Holm for the recommendations, the read-out and the comparison


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
    return stats.tost_p(estimate, lo90, hi90, margin, 0.90)


def _tested(rec: Recommendation, test: tuple[str, float | None, dict]) -> Recommendation:
    rec.test, rec.p_value, more = test
    rec.values |= more
    return rec


def _odds_test(conv: ConversionResult, feature: str, side: int) -> tuple[str, float | None, dict]:
    """03: the feature's odds ratio per SD beyond the no-effect band (above it for +1, either side for 0)."""
    e = conv.effect(feature) if conv.ok and conv.effects and conv.negligible_or else None
    if e is None or e.or_per_sd is None:
        return "", None, {}
    with np.errstate(divide="ignore"):  # a separated fit's interval can reach 0 or infinity: then p = 1
        estimate, lo, hi = np.log([e.or_per_sd, e.or_lo, e.or_hi])
    p = material_p(estimate, lo, hi, math.log(conv.negligible_or), side)
    return f"{feature}_or_{'above' if side > 0 else 'outside'}_band", p, {"negligible_or": conv.negligible_or}


def _idle_test(sp: SpendResult) -> tuple[str, float | None, dict]:
    """04: the longest idle gap's spend change per SD below the band in both models shown (the larger p)."""
    call = sp.verdicts.idle if sp.ok and sp.verdicts else None
    if call is None or call.lo is None:
        return "", None, {}
    band = math.log1p(sp.verdicts.negligible_pct / 100)
    shown = [(call.pct, call.lo, call.hi), (call.other_pct, call.other_lo, call.other_hi)]
    ps = [material_p(*np.log1p(np.array(x) / 100), band, -1) for x in shown if x[0] is not None]
    return "idle_spend_below_band", max(ps), {"negligible_pct": sp.verdicts.negligible_pct}


def _segment_test(contrast: dict | None) -> tuple[str, float | None, dict]:
    if contrast is None:
        return "", None, {}
    return "segment_contrast", contrast["p"], {}


def _style_test(st: StylesResult) -> tuple[str, float | None, dict]:
    """05: every duration and volume SMD within ±margin (TOST on each, the largest p: intersection-union)."""
    from helpers.analysis.purchase_styles import SIMILARITY_METRICS

    rows = [r for r in st.comparison or [] if r.column in SIMILARITY_METRICS] if st.ok else []
    if not rows or not st.equivalence_margin:
        return "", None, {}
    p = max(tost_p(r.smd, r.smd_lo90, r.smd_hi90, st.equivalence_margin) for r in rows)
    return "styles_tost", p, {"margin": st.equivalence_margin, "metrics": len(rows)}


HOLDS_ALONE = "holds_alone_not_in_family"  # the answer holds at alpha alone, not as one of the family's tests


def holm_gate(recs: list[Recommendation], alpha: float) -> list[Recommendation]:
    """Holm across every recommendation's test; a supported one whose adjusted p is not below ``alpha`` is withdrawn."""
    tested = [r for r in recs if r.p_value is not None]
    for rec, adjusted in zip(tested, holm([r.p_value for r in tested])):
        rec.p_holm = float(adjusted)
        if rec.status == SUPPORTED and adjusted >= alpha:
            rec.status, rec.reason = WITHDRAWN, "holm_adjusted"
            rec.values |= {"tests": len(tested), "alpha": alpha}
            if rec.p_value < alpha:  # its answer stands on its own test; only the family's adjustment rejects it
                rec.codes["family"] = HOLDS_ALONE
    return recs


def multiplicity_table(recs: list[Recommendation]) -> pd.DataFrame:
    """The family of tests behind the recommendations: each id, its test's code, its raw and Holm-adjusted p, the
    status (the page words the ids and tests)."""
    rows = [
        {"recommendation": r.id, "test": r.test, "p": r.p_value, "Holm-adjusted p": r.p_holm, "status": r.status}
        for r in recs
        if r.p_value is not None
    ]
    return pd.DataFrame(rows, columns=["recommendation", "test", "p", "Holm-adjusted p", "status"])


def _time_helps(conv: ConversionResult) -> bool:
    v = conv.verdicts
    return v.time == "positive" and (v.answer == "time" or v.time_adds == "yes")


def _conversion_impact(conv: ConversionResult, feature: str, mean_order: float | None) -> tuple[dict, dict]:
    """Points of conversion per extra unit with a CI, the odds ratio per SD, and USD per 1,000 sessions at the mean
    order value."""
    u = conv.unit(feature)
    values = {"points": u.points, "points_lo": u.lo, "points_hi": u.hi}
    e = next((e for e in conv.effects or [] if e.feature == feature), None)
    if e is not None and e.or_per_sd is not None:  # the odds ratio per SD that 'one SD' (``unit_changes``) sizes
        values |= {"or_per_sd": e.or_per_sd, "or_lo": e.or_lo, "or_hi": e.or_hi}
    if mean_order:
        values |= {"usd_per_1000": u.points / 100 * 1000 * mean_order, "mean_order": mean_order}
    return {"unit": u.unit}, values


def _engagement_rec(conv: ConversionResult, mean_order: float | None) -> Recommendation:
    rec = Recommendation("engagement_over_time", NOT_ESTIMATED, "no_fit_03", link="03_conversion.html#Findings")
    if not conv.ok:
        return rec
    v = conv.verdicts
    rec.codes = {"engagement": v.engagement, "time": v.time, "time_adds": v.time_adds}
    if v.answer == "engagement" and v.engagement == "positive" and not _time_helps(conv):
        unit, values = _conversion_impact(conv, "engagement", mean_order)
        rec.codes |= unit
        rec.values |= values
        rec.status, rec.reason = SUPPORTED, None
        return rec
    if not v.healthy:
        why = "fits_unhealthy"
    elif _time_helps(conv):
        why = "time_helps"
    elif v.engagement != "positive":
        why = "engagement_not_positive"
    else:
        why = "engagement_not_stronger"
    rec.status, rec.reason = WITHDRAWN, why
    return rec


TIME_RECS = {"positive": "time_richer_content", "negative": "time_shorter_path"}  # 03's time sign -> the id


def _time_rec(conv: ConversionResult, mean_order: float | None) -> Recommendation:
    """Content that holds attention (time positive) or a shorter path (time negative), when 03's answer is time."""
    sign = conv.verdicts.time if conv.ok and conv.verdicts.time in TIME_RECS else "positive"
    rec = Recommendation(TIME_RECS[sign], NOT_ESTIMATED, "no_fit_03", link="03_conversion.html#Findings")
    if not conv.ok:
        return rec
    v = conv.verdicts
    rec.codes = {"answer": v.answer, "time": v.time, "time_adds": v.time_adds}
    if v.answer == "time" and v.time in TIME_RECS:
        unit, values = _conversion_impact(conv, "time", mean_order)
        rec.codes |= unit
        rec.values |= values
        rec.status, rec.reason = SUPPORTED, None
        return rec
    rec.status, rec.reason = WITHDRAWN, "fits_unhealthy" if not v.healthy else "time_not_stronger"
    return rec


def _one_sd_shorter(mean_spend: float, call) -> tuple[float, float, float]:
    """USD per order, with its CI, for one SD less of a feature whose effect is ``call.pct`` % per SD more.

    The model is multiplicative (log spend): one SD less divides spend by (1 + pct / 100), so
    -23.6 % per SD longer is +30.9 % per SD shorter, not +23.6 %. The % is that of the mean order when
    04's USD come from the Gamma fit of the mean (``call.usd_from``), else the log-spend one.
    """
    less = lambda pct: mean_spend * (1 / (1 + pct / 100) - 1)  # noqa: E731
    if getattr(call, "usd_from", None) == "gamma_mean" and call.usd is not None and mean_spend:
        return tuple(less(100 * usd / mean_spend) for usd in (call.usd, call.usd_hi, call.usd_lo))
    return less(call.pct), less(call.hi), less(call.lo)


def _idle_rec(sp: SpendResult, conv: ConversionResult) -> Recommendation:
    rec = Recommendation("idle_to_interaction", NOT_ESTIMATED, "no_fit_04", link="04_spend.html#Findings")
    if not sp.ok:
        return rec
    v = sp.verdicts
    call = v.idle
    if call.verdict == "not available":
        rec.reason = "idle_not_available"
        return rec
    rec.codes = {"idle": call.verdict, "conditions_on": "purchase"}  # 04 models spend among buyers only
    rec.values = {"pct": call.pct, "pct_lo": call.lo, "pct_hi": call.hi, "negligible_pct": v.negligible_pct}
    if call.verdict == "depends":
        rec.values |= {"other_pct": call.other_pct}
    if call.verdict == "negative" and conv.ok and _time_helps(conv):
        rec.status, rec.reason = WITHDRAWN, "idle_shortens_time"
        return rec
    if call.verdict == "negative":
        usd, lo, hi = _one_sd_shorter(sp.mean_spend, call)
        rec.values |= {"usd_shorter": usd, "usd_shorter_lo": lo, "usd_shorter_hi": hi}
        rec.status, rec.reason = SUPPORTED, None
        return rec
    if call.verdict == "unclear" and v.reasons:
        rec.codes |= {"confounded": "yes" if v.confounded else "no", "healthy": "yes" if v.healthy else "no"}
        rec.status, rec.reason = WITHDRAWN, "spend_not_interpreted"
        return rec
    rec.status, rec.reason = WITHDRAWN, "idle_not_negative"
    return rec


def _segment_rec(
    low: dict, high: dict, cuts: dict, conv: ConversionResult, drive: str, contrast: dict | None = None
) -> Recommendation:
    link = "06_strategy.html#2-%C2%B7-Segments-by-the-driver-of-purchase"
    rec = Recommendation(f"segment_by_{drive}", NOT_ESTIMATED, "no_fit_03", link=link)
    rec.codes = {"driver": drive}
    rec.values = {
        "low": low["conversion"],
        "low_lo": low["conv_lo"],
        "low_hi": low["conv_hi"],
        "high": high["conversion"],
        "high_lo": high["conv_lo"],
        "high_hi": high["conv_hi"],
    }
    if not conv.ok:
        return rec
    if contrast is None:
        rec.reason = "no_thirds"
        return rec
    rec.values |= {"diff": contrast["diff"], "diff_lo": contrast["lo"], "diff_hi": contrast["hi"], "p": contrast["p"]}
    if conv.verdicts.answer != drive:
        rec.status, rec.reason = WITHDRAWN, "segment_not_driver"
        return rec
    rec.values |= {
        "low_max": cuts.get("low_max", math.nan),
        "high_min": cuts.get("high_min", math.nan),
        "points": (high["conversion"] - low["conversion"]) * 100,
        "usd_per_session": high["revenue_per_session"] - low["revenue_per_session"],
    }
    if contrast["lo"] > 0:
        rec.codes["converts_more"] = "high"
    elif contrast["hi"] < 0:
        rec.codes["converts_more"] = "low"
    else:
        rec.status, rec.reason = WITHDRAWN, "segment_ci_includes_zero"
        return rec
    rec.status, rec.reason = SUPPORTED, None
    return rec


STYLE_REASONS = {"different": "styles_differ", "inconclusive": "styles_inconclusive"}


def _style_rec(st: StylesResult) -> Recommendation:
    rec = Recommendation("styles_price_framing", NOT_ESTIMATED, "no_fit_05", link="05_purchase_style.html#Findings")
    if not st.ok:
        return rec
    v = st.verdicts
    rec.codes = {"browsing": v.browsing}
    rec.values = {"auc": v.behaviour_auc, "auc_p": v.behaviour_p}
    share = next((r["share_of_revenue"] for r in st.money or [] if r["style"] == "expensive-few"), None)
    if share is not None:
        rec.values["revenue_share"] = share
    if v.browsing == "similar":
        rec.status, rec.reason = SUPPORTED, None
        return rec
    rec.status, rec.reason = WITHDRAWN, STYLE_REASONS[v.browsing]
    return rec


COLLECT_MORE_DATA = "collect_more_data"  # the lever when the data lean toward none


def leans(conv: ConversionResult | None) -> str | None:
    """The lever 03's data lean toward without a supported recommendation, or None when they lean toward none.

    Interaction density when engagement's odds-ratio CI lies above 1 in the main window and its landmark
    check does not lie below 1; time before checkout when 03's answer is time. A lever whose CI (main or
    landmark) lies on the other side of 1 is never proposed: the data contradict it.
    """
    if conv is None or not conv.ok or not conv.effects:
        return None
    if conv.verdicts.answer == "time" and conv.verdicts.time in TIME_RECS:
        return "time_before_checkout"
    eng, lm = conv.effect("engagement"), conv.landmark
    against = lm is not None and lm.or_hi is not None and lm.or_hi < 1
    if eng.or_lo is not None and eng.or_lo > 1 and not against:
        return "interaction_density"
    return None


def fit_plan(
    plan: ExperimentPlan, recs: list[Recommendation], conv: ConversionResult | None, fit: Fitness | None
) -> ExperimentPlan:
    """The plan as these data allow it: with no supported recommendation, the lever the data lean toward or,
    when they lean toward none, collecting more data; without prices, no revenue guardrail."""
    if not any(r.status == SUPPORTED for r in recs) and leans(conv) != plan.lever:
        plan = dataclasses.replace(plan, lever=COLLECT_MORE_DATA, simulate=False, basis="no_lean", guardrails=[])
    if fit is not None and not fit.has_prices:
        plan.guardrails = [g for g in plan.guardrails if g != "revenue_per_session"]
    if hasattr(plan, "margins"):
        plan.margins = {g: m for g, m in plan.margins.items() if g in plan.guardrails}
    return plan


def experiment_plan(
    upstream: dict, guardrail_margin: float = 0.05, revenue_margin: float | None = None
) -> ExperimentPlan:
    """The experiment the evidence points to: lever, why that lever, metrics, and whether it is simulated.

    Every guardrail is a non-inferiority test with a named margin (``margins``): session duration may
    rise by less than ``guardrail_margin``; revenue per session and checkout completion may fall by
    less than ``revenue_margin`` (``guardrail_margin`` when not given).
    """
    revenue_margin = guardrail_margin if revenue_margin is None else revenue_margin
    margins = {
        "session_duration": guardrail_margin,
        "checkout_completion": revenue_margin,
        "revenue_per_session": revenue_margin,
    }
    conv = upstream.get("03_conversion")
    v = conv.verdicts if conv is not None and conv.ok else None
    if v and v.answer == "time" and v.time in TIME_RECS:
        return ExperimentPlan(
            lever="time_before_checkout",
            simulate=False,
            basis=f"time_{v.time}",
            guardrails=["checkout_completion", "revenue_per_session"],
            guardrail_margin=guardrail_margin,
            margins={g: margins[g] for g in ("checkout_completion", "revenue_per_session")},
        )
    return ExperimentPlan(
        lever="interaction_density",
        simulate=True,
        basis="engagement_positive" if v and v.engagement == "positive" else "exploratory",
        guardrails=["session_duration", "revenue_per_session"],
        guardrail_margin=guardrail_margin,
        margins={g: margins[g] for g in ("session_duration", "revenue_per_session")},
    )
