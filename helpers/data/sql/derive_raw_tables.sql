-- The five raw tables from the cleaned event log `log` (helpers/data/event_log.py, derive_tables).
-- sessions.variant and exposed_at: the experiment's arm and first exposure (NULL outside an experiment).
-- The placeholder order_key groups a session's purchase rows into orders: the order id column, or the time.
CREATE TABLE sessions AS
SELECT session_id, COALESCE(min(user_id), session_id) AS user_id, min(ts) AS started_at,
       COALESCE(min(device), 'unknown') AS device, COALESCE(min(traffic_source), 'unknown') AS traffic_source,
       max(variant) AS variant, min(exposed_at) AS exposed_at
FROM log GROUP BY session_id;
CREATE TABLE buys AS
SELECT *, DENSE_RANK() OVER (ORDER BY session_id, {order_key}) AS order_id
FROM log WHERE event_type = 'purchase';
CREATE TABLE orders AS
SELECT order_id, min(session_id) AS session_id, min(ts) AS ordered_at,
       round(sum(COALESCE(price, 0) * quantity), 2) AS total_usd
FROM buys GROUP BY order_id;
CREATE TABLE order_items AS
SELECT order_id, product_id, quantity, COALESCE(price, 0) AS unit_price_usd
FROM buys WHERE product_id IS NOT NULL;
CREATE TABLE products AS
SELECT product_id, 'unknown' AS category, COALESCE(median(price), 0) AS price_usd,
       CAST(NULL AS DOUBLE) AS cost_usd
FROM log WHERE product_id IS NOT NULL GROUP BY product_id;
-- Numbered and stored in (session_id, ts, event_type) order with one sort (insertion order is kept
-- here), so the events file is written in event_id order without sorting again.
SET preserve_insertion_order = true;
CREATE TABLE events AS
SELECT row_number() OVER () AS event_id, session_id, ts, event_type, product_id
FROM (SELECT session_id, ts, event_type, product_id FROM log WHERE event_type <> 'purchase'
      UNION ALL
      SELECT session_id, ordered_at, 'purchase', NULL FROM orders
      ORDER BY session_id, ts, event_type);
SET preserve_insertion_order = false;
