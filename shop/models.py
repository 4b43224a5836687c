"""The shop's tables: catalog, customers, orders and their lines, payments, history, credit slips, staff."""

import hashlib
import secrets
from datetime import datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, false, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core.dbtypes import Money, UTCDateTime, money, utcnow
from extensions import db

ROLES = ("superadmin", "admin", "merchant", "tester")

# What each role may do. "read" is every back-office page that only shows something; "sandbox.manage"
# wipes what the sandbox received (testers only watch it and inject faults).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "superadmin": frozenset(
        {
            "read",
            "orders",
            "settings",
            "settings.view",
            "events.resend",
            "sandbox",
            "sandbox.manage",
            "staff",
            "reports",
        }
    ),
    "admin": frozenset({"read", "orders"}),
    "merchant": frozenset(
        {"read", "settings", "settings.view", "events.resend", "sandbox", "sandbox.manage", "reports"}
    ),
    "tester": frozenset({"read", "settings.view", "sandbox", "reports"}),
}


class OrderState(db.Model):
    """An order state with PrestaShop's flags; default states carry their PS_OS_* key."""

    __tablename__ = "order_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    color: Mapped[str] = mapped_column(String(7), default="#34209E")
    logable: Mapped[bool] = mapped_column(default=False)
    invoice: Mapped[bool] = mapped_column(default=False)
    paid: Mapped[bool] = mapped_column(default=False)
    shipped: Mapped[bool] = mapped_column(default=False)
    delivery: Mapped[bool] = mapped_column(default=False)
    send_email: Mapped[bool] = mapped_column(default=False)
    # PrestaShop's other order_state fields: the payment module that owns the state, hidden from the
    # customer's order history, protected from deletion, PDFs attached to the status e-mail, its template.
    module_name: Mapped[str | None] = mapped_column(String(255))
    hidden: Mapped[bool] = mapped_column(default=False, server_default=false())
    unremovable: Mapped[bool] = mapped_column(default=False, server_default=false())
    pdf_invoice: Mapped[bool] = mapped_column(default=False, server_default=false())
    pdf_delivery: Mapped[bool] = mapped_column(default=False, server_default=false())
    template: Mapped[str | None] = mapped_column(String(64))

    @property
    def is_custom(self) -> bool:
        """Whether a merchant created this state (default states have a key)."""
        return self.key is None

    @classmethod
    def by_key(cls, key: str) -> "OrderState":
        """Return the default state with this PS_OS_* key."""
        state = db.session.scalar(select(cls).filter_by(key=key))
        if state is None:
            raise LookupError(f"order state {key} is not installed")
        return state

    def __repr__(self) -> str:
        return f"<OrderState {self.id} {self.name}>"


class Product(db.Model):
    """A product in the catalog."""

    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    price_tax_excl: Mapped[Decimal] = mapped_column(Money)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("20.00"))
    active: Mapped[bool] = mapped_column(default=True)
    # Units in stock (PrestaShop's stock_available.quantity): orders take units, restocking gives them back.
    quantity: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def price_tax_incl(self) -> Decimal:
        """The price with tax, rounded to the cent."""
        return money(self.price_tax_excl * (1 + Decimal(self.tax_rate) / 100))


class Customer(db.Model):
    """A customer and the address their order is delivered to."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    firstname: Mapped[str] = mapped_column(String(64))
    lastname: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(64))
    postcode: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def name(self) -> str:
        """First and last name."""
        return f"{self.firstname} {self.lastname}"


class Order(db.Model):
    """An order: totals, current state, and the browser data captured at checkout."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_invoice_number", "invoice_number", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(9), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(64), default="Bank wire")
    total_products_tax_excl: Mapped[Decimal] = mapped_column(Money)
    total_products_tax_incl: Mapped[Decimal] = mapped_column(Money)
    total_shipping_tax_excl: Mapped[Decimal] = mapped_column(Money)
    total_shipping_tax_incl: Mapped[Decimal] = mapped_column(Money)
    total_discounts_tax_excl: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total_discounts_tax_incl: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    valid: Mapped[bool] = mapped_column(default=False)
    # The carrier's tax rate, to split a shipping refund into tax excl/incl (PrestaShop's carrier_tax_rate).
    carrier_tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("20.00"), server_default="20.00")
    # Set the first time the order enters a state with invoice=1 (PrestaShop's Order::setInvoice).
    invoice_number: Mapped[int | None]
    invoice_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_state_id: Mapped[int | None] = mapped_column(ForeignKey("order_state.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Browser data captured at checkout; empty for orders created without a browser.
    client_ip_address: Mapped[str | None] = mapped_column(String(45))
    client_user_agent: Mapped[str | None] = mapped_column(Text)
    fbp: Mapped[str | None] = mapped_column(String(255))
    fbc: Mapped[str | None] = mapped_column(String(255))
    ga_client_id: Mapped[str | None] = mapped_column(String(64))  # GA4's client id, from the _ga cookie
    event_source_url: Mapped[str | None] = mapped_column(Text)
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))
    utm_campaign: Mapped[str | None] = mapped_column(String(255))
    # The storefront's own click id (cookie ppcid): what an affiliate network sends back in a postback.
    click_id: Mapped[str | None] = mapped_column(String(64), index=True)

    customer: Mapped[Customer] = relationship()
    current_state: Mapped[OrderState | None] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    payments: Mapped[list["Payment"]] = relationship(order_by="Payment.id", cascade="all, delete-orphan")
    history: Mapped[list["OrderHistory"]] = relationship(order_by="OrderHistory.id", cascade="all, delete-orphan")
    credit_slips: Mapped[list["CreditSlip"]] = relationship(
        back_populates="order", order_by="CreditSlip.id", cascade="all, delete-orphan"
    )
    vouchers: Mapped[list["Voucher"]] = relationship(
        back_populates="order", order_by="Voucher.id", cascade="all, delete-orphan"
    )

    @property
    def total_paid_tax_incl(self) -> Decimal:
        """What the customer pays: products and shipping with tax, less discounts."""
        return self.total_products_tax_incl + self.total_shipping_tax_incl - self.total_discounts_tax_incl

    @property
    def total_paid_tax_excl(self) -> Decimal:
        """The same total without tax."""
        return self.total_products_tax_excl + self.total_shipping_tax_excl - self.total_discounts_tax_excl

    @property
    def amount_paid(self) -> Decimal:
        """The sum of recorded payments."""
        return sum((p.amount for p in self.payments), Decimal("0.00"))

    @property
    def refunded_total(self) -> Decimal:
        """The sum of the credit slips, tax included (products and shipping)."""
        return sum((s.amount_tax_incl for s in self.credit_slips), Decimal("0.00"))

    @property
    def has_browser_data(self) -> bool:
        """Whether checkout captured a browser (user agent and page URL)."""
        return bool(self.client_user_agent and self.event_source_url)

    @staticmethod
    def new_reference() -> str:
        """Return an unused 9-letter uppercase reference, as PrestaShop makes them."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        while True:
            reference = "".join(secrets.choice(alphabet) for _ in range(9))
            if not db.session.scalar(select(func.count()).where(Order.reference == reference)):
                return reference


class OrderLine(db.Model):
    """A product line of an order (PrestaShop's order_detail)."""

    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    product_reference: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int]
    unit_price_tax_excl: Mapped[Decimal] = mapped_column(Money)
    unit_price_tax_incl: Mapped[Decimal] = mapped_column(Money)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("20.00"), server_default="20.00")
    refunded_quantity: Mapped[int] = mapped_column(default=0)  # product_quantity_refunded
    returned_quantity: Mapped[int] = mapped_column(default=0)  # product_quantity_return
    restocked_quantity: Mapped[int] = mapped_column(default=0, server_default="0")  # product_quantity_reinjected
    # Money given back for this line so far, by credit slip or voucher (PrestaShop's total_refunded_tax_*).
    total_refunded_tax_excl: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    total_refunded_tax_incl: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def refundable_quantity(self) -> int:
        """How many units may still be refunded or returned."""
        return self.quantity - self.refunded_quantity - self.returned_quantity

    @property
    def total_tax_incl(self) -> Decimal:
        """What the line cost, tax included."""
        return self.unit_price_tax_incl * self.quantity

    @property
    def refundable_amount(self) -> Decimal:
        """What is left of the line to refund, tax included."""
        return max(self.total_tax_incl - self.total_refunded_tax_incl, Decimal("0.00"))


class Payment(db.Model):
    """A payment recorded on an order (PrestaShop's order_payment)."""

    __tablename__ = "payment"
    # Reports read a period's payments: on PostgreSQL the index carries what they sum (index-only scans).
    __table_args__ = (Index("ix_payment_at", "at", postgresql_include=["currency", "order_id", "amount"]),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderHistory(db.Model):
    """One state an order entered: which, when, and who set it."""

    __tablename__ = "order_history"
    # Reports: the refunds and chargebacks of a period are the entries into some states, by date.
    __table_args__ = (Index("ix_order_history_state_at", "state_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    state_id: Mapped[int] = mapped_column(ForeignKey("order_state.id"))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Why the order was refunded (shop.reasons.REASONS) and the admin's note; None: not given.
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    state: Mapped[OrderState] = relationship()
    employee: Mapped["Employee | None"] = relationship()


class CreditSlip(db.Model):
    """A credit slip (PrestaShop's order_slip): the money given back for some lines and shipping."""

    __tablename__ = "credit_slip"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # reports: refunds by date
    total_products_tax_excl: Mapped[Decimal] = mapped_column(Money)
    total_products_tax_incl: Mapped[Decimal] = mapped_column(Money)
    total_shipping_tax_excl: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total_shipping_tax_incl: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # PrestaShop's order_slip.amount (the products refunded, tax incl), shipping_cost_amount (the
    # shipping refunded, tax incl) and order_slip_type (SLIP_TYPES). The total_* columns stay the truth.
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    shipping_cost_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    slip_type: Mapped[int] = mapped_column(default=0, server_default="0")
    # Why the money was given back (shop.reasons.REASONS) and the admin's note; None: not given.
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="credit_slips")
    employee: Mapped["Employee | None"] = relationship()
    lines: Mapped[list["CreditSlipLine"]] = relationship(
        back_populates="credit_slip", order_by="CreditSlipLine.id", cascade="all, delete-orphan"
    )

    @property
    def amount_tax_incl(self) -> Decimal:
        """Products and shipping refunded, tax included."""
        return self.total_products_tax_incl + self.total_shipping_tax_incl

    @property
    def amount_tax_excl(self) -> Decimal:
        """Products and shipping refunded, tax excluded."""
        return self.total_products_tax_excl + self.total_shipping_tax_excl


# PrestaShop's VoucherRefundType, stored as order_slip_type.
SLIP_TYPE_PRODUCT_PRICES = 0
SLIP_TYPE_PRODUCT_PRICES_EXCLUDING_VOUCHER = 1
SLIP_TYPE_SPECIFIC_AMOUNT = 2


class Voucher(db.Model):
    """A voucher given to the customer as a refund (PrestaShop's cart rule from VoucherGenerator)."""

    __tablename__ = "voucher"
    __table_args__ = (UniqueConstraint("code", name="uq_voucher_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    credit_slip_id: Mapped[int | None] = mapped_column(ForeignKey("credit_slip.id"))
    amount_tax_incl: Mapped[Decimal] = mapped_column(Money)
    # The shipping part of a voucher given without a credit slip (with one, the slip holds it), so the
    # shipping cannot be refunded twice.
    shipping_tax_incl: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    shipping_tax_excl: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="vouchers")
    credit_slip: Mapped["CreditSlip | None"] = relationship()


class CreditSlipLine(db.Model):
    """How many units of one order line a credit slip refunds, and for how much."""

    __tablename__ = "credit_slip_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_slip_id: Mapped[int] = mapped_column(ForeignKey("credit_slip.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)  # reports: a line's slips
    quantity: Mapped[int]
    amount_tax_excl: Mapped[Decimal] = mapped_column(Money)
    amount_tax_incl: Mapped[Decimal] = mapped_column(Money)

    credit_slip: Mapped[CreditSlip] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class Employee(UserMixin, db.Model):
    """A back-office user with a role, a hashed password and a hashed API key."""

    __tablename__ = "employee"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    firstname: Mapped[str] = mapped_column(String(64), default="")
    lastname: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    api_key_hint: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the id a session cookie holds: raising it ends every signed-in session (API keys stay valid).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive employees
        return self.active

    @property
    def name(self) -> str:
        """Full name, or the e-mail when no name was given."""
        return f"{self.firstname} {self.lastname}".strip() or self.email

    def get_id(self) -> str:
        """The session's id for flask-login: the employee id and the session version (``"7.2"``)."""
        return f"{self.id}.{self.session_version or 0}"

    def end_sessions(self) -> None:
        """Make every session cookie of this employee stop working (sign-out, password change)."""
        self.session_version = (self.session_version or 0) + 1

    def can(self, permission: str) -> bool:
        """Whether this employee's role grants permission."""
        return self.active and permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    def set_password(self, password: str) -> None:
        """Store a salted hash of password; every session signed in with the old one ends."""
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        """Whether password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def new_api_key(self) -> str:
        """Give this employee a fresh API key and return it; only its hash is kept."""
        key = "ppk_" + secrets.token_urlsafe(30)
        self.api_key_hash = hash_api_key(key)
        self.api_key_hint = key[-4:]
        return key


def hash_api_key(key: str) -> str:
    """Return the stored form of an API key (keys are random, so a plain SHA-256 is enough)."""
    return hashlib.sha256(key.encode()).hexdigest()
