"""Pixel Plus settings: read with defaults, validated on save, stored as ModuleSetting rows.

Every caller (the settings page, the JSON API, the receivers, the sender) goes through
``load_settings()`` and ``save_settings()``, so the rules live in one place. The access token is
stored as is (the sender needs it) but never shown: use ``RefundSettings.masked_token``.
"""

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.dbtypes import utcnow
from core.inputs import text_problem
from delivery.hosts import clean_base_url
from extensions import db
from pixelplus.graph import mask_token
from pixelplus.models import ModuleSetting
from refunding import ValueSettings, clean_trigger_kinds, kind_of
from shop.models import OrderState
from shop.states import DEFAULT_TRIGGER_KEYS

log = logging.getLogger(__name__)

LATEST_API_VERSION = "v26.0"
META_GRAPH_URL = "https://graph.facebook.com"
CONTENT_ID_SOURCES = {"id": "Product id", "reference": "Product reference"}
# Meta's action_source for a refund made in the back office (DOMAIN.md §2): no browser is involved.
ACTION_SOURCES = {
    "system_generated": "System generated (recommended: the refund happens in the back office)",
    "website": "Website (adds the checkout's IP address, user agent and page URL)",
    "other": "Other",
}
# Limited Data Use (Meta's data processing options for US state privacy laws).
LDU_CHOICES = {
    "off": "Off",
    "us_privacy_states": "Customers in US states with a privacy law (Meta finds the state)",
    "us": "All customers with a US address",
}
DEFAULT_TEST_MODE_MINUTES = 60
MAX_TEST_MODE_MINUTES = 24 * 60

# Field name → stored key. The first four are Pixel Plus's own configuration keys.
STORED_KEYS = {
    "enabled": "FCTP_REFUND_ENABLED",
    "paid_only": "FCTP_REFUND_PAID_ONLY",
    "trigger_state_ids": "FCTP_REFUND_STATUS",
    "refund_on_credit_slip": "FCTP_REFUND_ON_CREDIT_SLIP",
    "pixel_id": "FCTP_PIXEL_ID",
    "access_token": "FCTP_CAPI_ACCESS_TOKEN",
    "api_version": "FCTP_CAPI_API_VERSION",
    "graph_url": "FCTP_CAPI_GRAPH_URL",
    "test_event_code": "FCTP_CAPI_TEST_EVENT_CODE",
    "value_tax_incl": "FCTP_REFUND_VALUE_TAX_INCL",
    "value_shipping_incl": "FCTP_REFUND_VALUE_SHIPPING_INCL",
    "content_id_source": "FCTP_REFUND_CONTENT_ID_SOURCE",
    "trigger_kinds": "FCTP_REFUND_TRIGGER_KINDS",
    "action_source": "FCTP_REFUND_ACTION_SOURCE",
    "test_mode_minutes": "FCTP_CAPI_TEST_MODE_MINUTES",
    "ldu": "FCTP_REFUND_LDU",
}
# Kept by save_settings itself, never given by a caller: when the saved test event code was set.
TEST_MODE_SINCE_KEY = "FCTP_CAPI_TEST_MODE_SINCE"
BOOLEAN_FIELDS = ("enabled", "paid_only", "refund_on_credit_slip", "value_tax_incl", "value_shipping_incl")
TEXT_FIELDS = (
    "pixel_id",
    "access_token",
    "api_version",
    "graph_url",
    "test_event_code",
    "content_id_source",
    "action_source",
    "ldu",
)

# ASCII digits only: "\d" would also take Arabic-Indic or superscript digits, which Meta refuses.
_PIXEL_ID = re.compile(r"[0-9]{1,32}")
_API_VERSION = re.compile(r"v[0-9]{1,2}\.[0-9]")
TEST_EVENT_CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOKEN = re.compile(r"[A-Za-z0-9_\-.|=+/]{1,1024}")


class SettingsInvalid(ValueError):
    """Settings that may not be saved, with a message per field; nothing was stored."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("invalid settings: " + ", ".join(sorted(fields)))
        self.fields = fields


@dataclass(frozen=True)
class RefundSettings:
    """The module's settings as the receivers and the sender use them."""

    enabled: bool = False
    paid_only: bool = True
    trigger_state_ids: tuple[int, ...] = ()
    refund_on_credit_slip: bool = False
    pixel_id: str = ""
    access_token: str = ""
    api_version: str = LATEST_API_VERSION
    graph_url: str = META_GRAPH_URL
    test_event_code: str = ""
    value_tax_incl: bool = True
    value_shipping_incl: bool = True
    content_id_source: str = "id"
    trigger_kinds: dict[int, str] = field(default_factory=dict)  # only the kinds the merchant chose
    action_source: str = "system_generated"
    test_mode_minutes: int = DEFAULT_TEST_MODE_MINUTES
    ldu: str = "off"
    test_mode_since: datetime | None = None

    @property
    def masked_token(self) -> str:
        """The access token as it may be shown: ``EAAB…9x2Q``, or "" when none is set."""
        return mask_token(self.access_token)

    @property
    def configured(self) -> bool:
        """Whether a pixel id and an access token are set."""
        return bool(self.pixel_id and self.access_token)

    @property
    def value_settings(self) -> ValueSettings:
        """Tax and shipping in or out, as the shared refund rules take them."""
        return ValueSettings(tax_incl=self.value_tax_incl, shipping_incl=self.value_shipping_incl)

    def describe_value(self) -> str:
        """Say in words how the value is computed (for decisions and pages)."""
        return self.value_settings.describe()

    def kind_of(self, state: OrderState) -> str:
        """Return whether a trigger state is a full or a partial refund (chosen, else its default)."""
        return kind_of(state, self.trigger_kinds)

    @property
    def test_mode_until(self) -> datetime | None:
        """When the saved test event code stops being put on events; None without one."""
        if not self.test_event_code or self.test_mode_since is None:
            return None
        return self.test_mode_since + timedelta(minutes=self.test_mode_minutes)

    def test_event_code_at(self, at: datetime | None = None) -> str:
        """Return the test event code to put on an event dated at (default now): "" once test mode ended."""
        until = self.test_mode_until
        return self.test_event_code if until is not None and (at or utcnow()) < until else ""

    def in_test_mode(self, at: datetime | None = None) -> bool:
        """Whether events recorded at (default now) go out as test events."""
        return bool(self.test_event_code_at(at))


_CACHE_KEY = "pixelplus.settings"


def default_trigger_state_ids() -> tuple[int, ...]:
    """Return the ids of Refunded and Canceled, found by key (ids differ between shops)."""
    ids = db.session.scalars(select(OrderState.id).where(OrderState.key.in_(DEFAULT_TRIGGER_KEYS)))
    return tuple(sorted(ids))


def load_settings() -> RefundSettings:
    """Read the settings from the database, with defaults for what was never saved."""
    stored = {row.name: row.value for row in db.session.scalars(select(ModuleSetting))}
    values: dict = {}
    for name, key in STORED_KEYS.items():
        raw = stored.get(key)
        if raw is None:
            continue
        if name in BOOLEAN_FIELDS:
            values[name] = raw == "1"
        elif name == "trigger_state_ids":
            values[name] = tuple(int(i) for i in json.loads(raw))
        elif name == "trigger_kinds":
            values[name] = {int(i): kind for i, kind in json.loads(raw).items()}
        elif name == "test_mode_minutes":
            values[name] = int(raw)
        else:
            values[name] = raw
    if "trigger_state_ids" not in values:
        values["trigger_state_ids"] = default_trigger_state_ids()
    if stored.get(TEST_MODE_SINCE_KEY):
        values["test_mode_since"] = datetime.fromisoformat(stored[TEST_MODE_SINCE_KEY])
    return RefundSettings(**values)


def settings_in_transaction() -> RefundSettings:
    """Return the settings, read once per transaction: a bulk change signals once per order."""
    info = db.session.info
    if _CACHE_KEY not in info:
        info[_CACHE_KEY] = load_settings()
    return info[_CACHE_KEY]


@event.listens_for(Session, "after_transaction_end")
def _forget_settings(session: Session, transaction) -> None:
    # Only when the outermost transaction ends: a receiver's savepoint must not empty the cache.
    if transaction.parent is None:
        session.info.pop(_CACHE_KEY, None)


def save_settings(changes: dict) -> RefundSettings:
    """Validate changes (field name → typed value) against the current settings and store them.

    Raises SettingsInvalid, having stored nothing, when a value is refused. The caller commits.
    """
    current = load_settings()
    errors: dict[str, str] = {}
    cleaned: dict = {}
    for name, value in changes.items():
        if name not in STORED_KEYS:
            errors[name] = "unknown setting"
            continue
        try:
            cleaned[name] = _clean(name, value)
        except ValueError as error:
            errors[name] = str(error)
    if "trigger_kinds" in cleaned:
        cleaned["trigger_kinds"] = {**current.trigger_kinds, **cleaned["trigger_kinds"]}
    merged = {**asdict(current), **cleaned}
    merged["trigger_kinds"] = dict(merged["trigger_kinds"])
    since = _test_mode_since(current, cleaned)
    merged["test_mode_since"] = since
    if merged["enabled"] and not errors:
        if not merged["pixel_id"]:
            errors["pixel_id"] = "Enter the pixel id: the Refund event cannot be enabled without it."
        if not merged["access_token"]:
            errors["access_token"] = "Enter the access token: the Refund event cannot be enabled without it."  # noqa: S105
    if errors:
        raise SettingsInvalid(errors)

    rows = {row.name: row for row in db.session.scalars(select(ModuleSetting))}
    for name, value in cleaned.items():
        key = STORED_KEYS[name]
        row = rows.get(key) or ModuleSetting(name=key)
        row.value = _serialize(name, value)
        db.session.add(row)
    if since != current.test_mode_since:
        row = rows.get(TEST_MODE_SINCE_KEY) or ModuleSetting(name=TEST_MODE_SINCE_KEY)
        row.value = since.isoformat() if since else None
        db.session.add(row)
    db.session.flush()
    db.session.info.pop(_CACHE_KEY, None)
    if cleaned:
        log.info("Pixel Plus settings changed: %s", ", ".join(sorted(cleaned)))  # names only, never values
    return RefundSettings(**merged)


def _test_mode_since(current: RefundSettings, cleaned: dict) -> datetime | None:
    """Return when test mode started: now for a new code (or one saved again after test mode ended).

    Saving the same code while test mode is on keeps its start, so saving other settings does not
    stretch test mode; an expired code is shown as none, so saving the page does not revive it.
    """
    if "test_event_code" not in cleaned:
        return current.test_mode_since
    code = cleaned["test_event_code"]
    if not code:
        return None
    if code == current.test_event_code_at():
        return current.test_mode_since
    return utcnow()


def _serialize(name: str, value) -> str:
    if name in BOOLEAN_FIELDS:
        return "1" if value else "0"
    if name == "trigger_state_ids":
        return json.dumps(list(value))
    if name == "trigger_kinds":
        return json.dumps({str(i): kind for i, kind in sorted(value.items())})
    if name == "test_mode_minutes":
        return str(value)
    return value


def _clean(name: str, value):
    """Return the value to store for one field, or raise ValueError with the message to show."""
    if name in BOOLEAN_FIELDS:
        if not isinstance(value, bool):
            raise ValueError("Must be true or false.")
        return value
    if name == "trigger_state_ids":
        return _clean_state_ids(value)
    if name == "trigger_kinds":
        return _clean_trigger_kinds(value)
    if name == "test_mode_minutes":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TEST_MODE_MINUTES:
            raise ValueError(f"Give the test mode's length in minutes, from 1 to {MAX_TEST_MODE_MINUTES}.")
        return value
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    problem = text_problem(value)
    if problem:
        # A tab inside the Graph URL would be stored, then break every send.
        raise ValueError(f"The value {problem}.")
    value = value.strip()
    if name == "pixel_id":
        if value and not _PIXEL_ID.fullmatch(value):
            raise ValueError("The pixel id is made of digits only (e.g. 1234567890123456).")
    elif name == "access_token":
        if value and not _TOKEN.fullmatch(value):
            # Never echo the value: it is a secret even when malformed.
            raise ValueError("The access token has characters a Meta token never has (spaces, quotes…).")
    elif name == "api_version":
        if not _API_VERSION.fullmatch(value):
            raise ValueError(f"Write the Graph API version as vNN.N, e.g. {LATEST_API_VERSION}.")
    elif name == "graph_url":
        value = _clean_graph_url(value)
    elif name == "test_event_code":
        if value and not TEST_EVENT_CODE_PATTERN.fullmatch(value):
            raise ValueError("A test event code is letters and digits, e.g. TEST12345 (Events Manager → Test events).")
    elif name == "content_id_source" and value not in CONTENT_ID_SOURCES:
        raise ValueError("Choose product id or product reference.")
    elif name == "action_source" and value not in ACTION_SOURCES:
        raise ValueError("Choose system_generated, website or other.")
    elif name == "ldu" and value not in LDU_CHOICES:
        raise ValueError("Choose off, us_privacy_states or us.")
    return value


def _clean_trigger_kinds(value) -> dict[int, str]:
    """Return {state id: full/partial} from a mapping whose keys are state ids (JSON keys are strings)."""
    return clean_trigger_kinds(value, set(db.session.scalars(select(OrderState.id))))


def _clean_state_ids(value) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or any(isinstance(i, bool) or not isinstance(i, int) for i in value):
        raise ValueError("Give a list of order state ids.")
    known = set(db.session.scalars(select(OrderState.id)))
    unknown = [i for i in value if i not in known]
    if unknown:
        raise ValueError(f"Unknown order state id: {', '.join(str(i) for i in unknown)}.")
    return tuple(sorted(set(value)))


def _clean_graph_url(value: str) -> str:
    """Allow https to public hosts; private ones and plain http only where the delivery service allows them."""
    return clean_base_url(value, "Graph API base URL", META_GRAPH_URL)
