"""Checkout: the customer and payment form, and the service that turns a cart into an order.

Every checkout creates a guest customer, as PrestaShop does for guests. Reusing a customer found by
e-mail would let anyone who types someone else's address rewrite that customer's name, phone and
address (the address lives on the customer), and would change the address of earlier orders, whose
refund events must describe the buyer as they were when they bought.
"""

import re
import unicodedata
from datetime import UTC, datetime

import phonenumbers
import pycountry
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectField, StringField, TelField

try:  # wtforms 3.3 deprecates (value, label) tuples for choices; older releases only know tuples
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from extensions import db
from shop.models import Customer, Order, OrderState
from shop.orders import CartLine, place_order

BANK_WIRE = "bankwire"
CARD = "card"
# Payment choice → (order state key, payment method recorded on the order).
PAYMENT_METHODS = {
    BANK_WIRE: ("PS_OS_BANKWIRE", "Bank wire"),
    CARD: ("PS_OS_PAYMENT", "Card"),
}
# Deliberately permissive: one @, no spaces, a dot in the domain. wtforms' Email() needs the
# email_validator package, which this project does not install.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_EXPIRY = re.compile(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})")


def _choice(value: str, label: str):
    return SelectChoice(value, label) if SelectChoice else (value, label)


def country_names() -> dict[str, str]:
    """Return ISO 3166-1 alpha-2 code → country name, sorted by name."""
    countries = ((c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries)
    return dict(sorted(countries, key=lambda item: _sort_key(item[1])))


def _sort_key(name: str) -> str:
    # Accents dropped: "Åland Islands" goes with the A's, "Türkiye" just before "Turkmenistan".
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_digits(raw: str | None) -> str:
    """Return a card number without the spaces and dashes people type."""
    return re.sub(r"[\s-]", "", raw or "")


def parse_expiry(raw: str | None) -> tuple[int, int] | None:
    """Return (year, month) of an expiry written MM/YY or MM/YYYY, or None."""
    match = _EXPIRY.fullmatch((raw or "").strip())
    if not match:
        return None
    month, year = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return None
    return (2000 + year if year < 100 else year), month


class CheckoutForm(FlaskForm):
    """Who is buying, where it goes, and how they pay."""

    email = EmailField("E-mail", validators=[DataRequired("Please enter your e-mail address."), Length(max=255)])
    firstname = StringField("First name", validators=[DataRequired("Please enter your first name."), Length(max=64)])
    lastname = StringField("Last name", validators=[DataRequired("Please enter your last name."), Length(max=64)])
    phone = TelField("Phone", validators=[DataRequired("Please enter a phone number."), Length(max=32)])
    city = StringField("City", validators=[DataRequired("Please enter your city."), Length(max=64)])
    state = StringField("State / region", validators=[Optional(), Length(max=64)])
    postcode = StringField("Postcode", validators=[DataRequired("Please enter your postcode."), Length(max=16)])
    country = SelectField("Country", default="FR", validators=[DataRequired("Please choose your country.")])
    payment = RadioField(
        "How would you like to pay?",
        choices=[_choice(BANK_WIRE, "Bank wire"), _choice(CARD, "Card")],
        default=BANK_WIRE,
        validators=[DataRequired("Please choose how to pay.")],
    )
    # The card is checked for shape only and never stored, logged or sent anywhere.
    card_number = StringField("Card number")
    card_expiry = StringField("Expiry (MM/YY)")
    card_cvc = StringField("CVC")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [_choice(code, name) for code, name in country_names().items()]

    def validate_email(self, field):
        field.data = (field.data or "").strip()
        if not _EMAIL.fullmatch(field.data):
            raise ValidationError("Please enter a valid e-mail address, like name@example.com.")

    def validate_postcode(self, field):
        field.data = (field.data or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 -]*", field.data):
            raise ValidationError("A postcode has only letters, digits, spaces and dashes.")

    def validate_phone(self, field):
        field.data = (field.data or "").strip()
        countries = country_names()
        country = self.country.data if self.country.data in countries else None
        try:
            # A national number ("06 12 34 56 78") is read for the chosen country; "+44 …" for its own.
            number = phonenumbers.parse(field.data, country)
        except phonenumbers.NumberParseException as error:
            raise ValidationError("Please enter a phone number, like +33 6 12 34 56 78.") from error
        if not phonenumbers.is_valid_number(number):
            country_name = countries.get(country, "the chosen country")
            raise ValidationError(f"This is not a valid phone number for {country_name}.")

    def validate_card_number(self, field):
        if self.payment.data != CARD:
            return
        digits = card_digits(field.data)
        if not digits:
            raise ValidationError("Please enter the card number.")
        if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_valid(digits):
            raise ValidationError("This card number is not valid.")

    def validate_card_expiry(self, field):
        if self.payment.data != CARD:
            return
        expiry = parse_expiry(field.data)
        if expiry is None:
            raise ValidationError("Please enter the expiry date as MM/YY.")
        today = datetime.now(UTC)
        # A card is valid until the end of its expiry month.
        if expiry < (today.year, today.month):
            raise ValidationError("This card has expired.")
        if expiry > (today.year + 20, today.month):
            raise ValidationError("Please check the expiry date.")

    def validate_card_cvc(self, field):
        if self.payment.data != CARD:
            return
        if not re.fullmatch(r"\d{3,4}", (field.data or "").strip()):
            raise ValidationError("The CVC is the 3 or 4 digits on the back of the card.")

    def forget_card(self) -> None:
        """Drop what was typed into the card fields, so a re-shown form never echoes it."""
        self.card_number.data = self.card_expiry.data = self.card_cvc.data = None
        self.card_number.raw_data = self.card_expiry.raw_data = self.card_cvc.raw_data = None


def place_storefront_order(form: CheckoutForm, cart_lines: list[CartLine], browser: dict, currency: str) -> Order:
    """Create a guest customer and their order from a valid checkout form, and commit."""
    state_key, payment_method = PAYMENT_METHODS[form.payment.data]
    customer = Customer(
        email=form.email.data,
        firstname=form.firstname.data.strip(),
        lastname=form.lastname.data.strip(),
        phone=form.phone.data,
        city=form.city.data.strip(),
        state=(form.state.data or "").strip() or None,
        postcode=form.postcode.data,
        country=form.country.data,
    )
    try:
        db.session.add(customer)
        order = place_order(
            customer,
            cart_lines,
            OrderState.by_key(state_key),
            currency=currency,
            browser=browser,
            payment_method=payment_method,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return order
