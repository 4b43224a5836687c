"""The refund rules every refund module shares: paid before the change, full vs partial, what is left to report.

Pixel Plus (Meta), and the GA4, Google Ads and webhook modules after it, each keep their own record of
what they already reported; these functions take that sum and say what a new refund reports. They are
pure: they read the order they are given and never query, write or send anything.

- ``was_paid_before(order, at)``: "only paid orders" judged on the history before the change
  (``shop.status`` owns it; re-exported here so modules need one import).
- ``FULL`` / ``PARTIAL``, ``default_kind(state)``, ``kind_of(state, kinds)``: the kind of a trigger state;
  ``clean_trigger_kinds(value, known_state_ids)`` checks a module's ``trigger_kinds`` setting.
- ``ValueSettings``: tax included or not, shipping included or not.
- ``left_to_report(order, kind, value_settings, already_reported)``: the ``Refund`` a trigger reports.
- ``credit_slip_refund(order, slip, value_settings, already_reported)``: the ``Refund`` one new slip reports.
"""

from refunding.kinds import FULL, KINDS, PARTIAL, clean_trigger_kinds, default_kind, kind_of
from refunding.left import Refund, RefundedLine, credit_slip_refund, left_to_report
from refunding.value import ValueSettings, order_value, slip_value
from shop.status import was_paid_before

__all__ = [
    "FULL",
    "KINDS",
    "PARTIAL",
    "Refund",
    "RefundedLine",
    "ValueSettings",
    "clean_trigger_kinds",
    "credit_slip_refund",
    "default_kind",
    "kind_of",
    "left_to_report",
    "order_value",
    "slip_value",
    "was_paid_before",
]
