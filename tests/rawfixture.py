"""A tiny hand-built raw dataset whose gold-table values are worked out by hand in test_gold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

T = pd.Timestamp


def tables() -> dict[str, pd.DataFrame]:
    day = "2026-01-05 "  # a Monday
    sessions = pd.DataFrame(
        {
            "session_id": [1, 2, 3, 4, 5, 6, 7],
            "user_id": [10, 10, 11, 12, 13, 14, 15],
            "started_at": [
                T(day + "10:00:00"),
                T(day + "11:00:00"),
                T(day + "23:59:00"),
                T(day + "12:00:00"),
                T(day + "13:00:00"),
                T(day + "14:00:00"),
                T(day + "15:00:00"),
            ],
            "device": ["mobile", "desktop", "mobile", "tablet", "desktop", "mobile", "desktop"],
            "traffic_source": ["organic", "email", "direct", "paid_search", "social", "organic", "email"],
        }
    )
    ev = [
        # session 1: browse, cart, checkout, purchase
        (1, 1, day + "10:00:02", "page_view", 1),
        (2, 1, day + "10:00:10", "page_view", 2),
        (3, 1, day + "10:00:40", "add_to_cart", 1),
        (4, 1, day + "10:01:40", "checkout", None),
        (5, 1, day + "10:01:50", "purchase", None),
        # session 2: no events at all
        # session 3: a purchase with no page view before it
        (6, 3, day + "23:59:05", "purchase", None),
        # session 4: two orders in one session
        (7, 4, day + "12:00:00", "page_view", 1),
        (8, 4, day + "12:00:10", "add_to_cart", 1),
        (9, 4, day + "12:00:20", "checkout", None),
        (10, 4, day + "12:00:30", "purchase", None),
        (11, 4, day + "12:00:40", "add_to_cart", 2),
        (12, 4, day + "12:00:50", "checkout", None),
        (13, 4, day + "12:01:00", "purchase", None),
        # session 5: equal timestamps, ordered by event id; abandoned at checkout
        (20, 5, day + "13:00:00", "page_view", 3),
        (21, 5, day + "13:00:00", "page_view", 1),
        (22, 5, day + "13:00:00", "checkout", None),
        # session 6: a checkout tied with a page view but earlier by event id
        (30, 6, day + "14:00:03", "checkout", None),
        (31, 6, day + "14:00:03", "page_view", 2),
        # session 7: still browsing after the two-minute landmark, no purchase
        (40, 7, day + "15:00:05", "page_view", 1),
        (41, 7, day + "15:01:00", "page_view", 2),
        (42, 7, day + "15:02:30", "page_view", 3),
    ]
    events = pd.DataFrame(ev, columns=["event_id", "session_id", "ts", "event_type", "product_id"])
    events["ts"] = pd.to_datetime(events["ts"])
    events["product_id"] = events["product_id"].astype("Int64")
    orders = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4],
            "session_id": [1, 3, 4, 4],
            "ordered_at": [T(day + "10:01:50"), T(day + "23:59:05"), T(day + "12:00:30"), T(day + "12:01:00")],
            "total_usd": [25.0, 7.5, 10.0, 5.0],
        }
    )
    order_items = pd.DataFrame(
        {
            "order_id": [1, 1, 2, 3, 4],
            "product_id": [1, 2, 3, 1, 2],
            "quantity": [2, 1, 1, 1, 1],
            "unit_price_usd": [10.0, 5.0, 7.5, 10.0, 5.0],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": [1, 2, 3],
            "category": ["home", "beauty", "sports"],
            "price_usd": [10.0, 5.0, 7.5],
            "cost_usd": [4.0, 3.0, 2.5],
        }
    )
    return {"sessions": sessions, "events": events, "orders": orders, "order_items": order_items, "products": products}


def write(folder: Path, frames: dict[str, pd.DataFrame] | None = None, fmt: str = "parquet") -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (frames or tables()).items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder
