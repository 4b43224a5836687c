"""The `flask shop …` commands: create-employee and init-demo."""

from datetime import timedelta

import phonenumbers
import pytest
from sqlalchemy import func, select

from core.dbtypes import utcnow
from extensions import db
from sandbox.googleads.models import AdsConversion
from shop.models import CreditSlip, Customer, Employee, Order, OrderHistory, OrderState, Product
from shop.signals import demo_data_created
from shop.states import DEFAULT_STATES


def table_counts() -> dict:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables
    }


def test_create_employee_prints_a_working_key(app, client):
    result = app.test_cli_runner().invoke(
        args=["shop", "create-employee", "ana@shop.test", "--role", "admin", "--password", "s3cret-pass"]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("ppk_") and "s3cret-pass" not in result.output
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/order-states", headers=headers).status_code == 200
    # An admin may change orders, not the module's settings.
    assert client.post("/api/orders/bulk-status", json={}, headers=headers).status_code == 422
    assert client.put("/api/pixelplus/settings", json={}, headers=headers).status_code == 403
    with app.app_context():
        employee = db.session.scalar(select(Employee).filter_by(email="ana@shop.test"))
        assert employee.role == "admin" and employee.check_password("s3cret-pass")
        assert key not in (employee.api_key_hash, employee.password_hash)  # only hashes are stored


def test_create_employee_without_password_prints_one_and_a_new_key_replaces_the_old(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["shop", "create-employee", "bo@shop.test", "--role", "tester"])
    assert first.exit_code == 0
    lines = first.output.strip().splitlines()
    assert lines[1].startswith("password: ") and len(lines[1]) > len("password: ") + 8
    old_key = lines[-1]
    second = runner.invoke(args=["shop", "create-employee", "bo@shop.test", "--role", "merchant", "--password", "pw"])
    new_key = second.output.strip().splitlines()[-1]
    assert new_key != old_key
    assert client.get("/api/products", headers={"Authorization": f"Bearer {old_key}"}).status_code == 401
    assert client.get("/api/products", headers={"Authorization": f"Bearer {new_key}"}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Employee.email == "bo@shop.test")) == 1


def test_create_employee_refuses_an_unknown_role(app):
    result = app.test_cli_runner().invoke(args=["shop", "create-employee", "x@shop.test", "--role", "boss"])
    assert result.exit_code != 0 and "boss" in result.output


def demo_keys(output: str) -> dict[str, str]:
    """role → API key, from init-demo's login table."""
    keys = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) == 4 and words[3].startswith("ppk_"):
            keys[words[2]] = words[3]
    return keys


@pytest.fixture
def demo_signals():
    sent = []

    def receiver(sender, **extra):
        sent.append(sender)

    demo_data_created.connect(receiver)
    yield sent
    demo_data_created.disconnect(receiver)


def test_init_demo_twice(app, client, demo_signals):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["shop", "init-demo"])
    assert first.exit_code == 0, first.output
    assert "200 orders" in first.output
    keys = demo_keys(first.output)
    assert set(keys) == {"superadmin", "admin", "merchant", "tester"}
    for email in ("superadmin@example.com", "admin@example.com", "merchant@example.com", "tester@example.com"):
        assert email in first.output
    assert demo_signals == [app]

    with app.app_context():
        counts = table_counts()
        assert counts["product"] == 30 and counts["customer"] == 30 and counts["orders"] == 200
        assert counts["credit_slip"] >= 10
        current = set(db.session.scalars(select(OrderState.key).join(Order, Order.current_state_id == OrderState.id)))
        assert {key for key, *_ in DEFAULT_STATES} <= current, "every default state is some order's state"
        customs = {s.name: s for s in db.session.scalars(select(OrderState).where(OrderState.key.is_(None)))}
        assert not customs["Returned"].paid and not customs["Returned"].logable
        assert "Partially refunded" in customs
        assert db.session.scalar(select(func.count()).where(Order.current_state_id == customs["Returned"].id)) > 0

        now = utcnow()
        for order in db.session.scalars(select(Order)):
            times = [entry.at for entry in order.history]
            assert times == sorted(times) and times[0] == order.created_at
            assert now - timedelta(days=30, minutes=1) <= times[0] and times[-1] <= now
            assert order.history[-1].state_id == order.current_state_id
            assert order.valid == order.current_state.logable
            assert all(line.refunded_quantity <= line.quantity for line in order.lines)
            if any(entry.state.paid for entry in order.history):
                assert order.amount_paid == order.total_paid_tax_incl
        countries = set()
        for customer in db.session.scalars(select(Customer)):
            countries.add(customer.country)
            number = phonenumbers.parse(customer.phone, customer.country)
            assert phonenumbers.is_valid_number(number), (customer.phone, customer.country)
            assert not customer.phone.startswith("+")  # written the national way
        assert countries == {"FR", "US", "DE", "GB", "ES", "IT", "BE", "CA"}
        slip_orders = db.session.scalars(select(Order).join(CreditSlip)).unique().all()
        assert any(o.current_state.key == "PS_OS_DELIVERED" for o in slip_orders)  # partial refunds keep the state
        # The Google Ads sandbox knows every demo purchase, as the conversion tag would have told it.
        known = set(db.session.scalars(select(AdsConversion.order_id)))
        assert known == set(db.session.scalars(select(Order.reference))) and len(known) == 200

    assert client.get("/api/orders?limit=1", headers={"Authorization": f"Bearer {keys['tester']}"}).status_code == 200

    second = runner.invoke(args=["shop", "init-demo"])
    assert second.exit_code == 0, second.output
    assert "already present" in second.output
    new_keys = demo_keys(second.output)
    assert set(new_keys) == set(keys) and not set(new_keys.values()) & set(keys.values())
    assert demo_signals == [app, app]
    with app.app_context():
        assert table_counts() == counts
        assert db.session.scalar(select(func.count()).select_from(Product)) == 30
        assert db.session.scalar(select(func.count()).select_from(OrderHistory)) == counts["order_history"]
    headers = {"Authorization": f"Bearer {new_keys['admin']}"}
    assert client.get("/api/order-states", headers=headers).status_code == 200
    login = client.post("/admin/login", data={"email": "admin@example.com", "password": "demo-admin"})
    assert login.status_code == 302 and "/admin/login" not in login.headers["Location"]
