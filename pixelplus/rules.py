"""The decision: does this status change (or credit slip) fire a Refund event, and if not, why not.

Pure functions of what the receiver gathered, so each rule is testable on its own. The checks run in
the order a tester would ask them, and the first that fails gives the reason:
module enabled → trigger → configured → paid before the change → recent enough → money left to report.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.dbtypes import utcnow
from pixelplus.models import FIRED, SKIPPED
from pixelplus.settings import RefundSettings
from refunding import Refund
from shop.models import CreditSlip, OrderState

# Meta rejects a whole request holding an event older than 7 days (subcode 2804003); keep a margin
# so an event recorded now can still wait for a retry or two.
MAX_EVENT_AGE = timedelta(days=7) - timedelta(hours=1)


@dataclass(frozen=True)
class Verdict:
    """The outcome of a decision: fired or skipped, the reason in words, and the refund to report."""

    outcome: str
    reason: str
    refund: Refund | None = None

    @property
    def fired(self) -> bool:
        """Whether an event is to be sent."""
        return self.outcome == FIRED


def _gate(settings: RefundSettings, paid_before: bool, at: datetime, now: datetime | None) -> Verdict | None:
    """Apply the checks shared by every trigger once it is known to be one; None when all pass."""
    if not settings.configured:
        return Verdict(SKIPPED, "module not configured: the pixel id or the access token is missing")
    if settings.paid_only and not paid_before:
        return Verdict(SKIPPED, "order was never paid before this change (only paid orders)")
    if at < (now or utcnow()) - MAX_EVENT_AGE:
        return Verdict(SKIPPED, f"the change is dated {at:%Y-%m-%d %H:%M} UTC: Meta refuses events older than 7 days")
    return None


def _report(refund: Refund, settings: RefundSettings, cause: str) -> Verdict:
    """Fire for what is left, or skip when earlier events already reported it all; show the arithmetic."""
    how = f"{refund.arithmetic}; {settings.describe_value()}"
    if refund.nothing_left:
        start = "nothing left to report" if refund.already_reported > 0 else "nothing to report"
        return Verdict(SKIPPED, f"{start}: {how}")
    return Verdict(FIRED, f"{cause}: reporting {refund.value:.2f} {refund.currency} ({how})", refund)


def decide_status_change(
    settings: RefundSettings,
    new_state: OrderState,
    paid_before: bool,
    at: datetime,
    refund: Callable[[], Refund],
    now: datetime | None = None,
) -> Verdict:
    """Decide for a status change; ``refund`` computes what would be reported, only when needed."""
    if not settings.enabled:
        return Verdict(SKIPPED, "module disabled")
    if new_state.id not in settings.trigger_state_ids:
        return Verdict(SKIPPED, f"state {new_state.name} is not a refund trigger")
    kind = settings.kind_of(new_state)
    return _gate(settings, paid_before, at, now) or _report(
        refund(), settings, f"state {new_state.name} is a refund trigger ({kind} refund)"
    )


def decide_credit_slip(
    settings: RefundSettings,
    slip: CreditSlip,
    paid_before: bool,
    at: datetime,
    refund: Callable[[], Refund],
    now: datetime | None = None,
) -> Verdict:
    """Decide for a credit slip issued without a status change (FCTP_REFUND_ON_CREDIT_SLIP)."""
    if not settings.enabled:
        return Verdict(SKIPPED, "module disabled")
    if not settings.refund_on_credit_slip:
        return Verdict(
            SKIPPED,
            f"credit slip #{slip.id}: refund on credit slip is off (FCTP_REFUND_ON_CREDIT_SLIP); "
            "a refund status reports it later",
        )
    return _gate(settings, paid_before, at, now) or _report(refund(), settings, f"credit slip #{slip.id} issued")
