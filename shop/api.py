"""The shop's JSON API (/api): order states, products, orders, status changes, credit slips.

Authentication is ``Authorization: Bearer <employee API key>`` only (no session cookie, hence no
CSRF token). Money is a string with two decimals ("59.90"), times are ISO 8601 UTC
("2026-05-01T09:30:00+00:00"), flags are JSON booleans. Errors answer
``{"error": {"code", "message"}}`` (plus ``fields`` for 422): 400 malformed body, 401 no or bad key,
403 role, 404 unknown order, 409 state already assigned, 422 invalid fields.

Every write commits once, at the end of the request, so what the module's receivers add (decisions,
outbox rows) lands with it; a request that fails writes nothing.
"""

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core.access import protect_api_blueprint, requires
from core.apierrors import ApiError, json_body, register_json_errors
from core.dbtypes import utcnow
from extensions import csrf, db
from shop import api_input, bulk_jobs
from shop.customers import customer_for
from shop.models import Order, OrderState, Product
from shop.modules import status_change_outcomes, summarize
from shop.orders import CartLine, place_order
from shop.refunds import RefundRefused, issue_refund
from shop.serializers import (
    credit_slip_json,
    order_json,
    order_state_json,
    order_summary_json,
    product_json,
    voucher_json,
)
from shop.status import StateAlreadyAssigned, change_state, change_states

bp = Blueprint("shop_api", __name__, url_prefix="/api")
csrf.exempt(bp)  # API calls authenticate with a key, never the session cookie
protect_api_blueprint(bp)
register_json_errors(bp)


def _employee():
    """Return the employee owning the request's API key (recorded on history rows and slips)."""
    return current_user._get_current_object()


def _order_or_404(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise ApiError(404, "not_found", f"no order with id {order_id}")
    return order


@bp.get("/order-states")
@requires("read")
def order_states():
    """List the order states with their flags."""
    states = db.session.scalars(select(OrderState).order_by(OrderState.id))
    return jsonify([order_state_json(state) for state in states])


@bp.get("/products")
@requires("read")
def products():
    """List the catalog."""
    catalog = db.session.scalars(select(Product).order_by(Product.id))
    return jsonify([product_json(product) for product in catalog])


@bp.get("/orders")
@requires("read")
def orders():
    """List orders, oldest first, ``limit`` at a time; pass ``next_after`` back as ``after`` for more."""
    query = api_input.read_order_list_query(request.args)
    statement = select(Order).order_by(Order.id).limit(query.limit + 1)
    if query.state_id is not None:
        statement = statement.where(Order.current_state_id == query.state_id)
    if query.reference:
        statement = statement.where(Order.reference == query.reference)
    if query.after is not None:
        statement = statement.where(Order.id > query.after)
    found = list(db.session.scalars(statement))
    page = found[: query.limit]
    next_after = page[-1].id if len(found) > query.limit else None
    return jsonify({"orders": [order_summary_json(order) for order in page], "next_after": next_after})


@bp.post("/orders")
@requires("orders")
def create_order():
    """Place an order for a customer (found by e-mail and details, or created) in a first state."""
    wanted = api_input.read_order(json_body())
    customer = customer_for(wanted.customer["email"], wanted.customer)
    order = place_order(
        customer,
        [CartLine(product, quantity) for product, quantity in wanted.lines],
        wanted.state,
        currency=wanted.currency,
        browser=wanted.browser,
        payment_method=wanted.payment_method,
        employee=_employee(),
    )
    db.session.commit()
    response = jsonify(order_json(order))
    response.status_code = 201
    response.headers["Location"] = url_for("shop_api.order", order_id=order.id)
    return response


@bp.get("/orders/<int:order_id>")
@requires("read")
def order(order_id: int):
    """Show an order with its lines, history and credit slips."""
    return jsonify(order_json(_order_or_404(order_id)))


@bp.post("/orders/<int:order_id>/status")
@requires("orders")
def change_order_status(order_id: int):
    """Move an order to another state through the status service."""
    found = _order_or_404(order_id)
    body = json_body()
    state = api_input.read_status_change(body)
    reason, note = api_input.read_reason(body)
    try:
        history = change_state(found, state, employee=_employee(), reason=reason, note=note)
    except StateAlreadyAssigned as error:
        db.session.rollback()
        raise ApiError(409, "already_assigned", str(error)) from None
    at = history.at
    db.session.commit()
    answers = status_change_outcomes(current_app, [found.id], at)
    modules = [outcome.as_json() for answer in answers for outcome in answer["outcomes"].values()]
    return jsonify(order_json(found) | {"modules": modules})


@bp.post("/orders/bulk-status")
@requires("orders")
def bulk_change_order_status():
    """Move many orders to a state, in list order; report each order as changed or skipped."""
    body = json_body()
    order_ids, state = api_input.read_bulk_status_change(body)
    reason, note = api_input.read_reason(body)  # one reason and note for every order
    if len(order_ids) > bulk_jobs.threshold():  # too many for one request: 202 and the job to poll
        job = bulk_jobs.enqueue(order_ids, state, _employee(), reason=reason, note=note)
        db.session.commit()
        response = jsonify({"job": job.as_json(), "url": url_for("shop_api.bulk_job", job_id=job.id)})
        response.status_code = 202
        response.headers["Location"] = url_for("shop_api.bulk_job", job_id=job.id)
        return response
    since = utcnow()
    result = change_states(order_ids, state, employee=_employee(), reason=reason, note=note)
    db.session.commit()
    modules = [summary.as_json() for summary in summarize(status_change_outcomes(current_app, result.changed, since))]
    return jsonify({"state_id": state.id, "changed": result.changed, "skipped": result.skipped, "modules": modules})


@bp.get("/bulk-jobs/<int:job_id>")
@requires("read")
def bulk_job(job_id: int):
    """A background bulk status change: status, progress, and (once over) skipped and failed orders, events queued."""
    job = db.session.get(bulk_jobs.BulkJob, job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no bulk job {job_id}")
    return jsonify(job.as_json())


@bp.post("/orders/<int:order_id>/credit-slips")
@requires("orders")
def create_credit_slip(order_id: int):
    """Refund lines and shipping (partial, standard or return) by credit slip and/or voucher; the state stays."""
    found = _order_or_404(order_id)
    body = json_body()
    refund = api_input.read_credit_slip(body)
    reason, note = api_input.read_reason(body)
    try:
        result = issue_refund(found, refund, employee=_employee(), reason=reason, note=note)
    except RefundRefused as error:
        db.session.rollback()
        raise ApiError(422, "invalid", str(error), {error.field or "lines": str(error)}) from None
    db.session.commit()
    if result.credit_slip is not None:
        body = {**credit_slip_json(result.credit_slip), "voucher": voucher_json(result.voucher)}
    else:
        body = {"credit_slip": None, "voucher": voucher_json(result.voucher)}
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("shop_api.order", order_id=found.id)
    return response
