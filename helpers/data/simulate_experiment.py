"""An experiment log of the planned lever (interaction density) in the simulator's world, with its truth.

Usage::

    python -m helpers.data.simulate_experiment --out data/examples/experiment.csv   # event log + mapping YAML

    from helpers.data.simulate_experiment import ExperimentDesign, simulate_experiment
    data = simulate_experiment(ExperimentDesign(users=20_000, density_lift=0.15, pre_period_days=14))
    data.sessions      # one row per session, gold columns plus `variant` and `exposed_at`
    data.truth         # ExperimentTruth: true conversions per arm, their difference, the behaviour effect
    data.write_raw(folder)  # the raw tables (sessions carry `variant`, `exposed_at`) as Parquet

Each of ``users`` users is assigned once, treatment with probability ``treatment_share`` (set it
away from the planned split to inject an assignment imbalance), and has ``1 + Poisson(m - 1)``
sessions in the test's ``days`` (``m = sessions_per_user``); the first of them is the user's
exposure. A treated session browses with interaction density raised by ``density_lift``
(``SimConfig.density_lift``: more events at a faster pace); everything else follows
``helpers.data.simulate`` unchanged, one ``simulate_chunk`` call per arm on the same users, product
catalogue and purchase intercept (calibrated on the untreated world). With ``pre_period_days`` > 0
each user also has ``Poisson(pre_sessions_per_user)`` untreated sessions in the days before the
start; users keep their traits and lasting propensities (``user_trait_share``, ``user_effect_sd``),
so the pre-period predicts the test period.

The truth is population-level: the share of purchasing sessions in each arm (the simulator's own
purchase probabilities averaged over ``TRUTH_SESSIONS`` sessions, the same mean as over users by
construction of the bridge distribution) and the mean of the behaviour the lever moves and purchase
depends on, ``log1p`` of the browsing events before checkout (03's engagement; the lever adds
interactions at the same time on site). Their ratio, the Wald estimand, is the true effect of that
behaviour on purchase which an instrumental-variable read-out with the variant as instrument
estimates: the lever acts on purchase only through it (pace does not enter the purchase model
while ``time_effect`` is 0).

``sessions`` holds the gold columns a read-out needs, computed from the raw arrays with the gold
table's definitions (``helpers/data/sql/gold_table.sql``); ``write_raw`` then ``build_gold`` gives
the same values (tested).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data import simulate
from helpers.data.records import Record
from helpers.errors import ParameterError

CONTROL, TREATMENT = "control", "treatment"
TRUTH_SESSIONS = 500_000  # sessions per arm behind the true values (Monte Carlo SE of the difference ~4e-5)
SESSION_COLUMNS = [
    "session_id",
    "user_id",
    "started_at",
    "variant",
    "exposed_at",
    "did_purchase",
    "amount_usd",
    "event_count",
    "session_seconds",
    "pre_conversion_event_count",
    "pre_conversion_seconds",
    "pre_conversion_max_idle_seconds",
]
# The world of an experiment: users who come back and resemble themselves, so a pre-period predicts.
WORLD = {"user_effect_sd": 1.5, "user_trait_share": 0.5}


@dataclass(frozen=True)
class ExperimentDesign:
    """Size, lever, assignment and pre-period of one simulated experiment; ``world`` overrides simulator knobs."""

    users: int = 20_000  # users assigned and exposed
    sessions_per_user: float = 3.0  # mean sessions per user during the test (at least one)
    density_lift: float = 0.15  # the lever: relative rise in interaction density of treated sessions
    treatment_share: float = 0.5  # probability of treatment (away from the plan's split: an imbalance)
    days: int = 14  # length of the test
    start_date: str = "2026-02-02"  # first day of the test
    pre_period_days: int = 0  # days of untreated sessions before the start (0: no pre-period)
    pre_sessions_per_user: float = 2.0  # mean sessions per user in the pre-period (Poisson, may be 0)
    seed: int = 1
    world: tuple[tuple[str, float], ...] = tuple(WORLD.items())  # simulator knobs, as (name, value) pairs

    def __post_init__(self):
        if not isinstance(self.users, int) or self.users < 2:
            raise ParameterError(f"parameter 'users' must be an integer of at least 2, got {self.users!r}")
        if not 0.0 < self.treatment_share < 1.0:
            raise ParameterError(f"parameter 'treatment_share' must be between 0 and 1, got {self.treatment_share!r}")
        if self.sessions_per_user < 1.0:
            raise ParameterError(f"parameter 'sessions_per_user' must be at least 1, got {self.sessions_per_user!r}")
        if self.days < 1 or self.pre_period_days < 0:
            raise ParameterError(f"parameters 'days' and 'pre_period_days' must be >= 1 and >= 0, got {self.days!r}")
        self.config()  # the world's knobs are checked by SimConfig

    def config(self, density_lift: float = 0.0) -> simulate.SimConfig:
        """The simulator's config of this design's world (``n_sessions`` sized so that it holds ``users`` users)."""
        n_sessions = max(int(round(self.users * self.sessions_per_user)), self.users)
        return simulate.SimConfig(
            **dict(self.world)
            | {
                "n_sessions": n_sessions,
                "sessions_per_user": n_sessions / self.users,  # so that simulate.Users holds exactly ``users``
                "seed": int(self.seed),
                "n_days": int(self.days),
                "start_date": self.start_date,
                "density_lift": float(density_lift),
            }
        )


@dataclass
class ExperimentTruth(Record):
    """What the simulated experiment's read-out should find, at population level."""

    density_lift: float
    treatment_share: float
    control_conversion: float  # share of purchasing sessions
    treatment_conversion: float
    conversion_diff: float
    conversion_lift: float  # relative
    control_behaviour: float  # mean log1p(browsing events before checkout) per session
    treatment_behaviour: float
    behaviour_diff: float
    behaviour_effect: float  # Wald estimand: conversion_diff / behaviour_diff (nan without a lift)
    intercept: float
    behaviour: str = "log_browsing_events"


@dataclass
class ExperimentData:
    """A simulated experiment: its raw tables, its session table and its truth."""

    design: ExperimentDesign
    sessions: pd.DataFrame
    truth: ExperimentTruth
    raw: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)

    def write_raw(self, folder: Path) -> Path:
        """The raw tables as Parquet under ``folder`` (``sessions`` carries ``variant`` and ``exposed_at``)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self.raw.items():
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        return folder


# --------------------------------------------------------------------------------------------
# Assignment
# --------------------------------------------------------------------------------------------


def assign(users: int, treatment_share: float, rng: np.random.Generator) -> np.ndarray:
    """Each user's arm, 1 treatment with probability ``treatment_share``, else 0."""
    return (rng.random(users) < treatment_share).astype(np.int8)


# --------------------------------------------------------------------------------------------
# The log
# --------------------------------------------------------------------------------------------


def simulate_experiment(design: ExperimentDesign, raw: bool = True) -> ExperimentData:
    """Simulate ``design``: users assigned, their pre-period and test sessions, the session table and the truth.

    ``raw=False`` keeps only the session table (faster for many replications).
    """
    cfg = design.config()
    intercept = purchase_intercept(cfg)
    seeds = np.random.SeedSequence([design.seed, 0xE7]).spawn(5)
    rng = np.random.default_rng(seeds[0])
    arm = assign(design.users, design.treatment_share, rng)
    catalogue_products = simulate.simulate_products(cfg, np.random.default_rng(seeds[1]))
    catalogue = simulate._Catalogue(catalogue_products)
    users = simulate.Users(cfg)

    per_user = 1 + rng.poisson(design.sessions_per_user - 1.0, design.users)
    test_user = np.repeat(np.arange(design.users), per_user)
    parts = []
    if design.pre_period_days > 0:
        pre_user = np.repeat(np.arange(design.users), rng.poisson(design.pre_sessions_per_user, design.users))
        start = np.datetime64(design.start_date, "D") - np.timedelta64(design.pre_period_days, "D")
        pre_cfg = dataclasses.replace(cfg, start_date=str(start), n_days=design.pre_period_days)
        parts.append((pre_cfg, pre_user, seeds[2]))
    parts.append((cfg, test_user[arm[test_user] == 0], seeds[3]))
    parts.append((design.config(design.density_lift), test_user[arm[test_user] == 1], seeds[4]))

    ids = {"session": 1, "event": 1, "order": 1}
    chunks = []
    for part_cfg, user, seed in parts:
        if user.size == 0:
            continue
        tables = simulate.simulate_chunk(
            part_cfg,
            int(user.size),
            np.random.default_rng(seed),
            catalogue,
            intercept,
            users,
            user,
            ids["session"],
            ids["event"],
            ids["order"],
        )
        ids["session"] += user.size
        ids["event"] += tables["events"]["event_id"].size
        ids["order"] += tables["orders"]["order_id"].size
        chunks.append(tables)

    sessions = session_table(chunks)
    variant = np.where(arm == 1, TREATMENT, CONTROL)
    sessions["variant"] = variant[sessions["user_id"].to_numpy() - 1]
    in_test = sessions["started_at"] >= pd.Timestamp(design.start_date)
    exposed = sessions["started_at"].where(in_test).groupby(sessions["user_id"]).transform("min")
    sessions["exposed_at"] = exposed
    sessions = sessions[SESSION_COLUMNS].sort_values("session_id", ignore_index=True)
    frames = raw_frames(chunks, catalogue_products, sessions) if raw else {}
    return ExperimentData(design, sessions, true_effects(design, intercept), frames)


def session_table(chunks: list[dict]) -> pd.DataFrame:
    """The gold columns a read-out needs, from the simulator's raw arrays (events laid out by session, in time).

    The simulator's browsing events are its page views, which come before any cart, checkout or
    purchase event of their session; so the gold table's pre-checkout browsing is each session's
    page views, its longest idle gap the longest gap between consecutive page views.
    """
    frames = []
    for tables in chunks:
        s, e, o = tables["sessions"], tables["events"], tables["orders"]
        n = s["session_id"].size
        first = s["session_id"][0]
        code = e["session_id"] - first
        counts = np.bincount(code, minlength=n)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        is_view = e["event_type"] == "page_view"
        views = np.bincount(code, weights=is_view, minlength=n).astype(np.int64)
        ts = e["ts"].astype("datetime64[ms]").astype(np.int64)
        t0 = s["started_at"].astype("datetime64[ms]").astype(np.int64)
        last = ts[starts + counts - 1]
        last_view = ts[starts + np.maximum(views, 1) - 1]
        gap = np.diff(ts, prepend=ts[0]).astype(float) / 1000.0
        gap[starts] = 0.0
        gap = np.where(is_view, gap, 0.0)
        idle = np.maximum.reduceat(gap, starts)
        bought = np.zeros(n, bool)
        amount = np.zeros(n)
        ocode = o["session_id"] - first
        bought[ocode] = True
        np.add.at(amount, ocode, o["total_usd"])
        frames.append(
            pd.DataFrame(
                {
                    "session_id": s["session_id"],
                    "user_id": s["user_id"],
                    "started_at": s["started_at"].astype("datetime64[ms]"),
                    "did_purchase": bought.astype(np.int64),
                    "amount_usd": amount,
                    "event_count": counts.astype(np.int64),
                    "session_seconds": (last - t0) / 1000.0,
                    "pre_conversion_event_count": views,
                    "pre_conversion_seconds": np.where(views > 0, (last_view - t0) / 1000.0, 0.0),
                    "pre_conversion_max_idle_seconds": idle,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def raw_frames(chunks: list[dict], products: dict, sessions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The raw tables of the log; ``sessions`` gains each user's ``variant`` and ``exposed_at``."""
    out = {}
    for name in ("sessions", "events", "orders", "order_items"):
        out[name] = pd.concat(
            [simulate._to_arrow(tables[name], name).to_pandas() for tables in chunks], ignore_index=True
        )
    out["sessions"] = out["sessions"].merge(sessions[["session_id", "variant", "exposed_at"]], on="session_id")
    out["products"] = pd.DataFrame(
        {
            "product_id": products["product_id"],
            "category": products["category"].astype(str),
            "price_usd": products["price_cents"] / 100.0,
            "cost_usd": products["cost_cents"] / 100.0,
        }
    )
    return out


# --------------------------------------------------------------------------------------------
# The truth
# --------------------------------------------------------------------------------------------


def purchase_intercept(cfg: simulate.SimConfig) -> float:
    """The purchase intercept of ``cfg``'s untreated world, calibrated once per world (not per seed or size)."""
    return _intercept(world_key(cfg))


def world_key(cfg: simulate.SimConfig) -> simulate.SimConfig:
    """``cfg`` without what leaves browsing and purchase probabilities as they are (size, seed, dates, lift)."""
    return dataclasses.replace(
        cfg, seed=0, n_sessions=100_000, sessions_per_user=3.0, n_days=28, start_date="2026-01-05", density_lift=0.0
    )


@functools.lru_cache(maxsize=16)
def _intercept(cfg: simulate.SimConfig) -> float:
    return simulate.calibrate_intercept(cfg)


def behaviour(events) -> np.ndarray:
    """The behaviour of each session that the IV instruments: log1p of its browsing events before checkout."""
    return np.log1p(np.asarray(events, float))


def true_effects(design: ExperimentDesign, intercept: float) -> ExperimentTruth:
    """The population truth of ``design``'s world (cached per world and lift)."""
    values = _truth(world_key(design.config()), float(design.density_lift), intercept)
    return ExperimentTruth(density_lift=design.density_lift, treatment_share=design.treatment_share, **values)


@functools.lru_cache(maxsize=16)
def _truth(world: simulate.SimConfig, lift: float, intercept: float) -> dict:
    means = {}
    for name, value in (("control", 0.0), ("treatment", lift)):
        cfg = dataclasses.replace(world, density_lift=value)
        rng = np.random.default_rng(np.random.SeedSequence([0x7E57, 1]))
        p_sum = b_sum = 0.0
        step = simulate.CHUNK_SESSIONS
        for _ in range(math.ceil(TRUTH_SESSIONS / step)):
            b = simulate.browse(cfg, step, rng)
            p_sum += simulate.purchase_probability(cfg, intercept, b).sum()
            b_sum += behaviour(b["k_pre"]).sum()
        total = step * math.ceil(TRUTH_SESSIONS / step)
        means[name] = (float(p_sum / total), float(b_sum / total))
    (p0, b0), (p1, b1) = means["control"], means["treatment"]
    return {
        "control_conversion": p0,
        "treatment_conversion": p1,
        "conversion_diff": p1 - p0,
        "conversion_lift": p1 / p0 - 1,
        "control_behaviour": b0,
        "treatment_behaviour": b1,
        "behaviour_diff": b1 - b0,
        "behaviour_effect": (p1 - p0) / (b1 - b0) if lift != 0 else float("nan"),
        "intercept": intercept,
    }


# --------------------------------------------------------------------------------------------
# An example export: the log as a flat event log with its mapping
# --------------------------------------------------------------------------------------------

MAPPING_YAML = """\
# The simulated experiment's event log (helpers/data/simulate_experiment.py): which column plays which role.
columns:
  session_id: session_id
  user_id: user_id
  timestamp: event_time
  event_type: event_name
  product_id: product_id
  price: price
  quantity: quantity
  order_id: order_id
  device: device
  traffic_source: traffic_source
  variant: variant          # the user's arm: control or treatment
  exposed_at: exposed_at    # the user's first exposure; sessions before it are the pre-period
event_types:
  page_view: [page_view]
  add_to_cart: [add_to_cart]
  checkout: [checkout]
  purchase: [purchase]
"""


def event_log(data: ExperimentData) -> pd.DataFrame:
    """The experiment's raw tables as one flat event log: one row per event, one per purchased item.

    Times are written in UTC with their zone. An order's items carry prices scaled so that they add
    up to the order's total (the simulator's total is the items' value times a factor of the session).
    """
    raw = data.raw
    sessions = raw["sessions"][["session_id", "user_id", "device", "traffic_source", "variant", "exposed_at"]]
    browse = raw["events"][raw["events"]["event_type"] != "purchase"]
    browse = browse.rename(columns={"ts": "event_time", "event_type": "event_name"}).drop(columns="event_id")
    items = raw["order_items"].merge(raw["orders"], on="order_id")
    value = (items["quantity"] * items["unit_price_usd"]).groupby(items["order_id"]).transform("sum")
    items = items.assign(
        event_time=items["ordered_at"],
        event_name="purchase",
        price=(items["unit_price_usd"] * items["total_usd"] / value).round(4),
    )
    buys = items[["session_id", "event_time", "event_name", "product_id", "price", "quantity", "order_id"]]
    log = pd.concat([browse, buys], ignore_index=True).merge(sessions, on="session_id")
    log = log.sort_values(["event_time", "session_id"], kind="stable", ignore_index=True)
    for column in ("event_time", "exposed_at"):
        text = log[column].dt.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-3] + " UTC"
        log[column] = text.where(log[column].notna(), "")
    log["product_id"] = log["product_id"].astype("Int64")
    log["order_id"] = log["order_id"].astype("Int64")
    log["quantity"] = log["quantity"].astype("Int64")
    columns = ["event_time", "user_id", "session_id", "event_name", "product_id", "price", "quantity", "order_id"]
    return log[columns + ["device", "traffic_source", "variant", "exposed_at"]]


def write_example(out: Path, design: ExperimentDesign) -> tuple[Path, Path]:
    """Write ``out`` (a CSV event log), ``<out stem>.yaml`` (its mapping) and ``<out stem>_truth.json``."""
    from helpers.data.files import write_json

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = simulate_experiment(design)
    event_log(data).to_csv(out, index=False)
    mapping = out.with_suffix(".yaml")
    mapping.write_text(MAPPING_YAML, encoding="utf-8")
    write_json(
        {"design": dataclasses.asdict(design), "truth": data.truth.to_json()}, out.with_name(f"{out.stem}_truth.json")
    )
    return out, mapping


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Write a simulated experiment's event log and its mapping.")
    parser.add_argument("--out", type=Path, default=Path("data/examples/experiment.csv"), help="the CSV to write")
    parser.add_argument("--users", type=int, default=6_000, help="users assigned")
    parser.add_argument("--density-lift", type=float, default=0.15, help="the lever: rise in interaction density")
    parser.add_argument("--treatment-share", type=float, default=0.5, help="share assigned to treatment")
    parser.add_argument("--days", type=int, default=14, help="days of the test")
    parser.add_argument("--pre-period-days", type=int, default=14, help="days of untreated sessions before it")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    design = ExperimentDesign(
        users=args.users,
        density_lift=args.density_lift,
        treatment_share=args.treatment_share,
        days=args.days,
        pre_period_days=args.pre_period_days,
        seed=args.seed,
    )
    log, mapping = write_example(args.out, design)
    print(f"wrote {log} and its mapping {mapping}")
    print(f'read it out: make report RUN=exp EVENT_LOG={log} MAPPING={mapping} PARAMS="plan_run=default"')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
