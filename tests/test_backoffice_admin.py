"""The back office's order states, employees and Modules pages."""

import re

import pytest
from flask import Blueprint
from sqlalchemy import func, select

from core.access import protect_browser_blueprint, requires
from extensions import db
from shop.models import Employee, OrderState, hash_api_key
from shop.modules import InstalledModule, MenuEntry, register_module
from tests.conftest import PASSWORD


def text(response) -> str:
    return response.get_data(as_text=True)


# --- order states -----------------------------------------------------------------------------


def test_order_states_page_lists_flags_colors_and_custom_badge(app, client, auth):
    with app.app_context():
        db.session.add(OrderState(name="Returned", color="#AA5500", invoice=True))
        db.session.commit()
    auth.login("tester")
    html = text(client.get("/admin/order-states"))
    assert "Awaiting Cash On Delivery validation" in html and "PS_OS_REFUND" in html
    returned_row = re.search(r'<tr data-state-id="\d+">(?:(?!</tr>).)*Returned(?:(?!</tr>).)*</tr>', html, re.S).group(
        0
    )
    assert ">custom<" in returned_row and "<code>#AA5500</code>" in returned_row
    # the color itself comes from the state-colors stylesheet (the CSP allows no inline style)
    returned_id = re.search(r'<tr data-state-id="(\d+)">', returned_row).group(1)
    css = text(client.get("/admin/order-states.css"))
    assert f'[data-state-id="{returned_id}"] {{ --state-bg: #AA5500; --state-fg: #FFFFFF; }}' in css
    for flag in ("logable", "invoice", "paid", "shipped", "delivery", "send_email"):
        assert f">{flag}</th>" in html
    assert "Add a custom state" not in html and "/edit" not in html  # a tester only reads


def test_superadmin_creates_a_custom_state(app, client, auth):
    auth.login("superadmin")
    form = text(client.get("/admin/order-states/new"))
    for label in ("Name", "Color", "logable", "send_email"):
        assert label in form
    response = client.post(
        "/admin/order-states/new",
        data={"name": "Partially refunded", "color": "#ff8800", "invoice": "y", "paid": "y", "send_email": "y"},
    )
    assert response.status_code == 302
    with app.app_context():
        state = db.session.scalar(select(OrderState).filter_by(name="Partially refunded"))
        assert state.is_custom and state.color == "#FF8800"
        assert (state.logable, state.invoice, state.paid, state.shipped, state.delivery, state.send_email) == (
            False,
            True,
            True,
            False,
            False,
            True,
        )
    assert "Order state “Partially refunded” created." in text(client.get("/admin/order-states"))


def test_the_states_page_shows_prestashops_fields_and_a_custom_state_sets_them(app, client, auth):
    auth.login("superadmin")
    html = text(client.get("/admin/order-states"))
    for column in ("hidden", "pdf_invoice", "pdf_delivery", "unremovable", "template", "module"):
        assert f">{column}</th>" in html
    bankwire = re.search(r'<tr data-state-id="\d+">(?:(?!</tr>).)*PS_OS_BANKWIRE(?:(?!</tr>).)*</tr>', html, re.S)
    assert "<code>ps_wirepayment</code>" in bankwire.group(0) and "<code>bankwire</code>" in bankwire.group(0)
    response = client.post(
        "/admin/order-states/new",
        data={
            "name": "Returned",
            "color": "#ADD8E6",
            "hidden": "y",
            "pdf_invoice": "y",
            "template": " order_returned ",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        state = db.session.scalar(select(OrderState).filter_by(name="Returned"))
        assert (state.hidden, state.pdf_invoice, state.pdf_delivery, state.template) == (
            True,
            True,
            False,
            "order_returned",
        )
        assert (state.unremovable, state.module_name) == (False, None), "a merchant's state is removable, owned by none"
        refund_id = OrderState.by_key("PS_OS_REFUND").id
    # A default state keeps PrestaShop's template and flags whatever is posted.
    client.post(
        f"/admin/order-states/{refund_id}/edit",
        data={"name": "Refunded", "color": "#01B887", "template": "x", "hidden": "y"},
    )
    with app.app_context():
        refund = db.session.get(OrderState, refund_id)
        assert (refund.template, refund.hidden, refund.unremovable) == ("refund", False, True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "Returned", "color": "#123456", "template": "../../etc/passwd"},
            "Use lowercase letters, digits and _",
        ),
        ({"name": "Returned", "color": "#123456", "template": "x" * 65}, "At most 64 characters."),
        ({"name": "", "color": "#123456"}, "Enter a name."),
        ({"name": "x" * 65, "color": "#123456"}, "At most 64 characters."),
        ({"name": "Returned", "color": "red"}, "Use the form #RRGGBB, e.g. #34209E."),
        ({"name": "Returned", "color": "#12345"}, "Use the form #RRGGBB, e.g. #34209E."),
        ({"name": "refunded", "color": "#123456"}, "An order state with this name already exists."),
    ],
)
def test_custom_state_validation_messages_and_nothing_saved(app, client, auth, data, message):
    auth.login("superadmin")
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(OrderState))
    response = client.post("/admin/order-states/new", data=data)
    assert response.status_code == 422
    assert message in text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrderState)) == before


def test_edit_custom_state_flags_and_default_state_name_only(app, client, auth):
    with app.app_context():
        custom = OrderState(name="Returned", color="#AA5500")
        db.session.add(custom)
        db.session.commit()
        custom_id, refund_id = custom.id, OrderState.by_key("PS_OS_REFUND").id
    auth.login("superadmin")
    response = client.post(
        f"/admin/order-states/{custom_id}/edit", data={"name": "Returned to stock", "color": "#00aa00", "shipped": "y"}
    )
    assert response.status_code == 302
    page = text(client.get(f"/admin/order-states/{refund_id}/edit"))
    assert re.search(r'<input[^>]*disabled[^>]*id="paid"|<input[^>]*id="paid"[^>]*disabled', page)
    assert "its flags cannot change" in page
    # Forcing the flags of a default state: the name and color change, the flags do not.
    response = client.post(
        f"/admin/order-states/{refund_id}/edit",
        data={"name": "Refunded (full)", "color": "#01B887", "paid": "y", "logable": "y"},
    )
    assert response.status_code == 302
    with app.app_context():
        custom = db.session.get(OrderState, custom_id)
        assert (custom.name, custom.color, custom.shipped) == ("Returned to stock", "#00AA00", True)
        refund = db.session.get(OrderState, refund_id)
        assert refund.name == "Refunded (full)" and refund.key == "PS_OS_REFUND"
        assert (refund.logable, refund.invoice, refund.paid) == (False, True, False)


def test_edit_state_keeps_its_own_name_and_refuses_another(app, client, auth):
    with app.app_context():
        refund_id = OrderState.by_key("PS_OS_REFUND").id
    auth.login("superadmin")
    assert (
        client.post(f"/admin/order-states/{refund_id}/edit", data={"name": "Refunded", "color": "#01B887"}).status_code
        == 302
    )
    response = client.post(f"/admin/order-states/{refund_id}/edit", data={"name": "Canceled", "color": "#01B887"})
    assert response.status_code == 422 and "An order state with this name already exists." in text(response)
    assert client.get("/admin/order-states/999/edit").status_code == 404


@pytest.mark.parametrize("role", ["admin", "merchant", "tester"])
def test_only_superadmin_edits_states(app, client, auth, role):
    auth.login(role)
    assert client.get("/admin/order-states").status_code == 200
    assert client.get("/admin/order-states/new").status_code == 403
    assert client.post("/admin/order-states/new", data={"name": "Sneaky", "color": "#123456"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(OrderState).filter_by(name="Sneaky")) is None


# --- employees --------------------------------------------------------------------------------


def test_employees_list_shows_roles_and_key_hints_only(app, client, auth, staff):
    auth.login("superadmin")
    html = text(client.get("/admin/employees"))
    for role in ("superadmin", "admin", "merchant", "tester"):
        assert f"{role}@shop.test" in html
        assert f"…{staff.keys[role][-4:]}" in html
        assert staff.keys[role] not in html


def test_create_employee_shows_the_key_once_and_stores_only_its_hash(app, client, auth):
    auth.login("superadmin")
    response = client.post(
        "/admin/employees/new",
        data={
            "email": "new.tester@shop.test",
            "firstname": "Ana",
            "lastname": "Lyst",
            "role": "tester",
            "password": "longenough",
            "confirm_password": "longenough",
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    key = re.search(r'id="api-key" value="(ppk_[^"]+)"', text(response)).group(1)
    assert "shown <strong>only once</strong>" in text(response)
    with app.app_context():
        employee = db.session.scalar(select(Employee).filter_by(email="new.tester@shop.test"))
        assert employee.role == "tester" and employee.name == "Ana Lyst"
        assert employee.api_key_hash == hash_api_key(key) and key not in (employee.api_key_hash, employee.password_hash)
        assert employee.check_password("longenough")
    assert key not in text(client.get("/admin/employees"))
    assert key not in text(client.get(f"/admin/employees/{employee.id}"))
    # The key works on the API and the password signs in.
    assert client.get("/api/order-states", headers={"Authorization": f"Bearer {key}"}).status_code != 401
    client.post("/admin/logout")
    signed_in = client.post("/admin/login", data={"email": "new.tester@shop.test", "password": "longenough"})
    assert signed_in.status_code == 302


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter an e-mail address like name@example.com."),
        ({"email": "ADMIN@shop.test"}, "email", "An employee with this e-mail already exists."),
        ({"password": "short", "confirm_password": "short"}, "password", "Use 8 to 128 characters."),
        ({"confirm_password": "different!"}, "confirm_password", "The passwords differ."),
        ({"role": "owner"}, "role", "Not a valid choice."),
    ],
)
def test_create_employee_validation(app, client, auth, staff, changes, field, message):
    auth.login("superadmin")
    data = {
        "email": "someone@shop.test",
        "role": "admin",
        "password": "longenough",
        "confirm_password": "longenough",
    } | changes
    response = client.post("/admin/employees/new", data=data)
    assert response.status_code == 422
    assert message in text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Employee)) == 4


def test_regenerate_key_asks_first_then_shows_the_new_key_once(app, client, auth, staff):
    admin_id, old_key = staff.ids["admin"], staff.keys["admin"]
    auth.login("superadmin")
    confirm = client.get(f"/admin/employees/{admin_id}/api-key")
    assert "Regenerate the API key of" in text(confirm) and 'name="confirm"' in text(confirm)
    with app.app_context():
        assert db.session.get(Employee, admin_id).api_key_hash == hash_api_key(old_key)
    response = client.post(f"/admin/employees/{admin_id}/api-key")
    new_key = re.search(r'id="api-key" value="(ppk_[^"]+)"', text(response)).group(1)
    assert new_key != old_key and response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        employee = db.session.get(Employee, admin_id)
        assert employee.api_key_hash == hash_api_key(new_key) and employee.api_key_hint == new_key[-4:]
    assert client.get("/api/order-states", headers={"Authorization": f"Bearer {old_key}"}).status_code == 401
    assert new_key not in text(client.get(f"/admin/employees/{admin_id}"))


def test_edit_role_active_and_reset_password(app, client, auth, staff):
    tester_id = staff.ids["tester"]
    auth.login("superadmin")
    response = client.post(
        f"/admin/employees/{tester_id}", data={"role": "merchant", "firstname": "Tess", "lastname": "", "active": ""}
    )
    assert response.status_code == 302
    with app.app_context():
        employee = db.session.get(Employee, tester_id)
        assert (employee.role, employee.active, employee.firstname) == ("merchant", False, "Tess")
    assert client.get("/api/order-states", headers=staff.headers("tester")).status_code == 401
    short = client.post(f"/admin/employees/{tester_id}/password", data={"password": "x", "confirm_password": "x"})
    assert short.status_code == 422 and "Use 8 to 128 characters." in text(short)
    response = client.post(
        f"/admin/employees/{tester_id}/password", data={"password": "brand new pw", "confirm_password": "brand new pw"}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Employee, tester_id).check_password("brand new pw")


def test_cannot_demote_or_deactivate_yourself(app, client, auth, staff):
    me = staff.ids["superadmin"]
    auth.login("superadmin")
    demote = client.post(f"/admin/employees/{me}", data={"role": "admin", "active": "y"})
    assert demote.status_code == 422 and "You cannot change your own role." in text(demote)
    deactivate = client.post(f"/admin/employees/{me}", data={"role": "superadmin", "active": ""})
    assert deactivate.status_code == 422 and "You cannot deactivate yourself." in text(deactivate)
    with app.app_context():
        employee = db.session.get(Employee, me)
        assert employee.role == "superadmin" and employee.active
    assert (
        client.post(
            f"/admin/employees/{me}", data={"role": "superadmin", "active": "y", "firstname": "Sue"}
        ).status_code
        == 302
    )


@pytest.mark.parametrize("role", ["admin", "merchant", "tester"])
def test_only_superadmin_manages_employees(app, client, auth, staff, role):
    auth.login(role)
    other = staff.ids["tester" if role != "tester" else "admin"]
    assert client.get("/admin/employees").status_code == 403
    assert client.post("/admin/employees/new", data={"email": "x@shop.test"}).status_code == 403
    assert client.post(f"/admin/employees/{other}/api-key").status_code == 403
    assert client.post(f"/admin/employees/{other}/password", data={"password": PASSWORD * 2}).status_code == 403
    assert "Employees" not in text(client.get("/admin/orders")).split("</nav>")[0]


# --- modules ----------------------------------------------------------------------------------


@pytest.fixture
def fake_module(app):
    """A module with a configure page for merchants and a menu entry."""
    bp = Blueprint("fakemod", __name__, url_prefix="/admin/fakemod")
    protect_browser_blueprint(bp)

    @bp.get("/configure")
    @requires("settings")
    def configure():
        return "configure fakemod"

    app.register_blueprint(bp)
    register_module(
        app,
        InstalledModule(
            name="fakemod",
            display_name="Fake Module",
            version="2.3.4",
            description="Does fake things for tests.",
            configure_endpoint="fakemod.configure",
            menu=(MenuEntry("Fake log", "fakemod.configure", "settings"),),
        ),
    )
    register_module(app, InstalledModule("plainmod", "Plain Module", "0.1", "Nothing to configure."))
    return bp


def test_modules_page_lists_modules_with_configure_link(app, client, auth, fake_module):
    auth.login("merchant")
    html = text(client.get("/admin/modules"))
    assert "Fake Module" in html and "2.3.4" in html and "Does fake things for tests." in html
    assert 'href="/admin/fakemod/configure">Configure' in html
    assert "Plain Module" in html and "Nothing to configure." in html
    plain_row = re.search(r'<tr data-module="plainmod">.*?</tr>', html, re.S).group(0)
    assert "Configure" not in plain_row
    assert client.get("/admin/fakemod/configure").status_code == 200


def test_modules_page_hides_configure_from_roles_that_cannot_reach_it(app, client, auth, fake_module):
    auth.login("admin")
    html = text(client.get("/admin/modules"))
    assert "Fake Module" in html
    assert "/admin/fakemod/configure" not in html
    assert "Your role cannot configure it" in html


def test_modules_page_without_modules(app, client, auth):
    auth.login("tester")
    response = client.get("/admin/modules")
    assert response.status_code == 200
    assert "<h1" in text(response) and "Modules" in text(response)
