"""The shop's signals, the hooks modules listen to (PrestaShop's action* hooks)."""

from blinker import Namespace

_signals = Namespace()

order_status_update = _signals.signal("order-status-update")
order_status_update.__doc__ = """Sent before an order changes state (PrestaShop's actionOrderStatusUpdate).

Sender: the Order, still in its old state. Keyword arguments: ``new_state`` (OrderState),
``employee`` (Employee or None), ``at`` (aware UTC datetime of the change).
"""

order_status_changed = _signals.signal("order-status-changed")
order_status_changed.__doc__ = """Sent after an order changed state (PrestaShop's actionOrderStatusPostUpdate).

Sender: the Order, already in its new state (``valid`` follows the new state). Keyword arguments:
``old_state`` (OrderState, or None when the order is being created), ``new_state`` (OrderState),
``employee`` (Employee or None), ``at`` (aware UTC datetime of the change). The history row of the
change is added after this signal, so ``order.history`` still lists only earlier states (PrestaShop's
order). Use ``shop.status.was_paid_before(order)`` rather than ``order.valid``. Sent inside the change's
transaction: whatever a receiver adds to the session is committed, or rolled back, with the change.
Receivers take ``**extra`` so the signal can grow.
"""

credit_slip_issued = _signals.signal("credit-slip-issued")
credit_slip_issued.__doc__ = """Sent after a credit slip (partial refund) was issued; the order's state is unchanged.

Sender: the Order. Keyword arguments: ``credit_slip`` (CreditSlip), ``employee`` (Employee or None),
``at`` (aware UTC datetime). Sent inside the slip's transaction.
"""

demo_data_created = _signals.signal("demo-data-created")
demo_data_created.__doc__ = """Sent by ``flask shop init-demo`` once the demo shop exists, so modules set themselves up.

Sender: the Flask app. No keyword arguments yet; receivers take ``**extra``.
"""
