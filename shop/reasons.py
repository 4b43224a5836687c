"""Why an order was refunded, as the merchant (or a postback) says it: a reason from a fixed list and a note.

Stored on the history row and the credit slip, and carried in their signals (``reason``, ``note``) to
every module: the webhooks send both (``refund.reason``, ``refund.note``); Meta and GA4 send the reason
only (``custom_data.refund_reason``, the ``refund_reason`` parameter: a note may name a person); Google
Ads' adjustments have no field for either.
"""

REASONS = ("requested_by_customer", "duplicate", "fraudulent", "chargeback", "other")
MAX_NOTE_CHARS = 500
LABELS = {
    "requested_by_customer": "Requested by the customer",
    "duplicate": "Duplicate order",
    "fraudulent": "Fraudulent order",
    "chargeback": "Chargeback",
    "other": "Other",
}


def line_breaks(note):
    """Return a note with its line breaks as ``\n``: a browser submits a textarea's as ``\r\n``."""
    return note.replace("\r\n", "\n").replace("\r", "\n") if isinstance(note, str) else note


def reason_problems(reason, note) -> dict[str, str]:
    """Return a message per field for an unusable reason or note (empty when both are fine or absent)."""
    note = line_breaks(note)
    problems = {}
    if reason is not None and reason not in REASONS:
        problems["reason"] = f"one of {', '.join(REASONS)}"
    if note is not None:
        if not isinstance(note, str):
            problems["note"] = "text"
        elif len(note) > MAX_NOTE_CHARS:
            problems["note"] = f"at most {MAX_NOTE_CHARS} characters"
        elif any((ord(c) < 0x20 and c not in "\n\t") or 0xD800 <= ord(c) <= 0xDFFF or ord(c) == 0x7F for c in note):
            problems["note"] = "holds control characters"
    return problems
