"""Which order states end an order with money going back: full refunds and chargebacks, found by data.

Full refunds are the states the shared refund rules (refunding.kinds) call full by default: Refunded
and Canceled by their PS_OS_* key, a merchant's Returned by name; never by id (ids differ between
shops). A chargeback state may be added later (postbacks, #21): any state whose key or name says
"chargeback" counts, so the report needs no change when it appears.
"""

from dataclasses import dataclass

from sqlalchemy import select

from extensions import db
from refunding.kinds import DEFAULT_KINDS_BY_KEY, DEFAULT_KINDS_BY_NAME, FULL
from shop.models import OrderState

FULL_REFUND_KEYS = frozenset(key for key, kind in DEFAULT_KINDS_BY_KEY.items() if kind == FULL)
FULL_REFUND_NAMES = frozenset(name for name, kind in DEFAULT_KINDS_BY_NAME.items() if kind == FULL)
CHARGEBACK_WORD = "chargeback"


@dataclass(frozen=True)
class EndingStates:
    """The ids of the states that refund an order in full, and of the chargeback states."""

    full_refund: tuple[int, ...]
    chargeback: tuple[int, ...]

    @property
    def all(self) -> tuple[int, ...]:
        """Every ending state id."""
        return self.full_refund + self.chargeback


def is_chargeback(state: OrderState) -> bool:
    """Whether a state stands for a chargeback (its key or name says so)."""
    return CHARGEBACK_WORD in (state.key or "").lower() or CHARGEBACK_WORD in (state.name or "").lower()


def is_full_refund(state: OrderState) -> bool:
    """Whether entering a state gives the customer back what they paid (Refunded, Canceled, Returned)."""
    if is_chargeback(state):
        return False
    return state.key in FULL_REFUND_KEYS or (state.name or "").strip().lower() in FULL_REFUND_NAMES


def ending_states() -> EndingStates:
    """Read the shop's states and sort out the full-refund and chargeback ones."""
    states = db.session.scalars(select(OrderState).order_by(OrderState.id))
    full, chargeback = [], []
    for state in states:
        if is_chargeback(state):
            chargeback.append(state.id)
        elif is_full_refund(state):
            full.append(state.id)
    return EndingStates(tuple(full), tuple(chargeback))
