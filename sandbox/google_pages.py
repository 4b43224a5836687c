"""The sandbox's GA4, Google Ads and Webhooks tabs: what each received, its faults, and Ads' known conversions."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from core.access import protect_browser_blueprint, requires
from core.dbtypes import utcnow
from core.inputs import page_number
from extensions import db
from sandbox.faults import ERRORS, clean_faults, current_faults, set_faults
from sandbox.ga4.models import Ga4Hit
from sandbox.google_api import conversion_problem
from sandbox.googleads.models import AdsAdjustment, AdsConversion, register_conversions
from sandbox.webhooks.models import WebhookHit

bp = Blueprint("sandbox_google", __name__, url_prefix="/sandbox/services")
protect_browser_blueprint(bp)

PER_PAGE = 50
PAGES = {"ga4": "sandbox_google.ga4", "google_ads": "sandbox_google.googleads", "webhook": "sandbox_google.webhooks"}


@bp.get("/ga4")
@requires("sandbox")
def ga4():
    """List what the GA4 sandbox received, newest first."""
    page = db.paginate(
        select(Ga4Hit).order_by(Ga4Hit.id.desc()), page=request.args.get("page", 1, type=page_number), per_page=PER_PAGE
    )
    return render_template("sandbox/ga4.html", page=page, **_faults("ga4"))


@bp.get("/googleads")
@requires("sandbox")
def googleads():
    """List the adjustments the Google Ads sandbox received, newest first, and how many conversions it knows."""
    page = db.paginate(
        select(AdsAdjustment).order_by(AdsAdjustment.id.desc()),
        page=request.args.get("page", 1, type=page_number),
        per_page=PER_PAGE,
    )
    known = db.session.scalar(select(func.count()).select_from(AdsConversion))
    return render_template("sandbox/googleads.html", page=page, known=known, now=utcnow(), **_faults("google_ads"))


@bp.get("/webhooks")
@requires("sandbox")
def webhooks():
    """List what the webhook receivers got, newest first, with each signature's verification."""
    page = db.paginate(
        select(WebhookHit).order_by(WebhookHit.id.desc()),
        page=request.args.get("page", 1, type=page_number),
        per_page=PER_PAGE,
    )
    return render_template("sandbox/webhooks.html", page=page, **_faults("webhook"))


@bp.post("/<service>/faults")
@requires("sandbox")
def set_service_faults(service: str):
    """Set (or, with an empty error and no latency, clear) the service's faults."""
    if service not in PAGES:
        return redirect(url_for("sandbox.test_events"))
    body: dict = {}
    for name in ("latency_ms", "count"):
        raw = (request.form.get(name) or "").strip()
        if raw:
            body[name] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else raw
    if request.form.get("error"):
        body["error"] = request.form["error"]
    elif "count" in body:
        del body["count"]
    clean, problems = clean_faults(service, body)
    if problems:
        for name, message in problems.items():
            flash(f"{name}: {message}", "error")
    else:
        set_faults(service, clean)
        db.session.commit()
        flash("Faults set." if clean.get("error") or clean.get("latency_ms") else "Faults cleared.", "success")
    return redirect(url_for(PAGES[service]))


@bp.post("/googleads/conversions")
@requires("sandbox")
def register_conversion():
    """Register one conversion, as the storefront's conversion tag would have."""
    form = request.form
    item = {
        "order_id": (form.get("order_id") or "").strip(),
        "conversion_date_time": (form.get("conversion_date_time") or "").strip(),
        "value": (form.get("value") or "").strip() or None,
        "currency": (form.get("currency") or "").strip() or None,
    }
    customer_id, action_id = (form.get("customer_id") or "").strip(), (form.get("conversion_action_id") or "").strip()
    clean, problem = conversion_problem(customer_id, action_id, item)
    if problem:
        flash(f"Not registered: {problem}", "error")
    else:
        register_conversions(customer_id, action_id, [clean])
        db.session.commit()
        flash(f"Conversion {clean['order_id']} registered.", "success")
    return redirect(url_for("sandbox_google.googleads"))


def _faults(service: str) -> dict:
    faults = current_faults(service)
    return {"faults": faults if faults is not None and faults.active else None, "errors": ERRORS[service]}
