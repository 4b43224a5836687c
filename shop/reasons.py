"""Why an order was refunded, as the merchant (or a postback) says it: a reason from a fixed list and a note.

Carried with a status change and a credit slip in their signals (``reason``, ``note``) to every module
whose destination has such a field (the webhooks' ``refund.reason`` and ``refund.note``); GA4's and
Meta's refund events have none.
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


def reason_problems(reason, note) -> dict[str, str]:
    """Return a message per field for an unusable reason or note (empty when both are fine or absent)."""
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
