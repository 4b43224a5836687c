"""Receiving: read a network's refund postback or a verified Stripe event into a queued Postback row.

Nothing here refunds anything: a request only validates what it was sent, records the row and answers;
``postbacks.processing`` does the refund later, outside the request. A txid (or Stripe event id) seen
before is recorded as a duplicate, which processing never touches.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.apierrors import ApiError
from extensions import db
from postbacks.models import CHARGEBACK, CUSTOMER_REQUEST, DUPLICATE, NETWORK, RECEIVED, STRIPE, Postback
from shop.reasons import REASONS

# The seed's `type` values and their synonyms ("cb"; "refund", "request").
KINDS = {
    "chargeback": CHARGEBACK,
    "cb": CHARGEBACK,
    "customer_request": CUSTOMER_REQUEST,
    "refund": CUSTOMER_REQUEST,
    "request": CUSTOMER_REQUEST,
}
DEFAULT_REASON = {CHARGEBACK: "chargeback", CUSTOMER_REQUEST: "requested_by_customer"}
MAX_CENTS = 10**14 - 1  # 999,999,999,999.99: far beyond any order, far below a 64-bit column
_AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
_TXID = re.compile(r"[!-~]{1,128}")  # printable ASCII, no spaces
_CLICK_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_REFERENCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,128}")
_CURRENCY = re.compile(r"[a-z]{3}")
# Stripe amounts are in the currency's smallest unit; these currencies have no decimals.
ZERO_DECIMAL_CURRENCIES = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
STRIPE_EVENTS = ("charge.refunded", "charge.dispute.created")


@dataclass
class Received:
    """What a request recorded: the row, and whether it is a duplicate of an earlier one."""

    postback: Postback
    duplicate: bool


def read_network_postback(values) -> dict:
    """Return the postback's fields from query/form values, or raise a 422 ApiError naming each bad one."""
    fields: dict[str, str] = {}

    def one(name: str) -> str | None:
        given = values.getlist(name)
        if len(given) > 1:
            fields[name] = "given more than once"
            return None
        return given[0].strip() if given and given[0].strip() else None

    cid, ref, amount, kind, txid, reason = (one(n) for n in ("cid", "ref", "amount", "type", "txid", "reason"))
    if cid is not None and not _CLICK_ID.fullmatch(cid):
        fields["cid"] = "a click id is at most 64 letters, digits, '_', '-', '.' or ':'"
    if ref is not None and not _REFERENCE.fullmatch(ref):
        fields["ref"] = "an order reference is at most 64 letters, digits, '_' or '-'"
    if cid is None and ref is None and not {"cid", "ref"} & fields.keys():
        fields["cid"] = "required: the click id (cid) or the order reference (ref)"
    parsed_amount = None
    if amount is None:
        fields.setdefault("amount", "required: the refunded amount, like 49.99")
    elif not _AMOUNT.fullmatch(amount):
        fields["amount"] = "a positive amount with at most 2 decimals and 12 digits, like 49.99"
    else:
        parsed_amount = Decimal(amount)
        if parsed_amount <= 0:
            fields["amount"] = "must be more than 0"
    if kind is not None and kind.lower() not in KINDS:
        fields["type"] = "chargeback (or cb) or customer_request (or refund, request)"
    if txid is None:
        fields.setdefault("txid", "required: the network's id of this refund")
    elif not _TXID.fullmatch(txid):
        fields["txid"] = "at most 128 printable characters, without spaces"
    if reason is not None and reason not in REASONS:
        fields["reason"] = "one of " + ", ".join(REASONS)
    if fields:
        raise ApiError(422, "invalid", "the postback was not recorded; see fields", fields)
    kind = KINDS[(kind or "customer_request").lower()]
    return {
        "source": NETWORK,
        "txid": txid,
        "cid": cid,
        "ref": ref.upper() if ref else None,
        "amount": parsed_amount,
        "kind": kind,
        "reason": reason or DEFAULT_REASON[kind],
    }


def read_stripe_event(event: dict) -> dict | None:
    """Return the fields of a verified Stripe event we handle, None for a type we ignore.

    Raises a 400 ApiError when a handled event lacks what we need (a verified event should never).
    """
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not _STRIPE_ID.fullmatch(event_id):
        raise ApiError(400, "malformed", "the event has no valid id")
    if event_type not in STRIPE_EVENTS:
        return None
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise ApiError(400, "malformed", "the event has no data.object")
    currency = obj.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ApiError(400, "malformed", "data.object.currency is not a 3-letter currency code")
    charge = obj if event_type == "charge.refunded" else obj.get("charge")
    charge_id = charge.get("id") if isinstance(charge, dict) else charge
    if not isinstance(charge_id, str) or not _STRIPE_ID.fullmatch(charge_id):
        raise ApiError(400, "malformed", "the event names no valid charge")
    cents_field = "amount_refunded" if event_type == "charge.refunded" else "amount"
    cents = obj.get(cents_field)
    if not isinstance(cents, int) or isinstance(cents, bool) or not 0 <= cents <= MAX_CENTS:
        raise ApiError(400, "malformed", f"data.object.{cents_field} is not a whole number of cents")
    kind = CUSTOMER_REQUEST if event_type == "charge.refunded" else CHARGEBACK
    return {
        "source": STRIPE,
        "txid": event_id,
        "event_type": event_type,
        "charge_id": charge_id,
        "ref": _order_reference(obj, charge),
        "amount": from_minor_units(cents, currency),
        "currency": currency.upper(),
        "kind": kind,
        "reason": _stripe_refund_reason(obj) if kind == CUSTOMER_REQUEST else "chargeback",
    }


def from_minor_units(amount: int, currency: str) -> Decimal:
    """Return a Stripe amount (smallest currency unit) as a Decimal in the currency's units."""
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(amount)
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def _order_reference(obj: dict, charge) -> str | None:
    """Return metadata.order_reference of the object, or of its charge when Stripe expanded it."""
    for holder in (obj, charge if isinstance(charge, dict) else None):
        metadata = holder.get("metadata") if isinstance(holder, dict) else None
        reference = metadata.get("order_reference") if isinstance(metadata, dict) else None
        if isinstance(reference, str) and _REFERENCE.fullmatch(reference.strip()):
            return reference.strip().upper()
    return None


def _stripe_refund_reason(charge: dict) -> str:
    """Return the newest refund's reason when the charge carries its refunds (not by default), else other."""
    refunds = charge.get("refunds")
    listed = refunds.get("data") if isinstance(refunds, dict) else None
    if isinstance(listed, list) and listed and isinstance(listed[0], dict) and listed[0].get("reason") in REASONS:
        return listed[0]["reason"]
    return "other"


def record(fields: dict) -> Received:
    """Add the postback row, queued; the same source and txid again becomes a duplicate row. Caller commits."""
    key = f"{fields['source']}:{fields['txid']}"
    try:
        with db.session.begin_nested():
            postback = Postback(**fields, dedup_key=key, status=RECEIVED)
            db.session.add(postback)
    except IntegrityError:
        first = db.session.scalar(select(Postback.id).where(Postback.dedup_key == key))
        postback = Postback(
            **fields, status=DUPLICATE, outcome=f"duplicate of postback #{first}: this txid was already received"
        )
        db.session.add(postback)
        db.session.flush()
        return Received(postback, duplicate=True)
    return Received(postback, duplicate=False)
