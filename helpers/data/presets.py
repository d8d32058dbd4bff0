"""Mappings for public e-commerce export schemas, so a user names a preset instead of writing one.

Usage::

    make report RUN=shop EVENT_LOG=events.csv PARAMS="preset=rees46"

Each preset is the same structure a mapping file gives (see ``helpers.ingest``). Optional
columns a file lacks are left out; the event names of a preset are alternatives, so a name that
never occurs is not an error (no purchase at all still is).
"""

from __future__ import annotations

PRESETS: dict[str, dict] = {
    # REES46 "eCommerce behavior data from multi category store" and its cosmetics-shop sibling:
    # event_time '2019-10-01 00:00:00 UTC', event_type view / cart / remove_from_cart / purchase.
    "rees46": {
        "columns": {
            "timestamp": "event_time",
            "event_type": "event_type",
            "product_id": "product_id",
            "price": "price",
            "user_id": "user_id",
            "session_id": "user_session",
        },
        "event_types": {"page_view": ["view"], "add_to_cart": ["cart"], "purchase": ["purchase"]},
    },
    # Retailrocket recommender-system dataset (events.csv): timestamp in epoch ms, visitorid,
    # event view / addtocart / transaction, itemid, transactionid; no session id and no price.
    "retailrocket": {
        "columns": {
            "timestamp": "timestamp",
            "user_id": "visitorid",
            "event_type": "event",
            "product_id": "itemid",
            "order_id": "transactionid",
        },
        "event_types": {"page_view": ["view"], "add_to_cart": ["addtocart"], "purchase": ["transaction"]},
        "timestamp_unit": "ms",
    },
    # A flattened Google Analytics 4 BigQuery export (one row per event and item): event_timestamp
    # in epoch microseconds; ga_session_id is unique only within a user_pseudo_id.
    "ga4": {
        "columns": {
            "timestamp": "event_timestamp",
            "user_id": "user_pseudo_id",
            "session_id": ["user_pseudo_id", "ga_session_id"],
            "event_type": "event_name",
            "product_id": "item_id",
            "price": "price",
            "quantity": "quantity",
            "order_id": "transaction_id",
            "device": "device_category",
            "traffic_source": "traffic_source",
        },
        "event_types": {
            "page_view": ["page_view", "view_item"],
            "add_to_cart": ["add_to_cart"],
            "checkout": ["begin_checkout"],
            "purchase": ["purchase"],
        },
        "timestamp_unit": "us",
    },
}
