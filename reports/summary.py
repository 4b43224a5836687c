"""The reports' summary rows: built once for the whole shop, then rolled up order by order as orders change.

Each order's facts (reports.models.ReportFact) come from the same rules the reports state: its
payments on their dates, and what it gave back on the refund's date (reports.refunds, and
reports.products for its product lines). A day's sums (ReportDay) are its facts added up, and the
lines sold on that day for the report by product. The reports read the sums of a period's days, so a
year costs a few hundred rows, whatever the number of orders.

Orders are counted once per period even when they paid (or were refunded) on several of its days:
each fact carries the order's previous day with the same figure, and a period's count is the days'
counts less the facts whose previous day is in the period too (``seen_again``).

The reconciliation's rows (reports.told) are recomputed with an order's facts, when one of its outbox
rows changes status, and when a window of theirs closes.

Database triggers note every changed order (reports.triggers); ``refresh``, run before each report,
recomputes those orders' facts and told rows and the sums of the days they touch, so a report always
counts every committed change; a backlog too large for the request goes to a background thread, and the
report says so (``behind``). ``rebuild`` recomputes everything: after an upgrade (``flask reports
rebuild``, also run by ``shop init-demo``) or a large import.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app, g
from sqlalchemy import Select, bindparam, delete, distinct, func, insert, select, text

from core.background import BackgroundThread
from core.dbtypes import utcnow
from extensions import db
from reports.lines import lines_given_back
from reports.models import (
    ORDER_LEVEL,
    PRODUCTS_LEVEL,
    ReportChange,
    ReportDay,
    ReportFact,
    ReportTold,
    ReportToldChange,
    ReportToldDay,
)
from reports.refunds import CHARGEBACK, cents, given_back
from reports.states import EndingStates, ending_states
from reports.told import due_for_recheck, rebuild_told_days, recompute_told
from shop.models import Order, OrderLine, Payment

ORDERS_AT_ONCE = 5000  # orders recomputed per statement (an IN list every database takes) and per transaction
ROLLUP_IN_REQUEST = 2000  # a larger backlog is rolled up by the background thread, not in the report's request
ROLLUP_EXTENSION = "reports-rollup"
ROLLUP_POLL_SECONDS = 300.0  # woken by a report when needed; the timer only catches up a missed wake-up
DAYS_AT_ONCE = 100
INSERTED_AT_ONCE = 5000
GIVEN = ("refunds", "refund_count", "refunded_orders", "chargebacks", "chargeback_amount")
FIGURES = ("gross", "paid_orders", *GIVEN)  # a summary row's figures, in the order the reports sum them
CHAINS = (("paid", "prev_paid_day"), ("refunded", "prev_refund_day"), ("charged_back", "prev_chargeback_day"))


def refresh(now: datetime | None = None) -> int:
    """Roll up what changed since the last roll-up, before a report; return how many orders were recomputed.

    A backlog of at most ``REPORTS_ROLLUP_IN_REQUEST`` orders (2,000: a few seconds at most) is rolled up
    here, so the report counts every committed change. A larger one (a bulk refund of 10,000 orders, a
    raw import) goes to the background roll-up thread, and the report says how far behind it is
    (``behind()``) rather than keeping the page waiting.
    """
    now = now or utcnow()
    limit = int(current_app.config.get("REPORTS_ROLLUP_IN_REQUEST", ROLLUP_IN_REQUEST))
    waiting = backlog(now, limit + 1)
    if not waiting:
        return 0
    if waiting > limit:
        rollup_thread(current_app._get_current_object()).wake()
        g.reports_behind = waiting
        return 0
    return roll_up(now)


def behind() -> int:
    """How many changes the current request's report left to the background roll-up (0: it counts them all)."""
    return g.get("reports_behind", 0)


def backlog(now: datetime, at_most: int) -> int:
    """How many changes wait to be rolled up (orders changed, outbox rows, windows closed), counted up to at_most."""
    found = 0
    for probe in (
        select(ReportChange.id),
        select(ReportToldChange.id),
        select(ReportTold.order_id).where(ReportTold.recheck_at <= now),
    ):
        found += db.session.scalar(select(func.count()).select_from(probe.limit(at_most - found).subquery()))
        if found >= at_most:
            break
    return found


def roll_up(now: datetime | None = None, stopping=None) -> int:
    """Roll up every change, a slice of orders per transaction; return how many orders were recomputed."""
    total = 0
    while stopping is None or not stopping.is_set():
        done = _roll_up_slice(now or utcnow())
        if not done:
            break
        total += done
    return total


def _roll_up_slice(now: datetime) -> int:
    """Roll up the oldest changes of at most ORDERS_AT_ONCE orders; commit; return how many orders."""
    db.session.commit()  # the roll-up starts its own transaction, and takes the lock first
    _lock()
    changes = db.session.execute(
        select(ReportChange.id, ReportChange.order_id).order_by(ReportChange.id).limit(ORDERS_AT_ONCE)
    ).all()
    told_changes = db.session.execute(
        select(ReportToldChange.id, ReportToldChange.order_id).order_by(ReportToldChange.id).limit(ORDERS_AT_ONCE)
    ).all()
    order_ids = sorted({order_id for _id, order_id in changes})
    told_ids = set(order_ids) | {order_id for _id, order_id in told_changes}
    if len(told_ids) < ORDERS_AT_ONCE:
        told_ids |= set(due_for_recheck(now, ORDERS_AT_ONCE - len(told_ids)))
    if not told_ids:
        db.session.commit()
        return 0
    rebuild_days(recompute_orders(ending_states(), order_ids) if order_ids else set())
    rebuild_told_days(recompute_told(sorted(told_ids), now))
    # Only the changes read above: one committed meanwhile is rolled up next time.
    for table, rows in ((ReportChange, changes), (ReportToldChange, told_changes)):
        if rows:
            db.session.execute(delete(table).where(table.id.in_([change_id for change_id, _order in rows])))
    db.session.commit()
    return len(told_ids)


def rollup_thread(app) -> BackgroundThread:
    """Return the app's background roll-up thread (created, not started, on first use)."""
    found = app.extensions.get(ROLLUP_EXTENSION)
    if found is None:
        thread = BackgroundThread(app, "reports-rollup", lambda: _roll_up_in_thread(app), ROLLUP_POLL_SECONDS)
        found = app.extensions.setdefault(ROLLUP_EXTENSION, thread)
    return found


def _roll_up_in_thread(app) -> None:
    roll_up(stopping=app.extensions[ROLLUP_EXTENSION].stopping)


def rebuild(progress=None) -> int:
    """Recompute every order's facts and told rows, and every day's sums; commit; return how many orders there are."""
    db.session.commit()
    _lock()
    now = utcnow()
    changes = list(db.session.scalars(select(ReportChange.id)))
    told_changes = list(db.session.scalars(select(ReportToldChange.id)))
    for table in (ReportDay, ReportFact, ReportToldDay, ReportTold):
        db.session.execute(delete(table))
    states = ending_states()
    last = db.session.scalar(select(func.max(Order.id))) or 0
    for first in range(1, last + 1, ORDERS_AT_ONCE):
        ids = list(range(first, min(first + ORDERS_AT_ONCE, last + 1)))
        recompute_orders(states, ids, replace=False)
        recompute_told(ids, now)
        if progress:
            progress(min(first + ORDERS_AT_ONCE - 1, last), last)
    rebuild_days(set(db.session.scalars(select(ReportFact.day).distinct())))
    rebuild_told_days(set(db.session.scalars(select(ReportTold.day).distinct())))
    for table, ids_read in ((ReportChange, changes), (ReportToldChange, told_changes)):
        for ids in _chunks(ids_read, ORDERS_AT_ONCE):
            db.session.execute(delete(table).where(table.id.in_(ids)))
    db.session.commit()
    return db.session.scalar(select(func.count(Order.id)))


def _lock() -> None:
    """Let one roll-up run at a time: PostgreSQL's transaction lock; SQLite's write lock, taken now."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(18)"))
    else:
        db.session.execute(delete(ReportChange).where(ReportChange.id < 0))  # writes nothing, locks


def _chunks(values: list, size: int) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def recompute_orders(states: EndingStates, ids: list[int], replace: bool = True) -> set[date]:
    """Replace the facts of these orders; return the days whose sums change (of the facts removed and written)."""
    days: set[date] = set()
    if replace:
        days |= set(db.session.scalars(select(ReportFact.day).distinct().where(ReportFact.order_id.in_(ids))))
        db.session.execute(delete(ReportFact).where(ReportFact.order_id.in_(ids)))
    facts = _facts(states, ids)
    for rows in _chunks(list(facts.values()), INSERTED_AT_ONCE):
        db.session.execute(insert(ReportFact), rows)
    days |= {fact["day"] for fact in facts.values()}
    return days


@dataclass(frozen=True)
class Statements:
    """The queries that read what orders paid and gave back, for the order ids bound as ``ids``."""

    orders: Select
    payments: Select
    given_back: Select
    lines: Select


_built: dict[EndingStates, Statements] = {}


def statements(states: EndingStates) -> Statements:
    """Build the queries once per set of ending states: building them costs more than running them for a few orders."""
    if states not in _built:
        ids = bindparam("ids", expanding=True)

        def orders(column):
            return column.in_(ids)

        gone = given_back(states, orders=orders)
        lines = lines_given_back(states, orders, bindparam("chargeback_slips", expanding=True))
        _built[states] = Statements(
            orders=select(Order.id, Order.currency, Order.utm_source, Order.utm_campaign, Order.customer_id).where(
                orders(Order.id)
            ),
            payments=select(Payment.order_id, Payment.at, Payment.currency, cents(Payment.amount)).where(
                orders(Payment.order_id)
            ),
            given_back=select(gone.c.order_id, gone.c.at, gone.c.kind, gone.c.amount, gone.c.credit_slip_id),
            lines=select(*lines.c),
        )
    return _built[states]


def _facts(states: EndingStates, ids: list[int]) -> dict[tuple, dict]:
    """The orders' facts, by (order_id, day, currency, level)."""
    queries = statements(states)
    about = {
        order_id: (currency, source or "", campaign or "", customer_id)
        for order_id, currency, source, campaign, customer_id in db.session.execute(queries.orders, {"ids": ids})
    }
    facts: dict[tuple, dict] = {}

    def fact(order_id: int, day: date, currency: str, level: int) -> dict:
        key = (order_id, day, currency, level)
        if key not in facts:
            _currency, source, campaign, customer_id = about[order_id]
            at_order = level == ORDER_LEVEL
            facts[key] = _empty(
                order_id, day, currency, level, source if at_order else "", campaign if at_order else ""
            )
            facts[key]["customer_id"] = customer_id
        return facts[key]

    for order_id, at, currency, amount in db.session.execute(queries.payments, {"ids": ids}):
        row = fact(order_id, at.date(), currency, ORDER_LEVEL)
        row["gross"] += int(amount)
        row["paid"] = 1
    chargeback_slips = []
    for order_id, at, kind, amount, slip_id in db.session.execute(queries.given_back, {"ids": ids}):
        if kind == CHARGEBACK and slip_id is not None:
            chargeback_slips.append(slip_id)
        row = fact(order_id, at.date(), about[order_id][0], ORDER_LEVEL)
        row["events"] += 1
        row["last_event_at"] = max(filter(None, (row["last_event_at"], at)))
        _give_back(row, kind, int(amount or 0), at)
    lines = db.session.execute(queries.lines, {"ids": ids, "chargeback_slips": chargeback_slips})
    for order_id, at, product_id, kind, amount in lines:
        for level in (product_id, PRODUCTS_LEVEL):
            _give_back(fact(order_id, at.date(), about[order_id][0], level), kind, int(amount or 0), at)
    _chain(facts)
    return facts


def _empty(order_id: int, day: date, currency: str, level: int, source: str, campaign: str) -> dict:
    return {
        "order_id": order_id,
        "day": day,
        "currency": currency,
        "level": level,
        "source": source,
        "campaign": campaign,
        "customer_id": None,
        "gross": 0,
        "paid": 0,
        "refunds": 0,
        "refund_count": 0,
        "refunded": 0,
        "chargeback_amount": 0,
        "charged_back": 0,
        "events": 0,
        "last_refund_at": None,
        "last_event_at": None,
        "prev_paid_day": None,
        "prev_refund_day": None,
        "prev_chargeback_day": None,
    }


def _give_back(row: dict, kind: str, amount: int, at) -> None:
    """Count one refund or chargeback as the reports do: a refund of nothing left is no refund."""
    if kind == CHARGEBACK:
        row["chargeback_amount"] += amount
        row["charged_back"] = 1
    elif amount > 0:
        row["refunds"] += amount
        row["refund_count"] += 1
        row["refunded"] = 1
        row["last_refund_at"] = max(filter(None, (row["last_refund_at"], at)))


def _chain(facts: dict[tuple, dict]) -> None:
    """Give each fact the order's previous day with the same figure (same currency and level)."""
    chains: dict[tuple, list[dict]] = defaultdict(list)
    for (order_id, _day, currency, level), row in facts.items():
        chains[(order_id, currency, level)].append(row)
    for rows in chains.values():
        if len(rows) < 2:
            continue
        rows.sort(key=lambda row: row["day"])
        for flag, previous in CHAINS:
            last_day = None
            for row in rows:
                if row[flag]:
                    row[previous] = last_day
                    last_day = row["day"]


def rebuild_days(days: set[date]) -> None:
    """Write again the sums of these days from their facts (and, by product, the lines sold)."""
    for chunk in _chunks(sorted(days), DAYS_AT_ONCE):
        db.session.execute(delete(ReportDay).where(ReportDay.day.in_(chunk)))
        sums = _day_sums(chunk)
        for rows in _chunks(list(sums.values()), INSERTED_AT_ONCE):
            db.session.execute(insert(ReportDay), rows)


def _day_sums(chunk: list[date]) -> dict[tuple, dict]:
    """The summary rows of these days, by (day, currency, level, source, campaign)."""
    sums: dict[tuple, dict] = {}

    def slot(day, currency, level, source="", campaign="") -> dict:
        key = (day, currency, level, source, campaign)
        if key not in sums:
            sums[key] = {
                "day": day,
                "currency": currency,
                "level": level,
                "source": source,
                "campaign": campaign,
                "reference": None,
                "name": None,
                **dict.fromkeys(FIGURES, 0),
            }
        return sums[key]

    f = ReportFact
    given = (
        func.sum(f.refunds),
        func.sum(f.refund_count),
        func.sum(f.refunded),
        func.sum(f.charged_back),
        func.sum(f.chargeback_amount),
    )
    orders_level = (
        select(f.day, f.currency, f.source, f.campaign, func.sum(f.gross), func.sum(f.paid), *given)
        .where(f.day.in_(chunk), f.level == ORDER_LEVEL)
        .group_by(f.day, f.currency, f.source, f.campaign)
    )
    for day, currency, source, campaign, gross, paid, *rest in db.session.execute(orders_level):
        row = slot(day, currency, ORDER_LEVEL, source, campaign)
        row.update(gross=int(gross), paid_orders=int(paid), **dict(zip(GIVEN, map(int, rest), strict=True)))
    lines_level = (
        select(f.day, f.currency, f.level, *given)
        .where(f.day.in_(chunk), f.level != ORDER_LEVEL)
        .group_by(f.day, f.currency, f.level)
    )
    for day, currency, level, *rest in db.session.execute(lines_level):
        slot(day, currency, level).update(zip(GIVEN, map(int, rest), strict=True))
    sold = (
        select(
            f.day,
            f.currency,
            OrderLine.product_id,
            func.sum(cents(OrderLine.unit_price_tax_incl) * OrderLine.quantity),
            func.count(distinct(OrderLine.order_id)),
            func.max(OrderLine.product_reference),
            func.max(OrderLine.product_name),
        )
        .join(OrderLine, OrderLine.order_id == f.order_id)
        .where(f.day.in_(chunk), f.level == ORDER_LEVEL, f.paid == 1)
        .group_by(f.day, f.currency, OrderLine.product_id)
    )
    for day, currency, product_id, gross, orders, reference, name in db.session.execute(sold):
        slot(day, currency, product_id).update(
            gross=int(gross), paid_orders=int(orders), reference=reference, name=name
        )
    return sums
