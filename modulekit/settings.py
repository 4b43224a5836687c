"""Module settings stored as key/value rows (the shop's Configuration table), described by fields.

Each module lists its fields once; ``load`` fills defaults for what was never saved, ``save`` validates
every change (a message per field, nothing stored on a refusal) and ``public`` returns them for the
JSON API and pages with secrets masked. Trigger fields (states, full/partial kinds, paid only) are
common to every refund module and cleaned here once.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from delivery.hosts import clean_base_url as clean_url
from extensions import db
from pixelplus.models import ModuleSetting
from refunding import clean_trigger_kinds, default_kind
from shop.models import OrderState
from shop.states import DEFAULT_TRIGGER_KEYS

log = logging.getLogger(__name__)

_CACHE_KEY = "modulekit.settings"
MAX_TEXT = 2000


class SettingsInvalid(ValueError):
    """Settings that may not be saved, with a message per field; nothing was stored."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("invalid settings: " + ", ".join(sorted(fields)))
        self.fields = fields


@dataclass(frozen=True)
class Field:
    """One setting: its name, stored key, kind (bool, text, ids, kinds), default and extra check."""

    name: str
    key: str
    kind: str = "text"
    default: Any = ""
    clean: Callable[[Any], Any] | None = None  # raise ValueError(message) to refuse
    secret: bool = False
    label: str = ""
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for a text field with fixed values


def trigger_fields(prefix: str, default_states: Callable[[list[OrderState]], list[int]] | None = None):
    """The fields every refund module has: enabled, paid only, trigger states and their kinds.

    Trigger states never saved default to DEFAULT_TRIGGER_KEYS' states, or to ``default_states(states)``.
    """
    return (
        Field("enabled", f"{prefix}_ENABLED", "bool", False, label="Enabled"),
        Field("paid_only", f"{prefix}_PAID_ONLY", "bool", True, label="Only orders paid before the change"),
        Field("trigger_state_ids", f"{prefix}_TRIGGER_STATES", "ids", default_states, label="Trigger states"),
        Field("trigger_kinds", f"{prefix}_TRIGGER_KINDS", "kinds", None, label="Full or partial"),
    )


def mask(secret: str | None) -> str:
    """Return a secret as it may be shown: its first and last four characters (``1//0…9x2Q``)."""
    if not secret:
        return ""
    if len(secret) <= 10:
        return "…"
    return f"{secret[:4]}…{secret[-4:]}"


def in_transaction(name: str, loader: Callable[[], Any]) -> Any:
    """Return loader()'s settings, read once per transaction: a bulk change signals once per order."""
    cache = db.session.info.setdefault(_CACHE_KEY, {})
    if name not in cache:
        cache[name] = loader()
    return cache[name]


@event.listens_for(Session, "after_transaction_end")
def _forget_settings(session: Session, transaction) -> None:
    # Only when the outermost transaction ends: a receiver's savepoint must not empty the cache.
    if transaction.parent is None:
        session.info.pop(_CACHE_KEY, None)


def load(fields: tuple[Field, ...]) -> dict:
    """Read the fields' values, with defaults for what was never saved."""
    keys = {f.key: f for f in fields}
    rows = db.session.scalars(select(ModuleSetting).where(ModuleSetting.name.in_(list(keys))))
    stored = {row.name: row.value for row in rows}
    values = {}
    for field in fields:
        raw = stored.get(field.key)
        values[field.name] = field.default if raw is None else _parse(field, raw)
    states = None
    default = values.get("trigger_state_ids")
    if "trigger_state_ids" in values and (default is None or callable(default)):
        states = _states()
        chosen = default(states) if default else [s.id for s in states if s.key in DEFAULT_TRIGGER_KEYS]
        values["trigger_state_ids"] = tuple(sorted(chosen))
    if "trigger_kinds" in values:
        states = states or _states()
        chosen = values["trigger_kinds"] or {}
        values["trigger_kinds"] = {s.id: chosen.get(s.id) or default_kind(s) for s in states}
    return values


def save(fields: tuple[Field, ...], changes: dict, required_when_enabled: dict[str, str]) -> dict:
    """Validate changes (name → value) against the stored values, store them and return the merged values.

    Raises SettingsInvalid having stored nothing. An empty secret leaves the stored one as it is. The
    caller commits.
    """
    by_name = {f.name: f for f in fields}
    current = load(fields)
    errors: dict[str, str] = {}
    cleaned: dict = {}
    for name, value in changes.items():
        field = by_name.get(name)
        if field is None:
            errors[name] = "unknown setting"
            continue
        if field.secret and value in ("", None):
            continue
        try:
            cleaned[name] = _clean(field, value)
        except ValueError as error:
            errors[name] = str(error)
    merged = {**current, **cleaned}
    if "trigger_kinds" in cleaned:
        merged["trigger_kinds"] = {**current["trigger_kinds"], **cleaned["trigger_kinds"]}
        cleaned["trigger_kinds"] = merged["trigger_kinds"]
    if merged.get("enabled") and not errors:
        for name, message in required_when_enabled.items():
            if not merged.get(name):
                errors[name] = message
    if errors:
        raise SettingsInvalid(errors)
    rows = {row.name: row for row in db.session.scalars(select(ModuleSetting))}
    for name, value in cleaned.items():
        key = by_name[name].key
        row = rows.get(key) or ModuleSetting(name=key)
        row.value = _serialize(by_name[name], value)
        db.session.add(row)
    db.session.flush()
    db.session.info.pop(_CACHE_KEY, None)
    if cleaned:
        log.info("module settings changed: %s", ", ".join(sorted(cleaned)))  # names only, never values
    return merged


def public(fields: tuple[Field, ...], values: dict) -> dict:
    """Return values for the JSON API: secrets masked, kinds keyed by state id as text."""
    shown = {}
    for field in fields:
        value = values[field.name]
        if field.secret:
            value = mask(value)
        elif field.kind == "ids":
            value = list(value)
        elif field.kind == "kinds":
            value = {str(state_id): kind for state_id, kind in value.items()}
        shown[field.name] = value
    return shown


def _states() -> list[OrderState]:
    return list(db.session.scalars(select(OrderState).order_by(OrderState.id)))


def _parse(field: Field, raw: str):
    if field.kind == "bool":
        return raw == "1"
    if field.kind == "ids":
        return tuple(int(i) for i in json.loads(raw))
    if field.kind == "kinds":
        return {int(state_id): kind for state_id, kind in json.loads(raw).items()}
    return raw


def _serialize(field: Field, value) -> str:
    if field.kind == "bool":
        return "1" if value else "0"
    if field.kind == "ids":
        return json.dumps(list(value))
    if field.kind == "kinds":
        return json.dumps({str(state_id): kind for state_id, kind in value.items()})
    return value


def _clean(field: Field, value):
    """Return the value to store for one field, or raise ValueError with the message to show."""
    if field.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("Must be true or false.")
        return value
    if field.kind == "ids":
        return _clean_state_ids(value)
    if field.kind == "kinds":
        return _clean_kinds(value)
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    value = value.strip()
    if len(value) > MAX_TEXT or not value.isprintable():
        raise ValueError("Must be one line of printable text." if not field.secret else "Not a valid value.")
    if field.choices and value not in dict(field.choices):
        raise ValueError("Choose one of: " + ", ".join(label for _value, label in field.choices) + ".")
    return field.clean(value) if field.clean else value


def clean_base_url(value: str) -> str:
    """Allow https to public hosts; private ones and plain http only where the delivery service allows them."""
    return clean_url(value, "base URL", "https://…")


def _known_state_ids() -> set[int]:
    return set(db.session.scalars(select(OrderState.id)))


def _clean_state_ids(value) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or any(isinstance(i, bool) or not isinstance(i, int) for i in value):
        raise ValueError("Give a list of order state ids.")
    unknown = [i for i in value if i not in _known_state_ids()]
    if unknown:
        raise ValueError(f"Unknown order state id: {', '.join(str(i)[:20] for i in unknown[:5])}.")
    return tuple(sorted(set(value)))


def _clean_kinds(value) -> dict[int, str]:
    return clean_trigger_kinds(value, _known_state_ids())


def demo_trigger_state_ids() -> list[int]:
    """Refunded and Canceled, plus the demo's Returned and Partially refunded states when they exist."""
    states = _states()
    return [s.id for s in states if s.key in DEFAULT_TRIGGER_KEYS or s.name in ("Returned", "Partially refunded")]
