"""Inputs in the shapes real exports take, each as a user would give it (a file and a mapping or preset).

Usage::

    from tests import shapefixtures
    shape = shapefixtures.build("thinned_log", tmp_path)     # writes the file and the mapping
    shapefixtures.to_raw(shape, tmp_path / "raw")            # through the importer, as 01 does

Every shape is cut from one small simulated shop (``base_frames``), so what each holds is known
by construction and kept in ``Shape.facts`` for the tests to check the fitness record against:

- ``session_table_months``: one row per session (pages, seconds, a 0/1 purchase flag that is also
  mapped as the revenue, as in public session tables), months only, no checkout, no user ids;
- ``thinned_log``: an event log where most purchases stand alone (about 1.5 events per session,
  about 65 % single-event sessions), no prices;
- ``night_slice``: a REES46-style log (preset ``rees46``) of 00:00-02:50 UTC, sessions cut at both
  edges, prices, no checkout step;
- ``no_user_ids``: an event log with session ids, prices and a checkout step, but no user id column;
- ``sparse_sample``: a few dozen sessions a day spread over five months, no prices;
- ``simulated``: the simulator's default world, written as raw tables (every need present).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.ingest import import_data
from helpers.data.simulate import SimConfig, simulate_frames, simulate_to_parquet

NAMES = {"page_view": "view", "add_to_cart": "cart", "checkout": "checkout", "purchase": "buy", "other": "other"}
EVENT_TYPES = "event_types: {page_view: [view], add_to_cart: [cart], checkout: [checkout], purchase: [buy]}\n"


@dataclass
class Shape:
    """One input: its kind ('event_log', 'session_table' or 'simulator'), file, mapping or preset, and facts."""

    name: str
    kind: str
    path: Path
    mapping: Path | None = None
    preset: str = ""
    facts: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def base_frames() -> dict[str, pd.DataFrame]:
    """The small simulated shop every shape is cut from (read-only: shapes copy what they change)."""
    return simulate_frames(SimConfig(n_sessions=6000, seed=33))


def flat_log(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per event (one per purchased item for purchases): sid, uid, when, name, item, price, qty."""
    sessions = frames["sessions"][["session_id", "user_id", "started_at"]]
    ev = frames["events"][frames["events"]["event_type"] != "purchase"].merge(sessions, on="session_id")
    prices = frames["products"].set_index("product_id")["price_usd"]
    browse = pd.DataFrame(
        {
            "session_id": ev["session_id"],
            "uid": "u" + ev["user_id"].astype(str),
            "when": ev["ts"],
            "name": ev["event_type"].map(NAMES),
            "item": ev["product_id"].astype("Int64"),
            "price": ev["product_id"].map(prices).round(2),
            "qty": 1,
        }
    )
    items = frames["order_items"].merge(frames["orders"], on="order_id").merge(sessions, on="session_id")
    buys = pd.DataFrame(
        {
            "session_id": items["session_id"],
            "uid": "u" + items["user_id"].astype(str),
            "when": items["ordered_at"],
            "name": "buy",
            "item": items["product_id"].astype("Int64"),
            "price": items["unit_price_usd"],
            "qty": items["quantity"],
        }
    )
    log = pd.concat([browse, buys], ignore_index=True).sort_values(["session_id", "when"], kind="stable")
    log["sid"] = "s" + log["session_id"].astype(str)
    return log.merge(sessions[["session_id", "started_at"]], on="session_id").reset_index(drop=True)


def _iso(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts).dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"


def _write(folder: Path, name: str, table: pd.DataFrame, mapping: str | None) -> tuple[Path, Path | None]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    table.to_csv(path, index=False)
    if mapping is None:
        return path, None
    (folder / f"{name}.yaml").write_text(mapping, encoding="utf-8")
    return path, folder / f"{name}.yaml"


def _moved(log: pd.DataFrame, starts: pd.Series) -> pd.Series:
    """Event times moved with their sessions: each session's new start plus the event's offset in it."""
    return log["sid"].map(starts) + (log["when"] - log["started_at"])


def session_table_months(folder: Path) -> Shape:
    """One row per session, months only (00:00 on the 1st), the purchase flag as revenue, no checkout, no users."""
    f = base_frames()
    events = f["events"].groupby("session_id")
    browsing = f["events"]["event_type"] != "purchase"
    s = f["sessions"].set_index("session_id")
    s["pages"] = browsing.groupby(f["events"]["session_id"]).sum().reindex(s.index, fill_value=0)
    s["last"] = events["ts"].max()
    rng = np.random.default_rng(1)
    months = np.array([2, 3, 5, 6, 7, 8, 9, 10, 11, 12])  # ten months of one year, as in public session tables
    flag = s.index.isin(f["orders"]["session_id"]).astype(int)
    table = pd.DataFrame(
        {
            "sid": "v" + s.index.astype(str),
            "Month": [f"2017-{m:02d}-01" for m in rng.choice(months, len(s))],
            "PageCount": s["pages"].to_numpy(),
            "Duration": (s["last"] - s["started_at"]).dt.total_seconds().round(1).to_numpy(),
            "Revenue": flag,
        }
    )
    mapping = (
        "columns: {session_id: sid, started_at: Month, events: PageCount, seconds: Duration, purchased: Revenue, "
        "revenue: Revenue}\ntimezone: UTC\n"
    )
    path, mapping_path = _write(folder, "session_table_months", table, mapping)
    facts = {"sessions": len(table), "buyers": int(flag.sum()), "first": "2017-02-01", "last_month": "2017-12"}
    return Shape("session_table_months", "session_table", path, mapping_path, facts=facts)


def thinned_log(folder: Path, alone_share: float = 0.7) -> Shape:
    """An event log where most purchases stand alone and most sessions hold one event; no prices."""
    log = flat_log(base_frames())
    rng = np.random.default_rng(2)
    buyers = log.loc[log["name"] == "buy", "sid"].unique()
    alone = set(rng.choice(buyers, int(round(alone_share * len(buyers))), replace=False))
    # a browsing session keeps its first 1, 2 or 3 events (50 %, 25 %, 25 %): the thinned log's depth
    sids = log["sid"].unique()
    keep_n = pd.Series(rng.choice([1, 2, 3], len(sids), p=[0.5, 0.25, 0.25]), index=sids)
    rank = log.groupby("sid").cumcount()
    is_buy = log["name"] == "buy"
    kept = np.where(
        log["sid"].isin(alone),
        is_buy,  # the purchase alone
        np.where(log["sid"].isin(buyers), True, rank < log["sid"].map(keep_n)),
    )
    thin = log[kept]
    table = thin[["sid", "uid", "name", "item"]].assign(when=_iso(thin["when"]))
    mapping = "columns: {session_id: sid, user_id: uid, timestamp: when, event_type: name, product_id: item}\n"
    path, mapping_path = _write(folder, "thinned_log", table, mapping + EVENT_TYPES)
    events = (
        thin[~is_buy[kept]].groupby("sid").size().add(thin[is_buy[kept]].groupby("sid")["when"].nunique(), fill_value=0)
    )  # a session's purchase rows at one time are one order, so one purchase event
    facts = {
        "sessions": int(thin["sid"].nunique()),
        "buyers": len(buyers),
        "buyers_alone": len(alone),
        "single_event_share": float((events == 1).mean()),
        "events_per_session": float(events.mean()),
    }
    return Shape("thinned_log", "event_log", path, mapping_path, facts=facts)


def night_slice(folder: Path) -> Shape:
    """A REES46-style log of 00:00-02:50 UTC: sessions placed across the slice and cut at its edges; prices."""
    log = flat_log(base_frames())
    log = log[log["name"] != "checkout"]  # this store's export has no checkout step
    rng = np.random.default_rng(3)
    lo, hi = pd.Timestamp("2019-10-01 00:00:00"), pd.Timestamp("2019-10-01 02:50:00")
    sids = log["sid"].unique()
    starts = lo - pd.Timedelta(minutes=30) + pd.to_timedelta(rng.uniform(0, 200 * 60, len(sids)), unit="s")
    log = log.assign(when=_moved(log, pd.Series(starts, index=sids)), uid=log["sid"].map(_few_repeats(sids, rng)))
    log = log[(log["when"] >= lo) & (log["when"] <= hi)]
    table = pd.DataFrame(
        {
            "event_time": log["when"].dt.strftime("%Y-%m-%d %H:%M:%S") + " UTC",
            "event_type": log["name"].map({"view": "view", "cart": "cart", "buy": "purchase", "other": "view"}),
            "product_id": log["item"],
            "category_id": 2053013555631882655,
            "category_code": "",
            "brand": "",
            "price": log["price"],
            "user_id": 500_000_000 + log["uid"],
            "user_session": "sess-" + log["sid"].str[1:],
        }
    )
    path, _ = _write(folder, "night_slice", table, None)
    facts = {"sessions": int(table["user_session"].nunique()), "first": lo, "last": hi}
    return Shape("night_slice", "event_log", path, preset="rees46", facts=facts)


def _few_repeats(sids: np.ndarray, rng: np.random.Generator, share: float = 0.1) -> pd.Series:
    """A user number per session: its own, except ``share`` of sessions that repeat an earlier session's user."""
    users = np.arange(len(sids))
    repeat = rng.random(len(sids)) < share
    users[repeat] = rng.integers(0, len(sids), repeat.sum())
    return pd.Series(users, index=sids)


def no_user_ids(folder: Path, days: int = 8) -> Shape:
    """An event log with session ids, prices, products and a checkout step over eight days; no user id column."""
    log = flat_log(base_frames())
    rng = np.random.default_rng(5)
    sids = log["sid"].unique()
    lo = pd.Timestamp("2026-03-02 00:00:00")
    starts = lo + pd.to_timedelta(rng.uniform(0, days * 86400 - 3600, len(sids)), unit="s")
    log = log.assign(when=_moved(log, pd.Series(starts, index=sids)))
    table = log[["sid", "name", "item", "price", "qty"]].assign(when=_iso(log["when"]))
    mapping = (
        "columns: {session_id: sid, timestamp: when, event_type: name, product_id: item, price: price, quantity: qty}\n"
    )
    path, mapping_path = _write(folder, "no_user_ids", table, mapping + EVENT_TYPES)
    return Shape("no_user_ids", "event_log", path, mapping_path, facts={"sessions": len(sids), "days": days})


def sparse_sample(folder: Path, days: int = 150, sessions: int = 3000) -> Shape:
    """A sample of sessions spread over five months (a few dozen a day), a user each, no prices."""
    log = flat_log(base_frames())
    rng = np.random.default_rng(4)
    sids = rng.choice(log["sid"].unique(), sessions, replace=False)
    log = log[log["sid"].isin(sids)]
    lo = pd.Timestamp("2019-06-01 00:00:00")
    starts = lo + pd.to_timedelta(rng.uniform(0, days * 86400 - 3600, sessions), unit="s")
    log = log.assign(when=_moved(log, pd.Series(starts, index=sids)), uid=700_000_000 + log["sid"].str[1:].astype(int))
    table = log[["sid", "uid", "name", "item"]].assign(when=_iso(log["when"]))
    mapping = "columns: {session_id: sid, user_id: uid, timestamp: when, event_type: name, product_id: item}\n"
    path, mapping_path = _write(folder, "sparse_sample", table, mapping + EVENT_TYPES)
    return Shape("sparse_sample", "event_log", path, mapping_path, facts={"sessions": sessions, "days": days})


def simulated(folder: Path) -> Shape:
    """The simulator's default world (its notebook's default size), as raw tables."""
    return Shape("simulated", "simulator", Path(folder) / "simulated")


BUILDERS = {
    "session_table_months": session_table_months,
    "thinned_log": thinned_log,
    "night_slice": night_slice,
    "no_user_ids": no_user_ids,
    "sparse_sample": sparse_sample,
    "simulated": simulated,
}


def build(name: str, folder: Path) -> Shape:
    """Write shape ``name``'s input (file and mapping) into ``folder``."""
    return BUILDERS[name](Path(folder))


def to_raw(shape: Shape, raw_dir: Path) -> Path:
    """The shape's raw tables in ``raw_dir``, through the importer a user's data goes through."""
    raw_dir = Path(raw_dir)
    if shape.kind == "simulator":
        simulate_to_parquet(SimConfig(), raw_dir)
    elif shape.kind == "session_table":
        import_data(raw_dir, session_table=str(shape.path), mapping=str(shape.mapping))
    else:
        import_data(raw_dir, event_log=str(shape.path), mapping=str(shape.mapping or ""), preset=shape.preset)
    return raw_dir
