"""This month's figures above the orders list: orders placed, sales, refunds and the refund rate, per currency.

Amounts are never summed across currencies. Refunds are counted in the month they happen (a credit slip's
date; the day an order entered the Refunded state, for what its slips had not already given back), so
the refund rate (refunded / sales, per currency) compares this month's refunds with this month's sales.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select, type_coerce, union

from core.dbtypes import Money, utcnow
from extensions import db
from shop.models import CreditSlip, Order, OrderHistory, OrderState, Payment

ZERO = Decimal("0.00")


@dataclass
class MonthKpis:
    """The figures of one calendar month (UTC) so far."""

    month_start: datetime
    orders: int = 0
    refunded_orders: int = 0
    sales: dict[str, Decimal] = field(default_factory=dict)
    refunded: dict[str, Decimal] = field(default_factory=dict)

    @property
    def currencies(self) -> list[str]:
        """Every currency with sales or refunds this month, alphabetically."""
        return sorted(set(self.sales) | set(self.refunded))

    def refund_rate(self, currency: str) -> Decimal | None:
        """Refunded ÷ sales in currency, as a percentage with one decimal; None without sales."""
        sales = self.sales.get(currency, ZERO)
        if not sales:
            return None
        return (self.refunded.get(currency, ZERO) * 100 / sales).quantize(Decimal("0.1"))


def month_kpis(now: datetime | None = None) -> MonthKpis:
    """Compute this month's orders, sales, refunds and refund rate."""
    now = now or utcnow()
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    kpis = MonthKpis(month_start=start)
    order_total = type_coerce(
        Order.total_products_tax_incl + Order.total_shipping_tax_incl - Order.total_discounts_tax_incl, Money
    )
    slip_amount = type_coerce(CreditSlip.total_products_tax_incl + CreditSlip.total_shipping_tax_incl, Money)

    kpis.orders = db.session.scalar(select(func.count()).where(Order.created_at >= start)) or 0
    # Sales: what this month's paid orders cost their customers.
    paid = select(Payment.order_id).distinct()
    kpis.sales = _per_currency(
        select(Order.currency, func.sum(order_total))
        .where(Order.created_at >= start, Order.id.in_(paid))
        .group_by(Order.currency)
    )
    # Refunds: this month's credit slips...
    refunded = defaultdict(
        lambda: ZERO,
        _per_currency(
            select(Order.currency, func.sum(slip_amount))
            .join(Order, CreditSlip.order_id == Order.id)
            .where(CreditSlip.at >= start)
            .group_by(Order.currency)
        ),
    )
    # ...and, for orders that entered Refunded this month, the rest of their total that no slip gave back.
    refund_state = OrderState.by_key("PS_OS_REFUND")
    entered_refunded = select(OrderHistory.order_id).where(OrderHistory.at >= start)
    entered_refunded = entered_refunded.where(OrderHistory.state_id == (refund_state.id if refund_state else -1))
    totals = _per_currency(
        select(Order.currency, func.sum(order_total)).where(Order.id.in_(entered_refunded)).group_by(Order.currency)
    )
    slipped = _per_currency(
        select(Order.currency, func.sum(slip_amount))
        .join(Order, CreditSlip.order_id == Order.id)
        .where(CreditSlip.order_id.in_(entered_refunded))
        .group_by(Order.currency)
    )
    for currency, total in totals.items():
        refunded[currency] += max(total - slipped.get(currency, ZERO), ZERO)
    kpis.refunded = {currency: amount for currency, amount in refunded.items() if amount}
    slipped_orders = select(CreditSlip.order_id).where(CreditSlip.at >= start)
    kpis.refunded_orders = db.session.scalar(
        select(func.count()).select_from(union(slipped_orders, entered_refunded).subquery())
    )
    return kpis


def _per_currency(query) -> dict[str, Decimal]:
    return {currency: amount or ZERO for currency, amount in db.session.execute(query)}
