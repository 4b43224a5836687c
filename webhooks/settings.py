"""Which status changes send ``transaction.refunded``: trigger states, full or partial each, paid only.

The shared trigger fields (modulekit) without "enabled": each endpoint is switched on and off on its own.
Until a merchant saves them, the states are those the webhooks always fired on: Refunded, Canceled and
Chargeback by key, and the merchant's Returned and Partially refunded by name.
"""

from dataclasses import dataclass

from modulekit import settings as kit
from refunding.kinds import DEFAULT_KINDS_BY_NAME, default_kind
from shop.states import DEFAULT_TRIGGER_KEYS


def default_trigger_state_ids(states) -> list[int]:
    """Return the states that fire until the merchant chooses: the refund states by key or by name."""
    return [
        s.id for s in states if s.key in DEFAULT_TRIGGER_KEYS or (s.name or "").strip().lower() in DEFAULT_KINDS_BY_NAME
    ]


FIELDS = tuple(f for f in kit.trigger_fields("WEBHOOKS_REFUND", default_trigger_state_ids) if f.name != "enabled")


@dataclass(frozen=True)
class WebhookTriggers:
    """The webhook module's trigger settings as the receivers use them."""

    paid_only: bool
    trigger_state_ids: tuple[int, ...]
    trigger_kinds: dict

    def kind_of(self, state) -> str:
        """Return full or partial for a trigger state: the merchant's choice, else its default."""
        return self.trigger_kinds.get(state.id) or default_kind(state)


def load_settings() -> WebhookTriggers:
    """Read the settings once per transaction (a bulk change signals once per order)."""
    return kit.in_transaction("webhooks", lambda: WebhookTriggers(**kit.load(FIELDS)))


def save_settings(changes: dict) -> WebhookTriggers:
    """Validate and store changes; raise SettingsInvalid having stored nothing. The caller commits."""
    return WebhookTriggers(**kit.save(FIELDS, changes, {}))
