"""Finding orders for the back-office list: filters by state, reference, customer and date; sorted by a column."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from core.csvsafe import csv_line
from extensions import db
from shop.models import Customer, Order, OrderState

# The columns the list sorts by (the only ones: a column name never reaches SQL from the query string).
# Each sort ends with the order id, so pages never repeat or skip a row when values tie.
SORT_COLUMNS = {
    "reference": lambda: (Order.reference,),
    "customer": lambda: (func.lower(Customer.lastname), func.lower(Customer.firstname)),
    "total": lambda: (Order.total_products_tax_incl + Order.total_shipping_tax_incl - Order.total_discounts_tax_incl,),
    "state": lambda: (func.lower(OrderState.name),),
    "date": lambda: (Order.created_at,),
    "payment": lambda: (func.lower(Order.payment_method),),
}
DEFAULT_SORT = "date"


@dataclass(frozen=True)
class OrderFilters:
    """What the orders list is narrowed to (empty values filter nothing), and how it is sorted."""

    state_id: int | None = None
    reference: str = ""
    customer: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = DEFAULT_SORT
    descending: bool = True

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any((self.state_id, self.reference, self.customer, self.date_from, self.date_to))

    def select(self) -> Select:
        """Return the matching orders in the chosen order (newest first by default)."""
        query = select(Order)
        if self.state_id:
            query = query.where(Order.current_state_id == self.state_id)
        if self.reference:
            query = query.where(Order.reference.contains(self.reference.strip().upper(), autoescape=True))
        if self.customer:
            needle = f"%{_escape_like(self.customer.strip().lower())}%"
            full_name = func.lower(Customer.firstname + " " + Customer.lastname)
            query = query.join(Order.customer).where(
                or_(
                    func.lower(Customer.email).like(needle, escape="\\"),
                    full_name.like(needle, escape="\\"),
                    func.lower(Customer.lastname).like(needle, escape="\\"),
                )
            )
        if self.date_from:
            query = query.where(Order.created_at >= _start_of_day(self.date_from))
        if self.date_to:
            query = query.where(Order.created_at < _start_of_day(self.date_to + timedelta(days=1)))
        return self._sorted(query)

    def _sorted(self, query: Select) -> Select:
        sort = self.sort if self.sort in SORT_COLUMNS else DEFAULT_SORT
        if sort == "customer" and not self.customer:
            query = query.join(Order.customer)
        if sort == "state":
            query = query.outerjoin(OrderState, Order.current_state_id == OrderState.id)
        columns = (*SORT_COLUMNS[sort](), Order.id)
        return query.order_by(*(column.desc() if self.descending else column.asc() for column in columns))


def orders_page(filters: OrderFilters, page: int, per_page: int):
    """Return one page of matching orders (Flask-SQLAlchemy Pagination, with the total)."""
    query = filters.select().options(selectinload(Order.customer), selectinload(Order.current_state))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, max_per_page=500)


def count_matching(filters: OrderFilters) -> int:
    """Return how many orders match."""
    return db.session.scalar(select(func.count()).select_from(filters.select().order_by(None).subquery()))


def matching_order_ids(filters: OrderFilters, limit: int) -> list[int]:
    """Return the ids of the matching orders, newest first, at most limit of them."""
    query = filters.select().with_only_columns(Order.id).limit(limit)
    return list(db.session.scalars(query))


EXPORT_HEADER = (
    "id",
    "reference",
    "created_at_utc",
    "customer",
    "email",
    "state",
    "total_paid_tax_incl",
    "currency",
    "payment",
)


def export_rows(filters: OrderFilters) -> Iterator[str]:
    """Yield the matching orders as CSV lines, header first, in the list's order, a batch at a time."""
    yield csv_line(EXPORT_HEADER)
    query = filters.select().options(selectinload(Order.customer), selectinload(Order.current_state))
    for order in db.session.scalars(query.execution_options(yield_per=500)):
        yield csv_line(
            (
                order.id,
                order.reference,
                order.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                order.customer.name,
                order.customer.email,
                order.current_state.name if order.current_state else "",
                order.total_paid_tax_incl,
                order.currency,
                order.payment_method,
            )
        )


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
