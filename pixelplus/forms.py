"""The settings form and the "Send test event" form of the Pixel Plus settings page.

The form collects typed values; ``pixelplus.settings.save_settings`` holds the rules, so the page and
the JSON API refuse exactly the same input, and its per-field messages land on the form's fields.
"""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import InputRequired, Length, Optional

from core.forms import choice
from pixelplus.settings import (
    ACTION_SOURCES,
    CONTENT_ID_SOURCES,
    LATEST_API_VERSION,
    LDU_CHOICES,
    META_GRAPH_URL,
    RefundSettings,
)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class RefundSettingsForm(FlaskForm):
    """Pixel Plus → Refund event settings."""

    enabled = BooleanField("Enable Refund event (FCTP_REFUND_ENABLED)")
    paid_only = BooleanField("Only for paid orders (FCTP_REFUND_PAID_ONLY)")
    # save_settings refuses unknown state ids with a message naming them.
    trigger_state_ids = MultiCheckboxField(
        "Order states that trigger the Refund event (FCTP_REFUND_STATUS)", coerce=int, validate_choice=False
    )
    refund_on_credit_slip = BooleanField(
        "Also send a Refund when a credit slip is issued without a status change (FCTP_REFUND_ON_CREDIT_SLIP)"
    )
    pixel_id = StringField("Pixel ID", validators=[Length(max=32, message="At most 32 digits.")])
    access_token = PasswordField(
        "Conversions API access token", validators=[Length(max=1024, message="At most 1,024 characters.")]
    )
    api_version = StringField("Graph API version", validators=[Length(max=8)])
    graph_url = StringField("Graph API base URL", validators=[Length(max=255)])
    test_event_code = StringField("Test event code", validators=[Length(max=64, message="At most 64 characters.")])
    # Left out of a post, these three keep their stored value; save_settings refuses a wrong one.
    test_mode_minutes = IntegerField("Test mode ends by itself after (minutes)", validators=[Optional()])
    action_source = RadioField(
        "Action source", choices=[choice(key, label) for key, label in ACTION_SOURCES.items()], validate_choice=False
    )
    ldu = RadioField(
        "Limited Data Use", choices=[choice(key, label) for key, label in LDU_CHOICES.items()], validate_choice=False
    )
    value_tax_incl = RadioField("Value", choices=[choice("1", "Tax included"), choice("0", "Tax excluded")])
    value_shipping_incl = RadioField(
        "Shipping", choices=[choice("1", "Shipping included"), choice("0", "Shipping excluded")]
    )
    content_id_source = RadioField(
        "Content ids", choices=[choice(key, label) for key, label in CONTENT_ID_SOURCES.items()]
    )
    submit = SubmitField("Save")

    def fill(self, settings: RefundSettings) -> None:
        """Show the stored settings (the token is never put into the page)."""
        self.enabled.data = settings.enabled
        self.paid_only.data = settings.paid_only
        self.trigger_state_ids.data = list(settings.trigger_state_ids)
        self.refund_on_credit_slip.data = settings.refund_on_credit_slip
        self.pixel_id.data = settings.pixel_id
        self.api_version.data = settings.api_version or LATEST_API_VERSION
        self.graph_url.data = settings.graph_url or META_GRAPH_URL
        # An expired code is shown as none, so saving the page does not start test mode again.
        self.test_event_code.data = settings.test_event_code_at()
        self.test_mode_minutes.data = settings.test_mode_minutes
        self.action_source.data = settings.action_source
        self.ldu.data = settings.ldu
        self.value_tax_incl.data = "1" if settings.value_tax_incl else "0"
        self.value_shipping_incl.data = "1" if settings.value_shipping_incl else "0"
        self.content_id_source.data = settings.content_id_source

    def changes(self) -> dict:
        """Return the submitted values for ``save_settings``; an empty token field keeps the stored one."""
        values = {
            "enabled": self.enabled.data,
            "paid_only": self.paid_only.data,
            "trigger_state_ids": list(self.trigger_state_ids.data or []),
            "refund_on_credit_slip": self.refund_on_credit_slip.data,
            "pixel_id": self.pixel_id.data or "",
            "api_version": self.api_version.data or "",
            "graph_url": self.graph_url.data or "",
            "test_event_code": self.test_event_code.data or "",
            "value_tax_incl": self.value_tax_incl.data == "1",
            "value_shipping_incl": self.value_shipping_incl.data == "1",
            "content_id_source": self.content_id_source.data or "",
        }
        optional = {"test_mode_minutes": self.test_mode_minutes, "action_source": self.action_source, "ldu": self.ldu}
        values |= {name: field.data for name, field in optional.items() if field.raw_data and field.raw_data[0]}
        if self.access_token.data:
            values["access_token"] = self.access_token.data
        return values

    # The refund kinds are selects the page renders per state, beside their trigger checkbox.
    kind_errors: list[str] = []

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put the messages of a refused save on their fields."""
        for name, message in errors.items():
            if name == "trigger_kinds":
                self.kind_errors = [*self.kind_errors, message]
                continue
            field = getattr(self, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
            else:
                self.form_errors.append(message)


class SendTestEventForm(FlaskForm):
    """The "Send test event" form: a code given on the spot (prefilled, never saved) and the button."""

    test_event_code = StringField(
        "Test event code for this test",
        id="test-event-code",
        validators=[InputRequired("Enter a test event code."), Length(max=64, message="At most 64 characters.")],
    )
    send_test = SubmitField("Send test event")
