"""Read the JSON API's request bodies into the shop's objects, or refuse them with per-field messages.

Every check runs before anything is written, and all the problems of a body are reported at once:
``ApiError(422, "invalid", …, fields={"customer.email": "…", "lines[0].quantity": "…"})``.
Numbers must be JSON integers and flags JSON booleans; strings like "3" or "true" are refused
rather than guessed. Ids and counts are range-checked before any query (``core.inputs.MAX_ID``); text
with an unpaired surrogate or a control character is refused.
"""

import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import phonenumbers
import pycountry
from sqlalchemy import select

from core.apierrors import ApiError
from core.inputs import MAX_ID, text_problem, whole_number
from extensions import db
from shop.models import OrderState, Product
from shop.reasons import line_breaks, reason_problems
from shop.refunds import KINDS, LineRefund, Refund

MAX_LINES = 100
MAX_QUANTITY = 1000
MAX_BULK_ORDERS = 10_000
MAX_LIST_LIMIT = 500
MAX_AMOUNT = Decimal("1000000000")
CENT = Decimal("0.01")
# The refund's choices, with their defaults (PrestaShop's form: a credit slip, no voucher, no restock).
REFUND_FLAGS = {"credit_slip": True, "voucher": False, "restock": False}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
CUSTOMER_FIELDS = {  # field: (required, max length), as the customer table stores them
    "email": (True, 255),
    "firstname": (True, 64),
    "lastname": (True, 64),
    "phone": (False, 32),
    "city": (False, 64),
    "state": (False, 64),
    "postcode": (False, 16),
    "country": (True, 2),
}
BROWSER_FIELDS = {  # field: max length
    "client_ip_address": 45,
    "client_user_agent": 2000,
    "fbp": 255,
    "fbc": 255,
    "ga_client_id": 64,
    "event_source_url": 2000,
    "utm_source": 255,
    "utm_medium": 255,
    "utm_campaign": 255,
    "click_id": 64,
}


class FieldErrors:
    """The per-field messages collected while reading a body."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, name: str, message: str) -> None:
        """Record a problem with a field (the first one found for it wins)."""
        self.fields.setdefault(name, message)

    def raise_if_any(self) -> None:
        """Refuse the request with 422 if any field was wrong."""
        if self.fields:
            raise ApiError(422, "invalid", "some fields are invalid; see fields", dict(self.fields))


def is_whole_number(value) -> bool:
    """Whether value is a JSON integer (a bool is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def refuse_unknown_keys(data: dict, allowed, errors: FieldErrors, prefix: str = "") -> None:
    """Report keys the endpoint does not know, so a typo is not silently ignored."""
    for key in data:
        if key not in allowed:
            errors.add(f"{prefix}{key}", "unknown field")


def read_whole_number(data: dict, key: str, errors: FieldErrors, name: str | None = None, lo=None, hi=MAX_ID):
    """Return data[key] as an int within [lo, hi] (hi: the largest id by default), or record why it is not one."""
    name = name or key
    value = data.get(key)
    if value is None:
        errors.add(name, "required")
    elif not is_whole_number(value):
        errors.add(name, "must be a whole number")
    elif lo is not None and value < lo:
        errors.add(name, f"must be at least {lo}")
    elif hi is not None and value > hi:
        errors.add(name, f"must be at most {hi}")
    else:
        return value
    return None


def read_state(data: dict, errors: FieldErrors) -> OrderState | None:
    """Return the order state named by ``state_id``, or record why there is none."""
    state_id = read_whole_number(data, "state_id", errors, lo=1)
    if state_id is None:
        return None
    state = db.session.get(OrderState, state_id)
    if state is None:
        errors.add("state_id", f"no order state with id {state_id}")
    return state


def read_text(data: dict, key: str, errors: FieldErrors, name: str, max_length: int, required: bool) -> str | None:
    """Return a trimmed string (None when absent and optional), or record why it is wrong."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            errors.add(name, "required")
        return None
    if not isinstance(value, str):
        errors.add(name, "must be a string")
        return None
    problem = text_problem(value)
    if problem:
        errors.add(name, problem)
        return None
    value = value.strip()
    if required and not value:
        errors.add(name, "required")
        return None
    if len(value) > max_length:
        errors.add(name, f"at most {max_length} characters")
        return None
    return value or None


@dataclass
class OrderRequest:
    """A valid ``POST /api/orders`` body."""

    customer: dict
    lines: list[tuple[Product, int]]
    state: OrderState
    currency: str
    browser: dict | None = None
    payment_method: str | None = None


def read_order(data: dict) -> OrderRequest:
    """Read a new order: customer, lines, currency, first state and optional browser data."""
    errors = FieldErrors()
    refuse_unknown_keys(data, {"customer", "lines", "currency", "state_id", "browser", "payment_method"}, errors)
    customer = _read_customer(data.get("customer"), errors)
    lines = _read_lines(data.get("lines"), errors)
    state = read_state(data, errors)
    currency = _read_currency(data.get("currency", "EUR"), errors)
    browser = _read_browser(data.get("browser"), errors)
    payment_method = read_text(data, "payment_method", errors, "payment_method", 64, required=False)
    errors.raise_if_any()
    return OrderRequest(customer, lines, state, currency, browser, payment_method)


def _read_customer(value, errors: FieldErrors) -> dict:
    if not isinstance(value, dict):
        errors.add("customer", "required: an object with email, firstname, lastname, country …")
        return {}
    refuse_unknown_keys(value, CUSTOMER_FIELDS, errors, "customer.")
    customer = {
        key: read_text(value, key, errors, f"customer.{key}", max_length, required)
        for key, (required, max_length) in CUSTOMER_FIELDS.items()
    }
    email = customer["email"]
    if email and not EMAIL.match(email):
        errors.add("customer.email", "not an e-mail address")
    country = customer["country"]
    if country:
        found = pycountry.countries.get(alpha_2=country.upper()) if len(country) == 2 else None
        if found is None:
            errors.add("customer.country", "not an ISO 3166-1 alpha-2 country code (e.g. FR, US)")
            country = None
        else:
            customer["country"] = country = found.alpha_2
    phone = customer["phone"]
    if phone and country and not _is_possible_phone(phone, country):
        errors.add("customer.phone", f"not a phone number of {country}")
    return customer


def _is_possible_phone(phone: str, country: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(phone, country))
    except phonenumbers.NumberParseException:
        return False


def _read_lines(value, errors: FieldErrors) -> list[tuple[Product, int]]:
    if not isinstance(value, list) or not value:
        errors.add("lines", "required: a non-empty list of {product_id, quantity}")
        return []
    if len(value) > MAX_LINES:
        errors.add("lines", f"at most {MAX_LINES} lines")
        return []
    wanted: list[tuple[int, int, int]] = []  # (index in the body, product id, quantity)
    seen: set[int] = set()
    for index, line in enumerate(value):
        name = f"lines[{index}]"
        if not isinstance(line, dict):
            errors.add(name, "must be an object {product_id, quantity}")
            continue
        refuse_unknown_keys(line, {"product_id", "quantity"}, errors, f"{name}.")
        product_id = read_whole_number(line, "product_id", errors, f"{name}.product_id", lo=1)
        quantity = read_whole_number(line, "quantity", errors, f"{name}.quantity", lo=1, hi=MAX_QUANTITY)
        if product_id in seen:
            errors.add(f"{name}.product_id", "product listed twice: give one line with the total quantity")
        elif product_id is not None and quantity is not None:
            seen.add(product_id)
            wanted.append((index, product_id, quantity))
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(seen)))} if seen else {}
    lines = []
    for index, product_id, quantity in wanted:
        product = products.get(product_id)
        if product is None:
            errors.add(f"lines[{index}].product_id", f"no product with id {product_id}")
        elif not product.active:
            errors.add(f"lines[{index}].product_id", f"product {product.reference} is not for sale")
        else:
            lines.append((product, quantity))
    return lines


def _read_currency(value, errors: FieldErrors) -> str | None:
    if not isinstance(value, str) or len(value) != 3 or pycountry.currencies.get(alpha_3=value.upper()) is None:
        errors.add("currency", "not an ISO 4217 currency code (e.g. EUR, USD)")
        return None
    return value.upper()


def _read_browser(value, errors: FieldErrors) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add("browser", "must be an object or null")
        return None
    refuse_unknown_keys(value, BROWSER_FIELDS, errors, "browser.")
    browser = {
        key: read_text(value, key, errors, f"browser.{key}", max_length, required=False)
        for key, max_length in BROWSER_FIELDS.items()
    }
    if browser["client_ip_address"]:
        try:
            browser["client_ip_address"] = str(ipaddress.ip_address(browser["client_ip_address"]))
        except ValueError:
            errors.add("browser.client_ip_address", "not an IPv4 or IPv6 address")
    if browser["ga_client_id"] and not re.fullmatch(r"[0-9]{1,20}\.[0-9]{1,20}", browser["ga_client_id"]):
        errors.add("browser.ga_client_id", "not a GA client id (the _ga cookie's last two numbers, e.g. 123.456)")
    url = browser["event_source_url"]
    if url:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            errors.add("browser.event_source_url", "not an http(s) URL")
    return browser


def _check_reason(data: dict, errors: FieldErrors) -> None:
    """Add an error per field for an unusable refund reason or note."""
    for field, message in reason_problems(data.get("reason"), data.get("note")).items():
        errors.add(field, message)


def read_reason(data: dict) -> tuple[str | None, str | None]:
    """Return the (checked) refund reason and note of a status change or credit slip body."""
    note = line_breaks(data.get("note"))
    return data.get("reason"), (note.strip() or None) if isinstance(note, str) else None


def read_status_change(data: dict) -> OrderState:
    """Read ``{state_id}``."""
    errors = FieldErrors()
    refuse_unknown_keys(data, {"state_id", "reason", "note"}, errors)
    state = read_state(data, errors)
    _check_reason(data, errors)
    errors.raise_if_any()
    return state


def read_bulk_status_change(data: dict) -> tuple[list[int], OrderState]:
    """Read ``{order_ids, state_id, reason?, note?}``; the ids keep their order (duplicates are the service's)."""
    errors = FieldErrors()
    refuse_unknown_keys(data, {"order_ids", "state_id", "reason", "note"}, errors)
    _check_reason(data, errors)
    order_ids = data.get("order_ids")
    if not isinstance(order_ids, list) or not order_ids:
        errors.add("order_ids", "required: a non-empty list of order ids")
    elif len(order_ids) > MAX_BULK_ORDERS:
        errors.add("order_ids", f"at most {MAX_BULK_ORDERS} orders in one request")
    else:
        bad = next((i for i, v in enumerate(order_ids) if not is_whole_number(v) or not 1 <= v <= MAX_ID), None)
        if bad is not None:
            errors.add("order_ids", f"must be a list of order ids (whole numbers); item {bad} is not")
    state = read_state(data, errors)
    errors.raise_if_any()
    return order_ids, state


def read_money(value, errors: FieldErrors, name: str) -> Decimal | None:
    """Return a positive amount in cents from a string ("12.30") or a JSON number, or record why not."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.add(name, 'must be an amount, e.g. "12.30"')
        return None
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        errors.add(name, 'must be an amount, e.g. "12.30"')
        return None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        errors.add(name, f"must be more than 0 and at most {MAX_AMOUNT}")
    elif amount != amount.quantize(CENT):
        errors.add(name, "at most two decimals (cents)")
    else:
        return amount.quantize(CENT)
    return None


def read_credit_slip(data: dict) -> Refund:
    """Read a refund body into a Refund.

    ``{lines: [{order_line_id, quantity, amount?}], refund_shipping?, shipping_amount?, kind?,
    credit_slip?, voucher?, restock?}``: amounts tax incl (partial refunds only), ``refund_shipping``
    all the shipping left or ``shipping_amount`` part of it, ``kind`` partial (default) / standard /
    return, a credit slip by default, a voucher on request.
    """
    errors = FieldErrors()
    refuse_unknown_keys(
        data, {"lines", "refund_shipping", "shipping_amount", *REFUND_FLAGS, "kind", "reason", "note"}, errors
    )
    _check_reason(data, errors)
    flags = {}
    for key, default in {"refund_shipping": False, **REFUND_FLAGS}.items():
        flags[key] = data.get(key, default)
        if not isinstance(flags[key], bool):
            errors.add(key, "must be true or false")
            flags[key] = default
    kind = data.get("kind", "partial")
    if kind not in KINDS:
        errors.add("kind", f"must be one of {', '.join(KINDS)}")
    shipping: Decimal | bool = flags["refund_shipping"]
    if data.get("shipping_amount") is not None:
        if flags["refund_shipping"]:
            errors.add("shipping_amount", "give either refund_shipping (all of it) or shipping_amount, not both")
        shipping = read_money(data["shipping_amount"], errors, "shipping_amount") or Decimal("0.00")
    lines = data.get("lines", [])
    wanted: list[LineRefund] = []
    if not isinstance(lines, list):
        errors.add("lines", "must be a list of {order_line_id, quantity, amount}")
        lines = []
    elif len(lines) > MAX_LINES:
        errors.add("lines", f"at most {MAX_LINES} lines")
        lines = []
    seen: set[int] = set()
    for index, line in enumerate(lines):
        name = f"lines[{index}]"
        if not isinstance(line, dict):
            errors.add(name, "must be an object {order_line_id, quantity, amount}")
            continue
        refuse_unknown_keys(line, {"order_line_id", "quantity", "amount"}, errors, f"{name}.")
        line_id = read_whole_number(line, "order_line_id", errors, f"{name}.order_line_id", lo=1, hi=MAX_ID)
        quantity = read_whole_number(line, "quantity", errors, f"{name}.quantity", lo=1, hi=MAX_QUANTITY)
        amount = None
        if line.get("amount") is not None:
            amount = read_money(line["amount"], errors, f"{name}.amount")
            if kind != "partial":
                errors.add(f"{name}.amount", "amounts are entered only in a partial refund")
        if line_id in seen:
            errors.add(f"{name}.order_line_id", "line listed twice: give one entry with the total quantity")
        elif line_id is not None and quantity is not None:
            seen.add(line_id)
            wanted.append(LineRefund(line_id, quantity, amount))
    if not lines and not errors.fields and not shipping:
        errors.add("lines", "choose at least one product quantity or the shipping to refund")
    if not flags["credit_slip"] and not flags["voucher"]:
        errors.add("credit_slip", "choose a credit slip, a voucher or both")
    errors.raise_if_any()
    return Refund(
        lines=wanted,
        shipping=shipping,
        kind=kind,
        credit_slip=flags["credit_slip"],
        voucher=flags["voucher"],
        restock=flags["restock"],
    )


@dataclass
class OrderListQuery:
    """A valid ``GET /api/orders`` query."""

    state_id: int | None
    reference: str | None
    limit: int
    after: int | None


def read_order_list_query(args) -> OrderListQuery:
    """Read ``state_id``, ``reference``, ``limit`` (1–500, default 50) and ``after`` (an order id)."""
    errors = FieldErrors()
    numbers: dict[str, int | None] = {}
    for key in ("state_id", "limit", "after"):
        raw = args.get(key, "").strip()
        if not raw:
            numbers[key] = None
            continue
        try:
            numbers[key] = whole_number(raw)
        except ValueError as error:
            errors.add(key, str(error))
    limit = numbers.get("limit")
    limit = 50 if limit is None else limit
    if not 1 <= limit <= MAX_LIST_LIMIT:
        errors.add("limit", f"must be between 1 and {MAX_LIST_LIMIT}")
    errors.raise_if_any()
    reference = args.get("reference", "").strip().upper() or None
    return OrderListQuery(numbers.get("state_id"), reference, limit, numbers.get("after"))
