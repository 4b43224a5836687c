"""Test mode that cannot leak: a saved test event code is test mode, shown on every page, and it ends by itself."""

import re
from datetime import timedelta

from sqlalchemy import select

from core.dbtypes import utcnow
from extensions import db
from pixelplus.models import ModuleSetting
from pixelplus.settings import TEST_MODE_SINCE_KEY, load_settings, save_settings
from tests.pixelplus_support import change, configure, decisions, events, use_sandbox

BANNER = 'id="pixelplus-test-mode"'


def started(app, ago: timedelta) -> None:
    """Move test mode's start into the past (the clock moved on), without sleeping."""
    with app.app_context():
        row = db.session.scalar(select(ModuleSetting).filter_by(name=TEST_MODE_SINCE_KEY))
        row.value = (utcnow() - ago).isoformat()
        db.session.commit()


def test_a_real_refund_after_send_test_event_carries_no_test_code(app, live, api, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    use_sandbox(app, live.url)
    answer = api.post("/api/pixelplus/test-event", {"test_event_code": "TEST4242"}, role="merchant")
    assert answer.get_json()["ok"] is True

    change(app, order_id, "PS_OS_REFUND")

    [event] = events(app, order_id)
    assert event.test_event_code is None


def test_a_saved_code_is_put_on_events_while_test_mode_lasts(app, make_order):
    configure(app, test_event_code="TEST1", test_mode_minutes=30)
    order_id = make_order("PS_OS_PAYMENT")
    change(app, order_id, "PS_OS_REFUND", at=utcnow() + timedelta(minutes=29))
    assert [e.test_event_code for e in events(app, order_id)] == ["TEST1"]


def test_test_mode_ends_by_itself(app, make_order):
    configure(app, test_event_code="TEST1", test_mode_minutes=30)
    order_id = make_order("PS_OS_PAYMENT")
    # The refund happens 31 minutes after the code was saved: test mode is over.
    change(app, order_id, "PS_OS_REFUND", at=utcnow() + timedelta(minutes=31))
    [event] = events(app, order_id)
    assert event.test_event_code is None
    assert decisions(app, order_id)[-1].outcome == "fired"


def test_test_mode_lasts_an_hour_by_default(app):
    configure(app, test_event_code="TEST1")
    with app.app_context():
        settings = load_settings()
    assert settings.test_mode_until - settings.test_mode_since == timedelta(hours=1)
    assert settings.in_test_mode(settings.test_mode_since + timedelta(minutes=59))
    assert not settings.in_test_mode(settings.test_mode_since + timedelta(minutes=60))


def test_the_banner_shows_on_every_back_office_page_and_goes_when_test_mode_ends(app, client, auth):
    configure(app, test_event_code="TEST1")
    auth.login("admin")
    for url in ("/admin/orders", "/admin/modules", "/admin/order-states"):
        page = client.get(url).get_data(as_text=True)
        assert BANNER in page, url
        assert "Pixel Plus is in test mode." in page and "TEST1" in page

    started(app, timedelta(minutes=61))
    assert BANNER not in client.get("/admin/orders").get_data(as_text=True)


def test_no_banner_without_a_code_nor_before_sign_in(app, client, auth):
    configure(app)
    auth.login("admin")
    assert BANNER not in client.get("/admin/orders").get_data(as_text=True)
    configure(app, test_event_code="TEST1")
    auth.logout()
    assert BANNER not in client.get("/admin/login").get_data(as_text=True)


def test_saving_other_settings_does_not_stretch_test_mode(app):
    configure(app, test_event_code="TEST1")
    started(app, timedelta(minutes=50))
    with app.app_context():
        before = load_settings().test_mode_since
        save_settings({"test_event_code": "TEST1", "paid_only": False})
        db.session.commit()
        assert load_settings().test_mode_since == before


def test_an_expired_code_is_not_revived_by_saving_the_settings_page(app, client, auth):
    configure(app, test_event_code="TEST1")
    started(app, timedelta(hours=2))
    auth.login("merchant")
    page = client.get("/admin/pixelplus/settings").get_data(as_text=True)
    [field] = re.findall(r'<input[^>]*id="test_event_code"[^>]*>', page)
    assert 'value=""' in field
    assert "Test mode ended at" in page


def test_saving_a_new_code_starts_test_mode_again(app):
    configure(app, test_event_code="TEST1")
    started(app, timedelta(hours=2))
    configure(app, test_event_code="TEST1")  # the same code again, after test mode ended
    with app.app_context():
        assert load_settings().in_test_mode()


def test_api_reports_test_mode(app, api):
    configure(app, test_event_code="TEST1", test_mode_minutes=5)
    body = api.get("/api/pixelplus/settings", role="tester").get_json()
    assert body["test_mode"] is True and body["test_mode_until"]
    started(app, timedelta(minutes=6))
    body = api.get("/api/pixelplus/settings", role="tester").get_json()
    assert (body["test_mode"], body["test_mode_until"]) == (False, None)
