"""The reports' JSON API: /api/reports/refunds and /api/reports/reconciliation (merchant, tester)."""

from flask import Blueprint, jsonify, request

from core.access import protect_api_blueprint, requires
from core.apierrors import ApiError, register_json_errors
from extensions import csrf
from reports.definitions import DEFINITIONS, RECONCILIATION_DEFINITIONS
from reports.period import PeriodError, bounded_int, flag_from, grouping_from, period_from
from reports.reconciliation import reconcile
from reports.revenue import revenue_report
from reports.serial import serial_refunders, window_from
from reports.summary import behind

bp = Blueprint("reports_api", __name__, url_prefix="/api/reports")
csrf.exempt(bp)  # API calls authenticate with a key, never the session cookie
protect_api_blueprint(bp)
register_json_errors(bp)


def _checked(read):
    """Run read(); a PeriodError becomes a 422 naming the argument."""
    try:
        return read()
    except PeriodError as error:
        raise ApiError(422, "invalid", f"{error.field}: {error.message}", {error.field: error.message}) from None


@bp.get("/refunds")
@requires("reports")
def refunds():
    """Gross, refunds, chargebacks, net and refund rate per currency, grouped by day, source, campaign or product."""
    period = _checked(lambda: period_from(request.args.get("from"), request.args.get("to")))
    group_by = _checked(lambda: grouping_from(request.args.get("group_by")))
    currencies = revenue_report(period, group_by)
    return jsonify(
        {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "group_by": group_by,
            "currencies": [report.as_json() for report in currencies],
            "definitions": DEFINITIONS,
            "pending_changes": behind(),
        }
    )


@bp.get("/serial-refunders")
@requires("reports")
def serial():
    """Customers with min_refunds refunds or more in the last days (30, 90, 180) days."""
    days, minimum = _checked(lambda: window_from(request.args.get("days"), request.args.get("min_refunds")))
    return jsonify(
        {
            "days": days,
            "min_refunds": minimum,
            "customers": [
                {
                    "email": customer.email,
                    "name": customer.name,
                    "refunds": customer.refunds,
                    "refunded_orders": customer.refunded_orders,
                    "last_refund_at": customer.last_refund_at.isoformat(),
                }
                for customer in serial_refunders(days, minimum)
            ],
            "pending_changes": behind(),
        }
    )


@bp.get("/reconciliation")
@requires("reports")
def reconciliation():
    """Per order, what the shop gave back and what each enabled destination was told, with totals."""
    period = _checked(lambda: period_from(request.args.get("from"), request.args.get("to")))
    mismatches = _checked(lambda: flag_from("mismatches", request.args.get("mismatches")))
    limit = _checked(lambda: bounded_int("limit", request.args.get("limit"), 200, 1, 1000))
    page = _checked(lambda: bounded_int("page", request.args.get("page"), 1, 1, 1_000_000))
    result = reconcile(period, mismatches_only=mismatches, page=page, per_page=limit)
    return jsonify(
        {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "mismatches_only": mismatches,
            "destinations": result.destinations,
            "orders_total": result.orders_total,
            "mismatches": result.mismatches,
            "page": page,
            "limit": limit,
            "orders": [order.as_json() for order in result.orders],
            "totals": {
                currency: {
                    "refunded": f"{result.refunded[currency]:.2f}",
                    "destinations": {name: told.as_json() for name, told in sums.items()},
                }
                for currency, sums in sorted(result.totals.items())
            },
            "definitions": RECONCILIATION_DEFINITIONS,
            "pending_changes": behind(),
        }
    )
