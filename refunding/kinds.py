"""Full or partial: what kind of refund a trigger state stands for (DOMAIN.md §2, ours).

A *full* refund reports what is left of the order; a *partial* one reports the credit slips not yet
reported. Default states are known by key, merchants' states by name, never by id (ids differ
between shops): Refunded, Canceled, Chargeback and Returned are full, Partially refunded is partial.
"""

import re
from collections.abc import Container, Mapping

FULL, PARTIAL = "full", "partial"
KINDS = (FULL, PARTIAL)

# A chargeback gives the whole payment back to the customer (the bank takes it from the shop): a full refund.
DEFAULT_KINDS_BY_KEY = {"PS_OS_REFUND": FULL, "PS_OS_CANCELED": FULL, "PB_OS_CHARGEBACK": FULL}
DEFAULT_KINDS_BY_NAME = {"returned": FULL, "partially refunded": PARTIAL, "partial refund": PARTIAL}


def default_kind(state) -> str:
    """Return the kind a state has until the merchant chooses one."""
    if state.key in DEFAULT_KINDS_BY_KEY:
        return DEFAULT_KINDS_BY_KEY[state.key]
    name = (state.name or "").strip().lower()
    if name in DEFAULT_KINDS_BY_NAME:
        return DEFAULT_KINDS_BY_NAME[name]
    # A merchant's state that says "partial" most likely stands for a credit slip; anything else is
    # taken as the end of the order, so nothing the customer got back is left unreported.
    return PARTIAL if "partial" in name else FULL


def kind_of(state, chosen: Mapping[int, str]) -> str:
    """Return the kind the merchant chose for state (by id), else its default."""
    return chosen.get(state.id) or default_kind(state)


def clean_trigger_kinds(value, known_state_ids: Container[int]) -> dict[int, str]:
    """Return {state id: full/partial} from a settings form or JSON mapping (keys may be strings of digits).

    Raises ValueError with one message naming every problem: not a mapping, a key that is no state id,
    an unknown state, a kind other than full or partial. Every refund module's settings use it.
    """
    if not isinstance(value, dict):
        raise ValueError("Give an object of order state id → full or partial.")
    kinds: dict[int, str] = {}
    problems: list[str] = []
    for key, kind in value.items():
        text = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
        # At most 18 digits: anything longer is no state id, and never reaches a database as a number.
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,18}", text):
            problems.append(f"{_shown(key)} is not an order state id")
            continue
        if kind not in KINDS:
            problems.append(f"state {text}: choose full or partial, not {_shown(kind)}")
            continue
        kinds[int(text)] = kind
    unknown = sorted(i for i in kinds if i not in known_state_ids)
    if unknown:
        problems.append("unknown order state id: " + ", ".join(str(i) for i in unknown))
    if problems:
        message = "; ".join(problems)
        raise ValueError(message[0].upper() + message[1:] + ".")
    return kinds


def _shown(value) -> str:
    """Show a refused value briefly and printably in a message."""
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "…"
