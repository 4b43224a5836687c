"""What is left to report: the value and lines a new refund reports to one destination.

The caller gives the sum it already reported for the order (its own events, whatever their status:
a failed one may still be resent with its id). The result is never negative, never more than what is
left of the order, and its ``arithmetic`` says how it was reached, as the decision shows it:
"order total 67.56 EUR − 23.88 EUR already reported = 43.68 EUR".

Earlier reports are taken to cover the oldest credit slips first: the slips they do not cover are
the ones a partial refund reports, and a full refund's lines are the order's lines less the covered
slips' units.
"""

from dataclasses import dataclass
from decimal import Decimal

from refunding.kinds import FULL, KINDS
from refunding.value import (
    ZERO,
    RefundedLine,
    ValueSettings,
    order_value,
    remaining_lines,
    slip_lines,
    slip_value,
    slips_value,
)

CREDIT_SLIP = "credit_slip"


@dataclass(frozen=True)
class Refund:
    """What a new refund reports: a value (zero when nothing is left), its lines and the arithmetic."""

    value: Decimal
    currency: str
    lines: tuple[RefundedLine, ...]
    kind: str  # full | partial | credit_slip
    arithmetic: str
    already_reported: Decimal

    @property
    def nothing_left(self) -> bool:
        """Whether there is nothing to report."""
        return self.value <= 0

    @property
    def num_items(self) -> int:
        """The number of units reported."""
        return sum(line.quantity for line in self.lines)


def amount(value: Decimal, currency: str) -> str:
    """Write an amount as people read it: ``59.90 EUR``."""
    return f"{value:.2f} {currency}"


def left_to_report(order, kind: str, settings: ValueSettings, already_reported: Decimal) -> Refund:
    """Return what a trigger of this kind reports for order, given what the destination already reported."""
    if kind not in KINDS:
        raise ValueError(f"unknown refund kind {kind!r}")
    currency = order.currency
    reported = already_reported or ZERO
    total = order_value(order, settings)
    slips = list(order.credit_slips)
    covered, uncovered = _split_slips(slips, reported, settings)
    if kind == FULL:
        value = total - reported
        arithmetic = _minus("order total", total, reported, currency)
        lines = remaining_lines(order, covered, settings)
    else:
        slips_total = slips_value(slips, settings)
        label = "credit slips " + " + ".join(f"#{slip.id}" for slip in slips) if slips else "credit slips (none)"
        value = slips_total - reported
        arithmetic = _minus(label, slips_total, reported, currency)
        if value > total - reported:
            value = total - reported
            arithmetic += ", capped at what is left of the order: " + _minus("order total", total, reported, currency)
        lines = slip_lines(uncovered, settings)
    return Refund(max(value, ZERO), currency, lines, kind, arithmetic, reported)


def credit_slip_refund(order, slip, settings: ValueSettings, already_reported: Decimal) -> Refund:
    """Return what one new credit slip reports: its amount, capped at what is left of the order."""
    currency = order.currency
    reported = already_reported or ZERO
    value = slip_value(slip, settings)
    arithmetic = f"credit slip #{slip.id} {amount(value, currency)}"
    left = order_value(order, settings) - reported
    if value > left:
        value = left
        arithmetic += ", capped at what is left of the order: " + _minus(
            "order total", order_value(order, settings), reported, currency
        )
    return Refund(max(value, ZERO), currency, slip_lines([slip], settings), CREDIT_SLIP, arithmetic, reported)


def _minus(label: str, total: Decimal, reported: Decimal, currency: str) -> str:
    """Write "label total − reported already reported = rest" (just "label total" when nothing was reported)."""
    if not reported:
        return f"{label} {amount(total, currency)}"
    rest = max(total - reported, ZERO)
    already = f"{amount(reported, currency)} already reported"
    return f"{label} {amount(total, currency)} − {already} = {amount(rest, currency)}"


def _split_slips(slips: list, reported: Decimal, settings: ValueSettings) -> tuple[list, list]:
    """Split the slips into those earlier reports cover (oldest first) and the rest."""
    covered, uncovered, running = [], [], ZERO
    for slip in slips:
        running += slip_value(slip, settings)
        (covered if running <= reported else uncovered).append(slip)
    return covered, uncovered
