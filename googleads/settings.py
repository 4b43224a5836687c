"""Google Ads adjustment settings: account, conversion action, OAuth (secrets masked), API, time zone."""

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, available_timezones

from modulekit import settings as kit
from modulekit.settings import Field
from refunding import ValueSettings

GOOGLE_ADS_URL = "https://googleads.googleapis.com"
LATEST_API_VERSION = "v26"
_CUSTOMER_ID = re.compile(r"\d{10}")
_ACTION_ID = re.compile(r"\d{1,20}")
_VERSION = re.compile(r"v\d{2}")
_TOKEN = re.compile(r"[A-Za-z0-9_\-./~+=]{8,2048}")


def _customer_id(value: str) -> str:
    value = value.replace("-", "")
    if value and not _CUSTOMER_ID.fullmatch(value):
        raise ValueError("A customer id is 10 digits, e.g. 123-456-7890 (top right of Google Ads).")
    return value


def _action_id(value: str) -> str:
    if value and not _ACTION_ID.fullmatch(value):
        raise ValueError("The conversion action id is digits (Goals → Conversions → the action's ctId).")
    return value


def _token(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError("This does not look like an OAuth value (8 or more letters, digits and -._~+/=).")
    return value


def _version(value: str) -> str:
    if not _VERSION.fullmatch(value):
        raise ValueError(f"Write the API version as vNN, e.g. {LATEST_API_VERSION}.")
    return value


def _time_zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError("Choose the account's time zone by its name, e.g. Europe/Paris (Admin → Account settings).")
    return value


def _base_url(value: str) -> str:
    return kit.clean_base_url(value or GOOGLE_ADS_URL)


FIELDS = (
    *kit.trigger_fields("GOOGLEADS_REFUND"),
    Field("customer_id", "GOOGLEADS_CUSTOMER_ID", clean=_customer_id, label="Customer id"),
    Field("conversion_action_id", "GOOGLEADS_CONVERSION_ACTION_ID", clean=_action_id, label="Conversion action id"),
    Field(
        "conversion_name",
        "GOOGLEADS_CONVERSION_NAME",
        default="Purchase",
        label="Conversion name",
        help="The conversion action's name, for the offline-adjustment CSV.",
    ),
    Field("oauth_refresh_token", "GOOGLEADS_REFRESH_TOKEN", clean=_token, secret=True, label="OAuth refresh token"),
    Field("oauth_client_id", "GOOGLEADS_CLIENT_ID", clean=_token, label="OAuth client id (Google only)"),
    Field(
        "oauth_client_secret",
        "GOOGLEADS_CLIENT_SECRET",
        clean=_token,
        secret=True,
        label="OAuth client secret (Google only)",
    ),
    Field(
        "login_customer_id",
        "GOOGLEADS_LOGIN_CUSTOMER_ID",
        clean=_customer_id,
        label="Manager account id (optional)",
        help="When access goes through a manager account. No developer token: Google retired them in 2026.",
    ),
    Field("api_version", "GOOGLEADS_API_VERSION", default=LATEST_API_VERSION, clean=_version, label="API version"),
    Field("base_url", "GOOGLEADS_BASE_URL", default=GOOGLE_ADS_URL, clean=_base_url, label="Base URL"),
    Field("time_zone", "GOOGLEADS_TIME_ZONE", default="UTC", clean=_time_zone, label="Account time zone"),
    Field("value_tax_incl", "GOOGLEADS_VALUE_TAX_INCL", "bool", True, label="Values include tax"),
    Field("value_shipping_incl", "GOOGLEADS_VALUE_SHIPPING_INCL", "bool", True, label="Values include shipping"),
)
REQUIRED_WHEN_ENABLED = {
    "customer_id": "Enter the customer id: adjustments cannot be enabled without it.",
    "conversion_action_id": "Enter the conversion action id: adjustments cannot be enabled without it.",
    "oauth_refresh_token": "Enter the OAuth refresh token: adjustments cannot be enabled without it.",
}


@dataclass(frozen=True)
class AdsSettings:
    """The Google Ads module's settings as the receiver and the sender use them."""

    enabled: bool
    paid_only: bool
    trigger_state_ids: tuple[int, ...]
    trigger_kinds: dict
    customer_id: str
    conversion_action_id: str
    conversion_name: str
    oauth_refresh_token: str
    oauth_client_id: str
    oauth_client_secret: str
    login_customer_id: str
    api_version: str
    base_url: str
    time_zone: str
    value_tax_incl: bool
    value_shipping_incl: bool

    @property
    def configured(self) -> bool:
        """Whether the account, the conversion action and a refresh token are set."""
        return bool(self.customer_id and self.conversion_action_id and self.oauth_refresh_token)

    @property
    def conversion_action(self) -> str:
        """The conversion action's resource name."""
        return f"customers/{self.customer_id}/conversionActions/{self.conversion_action_id}"

    @property
    def zone(self) -> ZoneInfo:
        """The account's time zone."""
        return ZoneInfo(self.time_zone)

    @property
    def value_settings(self) -> ValueSettings:
        """Whether values include tax and shipping."""
        return ValueSettings(tax_incl=self.value_tax_incl, shipping_incl=self.value_shipping_incl)


def load_settings() -> AdsSettings:
    """Read the settings, with defaults for what was never saved."""
    return AdsSettings(**kit.load(FIELDS))


def save_settings(changes: dict) -> AdsSettings:
    """Validate and store changes; raise SettingsInvalid having stored nothing. The caller commits."""
    return AdsSettings(**kit.save(FIELDS, changes, REQUIRED_WHEN_ENABLED))
