"""The reports' back-office pages: revenue and refunds, reconciliation, serial refunders."""

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from core.access import protect_browser_blueprint, requires
from extensions import db
from reports.csvfile import revenue_csv
from reports.definitions import DEFINITIONS, RECONCILIATION_DEFINITIONS
from reports.period import GROUPINGS, PeriodError, bounded_int, flag_from, grouping_from, period_from
from reports.reconciliation import enabled_destinations, reconcile, resendable, send_missing
from reports.revenue import CurrencyReport, revenue_report
from reports.serial import WINDOWS, audience_csv, serial_refunders, window_from

bp = Blueprint("reports", __name__, url_prefix="/admin/reports")
protect_browser_blueprint(bp)


def _asked():
    """Return (period, group_by, errors) from the query string; errors keyed by argument."""
    errors: dict[str, str] = {}
    period = group_by = None
    try:
        period = period_from(request.args.get("from"), request.args.get("to"))
    except PeriodError as error:
        errors[error.field] = error.message
    try:
        group_by = grouping_from(request.args.get("group_by"))
    except PeriodError as error:
        errors[error.field] = error.message
    return period, group_by, errors


@bp.get("/")
@requires("reports")
def revenue():
    """Show gross revenue, refunds, chargebacks, net revenue and refund rate per currency."""
    period, group_by, errors = _asked()
    reports = revenue_report(period, group_by) if not errors else []
    args = {key: request.args.get(key, "") for key in ("from", "to", "group_by")}
    csv_url = None
    if period:
        csv_url = url_for(
            "reports.revenue_export",
            **{"from": period.first.isoformat(), "to": period.last.isoformat()},
            group_by=group_by,
        )
    return render_template(
        "reports/revenue.html",
        period=period,
        group_by=group_by or "day",
        groupings=GROUPINGS,
        reports=reports,
        errors=errors,
        args=args,
        definitions=DEFINITIONS,
        csv_url=csv_url,
        chart_spec=lambda report: chart_spec(report, group_by),
    ), (422 if errors else 200)


@bp.get("/refunds.csv")
@requires("reports")
def revenue_export():
    """Download the report as CSV (the same period and grouping as the page)."""
    period, group_by, errors = _asked()
    if errors:
        return Response(
            "".join(f"{field}: {message}\n" for field, message in errors.items()), status=422, mimetype="text/plain"
        )
    name = f"refunds-{group_by}-{period.first}-{period.last}.csv"
    return Response(
        revenue_csv(revenue_report(period, group_by), group_by),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# A chart of more bars than this is unreadable; the table below it lists every row.
CHART_BARS = 20


def chart_spec(report: CurrencyReport, group_by: str) -> dict:
    """Return the chart of one currency: gross, refunds and net per day (line) or per group (bars)."""
    rows = report.rows if group_by == "day" else report.rows[:CHART_BARS]
    return {
        "type": "line" if group_by == "day" else "bar",
        "labels": [row.label for row in rows],
        "datasets": [
            {"label": "Gross", "data": [f"{row.gross:.2f}" for row in rows], "color": "#0072B2"},
            {"label": "Refunds", "data": [f"{row.refunds:.2f}" for row in rows], "color": "#D55E00"},
            {"label": "Net", "data": [f"{row.net:.2f}" for row in rows], "color": "#009E73"},
        ],
        "y_title": report.currency,
        "x_title": {"day": "Day (UTC)", "source": "Traffic source", "campaign": "Campaign", "product": "Product"}[
            group_by
        ],
    }


@bp.get("/serial-refunders")
@requires("reports")
def serial():
    """List the customers with N refunds or more in the last 30, 90 or 180 days."""
    try:
        days, minimum = window_from(request.args.get("days"), request.args.get("min_refunds"))
    except PeriodError as error:
        return render_template(
            "reports/serial.html",
            customers=[],
            errors={error.field: error.message},
            windows=WINDOWS,
            days=request.args.get("days", ""),
            minimum=request.args.get("min_refunds", ""),
        ), 422
    return render_template(
        "reports/serial.html",
        customers=serial_refunders(days, minimum),
        errors={},
        windows=WINDOWS,
        days=days,
        minimum=minimum,
    )


@bp.get("/serial-refunders.csv")
@requires("reports")
def serial_audience():
    """Download the serial refunders as a Meta customer list (EMAIL, PHONE hashed with SHA-256)."""
    try:
        days, minimum = window_from(request.args.get("days"), request.args.get("min_refunds"))
    except PeriodError as error:
        return Response(f"{error.field}: {error.message}\n", status=422, mimetype="text/plain")
    return Response(
        audience_csv(serial_refunders(days, minimum)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="serial-refunders-{days}d-min{minimum}.csv"'},
    )


def _reconciliation_args(source) -> tuple:
    """Read period, mismatches-only, order and destination from source (query or form); errors by field."""
    errors: dict[str, str] = {}
    values = {}
    readers = {
        "period": lambda: period_from(source.get("from"), source.get("to")),
        "mismatches": lambda: flag_from("mismatches", source.get("mismatches")),
        "order_id": lambda: bounded_int("order_id", source.get("order_id"), 0, 1, 2**62) or None,
        "page": lambda: bounded_int("page", source.get("page"), 1, 1, 1_000_000),
        "destination": lambda: _destination(source.get("destination")),
    }
    for name, read in readers.items():
        try:
            values[name] = read()
        except PeriodError as error:
            errors[error.field] = error.message
    return values, errors


def _destination(text: str | None) -> str | None:
    name = (text or "").strip()
    if not name:
        return None
    if name not in enabled_destinations():
        raise PeriodError("destination", "is not an enabled destination")
    return name


@bp.get("/reconciliation")
@requires("reports")
def reconciliation():
    """Show, per order, what the shop gave back against what each enabled destination was told."""
    values, errors = _reconciliation_args(request.args)
    result = None
    if not errors:
        result = reconcile(values["period"], mismatches_only=values["mismatches"], page=values["page"])
    period = values.get("period")
    pager_args = {}
    if period:
        pager_args = {"from": period.first.isoformat(), "to": period.last.isoformat()}
        if values["mismatches"]:
            pager_args["mismatches"] = 1
    return render_template(
        "reports/reconciliation.html",
        result=result,
        errors=errors,
        period=period,
        mismatches=values.get("mismatches", False),
        args={key: request.args.get(key, "") for key in ("from", "to")},
        pager_args=pager_args,
        definitions=RECONCILIATION_DEFINITIONS,
    ), (422 if errors else 200)


@bp.post("/reconciliation/send-missing")
@requires("events.resend")
def send_what_is_missing():
    """Ask to confirm, then queue again the failed events whose destination window is still open."""
    values, errors = _reconciliation_args(request.form)
    if errors:
        flash("; ".join(f"{field}: {message}" for field, message in errors.items()), "error")
        return redirect(url_for("reports.reconciliation"))
    period = values["period"]
    back = url_for(
        "reports.reconciliation",
        **{"from": period.first.isoformat(), "to": period.last.isoformat()},
        mismatches=1 if values["mismatches"] else None,
    )
    events = resendable(period, values["order_id"], values["destination"])
    if request.form.get("confirm") != "1":
        return render_template(
            "reports/send_missing_confirm.html", events=events, values=values, period=period, back=back
        )
    queued, refused = send_missing(event for event, _end in events)
    db.session.commit()
    flash(f"{queued} event{'s' if queued != 1 else ''} queued again.", "success" if queued else "info")
    for reason in refused[:5]:
        flash(reason, "warning")
    return redirect(back)
