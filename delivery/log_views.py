"""The sent-events log (/admin/events), an event's page with its attempts, the exports, Resend, and
the decisions list (/admin/decisions): every destination, with a destination filter.

Every employee may read them (testers debug with them); only merchants may resend a failed event.
"""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from core.access import protect_browser_blueprint, requires
from core.csvsafe import csv_line
from core.dbtypes import utcnow
from core.forms import choice
from core.inputs import DateInRange, id_arg
from delivery import activity, dispatcher, event_log
from delivery.dispatcher import NotFailed, requeue
from delivery.jsontext import pretty
from delivery.models import Decision, OutboxEvent
from delivery.registry import destinations
from extensions import db
from shop.models import Order, OrderState

bp = Blueprint("delivery_log", __name__, url_prefix="/admin")
protect_browser_blueprint(bp)

PER_PAGE = ("25", "50", "100")
# Where a list is, not what it holds: left out of the filter arguments.
CURSOR_ARGS = ("before", "after", "page", "chart", "kind")
CHART_UNITS = ("hour", "day")


class LogFilterForm(FlaskForm):
    """Filters both lists share: an order reference and a page size (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    destination = SelectField("Destination", default="")
    reference = StringField(
        "Order reference",
        validators=[Optional(), Regexp(r"^\s*[A-Za-z]{1,9}\s*$", message="An order reference is up to 9 letters.")],
    )
    per_page = SelectField("Per page", choices=[choice(n, n) for n in PER_PAGE], default="50")


class EventFilterForm(LogFilterForm):
    """The filters of the sent-events log."""

    status = SelectField(
        "Status", choices=[choice("", "All")] + [choice(s, s.capitalize()) for s in event_log.STATUSES], default=""
    )
    date_from = DateField("From", validators=[Optional(), DateInRange()])
    date_to = DateField("To", validators=[Optional(), DateInRange()])
    test_code = StringField(
        "Test event code", validators=[Optional(), Length(max=64, message="At most 64 characters.")]
    )

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")


class DecisionFilterForm(LogFilterForm):
    """The filters of the decisions list."""

    outcome = SelectField(
        "Outcome", choices=[choice("", "All")] + [choice(o, o.capitalize()) for o in event_log.OUTCOMES], default=""
    )


class ResendForm(FlaskForm):
    """Send a failed event again, with the same event_id."""

    submit = SubmitField("Resend")


class RetryNowForm(FlaskForm):
    """Try a pending event now rather than at its next try."""

    submit = SubmitField("Retry now")


def _filter_form(form_class):
    """Build a filter form from the query string, its destination choices from the registry, and check it."""
    form = form_class(formdata=request.args)
    form.destination.choices = [choice("", "All")] + [
        choice(name, destination.display_name) for name, destination in destinations(current_app).items()
    ]
    form.validate()
    return form


def _event_filters() -> tuple[EventFilterForm, event_log.EventFilter, int]:
    """Read the log's filters from the query string; invalid fields are shown and ignored."""
    form = _filter_form(EventFilterForm)
    filters = event_log.EventFilter(
        status=_valid(form.status) or None,
        destination=_valid(form.destination) or None,
        order_reference=(_valid(form.reference) or "").strip().upper() or None,
        order_id=id_arg(request.args, "order_id"),
        date_from=_valid(form.date_from),
        date_to=_valid(form.date_to),
        test_event_code=(_valid(form.test_code) or "").strip() or None,
    )
    return form, filters, _per_page(form)


def _valid(field):
    """Return a field's value, or None when it was refused (the page shows why)."""
    return None if field.errors else field.data


def _per_page(form) -> int:
    return int(form.per_page.data) if form.per_page.data in PER_PAGE else 50


def _filter_args(filters) -> dict:
    """Return the query arguments that keep the current filters (for links and exports)."""
    args = {key: value for key, value in request.args.items() if key not in CURSOR_ARGS and value}
    if filters.order_id is not None:
        args["order_id"] = filters.order_id
    return args


@bp.get("/events")
@requires("read")
def events():
    """List sent, pending and failed events, newest first, with filters, counts per status and charts."""
    form, filters, per_page = _event_filters()
    # The charts read up to 30 days of events: they load right after the page (htmx), so the list never waits.
    return render_template(
        "delivery/log.html",
        form=form,
        **_log_live(filters, per_page),
        **_chart_choice(filters),
        charts_deferred=True,
        resend_form=ResendForm(),
    )


@bp.get("/events/live")
@requires("read")
def events_live():
    """Serve the log's live part alone (htmx polls it on the first page): counts, the page of events, paging."""
    _form, filters, per_page = _event_filters()
    return render_template("delivery/_log_live.html", **_log_live(filters, per_page))


@bp.get("/events/charts")
@requires("read")
def events_charts():
    """Serve the log's charts alone (htmx refreshes them every 30 s)."""
    _form, filters, _per_page = _event_filters()
    return render_template("delivery/_log_charts.html", **_log_charts(filters))


@bp.get("/events/activity.csv")
@requires("read")
def activity_csv():
    """Download a chart's data as CSV: ?kind=status (events by status, ?chart=hour/day) or value (by currency)."""
    _form, filters, _per_page = _event_filters()
    # Only the chart asked for: each reads its own slice of the log.
    if request.args.get("kind") == "value":
        spec = activity.value_by_currency(filters)
    else:
        spec = activity.events_by_status(filters, _chart_choice(filters)["chart_unit"])
    lines = [csv_line([spec["x_title"], *(dataset["label"] for dataset in spec["datasets"])])]
    for index, label in enumerate(spec["labels"]):
        lines.append(csv_line([label, *(dataset["data"][index] for dataset in spec["datasets"])]))
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="events-chart.csv"', "Cache-Control": "no-store"},
    )


def _log_live(filters: event_log.EventFilter, per_page: int) -> dict:
    """The log's live part: one keyset page, the counts per status, and where the page stands among all."""
    before, after = id_arg(request.args, "before"), id_arg(request.args, "after")
    page = event_log.events_page(filters, per_page, before=before, after=after)
    counts = event_log.status_counts(filters)
    total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    return {
        "filters": filters,
        "page": page,
        "counts": counts,
        "args": _filter_args(filters),
        "total": total,
        "position": _position(total, per_page, first=before is None and after is None),
    }


def _chart_choice(filters: event_log.EventFilter) -> dict:
    unit = request.args.get("chart") if request.args.get("chart") in CHART_UNITS else "hour"
    return {"chart_unit": unit, "chart_args": _filter_args(filters)}


def _log_charts(filters: event_log.EventFilter) -> dict:
    choice = _chart_choice(filters)
    return {
        **choice,
        "status_chart": activity.events_by_status(filters, choice["chart_unit"]),
        "value_chart": activity.value_by_currency(filters),
    }


def _position(total: int, per_page: int, first: bool) -> dict:
    """Page N of M: the keyset cursor says where a page starts; its number travels in the links (?page=)."""
    pages = max(1, -(-total // per_page))
    number = 1 if first else request.args.get("page", type=int)
    if number is not None:
        number = min(max(number, 1), pages)
    return {"number": number, "pages": pages}


@bp.get("/events/export.csv")
@requires("read")
def export_csv():
    """Download the filtered list as CSV (streamed, so any size fits)."""
    return _export("csv")


@bp.get("/events/export.json")
@requires("read")
def export_json():
    """Download the filtered list as JSON, payloads included (streamed)."""
    return _export("json")


def _export(fmt: str) -> Response:
    _form, filters, _per = _event_filters()
    app = current_app._get_current_object()
    name = f"events-{utcnow():%Y%m%d-%H%M%S}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    return Response(
        event_log.export(filters, fmt, app),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.get("/events/<int:event_id>")
@requires("read")
def event(event_id: int):
    """Show one event: payload, every attempt with request and answer, and the decision behind it."""
    outbox_event = db.session.get(OutboxEvent, event_id) or abort(404)
    decision = db.session.scalars(select(Decision).where(Decision.outbox_event_id == event_id)).first()
    states = {}
    if decision:
        ids = [i for i in (decision.old_state_id, decision.new_state_id) if i]
        states = {s.id: s.name for s in db.session.scalars(select(OrderState).where(OrderState.id.in_(ids)))}
    return render_template(
        "delivery/event.html",
        **_event_live(outbox_event),
        payload=pretty(outbox_event.payload_json),
        decision=decision,
        states=states,
    )


@bp.get("/events/<int:event_id>/live")
@requires("read")
def event_live(event_id: int):
    """Serve the event page's live part alone: status, next try, attempts and their timeline."""
    outbox_event = db.session.get(OutboxEvent, event_id) or abort(404)
    return render_template("delivery/_event_live.html", **_event_live(outbox_event))


@bp.post("/events/<int:event_id>/retry-now")
@requires("events.resend")
def retry_now(event_id: int):
    """Try a pending event now instead of at its next try (same event, same attempts count)."""
    outbox_event = db.session.get(OutboxEvent, event_id) or abort(404)
    if not RetryNowForm().validate_on_submit():
        flash("The form expired: reload the page and try again.", "danger")
        return redirect(url_for(".event", event_id=event_id))
    try:
        dispatcher.retry_now(outbox_event)
    except dispatcher.NotWaiting as error:
        db.session.rollback()
        flash(f"Not retried: {error}.", "warning")
        return redirect(url_for(".event", event_id=event_id))
    db.session.commit()
    flash(f"Event {outbox_event.event_id} will be tried now.", "success")
    return redirect(url_for(".event", event_id=event_id))


def _event_live(outbox_event: OutboxEvent) -> dict:
    return {
        "event": outbox_event,
        "response": pretty(outbox_event.response_json),
        "attempts": outbox_event.attempt_rows,
        "timeline": activity.attempt_timeline(outbox_event),
        "pretty": pretty,
        "resend_form": ResendForm(),
        "retry_form": RetryNowForm(),
    }


@bp.post("/events/<int:event_id>/resend")
@requires("events.resend")
def resend(event_id: int):
    """Queue a failed event again with the same event_id."""
    outbox_event = db.session.get(OutboxEvent, event_id) or abort(404)
    form = ResendForm()
    if not form.validate_on_submit():
        flash("The form expired: reload the page and try again.", "danger")
        return redirect(url_for(".event", event_id=event_id))
    event_name = outbox_event.event_id
    try:
        requeue(outbox_event)
    except NotFailed as error:
        db.session.rollback()
        flash(f"Event {event_name}: {error}.", "warning")
        return redirect(url_for(".event", event_id=event_id))
    db.session.commit()
    flash(f"Event {outbox_event.event_id} is queued again with the same event_id.", "success")
    return redirect(url_for(".event", event_id=event_id))


@bp.get("/decisions")
@requires("read")
def decisions():
    """List what each module decided for each status change, newest first, filterable by destination and outcome."""
    form = _filter_form(DecisionFilterForm)
    filters = event_log.DecisionFilter(
        outcome=_valid(form.outcome) or None,
        destination=_valid(form.destination) or None,
        order_reference=(_valid(form.reference) or "").strip().upper() or None,
        order_id=id_arg(request.args, "order_id"),
    )
    before, after = id_arg(request.args, "before"), id_arg(request.args, "after")
    page = event_log.decisions_page(filters, _per_page(form), before=before, after=after)
    total = event_log.decision_count(filters)
    order_ids = {d.order_id for d in page.items}
    state_ids = {d.old_state_id for d in page.items} | {d.new_state_id for d in page.items}
    orders = {o.id: o.reference for o in db.session.scalars(select(Order).where(Order.id.in_(order_ids)))}
    states = {s.id: s.name for s in db.session.scalars(select(OrderState).where(OrderState.id.in_(state_ids)))}
    return render_template(
        "delivery/decisions.html",
        form=form,
        filters=filters,
        page=page,
        total=total,
        position=_position(total, _per_page(form), first=before is None and after is None),
        orders=orders,
        states=states,
        args=_filter_args(filters),
    )
