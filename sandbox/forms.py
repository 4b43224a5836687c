"""Forms of the Test events page: filters (GET), faults and the clearing buttons (POST with CSRF)."""

from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import NumberRange, Optional

from sandbox.faults import ERRORS, MAX_HANG_MS, MAX_LATENCY_MS, META

FAULT_LABELS = {
    "transient": "Transient (code 2)",
    "server": "Server (code 1, 503)",
    "timeout": "Timeout",
    "token": "Expired token (190)",
    "app_limit": "App request limit (code 4)",
    "user_limit": "User request limit (code 17)",
    "business_limit": "Business use-case limit (80004)",
    "rate_limit": "API rate limit (613)",
}

try:  # wtforms >= 3.3 deprecates (value, label) tuples
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None


def choice(value: str, label: str):
    """Return a select option in the form this wtforms version prefers."""
    return SelectChoice(value, label) if SelectChoice else (value, label)


class EventFilterForm(FlaskForm):
    """Filter the received events by pixel and test event code."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    pixel_id = SelectField("Pixel", choices=[choice("", "All pixels")], default="")
    test_event_code = StringField("Test event code", validators=[Optional()])
    submit = SubmitField("Filter")


class FaultsForm(FlaskForm):
    """Set the faults injected into the next Graph requests."""

    latency_ms = IntegerField(
        "Added latency (ms)",
        validators=[Optional(), NumberRange(0, MAX_LATENCY_MS, f"From 0 to {MAX_LATENCY_MS} ms.")],
        default=0,
    )
    error = SelectField(
        "Error",
        choices=[choice("", "No error")] + [choice(kind, FAULT_LABELS.get(kind, kind)) for kind in ERRORS[META]],
        default="",
    )
    error_rate = FloatField(
        "Share of requests that fail (0–1)",
        validators=[Optional(), NumberRange(0, 1, "A share from 0 to 1.")],
        default=1.0,
    )
    count = IntegerField(
        "Only the next N requests", validators=[Optional(), NumberRange(1, None, "At least 1, or leave empty.")]
    )
    hang_ms = IntegerField(
        "Hang for timeout (ms)",
        validators=[Optional(), NumberRange(0, MAX_HANG_MS, f"From 0 to {MAX_HANG_MS} ms.")],
    )
    submit = SubmitField("Set faults")

    def to_body(self) -> dict:
        """Return the form as a PUT /sandbox/api/faults body."""
        body: dict = {"latency_ms": self.latency_ms.data or 0}
        if self.error.data:
            body["error"] = self.error.data
            body["error_rate"] = 1.0 if self.error_rate.data is None else self.error_rate.data
            if self.count.data is not None:
                body["count"] = self.count.data
            if self.error.data == "timeout" and self.hang_ms.data is not None:
                body["hang_ms"] = self.hang_ms.data
        return body


class ConfirmForm(FlaskForm):
    """A button that changes something (clear faults, forget received events): CSRF only."""

    submit = SubmitField("Confirm")
