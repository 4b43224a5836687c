"""Customers: reused by e-mail and details, or created, with their delivery address."""

from sqlalchemy import func, select

from extensions import db
from shop.models import Customer

DETAIL_FIELDS = ("firstname", "lastname", "phone", "city", "state", "postcode", "country")


def customer_for(email: str, details: dict) -> Customer:
    """Return a customer with this e-mail and exactly these details, creating one if none matches.

    A customer found by e-mail is never rewritten: the address lives on the customer, and earlier
    orders (and their refund events) must keep describing the buyer as they were. A different
    address for the same e-mail therefore makes a new customer, as a PrestaShop guest checkout does.
    The caller commits.
    """
    email = email.strip()
    wanted = {name: details.get(name) or None for name in DETAIL_FIELDS}
    candidates = db.session.scalars(
        select(Customer).where(func.lower(Customer.email) == email.lower()).order_by(Customer.id)
    )
    for customer in candidates:
        if all((getattr(customer, name) or None) == value for name, value in wanted.items()):
            return customer
    customer = Customer(email=email, **wanted)
    db.session.add(customer)
    return customer
