"""GA4 refund settings: measurement id, API secret (masked), region or base URL, triggers, value rules."""

import re
from dataclasses import dataclass

from modulekit import settings as kit
from modulekit.settings import Field
from refunding import ValueSettings

GOOGLE_ENDPOINTS = {"global": "https://www.google-analytics.com", "eu": "https://region1.google-analytics.com"}
_MEASUREMENT_ID = re.compile(r"G-[A-Z0-9]{4,20}")
_API_SECRET = re.compile(r"[A-Za-z0-9_-]{8,128}")


def _measurement_id(value: str) -> str:
    value = value.upper()
    if value and not _MEASUREMENT_ID.fullmatch(value):
        raise ValueError("A measurement id looks like G-XXXXXXXXXX (Admin → Data streams → your web stream).")
    return value


def _api_secret(value: str) -> str:
    if not _API_SECRET.fullmatch(value):
        # Never echo the value: it is a secret even when malformed.
        raise ValueError("An API secret is 8 to 128 letters, digits, - or _ (Data stream → Measurement Protocol).")
    return value


def _base_url(value: str) -> str:
    return kit.clean_base_url(value) if value else ""


FIELDS = (
    *kit.trigger_fields("GA4_REFUND"),
    Field("measurement_id", "GA4_MEASUREMENT_ID", clean=_measurement_id, label="Measurement id"),
    Field(
        "api_secret",
        "GA4_API_SECRET",
        clean=_api_secret,
        secret=True,
        label="Measurement Protocol API secret",
    ),
    Field(
        "region",
        "GA4_REGION",
        default="global",
        choices=(("global", "Global (www.google-analytics.com)"), ("eu", "EU (region1.google-analytics.com)")),
        label="Collection endpoint",
        help="EU collects in the European Union.",
    ),
    Field(
        "base_url",
        "GA4_BASE_URL",
        clean=_base_url,
        label="Base URL (optional)",
        help="Leave empty for Google's endpoint of the region; the demo points it at the embedded sandbox.",
    ),
    Field(
        "transaction_id_source",
        "GA4_TRANSACTION_ID_SOURCE",
        default="reference",
        choices=(("reference", "Order reference"), ("id", "Order id")),
        label="transaction_id",
        help="Must match the transaction_id of the purchase event your storefront tag sends.",
    ),
    Field(
        "item_id_source",
        "GA4_ITEM_ID_SOURCE",
        default="id",
        choices=(("id", "Product id"), ("reference", "Product reference")),
        label="item_id",
    ),
    Field("value_tax_incl", "GA4_VALUE_TAX_INCL", "bool", True, label="Value includes tax"),
    Field("value_shipping_incl", "GA4_VALUE_SHIPPING_INCL", "bool", True, label="Value includes shipping"),
)
REQUIRED_WHEN_ENABLED = {
    "measurement_id": "Enter the measurement id: GA4 refunds cannot be enabled without it.",
    "api_secret": "Enter the API secret: GA4 refunds cannot be enabled without it.",
}


@dataclass(frozen=True)
class Ga4Settings:
    """The GA4 module's settings as the receiver and the sender use them."""

    enabled: bool
    paid_only: bool
    trigger_state_ids: tuple[int, ...]
    trigger_kinds: dict
    measurement_id: str
    api_secret: str
    region: str
    base_url: str
    transaction_id_source: str
    item_id_source: str
    value_tax_incl: bool
    value_shipping_incl: bool

    @property
    def configured(self) -> bool:
        """Whether a measurement id and an API secret are set."""
        return bool(self.measurement_id and self.api_secret)

    @property
    def endpoint(self) -> str:
        """The base URL events are sent to: the configured one, else Google's for the region."""
        return self.base_url or GOOGLE_ENDPOINTS.get(self.region, GOOGLE_ENDPOINTS["global"])

    @property
    def value_settings(self) -> ValueSettings:
        """Whether values include tax and shipping."""
        return ValueSettings(tax_incl=self.value_tax_incl, shipping_incl=self.value_shipping_incl)


def load_settings() -> Ga4Settings:
    """Read the settings, with defaults for what was never saved."""
    return Ga4Settings(**kit.load(FIELDS))


def save_settings(changes: dict) -> Ga4Settings:
    """Validate and store changes; raise SettingsInvalid having stored nothing. The caller commits."""
    return Ga4Settings(**kit.save(FIELDS, changes, REQUIRED_WHEN_ENABLED))
