"""The shop's signals, the hooks modules listen to (PrestaShop's action* hooks).

A status change sends, in PrestaShop's order (OrderHistory::changeIdOrderState): ``payment-confirmed``
(actionPaymentConfirmation, only into Payment accepted / Remote payment accepted), ``order-status-update``
(actionOrderStatusUpdate), then ``order-status-changed`` (actionOrderStatusPostUpdate). To port a
PrestaShop receiver, map its ``$params``: ``id_order`` → ``sender.id`` (the Order itself is sent),
``newOrderStatus`` → ``new_state``, ``oldOrderStatus`` → ``old_state``; ``employee`` and ``at`` are ours.
"""

from blinker import Namespace

_signals = Namespace()

order_status_update = _signals.signal("order-status-update")
order_status_update.__doc__ = """Sent before an order changes state (PrestaShop's actionOrderStatusUpdate).

Sender: the Order, still in its old state. Keyword arguments: ``new_state`` (OrderState),
``employee`` (Employee or None), ``at`` (aware UTC datetime of the change). PrestaShop passes
``newOrderStatus``, ``oldOrderStatus`` and ``id_order``; the old state here is ``order.current_state``.
"""

payment_confirmed = _signals.signal("payment-confirmed")
payment_confirmed.__doc__ = """Sent when an order enters a payment-confirming state (actionPaymentConfirmation).

The states: Payment accepted and Remote payment accepted, every time the order enters one of them.
Sent first, before ``order-status-update``, as PrestaShop does. Sender: the Order, still in its old
state. Keyword arguments: ``new_state`` (OrderState), ``employee`` (Employee or None), ``at`` (aware
UTC datetime). PrestaShop passes only ``id_order``. Sent inside the change's transaction.
"""

order_status_changed = _signals.signal("order-status-changed")
order_status_changed.__doc__ = """Sent after an order changed state (PrestaShop's actionOrderStatusPostUpdate).

Sender: the Order, already in its new state (``valid`` follows the new state; the invoice number is
set if the new state has invoice=1; the payment of what was unpaid is recorded if it has paid=1).
Keyword arguments: ``old_state`` (OrderState, or None when the order is being created), ``new_state``
(OrderState), ``employee`` (Employee or None), ``at`` (aware UTC datetime of the change),
``reason`` and ``note`` (the refund's reason from shop.reasons.REASONS and a note, or None).
Where it differs from PrestaShop: actionOrderStatusPostUpdate carries ``newOrderStatus`` and
``id_order`` only; ``old_state`` is our convenience (a PrestaShop module would read the history). The history row of the
change is added after this signal, so ``order.history`` still lists only earlier states (PrestaShop's
order). Use ``shop.status.was_paid_before(order)`` rather than ``order.valid``. Sent inside the change's
transaction: whatever a receiver adds to the session is committed, or rolled back, with the change.
Receivers take ``**extra`` so the signal can grow.
"""

credit_slip_issued = _signals.signal("credit-slip-issued")
credit_slip_issued.__doc__ = """Sent after a credit slip (partial refund) was issued; the order's state is unchanged.

Sender: the Order. Keyword arguments: ``credit_slip`` (CreditSlip), ``employee`` (Employee or None),
``at`` (aware UTC datetime), ``kind`` (``partial``, ``standard`` or ``return``), ``reason`` and
``note`` (the refund's reason from shop.reasons.REASONS and a note, or None). PrestaShop's
actionOrderSlipAdd passes ``order``, ``productList`` and ``qtyList``: read them from
``credit_slip.lines``. Sent inside the slip's transaction; not sent for a refund by voucher only.
"""

demo_data_created = _signals.signal("demo-data-created")
demo_data_created.__doc__ = """Sent by ``flask shop init-demo`` once the demo shop exists, so modules set themselves up.

Sender: the Flask app. No keyword arguments yet; receivers take ``**extra``.
"""

order_batch_loaded = _signals.signal("order-batch-loaded")
order_batch_loaded.__doc__ = """Sent by a bulk status change before it changes a batch of orders (``shop.batch``).

Sender: the list of Orders of the batch (loaded with their state, lines, credit slips, payments,
history and customer). Keyword arguments: ``new_state`` (OrderState). A receiver reads what it will
need for those orders at once and keeps it in ``shop.batch.per_order`` / ``cached``; each order then
changes and sends its own signals as usual. Not sent for a single status change.
"""

demo_data_ready = _signals.signal("demo-data-ready")
demo_data_ready.__doc__ = """Sent by ``flask shop init-demo`` after ``demo-data-created``: every module has set up.

For demo steps every module must see, such as the demo's postbacks being processed (each module then
reacts to their refunds as it would in a running shop). Sender: the Flask app; receivers take ``**extra``.
"""
