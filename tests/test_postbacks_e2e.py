"""Postbacks end to end over real HTTP: a network calls the live shop, the background thread records the
refund, and the Meta module's Refund event reaches the embedded sandbox."""

import logging
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests

from postbacks.models import DUPLICATE, PROCESSED, RECEIVED, REFUSED
from tests.conftest import wait_for
from tests.pixelplus_support import state_id, use_sandbox
from tests.postbacks_support import chargeback_state_id, order_facts, postback_token, postbacks, set_click_id

CLICK = "E2eC1ickIdOfTheVisitor"
# 2 T-shirts (23.88 each) + a mug (11.40) + shipping 8.40 = 67.56 EUR.
TOTAL = Decimal("67.56")


@pytest.fixture
def app_config(app_config):
    app_config.update(PIXELPLUS_DISPATCH="thread", POSTBACKS_POLL_SECONDS=0.2, PIXELPLUS_POLL_SECONDS=0.2)
    return app_config


@pytest.fixture
def shop(app, live, api, staff, make_order):
    """The live shop with Pixel Plus on its sandbox (Refunded and Chargeback trigger), and a paid order."""
    use_sandbox(app, live.url, trigger_state_ids=[state_id(app, "PS_OS_REFUND"), chargeback_state_id(app)])
    order_id = make_order("PS_OS_PAYMENT", quantities=(2, 1, 0))
    set_click_id(app, order_id, CLICK)
    http = requests.Session()
    yield {
        "url": live.url,
        "http": http,
        "token": postback_token(api),
        "order_id": order_id,
        "reference": order_facts(app, order_id)["reference"],
        "tester": staff.headers("tester"),
    }
    http.close()
    # Stop the app's background threads (the postback thread and the dispatch thread), wherever they live.
    for extension in list(app.extensions.values()):
        if callable(getattr(extension, "stop", None)) and hasattr(extension, "ensure_started"):
            extension.stop()


def test_a_chargeback_postback_reaches_meta_through_the_background(app, shop):
    answer = shop["http"].get(
        f"{shop['url']}/api/conversion/refund",
        params={"token": shop["token"], "cid": CLICK, "amount": "67.56", "txid": "CB-E2E", "type": "chargeback"},
        timeout=5,
    )
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    wait_for(lambda: order_facts(app, shop["order_id"])["state"] == "PB_OS_CHARGEBACK", message="the chargeback")

    def meta_received():
        response = shop["http"].get(f"{shop['url']}/sandbox/api/received", headers=shop["tester"], timeout=5)
        return [r["event"] for r in response.json() if r["event"]["event_name"] == "Refund"]

    (event,) = wait_for(meta_received, message="the Refund event at the sandbox")
    assert event["custom_data"]["order_reference"] == shop["reference"]
    assert Decimal(str(event["custom_data"]["value"])) == TOTAL


def test_parallel_postbacks_refund_once_per_txid_and_never_more_than_paid(app, shop):
    """Four copies of one txid (7.56) and four different 20.00 refunds, all at once: 7.56 + 3 × 20.00 = 67.56,
    so exactly one copy counts and exactly one 20.00 finds nothing left."""
    url = f"{shop['url']}/api/conversion/refund"
    calls = [{"txid": "SAME", "amount": "7.56"}] * 4 + [{"txid": f"R-{n}", "amount": "20.00"} for n in range(4)]

    def call(params):
        return shop["http"].post(url, data={"token": shop["token"], "cid": CLICK, **params}, timeout=10)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(call, calls))
    assert [a.status_code for a in answers] == [200] * 8
    rows = wait_for(
        lambda: (found := postbacks(app)) and len(found) == 8 and all(r.status != RECEIVED for r in found) and found,
        message="every postback processed",
    )
    same = sorted(r.status for r in rows if r.txid == "SAME")
    assert same == [DUPLICATE] * 3 + [PROCESSED]
    others = sorted(r.status for r in rows if r.txid != "SAME")
    assert others == [PROCESSED] * 3 + [REFUSED]
    assert sum(r.refunded for r in rows if r.status == PROCESSED) == TOTAL
    facts = order_facts(app, shop["order_id"])
    assert facts["state"] == "PS_OS_REFUND" and facts["refunded"] <= TOTAL


def test_the_token_never_reaches_the_access_log(app, shop, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    query = {"token": shop["token"], "cid": CLICK, "amount": "1.00", "txid": "LOG-1"}
    assert shop["http"].get(f"{shop['url']}/api/conversion/refund", params=query, timeout=5).status_code == 200
    lines = wait_for(
        lambda: [r.getMessage() for r in caplog.records if "/api/conversion/refund" in r.getMessage()],
        message="the access log line",
    )
    assert "token=…&cid=" + CLICK in lines[0]
    assert shop["token"] not in caplog.text
