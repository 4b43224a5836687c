"""The reports at scale: every report over a shop of ORDERS orders spread over two years.

The shop is bulk-inserted with Core executemany in chunks (customers, orders, lines, payments, status
history, credit slips), shaped like a real one: three currencies, 80% of orders paid, unpaid ones
sometimes canceled, paid ones partly refunded by credit slips, refunded in full, or charged back,
with traffic sources and campaigns. Each report is then asked for through the JSON API (Flask test
client, no network) REPEATS times after a warm-up; the median is reported against the 200 ms target.
ORDERS is 100,000 by default and 1,000,000 with `--full` (BENCH_FULL=1). Give a PostgreSQL database
with FLASK_TEST_DATABASE_URI (or `python -m tests.bench --postgres URL reports`) for the issue's figure:
there the shop is generated inside the database (tests.bench.reports_pg_seed), and BENCH_KEEP=1 keeps it
for the next run (BENCH_REBUILD=1 then rebuilds its summary rows). After seeding, the summary rows are
built (``flask reports rebuild``, timed); then 100 orders are refunded and the roll-up the next report
pays is timed, before the reports themselves.
"""

import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

from app import create_app
from delivery.models import OutboxEvent
from extensions import db
from reports.summary import rebuild
from shop.cli import create_employee
from shop.models import (
    CreditSlip,
    CreditSlipLine,
    Customer,
    Order,
    OrderHistory,
    OrderLine,
    OrderState,
    Payment,
    Product,
)
from shop.states import install_default_states

CHUNK = 10_000
REPEATS = 5
DAYS = 730
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP")
SOURCES = (None, "facebook", "google", "newsletter", "tiktok")
CAMPAIGNS = (None, "black-friday", "spring-sale", "retargeting", "brand")
SHIPPING_EXCL, SHIPPING_INCL = Decimal("7.00"), Decimal("8.40")


def _states() -> dict[str, int]:
    states = {s.key: s.id for s in db.session.scalars(select(OrderState)) if s.key}
    chargeback = OrderState(name="Chargeback", color="#E74C3C")
    db.session.add(chargeback)
    db.session.flush()
    states["CHARGEBACK"] = chargeback.id
    return states


def _seed(app, orders: int) -> dict:
    """Insert the shop; return how many rows of each kind."""
    rng = random.Random(18)
    end = datetime.combine(datetime.now(UTC).date(), clock(0), UTC)
    start = end - timedelta(days=DAYS)
    counts = dict.fromkeys(("orders", "lines", "payments", "history", "slips"), 0)
    with app.app_context():
        states = _states()
        products = [
            {"id": n, "reference": f"BENCH-{n:03d}", "name": f"Product {n}", "price_tax_excl": Decimal(5 + n)}
            for n in range(1, 41)
        ]
        db.session.execute(Product.__table__.insert(), products)
        customers = max(orders // 4, 1)
        for first in range(1, customers + 1, CHUNK):
            db.session.execute(
                Customer.__table__.insert(),
                [
                    {
                        "id": n,
                        "email": f"customer{n}@bench.test",
                        "firstname": "Bench",
                        "lastname": f"Customer{n}",
                        "phone": f"06{n:08d}"[:10],
                        "country": "FR",
                        "created_at": start,
                    }
                    for n in range(first, min(first + CHUNK, customers + 1))
                ],
            )
        db.session.commit()
        line_id = slip_id = 0
        for first in range(1, orders + 1, CHUNK):
            rows = {"orders": [], "lines": [], "payments": [], "history": [], "slips": [], "slip_lines": []}
            for n in range(first, min(first + CHUNK, orders + 1)):
                at = start + timedelta(seconds=int((n / orders) * DAYS * 86400))
                currency = CURRENCIES[n % len(CURRENCIES)]
                lines = []
                for product in rng.sample(products, rng.randint(1, 3)):
                    line_id += 1
                    excl = product["price_tax_excl"]
                    lines.append(
                        {
                            "id": line_id,
                            "order_id": n,
                            "product_id": product["id"],
                            "product_reference": product["reference"],
                            "product_name": product["name"],
                            "quantity": rng.randint(1, 2),
                            "unit_price_tax_excl": excl,
                            "unit_price_tax_incl": excl * Decimal("1.2"),
                        }
                    )
                excl = sum(line["unit_price_tax_excl"] * line["quantity"] for line in lines)
                incl = sum(line["unit_price_tax_incl"] * line["quantity"] for line in lines)
                history = []
                roll = rng.random()
                if roll < 0.8:
                    history.append((states["PS_OS_PAYMENT"], at))
                    rows["payments"].append(
                        {
                            "order_id": n,
                            "amount": incl + SHIPPING_INCL,
                            "currency": currency,
                            "method": "Card",
                            "at": at,
                        }
                    )
                    fate = rng.random()
                    if fate < 0.08:  # a credit slip for one unit of the first line
                        slip_id += 1
                        line = lines[0]
                        slip_at = at + timedelta(days=rng.randint(1, 10))
                        rows["slips"].append(
                            {
                                "id": slip_id,
                                "order_id": n,
                                "at": slip_at,
                                "total_products_tax_excl": line["unit_price_tax_excl"],
                                "total_products_tax_incl": line["unit_price_tax_incl"],
                                "total_shipping_tax_excl": Decimal(0),
                                "total_shipping_tax_incl": Decimal(0),
                            }
                        )
                        rows["slip_lines"].append(
                            {
                                "credit_slip_id": slip_id,
                                "order_line_id": line["id"],
                                "quantity": 1,
                                "amount_tax_excl": line["unit_price_tax_excl"],
                                "amount_tax_incl": line["unit_price_tax_incl"],
                            }
                        )
                        line["refunded_quantity"] = 1
                    if fate < 0.03 or 0.08 <= fate < 0.12:
                        history.append((states["PS_OS_REFUND"], at + timedelta(days=rng.randint(2, 15))))
                    elif 0.12 <= fate < 0.13:
                        history.append((states["CHARGEBACK"], at + timedelta(days=20)))
                    elif fate >= 0.5:
                        history.append((states["PS_OS_SHIPPING"], at + timedelta(days=1)))
                else:
                    history.append((states["PS_OS_BANKWIRE"], at))
                    if rng.random() < 0.5:
                        history.append((states["PS_OS_CANCELED"], at + timedelta(days=3)))
                history = [(state, moment) for state, moment in history if moment < end] or history[:1]
                for line in lines:
                    line.setdefault("refunded_quantity", 0)
                rows["lines"] += lines
                rows["history"] += [{"order_id": n, "state_id": state, "at": moment} for state, moment in history]
                rows["orders"].append(
                    {
                        "id": n,
                        "reference": _reference(n),
                        "customer_id": rng.randint(1, customers),
                        "currency": currency,
                        "total_products_tax_excl": excl,
                        "total_products_tax_incl": incl,
                        "total_shipping_tax_excl": SHIPPING_EXCL,
                        "total_shipping_tax_incl": SHIPPING_INCL,
                        "valid": history[-1][0] in (states["PS_OS_PAYMENT"], states["PS_OS_SHIPPING"]),
                        "current_state_id": history[-1][0],
                        "created_at": at,
                        "updated_at": history[-1][1],
                        "utm_source": rng.choice(SOURCES),
                        "utm_campaign": rng.choice(CAMPAIGNS),
                    }
                )
            for table, key in (
                (Order.__table__, "orders"),
                (OrderLine.__table__, "lines"),
                (Payment.__table__, "payments"),
                (OrderHistory.__table__, "history"),
                (CreditSlip.__table__, "slips"),
                (CreditSlipLine.__table__, "slip_lines"),
            ):
                if rows[key]:
                    db.session.execute(table.insert(), rows[key])
                if key in counts:
                    counts[key] += len(rows[key])
            db.session.commit()
        _analyze()
    return counts


def _reference(k: int) -> str:
    letters = []
    for _ in range(9):
        k, digit = divmod(k, 26)
        letters.append(chr(ord("A") + digit))
    return "".join(reversed(letters))


def _timed(client, path: str, headers: dict) -> float:
    """Median seconds of REPEATS answers of path (each must be a 200)."""
    client.get(path, headers=headers)  # warm-up: the query plan and the database's cache
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return statistics.median(times)


def reports_to_time(today) -> dict[str, str]:
    """The reports timed, by figure name: the default period (30 days) and the longest one (366 days)."""
    year = f"from={today - timedelta(days=365)}&to={today}"
    return {
        "day_30d": "/api/reports/refunds?group_by=day",
        "source_30d": "/api/reports/refunds?group_by=source",
        "campaign_30d": "/api/reports/refunds?group_by=campaign",
        "product_30d": "/api/reports/refunds?group_by=product",
        "serial_refunders_180d": "/api/reports/serial-refunders?days=180&min_refunds=2",
        "reconciliation_30d": "/api/reports/reconciliation",
        "reconciliation_mismatches_30d": "/api/reports/reconciliation?mismatches=1",
        "day_366d": f"/api/reports/refunds?group_by=day&{year}",
        "source_366d": f"/api/reports/refunds?group_by=source&{year}",
        "campaign_366d": f"/api/reports/refunds?group_by=campaign&{year}",
        "product_366d": f"/api/reports/refunds?group_by=product&{year}",
        "reconciliation_366d": f"/api/reports/reconciliation?{year}",
    }


def _seed_postgres(app, orders: int) -> dict:
    """Generate the shop inside PostgreSQL (tests.bench.reports_pg_seed); return how many rows of each kind."""
    from tests.bench.reports_pg_seed import seed_postgres

    end = datetime.combine(datetime.now(UTC).date(), clock(0), UTC)
    with app.app_context():
        states = _states()
        db.session.execute(
            Product.__table__.insert(),
            [
                {"id": n, "reference": f"BENCH-{n:03d}", "name": f"Product {n}", "price_tax_excl": Decimal(5 + n)}
                for n in range(1, 41)
            ],
        )
        db.session.commit()
        with db.engine.begin() as connection:
            seed_postgres(connection, orders, end - timedelta(days=DAYS), end, DAYS, states)
        for table in ("product", "customer", "orders", "order_line", "credit_slip", "payment", "order_history"):
            db.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608  (table names from the list above)
            )
        db.session.commit()
        counts = {
            name: db.session.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("orders", Order),
                ("lines", OrderLine),
                ("payments", Payment),
                ("history", OrderHistory),
                ("slips", CreditSlip),
            )
        }
    return counts


def _seed_outbox_postgres(app) -> bool:
    """Generate what the destinations were told (tests.bench.reports_pg_seed.seed_outbox) unless it is there."""
    from tests.bench.reports_pg_seed import seed_outbox

    end = datetime.combine(datetime.now(UTC).date(), clock(0), UTC)
    with app.app_context():
        if db.session.scalar(select(OutboxEvent.id).limit(1)) is not None:
            return False
        states = {s.key: s.id for s in db.session.scalars(select(OrderState)) if s.key}
        states["CHARGEBACK"] = db.session.scalar(select(func.min(OrderState.id)).where(OrderState.name == "Chargeback"))
        db.session.commit()
        with db.engine.begin() as connection:
            seed_outbox(connection, end, states)
        for table in ("outbox_event", "decision"):
            db.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608  (table names from the list above)
            )
        db.session.commit()
    return True


def _enable_destinations(app) -> None:
    """Switch Meta, GA4 and Google Ads on (never sent to: the reconciliation reads what they were told)."""
    from ga4.settings import save_settings as save_ga4
    from googleads.settings import save_settings as save_ads
    from pixelplus.settings import save_settings as save_meta

    with app.app_context():
        save_meta({"enabled": True, "pixel_id": "1234567890123456", "access_token": "bench-token-not-sent"})
        save_ga4({"enabled": True, "measurement_id": "G-BENCH12345", "api_secret": "benchSecret-1234"})
        save_ads(
            {
                "enabled": True,
                "customer_id": "1234567890",
                "conversion_action_id": "987654321",
                "oauth_refresh_token": "1//bench-not-sent",
                "time_zone": "Europe/Paris",
            }
        )
        db.session.commit()


def _analyze() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def _rollup_after_changes(app, changed: int) -> float:
    """Seconds the next report spends rolling up ``changed`` orders refunded since the last one."""
    from reports.summary import refresh

    with app.app_context():
        refunded = db.session.scalar(select(OrderState.id).where(OrderState.key == "PS_OS_REFUND"))
        paid = list(
            db.session.scalars(
                select(Payment.order_id).where(Payment.at >= datetime.now(UTC) - timedelta(days=20)).limit(changed)
            )
        )
        now = datetime.now(UTC)
        db.session.execute(
            OrderHistory.__table__.insert(), [{"order_id": order, "state_id": refunded, "at": now} for order in paid]
        )
        db.session.commit()
        started = time.perf_counter()
        refresh()
        return time.perf_counter() - started


def run() -> dict:
    """Seed the shop, then time each report."""
    full = os.environ.get("BENCH_FULL") == "1"
    orders = int(os.environ.get("BENCH_REPORT_ORDERS", "1000000" if full else "100000"))
    figures: dict = {"orders": orders}
    with tempfile.TemporaryDirectory() as folder:
        uri = os.environ.get("FLASK_TEST_DATABASE_URI") or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        figures["database"] = uri.split(":", 1)[0].split("+", 1)[0]
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": uri, "PIXELPLUS_DISPATCH": "worker"}
        )
        keep = os.environ.get("BENCH_KEEP") == "1" and figures["database"] == "postgresql"
        try:
            with app.app_context():
                kept = keep and db.session.scalar(select(func.count()).select_from(Order)) == orders
                db.session.rollback()  # drop_all's connection would wait for this one's lock
                if figures["database"] == "postgresql" and not kept:
                    db.drop_all()
                db.create_all()  # a kept database gets the tables added since it was made
                install_default_states()
                _employee, key = create_employee("bench-tester@shop.test", "tester", "bench-password-123")
                db.session.commit()
            if not kept:
                started = time.perf_counter()
                counts = _seed_postgres(app, orders) if figures["database"] == "postgresql" else _seed(app, orders)
                figures["seed_s"] = round(time.perf_counter() - started, 1)
                figures.update({f"{name}_rows": count for name, count in counts.items() if name != "orders"})
            told_seeded = figures["database"] == "postgresql" and _seed_outbox_postgres(app)
            _enable_destinations(app)
            if not kept or told_seeded or os.environ.get("BENCH_REBUILD") == "1":
                started = time.perf_counter()
                with app.app_context():
                    _analyze()  # fresh statistics for the rebuild's per-order lookups, then for the reports
                    rebuild()
                    _analyze()
                figures["summary_rebuild_s"] = round(time.perf_counter() - started, 1)
            figures["rollup_100_changed_orders_ms"] = round(_rollup_after_changes(app, 100) * 1000, 1)
            client = app.test_client()
            headers = {"Authorization": f"Bearer {key}"}
            for name, path in reports_to_time(datetime.now(UTC).date()).items():
                median = _timed(client, path, headers)
                figures[f"{name}_ms"] = round(median * 1000, 1)
                figures[f"target_{name}_under_200ms"] = "PASS" if median < 0.2 else "MISS"
        finally:
            with app.app_context():
                db.session.remove()
                if os.environ.get("FLASK_TEST_DATABASE_URI") and not keep:
                    db.drop_all()
                db.engine.dispose()
    return figures
