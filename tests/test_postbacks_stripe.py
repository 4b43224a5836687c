"""Stripe's webhook: signatures checked by the stripe library, charge.refunded and charge.dispute.created."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from postbacks.models import DUPLICATE, PROCESSED, REFUSED
from tests.postbacks_support import counts, order_facts, postbacks, process

URL = "/api/payments/stripe-webhook"
SECRET = "whsec_" + "T3stS1gningSecret" * 2
# An order of 2 T-shirts (23.88 each) and a mug (11.40) plus shipping 8.40: 67.56 EUR.


def signature(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    """Stripe's documented scheme: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the whole secret>."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def charge_refunded(event_id: str, reference: str | None, amount_refunded: int, currency="eur", charge="ch_1") -> dict:
    charge_object = {
        "id": charge,
        "object": "charge",
        "amount": 6756,
        "amount_refunded": amount_refunded,
        "currency": currency,
        "refunded": amount_refunded == 6756,
        "metadata": {"order_reference": reference} if reference else {},
    }
    return {"id": event_id, "object": "event", "type": "charge.refunded", "data": {"object": charge_object}}


def dispute_created(event_id: str, amount: int, charge="ch_1", metadata=None) -> dict:
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": amount,
        "currency": "eur",
        "charge": charge,
        "reason": "fraudulent",
        "status": "needs_response",
        "metadata": metadata or {},
    }
    return {"id": event_id, "object": "event", "type": "charge.dispute.created", "data": {"object": dispute}}


def deliver(client, event: dict, secret: str = SECRET, at: int | None = None, header: str | None = None):
    body = json.dumps(event).encode()
    sig = header if header is not None else signature(body, secret, at)
    return client.post(URL, data=body, headers={"Stripe-Signature": sig, "Content-Type": "application/json"})


@pytest.fixture
def stripe_ready(api):
    response = api.put("/api/postbacks/settings", {"stripe_webhook_secret": SECRET}, "merchant")
    assert response.status_code == 200


@pytest.fixture
def order(app, make_order) -> dict:
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))
    return {"id": order_id, "reference": order_facts(app, order_id)["reference"]}


def test_partial_then_more_then_the_rest_of_a_charge(app, client, stripe_ready, order):
    first = deliver(client, charge_refunded("evt_1", order["reference"], 1000))
    assert first.status_code == 200 and first.json == {"received": True, "duplicate": False}
    process(app)
    assert order_facts(app, order["id"])["refunded"] == Decimal("10.00")
    # amount_refunded is a running total: 30.00 means 20.00 more.
    deliver(client, charge_refunded("evt_2", order["reference"], 3000))
    process(app)
    assert postbacks(app)[1].refunded == Decimal("20.00")
    # 67.56 in all: 67.56 - 30.00 = 37.56 more, which is what was left, so the order is Refunded.
    deliver(client, charge_refunded("evt_3", order["reference"], 6756))
    process(app)
    facts = order_facts(app, order["id"])
    assert facts["state"] == "PS_OS_REFUND"
    assert [r.refunded for r in postbacks(app)] == [Decimal("10.00"), Decimal("20.00"), Decimal("37.56")]
    # PrestaShop counts a unit for every line a partial refund touches: after 10.00 (the shipping 8.40 and
    # 1.60 of a T-shirt) and 20.00 (the mug 11.40 and 8.60 of the other T-shirt) no unit is left for a slip,
    # so the rest is the move to Refunded alone, as a merchant would do it.
    assert facts["slips"] == 2 and facts["refunded"] == Decimal("30.00")


def test_a_replayed_event_id_does_nothing(app, client, stripe_ready, order):
    event = charge_refunded("evt_same", order["reference"], 1000)
    assert deliver(client, event).status_code == 200
    process(app)
    replay = deliver(client, event)
    assert replay.status_code == 200 and replay.json["duplicate"] is True
    process(app)
    assert [r.status for r in postbacks(app)] == [PROCESSED, DUPLICATE]
    assert order_facts(app, order["id"])["refunded"] == Decimal("10.00")


def test_an_older_running_total_arriving_late_refunds_nothing(app, client, stripe_ready, order):
    deliver(client, charge_refunded("evt_b", order["reference"], 3000))
    deliver(client, charge_refunded("evt_a", order["reference"], 1000))
    process(app)
    rows = postbacks(app)
    assert [r.status for r in rows] == [PROCESSED, REFUSED]
    assert rows[1].outcome.startswith("nothing new: 10.00 refunded on charge ch_1 is already recorded")
    assert order_facts(app, order["id"])["refunded"] == Decimal("30.00")


def test_a_dispute_moves_the_order_to_chargeback_found_by_its_charge(app, client, stripe_ready, order):
    deliver(client, charge_refunded("evt_1", order["reference"], 1000))
    # A dispute carries its charge's id, not the charge's metadata: the earlier event tells which order.
    deliver(client, dispute_created("evt_2", 5756))
    process(app)
    rows = postbacks(app)
    assert rows[1].status == PROCESSED and rows[1].kind == "chargeback" and rows[1].order_id == order["id"]
    facts = order_facts(app, order["id"])
    assert facts["state"] == "PB_OS_CHARGEBACK" and facts["refunded"] == Decimal("67.56")


def test_a_dispute_for_an_unknown_charge_is_refused(app, client, stripe_ready, order):
    deliver(client, dispute_created("evt_1", 100, charge="ch_unknown"))
    process(app)
    (row,) = postbacks(app)
    assert row.status == REFUSED and "no order found for charge ch_unknown" in row.outcome


def test_a_dispute_with_the_reference_in_its_metadata(app, client, stripe_ready, order):
    deliver(client, dispute_created("evt_1", 6756, metadata={"order_reference": order["reference"]}))
    process(app)
    assert order_facts(app, order["id"])["state"] == "PB_OS_CHARGEBACK"


def test_a_refund_in_another_currency_is_refused(app, client, stripe_ready, order):
    deliver(client, charge_refunded("evt_1", order["reference"], 1000, currency="usd"))
    process(app)
    (row,) = postbacks(app)
    assert row.status == REFUSED and row.outcome == f"the refund is in USD, order {order['reference']} in EUR"


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("wrong_secret", "No signatures found matching the expected signature for payload"),
        ("stale", "Timestamp outside the tolerance zone"),
        ("garbage", "Unable to extract timestamp and signatures from header"),
        ("no_v1", "No signatures found with expected scheme v1"),
        ("tampered", "No signatures found matching the expected signature for payload"),
        ("missing", "the Stripe-Signature header is missing"),
    ],
)
def test_a_bad_signature_is_400_with_a_reason_and_writes_nothing(app, client, stripe_ready, order, how, reason):
    before = counts(app)
    event = charge_refunded("evt_1", order["reference"], 1000)
    body = json.dumps(event).encode()
    header = {
        "wrong_secret": signature(body, "whsec_" + "x" * 32),
        "stale": signature(body, at=int(time.time()) - 301),
        "garbage": "t=abc,v1",
        "no_v1": f"t={int(time.time())},v0=00",
        "tampered": signature(json.dumps(charge_refunded("evt_1", order["reference"], 99)).encode()),
        "missing": "",
    }[how]
    response = client.post(URL, data=body, headers={"Stripe-Signature": header} if header else {})
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith(reason)
    assert SECRET not in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_timestamp_within_the_tolerance_is_accepted(app, client, stripe_ready, order):
    response = deliver(client, charge_refunded("evt_1", order["reference"], 1000), at=int(time.time()) - 290)
    assert response.status_code == 200


def test_without_a_secret_every_event_is_refused(app, client, order):
    response = deliver(client, charge_refunded("evt_1", order["reference"], 1000))
    assert response.status_code == 400 and response.json["error"]["code"] == "not_configured"
    assert counts(app)["postback"] == 0


def test_other_event_types_are_acknowledged_and_ignored(app, client, stripe_ready):
    event = {"id": "evt_9", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    response = deliver(client, event)
    assert response.status_code == 200 and response.json == {"received": True, "ignored": "customer.created"}
    assert counts(app)["postback"] == 0


@pytest.mark.parametrize(
    "change",
    [
        {"amount_refunded": 2**63},
        {"amount_refunded": -1},
        {"amount_refunded": "1000"},
        {"amount_refunded": 10.5},
        {"currency": "EURO"},
        {"id": None},
    ],
)
def test_a_signed_but_malformed_event_is_400_and_writes_nothing(app, client, stripe_ready, order, change):
    event = charge_refunded("evt_1", order["reference"], 1000)
    event["data"]["object"].update(change)
    response = deliver(client, event)
    assert response.status_code == 400
    assert counts(app)["postback"] == 0


def test_a_signed_deeply_nested_or_huge_body_is_refused(app, client, stripe_ready):
    deep = b'{"id": "evt_1", "type": "charge.refunded", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert client.post(URL, data=deep, headers={"Stripe-Signature": signature(deep)}).status_code == 400
    huge = json.dumps({"id": "evt_2", "pad": "x" * 300_000}).encode()
    assert client.post(URL, data=huge, headers={"Stripe-Signature": signature(huge)}).status_code == 413
    not_utf8 = b"\xff\xfe{}"
    assert client.post(URL, data=not_utf8, headers={"Stripe-Signature": signature(not_utf8)}).status_code == 400
    assert counts(app)["postback"] == 0
