"""The reports' summary rows: what each order gave and gave back per day, their daily sums, and what changed.

- ReportFact: one row per order, day, currency and level (the order itself, all its products, one
  product) with that day's payments and what the order gave back (reports.refunds' rule), and the
  order's previous day with the same kind of figure, so a period's distinct orders are the daily
  counts less the orders seen again (see reports.summary).
- ReportDay: the facts summed per day, currency, level, source and campaign: what the reports read.
- ReportChange: orders whose rows changed since their facts were computed. Database triggers write
  them (reports.triggers) on every change to payments, status history, credit slips, order lines and
  orders, whoever makes it (the shop, a postback, a raw import); the next report rolls them up.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.dbtypes import UTCDateTime
from extensions import db

ORDER_LEVEL = 0  # the order's own figures (payments, credit slips, shipping included)
PRODUCTS_LEVEL = -1  # its product lines together (the totals of the report by product)
# Levels above zero are product ids.

SEEN_AGAIN = "prev_paid_day IS NOT NULL OR prev_refund_day IS NOT NULL OR prev_chargeback_day IS NOT NULL"
REFUNDED = "refund_count > 0 AND level = 0"


class ReportFact(db.Model):
    """What one order paid and gave back on one day, in one currency, for itself or one of its products."""

    __tablename__ = "report_fact"

    order_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(255), default="")
    campaign: Mapped[str] = mapped_column(String(255), default="")
    customer_id: Mapped[int | None] = mapped_column(Integer)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)  # cents
    paid: Mapped[int] = mapped_column(default=0)  # 1 when a payment was recorded that day
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_count: Mapped[int] = mapped_column(default=0)
    refunded: Mapped[int] = mapped_column(default=0)
    chargeback_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    charged_back: Mapped[int] = mapped_column(default=0)
    events: Mapped[int] = mapped_column(default=0)  # refunds and chargebacks that day, even of nothing left
    last_refund_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the day's last refund giving money
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prev_paid_day: Mapped[date | None] = mapped_column(Date)
    prev_refund_day: Mapped[date | None] = mapped_column(Date)
    prev_chargeback_day: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_report_fact_day_level", "day", "level"),
        Index("ix_report_fact_order_id", "order_id"),
        # The few rows of orders seen on an earlier day too: read by every report to count orders once.
        Index("ix_report_fact_seen_again", "day", postgresql_where=text(SEEN_AGAIN), sqlite_where=text(SEEN_AGAIN)),
        # The orders' refunds giving money back (serial refunders), apart from the many days of payments only.
        Index("ix_report_fact_refunded", "day", postgresql_where=text(REFUNDED), sqlite_where=text(REFUNDED)),
    )


class ReportDay(db.Model):
    """The facts of one day summed per currency, level, source and campaign (products: source and campaign '')."""

    __tablename__ = "report_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(255), primary_key=True)
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_orders: Mapped[int] = mapped_column(default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_count: Mapped[int] = mapped_column(default=0)
    refunded_orders: Mapped[int] = mapped_column(default=0)
    chargebacks: Mapped[int] = mapped_column(default=0)
    chargeback_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str | None] = mapped_column(String(64))  # a product's, from the lines sold that day
    name: Mapped[str | None] = mapped_column(String(128))


class ReportChange(db.Model):
    """An order whose payments, history, credit slips, lines or attribution changed since its facts were made."""

    __tablename__ = "report_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)


MISMATCHED = "mismatched <> ''"


class ToldAmounts:
    """The reconciliation's amounts (cents) of one order and destination, or their sum over a day."""

    refunded: Mapped[int] = mapped_column(BigInteger, default=0)  # what the order gave back in all
    acknowledged: Mapped[int] = mapped_column(BigInteger, default=0)
    waiting: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    out_of_window: Mapped[int] = mapped_column(BigInteger, default=0)
    not_eligible: Mapped[int] = mapped_column(BigInteger, default=0)
    over_reported: Mapped[int] = mapped_column(BigInteger, default=0)
    resendable: Mapped[int] = mapped_column(default=0)  # failed events whose window is still open


class ReportTold(ToldAmounts, db.Model):
    """What one destination was told of one order's refunds, against what the order gave back (reconciliation).

    One row per order that gave money back and registered destination, recomputed with the order's
    facts, when one of its outbox rows changes status, and when its ``recheck_at`` passes (a window
    closing moves money from not eligible to out of window, and makes a failed event no longer
    resendable). Amounts are cents.
    """

    __tablename__ = "report_told"

    order_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    destination: Mapped[str] = mapped_column(String(32), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    day: Mapped[date] = mapped_column(Date)  # of the order's last refund or chargeback: where it is listed
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    # The destinations (sorted, comma-separated) that do not know exactly what the order gave back: the
    # same on each of the order's rows, so "mismatched for one of the enabled destinations" is one test.
    mismatched: Mapped[str] = mapped_column(String(255), default="")
    recheck_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when a window of the row closes

    __table_args__ = (
        Index("ix_report_told_listed", "destination", "last_event_at", "order_id"),
        Index(
            "ix_report_told_mismatched",
            "destination",
            "last_event_at",
            "order_id",
            postgresql_where=text(MISMATCHED),
            sqlite_where=text(MISMATCHED),
        ),
        Index("ix_report_told_day", "day"),
        Index(
            "ix_report_told_recheck",
            "recheck_at",
            postgresql_where=text("recheck_at IS NOT NULL"),
            sqlite_where=text("recheck_at IS NOT NULL"),
        ),
    )


class ReportToldDay(ToldAmounts, db.Model):
    """The told rows of one day summed per currency, destination and set of mismatched destinations."""

    __tablename__ = "report_told_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    destination: Mapped[str] = mapped_column(String(32), primary_key=True)
    mismatched: Mapped[str] = mapped_column(String(255), primary_key=True)
    orders: Mapped[int] = mapped_column(default=0)


class ReportToldChange(db.Model):
    """An order one of whose outbox rows changed status (sent, failed, queued again) since its told rows were made."""

    __tablename__ = "report_told_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)
