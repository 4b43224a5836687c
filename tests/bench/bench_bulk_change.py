"""Bulk status change speed with every module enabled: ms and SQL statements per order.

Paid orders are placed, Pixel Plus alone (the issue's measurement) or Pixel Plus (Meta), GA4, Google Ads
and one webhook endpoint are enabled, then
`change_states` moves SIZES orders to Refunded in one transaction, as the back office's bulk action
does. Nothing is delivered (the destinations' hosts are never called): the figures are the change's own
cost, time and statements counted with a before_cursor_execute listener, divided by the orders.
Wall-clock and CPU time are both shown (a shared machine's wall clock counts others' turns too).
Sizes: 1,000 and 10,000 orders (BENCH_BULK_CHANGE_SIZES="1000,10000" to choose).
"""

import itertools
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, func, select

from app import DEMO_ACCESS_TOKEN, DEMO_GOOGLEADS_TOKEN, DEMO_PIXEL_ID, create_app
from delivery.models import OutboxEvent
from extensions import db
from ga4.settings import save_settings as save_ga4
from googleads.settings import save_settings as save_ads
from pixelplus.settings import save_settings as save_meta
from shop.models import Customer, Order, OrderState, Product
from shop.orders import CartLine, place_order
from shop.states import install_default_states
from shop.status import change_states
from webhooks import endpoints

HOST = "http://127.0.0.1:9"  # an allowed host never called: nothing is dispatched here


def enable_every_module() -> None:
    """Enable Meta, GA4, Google Ads and one webhook endpoint, all triggered by Refunded; the caller commits."""
    refunded = [OrderState.by_key("PS_OS_REFUND").id]
    common = {"enabled": True, "trigger_state_ids": refunded}
    save_meta({**common, "pixel_id": DEMO_PIXEL_ID, "access_token": DEMO_ACCESS_TOKEN, "graph_url": f"{HOST}/graph"})
    save_ga4({**common, "measurement_id": "G-BENCH1234", "api_secret": "benchApiSecret01", "base_url": HOST})
    save_ads(
        {
            **common,
            "customer_id": "1234567890",
            "conversion_action_id": "987654321",
            "oauth_refresh_token": DEMO_GOOGLEADS_TOKEN,
            "base_url": HOST,
        }
    )
    endpoints.create({"url": f"{HOST}/hooks", "event_types": ["transaction.refunded"], "enabled": True})


def enable_pixel_plus_only() -> None:
    """Enable Pixel Plus alone, triggered by Refunded (the issue's measurement: 7.7 ms per order then)."""
    refunded = [OrderState.by_key("PS_OS_REFUND").id]
    save_meta(
        {
            "enabled": True,
            "trigger_state_ids": refunded,
            "pixel_id": DEMO_PIXEL_ID,
            "access_token": DEMO_ACCESS_TOKEN,
            "graph_url": f"{HOST}/graph",
        }
    )


SETUPS = {"pixelplus_only": (enable_pixel_plus_only, 1), "every_module": (enable_every_module, 4)}


def place_paid_orders(count: int) -> list[int]:
    """Place count paid orders of two lines each; return their ids."""
    tshirt = Product(reference="TSHIRT-01", name="T-shirt", price_tax_excl=Decimal("19.90"), tax_rate=Decimal("20"))
    mug = Product(reference="MUG-01", name="Mug", price_tax_excl=Decimal("9.00"), tax_rate=Decimal("20"))
    customer = Customer(
        email="jeanne.martin@example.fr",
        firstname="Jeanne",
        lastname="Martin",
        phone="06 12 34 56 78",
        city="Lyon",
        postcode="69001",
        country="FR",
    )
    db.session.add_all([tshirt, mug, customer])
    db.session.flush()
    paid = OrderState.by_key("PS_OS_PAYMENT")
    ids = []
    for _ in range(count):
        ids.append(place_order(customer, [CartLine(tshirt, 2), CartLine(mug, 1)], paid, currency="EUR").id)
    db.session.commit()
    return ids


class StatementCounter:
    """Count the SQL statements an engine executes while active."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _count(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def measure(app, order_ids: list[int], destinations: int) -> dict:
    """Bulk-change the orders to Refunded in one transaction; return the time and statements per order."""
    with app.app_context():
        refunded = OrderState.by_key("PS_OS_REFUND")
        with StatementCounter(db.engine) as counter:
            started, cpu_started = time.perf_counter(), time.process_time()
            result = change_states(order_ids, refunded)
            db.session.commit()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if len(result.changed) != len(order_ids):
            raise RuntimeError(f"the bulk change skipped orders: {result.skipped[:5]}")
        events = db.session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.order_id.in_(order_ids[:1]))
        )
        if events != destinations:
            raise RuntimeError(f"expected one event per destination ({destinations}), got {events}")
        moved = db.session.scalar(select(func.count()).select_from(Order).where(Order.current_state_id == refunded.id))
    return {"seconds": elapsed, "cpu_seconds": cpu, "statements": counter.count, "moved": moved}


def run() -> dict:
    """Measure the bulk change at each size on a fresh SQLite database (or FLASK_TEST_DATABASE_URI)."""
    sizes = [int(s) for s in os.environ.get("BENCH_BULK_CHANGE_SIZES", "1000,10000").split(",")]
    figures: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        for (setup_name, (setup, destinations)), size in itertools.product(SETUPS.items(), sizes):
            uri = os.environ.get("FLASK_TEST_DATABASE_URI") or f"sqlite:///{Path(folder) / f'bulk{size}.sqlite'}"
            app = create_app(
                {
                    "TESTING": True,
                    "SECRET_KEY": "bench",
                    "SQLALCHEMY_DATABASE_URI": uri,
                    "PIXELPLUS_DISPATCH": "worker",
                    "DELIVERY_ALLOWED_HOSTS": ["127.0.0.1:9"],
                }
            )
            try:
                with app.app_context():
                    db.drop_all()
                    db.create_all()
                    install_default_states()
                    setup()
                    db.session.commit()
                    order_ids = place_paid_orders(size)
                got = measure(app, order_ids, destinations)
            finally:
                with app.app_context():
                    db.session.remove()
                    if os.environ.get("FLASK_TEST_DATABASE_URI"):
                        db.drop_all()
                    db.engine.dispose()
            key = f"{setup_name}_{size}"
            figures[f"{key}_s"] = round(got["seconds"], 2)
            figures[f"{key}_ms_per_order"] = round(got["seconds"] * 1000 / size, 3)
            # CPU time too: on a shared machine the wall clock also counts other processes' turns.
            figures[f"{key}_cpu_ms_per_order"] = round(got["cpu_seconds"] * 1000 / size, 3)
            figures[f"{key}_statements_per_order"] = round(got["statements"] / size, 2)
            figures[f"{key}_target_10s_per_10000"] = "PASS" if got["seconds"] / size <= 0.001 else "MISS"
    return figures
