"""The official facebook-business SDK talks to the sandbox over real HTTP as it would to Meta."""

import time

import pytest

pytest.importorskip("facebook_business")

from facebook_business.adobjects.serverside.action_source import ActionSource  # noqa: E402
from facebook_business.adobjects.serverside.content import Content  # noqa: E402
from facebook_business.adobjects.serverside.custom_data import CustomData  # noqa: E402
from facebook_business.adobjects.serverside.event import Event  # noqa: E402
from facebook_business.adobjects.serverside.event_request import EventRequest  # noqa: E402
from facebook_business.adobjects.serverside.user_data import UserData  # noqa: E402
from facebook_business.api import FacebookAdsApi  # noqa: E402
from facebook_business.exceptions import FacebookRequestError  # noqa: E402
from facebook_business.session import FacebookSession  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import DEMO_ACCESS_TOKEN, DEMO_PIXEL_ID  # noqa: E402
from extensions import db  # noqa: E402
from sandbox.models import ReceivedEvent  # noqa: E402
from tests.conftest import GRAPH_VERSION  # noqa: E402


@pytest.fixture
def graph_at_sandbox(live, monkeypatch):
    """Point the SDK's Graph base URL at the live sandbox."""
    monkeypatch.setattr(FacebookSession, "GRAPH", live.url + "/sandbox/graph")
    yield
    FacebookAdsApi.set_default_api(None)


def refund_event(event_id: str) -> Event:
    """A Refund custom event built with the SDK's own classes (it hashes the contact fields)."""
    user_data = UserData(
        emails=["Jeanne.Martin@Example.fr"],
        phones=["33612345678"],
        country_codes=["fr"],
        external_ids=["7"],
    )
    custom_data = CustomData(
        value=23.88,
        currency="eur",
        content_type="product",
        content_ids=["TSHIRT-01"],
        contents=[Content(product_id="TSHIRT-01", quantity=1, item_price=23.88)],
        num_items=1,
        order_id="7",
        custom_properties={"order_reference": "XKBKNABJK"},
    )
    return Event(
        event_name="Refund",
        event_time=int(time.time()),
        event_id=event_id,
        user_data=user_data,
        custom_data=custom_data,
        action_source=ActionSource.SYSTEM_GENERATED,
    )


def test_the_sdk_sends_a_refund_and_parses_the_success(app, graph_at_sandbox):
    FacebookAdsApi.init(access_token=DEMO_ACCESS_TOKEN, api_version=GRAPH_VERSION)
    request = EventRequest(pixel_id=DEMO_PIXEL_ID, events=[refund_event("sdk-1")], test_event_code="SDK1")
    response = request.execute()
    assert response.events_received == 1 and response.messages == [] and response.fbtrace_id
    with app.app_context():
        row = db.session.scalar(select(ReceivedEvent))
        assert (row.event_name, row.event_id, row.test_event_code) == ("Refund", "sdk-1", "SDK1")
        assert row.event["custom_data"]["order_reference"] == "XKBKNABJK"
        assert len(row.event["user_data"]["em"][0]) == 64, "the SDK hashed the e-mail"


def test_the_sdk_gets_a_request_error_with_190_for_a_wrong_token(app, graph_at_sandbox):
    FacebookAdsApi.init(access_token="EAABnotTheRightToken", api_version=GRAPH_VERSION)
    request = EventRequest(pixel_id=DEMO_PIXEL_ID, events=[refund_event("sdk-2")])
    with pytest.raises(FacebookRequestError) as caught:
        request.execute()
    assert caught.value.api_error_code() == 190
    assert caught.value.api_error_type() == "OAuthException"
    assert caught.value.http_status() == 400
    with app.app_context():
        assert db.session.scalar(select(ReceivedEvent)) is None


def test_the_sdk_sends_its_typed_parameters_documented_keys_and_net_revenue(app, graph_at_sandbox):
    FacebookAdsApi.init(access_token=DEMO_ACCESS_TOKEN, api_version=GRAPH_VERSION)
    event = refund_event("sdk-typed")
    event.opt_out = False
    event.event_source_url = "https://shop.test/order-confirmation"
    event.data_processing_options = ["LDU"]
    event.data_processing_options_country = 1
    event.data_processing_options_state = 1000
    event.user_data.madid = "38400000-8cf0-11bd-b23e-10b96e40000d"
    event.user_data.anon_id = "anon-42"
    event.custom_data.net_revenue = 19.9
    response = EventRequest(pixel_id=DEMO_PIXEL_ID, events=[event]).execute()
    assert response.events_received == 1
    with app.app_context():
        sent = db.session.scalar(select(ReceivedEvent).filter_by(event_id="sdk-typed")).event
    assert (sent["opt_out"], sent["data_processing_options"], sent["data_processing_options_state"]) == (
        False,
        ["LDU"],
        1000,
    )
    assert sent["custom_data"]["net_revenue"] == 19.9 and sent["user_data"]["anon_id"] == "anon-42"


def test_the_sdk_gets_metas_schema_error_for_an_app_event_without_app_data(app, graph_at_sandbox):
    FacebookAdsApi.init(access_token=DEMO_ACCESS_TOKEN, api_version=GRAPH_VERSION)
    event = refund_event("sdk-app")
    event.action_source = ActionSource.APP
    with pytest.raises(FacebookRequestError) as caught:
        EventRequest(pixel_id=DEMO_PIXEL_ID, events=[event]).execute()
    assert caught.value.api_error_code() == 100 and caught.value.api_error_subcode() == 2804019
