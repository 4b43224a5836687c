"""Order states a superadmin creates and edits.

Custom states are editable in full. Default states (those with a PS_OS_* key) keep their flags:
the shop and its modules rely on what, say, "Payment accepted" means, so only their name and
color may change. The caller commits.
"""

from extensions import db
from shop.models import OrderState

FLAGS = ("logable", "invoice", "paid", "shipped", "delivery", "send_email", "hidden", "pdf_invoice", "pdf_delivery")


def create_order_state(name: str, color: str, flags: dict[str, bool], template: str | None = None) -> OrderState:
    """Add a custom order state (removable, owned by no module)."""
    state = OrderState(key=None, name=name.strip(), color=color.upper(), template=(template or "").strip() or None)
    for flag in FLAGS:
        setattr(state, flag, bool(flags.get(flag)))
    db.session.add(state)
    db.session.flush()
    return state


def update_order_state(
    state: OrderState, name: str, color: str, flags: dict[str, bool], template: str | None = None
) -> OrderState:
    """Rename and recolor a state; change its flags and e-mail template only when it is a custom state."""
    state.name = name.strip()
    state.color = color.upper()
    if state.is_custom:
        state.template = (template or "").strip() or None
        for flag in FLAGS:
            setattr(state, flag, bool(flags.get(flag)))
    db.session.flush()
    return state
