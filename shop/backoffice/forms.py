"""Back-office forms: order filters, status changes, partial refunds, order states, employees."""

import re
from decimal import Decimal

from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    ColorField,
    DateField,
    DecimalField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from core.inputs import MAX_ID, DateInRange, whole_number
from extensions import db
from shop.backoffice.order_search import SORT_COLUMNS
from shop.models import ROLES, Employee, Order, OrderState
from shop.reasons import LABELS as REASON_LABELS
from shop.reasons import MAX_NOTE_CHARS, line_breaks, reason_problems
from shop.refunds import LineRefund, Refund, shipping_refundable

PER_PAGE_CHOICES = (20, 50, 100, 200)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
STATE_FLAGS = (
    *("logable", "invoice", "paid", "shipped", "delivery", "send_email"),
    *("hidden", "pdf_invoice", "pdf_delivery"),
)
TEMPLATE_PATTERN = re.compile(r"^[a-z0-9_]*$")
MAX_AMOUNT = Decimal("1000000000")


def state_choices(exclude_id: int | None = None) -> list[tuple[int, str]]:
    """Return (id, name) of every order state but exclude_id, in id order."""
    states = db.session.scalars(select(OrderState).order_by(OrderState.id))
    return [(state.id, state.name) for state in states if state.id != exclude_id]


class IdListField(Field):
    """Order ids from checkboxes (one value each) or one comma-separated hidden value."""

    widget = HiddenInput()

    def _value(self) -> str:
        return ",".join(str(order_id) for order_id in self.data or [])

    def process_formdata(self, valuelist):
        self.data = []
        for value in valuelist:
            for part in value.split(","):
                part = part.strip()
                if not part:
                    continue
                try:
                    self.data.append(whole_number(part, lo=1))
                except ValueError:
                    self.data = []
                    raise ValueError("Order ids must be whole numbers (ids of orders).") from None


class OrderFilterForm(FlaskForm):
    """The orders list's filters, read from the query string."""

    class Meta:
        csrf = False

    state = SelectField("State", coerce=int, default=0, validators=[Optional()])
    reference = StringField("Reference", validators=[Optional(), Length(max=9, message="A reference has 9 letters.")])
    customer = StringField("Customer name or e-mail", validators=[Optional(), Length(max=255)])
    date_from = DateField("From (UTC)", validators=[Optional(), DateInRange()])
    date_to = DateField("To (UTC)", validators=[Optional(), DateInRange()])
    per_page = SelectField("Per page", coerce=int, default=50)
    # Set by the column headers' links and kept as hidden fields by the filter form.
    sort = SelectField("Sort by", default="", validators=[Optional()])
    dir = SelectField("Direction", default="", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices are assigned, not declared: WTForms 3.3 deprecates declared tuples, older versions lack SelectChoice.
        self.state.choices = [(0, "Any state"), *state_choices()]
        self.per_page.choices = [(n, str(n)) for n in PER_PAGE_CHOICES]
        self.sort.choices = [("", "Date"), *((name, name) for name in SORT_COLUMNS)]
        self.dir.choices = [("", "default"), ("asc", "ascending"), ("desc", "descending")]

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")


class RefundReasonFields:
    """A refund reason and a note, on every form that refunds (status change, bulk change, credit slip).

    Both optional; checked by shop.reasons, the rule the JSON API applies, with a message per field.
    """

    reason = SelectField("Refund reason", default="", validate_choice=False)
    note = TextAreaField("Note", validators=[Optional()], filters=[line_breaks])

    def set_reason_choices(self) -> None:
        """Offer "not given" and every reason (call from the form's __init__)."""
        self.reason.choices = [("", "Not given"), *REASON_LABELS.items()]
        self.note.render_kw = {"maxlength": MAX_NOTE_CHARS, "rows": 2}

    def validate_reason(self, field):
        problem = reason_problems(field.data or None, None).get("reason")
        if problem:
            raise ValidationError(f"Choose a reason from the list ({problem}).")

    def validate_note(self, field):
        problem = reason_problems(None, field.data or None).get("note")
        if problem:
            raise ValidationError(
                "The note " + problem + (" (line breaks and tabs are fine)." if "control" in problem else ".")
            )

    def reason_and_note(self) -> tuple[str | None, str | None]:
        """Return the reason and the note as the services take them: None when not given."""
        return self.reason.data or None, (self.note.data or "").strip() or None


class StatusForm(RefundReasonFields, FlaskForm):
    """Change one order's status; the page offers every state but the current one."""

    state_id = SelectField("New status", coerce=int, validators=[InputRequired(message="Choose a status.")])
    next = HiddenField()
    change_status = SubmitField("Change status")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The current state stays a valid choice so that the status service reports "already assigned".
        self.state_id.choices = state_choices()
        self.set_reason_choices()


class BulkStatusForm(FlaskForm):
    """The bulk bar of the orders list: the selected orders (or all matching) and the target state."""

    order_ids = IdListField("Orders")
    all_matching = BooleanField("All orders matching the filter")
    state_id = SelectField("New status", coerce=int, validators=[InputRequired(message="Choose a status.")])
    bulk_change_status = SubmitField("Change order status")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state_id.choices = state_choices()

    def validate_order_ids(self, field):
        if not field.data and not self.all_matching.data:
            raise ValidationError("Select at least one order.")


class BulkConfirmForm(RefundReasonFields, FlaskForm):
    """The confirmation of a bulk status change: the exact orders shown, the target state, one reason for all."""

    order_ids = IdListField("Orders", validators=[DataRequired(message="No orders to change.")])
    state_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(1, MAX_ID)])
    confirm = SubmitField("Confirm")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_reason_choices()

    def validate_state_id(self, field):
        if field.errors:  # out of range: never ask the database
            return
        if db.session.get(OrderState, field.data) is None:
            raise ValidationError("This order state no longer exists.")


def _an_amount_in_cents(form, field):
    """Refuse NaN, infinities and fractions of a cent before any comparison (NaN cannot be compared)."""
    if field.data is None:
        return
    if not field.data.is_finite() or abs(field.data) > MAX_AMOUNT:
        field.errors[:] = []
        raise StopValidation(f"Enter an amount in cents, at most {MAX_AMOUNT}.")
    if field.data != field.data.quantize(Decimal("0.01")):
        field.errors[:] = []
        raise StopValidation("Enter an amount in cents, e.g. 12.30.")


REFUND_KIND_CHOICES = [
    ("partial", "Partial refund (amounts you choose)"),
    ("standard", "Standard refund (before delivery)"),
    ("return", "Return products (after delivery)"),
]
REFUND_WITH_CHOICES = [
    ("credit_slip", "A credit slip"),
    ("voucher", "A voucher"),
    ("both", "A credit slip and a voucher"),
]


class RefundForm(RefundReasonFields, FlaskForm):
    """A refund as PrestaShop's order page takes it: per line a quantity (``line_<id>``) and an amount
    (``amount_<id>``, tax incl), the shipping, the kind, credit slip and/or voucher, restock."""

    kind = SelectField("Kind of refund", default="partial")
    refund_shipping = BooleanField("Refund all the shipping left")
    shipping_amount = DecimalField(
        "Shipping to refund (tax incl.)",
        places=2,
        validators=[
            Optional(),
            _an_amount_in_cents,
            NumberRange(min=Decimal("0.01"), message="Enter an amount above 0."),
        ],
    )
    refund_with = SelectField("Refund with", default="credit_slip")
    restock = BooleanField("Put the refunded units back in stock")
    issue_refund = SubmitField("Issue refund")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = list(REFUND_KIND_CHOICES)
        self.refund_with.choices = list(REFUND_WITH_CHOICES)
        self.set_reason_choices()

    def line_fields(self, order: Order):
        """Yield (order line, its quantity field, its amount field)."""
        for line in order.lines:
            yield line, self[f"line_{line.id}"], self[f"amount_{line.id}"]

    def validate_shipping_amount(self, field):
        if field.data is not None and self.refund_shipping.data:
            raise ValidationError("Either tick “all the shipping” or enter an amount, not both.")

    def refund(self, order: Order) -> Refund:
        """Return the Refund asked for (call after validate())."""
        lines = [
            LineRefund(line.id, qty.data, amount.data if self.kind.data == "partial" else None)
            for line, qty, amount in self.line_fields(order)
            if qty.data
        ]
        shipping = (
            self.shipping_amount.data if self.shipping_amount.data is not None else bool(self.refund_shipping.data)
        )
        return Refund(
            lines=lines,
            shipping=shipping,
            kind=self.kind.data,
            credit_slip=self.refund_with.data in ("credit_slip", "both"),
            voucher=self.refund_with.data in ("voucher", "both"),
            restock=bool(self.restock.data),
        )


def _amount_needs_quantity(line_id: int):
    def check(form, field):
        if field.data is not None and not form[f"line_{line_id}"].data:
            raise ValidationError("Enter the quantity this amount refunds.")
        if field.data is not None and form.kind.data != "partial":
            raise ValidationError("Amounts are entered only in a partial refund.")

    return check


def refund_form_for(order: Order, **kwargs) -> RefundForm:
    """Build the refund form of an order: per line a quantity (0 to what is left) and an amount."""

    class OrderRefundForm(RefundForm):
        pass

    for line in order.lines:
        left = line.refundable_quantity
        setattr(
            OrderRefundForm,
            f"line_{line.id}",
            IntegerField(
                f"Quantity of {line.product_name} to refund",
                default=0,
                validators=[
                    Optional(),
                    NumberRange(0, left, message=f"Enter 0 to {left}: only {left} can still be refunded."),
                ],
            ),
        )
        amount_left = line.refundable_amount
        setattr(
            OrderRefundForm,
            f"amount_{line.id}",
            DecimalField(
                f"Amount of {line.product_name} to refund (tax incl.)",
                places=2,
                validators=[
                    Optional(),
                    _an_amount_in_cents,
                    NumberRange(
                        Decimal("0.01"),
                        amount_left,
                        message=f"Enter an amount from 0.01 to {amount_left:.2f} (what is left of the line).",
                    ),
                    _amount_needs_quantity(line.id),
                ],
            ),
        )
    form = OrderRefundForm(**kwargs)
    if not shipping_refundable(order):
        form.refund_shipping.render_kw = {"disabled": True}
        form.shipping_amount.render_kw = {"disabled": True}
    return form


def _unique_state_name(form, field):
    query = select(func.count()).where(func.lower(OrderState.name) == field.data.strip().lower())
    if form.state is not None:
        query = query.where(OrderState.id != form.state.id)
    if db.session.scalar(query):
        raise ValidationError("An order state with this name already exists.")


class OrderStateForm(FlaskForm):
    """Create or edit an order state: name, color and flags (flags only for custom states)."""

    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Enter a name."),
            Length(max=64, message="At most 64 characters."),
            _unique_state_name,
        ],
    )
    color = ColorField("Color", default="#34209E", validators=[DataRequired(message="Choose a color.")])
    logable = BooleanField("Consider the order as validated (logable)")
    invoice = BooleanField("Allow an invoice (invoice)")
    paid = BooleanField("Set the order as paid (paid)")
    shipped = BooleanField("Set the order as shipped (shipped)")
    delivery = BooleanField("Show delivery PDF (delivery)")
    send_email = BooleanField("Send an e-mail to the customer (send_email)")
    hidden = BooleanField("Hide this status in the customer's order history (hidden)")
    pdf_invoice = BooleanField("Attach the invoice PDF to the e-mail (pdf_invoice)")
    pdf_delivery = BooleanField("Attach the delivery slip PDF to the e-mail (pdf_delivery)")
    template = StringField(
        "E-mail template (template)", validators=[Optional(), Length(max=64, message="At most 64 characters.")]
    )
    save = SubmitField("Save")

    def __init__(self, *args, state: OrderState | None = None, **kwargs):
        super().__init__(*args, obj=state, **kwargs)
        self.state = state
        if state is not None and not state.is_custom:
            for flag in (*STATE_FLAGS, "template"):
                self[flag].render_kw = {"disabled": True}

    def validate_template(self, field):
        if field.data and not TEMPLATE_PATTERN.match(field.data.strip()):
            raise ValidationError("Use lowercase letters, digits and _ (a mail template name such as refund).")

    def validate_color(self, field):
        if not COLOR_PATTERN.match(field.data or ""):
            raise ValidationError("Use the form #RRGGBB, e.g. #34209E.")

    def flags(self) -> dict[str, bool]:
        """Return the flags as submitted."""
        return {flag: bool(self[flag].data) for flag in STATE_FLAGS}


def _valid_email(form, field):
    if not EMAIL_PATTERN.match(field.data.strip()):
        raise ValidationError("Enter an e-mail address like name@example.com.")


def _unused_email(form, field):
    email = field.data.strip().lower()
    if db.session.scalar(select(func.count()).where(func.lower(Employee.email) == email)):
        raise ValidationError("An employee with this e-mail already exists.")


ROLE_LABELS = {
    "superadmin": "Superadmin (everything)",
    "admin": "Admin (orders)",
    "merchant": "Merchant (module settings)",
    "tester": "Tester (read-only log and sandbox)",
}
ROLE_CHOICES = [(role, ROLE_LABELS.get(role, role)) for role in ROLES]

PASSWORD_RULES = [
    DataRequired(message="Enter a password."),
    Length(min=8, max=128, message="Use 8 to 128 characters."),
]


class EmployeeCreateForm(FlaskForm):
    """Create an employee."""

    email = EmailField(
        "E-mail",
        validators=[DataRequired(message="Enter an e-mail."), Length(max=255), _valid_email, _unused_email],
    )
    firstname = StringField("First name", validators=[Optional(), Length(max=64)])
    lastname = StringField("Last name", validators=[Optional(), Length(max=64)])
    role = SelectField("Role", validators=[InputRequired()])
    password = PasswordField("Password", validators=PASSWORD_RULES)
    confirm_password = PasswordField(
        "Repeat the password", validators=[EqualTo("password", message="The passwords differ.")]
    )
    create_employee = SubmitField("Create employee")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = ROLE_CHOICES


class EmployeeEditForm(FlaskForm):
    """Edit an employee's names, role and whether they may sign in."""

    firstname = StringField("First name", validators=[Optional(), Length(max=64)])
    lastname = StringField("Last name", validators=[Optional(), Length(max=64)])
    role = SelectField("Role", validators=[InputRequired()])
    active = BooleanField("Active (may sign in and use the API)")
    save_employee = SubmitField("Save")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = ROLE_CHOICES


class PasswordResetForm(FlaskForm):
    """Give an employee a new password."""

    password = PasswordField("New password", validators=PASSWORD_RULES)
    confirm_password = PasswordField(
        "Repeat the new password", validators=[EqualTo("password", message="The passwords differ.")]
    )
    reset_password = SubmitField("Reset password")


class ConfirmForm(FlaskForm):
    """A confirmation with nothing to fill in (its CSRF token is the point)."""

    confirm = SubmitField("Confirm")
