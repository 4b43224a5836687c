"""The delivery service's signals: a module tells it that an event waits in the outbox."""

from blinker import Namespace

_signals = Namespace()

outbox_event_recorded = _signals.signal("outbox-event-recorded")
outbox_event_recorded.__doc__ = """Sent when an outbox row was added to the session (not yet committed).

Sender: the OutboxEvent. Keyword arguments: none yet; receivers take ``**extra``. The dispatch wiring
listens to it to wake the dispatcher once the transaction that holds the row has committed.
"""
