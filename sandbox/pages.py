"""The "Test events" page (/sandbox/), in the spirit of Meta's Events Manager, for testers and up."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from core.access import protect_browser_blueprint, requires
from core.csvsafe import csv_line
from core.dbtypes import utcnow
from core.inputs import page_number
from extensions import db
from sandbox.activity import received_per_minute
from sandbox.api import received_query
from sandbox.faults import META, clean_faults, current_faults, set_faults
from sandbox.forms import ConfirmForm, EventFilterForm, FaultsForm, choice
from sandbox.models import ErrorAnswer, ReceivedEvent
from sandbox.own_choices import OWN_CHOICES
from sandbox.receiver import forget_everything
from sandbox.validation import HASHED_USER_DATA
from sandbox.versions import available_versions

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
protect_browser_blueprint(bp)

PER_PAGE = 50
RECENT_ERRORS = 20


@bp.get("/")
@requires("sandbox")
def test_events():
    """List received events newest first, filtered, with recent errors and the current faults."""
    filters = EventFilterForm(request.args)
    pixels = sorted(current_app.config["SANDBOX_PIXELS"])
    filters.pixel_id.choices = [choice("", "All pixels")] + [choice(pixel, pixel) for pixel in pixels]
    pixel_id, test_event_code = _feed_filters()
    if pixel_id and pixel_id not in pixels:
        filters.pixel_id.choices.append(choice(pixel_id, pixel_id))
    faults = current_faults(META)
    faults_form = FaultsForm(data=_faults_form_data(faults))
    return render_template(
        "sandbox/test_events.html",
        filters=filters,
        **_feed(pixel_id, test_event_code),
        faults=faults if faults is not None and faults.active else None,
        faults_form=faults_form,
        confirm_form=ConfirmForm(),
        own_choices=OWN_CHOICES,
        graph_version=available_versions(utcnow().date())[-1],
    )


@bp.get("/feed")
@requires("sandbox")
def feed():
    """Serve the page's live part alone (htmx polls it): totals, the per-minute chart, events and errors."""
    return render_template("sandbox/_feed.html", **_feed(*_feed_filters()))


@bp.get("/activity.csv")
@requires("sandbox")
def activity_csv():
    """Download the per-minute chart's data as CSV."""
    spec = received_per_minute(*_feed_filters())
    lines = [csv_line(["minute_utc", *(dataset["label"] for dataset in spec["datasets"])])]
    for index, label in enumerate(spec["labels"]):
        lines.append(csv_line([label, *(dataset["data"][index] for dataset in spec["datasets"])]))
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="sandbox-per-minute.csv"', "Cache-Control": "no-store"},
    )


def _feed_filters() -> tuple[str | None, str | None]:
    pixel_id = request.args.get("pixel_id") or None
    test_event_code = (request.args.get("test_event_code") or "").strip() or None
    return pixel_id, test_event_code


def _feed(pixel_id: str | None, test_event_code: str | None) -> dict:
    """What the live part shows: one page of received events, recent error answers, the per-minute chart."""
    query = received_query(pixel_id, test_event_code).order_by(ReceivedEvent.id.desc())
    page = db.paginate(query, page=request.args.get("page", 1, type=page_number), per_page=PER_PAGE, error_out=False)
    errors_query = select(ErrorAnswer).order_by(ErrorAnswer.id.desc()).limit(RECENT_ERRORS)
    if pixel_id:
        errors_query = errors_query.where(ErrorAnswer.pixel_id == pixel_id)
    return {
        "page": page,
        "pixel_id": pixel_id,
        "test_event_code": test_event_code,
        "errors": db.session.scalars(errors_query).all(),
        "activity": received_per_minute(pixel_id, test_event_code),
    }


@bp.get("/events/<int:event_id>")
@requires("sandbox")
def event_detail(event_id: int):
    """Show one received event's parameters, hashed fields labelled."""
    received = db.session.get(ReceivedEvent, event_id)
    if received is None:
        abort(404)
    return render_template("sandbox/event.html", received=received, rows=parameter_rows(received.event))


@bp.post("/faults")
@requires("sandbox")
def set_faults_page():
    """Set the faults from the page's form."""
    form = FaultsForm()
    if form.validate_on_submit():
        clean, problems = clean_faults(META, form.to_body())
        if not problems:
            set_faults(META, clean)
            db.session.commit()
            flash("Faults set: the next Graph requests will be affected.", "success")
            return redirect(url_for("sandbox.test_events"))
        for name, message in problems.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
    for field in form:
        for message in field.errors:
            flash(f"{field.label.text}: {message}", "error")
    return redirect(url_for("sandbox.test_events"))


@bp.post("/faults/clear")
@requires("sandbox")
def clear_faults_page():
    """Clear the faults."""
    if ConfirmForm().validate_on_submit():
        set_faults(META, {})
        db.session.commit()
        flash("Faults cleared: the sandbox answers normally.", "success")
    else:
        flash("The form expired; try again.", "error")
    return redirect(url_for("sandbox.test_events"))


@bp.post("/received/clear")
@requires("sandbox.manage")
def forget_received_page():
    """Forget every received event and error answer."""
    if ConfirmForm().validate_on_submit():
        events, errors = forget_everything()
        db.session.commit()
        flash(f"Forgot {events} received events and {errors} error answers.", "success")
    else:
        flash("The form expired; try again.", "error")
    return redirect(url_for("sandbox.test_events"))


def _faults_form_data(faults) -> dict:
    if faults is None:
        return {}
    return {
        "latency_ms": faults.latency_ms,
        "error": faults.error or "",
        "error_rate": faults.error_rate,
        "count": faults.remaining,
        "hang_ms": faults.hang_ms,
    }


def parameter_rows(event: dict, prefix: str = "") -> list[tuple[str, str, str]]:
    """Flatten an event into (parameter, value, label) rows; label is "hashed" for hashed user data."""
    rows: list[tuple[str, str, str]] = []
    for key, value in event.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            rows.extend(parameter_rows(value, name))
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            for position, item in enumerate(value):
                item_name = f"{name}[{position}]"
                if isinstance(item, dict):
                    rows.extend(parameter_rows(item, item_name))
                else:
                    rows.append((item_name, str(item), ""))
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            rows.append((name, shown, _label(prefix, key)))
    return rows


def _label(prefix: str, key: str) -> str:
    if prefix != "user_data":
        return ""
    if key in HASHED_USER_DATA:
        return "hashed"
    if key == "external_id":
        return "hashed or raw"
    return "raw"
