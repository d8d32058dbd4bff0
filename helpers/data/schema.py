"""The raw-data schema: the five tables, their columns and types, and the event types.

This is the one place these facts are written down; the contract checks, the importers, the
simulator and the gold-table code import them from here.
"""

from __future__ import annotations

TABLES = ("sessions", "events", "orders", "order_items", "products")
FUNNEL_STEPS = ("page_view", "add_to_cart", "checkout", "purchase")  # the event types a mapping can name
EVENT_TYPES = (*FUNNEL_STEPS, "other")  # every event type the raw events table may hold

# table -> column -> (DuckDB type, required?)
COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {
    "sessions": {
        "session_id": ("BIGINT", True),
        "user_id": ("BIGINT", False),
        "started_at": ("TIMESTAMP", True),
        "device": ("VARCHAR", False),
        "traffic_source": ("VARCHAR", False),
        "variant": ("VARCHAR", False),  # an experiment's arm of the session's user; empty outside an experiment
        "exposed_at": ("TIMESTAMP", False),  # the user's first exposure to the experiment (UTC)
    },
    "events": {
        "event_id": ("BIGINT", True),
        "session_id": ("BIGINT", True),
        "ts": ("TIMESTAMP", True),
        "event_type": ("VARCHAR", True),
        "product_id": ("BIGINT", False),
    },
    "orders": {
        "order_id": ("BIGINT", True),
        "session_id": ("BIGINT", True),
        "ordered_at": ("TIMESTAMP", False),
        "total_usd": ("DOUBLE", True),
    },
    "order_items": {
        "order_id": ("BIGINT", True),
        "product_id": ("BIGINT", True),
        "quantity": ("BIGINT", True),
        "unit_price_usd": ("DOUBLE", True),
    },
    "products": {
        "product_id": ("BIGINT", True),
        "category": ("VARCHAR", False),
        "price_usd": ("DOUBLE", True),
        "cost_usd": ("DOUBLE", False),
    },
}
# What an optional column holds when a table lacks it (SQL expressions).
UNKNOWN_FILL = {
    "device": "'unknown'",
    "traffic_source": "'unknown'",
    "category": "'unknown'",
    "user_id": "session_id",
    "product_id": "NULL",
    "ordered_at": "NULL",
    "cost_usd": "NULL",
    "variant": "NULL",
    "exposed_at": "NULL",
}
KEYS = {"sessions": "session_id", "events": "event_id", "orders": "order_id", "products": "product_id"}
