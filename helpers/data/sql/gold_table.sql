-- The session-level gold table: one row per session. DuckDB dialect; transpiled for Spark.
-- Reads the views sessions, events, orders, order_items, products (see helpers/data/gold.py).
-- Column meanings, units and edge cases: helpers/data/gold.py DICTIONARY.
WITH ev AS (
    SELECT
        session_id,
        event_id,
        ts,
        event_type,
        date_diff('millisecond', LAG(ts) OVER (PARTITION BY session_id ORDER BY ts, event_id), ts) AS gap_ms,
        MAX(CASE WHEN event_type IN ('checkout', 'purchase') THEN 1 ELSE 0 END) OVER (
            PARTITION BY session_id ORDER BY ts, event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS conversion_seen
    FROM events
),
-- Browsing: events before the first checkout or purchase that are not add-to-cart (a funnel step).
browsing AS (
    SELECT
        session_id,
        ts,
        event_type,
        date_diff('millisecond', LAG(ts) OVER (PARTITION BY session_id ORDER BY ts, event_id), ts) AS gap_ms,
        ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY ts, event_id) AS browse_rank
    FROM ev
    WHERE conversion_seen = 0 AND event_type <> 'add_to_cart'
),
browse_agg AS (
    SELECT
        b.session_id,
        COUNT(*) AS browse_count,
        SUM(CASE WHEN b.event_type = 'page_view' THEN 1 ELSE 0 END) AS browse_page_views,
        MAX(b.ts) AS browse_end_ts,
        MAX(b.gap_ms) AS browse_max_gap_ms,
        -- landmark: browsing within the first {landmark_seconds} seconds of the session
        SUM(CASE WHEN b.ts <= s.started_at + INTERVAL {landmark_seconds} SECOND THEN 1 ELSE 0 END) AS landmark_count,
        -- time landmark: when the session reached its {landmark_events}th browsing event
        MAX(CASE WHEN b.browse_rank = {landmark_events} THEN b.ts END) AS landmark_events_ts
    FROM browsing AS b
    JOIN sessions AS s ON b.session_id = s.session_id
    GROUP BY b.session_id
),
ev_agg AS (
    SELECT
        session_id,
        COUNT(*) AS event_count,
        SUM(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS n_page_view,
        SUM(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS n_add_to_cart,
        SUM(CASE WHEN event_type = 'checkout' THEN 1 ELSE 0 END) AS n_checkout,
        SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS n_purchase,
        SUM(CASE WHEN event_type = 'add_to_cart' AND conversion_seen = 0 THEN 1 ELSE 0 END) AS pre_cart_count,
        MIN(CASE WHEN conversion_seen = 1 THEN ts END) AS conversion_ts,
        MIN(ts) AS first_ts,
        MAX(ts) AS last_ts,
        MAX(gap_ms) AS max_gap_ms
    FROM ev
    GROUP BY session_id
),
ord AS (
    SELECT session_id, COUNT(*) AS n_orders, SUM(total_usd) AS amount_usd
    FROM orders
    GROUP BY session_id
),
items AS (
    SELECT
        o.session_id,
        SUM(i.quantity) AS n_items,
        SUM(i.quantity * i.unit_price_usd) AS items_usd,
        SUM(i.quantity * (i.unit_price_usd - p.cost_usd)) AS gross_margin_usd
    FROM order_items AS i
    JOIN orders AS o ON i.order_id = o.order_id
    LEFT JOIN products AS p ON i.product_id = p.product_id
    GROUP BY o.session_id
),
joined AS (
    SELECT
        s.session_id,
        s.user_id,
        s.started_at,
        s.device,
        s.traffic_source,
        s.variant,
        s.exposed_at,
        CAST(EXTRACT(HOUR FROM s.started_at) AS INTEGER) AS start_hour,
        -- ISO weekday, 1 = Monday ... 7 = Sunday (2001-01-01 was a Monday)
        CAST(date_diff('day', CAST('2001-01-01' AS DATE), CAST(s.started_at AS DATE)) % 7 + 1 AS INTEGER) AS start_weekday,
        COALESCE(date_diff('millisecond', s.started_at, e.last_ts), 0) / CAST(1000 AS DOUBLE) AS session_seconds,
        date_diff('millisecond', s.started_at, e.first_ts) / CAST(1000 AS DOUBLE) AS first_event_delay_seconds,
        COALESCE(e.max_gap_ms, 0) / CAST(1000 AS DOUBLE) AS max_idle_seconds,
        COALESCE(w.browse_max_gap_ms, 0) / CAST(1000 AS DOUBLE) AS pre_conversion_max_idle_seconds,
        CAST(COALESCE(e.event_count, 0) AS BIGINT) AS event_count,
        CAST(COALESCE(e.n_page_view, 0) AS BIGINT) AS n_page_view,
        CAST(COALESCE(e.n_add_to_cart, 0) AS BIGINT) AS n_add_to_cart,
        CAST(COALESCE(e.n_checkout, 0) AS BIGINT) AS n_checkout,
        CAST(COALESCE(e.n_purchase, 0) AS BIGINT) AS n_purchase,
        CAST(COALESCE(w.browse_count, 0) AS BIGINT) AS pre_conversion_event_count,
        CAST(COALESCE(e.pre_cart_count, 0) AS BIGINT) AS pre_conversion_cart_count,
        CAST(COALESCE(w.browse_page_views, 0) AS BIGINT) AS pre_conversion_page_views,
        COALESCE(date_diff('millisecond', s.started_at, w.browse_end_ts), 0) / CAST(1000 AS DOUBLE) AS pre_conversion_seconds,
        CAST(COALESCE(w.landmark_count, 0) AS BIGINT) AS landmark_event_count,
        CAST(CASE
            WHEN e.last_ts > s.started_at + INTERVAL {landmark_seconds} SECOND
                AND (e.conversion_ts IS NULL OR e.conversion_ts > s.started_at + INTERVAL {landmark_seconds} SECOND)
            THEN 1 ELSE 0 END AS INTEGER) AS landmark_at_risk,
        date_diff('millisecond', s.started_at, w.landmark_events_ts) / CAST(1000 AS DOUBLE) AS landmark_seconds,
        CAST(CASE WHEN o.n_orders > 0 THEN 1 ELSE 0 END AS INTEGER) AS did_purchase,
        COALESCE(o.amount_usd, 0.0) AS amount_usd,
        CAST(COALESCE(o.n_orders, 0) AS BIGINT) AS n_orders,
        CAST(COALESCE(i.n_items, 0) AS BIGINT) AS n_items,
        i.items_usd / CASE WHEN i.n_items > 0 THEN i.n_items END AS avg_item_price_usd,
        CASE WHEN o.n_orders IS NULL THEN 0.0 ELSE i.gross_margin_usd END AS gross_margin_usd
    FROM sessions AS s
    LEFT JOIN ev_agg AS e ON s.session_id = e.session_id
    LEFT JOIN browse_agg AS w ON s.session_id = w.session_id
    LEFT JOIN ord AS o ON s.session_id = o.session_id
    LEFT JOIN items AS i ON s.session_id = i.session_id
)
SELECT
    *,
    CASE WHEN session_seconds > 0
         THEN event_count * CAST(60 AS DOUBLE) / GREATEST(session_seconds, CAST(1 AS DOUBLE)) END AS events_per_minute
FROM joined
ORDER BY session_id
