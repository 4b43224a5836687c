"""Refund postbacks from affiliate networks: the click id, the token, validation, processing, idempotence."""

import re
from decimal import Decimal

import pytest

from extensions import db
from postbacks.models import DUPLICATE, PROCESSED, RECEIVED, REFUSED
from tests.pixelplus_support import configure, decisions, events, payload_of, state_id
from tests.postbacks_support import (
    chargeback_state_id,
    counts,
    order_facts,
    postback_token,
    postbacks,
    process,
    set_click_id,
)
from tests.test_storefront import card_form

URL = "/api/conversion/refund"
CLICK = "Xc1ickIdOfTheVisitor01"  # 22 URL-safe characters, as the storefront makes them
# An order of 2 T-shirts (23.88 each) and a mug (11.40) plus shipping 8.40: 47.76 + 11.40 + 8.40 = 67.56.
TOTAL = Decimal("67.56")


@pytest.fixture
def token(api) -> str:
    return postback_token(api)


@pytest.fixture
def paid_order(app, make_order) -> int:
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))
    set_click_id(app, order_id, CLICK)
    return order_id


def send(client, token, **params):
    return client.get(URL, query_string={"token": token, **params})


# --- the click id ----------------------------------------------------------------------------------


def test_a_visitor_gets_a_click_id_cookie_and_the_order_keeps_it(app, client, api, shop_data):
    landing = client.get("/")
    header = next(c for c in landing.headers.getlist("Set-Cookie") if c.startswith("ppcid="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=7776000" in header and "Path=/" in header
    click_id = client.get_cookie("ppcid").value
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", click_id)
    # The next page keeps it (no new cookie), and checkout stores it on the order.
    again = client.get("/")
    assert not [c for c in again.headers.getlist("Set-Cookie") if c.startswith("ppcid=")]
    client.post("/cart/add", data={"product_id": str(shop_data["product_ids"][0]), "quantity": "1"})
    assert client.post("/checkout", data=card_form()).status_code == 302
    orders = api.get("/api/orders").json["orders"]
    order = api.get(f"/api/orders/{orders[0]['id']}").json
    assert order["click_id"] == click_id
    page = api.client.get(f"/api/orders/{order['id']}", headers=api.staff.headers("tester"))
    assert page.json["click_id"] == click_id


def test_a_forged_click_id_cookie_is_replaced(client, shop_data):
    client.set_cookie("ppcid", "x" * 300)
    response = client.get("/")
    assert any(c.startswith("ppcid=") for c in response.headers.getlist("Set-Cookie"))
    assert len(client.get_cookie("ppcid").value) == 22


def test_the_order_page_shows_the_click_id(app, auth, client, paid_order):
    auth.login("admin")
    html = client.get(f"/admin/orders/{paid_order}").get_data(as_text=True)
    assert CLICK in html


# --- the token -------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["missing", "wrong", "twice", "case", "prefix"])
def test_a_bad_token_is_401_and_writes_nothing(app, client, token, paid_order, how):
    before = counts(app)
    params = {"cid": CLICK, "amount": "10.00", "txid": "T-1"}
    query = {
        "missing": params,
        "wrong": {**params, "token": "not-the-token"},
        "twice": [*params.items(), ("token", token), ("token", token)],
        "case": {**params, "token": token.swapcase()},
        "prefix": {**params, "token": token[:-1]},
    }[how]
    response = client.get(URL, query_string=query)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert counts(app) == before


def test_without_any_token_made_every_postback_is_401(client):
    response = client.get(URL, query_string={"token": "", "cid": CLICK, "amount": "1", "txid": "A"})
    assert response.status_code == 401


def test_rotating_the_token_retires_the_old_one(app, client, api, token, paid_order):
    rotated = api.post("/api/postbacks/settings/rotate-token", role="merchant")
    assert rotated.status_code == 200
    new = rotated.json["token"]
    assert new != token and f"token={new}" in rotated.json["url"]
    assert send(client, token, cid=CLICK, amount="1.00", txid="OLD").status_code == 401
    assert send(client, new, cid=CLICK, amount="1.00", txid="NEW").json == {"ok": True}


def test_settings_show_the_token_masked_unless_asked(api, token):
    masked = api.get("/api/postbacks/settings", "merchant").json
    assert token not in str(masked)
    assert masked["token"] == "…" + token[-4:]
    assert masked["url"].startswith("http://localhost/api/conversion/refund?token=…")
    assert "cid=[CLICK_ID]" in masked["url"] and "amount=[AMOUNT]" in masked["url"]
    assert token not in str(api.get("/api/postbacks/settings", "tester").json)
    assert api.get("/api/postbacks/settings?show=1", "tester").status_code == 403


def test_the_stripe_secret_is_validated_and_masked(api):
    secret = "whsec_" + "A1b2" * 8
    refused = api.put("/api/postbacks/settings", {"stripe_webhook_secret": "sk_live_nope"}, "merchant")
    assert refused.status_code == 422 and "stripe_webhook_secret" in refused.json["error"]["fields"]
    assert api.put("/api/postbacks/settings", {"nope": 1}, "merchant").status_code == 422
    assert api.put("/api/postbacks/settings", {"stripe_webhook_secret": secret}, "tester").status_code == 403
    saved = api.put("/api/postbacks/settings", {"stripe_webhook_secret": secret}, "merchant")
    assert saved.status_code == 200 and saved.json["stripe_webhook_secret"] == "whsec_…A1b2"
    # Sending back what GET shows keeps the secret; it is never shown in full.
    again = api.put("/api/postbacks/settings", {"stripe_webhook_secret": "whsec_…A1b2"}, "merchant")
    assert again.status_code == 200 and secret not in again.get_data(as_text=True)
    assert secret not in api.get("/api/postbacks/settings?show=1", "merchant").get_data(as_text=True)


# --- hostile input ---------------------------------------------------------------------------------

VALID = {"cid": CLICK, "amount": "10.00", "txid": "TX-1", "type": "customer_request"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "1e309"),
        ("amount", "-5"),
        ("amount", "0.001"),
        ("amount", "0"),
        ("amount", "0.00"),
        ("amount", str(2**63)),
        ("amount", "99999999999999999999.99"),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", "１２"),  # full-width digits
        ("amount", "12,50"),
        ("amount", "0x10"),
        ("amount", ""),
        ("txid", "T" * 10_000),
        ("txid", "has space"),
        ("txid", "tab\there"),
        ("txid", "nul\x00"),
        ("txid", "é"),
        ("cid", "x" * 65),
        ("cid", "<script>"),
        ("type", "bogus"),
        ("reason", "because"),
        ("ref", "'; DROP TABLE orders; --"),
    ],
)
def test_hostile_params_are_refused_and_write_nothing(app, client, token, paid_order, field, value):
    before = counts(app)
    response = send(client, token, **{**VALID, field: value})
    if "\x00" in value:  # the shop's request guard refuses a NUL in any query with 400, before the view
        assert response.status_code == 400, response.get_data(as_text=True)
    else:
        assert response.status_code == 422, response.get_data(as_text=True)
        assert field in response.json["error"]["fields"]
    assert counts(app) == before


@pytest.mark.parametrize(
    "raw", ["cid=%ED%A0%80", "cid=%ED%B0%80abc", "amount=1%ED%A0%80", "type=%FF%FE", "ref=%C3%28", "amount=1%00"]
)
def test_lone_surrogates_and_bad_bytes_are_refused(app, client, token, paid_order, raw):
    before = counts(app)
    params = "&".join(f"{k}={v}" for k, v in VALID.items() if not raw.startswith(k + "="))
    response = client.get(f"{URL}?token={token}&{params}&{raw}")
    # A NUL is the shop's request guard's 400; the rest is the postback's own 422.
    assert response.status_code == (400 if "%00" in raw else 422)
    assert counts(app) == before


def test_undecodable_bytes_in_a_txid_stay_the_literal_ascii_they_arrived_as(app, client, token, paid_order):
    # Werkzeug keeps an invalid UTF-8 escape as its percent text: plain ASCII, never a lone surrogate.
    params = "&".join(f"{k}={v}" for k, v in VALID.items() if k != "txid")
    assert client.get(f"{URL}?token={token}&{params}&txid=%ED%A0%80").status_code == 200
    (row,) = postbacks(app)
    assert row.txid == "%ED%A0%80"


def test_a_parameter_given_twice_is_refused(app, client, token, paid_order):
    before = counts(app)
    query = [("token", token), ("cid", CLICK), ("amount", "1.00"), ("amount", "900.00"), ("txid", "T")]
    response = client.get(URL, query_string=query)
    assert response.status_code == 422 and response.json["error"]["fields"]["amount"] == "given more than once"
    assert counts(app) == before


def test_missing_order_and_txid_are_refused(app, client, token):
    response = send(client, token, amount="1.00")
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"cid", "txid"}
    assert counts(app)["postback"] == 0


# --- processing ------------------------------------------------------------------------------------


def test_nothing_is_processed_inside_the_request(app, client, token, paid_order):
    response = send(client, token, cid=CLICK, amount="23.88", txid="TX-1")
    assert response.status_code == 200 and response.json == {"ok": True}
    (row,) = postbacks(app)
    assert row.status == RECEIVED and row.amount == Decimal("23.88") and row.kind == "customer_request"
    assert order_facts(app, paid_order)["slips"] == 0
    assert process(app) == 1
    (row,) = postbacks(app)
    assert row.status == PROCESSED and row.order_id == paid_order


def test_a_partial_postback_issues_a_credit_slip_and_keeps_the_state(app, client, token, paid_order):
    send(client, token, cid=CLICK, amount="23.88", txid="TX-1")
    process(app)
    facts = order_facts(app, paid_order)
    assert facts == {**facts, "state": "PS_OS_PAYMENT", "slips": 1, "refunded": Decimal("23.88")}
    (row,) = postbacks(app)
    assert row.refunded == Decimal("23.88") and row.credit_slip_id is not None
    assert "credit slip" in row.outcome and "moved" not in row.outcome
    assert row.reason == "requested_by_customer"


def test_the_postback_covering_what_is_left_moves_the_order_to_refunded(app, client, token, paid_order):
    send(client, token, cid=CLICK, amount="23.88", txid="TX-1")
    process(app)
    # 67.56 - 23.88 = 43.68 is what is left.
    send(
        client, token, ref=order_facts(app, paid_order)["reference"].lower(), amount="43.68", txid="TX-2", type="refund"
    )
    process(app)
    facts = order_facts(app, paid_order)
    assert facts["state"] == "PS_OS_REFUND" and facts["valid"] is False
    assert facts["refunded"] == TOTAL and facts["slips"] == 2
    assert "order moved to Refunded" in postbacks(app)[1].outcome


def test_a_postback_twice_with_one_txid_refunds_once(app, client, token, paid_order):
    first = send(client, token, cid=CLICK, amount="10.00", txid="NET-42")
    second = send(client, token, cid=CLICK, amount="10.00", txid="NET-42")
    assert first.json == second.json == {"ok": True}
    process(app)
    rows = postbacks(app)
    assert [r.status for r in rows] == [PROCESSED, DUPLICATE]
    assert rows[1].outcome == f"duplicate of postback #{rows[0].id}: this txid was already received"
    assert order_facts(app, paid_order)["refunded"] == Decimal("10.00")
    # Even after processing, a third copy refunds nothing.
    send(client, token, cid=CLICK, amount="10.00", txid="NET-42")
    process(app)
    assert order_facts(app, paid_order)["refunded"] == Decimal("10.00")
    assert [r.status for r in postbacks(app)] == [PROCESSED, DUPLICATE, DUPLICATE]


def test_more_than_what_is_left_is_refused_with_the_reason(app, client, token, paid_order):
    send(client, token, cid=CLICK, amount="60.00", txid="TX-1")
    send(client, token, cid=CLICK, amount="7.57", txid="TX-2")  # 67.56 - 60.00 = 7.56 left
    process(app)
    rows = postbacks(app)
    assert rows[1].status == REFUSED
    reference = order_facts(app, paid_order)["reference"]
    assert rows[1].outcome == f"the amount 7.57 is more than what is left to refund on order {reference} (7.56)"
    assert rows[1].refunded is None and rows[1].credit_slip_id is None
    assert order_facts(app, paid_order)["refunded"] == Decimal("60.00")


def test_a_fully_refunded_order_refuses_more(app, client, token, paid_order):
    from tests.pixelplus_support import change

    change(app, paid_order, "PS_OS_REFUND")
    send(client, token, cid=CLICK, amount="1.00", txid="TX-1")
    process(app)
    (row,) = postbacks(app)
    assert row.status == REFUSED and row.outcome.endswith("is already fully refunded")
    assert order_facts(app, paid_order)["slips"] == 0


def test_unknown_orders_unpaid_orders_and_mismatches_are_refused(app, client, token, paid_order, make_order):
    unpaid = make_order("PS_OS_BANKWIRE")
    send(client, token, cid="NoSuchClick", amount="1.00", txid="A")
    send(client, token, ref="ZZZZZZZZZ", amount="1.00", txid="B")
    send(client, token, ref=order_facts(app, unpaid)["reference"], amount="1.00", txid="C")
    send(client, token, cid=CLICK, ref=order_facts(app, unpaid)["reference"], amount="1.00", txid="D")
    process(app)
    outcomes = [(r.status, r.outcome) for r in postbacks(app)]
    assert outcomes == [
        (REFUSED, "no order has the click id NoSuchClick"),
        (REFUSED, "no order has the reference ZZZZZZZZZ"),
        (REFUSED, f"order {order_facts(app, unpaid)['reference']} was never paid"),
        (REFUSED, f"the click id and the reference {order_facts(app, unpaid)['reference']} name different orders"),
    ]
    assert counts(app)["credit_slip"] == 0


def test_a_chargeback_moves_the_order_and_the_meta_module_fires(app, client, token, paid_order):
    chargeback = chargeback_state_id(app)
    configure(app, trigger_state_ids=[state_id(app, "PS_OS_REFUND"), chargeback])
    response = send(client, token, cid=CLICK, amount="67.56", txid="CB-1", type="cb")
    assert response.json == {"ok": True}
    process(app)
    (row,) = postbacks(app)
    assert row.status == PROCESSED and row.kind == "chargeback" and row.reason == "chargeback"
    assert row.outcome.endswith("order moved to Chargeback")
    facts = order_facts(app, paid_order)
    assert facts["state"] == "PB_OS_CHARGEBACK" and facts["valid"] is False and facts["refunded"] == TOTAL
    last = decisions(app, paid_order)[-1]
    assert (last.new_state_id, last.outcome) == (chargeback, "fired")
    (event,) = events(app, paid_order)
    body = payload_of(event)
    assert body["event_name"] == "Refund" and body["custom_data"]["value"] == TOTAL
    assert event.status == "pending" and last.outbox_event_id == event.id


def test_the_chargeback_state_is_made_once_with_refunded_like_flags(app, api):
    first, second = chargeback_state_id(app), chargeback_state_id(app)
    assert first == second
    state = next(s for s in api.get("/api/order-states").json if s["id"] == first)
    assert (state["key"], state["name"], state["logable"], state["paid"]) == (
        "PB_OS_CHARGEBACK",
        "Chargeback",
        False,
        False,
    )


def test_a_partial_chargeback_after_a_refund_then_nothing_more(app, client, token, paid_order):
    send(client, token, cid=CLICK, amount="23.88", txid="R-1")
    send(client, token, cid=CLICK, amount="43.68", txid="CB-1", type="chargeback")
    send(client, token, cid=CLICK, amount="0.01", txid="R-2")
    process(app)
    assert [r.status for r in postbacks(app)] == [PROCESSED, PROCESSED, REFUSED]
    facts = order_facts(app, paid_order)
    assert facts["state"] == "PB_OS_CHARGEBACK" and facts["refunded"] == TOTAL


def test_inline_mode_processes_after_the_commit(app_config, make_order, staff):
    from app import create_app

    inline = create_app({**app_config, "PIXELPLUS_DISPATCH": "inline"})
    client = inline.test_client()
    from tests.conftest import Api, stop_background_threads

    try:
        token = postback_token(Api(client, staff))
        set_click_id(inline, make_order("PS_OS_PAYMENT"), CLICK)
        assert send(client, token, cid=CLICK, amount="5.00", txid="I-1").json == {"ok": True}
        (row,) = postbacks(inline)
        assert row.status == PROCESSED and row.refunded == Decimal("5.00")
    finally:
        stop_background_threads(inline)
        with inline.app_context():
            db.engine.dispose()


# --- the pages and the list API --------------------------------------------------------------------


def test_the_list_shows_every_postback_with_its_outcome(app, client, api, auth, token, paid_order):
    send(client, token, cid=CLICK, amount="10.00", txid="TX-1")
    send(client, token, cid=CLICK, amount="10.00", txid="TX-1")
    send(client, token, cid=CLICK, amount="900.00", txid="TX-2")
    process(app)
    listed = api.get("/api/postbacks", "tester").json
    assert [(p["txid"], p["status"]) for p in listed] == [
        ("TX-2", "refused"),
        ("TX-1", "duplicate"),
        ("TX-1", "processed"),
    ]
    assert listed[2]["refunded"] == "10.00" and listed[2]["order_id"] == paid_order
    assert [p["txid"] for p in api.get("/api/postbacks?status=refused", "tester").json] == ["TX-2"]
    assert api.get("/api/postbacks?limit=99999999999999999999", "tester").status_code == 422
    assert api.get("/api/postbacks?status=bogus", "tester").status_code == 422
    auth.login("tester")
    html = client.get("/admin/postbacks").get_data(as_text=True)
    assert html.count("data-postback-id=") == 3 and "more than what is left" in html
    assert client.get("/admin/postbacks?status=duplicate").get_data(as_text=True).count("data-postback-id=") == 1
    assert client.get("/admin/postbacks?page=99999999999999999999").status_code == 200
    order_page = client.get(f"/admin/orders/{paid_order}").get_data(as_text=True)
    assert 'id="order-postbacks"' in order_page


def test_the_list_is_paginated(app, client, auth, token, paid_order):
    for number in range(55):
        send(client, token, cid=CLICK, amount="0.01", txid=f"P-{number}")
    auth.login("merchant")
    first = client.get("/admin/postbacks").get_data(as_text=True)
    second = client.get("/admin/postbacks?page=2").get_data(as_text=True)
    assert first.count("data-postback-id=") == 50 and second.count("data-postback-id=") == 5


def test_the_settings_page_masks_the_token_until_asked(app, client, auth, token):
    auth.login("merchant")
    page = client.get("/admin/postbacks/settings")
    assert page.status_code == 200 and token not in page.get_data(as_text=True)
    assert "…" + token[-4:] in page.get_data(as_text=True)
    shown = client.post("/admin/postbacks/settings/show-token")
    assert token in shown.get_data(as_text=True)
    rotated = client.post("/admin/postbacks/settings/rotate-token").get_data(as_text=True)
    assert token not in rotated and "no longer works" in rotated
    saved = client.post("/admin/postbacks/settings/stripe", data={"stripe_webhook_secret": "nope"})
    assert saved.status_code == 422
    assert (
        client.post("/admin/postbacks/settings/stripe", data={"stripe_webhook_secret": "whsec_" + "z" * 32}).status_code
        == 302
    )
    assert "whsec_…zzzz" in client.get("/admin/postbacks/settings").get_data(as_text=True)


def test_testers_see_the_page_read_only(app, client, auth, token):
    auth.login("tester")
    page = client.get("/admin/postbacks/settings").get_data(as_text=True)
    assert token not in page and 'id="rotate-token"' not in page
    assert client.post("/admin/postbacks/settings/show-token").status_code == 403


def test_the_process_command_processes_what_is_queued(app, client, token, paid_order):
    send(client, token, cid=CLICK, amount="5.00", txid="CLI-1")
    result = app.test_cli_runner().invoke(args=["postbacks", "process"])
    assert result.exit_code == 0 and result.output.strip() == "processed 1 postback(s)"
    assert order_facts(app, paid_order)["refunded"] == Decimal("5.00")


def test_the_amount_goes_to_whole_units_then_the_shipping_then_part_of_a_line(app, client, api, token, paid_order):
    # 50.00 = both T-shirts (2 × 23.88 = 47.76), no whole mug (11.40 > 2.24), so 2.24 of the shipping.
    send(client, token, cid=CLICK, amount="50.00", txid="S-1")
    process(app)
    (slip,) = api.get(f"/api/orders/{paid_order}").json["credit_slips"]
    assert (slip["total_products_tax_incl"], slip["total_shipping_tax_incl"]) == ("47.76", "2.24")
    # Tax excluded: 2 × 19.90 = 39.80 for the T-shirts; 2.24 / 1.20 = 1.87 (1.8666…) for the shipping.
    assert (slip["total_products_tax_excl"], slip["total_shipping_tax_excl"]) == ("39.80", "1.87")
    lines = api.get(f"/api/orders/{paid_order}").json["lines"]
    assert [line["refunded_quantity"] for line in lines] == [2, 0]
    # The rest, 17.56 = the mug 11.40 + the shipping left 6.16 (7.00 - 1.87 = 5.13 without tax): Refunded.
    send(client, token, cid=CLICK, amount="17.56", txid="S-2")
    process(app)
    order = api.get(f"/api/orders/{paid_order}").json
    second = order["credit_slips"][1]
    assert (second["total_products_tax_incl"], second["total_shipping_tax_incl"]) == ("11.40", "6.16")
    assert second["total_shipping_tax_excl"] == "5.13"
    assert [line["refunded_quantity"] for line in order["lines"]] == [2, 1]
    assert order["current_state"]["key"] == "PS_OS_REFUND"


def test_cents_after_the_shipping_come_from_part_of_a_line(app, client, api, token, paid_order):
    # 59.00 = 2 T-shirts 47.76 + the shipping 8.40, then 2.84 of the mug (one unit counted, as PrestaShop does).
    send(client, token, cid=CLICK, amount="59.00", txid="P-1")
    process(app)
    order = api.get(f"/api/orders/{paid_order}").json
    (slip,) = order["credit_slips"]
    assert (slip["total_products_tax_incl"], slip["total_shipping_tax_incl"]) == ("50.60", "8.40")
    assert [line["refunded_quantity"] for line in order["lines"]] == [2, 1]
    # 67.56 - 59.00 = 8.56 is left, but every unit and the shipping carry a refund: no slip can take part of it.
    send(client, token, cid=CLICK, amount="5.00", txid="P-2")
    # All that is left moves the order to Refunded, as a merchant would, without a slip.
    send(client, token, cid=CLICK, amount="8.56", txid="P-3")
    process(app)
    rows = postbacks(app)
    assert [p.status for p in rows] == [PROCESSED, REFUSED, PROCESSED]
    assert "a postback for all that is left (8.56) moves it to Refunded" in rows[1].outcome
    assert rows[2].outcome == "8.56 EUR refunded without a credit slip (no unit or shipping left to carry it); " + (
        "order moved to Refunded"
    )
    assert rows[2].refunded == Decimal("8.56") and rows[2].credit_slip_id is None
    facts = order_facts(app, paid_order)
    assert facts["state"] == "PS_OS_REFUND" and facts["slips"] == 1


def test_refused_calls_are_throttled_per_client_and_good_ones_never_count(app_config, make_order, staff):
    from app import create_app
    from tests.conftest import Api

    throttled = create_app({**app_config, "POSTBACKS_THROTTLE": "3 per minute"})
    client = throttled.test_client()
    token = postback_token(Api(client, staff))
    set_click_id(throttled, make_order("PS_OS_PAYMENT"), CLICK)
    for number in range(5):  # valid postbacks never use the allowance
        assert send(client, token, cid=CLICK, amount="0.01", txid=f"OK-{number}").status_code == 200
    assert [send(client, "wrong", cid=CLICK, amount="1", txid="X").status_code for _ in range(3)] == [401] * 3
    refused = send(client, token, cid=CLICK, amount="0.01", txid="AFTER")
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61  # at most the minute, rounded up to a whole second
    stripe_refused = client.post("/api/payments/stripe-webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=0"})
    assert stripe_refused.status_code == 429
    # Another client is not held back by this one's mistakes.
    other = client.get(
        URL,
        query_string={"token": token, "cid": CLICK, "amount": "0.01", "txid": "OTHER"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert other.status_code == 200
    assert [p.txid for p in postbacks(throttled)] == [f"OK-{n}" for n in range(5)] + ["OTHER"]
