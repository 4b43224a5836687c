"""Serial refunders: customers with N refunds or more in the last 30, 90 or 180 days.

A refund is what the revenue report counts as one (a credit slip or a full refund that gave money
back, reports.refunds). Customers are matched by e-mail (trimmed, lowercase), so a guest who checks
out under several customer records is still one person. The audience file is Meta's customer-list
format: EMAIL and PHONE columns, normalised and SHA-256 hashed by Pixel Plus's own rules.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import distinct, func, select

from core.dbtypes import utcnow
from extensions import db
from pixelplus.hashing import hash_field
from reports.csvfile import csv_text
from reports.models import ORDER_LEVEL, ReportFact
from reports.period import PeriodError, bounded_int
from reports.readonly import report_queries
from reports.summary import refresh
from shop.models import Customer

WINDOWS = (30, 90, 180)
DEFAULT_MIN_REFUNDS = 3
MAX_MIN_REFUNDS = 1000
AUDIENCE_COLUMNS = ("EMAIL", "PHONE")


@dataclass(frozen=True)
class SerialRefunder:
    """A customer (by e-mail) and their refunds in the window."""

    email: str
    name: str
    phone: str | None
    country: str | None
    refunds: int
    refunded_orders: int
    last_refund_at: datetime


def window_from(days_text: str | None, min_text: str | None) -> tuple[int, int]:
    """Read the window (30/90/180 days) and the minimum number of refunds; PeriodError naming the argument."""
    days_text = (days_text or str(WINDOWS[0])).strip()
    if days_text not in {str(days) for days in WINDOWS}:
        raise PeriodError("days", f"must be one of {', '.join(map(str, WINDOWS))}")
    return int(days_text), bounded_int("min_refunds", min_text, DEFAULT_MIN_REFUNDS, 1, MAX_MIN_REFUNDS)


def serial_refunders(days: int, minimum: int, today: date | None = None) -> list[SerialRefunder]:
    """Return the customers with at least minimum refunds in the last days days (today included)."""
    refresh()
    report_queries()
    today = today or utcnow().date()
    f = ReportFact
    email = func.lower(func.trim(Customer.email))
    if db.session.get_bind().dialect.name == "postgresql":
        # Byte order for the e-mail key: PostgreSQL's locale collation sorted every refund of the window by
        # language rules (a sixth of the report's time), and e-mails are only compared for equality here.
        email = email.collate("C")
    refunds = func.sum(f.refund_count)
    statement = (
        select(
            email,
            func.max(Customer.firstname),
            func.max(Customer.lastname),
            func.max(Customer.phone),
            func.max(Customer.country),
            refunds,
            func.count(distinct(f.order_id)),
            func.max(f.last_refund_at),
        )
        .select_from(f)
        .join(Customer, Customer.id == f.customer_id)
        .where(f.day.between(today - timedelta(days=days - 1), today), f.level == ORDER_LEVEL, f.refund_count > 0)
        .group_by(email)
        .having(refunds >= minimum)
        .order_by(refunds.desc(), email)
    )
    return [
        SerialRefunder(mail, f"{first} {last}".strip(), phone, country, int(count), int(orders), last_at)
        for mail, first, last, phone, country, count, orders, last_at in db.session.execute(statement)
    ]


def audience_csv(customers: list[SerialRefunder]) -> str:
    """Return Meta's customer-list file: EMAIL and PHONE, normalised and hashed as Pixel Plus does."""
    rows = [AUDIENCE_COLUMNS]
    for customer in customers:
        rows.append(
            (
                hash_field("em", customer.email) or "",
                hash_field("ph", customer.phone, customer.country) or "",
            )
        )
    return csv_text(rows)
