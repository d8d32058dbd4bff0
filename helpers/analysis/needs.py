"""What each question needs from the data, and what the data's fitness record leaves of it.

Usage::

    from helpers.data.fitness import measure
    from helpers.analysis import needs
    fit = measure(paths.raw_dir(run), paths.gold_dir(run))
    verdict = needs.assess(fit, "03_conversion")        # Verdict: not_estimable, cap, reasons with values
    badge = needs.cap_badge(badge, verdict)              # never above the cap; each reason a failed Rule
    result = needs.apply(result, fit)                    # 04, 05: not estimable, or the badge capped
    days = needs.own_rate_runtime_days(fit, baseline, relative_mde=0.10, alpha=0.05, power=0.8)
    sizing = needs.assess(fit, "06_sizing", runtime_days=days)   # None when the store's daily traffic was given
    needs.eligible(answer.badge, verdict).ok           # may a recommendation rest on this answer?

A need that is missing makes the answer not estimable (``Verdict.not_estimable``); one that is
weakened caps its badge at ``CAP_LEVEL`` (never 'high'). Each reason is a code with the value
that triggered it and the threshold it crossed (the settings of :class:`Limits`); pages word the
codes. Only the data's shape caps: realism bands (``Fitness.outside_bands``) inform, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from helpers.analysis.results import Badge, Record, Rule
from helpers.data.fitness import LAID_OUT, MONTHS, NO_TIMES, SECONDS, Fitness

# Reason codes
NO_CHECKOUT_STEP = "no_checkout_step"  # time before purchase includes buying
NO_LANDMARK_WINDOW = "no_landmark_window"  # no recorded event timing, or too few buyers active at the landmark
NO_BROWSING_BEFORE_PURCHASE = "no_browsing_before_purchase"  # (nearly) every purchase stands alone
THINNED_LOG = "thinned_log"  # many purchases stand alone: a thinned or split log
NO_PRICES = "no_prices"  # no price column, a constant price, or the 0/1 purchase flag
NO_PRODUCTS = "no_products"
NO_EVENT_TIMING = "no_event_timing"  # one row per session: events laid out by the importer
NO_USER_IDS = "no_user_ids"  # no design effect: sized with an assumption
ONE_ROW_PER_USER = "one_row_per_user"  # a per-user export: no repeat visits to measure a design effect
FEW_SESSIONS_PER_USER = "few_sessions_per_user"  # under two on average: no design effect either
SHORT_SPAN = "short_span"  # under a day of data
NO_WHOLE_WEEK = "no_whole_week"  # a day or more, but not one whole week
EDGE_CUT = "edge_cut"  # many sessions may be cut at the slice's edges
DATES_ONLY = "dates_only"  # session starts known to the day or the month only
NO_TIMESTAMPS = "no_timestamps"  # no session start times at all: span and daily traffic unknown
SAMPLE_RATE = "sample_rate"  # the data's own daily rate sizes the experiment at more than a year

CAP_LEVEL = "medium"  # the highest badge an answer with a weakened need may carry
LEVELS = ("none", "low", "medium", "high")


@dataclass(frozen=True)
class Limits:
    """The thresholds of the needs, as named settings."""

    max_share_purchases_without_browsing: float = 0.25  # above: the log looks thinned (cap)
    max_share_purchases_without_browsing_estimable: float = 0.90  # above: no browsing to compare (not estimable)
    min_checkout_share_of_buyers: float = 0.50  # below: no distinct checkout step
    min_landmark_buyers: int = 10  # buyers still active at the landmark, for a landmark window
    min_span_hours: float = 24.0
    min_whole_weeks: int = 1  # 06's sizing
    max_edge_share: float = 0.10  # sessions within the edge margin of the slice's first or last event
    min_sessions_per_user: float = 2.0  # below: no design effect
    max_runtime_days: float = 365.0  # above, at the data's own rate: the data look like a sample


LIMITS = Limits()


@dataclass
class Reason(Record):
    """One reason code, the value that triggered it and the threshold it crossed (None where a flag decides)."""

    code: str
    value: float | str | bool | None = None
    threshold: float | None = None

    def rule(self) -> Rule:
        """The reason as a failed badge rule (a code's value that is not a number stays out of the rule)."""
        number = self.value if isinstance(self.value, (int, float)) and not isinstance(self.value, bool) else None
        return Rule(self.code, False, number, self.threshold)


@dataclass
class Verdict(Record):
    """What the data leave of a question: not estimable (reasons), capped (reasons, level), or neither."""

    question: str
    not_estimable: list[Reason] = field(default_factory=list)
    capped: list[Reason] = field(default_factory=list)
    cap: str | None = None  # the highest badge allowed; None when nothing is capped

    @property
    def estimable(self) -> bool:
        return not self.not_estimable

    @property
    def codes(self) -> list[str]:
        """Every reason code, the missing needs first."""
        return [r.code for r in self.not_estimable + self.capped]

    @property
    def fit(self) -> bool:
        """Nothing missing and nothing capped."""
        return not self.not_estimable and not self.capped


# --------------------------------------------------------------------------------------------
# The needs: each returns the reasons it finds, as (missing, weakened)
# --------------------------------------------------------------------------------------------


def _browsing_before_purchase(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    share = f.share_purchases_without_browsing
    if share is None:
        return [], []
    if share > lim.max_share_purchases_without_browsing_estimable:
        return [Reason(NO_BROWSING_BEFORE_PURCHASE, share, lim.max_share_purchases_without_browsing_estimable)], []
    if share > lim.max_share_purchases_without_browsing:
        return [], [Reason(THINNED_LOG, share, lim.max_share_purchases_without_browsing)]
    return [], []


def _checkout_or_landmark(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    share = f.checkout_share_of_buyers or 0.0
    if share >= lim.min_checkout_share_of_buyers:
        return [], []
    no_checkout = Reason(NO_CHECKOUT_STEP, share, lim.min_checkout_share_of_buyers)
    if f.event_timing == LAID_OUT:
        return [no_checkout, Reason(NO_LANDMARK_WINDOW, LAID_OUT)], []
    if f.landmark_at_risk_buyers < lim.min_landmark_buyers:
        return [no_checkout, Reason(NO_LANDMARK_WINDOW, f.landmark_at_risk_buyers, lim.min_landmark_buyers)], []
    return [], [no_checkout]  # the landmark window stands in for the checkout; time before purchase includes buying


def _checkout_step(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    """05 compares browsing before checkout and has no landmark to fall back on: without a checkout
    step its durations include buying, so the answer stands but is capped."""
    share = f.checkout_share_of_buyers or 0.0
    if share >= lim.min_checkout_share_of_buyers:
        return [], []
    return [], [Reason(NO_CHECKOUT_STEP, share, lim.min_checkout_share_of_buyers)]


def _times_within_day(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    if f.timestamp_resolution == NO_TIMES:
        return [], [Reason(NO_TIMESTAMPS, NO_TIMES)]
    if f.timestamp_resolution != SECONDS:
        return [], [Reason(DATES_ONLY, f.timestamp_resolution)]
    return [], []


def _whole_day_uncut(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    capped = []
    if f.span_hours is not None and f.span_hours < lim.min_span_hours:
        capped.append(Reason(SHORT_SPAN, f.span_hours, lim.min_span_hours))
    if f.edge_share is not None and f.edge_share > lim.max_edge_share:
        capped.append(Reason(EDGE_CUT, f.edge_share, lim.max_edge_share))
    return [], capped


def _prices(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    return ([], []) if f.has_prices else ([Reason(NO_PRICES, f.price_kind)], [])


def _products(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    return ([], []) if f.has_products else ([Reason(NO_PRODUCTS, False)], [])


def _event_timing(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    return ([Reason(NO_EVENT_TIMING, f.event_timing)], []) if f.event_timing == LAID_OUT else ([], [])


def _whole_weeks(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    if f.timestamp_resolution == NO_TIMES:
        return [Reason(NO_TIMESTAMPS, NO_TIMES)], []
    if f.timestamp_resolution == MONTHS:
        return [Reason(DATES_ONLY, MONTHS)], []
    if f.span_hours < lim.min_span_hours:
        return [Reason(SHORT_SPAN, f.span_hours, lim.min_span_hours)], []
    if (f.whole_weeks or 0) < lim.min_whole_weeks:
        return [], [Reason(NO_WHOLE_WEEK, f.whole_weeks, lim.min_whole_weeks)]
    return [], []


def _user_ids(f: Fitness, lim: Limits) -> tuple[list[Reason], list[Reason]]:
    if f.one_row_per_user:
        return [], [Reason(ONE_ROW_PER_USER, True)]
    if not f.has_user_ids:
        return [], [Reason(NO_USER_IDS, False)]
    if (f.sessions_per_user or 0.0) < lim.min_sessions_per_user:
        return [], [Reason(FEW_SESSIONS_PER_USER, f.sessions_per_user, lim.min_sessions_per_user)]
    return [], []


NEED_CHECKS = {
    "browsing_before_purchase": _browsing_before_purchase,
    "checkout_or_landmark": _checkout_or_landmark,
    "checkout_step": _checkout_step,
    "times_within_day": _times_within_day,
    "whole_day_uncut": _whole_day_uncut,
    "prices": _prices,
    "products": _products,
    "event_timing": _event_timing,
    "whole_weeks": _whole_weeks,
    "user_ids": _user_ids,
}

# What each question needs. 06's sizing also needs a runtime within a year at the data's own rate
# (``runtime_days`` of ``assess``); its recommendations rest on the answers of 03-05 (``eligible``).
NEEDS: dict[str, tuple[str, ...]] = {
    "03_conversion": ("browsing_before_purchase", "checkout_or_landmark", "times_within_day", "whole_day_uncut"),
    "04_spend": ("prices", "whole_day_uncut"),
    "05_purchase_style": (
        "prices",
        "products",
        "browsing_before_purchase",  # 05 compares the styles' browsing: a thinned log has little to compare
        "checkout_step",  # its durations run to checkout: without one they include buying
        "event_timing",
        "times_within_day",
        "whole_day_uncut",
    ),
    "06_sizing": ("whole_weeks", "user_ids"),
}


def assess(fit: Fitness, question: str, runtime_days: float | None = None, limits: Limits = LIMITS) -> Verdict:
    """Whether ``question`` can be answered from data of this fitness, and how high its badge may go.

    ``runtime_days`` (06's sizing only) is the experiment's runtime at the data's own daily rate
    (``own_rate_runtime_days``); pass None when the store's daily traffic was given instead.
    """
    if question not in NEEDS:
        raise ValueError(f"unknown question {question!r}; known: {', '.join(NEEDS)}")
    missing: list[Reason] = []
    weakened: list[Reason] = []
    for need in NEEDS[question]:
        m, w = NEED_CHECKS[need](fit, limits)
        missing += [r for r in m if r.code not in {x.code for x in missing}]
        weakened += [r for r in w if r.code not in {x.code for x in weakened}]
    if question == "06_sizing" and runtime_days is not None and runtime_days > limits.max_runtime_days:
        missing.append(Reason(SAMPLE_RATE, runtime_days, limits.max_runtime_days))
    return Verdict(question, missing, weakened, CAP_LEVEL if weakened else None)


def own_rate_runtime_days(
    fit: Fitness, baseline: float, relative_mde: float, alpha: float, power: float, design_effect: float = 1.0
) -> float | None:
    """Days an A/B test of two arms would run at the data's own sessions per day; None without a daily rate."""
    if not fit.sessions_per_day or not 0 < baseline < 1:
        return None
    from helpers.analysis.experiment import sample_size

    return 2 * sample_size(baseline, relative_mde, alpha, power, design_effect) / fit.sessions_per_day


def cap_badge(badge: Badge, verdict: Verdict) -> Badge:
    """``badge`` no higher than the verdict's cap, each reason a failed rule beside it (the same badge if fit).

    Not estimable gives 'none' with the missing needs as its failed rules.
    """
    if verdict.not_estimable:
        return Badge("none", [*badge.rules, *(r.rule() for r in verdict.not_estimable)])
    if verdict.cap is None:
        return badge
    level = min(badge.level, verdict.cap, key=LEVELS.index)
    return replace(badge, level=level, rules=[*badge.rules, *(r.rule() for r in verdict.capped)])


NOT_ESTIMABLE_STATUS = "not estimable"  # an analysis result's status when its data lack a need


def apply(result, fit: Fitness | None, question: str | None = None):
    """``result`` (an analysis's, with ``status``, ``reason``, ``badge``) as the data's fitness leaves it.

    A missing need makes a result that ran not estimable, its reason the missing needs' codes joined by
    ', ' (a result the analysis itself could not estimate, say for too few buyers, keeps that reason: it is
    what stops the answer first; the front page lists the data's gaps anyway); the badge is capped
    (``cap_badge``). No record (``fit`` None): ``result`` unchanged.
    """
    if fit is None:
        return result
    verdict = assess(fit, question or result.NOTEBOOK)
    if verdict.not_estimable and result.status == "ok":
        result.status, result.reason = NOT_ESTIMABLE_STATUS, ", ".join(r.code for r in verdict.not_estimable)
    result.badge = cap_badge(result.badge, verdict)
    return result


@dataclass
class Eligibility(Record):
    """Whether a recommendation may rest on an answer, and the codes that say why not."""

    ok: bool
    codes: list[str] = field(default_factory=list)


NOT_ESTIMABLE, SHAPE_CAP, LOW_BADGE = "not_estimable", "shape_cap", "low_badge"


def eligible(badge: Badge | None, verdict: Verdict | None = None) -> Eligibility:
    """May a recommendation rest on this answer? Not when it is not estimable, capped for the data's shape,
    or badged low (or none)."""
    codes = []
    if verdict is not None and verdict.not_estimable:
        codes.append(NOT_ESTIMABLE)
    if verdict is not None and verdict.capped:
        codes.append(SHAPE_CAP)
    if badge is None or LEVELS.index(badge.level) <= LEVELS.index("low"):
        codes.append(LOW_BADGE)
    return Eligibility(not codes, codes)
