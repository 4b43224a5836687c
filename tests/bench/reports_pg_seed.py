"""The reports benchmark's shop on PostgreSQL, generated in the database (INSERT … SELECT generate_series).

The same shape as bench_reports' Python generator (three currencies, 80% of orders paid, 8% with a credit
slip for one unit, full refunds, 1% charged back, half the unpaid ones canceled, sources and campaigns,
one to three of 40 products per order), drawn from ``hashint4`` of the order number instead of a random
generator: a million orders take a few minutes instead of half an hour. Triggers are off while it runs
(``session_replication_role``), as for a raw import: the benchmark then runs ``reports.summary.rebuild``.
"""

from sqlalchemy import text

STEPS = (
    # One row per order: when, currency, what happens to it.
    """
    CREATE UNLOGGED TABLE bench_plan AS
    SELECT n,
           CAST(:start AS timestamp) + make_interval(secs => (n::float8 / :orders) * :days * 86400) AS at,
           (ARRAY['EUR', 'EUR', 'EUR', 'USD', 'GBP'])[n % 5 + 1] AS currency,
           (abs(hashint4(n * 7)) % 100000) / 100000.0 AS roll,  -- stable draws in [0, 1)
           (abs(hashint4(n * 7 + 8)) % 100000) / 100000.0 AS fate,
           1 + abs(hashint4(n * 7 + 3)) % 3 AS lines, abs(hashint4(n * 7 + 4)) % 40 AS first_product,
           1 + abs(hashint4(n * 7 + 5)) % 10 AS slip_after, 2 + abs(hashint4(n * 7 + 6)) % 14 AS refund_after,
           (ARRAY[NULL, 'facebook', 'google', 'newsletter', 'tiktok'])[1 + abs(hashint4(n * 7 + 1)) % 5] AS source,
           (ARRAY[NULL, 'black-friday', 'spring-sale', 'retargeting', 'brand'])[1 + abs(hashint4(n * 7 + 2)) % 5]
               AS campaign,
           1 + abs(hashint4(n)) % :customers AS customer_id
    FROM generate_series(1, :orders) AS n
    """,
    """
    INSERT INTO customer (id, email, firstname, lastname, phone, country, created_at)
    SELECT n, 'customer' || n || '@bench.test', 'Bench', 'Customer' || n, left('06' || lpad(n::text, 8, '0'), 10),
           'FR', CAST(:start AS timestamp)
    FROM generate_series(1, :customers) AS n
    """,
    # Lines: ids n*3+k, distinct products (7 steps apart out of 40), one or two units; prices in cents.
    """
    CREATE UNLOGGED TABLE bench_line AS
    SELECT p.n * 3 + k AS id, p.n AS order_id, (p.first_product + k * 7) % 40 + 1 AS product_id,
           1 + abs(hashint4(p.n * 3 + k)) % 2 AS quantity, k
    FROM bench_plan p CROSS JOIN generate_series(0, 2) AS k WHERE k < p.lines
    """,
    """
    INSERT INTO orders (id, reference, customer_id, currency, payment_method, total_products_tax_excl,
        total_products_tax_incl, total_shipping_tax_excl, total_shipping_tax_incl, total_discounts_tax_excl,
        total_discounts_tax_incl, valid, carrier_tax_rate, created_at, updated_at, utm_source, utm_campaign)
    SELECT p.n, lpad(p.n::text, 9, '0'), p.customer_id, p.currency, 'Card',
           t.excl, t.incl, 700, 840, 0, 0, false, 20, p.at, p.at, p.source, p.campaign
    FROM bench_plan p JOIN (
        SELECT order_id, sum((5 + product_id) * 100 * quantity) AS excl, sum((5 + product_id) * 120 * quantity) AS incl
        FROM bench_line GROUP BY order_id
    ) t ON t.order_id = p.n
    """,
    """
    INSERT INTO order_line (id, order_id, product_id, product_reference, product_name, quantity,
        unit_price_tax_excl, unit_price_tax_incl, tax_rate, refunded_quantity, returned_quantity,
        restocked_quantity, total_refunded_tax_excl, total_refunded_tax_incl)
    SELECT l.id, l.order_id, l.product_id, 'BENCH-' || lpad(l.product_id::text, 3, '0'), 'Product ' || l.product_id,
           l.quantity, (5 + l.product_id) * 100, (5 + l.product_id) * 120, 20,
           CASE WHEN l.k = 0 AND p.roll < 0.8 AND p.fate < 0.08 THEN 1 ELSE 0 END, 0, 0, 0, 0
    FROM bench_line l JOIN bench_plan p ON p.n = l.order_id
    """,
    """
    INSERT INTO payment (order_id, amount, currency, method, at)
    SELECT p.n, o.total_products_tax_incl + 840, p.currency, 'Card', p.at
    FROM bench_plan p JOIN orders o ON o.id = p.n WHERE p.roll < 0.8
    """,
    """
    INSERT INTO credit_slip (id, order_id, at, total_products_tax_excl, total_products_tax_incl,
        total_shipping_tax_excl, total_shipping_tax_incl, amount, shipping_cost_amount, slip_type)
    SELECT p.n, p.n, p.at + make_interval(days => p.slip_after), (5 + l.product_id) * 100, (5 + l.product_id) * 120,
           0, 0, 0, 0, 0
    FROM bench_plan p JOIN bench_line l ON l.order_id = p.n AND l.k = 0
    WHERE p.roll < 0.8 AND p.fate < 0.08 AND p.at + make_interval(days => p.slip_after) < CAST(:end AS timestamp)
    """,
    """
    INSERT INTO credit_slip_line (credit_slip_id, order_line_id, quantity, amount_tax_excl, amount_tax_incl)
    SELECT s.id, l.id, 1, (5 + l.product_id) * 100, (5 + l.product_id) * 120
    FROM credit_slip s JOIN bench_line l ON l.order_id = s.order_id AND l.k = 0
    """,
    # Status history: the first state, then what happens (only what happened before today).
    """
    CREATE UNLOGGED TABLE bench_history AS
    SELECT n AS order_id, CASE WHEN roll < 0.8 THEN :paid ELSE :bankwire END AS state_id, at, 0 AS step
    FROM bench_plan
    UNION ALL
    SELECT n, CASE
               WHEN fate < 0.03 OR (fate >= 0.08 AND fate < 0.12) THEN :refunded
               WHEN fate >= 0.12 AND fate < 0.13 THEN :chargeback
               ELSE :shipped END,
           CASE
               WHEN fate < 0.03 OR (fate >= 0.08 AND fate < 0.12) THEN at + make_interval(days => refund_after)
               WHEN fate >= 0.12 AND fate < 0.13 THEN at + interval '20 days'
               ELSE at + interval '1 day' END, 1
    FROM bench_plan WHERE roll < 0.8 AND (fate < 0.13 AND NOT (fate >= 0.03 AND fate < 0.08) OR fate >= 0.5)
    UNION ALL
    SELECT n, :canceled, at + interval '3 days', 1 FROM bench_plan
    WHERE roll >= 0.8 AND abs(hashint4(n * 7 + 9)) % 2 = 0
    """,
    "DELETE FROM bench_history WHERE step = 1 AND at >= CAST(:end AS timestamp)",
    """
    INSERT INTO order_history (order_id, state_id, at)
    SELECT order_id, state_id, at FROM bench_history ORDER BY order_id, step
    """,
    """
    UPDATE orders o SET current_state_id = h.state_id, updated_at = h.at, valid = h.state_id IN (:paid, :shipped)
    FROM (SELECT DISTINCT ON (order_id) order_id, state_id, at FROM bench_history ORDER BY order_id, step DESC) h
    WHERE h.order_id = o.id
    """,
    "DROP TABLE bench_plan",
    "DROP TABLE bench_line",
    "DROP TABLE bench_history",
)


# What the destinations were told of those refunds: for each credit slip and each full refund or chargeback
# (what the payment left after the slips), one decision per destination and, unless it skipped (2%), an
# outbox row: 95% sent, 2% failed, 1% waiting (sent when older than a day). The reconciliation reads these.
OUTBOX_STEPS = (
    """
    CREATE UNLOGGED TABLE bench_refund AS
    SELECT s.order_id, s.at, s.total_products_tax_incl + s.total_shipping_tax_incl AS amount,
           'credit_slip' AS trigger, s.id AS slip_id, NULL::int AS state_id, s.id::bigint AS k
    FROM credit_slip s
    UNION ALL
    SELECT h.order_id, h.at, greatest(p.amount - coalesce(sl.amount, 0), 0), 'status', NULL, h.state_id,
           1000000000 + h.id
    FROM order_history h JOIN payment p ON p.order_id = h.order_id
    LEFT JOIN (
        SELECT order_id, sum(total_products_tax_incl + total_shipping_tax_incl) AS amount FROM credit_slip
        GROUP BY order_id
    ) sl ON sl.order_id = h.order_id
    WHERE h.state_id IN (:refunded, :chargeback)
    """,
    """
    CREATE UNLOGGED TABLE bench_told AS
    SELECT r.*, d.name AS destination, (abs(hashint8(r.k * 11 + d.salt)) % 10000) / 10000.0 AS roll
    FROM bench_refund r CROSS JOIN (VALUES ('meta_capi', 1), ('ga4', 2), ('google_ads', 3)) AS d(name, salt)
    """,
    """
    INSERT INTO outbox_event (destination, target, order_id, order_reference, event_name, event_id, value,
        currency, payload_json, status, attempts, next_attempt_at, created_at, sent_at)
    SELECT t.destination, 'bench', t.order_id, o.reference, 'Refund', 'bench-' || t.k, t.amount, o.currency, '{}',
           CASE WHEN t.roll >= 0.95 AND t.roll < 0.97 THEN 'failed'
                WHEN t.roll >= 0.97 AND t.at > CAST(:end AS timestamp) - interval '1 day' THEN 'pending'
                ELSE 'sent' END,
           1, t.at, t.at, t.at
    FROM bench_told t JOIN orders o ON o.id = t.order_id
    WHERE t.roll < 0.98 AND t.amount > 0
    """,
    """
    INSERT INTO decision (destination, order_id, trigger, new_state_id, credit_slip_id, at, outcome, reason)
    SELECT destination, order_id, trigger, state_id, slip_id, at,
           CASE WHEN roll < 0.98 AND amount > 0 THEN 'fired' ELSE 'skipped' END,
           CASE WHEN roll < 0.98 AND amount > 0 THEN 'bench: fired' ELSE 'bench: not a refund trigger' END
    FROM bench_told
    """,
    "DROP TABLE bench_told",
    "DROP TABLE bench_refund",
)


def seed_outbox(connection, end, states: dict[str, int]) -> None:
    """Generate what the destinations were told of the shop's refunds (after seed_postgres)."""
    values = {"end": end.replace(tzinfo=None), "refunded": states["PS_OS_REFUND"], "chargeback": states["CHARGEBACK"]}
    for step in OUTBOX_STEPS:
        connection.execute(text(step), {key: value for key, value in values.items() if f":{key}" in step})


def seed_postgres(connection, orders: int, start, end, days: int, states: dict[str, int]) -> None:
    """Generate the shop in the database (products and order states must be there already)."""
    connection.execute(text("SET session_replication_role = replica"))  # no triggers: a raw import
    values = {
        "orders": orders,
        "customers": max(orders // 4, 1),
        "start": start.replace(tzinfo=None),
        "end": end.replace(tzinfo=None),
        "days": days,
        "paid": states["PS_OS_PAYMENT"],
        "bankwire": states["PS_OS_BANKWIRE"],
        "refunded": states["PS_OS_REFUND"],
        "chargeback": states["CHARGEBACK"],
        "shipped": states["PS_OS_SHIPPING"],
        "canceled": states["PS_OS_CANCELED"],
    }
    for step in STEPS:
        connection.execute(text(step), {key: value for key, value in values.items() if f":{key}" in step})
    connection.execute(text("SET session_replication_role = DEFAULT"))
