"""Sessions that end, the sign-in throttle, safe CSV cells, a busy database, racing status changes, headers."""

import csv
import io
import sqlite3
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from core.csvsafe import csv_line
from extensions import db
from pixelplus.models import OutboxEvent
from shop.models import Employee, Order, OrderHistory, OrderState
from tests.conftest import PASSWORD
from tests.delivery_support import add_events


def copied_cookie(client) -> str:
    """The session cookie as an attacker who copied it would replay it."""
    cookie = client.get_cookie("session")
    assert cookie is not None, "signed in, so there is a session cookie"
    return cookie.value


def replay(app, cookie: str):
    """Open the orders list with nothing but a copied session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/admin/orders")


# --- sessions end on sign-out and on a password change ----------------------------------------------


def test_a_copied_session_cookie_is_refused_after_logout(app, client, auth, staff):
    assert auth.login("admin").status_code == 302
    cookie = copied_cookie(client)
    assert replay(app, cookie).status_code == 200  # the copy works while the session lives
    assert auth.logout().status_code == 302
    response = replay(app, cookie)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    # The API key is not a session: it keeps working.
    assert client.get("/api/order-states", headers=staff.headers("admin")).status_code == 200


def test_a_copied_session_cookie_is_refused_after_a_password_reset(app, client, auth, staff):
    admin = app.test_client()
    admin.post("/admin/login", data={"email": staff.email("admin"), "password": PASSWORD})
    cookie = copied_cookie(admin)
    assert replay(app, cookie).status_code == 200
    auth.login("superadmin")
    reset = client.post(
        f"/admin/employees/{staff.ids['admin']}/password",
        data={"password": "a new password", "confirm_password": "a new password"},
    )
    assert reset.status_code == 302
    assert replay(app, cookie).status_code == 302
    assert admin.get("/admin/orders").status_code == 302  # the admin's own browser too
    assert client.get("/admin/orders").status_code == 200  # the superadmin who reset it is still in
    assert client.get("/api/order-states", headers=staff.headers("admin")).status_code == 200


def test_resetting_your_own_password_keeps_you_signed_in_but_ends_other_sessions(app, client, auth, staff):
    auth.login("superadmin")
    elsewhere = app.test_client()
    elsewhere.post("/admin/login", data={"email": staff.email("superadmin"), "password": PASSWORD})
    assert elsewhere.get("/admin/orders").status_code == 200
    me = staff.ids["superadmin"]
    response = client.post(
        f"/admin/employees/{me}/password", data={"password": "new pw 123", "confirm_password": "new pw 123"}
    )
    assert response.status_code == 302
    assert client.get("/admin/orders").status_code == 200
    assert elsewhere.get("/admin/orders").status_code == 302


def test_a_session_cookie_of_an_unknown_form_is_refused(app, client, auth):
    auth.login("admin")
    with client.session_transaction() as session:
        session["_user_id"] = "99999999999999999999999"  # no version, and past any id
    assert client.get("/admin/orders").status_code == 302


# --- sign-in throttle -----------------------------------------------------------------------------------


def wrong_login(client, email: str):
    return client.post("/admin/login", data={"email": email, "password": "not the password"})


def test_the_eleventh_wrong_password_within_a_minute_is_refused_with_the_throttle_message(client, staff):
    email = staff.email("admin")
    for attempt in range(10):
        response = wrong_login(client, email)
        assert response.status_code == 200, attempt
        assert "Wrong e-mail or password." in response.get_data(as_text=True)
    eleventh = wrong_login(client, email)
    assert eleventh.status_code == 429
    assert "Too many attempts, try again in 1 min." in eleventh.get_data(as_text=True)
    assert 1 <= int(eleventh.headers["Retry-After"]) <= 60
    # Even the right password is refused until the minute is over: the throttle is per account.
    right = client.post("/admin/login", data={"email": email.upper(), "password": PASSWORD})
    assert right.status_code == 429 and client.get("/admin/orders").status_code == 302


def test_the_throttle_counts_per_client_across_accounts(app, client, staff):
    app.config["LOGIN_THROTTLE_CLIENT"] = "5 per minute"
    for index in range(5):
        assert wrong_login(client, f"nobody{index}@shop.test").status_code == 200
    refused = wrong_login(client, "someone-else@shop.test")
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    # Another client is not affected.
    other = app.test_client()
    response = other.post(
        "/admin/login",
        data={"email": staff.email("tester"), "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 302


def test_successful_sign_ins_are_not_counted(client, staff):
    for _ in range(12):
        assert (
            client.post("/admin/login", data={"email": staff.email("admin"), "password": PASSWORD}).status_code == 302
        )


def test_an_unknown_email_takes_as_long_as_a_wrong_password(client, staff):
    def timed(email: str) -> float:
        started = time.perf_counter()
        wrong_login(client, email)
        return time.perf_counter() - started

    known = sorted(timed(staff.email("merchant")) for _ in range(3))[1]
    unknown = sorted(timed("nobody@shop.test") for _ in range(3))[1]
    # Both verify a scrypt hash (tens of ms); without the dummy hash the unknown one took ~3 ms vs ~98.
    assert unknown > known * 0.5, (known, unknown)


# --- spreadsheet-safe CSV -----------------------------------------------------------------------------


def test_csv_cells_that_could_start_a_formula_are_neutralised():
    line = csv_line(['=HYPERLINK("http://evil.test","x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain", 7])
    cells = next(csv.reader(io.StringIO(line)))
    assert cells == ['\'=HYPERLINK("http://evil.test","x")', "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "plain", "7"]


def test_the_sent_events_export_neutralises_a_remote_error_message(app, client, auth, staff):
    with app.app_context():
        [event_id] = add_events(1)
        event = db.session.get(OutboxEvent, event_id)
        event.status, event.last_error = "failed", '=HYPERLINK("http://evil.test","Click")'
        db.session.commit()
    auth.login("tester")
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/events/export.csv").get_data(as_text=True))))
    assert rows[0]["last_error"] == '\'=HYPERLINK("http://evil.test","Click")'


# --- a busy database -----------------------------------------------------------------------------------


def test_a_locked_database_answers_503_with_retry_after_within_seconds(app, api, client, auth, make_order):
    app.config["SQLITE_WEB_BUSY_TIMEOUT_MS"] = 300
    order_id = make_order("PS_OS_PAYMENT")
    refunded = _state_id(app, "PS_OS_REFUND")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite:///"):
        pytest.skip("the write-lock test drives SQLite's file lock")
    holder = sqlite3.connect(uri.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = api.post(f"/api/orders/{order_id}/status", {"state_id": refunded}, role="admin")
        assert time.monotonic() - started < 3
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.get_json()["error"]["code"] == "busy"
        auth.login("admin")
        page = client.post(f"/admin/orders/{order_id}/status", data={"state_id": refunded})
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert "The shop is busy" in page.get_data(as_text=True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with app.app_context():
        assert db.session.get(Order, order_id).current_state_id != refunded
    assert api.post(f"/api/orders/{order_id}/status", {"state_id": refunded}, role="admin").status_code == 200


def _state_id(app, key: str) -> int:
    with app.app_context():
        return db.session.scalar(select(OrderState.id).filter_by(key=key))


# --- one status change per order at a time --------------------------------------------------------------


def test_four_parallel_same_state_changes_give_one_200_three_409_and_one_history_row(app, live, staff, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    refunded = _state_id(app, "PS_OS_REFUND")
    with app.app_context():
        rows_before = db.session.scalar(select(func.count()).where(OrderHistory.order_id == order_id))
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def change():
        with requests.Session() as http:
            barrier.wait(timeout=10)
            response = http.post(
                f"{live.url}/api/orders/{order_id}/status",
                json={"state_id": refunded},
                headers=staff.headers("admin"),
                timeout=30,
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=change) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409, 409, 409]
    with app.app_context():
        history = db.session.scalars(select(OrderHistory).where(OrderHistory.order_id == order_id)).all()
        assert len(history) == rows_before + 1
        assert [h.state_id for h in history].count(refunded) == 1


# --- limits and headers ----------------------------------------------------------------------------------


def test_pages_carry_the_security_headers(client, auth):
    auth.login("admin")
    response = client.get("/admin/orders")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in response.get_data(as_text=True)  # every script is a static file


def test_a_body_over_the_limit_is_refused_with_413(app, api):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = api.post("/api/orders", {"customer": {"email": "x" * 2000}})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_the_session_cookie_is_secure_when_configured(app, client, staff):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = client.post("/admin/login", data={"email": staff.email("admin"), "password": PASSWORD})
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_logout_is_recorded_as_a_new_session_version(app, client, auth, staff):
    auth.login("merchant")
    auth.logout()
    with app.app_context():
        assert db.session.get(Employee, staff.ids["merchant"]).session_version == 1
