"""The demo shop (``flask shop init-demo``): states, catalog, customers, a month of orders, employees.

Orders go through the real services (place_order, change_state, issue_credit_slip) at increasing
times, so their histories, payments and credit slips look like a shop's. A seeded random generator
makes the data the same every time; a second run adds no data, only resets the demo logins.
"""

import base64
import hashlib
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import phonenumbers
from flask import Flask
from sqlalchemy import func, select

from core.dbtypes import utcnow
from extensions import db
from shop.cli import create_employee
from shop.models import Customer, Employee, Order, OrderState, Product
from shop.orders import CartLine, place_order
from shop.refunds import issue_credit_slip
from shop.signals import demo_data_created, demo_data_ready
from shop.states import CHARGEBACK_KEY, chargeback_state, install_default_states
from shop.status import change_state

SEED = 20260501
PRODUCT_PREFIX = "DEMO-"
DEMO_ORDERS = 200
DEMO_DAYS = 30

# name, logable, invoice, paid, shipped, delivery, send_email, color: custom states merchants add.
# Units of each demo product in stock before the demo orders take theirs.
DEMO_STOCK = 500
CUSTOM_STATES = [
    ("Returned", False, True, False, False, False, True, "#ADD8E6"),
    ("Partially refunded", True, True, True, False, False, True, "#F0AD4E"),
]

# role → (e-mail, password) of the demo employees; reserved example domain, so no mail goes anywhere.
DEMO_EMPLOYEES = {
    "superadmin": ("superadmin@example.com", "demo-superadmin"),
    "admin": ("admin@example.com", "demo-admin"),
    "merchant": ("merchant@example.com", "demo-merchant"),
    "tester": ("tester@example.com", "demo-tester"),
}

# reference suffix, name, price tax excluded, tax rate
PRODUCTS = [
    ("TSHIRT-HUMMINGBIRD", "Hummingbird printed t-shirt", "19.12", "20"),
    ("SWEATER-HUMMINGBIRD", "Hummingbird printed sweater", "28.72", "20"),
    ("POSTER-BEST-IS-YET", "The best is yet to come framed poster", "24.00", "20"),
    ("POSTER-ADVENTURE", "The adventure begins framed poster", "24.00", "20"),
    ("POSTER-TODAY", "Today is a good day framed poster", "24.00", "20"),
    ("MUG-BEST-IS-YET", "Mug The best is yet to come", "9.90", "20"),
    ("MUG-ADVENTURE", "Mug The adventure begins", "9.90", "20"),
    ("MUG-TODAY", "Mug Today is a good day", "9.90", "20"),
    ("CUSHION-MOUNTAIN-FOX", "Mountain fox cushion", "15.90", "20"),
    ("CUSHION-BROWN-BEAR", "Brown bear cushion", "15.90", "20"),
    ("CUSHION-HUMMINGBIRD", "Hummingbird cushion", "15.90", "20"),
    ("NOTEBOOK-MOUNTAIN-FOX", "Mountain fox notebook", "10.90", "20"),
    ("NOTEBOOK-BROWN-BEAR", "Brown bear notebook", "10.90", "20"),
    ("NOTEBOOK-HUMMINGBIRD", "Hummingbird notebook", "10.90", "20"),
    ("VECTOR-MOUNTAIN-FOX", "Mountain fox vector graphics", "7.50", "20"),
    ("VECTOR-BROWN-BEAR", "Brown bear vector graphics", "7.50", "20"),
    ("VECTOR-HUMMINGBIRD", "Hummingbird vector graphics", "7.50", "20"),
    ("PACK-MUGS", "Pack of three mugs", "26.00", "20"),
    ("TOTE-CANVAS", "Canvas tote bag", "12.50", "20"),
    ("CAP-FOX", "Embroidered fox cap", "17.00", "20"),
    ("SOCKS-BEAR", "Bear socks (pair)", "8.25", "20"),
    ("BOOK-FOX-TALES", "Fox tales (hardcover book)", "18.96", "5.5"),
    ("BOOK-BIRDS", "A field guide to hummingbirds", "22.75", "5.5"),
    ("CALENDAR-2027", "Illustrated wall calendar", "14.00", "20"),
    ("PUZZLE-500", "Mountain fox puzzle, 500 pieces", "16.58", "20"),
    ("TEA-EARL-GREY", "Earl grey loose tea, 100 g", "6.40", "5.5"),
    ("CANDLE-CEDAR", "Cedar scented candle", "13.30", "20"),
    ("BLANKET-WOOL", "Wool throw blanket", "64.90", "20"),
    ("LAMP-DESK", "Oak desk lamp", "49.00", "20"),
    ("GIFT-CARD-50", "Gift card 50", "50.00", "0"),
]

# country → currency, national phone prefixes (digits to complete), and (city, state, postcode) places.
COUNTRIES = {
    "FR": ("EUR", [("06", 8), ("07", 8), ("01", 8)], [("Paris", "", "75011"), ("Lyon", "", "69002"),
           ("Saint-Étienne", "", "42000"), ("Bordeaux", "", "33000"), ("Lille", "", "59000")]),
    "US": ("USD", [("415", 7), ("212", 7), ("312", 7), ("206", 7)], [("San Francisco", "CA", "94110"),
           ("New York", "NY", "10001-2345"), ("Chicago", "IL", "60614"), ("Seattle", "WA", "98101")]),
    "DE": ("EUR", [("0151", 8), ("0170", 8), ("030", 8)], [("Berlin", "", "10115"), ("München", "", "80331"),
           ("Köln", "", "50667"), ("Hamburg", "", "20095")]),
    "GB": ("GBP", [("07911", 6), ("07700", 6), ("020", 8)], [("London", "", "SW1A 1AA"),
           ("Manchester", "", "M1 1AE"), ("Edinburgh", "", "EH1 1YZ"), ("Bristol", "", "BS1 4DJ")]),
    "ES": ("EUR", [("6", 8), ("91", 7)], [("Madrid", "", "28013"), ("Barcelona", "", "08001"),
           ("Sevilla", "", "41001")]),
    "IT": ("EUR", [("3", 9), ("06", 8)], [("Roma", "", "00184"), ("Milano", "", "20121"),
           ("Torino", "", "10121")]),
    "BE": ("EUR", [("047", 7), ("02", 7)], [("Bruxelles", "", "1000"), ("Liège", "", "4000"),
           ("Gent", "", "9000")]),
    "CA": ("CAD", [("416", 7), ("604", 7), ("514", 7)], [("Toronto", "ON", "M5V 2T6"),
           ("Vancouver", "BC", "V6B 1A1"), ("Montréal", "QC", "H2Y 1C6")]),
}  # fmt: skip

FIRST_NAMES = {
    "FR": ["Jeanne", "Lucas", "Chloé", "Hugo", "Léa"],
    "US": ["John", "Emily", "Michael", "Olivia", "James"],
    "DE": ["Lukas", "Anna", "Jonas", "Lea"],
    "GB": ["Oliver", "Amelia", "Harry", "Isla"],
    "ES": ["Lucía", "Mateo", "Sofía"],
    "IT": ["Giulia", "Francesco", "Chiara"],
    "BE": ["Emma", "Louis", "Marie"],
    "CA": ["Liam", "Charlotte", "Noah"],
}
LAST_NAMES = {
    "FR": ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau"],
    "US": ["Smith", "Johnson", "Williams", "Brown", "Davis"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer"],
    "GB": ["Taylor", "Wilson", "Evans", "Thomas"],
    "ES": ["García", "Fernández", "López"],
    "IT": ["Rossi", "Russo", "Ferrari"],
    "BE": ["Peeters", "Janssens", "Maes"],
    "CA": ["Tremblay", "Roy", "Gagnon"],
}

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:143.0) Gecko/20100101 Firefox/143.0",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Mobile Safari/537.36",
]

# How demo orders live: a payment method, then the states they pass through, by key (or custom name).
# Each scenario is used for at least one order, so every default state is some order's current state.
SCENARIOS = [
    ("Card", ["PS_OS_PAYMENT"]),
    ("Card", ["PS_OS_PAYMENT", "PS_OS_PREPARATION"]),
    ("Card", ["PS_OS_PAYMENT", "PS_OS_PREPARATION", "PS_OS_SHIPPING"]),
    ("Card", ["PS_OS_PAYMENT", "PS_OS_PREPARATION", "PS_OS_SHIPPING", "PS_OS_DELIVERED"]),
    ("Card", ["PS_OS_PAYMENT", "PS_OS_PREPARATION", "PS_OS_SHIPPING", "PS_OS_DELIVERED", "PS_OS_REFUND"]),
    ("Card", ["PS_OS_PAYMENT", "PS_OS_CANCELED"]),
    ("Card", ["PS_OS_ERROR"]),
    ("Card", ["PS_OS_ERROR", "PS_OS_CANCELED"]),
    ("Bank wire", ["PS_OS_BANKWIRE"]),
    ("Bank wire", ["PS_OS_BANKWIRE", "PS_OS_PAYMENT", "PS_OS_PREPARATION", "PS_OS_SHIPPING", "PS_OS_DELIVERED"]),
    ("Bank wire", ["PS_OS_BANKWIRE", "PS_OS_CANCELED"]),
    ("Check", ["PS_OS_CHEQUE"]),
    ("Check", ["PS_OS_CHEQUE", "PS_OS_PAYMENT", "PS_OS_PREPARATION"]),
    ("Remote payment", ["PS_OS_WS_PAYMENT"]),
    ("Remote payment", ["PS_OS_WS_PAYMENT", "PS_OS_PREPARATION", "PS_OS_SHIPPING", "PS_OS_DELIVERED"]),
    ("Card", ["PS_OS_OUTOFSTOCK_PAID"]),
    ("Card", ["PS_OS_OUTOFSTOCK_PAID", "PS_OS_CANCELED"]),
    ("Card", ["PS_OS_OUTOFSTOCK_PAID", "PS_OS_PREPARATION", "PS_OS_SHIPPING"]),
    ("Bank wire", ["PS_OS_OUTOFSTOCK_UNPAID"]),
    ("Cash on delivery", ["PS_OS_COD_VALIDATION"]),
    ("Cash on delivery", ["PS_OS_COD_VALIDATION", "PS_OS_SHIPPING", "PS_OS_DELIVERED"]),
    ("Card", ["PS_OS_PAYMENT", "PS_OS_PREPARATION", "PS_OS_SHIPPING", "PS_OS_DELIVERED", "Returned"]),
]
# Most orders are paid and delivered; the weights follow SCENARIOS.
SCENARIO_WEIGHTS = [6, 4, 5, 30, 4, 3, 2, 2, 4, 8, 3, 2, 2, 2, 3, 2, 1, 1, 2, 2, 4, 3]


@dataclass
class DemoLogin:
    """A demo employee's sign-in and fresh API key."""

    email: str
    password: str
    role: str
    api_key: str


@dataclass
class DemoReport:
    """What init-demo did."""

    created: bool
    states_added: int = 0
    products: int = 0
    customers: int = 0
    orders: int = 0
    credit_slips: int = 0
    logins: list[DemoLogin] = field(default_factory=list)


def init_demo(app: Flask) -> DemoReport:
    """Create the demo shop if it is not there yet, reset the demo logins, and let modules set up."""
    states_added = install_default_states() + _install_custom_states() + _install_chargeback_state()
    db.session.commit()
    logins = [
        DemoLogin(email, password, role, create_employee(email, role, password)[1])
        for role, (email, password) in DEMO_EMPLOYEES.items()
    ]
    already = db.session.scalar(select(func.count()).where(Product.reference.startswith(PRODUCT_PREFIX)))
    report = DemoReport(created=not already, states_added=states_added, logins=logins)
    if not already:
        rng = random.Random(SEED)
        admin = db.session.scalar(select(Employee).filter_by(email=DEMO_EMPLOYEES["admin"][0]))
        products = _add_products()
        customers = _add_customers(rng)
        orders, slips = _add_orders(rng, products, customers, admin)
        db.session.commit()
        report.products, report.customers, report.orders, report.credit_slips = (
            len(products),
            len(customers),
            orders,
            slips,
        )
    demo_data_created.send(app)
    db.session.commit()
    demo_data_ready.send(app)
    db.session.commit()
    return report


def _install_chargeback_state() -> int:
    """Add the Chargeback state if missing (return 1 then): before the modules set up, so their demo
    triggers include it (a chargeback gives the money back to the customer)."""
    missing = db.session.scalar(select(OrderState.id).filter_by(key=CHARGEBACK_KEY)) is None
    chargeback_state()
    return int(missing)


def _install_custom_states() -> int:
    present = set(db.session.scalars(select(OrderState.name).where(OrderState.key.is_(None))))
    added = 0
    for name, logable, invoice, paid, shipped, delivery, send_email, color in CUSTOM_STATES:
        if name in present:
            continue
        db.session.add(
            OrderState(
                name=name,
                logable=logable,
                invoice=invoice,
                paid=paid,
                shipped=shipped,
                delivery=delivery,
                send_email=send_email,
                color=color,
            )
        )
        added += 1
    db.session.flush()
    return added


def _add_products() -> list[Product]:
    products = [
        Product(
            reference=PRODUCT_PREFIX + suffix,
            name=name,
            price_tax_excl=Decimal(price),
            tax_rate=Decimal(rate),
            quantity=DEMO_STOCK,
        )
        for suffix, name, price, rate in PRODUCTS
    ]
    db.session.add_all(products)
    db.session.flush()
    return products


def national_phone(rng: random.Random, country: str, place: int | None = None) -> str:
    """Return a valid phone number of country written the national way (``06 12 34 56 78``).

    In the US and Canada the area code follows the place (its index in COUNTRIES).
    """
    prefixes = COUNTRIES[country][1]
    while True:
        prefix, length = prefixes[place] if place is not None else rng.choice(prefixes)
        digits = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length))
        number = phonenumbers.parse(digits, country)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _add_customers(rng: random.Random) -> list[Customer]:
    customers = []
    for country in COUNTRIES:
        places = COUNTRIES[country][2]
        for index, firstname in enumerate(FIRST_NAMES[country]):
            lastname = LAST_NAMES[country][index % len(LAST_NAMES[country])]
            city, state, postcode = places[index % len(places)]
            domain = rng.choice(["example.com", "example.org", "example.net"])
            customers.append(
                Customer(
                    email=f"{_ascii(firstname)}.{_ascii(lastname)}@{domain}".lower(),
                    firstname=firstname,
                    lastname=lastname,
                    phone=national_phone(rng, country, index % len(places) if country in {"US", "CA"} else None),
                    city=city,
                    state=state,
                    postcode=postcode,
                    country=country,
                )
            )
    db.session.add_all(customers)
    db.session.flush()
    return customers


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _browser(rng: random.Random, at: datetime) -> dict | None:
    """Return checkout browser data for most orders; some were placed by phone (none)."""
    if rng.random() < 0.15:
        return None
    millis = int(at.timestamp() * 1000)
    data = {
        "client_ip_address": f"{rng.choice(['203.0.113', '198.51.100', '192.0.2'])}.{rng.randint(1, 254)}",
        "client_user_agent": rng.choice(USER_AGENTS),
        "fbp": f"fb.1.{millis - rng.randint(10**6, 10**9)}.{rng.randint(10**9, 10**10 - 1)}",
        "event_source_url": "http://127.0.0.1:5000/checkout",
    }
    # The storefront's click id, derived rather than drawn so the rest of the demo stays as it was.
    data["click_id"] = base64.urlsafe_b64encode(hashlib.sha256(data["fbp"].encode()).digest()[:16]).decode()[:22]
    if rng.random() < 0.4:
        data["fbc"] = f"fb.1.{millis - rng.randint(10**6, 10**8)}.IwAR{rng.randint(10**8, 10**9 - 1)}"
        data.update(utm_source="facebook", utm_medium="paid_social", utm_campaign="spring_sale")
    return data


def _add_orders(
    rng: random.Random, products: list[Product], customers: list[Customer], admin: Employee
) -> tuple[int, int]:
    states = {state.key or state.name: state for state in db.session.scalars(select(OrderState))}
    now = utcnow()
    oldest = now - timedelta(days=DEMO_DAYS)
    scenarios = list(SCENARIOS) + rng.choices(SCENARIOS, SCENARIO_WEIGHTS, k=DEMO_ORDERS - len(SCENARIOS))
    placed: list[tuple[datetime, str, list[str], Customer, list[CartLine], dict | None]] = []
    for method, path in scenarios:
        gaps = [timedelta(minutes=rng.randint(30, 36 * 60)) for _ in path[1:]]
        span = sum(gaps, timedelta())
        latest_start = max((now - timedelta(minutes=5) - span - oldest).total_seconds(), 0)
        start = oldest + timedelta(seconds=rng.uniform(0, latest_start))
        customer = rng.choice(customers)
        cart = [CartLine(product, rng.choice([1, 1, 1, 2, 3])) for product in rng.sample(products, rng.randint(1, 4))]
        placed.append((start, method, path, customer, cart, gaps))
    placed.sort(key=lambda entry: entry[0])  # ids grow with time, as in a real shop

    slips = 0
    for start, method, path, customer, cart, gaps in placed:
        currency = COUNTRIES[customer.country][0]
        order = place_order(
            customer,
            cart,
            states[path[0]],
            currency=currency,
            browser=_browser(rng, start),
            payment_method=method,
            at=start,
        )
        at = start
        for key, gap in zip(path[1:], gaps, strict=True):
            at += gap
            if key in {"PS_OS_REFUND", "Returned"}:
                slips += _refund(rng, order, admin, at - timedelta(minutes=10), whole=key == "PS_OS_REFUND")
            change_state(order, states[key], admin, at=at)
        if path[-1] == "PS_OS_DELIVERED" and rng.random() < 0.2:
            # A partial refund after delivery; half the time the merchant also marks it by hand.
            at = min(at + timedelta(hours=rng.randint(2, 48)), now - timedelta(minutes=2))
            slips += _refund(rng, order, admin, at, whole=False)
            if rng.random() < 0.5:
                change_state(order, states["Partially refunded"], admin, at=at + timedelta(minutes=1))
    return len(placed), slips


def _refund(rng: random.Random, order: Order, admin: Employee, at: datetime, whole: bool) -> int:
    """Issue a credit slip: every line and the shipping, or a few units of one line."""
    if whole:
        quantities = {line.id: line.refundable_quantity for line in order.lines}
        issue_credit_slip(order, quantities, refund_shipping=True, employee=admin, at=at)
    else:
        line = rng.choice(order.lines)
        issue_credit_slip(order, {line.id: rng.randint(1, line.quantity)}, employee=admin, at=at)
    return 1
