"""The report by product: what each product sold and what of it was given back, per currency.

Only product lines count, tax included; shipping and discounts belong to no product, so these figures
add up to less than the order-level report. Sold: the lines of the orders paid in the period. Given
back: a credit slip's lines on the slip's date; for an order entering a full-refund state after it
was paid, what no credit slip gave back of each line, on the date of the first such change. A
chargeback counts the same, as a chargeback, for orders never refunded in full; a credit slip that is
a chargeback's amount (reports.refunds) counts as a chargeback too.
"""

from dataclasses import replace

from sqlalchemy import and_, case, distinct, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from extensions import db
from reports.period import Period
from reports.readonly import report_queries
from reports.refunds import CHARGEBACK, REFUND, cents, given_back, paid_before_entry
from reports.revenue import CurrencyReport, Figures, add_given_back, slot_of, to_money
from reports.states import EndingStates, ending_states
from shop.models import CreditSlip, CreditSlipLine, OrderHistory, OrderLine, Payment


def product_report(period: Period) -> list[CurrencyReport]:
    """Return the report by product, one list of rows per currency, with each currency's totals."""
    report_queries()
    states = ending_states()
    gone = _lines_given_back(period, states)
    rows: dict[tuple[str, str], Figures] = {}
    totals: dict[str, Figures] = {}
    labels: dict[str, str] = {}
    _add_sold(rows, period, labels)
    _add_paid_orders(totals, period)
    for (currency, _product), row in rows.items():
        slot_of(totals, currency, None).gross += row.gross
    add_given_back(rows, totals, gone, gone.c.product_id)
    reports = []
    for currency in sorted(totals):
        mine = [row for (cur, _product), row in rows.items() if cur == currency]
        for row in mine:
            row.label = labels.get(row.key, f"product #{row.key}")
        mine.sort(key=lambda row: (-row.gross, row.label))
        reports.append(CurrencyReport(currency, replace(totals[currency], key="total", label="Total"), mine))
    return reports


def _add_sold(rows: dict, period: Period, labels: dict) -> None:
    """Add each product's sold lines of the orders paid in period."""
    # The orders paid in the period with their currency (a payment carries it), each once.
    paid = (
        select(Payment.order_id, func.max(Payment.currency).label("currency"))
        .where(Payment.at >= period.start, Payment.at < period.end)
        .group_by(Payment.order_id)
        .subquery("paid")
    )
    statement = (
        select(
            paid.c.currency,
            OrderLine.product_id,
            func.sum(cents(OrderLine.unit_price_tax_incl) * OrderLine.quantity),
            func.count(distinct(OrderLine.order_id)),
            func.max(OrderLine.product_reference),
            func.max(OrderLine.product_name),
        )
        .join(paid, paid.c.order_id == OrderLine.order_id)
        .group_by(paid.c.currency, OrderLine.product_id)
    )
    for currency, product_id, gross, orders, reference, name in db.session.execute(statement):
        slot = slot_of(rows, currency, product_id)
        slot.gross += to_money(gross)
        slot.paid_orders += int(orders)
        labels[str(product_id)] = f"{reference} · {name}"


def _add_paid_orders(totals: dict, period: Period) -> None:
    """Count each currency's orders paid in period, once each (the products' rows count them per product)."""
    statement = (
        select(Payment.currency, func.count(distinct(Payment.order_id)))
        .where(Payment.at >= period.start, Payment.at < period.end)
        .group_by(Payment.currency)
    )
    for currency, orders in db.session.execute(statement):
        slot_of(totals, currency, None).paid_orders += int(orders)


def _lines_given_back(period: Period, states: EndingStates):
    """Each product line given back in period: ``order_id, product_id, kind, amount`` (cents)."""
    paid_before_slip = select(1).where(Payment.order_id == CreditSlip.order_id, Payment.at <= CreditSlip.at).exists()
    gone = given_back(period, states)
    # Read first (a few ids): as a subquery inside the CASE below, PostgreSQL would run it per slip line.
    chargeback_slips = list(
        db.session.scalars(
            select(gone.c.credit_slip_id).where(gone.c.kind == CHARGEBACK, gone.c.credit_slip_id.is_not(None))
        )
    )
    slip_lines = (
        select(
            CreditSlip.order_id,
            OrderLine.product_id,
            case((CreditSlip.id.in_(chargeback_slips), CHARGEBACK), else_=REFUND).label("kind"),
            cents(CreditSlipLine.amount_tax_incl).label("amount"),
        )
        .select_from(CreditSlipLine)
        .join(CreditSlip, CreditSlip.id == CreditSlipLine.credit_slip_id)
        .join(OrderLine, OrderLine.id == CreditSlipLine.order_line_id)
        .where(CreditSlip.at >= period.start, CreditSlip.at < period.end, paid_before_slip)
    )
    # What no credit slip gave back of a line: its total less its slip lines' amounts.
    slipped = (
        select(func.coalesce(func.sum(cents(CreditSlipLine.amount_tax_incl)), 0))
        .where(CreditSlipLine.order_line_id == OrderLine.id)
        .scalar_subquery()
    )
    left = cents(OrderLine.unit_price_tax_incl) * OrderLine.quantity - slipped

    def remainders(orders, kind: str):
        return select(OrderLine.order_id, OrderLine.product_id, literal(kind), left).where(
            OrderLine.order_id.in_(orders), left > 0
        )

    refunded = _first_entry(period, states.full_refund)
    charged_back = _first_entry(period, states.chargeback, excluded=states.full_refund)
    return union_all(slip_lines, remainders(refunded, REFUND), remainders(charged_back, CHARGEBACK)).subquery(
        "lines_given_back"
    )


def _first_entry(period: Period, state_ids: tuple[int, ...], excluded: tuple[int, ...] = ()):
    """The orders whose first entry (after payment) into one of state_ids falls in period.

    Found from the period's entries (by date) with a look back per order (by order id), never by
    reading every entry the shop ever had; ``excluded``: orders ever in one of these states (after
    payment) are left out.
    """
    earlier = aliased(OrderHistory)
    first = select(OrderHistory.order_id).where(
        OrderHistory.state_id.in_(state_ids),
        OrderHistory.at >= period.start,
        OrderHistory.at < period.end,
        paid_before_entry(),
        ~exists(
            select(1).where(
                earlier.order_id == OrderHistory.order_id,
                earlier.state_id.in_(state_ids),
                or_(earlier.at < OrderHistory.at, and_(earlier.at == OrderHistory.at, earlier.id < OrderHistory.id)),
                paid_before_entry(earlier),
            )
        ),
    )
    if excluded:
        other = aliased(OrderHistory)
        first = first.where(
            ~exists(
                select(1).where(
                    other.order_id == OrderHistory.order_id, other.state_id.in_(excluded), paid_before_entry(other)
                )
            )
        )
    return first
