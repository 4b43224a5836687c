"""A generated shop for the reports' tests: orders in several currencies, paid or not, partly and fully
refunded, canceled, charged back, spread over days; and the report's rule computed here, independently."""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from extensions import db
from shop.models import Customer, Order, OrderState, Product
from shop.orders import CartLine, place_order
from shop.refunds import issue_credit_slip
from shop.status import change_state

CURRENCIES = ("EUR", "USD", "GBP")
SOURCES = (None, "facebook", "google", '=HYPERLINK("http://x")')
CAMPAIGNS = (None, "black-friday", "spring")
# Ending states the rule names: full refunds by key or name; chargebacks by name.
FULL_REFUND = {"PS_OS_REFUND", "PS_OS_CANCELED"}


def day_at(base: date, days: int, hour: int) -> datetime:
    """The moment `hour` o'clock UTC, `days` after base."""
    return datetime.combine(base + timedelta(days=days), time(hour), UTC)


def generate_shop(seed: int, orders: int, first_day: date) -> None:
    """Place `orders` random orders from first_day on, with what happens to them over the next days."""
    rng = random.Random(seed)
    products = list(db.session.scalars(select(Product)))
    customers = list(db.session.scalars(select(Customer)))
    state = {s.key or s.name: s for s in db.session.scalars(select(OrderState))}
    chargeback = OrderState(name="Chargeback", color="#E74C3C")
    returned = OrderState(name="Returned", color="#01B887")
    db.session.add_all([chargeback, returned])
    db.session.flush()
    for n in range(orders):
        day = rng.randrange(0, 20)
        lines = [CartLine(p, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(1, len(products)))]
        paid = rng.random() < 0.75
        browser = {"utm_source": rng.choice(SOURCES), "utm_campaign": rng.choice(CAMPAIGNS)}
        order = place_order(
            rng.choice(customers),
            lines,
            state["PS_OS_PAYMENT" if paid else "PS_OS_BANKWIRE"],
            currency=CURRENCIES[n % len(CURRENCIES)],
            browser=browser,
            at=day_at(first_day, day, 9),
        )
        step = day
        if not paid and rng.random() < 0.3:  # paid later
            step += rng.randint(0, 2)
            change_state(order, state["PS_OS_PAYMENT"], at=day_at(first_day, step, 11))
            paid = True
        if paid and rng.random() < 0.4:  # one or two credit slips (PrestaShop refunds only paid orders)
            for _ in range(rng.randint(1, 2)):
                refundable = {ln.id: ln.refundable_quantity for ln in order.lines if ln.refundable_quantity}
                if not refundable:
                    break
                line_id = rng.choice(sorted(refundable))
                step += rng.randint(0, 3)
                issue_credit_slip(
                    order,
                    {line_id: rng.randint(1, refundable[line_id])},
                    refund_shipping=rng.random() < 0.3
                    and all(s.total_shipping_tax_incl == 0 for s in order.credit_slips),
                    at=day_at(first_day, step, 13),
                )
        roll = rng.random()
        endings = []
        if roll < 0.25:
            endings = [state["PS_OS_CANCELED"]]
        elif roll < 0.45:
            endings = [state["PS_OS_REFUND"]]
        elif roll < 0.55:
            endings = [state["PS_OS_CANCELED"], state["PS_OS_REFUND"]]
        elif roll < 0.62:
            endings = [chargeback]
        elif roll < 0.67:
            endings = [returned]
        for ending in endings:
            step += rng.randint(0, 3)
            change_state(order, ending, at=day_at(first_day, step, 15 + len(endings)))
    db.session.commit()


@dataclass
class Expected:
    """Figures of one currency and group, computed in the test from the rows."""

    gross: Decimal = Decimal("0.00")
    paid_orders: set = field(default_factory=set)
    refunds: Decimal = Decimal("0.00")
    refund_count: int = 0
    refunded_orders: set = field(default_factory=set)
    chargebacks: set = field(default_factory=set)
    chargeback_amount: Decimal = Decimal("0.00")


def is_full_refund(state: OrderState) -> bool:
    return state.key in FULL_REFUND or state.name in ("Returned",)


def expected_report(first: date, last: date, key_of) -> dict:
    """The rule as a merchant states it, order by order: {(currency, key): Expected} and {currency: Expected}.

    Each order starts with what was paid for it (its payments) left to give back; taken in time order,
    a credit slip gives back its amount and a full refund (or chargeback) after payment everything
    left, never more than is left; a slip right before a chargeback is the chargeback's. What lands in
    [first, last] counts, on its own day.
    """
    start = datetime.combine(first, time.min, UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, UTC)
    groups: dict = defaultdict(Expected)
    totals: dict = defaultdict(Expected)
    for order in db.session.scalars(select(Order)):
        for payment in order.payments:
            if start <= payment.at < end:
                for bucket in (groups[(order.currency, key_of(order, payment.at))], totals[order.currency]):
                    bucket.gross += payment.amount
                    bucket.paid_orders.add(order.id)
        for at, kind, given, _slip_id in given_back(order):
            if not start <= at < end:
                continue
            for bucket in (groups[(order.currency, key_of(order, at))], totals[order.currency]):
                _tally(bucket, order.id, kind, given)
    return {"groups": dict(groups), "totals": dict(totals)}


def given_back(order: Order) -> list[tuple]:
    """What the order gave back, event by event: ``(at, kind, amount, credit_slip_id or None)``."""
    happenings = [(slip.at, 0, slip.id, "refund", slip.amount_tax_incl) for slip in order.credit_slips]
    for entry in order.history:
        paid_by_then = any(p.at <= entry.at for p in order.payments)
        if not paid_by_then:
            continue
        if entry.state.name == "Chargeback":
            happenings.append((entry.at, 1, entry.id, "chargeback", None))
        elif is_full_refund(entry.state):
            happenings.append((entry.at, 1, entry.id, "refund", None))
    happenings.sort()
    # A credit slip the order's very next happening turns into a chargeback is the chargeback's money.
    for i, (moment, seq, row_id, _kind, amount) in enumerate(happenings[:-1]):
        if seq == 0 and happenings[i + 1][3] == "chargeback":
            happenings[i] = (moment, seq, row_id, "chargeback", amount)
    left = sum((p.amount for p in order.payments), Decimal("0.00"))
    found = []
    for at, seq, row_id, kind, amount in happenings:
        wanted = left if amount is None else amount
        given = min(wanted, left)
        left -= given
        found.append((at, kind, given, row_id if seq == 0 else None))
    return found


def _tally(bucket: Expected, order_id: int, kind: str, given: Decimal) -> None:
    if kind == "chargeback":
        bucket.chargebacks.add(order_id)
        bucket.chargeback_amount += given
    elif given > 0:
        bucket.refunds += given
        bucket.refund_count += 1
        bucket.refunded_orders.add(order_id)


def expected_products(first: date, last: date) -> dict:
    """The report by product as a merchant states it: {(currency, product_id): Expected}, {currency: Expected}.

    Sold: the lines of the orders paid in [first, last]. Given back: a slip's lines (a slip issued
    after a payment) on its date, as a chargeback when the slip is the chargeback's; on the first
    full refund after payment, what no slip gave back of each line; likewise on the first chargeback
    of an order never refunded in full.
    """
    start = datetime.combine(first, time.min, UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, UTC)
    groups: dict = defaultdict(Expected)
    totals: dict = defaultdict(Expected)
    for order in db.session.scalars(select(Order)):
        paid = [p for p in order.payments if start <= p.at < end]
        if paid:
            totals[paid[0].currency].paid_orders.add(order.id)
            for line in order.lines:
                bucket = groups[(paid[0].currency, line.product_id)]
                bucket.gross += line.unit_price_tax_incl * line.quantity
                bucket.paid_orders.add(order.id)
                totals[paid[0].currency].gross += line.unit_price_tax_incl * line.quantity
        chargeback_slips = {slip_id for _at, kind, _given, slip_id in given_back(order) if kind == "chargeback"}
        happened = []
        for slip in order.credit_slips:
            if any(p.at <= slip.at for p in order.payments):
                kind = "chargeback" if slip.id in chargeback_slips else "refund"
                happened += [(slip.at, line.order_line.product_id, kind, line.amount_tax_incl) for line in slip.lines]
        after_payment = sorted(
            (entry.at, entry.id, entry.state)
            for entry in order.history
            if any(p.at <= entry.at for p in order.payments)
        )
        full = [at for at, _id, state in after_payment if is_full_refund(state) and state.name != "Chargeback"]
        charged = [at for at, _id, state in after_payment if state.name == "Chargeback"]
        ending = (full[0], "refund") if full else (charged[0], "chargeback") if charged else None
        if ending:
            for line in order.lines:
                slipped = sum(
                    (
                        sl.amount_tax_incl
                        for slip in order.credit_slips
                        for sl in slip.lines
                        if sl.order_line_id == line.id
                    ),
                    Decimal("0.00"),
                )
                left = line.unit_price_tax_incl * line.quantity - slipped
                if left > 0:
                    happened.append((ending[0], line.product_id, ending[1], left))
        for at, product_id, kind, amount in happened:
            if start <= at < end:
                _tally(groups[(order.currency, product_id)], order.id, kind, amount)
                _tally(totals[order.currency], order.id, kind, amount)
    return {"groups": dict(groups), "totals": dict(totals)}
