"""Finding orders for the back-office list: filters by state, reference, customer and date."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from extensions import db
from shop.models import Customer, Order


@dataclass(frozen=True)
class OrderFilters:
    """What the orders list is narrowed to; empty values filter nothing."""

    state_id: int | None = None
    reference: str = ""
    customer: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any((self.state_id, self.reference, self.customer, self.date_from, self.date_to))

    def select(self) -> Select:
        """Return the matching orders, newest first."""
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
        return query.order_by(Order.created_at.desc(), Order.id.desc())


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


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
