"""Back-office orders: list with filters, order page, status changes (one and bulk), partial refunds."""

import logging

from flask import Response, abort, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.access import requires
from core.dbtypes import utcnow
from core.inputs import page_number
from extensions import db
from shop import bulk_jobs
from shop.auth import safe_next
from shop.backoffice import bp
from shop.backoffice.forms import (
    BulkConfirmForm,
    BulkStatusForm,
    OrderFilterForm,
    StatusForm,
    refund_form_for,
)
from shop.backoffice.order_kpis import month_kpis
from shop.backoffice.order_search import (
    DEFAULT_SORT,
    SORT_COLUMNS,
    OrderFilters,
    count_matching,
    export_rows,
    matching_order_ids,
    orders_page,
)
from shop.models import Order, OrderState
from shop.modules import installed_modules, status_change_outcomes, summarize
from shop.refunds import KINDS, RefundRefused, RefundResult, issue_refund, refund_refusal, shipping_left
from shop.status import StateAlreadyAssigned, change_state, change_states

log = logging.getLogger(__name__)

# The most orders one bulk status change may touch (one request, one transaction).
BULK_LIMIT = 10_000
# The confirmation page lists this many orders and counts the rest.
CONFIRM_LIST_LIMIT = 1_000
FILTER_ARGS = ("state", "reference", "customer", "date_from", "date_to", "per_page", "sort", "dir")
# A column sorted for the first time: amounts and dates biggest/newest first, text A to Z.
FIRST_DIRECTION = {"date": "desc", "total": "desc"}


@bp.get("/")
@requires("read")
def index():
    """Open the orders list."""
    return redirect(url_for("backoffice.orders"))


@bp.get("/orders")
@requires("read")
def orders():
    """List orders (newest first, or sorted by a column), filtered and paginated, under this month's KPIs."""
    form = OrderFilterForm(formdata=request.args)
    filters = _filters_from(form)
    page = request.args.get("page", 1, type=page_number)
    pagination = orders_page(filters, page, form.per_page.data or 50)
    return render_template(
        "backoffice/orders.html",
        form=form,
        filters=filters,
        pagination=pagination,
        filter_args=_filter_args(),
        sort_links=_sort_links(filters),
        kpis=month_kpis(),
        states=_all_states(),
        bulk_form=BulkStatusForm(formdata=None),
        bulk_limit=BULK_LIMIT,
    )


@bp.get("/orders/export.csv")
@requires("read")
def export_orders_csv():
    """Download the filtered list, in the list's order, as spreadsheet-safe CSV (streamed, so any size fits)."""
    filters = _filters_from(OrderFilterForm(formdata=request.args))
    name = f"orders-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(export_rows(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.get("/orders/<int:order_id>")
@requires("read")
def order(order_id: int):
    """Show an order: lines, totals, payments, history, credit slips, forms and module panels."""
    return _render_order(_order_or_404(order_id))


@bp.get("/orders/<int:order_id>/panels/<name>")
@requires("read")
def module_panel(order_id: int, name: str):
    """Serve one module panel's body alone: the order page polls it to show deliveries as they happen."""
    order = _order_or_404(order_id)
    module = next((m for m in installed_modules(current_app) if m.name == name and m.admin_order_panel), None)
    if module is None:
        abort(404)
    return render_template("backoffice/_module_panel_body.html", order=order, panel=_module_panel(module, order))


@bp.post("/orders/<int:order_id>/status")
@requires("orders")
def change_order_status(order_id: int):
    """Change one order's status (from the order page or a row of the list)."""
    order = _order_or_404(order_id)
    form = StatusForm()
    back = safe_next(form.next.data) or url_for("backoffice.order", order_id=order.id)
    if not form.validate():
        if form.next.data or form.state_id.errors:  # a row of the list, or no state: say it where the admin was
            _flash_errors(form)
            return redirect(back)
        # The order page's form: show its reason and note again with a message on the field, nothing changed.
        db.session.rollback()
        return _render_order(order, status_form=form), 422
    new_state = db.session.get(OrderState, form.state_id.data)
    try:
        reason, note = form.reason_and_note()
        history = change_state(order, new_state, current_user._get_current_object(), reason=reason, note=note)
    except StateAlreadyAssigned:
        db.session.rollback()
        flash(f"Order {order.reference} is already in state {new_state.name}: nothing changed.", "error")
        return redirect(back)
    at = history.at
    db.session.commit()
    # What each module did, said where the admin acts (not only in the panel further down the page).
    answers = status_change_outcomes(current_app, [order.id], at)
    said = [outcome.describe() for answer in answers for outcome in answer["outcomes"].values()]
    flash(" ".join([f"Status changed to {new_state.name} (order {order.reference}).", *said]), "success")
    return redirect(back)


@bp.post("/orders/<int:order_id>/credit-slips")
@requires("orders")
def refund_order(order_id: int):
    """Refund lines and shipping by credit slip and/or voucher (partial, standard, return; no status change)."""
    order = _order_or_404(order_id)
    form = refund_form_for(order)
    if form.validate():
        try:
            reason, note = form.reason_and_note()
            employee = current_user._get_current_object()
            result = issue_refund(order, form.refund(order), employee, reason=reason, note=note)
        except RefundRefused as refusal:
            db.session.rollback()
            field = {"refund_shipping": form.refund_shipping, "shipping_amount": form.shipping_amount}.get(
                refusal.field or ""
            )
            (field.errors if field is not None else form.form_errors).append(str(refusal))
        else:
            db.session.commit()
            said = []
            if result.credit_slip is not None:  # only a credit slip tells the modules (a voucher alone does not)
                answers = status_change_outcomes(current_app, [order.id], result.credit_slip.at, "credit_slip")
                said = [outcome.describe() for answer in answers for outcome in answer["outcomes"].values()]
            flash(" ".join([_refund_message(order, result), *said]), "success")
            return redirect(url_for("backoffice.order", order_id=order.id, _anchor="credit-slips"))
    return _render_order(order, refund_form=form), 422


def _refund_message(order: Order, result: RefundResult) -> str:
    """Say what the refund produced."""
    made = []
    if result.credit_slip is not None:
        made.append(f"Credit slip #{result.credit_slip.id} issued")
    if result.voucher is not None:
        made.append(f"voucher {result.voucher.code} created")
    return (
        f"{', '.join(made).capitalize() if not result.credit_slip else ', '.join(made)}: "
        f"{result.amount_tax_incl:.2f} {order.currency} refunded (the order's status is unchanged)."
    )


@bp.post("/orders/bulk-status")
@requires("orders")
def bulk_status():
    """Ask to confirm a bulk status change of the selected (or all matching) orders; change nothing yet."""
    form = BulkStatusForm()
    back = url_for("backoffice.orders", **_filter_args())
    if not form.validate():
        _flash_errors(form)
        return redirect(back)
    if form.all_matching.data:
        filters = _filters_from(OrderFilterForm(formdata=request.args))
        total = count_matching(filters)
        if total > BULK_LIMIT:
            flash(f"{total} orders match the filter; narrow it to at most {BULK_LIMIT} for a bulk change.", "error")
            return redirect(back)
        order_ids = matching_order_ids(filters, BULK_LIMIT)
    else:
        order_ids = list(dict.fromkeys(form.order_ids.data))
    if not order_ids:
        flash("No orders to change.", "error")
        return redirect(back)
    if len(order_ids) > BULK_LIMIT:
        flash(f"At most {BULK_LIMIT} orders can be changed at once.", "error")
        return redirect(back)
    state = db.session.get(OrderState, form.state_id.data)
    shown = _orders_by_id(order_ids[:CONFIRM_LIST_LIMIT])
    confirm_form = BulkConfirmForm(formdata=None, order_ids=order_ids, state_id=state.id)
    return render_template(
        "backoffice/bulk_confirm.html",
        form=confirm_form,
        state=state,
        order_ids=order_ids,
        shown_ids=order_ids[:CONFIRM_LIST_LIMIT],
        orders_by_id=shown,
        already=sum(1 for o in shown.values() if o.current_state_id == state.id),
        filter_args=_filter_args(),
    )


@bp.post("/orders/bulk-status/confirm")
@requires("orders")
def bulk_status_confirm():
    """Change the confirmed orders' status, each in turn, and report what changed and what was skipped."""
    form = BulkConfirmForm()
    if not form.validate():
        _flash_errors(form)
        return redirect(url_for("backoffice.orders", **_filter_args()))
    order_ids = form.order_ids.data
    if len(order_ids) > BULK_LIMIT:
        flash(f"At most {BULK_LIMIT} orders can be changed at once.", "error")
        return redirect(url_for("backoffice.orders", **_filter_args()))
    state = db.session.get(OrderState, form.state_id.data)
    since = utcnow()
    reason, note = form.reason_and_note()
    if len(order_ids) > bulk_jobs.threshold():  # too many for one request: a background job with a progress bar
        job = bulk_jobs.enqueue(order_ids, state, current_user._get_current_object(), reason=reason, note=note)
        db.session.commit()
        flash(f"{len(order_ids)} orders are being changed to {state.name} in the background.", "info")
        return redirect(url_for("backoffice.bulk_job", job_id=job.id))
    result = change_states(order_ids, state, current_user._get_current_object(), reason=reason, note=note)
    db.session.commit()
    answers = status_change_outcomes(current_app, result.changed, since)
    summaries = summarize(answers)
    flash(
        " ".join(
            [f"{len(result.changed)} order(s) changed to {state.name}, {len(result.skipped)} skipped."]
            + [f"{summary.describe()}." for summary in summaries]
        ),
        "success" if not result.skipped else "warning",
    )
    references = dict(db.session.execute(select(Order.id, Order.reference).where(Order.id.in_(set(order_ids)))).all())
    return render_template(
        "backoffice/bulk_report.html",
        state=state,
        result=result,
        references=references,
        summaries=summaries,
        outcomes_by_order=_outcomes_by_order(answers),
        filter_args=_filter_args(),
    )


def _outcomes_by_order(answers: list[dict]) -> dict[int, list]:
    """Return {order id: [each module's outcome]} for the bulk report's rows."""
    by_order: dict[int, list] = {}
    for answer in answers:
        for order_id, outcome in answer["outcomes"].items():
            by_order.setdefault(order_id, []).append(outcome)
    return by_order


def _render_order(order: Order, refund_form=None, status_form=None):
    """Render the order page, with fresh forms unless given ones carry errors."""
    return render_template(
        "backoffice/order.html",
        order=order,
        status_form=status_form or StatusForm(formdata=None),
        states=_all_states(),
        history=sorted(order.history, key=lambda entry: (entry.at, entry.id), reverse=True),
        refund_form=refund_form or refund_form_for(order, formdata=None),
        shipping_left=shipping_left(order)[0],
        refund_offers={kind: refund_refusal(order, kind) for kind in KINDS},
        panels=_module_panels(order),
    )


def _module_panels(order: Order) -> list[dict]:
    """Ask each installed module for its panel."""
    return [_module_panel(module, order) for module in installed_modules(current_app) if module.admin_order_panel]


def _module_panel(module, order: Order) -> dict:
    """Render one module's panel; a broken module gets an error note, not a broken page."""
    try:
        # The hook returns HTML the module rendered itself (installed code, trusted like a template).
        html, error = Markup(module.admin_order_panel(order)), None  # noqa: S704
    except Exception:
        log.exception("module %s failed to render its panel for order %s", module.name, order.id)
        html, error = None, f"The module {module.display_name} could not show its panel (the error is logged)."
    return {"module": module, "html": html, "error": error}


def _order_or_404(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    return order


def _orders_by_id(order_ids: list[int]) -> dict[int, Order]:
    query = (
        select(Order)
        .where(Order.id.in_(order_ids))
        .options(selectinload(Order.customer), selectinload(Order.current_state))
    )
    return {o.id: o for o in db.session.scalars(query)}


def _all_states() -> list[OrderState]:
    return list(db.session.scalars(select(OrderState).order_by(OrderState.id)))


def _filters_from(form: OrderFilterForm) -> OrderFilters:
    """Turn the filter form into filters, ignoring any field that did not validate."""
    form.validate()

    def value(field):
        return None if field.errors else field.data

    sort = value(form.sort) or DEFAULT_SORT
    direction = value(form.dir) or FIRST_DIRECTION.get(sort, "asc")
    return OrderFilters(
        state_id=value(form.state) or None,
        reference=value(form.reference) or "",
        customer=value(form.customer) or "",
        date_from=value(form.date_from),
        date_to=value(form.date_to),
        sort=sort,
        descending=direction == "desc",
    )


def _sort_links(filters: OrderFilters) -> dict[str, dict]:
    """For each sortable column: the URL that sorts by it (toggling when it is the current one) and its aria-sort."""
    args = {name: value for name, value in _filter_args().items() if name not in ("sort", "dir")}
    links = {}
    for column in SORT_COLUMNS:
        current = column == filters.sort
        if current:
            direction = "asc" if filters.descending else "desc"
            state = "descending" if filters.descending else "ascending"
        else:
            direction, state = FIRST_DIRECTION.get(column, "asc"), "none"
        links[column] = {"url": url_for("backoffice.orders", sort=column, dir=direction, **args), "aria": state}
    return links


def _filter_args() -> dict[str, str]:
    """The list's filters from the query string, to keep them across links and forms."""
    return {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}


def _flash_errors(form) -> None:
    for field in form:
        for error in field.errors:
            flash(f"{field.label.text}: {error}", "error")
    for error in form.form_errors:
        flash(error, "error")
