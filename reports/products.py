"""The report by product: what each product sold and what of it was given back, per currency.

Only product lines count, tax included; shipping and discounts belong to no product, so these figures
add up to less than the order-level report. Sold: the lines of the orders paid in the period. Given
back: see reports.lines. Read from the summary rows (reports.summary): each product's daily sums, and
the products' together for the totals.
"""

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import func, select, text

from extensions import db
from reports.models import ORDER_LEVEL, PRODUCTS_LEVEL, SEEN_AGAIN, ReportDay, ReportFact
from reports.period import Period
from reports.refunds import cents, to_money
from reports.revenue import (
    CurrencyReport,
    Figures,
    add_figures,
    count_once,
    in_period,
    seen_again,
    slot_of,
    summed,
)
from shop.models import OrderLine


def product_report(period: Period) -> list[CurrencyReport]:
    """Return the report by product, one list of rows per currency, with each currency's totals."""
    rows: dict[tuple[str, str], Figures] = {}
    totals: dict[str, Figures] = {}
    labels: dict[str, str] = {}
    # The products' rows, and the products' refunds together (an order refunded for two products counts once).
    statement = (
        select(
            ReportDay.currency,
            ReportDay.level,
            func.max(ReportDay.reference),
            func.max(ReportDay.name),
            *summed(),
        )
        .where(in_period(period), ReportDay.level != ORDER_LEVEL)
        .group_by(ReportDay.currency, ReportDay.level)
    )
    for currency, level, reference, name, *figures in db.session.execute(statement):
        if level == PRODUCTS_LEVEL:
            add_figures(slot_of(totals, currency, None), (0, 0, *figures[2:]))
            continue
        add_figures(slot_of(rows, currency, level), figures)
        if reference is not None:
            labels[str(level)] = f"{reference} · {name}"
    paid = (
        select(ReportDay.currency, func.sum(ReportDay.paid_orders))
        .where(in_period(period), ReportDay.level == ORDER_LEVEL)
        .group_by(ReportDay.currency)
        .having(func.sum(ReportDay.paid_orders) > 0)
    )
    for currency, orders in db.session.execute(paid):
        slot_of(totals, currency, None).paid_orders += int(orders)
    _count_once(rows, totals, period)
    for (currency, _product), row in rows.items():
        slot_of(totals, currency, None).gross += row.gross
    reports = []
    for currency in sorted(totals):
        mine = [row for (cur, _product), row in rows.items() if cur == currency]
        for row in mine:
            row.label = labels.get(row.key, f"product #{row.key}")
        mine.sort(key=lambda row: (-row.gross, row.label))
        reports.append(CurrencyReport(currency, replace(totals[currency], key="total", label="Total"), mine))
    return reports


def _count_once(rows: dict, totals: dict, period: Period) -> None:
    """Take back what the daily sums counted twice: orders paid, refunded or charged back on two days."""
    for currency, level, *again in seen_again(period, ReportFact.level != ORDER_LEVEL, ReportFact.level):
        slot = slot_of(totals, currency, None) if level == PRODUCTS_LEVEL else slot_of(rows, currency, level)
        count_once(slot, *again)
    paid_again: dict[int, list[str]] = defaultdict(list)  # order id: the currencies of its days paid again
    f = ReportFact
    statement = select(f.order_id, f.currency).where(
        f.day.between(period.first, period.last),
        text(f"({SEEN_AGAIN})"),  # the partial index's condition, word for word
        f.level == ORDER_LEVEL,
        f.prev_paid_day >= period.first,
    )
    for order_id, currency in db.session.execute(statement):
        slot_of(totals, currency, None).paid_orders -= 1
        paid_again[order_id].append(currency)
    if not paid_again:
        return
    # An order paid on two days of the period had its lines summed on each: take one day's away.
    lines = (
        select(
            OrderLine.order_id,
            OrderLine.product_id,
            func.sum(cents(OrderLine.unit_price_tax_incl) * OrderLine.quantity),
        )
        .where(OrderLine.order_id.in_(sorted(paid_again)))
        .group_by(OrderLine.order_id, OrderLine.product_id)
    )
    for order_id, product_id, gross in db.session.execute(lines):
        for currency in paid_again[order_id]:
            slot = slot_of(rows, currency, product_id)
            slot.gross -= to_money(gross)
            slot.paid_orders -= 1
