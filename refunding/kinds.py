"""Full or partial: what kind of refund a trigger state stands for (DOMAIN.md §2, ours).

A *full* refund reports what is left of the order; a *partial* one reports the credit slips not yet
reported. Default states are known by key, merchants' states by name, never by id (ids differ
between shops): Refunded, Canceled and Returned are full, Partially refunded is partial.
"""

from collections.abc import Mapping

FULL, PARTIAL = "full", "partial"
KINDS = (FULL, PARTIAL)

DEFAULT_KINDS_BY_KEY = {"PS_OS_REFUND": FULL, "PS_OS_CANCELED": FULL}
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
