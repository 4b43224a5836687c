"""The destination registry: what a module tells the delivery service about where its events go.

A module calls ``register_destination(app, Destination(...))`` in its ``init_app``. The dispatcher knows
nothing about a destination beyond this record and the sender it builds: how many events fit in one
request, how to send them, what an answer means, how long an event may still be delivered, and (if the
destination has its own) the retry schedule.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from flask import Flask

if TYPE_CHECKING:
    from delivery.http import Answer, HttpClient

EXTENSION_KEY = "delivery.destinations"

# What the dispatcher does with an answer (a sender's ``classify`` returns one of these).
DELIVERED, TRANSIENT, PERMANENT, BAD_EVENT = "sent", "transient", "permanent", "bad_event"
# An attempt whose batch was rejected because of another event in it; the batch is split and sent again.
SPLIT = "split"


class Sender(Protocol):
    """Sends one batch to a destination and explains the answer."""

    def send(self, target: str, events: list[dict], test_event_code: str | None) -> "Answer":
        """Send events to target in one request (secrets read now, never stored) and return the answer."""

    def classify(self, answer: "Answer") -> str:
        """Return DELIVERED, TRANSIENT, PERMANENT or BAD_EVENT (one event spoiled the whole batch)."""

    def describe(self, answer: "Answer") -> str:
        """Return why an answer is a failure, in one line, in the destination's words."""

    def bad_event_index(self, answer: "Answer", count: int) -> int | None:
        """Return the index of the event the destination blamed, if its answer names one."""

    # Optional, for destinations that accept part of a request (Google Ads' partialFailure):
    # def row_failures(self, answer, count) -> dict[int, str]: {position in the request: why refused}.
    # Those rows fail with that reason although the request was delivered; the others are sent.


@dataclass(frozen=True)
class Destination:
    """A place events are delivered to, as a module registers it."""

    name: str  # stored in outbox_event.destination and decision.destination, e.g. meta_capi
    display_name: str
    sender: Callable[["HttpClient"], Sender]  # builds the sender on a dispatcher's HTTP client
    window: Callable[[object], datetime]  # given the outbox row, when delivering it stops making sense
    batch_size: int = 1
    retry_schedule: Sequence[float] | None = None  # floors in seconds; None: the service's default
    # Whether the module is switched on now (its settings, read when called); None: always. Reports show
    # only enabled destinations in the reconciliation.
    enabled: Callable[[], bool] | None = None


def register_destination(app: Flask, destination: Destination) -> None:
    """Make a destination known to the delivery service; a name may be registered once."""
    registry = app.extensions.setdefault(EXTENSION_KEY, {})
    if destination.name in registry and registry[destination.name] != destination:
        raise ValueError(f"destination {destination.name!r} is registered already")
    registry[destination.name] = destination


def destinations(app: Flask) -> dict[str, Destination]:
    """Return the registered destinations by name, in registration order."""
    return dict(app.extensions.get(EXTENSION_KEY, {}))
