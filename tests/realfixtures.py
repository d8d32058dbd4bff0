"""Event logs in the shapes real exports take, built small from the simulator for the fixture matrix.

Each builder returns (file, mapping text or None, preset or None). The base log is a flattened
simulated shop with string session ids and ISO timestamps ending in 'Z', like many exports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.simulate import SimConfig, simulate_frames

MAPPING = (
    "columns: {session_id: sid, timestamp: when, event_type: name, product_id: item, price: price, "
    "quantity: qty, device: dev, traffic_source: src, order_id: order}\n"
    "event_types: {page_view: [view], add_to_cart: [cart], checkout: [checkout], purchase: [buy]}\n"
)
NAMES = {"page_view": "view", "add_to_cart": "cart", "checkout": "checkout", "purchase": "buy"}


def base_log(n_sessions: int = 2500, seed: int = 11) -> pd.DataFrame:
    """A flat event log (one row per event, one row per purchased item) from the simulator."""
    f = simulate_frames(SimConfig(n_sessions=n_sessions, seed=seed))
    ev = f["events"].merge(f["sessions"][["session_id", "device", "traffic_source"]], on="session_id")
    ev = ev[ev["event_type"] != "purchase"]
    prices = f["products"].set_index("product_id")["price_usd"]
    rows = pd.DataFrame(
        {
            "sid": "s" + ev["session_id"].astype(str),
            "when": ev["ts"],
            "name": ev["event_type"].map(NAMES),
            "item": ev["product_id"].astype("Int64"),
            "price": ev["product_id"].map(prices).round(2),
            "qty": pd.NA,
            "dev": ev["device"],
            "src": ev["traffic_source"],
            "order": pd.NA,
        }
    )
    items = (
        f["order_items"]
        .merge(f["orders"], on="order_id")
        .merge(f["sessions"][["session_id", "device", "traffic_source"]], on="session_id")
    )
    buys = pd.DataFrame(
        {
            "sid": "s" + items["session_id"].astype(str),
            "when": items["ordered_at"],
            "name": "buy",
            "item": items["product_id"].astype("Int64"),
            "price": items["unit_price_usd"],
            "qty": items["quantity"],
            "dev": items["device"],
            "src": items["traffic_source"],
            "order": "o" + items["order_id"].astype(str),
        }
    )
    log = pd.concat([rows, buys], ignore_index=True).sort_values(["sid", "when"], kind="stable")
    return log.reset_index(drop=True)


def _iso(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts).dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"


def write(log: pd.DataFrame, folder: Path, name: str, utc_text: bool = True) -> Path:
    out = log.copy()
    if utc_text and np.issubdtype(out["when"].dtype, np.datetime64):
        out["when"] = _iso(out["when"])
    path = Path(folder) / f"{name}.csv"
    out.to_csv(path, index=False)
    return path


def shapes(folder: Path) -> dict[str, tuple[Path, str | None, str | None]]:
    """The fixture matrix: name -> (log file, mapping text, preset)."""
    folder = Path(folder)
    base = base_log()
    rng = np.random.default_rng(3)
    out = {}

    # constant price, one device and one source, duplicated rows, rows out of time order, local
    # Berlin times without an offset across the spring DST change and midnight
    a = base.copy()
    a["price"], a["dev"], a["src"] = 20.0, "desktop", "direct"
    a = pd.concat([a, a.sample(frac=0.05, random_state=1)])
    a = a.sample(frac=1.0, random_state=2)  # the file's rows in no particular order
    start = pd.Timestamp("2026-03-28 22:00:00")
    offset = pd.to_datetime(a["when"]) - pd.to_datetime(a["when"]).min()
    a["when"] = (start + offset * 0.02).dt.strftime("%Y-%m-%d %H:%M:%S")  # 30 days squeezed into about 14 hours
    out["constant_price_local_time"] = (
        write(a, folder, "a", utc_text=False),
        MAPPING + "timezone: Europe/Berlin\n",
        None,
    )

    # no price and no product id
    b = base.drop(columns=["price", "item"])
    out["no_price_no_product"] = (write(b, folder, "b"), MAPPING.replace("product_id: item, price: price, ", ""), None)

    # no checkout and no add-to-cart; a third of sessions are single zero-second views; heavy-tailed
    # prices; refund rows (negative price on a purchase)
    c = base[~base["name"].isin(["checkout", "cart"])].copy()
    single = pd.DataFrame(
        {
            "sid": [f"z{i}" for i in range(1500)],
            "when": pd.to_datetime(c["when"]).min(),
            "name": "view",
            "item": 1,
            "price": 10.0,
            "qty": pd.NA,
            "dev": "mobile",
            "src": "organic",
            "order": pd.NA,
        }
    )
    c["price"] = np.round(np.exp(rng.normal(3, 1.6, len(c))), 2)
    refunds = c[c["name"] == "buy"].head(5).assign(price=lambda d: -d["price"], order=lambda d: d["order"] + "r")
    c.loc[c.index[:20], "price"] = 0.0  # free items: zero prices are kept
    c = pd.concat([c, single, refunds], ignore_index=True)
    out["no_funnel_zero_seconds_heavy_tails_refunds"] = (
        write(c, folder, "c"),
        MAPPING.replace(", add_to_cart: [cart], checkout: [checkout]", ""),
        None,
    )

    # one-event sessions only (a buyer's only row is its purchase)
    d = base.sort_values(["sid", "when"]).groupby("sid").tail(1)
    out["one_event_sessions"] = (write(d, folder, "d"), MAPPING, None)

    # 100 sessions, 10 buyers
    buyers = base.loc[base["name"] == "buy", "sid"].unique()[:10]
    others = base.loc[~base["sid"].isin(base.loc[base["name"] == "buy", "sid"]), "sid"].unique()[:90]
    e = base[base["sid"].isin(np.concatenate([buyers, others]))]
    out["hundred_sessions_ten_buyers"] = (write(e, folder, "e"), MAPPING, None)

    # every session a buyer
    f = base[base["sid"].isin(base.loc[base["name"] == "buy", "sid"])]
    out["every_session_buys"] = (write(f, folder, "f"), MAPPING, None)
    return out


def retailrocket(folder: Path) -> Path:
    """Retailrocket's shape: epoch ms, visitorid, no session id, no price, transaction events."""
    base = base_log(1500, 12)
    when = pd.to_datetime(base["when"]).astype("datetime64[ns]").astype("int64") // 1_000_000
    log = pd.DataFrame(
        {
            "timestamp": when,
            "visitorid": base["sid"].str[1:].astype(int) % 400,
            "event": base["name"].map({"view": "view", "cart": "addtocart", "checkout": "view", "buy": "transaction"}),
            "itemid": base["item"],
            "transactionid": base["order"].str[1:],
        }
    )
    path = Path(folder) / "retailrocket.csv"
    log.to_csv(path, index=False)
    return path


def ga4(folder: Path) -> Path:
    """A flattened GA4 export's shape: epoch µs, user_pseudo_id + ga_session_id, item rows."""
    base = base_log(1500, 13)
    sid = base["sid"].str[1:].astype(int)
    log = pd.DataFrame(
        {
            "event_timestamp": pd.to_datetime(base["when"]).astype("datetime64[ns]").astype("int64") // 1000,
            "event_name": base["name"].map(
                {"view": "view_item", "cart": "add_to_cart", "checkout": "begin_checkout", "buy": "purchase"}
            ),
            "user_pseudo_id": "u" + (sid % 500).astype(str),
            "ga_session_id": 1_700_000_000 + sid,
            "item_id": base["item"],
            "price": base["price"],
            "quantity": base["qty"],
            "transaction_id": base["order"],
            "device_category": base["dev"],
            "traffic_source": base["src"],
        }
    )
    path = Path(folder) / "ga4.csv"
    log.to_csv(path, index=False)
    return path


def session_table(folder: Path) -> tuple[Path, str]:
    """One row per session: pages, seconds, a purchase flag and revenue; no timing inside sessions."""
    base = base_log(2500, 14)
    base["t"] = pd.to_datetime(base["when"])
    g = base.groupby("sid")
    table = pd.DataFrame(
        {
            "pages": g["name"].apply(lambda s: int((s != "buy").sum())),
            "duration_s": (g["t"].max() - g["t"].min()).dt.total_seconds(),
            "converted": g["name"].apply(lambda s: int((s == "buy").any())),
            "revenue": base.assign(v=base["price"] * base["qty"].fillna(0)).groupby("sid")["v"].sum(),
            "start": _iso(g["t"].min()),
            "device": g["dev"].first(),
        }
    ).reset_index()
    path = Path(folder) / "sessions.csv"
    table.to_csv(path, index=False)
    mapping = (
        "columns: {session_id: sid, started_at: start, events: pages, seconds: duration_s, purchased: converted, "
        "revenue: revenue, device: device}\n"
    )
    return path, mapping
