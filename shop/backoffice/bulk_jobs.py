"""The back office's pages of a background bulk status change: its progress while it runs, its report after."""

from flask import abort, render_template
from sqlalchemy import select

from core.access import requires
from extensions import db
from shop.backoffice import bp
from shop.bulk_jobs import BulkJob
from shop.models import Order

REPORT_ROWS = 1_000  # skipped and failed orders listed on the page; the API gives them all


@bp.get("/orders/bulk-jobs/<int:job_id>")
@requires("read")
def bulk_job(job_id: int):
    """Show a bulk job: a progress bar polled while it runs, then what it changed, skipped and queued."""
    return render_template("backoffice/bulk_job.html", **_job_context(job_id))


@bp.get("/orders/bulk-jobs/<int:job_id>/progress")
@requires("read")
def bulk_job_progress(job_id: int):
    """The live part of the job's page (htmx polls it every 2 s until the job is over)."""
    return render_template("backoffice/_bulk_job_progress.html", **_job_context(job_id))


def _job_context(job_id: int) -> dict:
    job = db.session.get(BulkJob, job_id)
    if job is None:
        abort(404)
    report = job.report
    listed = report.get("failed", [])[:REPORT_ROWS] + report.get("skipped", [])[:REPORT_ROWS]
    ids = {row["id"] for row in listed if isinstance(row.get("id"), int) and 0 < row["id"] < 2**63}
    references = {}
    if ids:
        references = dict(db.session.execute(select(Order.id, Order.reference).where(Order.id.in_(ids))).all())
    return {"job": job, "report": report, "references": references, "report_rows": REPORT_ROWS}
