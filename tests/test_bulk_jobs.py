"""Bulk status changes above the threshold: a background job with a lease, resumed after a kill, with a report."""

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.dbtypes import utcnow
from delivery.models import OutboxEvent
from extensions import db
from shop import bulk_jobs, status
from shop.bulk_jobs import DONE, LEASE, QUEUED, RUNNING, BulkJob, claim, run_pending, run_slice
from shop.models import OrderHistory, OrderState
from tests.bench.bench_bulk_change import enable_every_module
from tests.conftest import wait_for

DESTINATIONS = {"meta_capi", "ga4", "google_ads", "webhook"}


@pytest.fixture
def app_config(app_config):
    return {
        **app_config,
        "BULK_BACKGROUND_THRESHOLD": 5,
        "BULK_JOBS": "manual",  # the tests run the jobs themselves, as `flask shop bulk-jobs` does
        "DELIVERY_ALLOWED_HOSTS": [*app_config["DELIVERY_ALLOWED_HOSTS"], "127.0.0.1:9"],
    }


@pytest.fixture
def every_module(app):
    with app.app_context():
        enable_every_module()
        db.session.commit()


def state_id(app, key: str) -> int:
    with app.app_context():
        return db.session.scalar(select(OrderState.id).filter_by(key=key))


def refunds_per_order(app, ids) -> Counter:
    with app.app_context():
        refunded = db.session.scalar(select(OrderState.id).filter_by(key="PS_OS_REFUND"))
        rows = db.session.scalars(
            select(OrderHistory.order_id).where(OrderHistory.order_id.in_(ids), OrderHistory.state_id == refunded)
        )
        return Counter(rows)


def events_per_order(app, ids) -> Counter:
    with app.app_context():
        return Counter(db.session.scalars(select(OutboxEvent.order_id).where(OutboxEvent.order_id.in_(ids))))


def test_the_api_answers_202_with_the_job_and_the_job_reports_when_done(app, api, every_module, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(6)]
    already = make_order("PS_OS_REFUND")
    listed = [*ids, already, 987_654, ids[0]]
    response = api.post("/api/orders/bulk-status", {"order_ids": listed, "state_id": state_id(app, "PS_OS_REFUND")})
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    url = body["url"]
    assert response.headers["Location"].endswith(url) and url == f"/api/bulk-jobs/{body['job']['id']}"
    assert body["job"]["status"] == QUEUED and body["job"]["total"] == 9 and body["job"]["done"] == 0
    assert refunds_per_order(app, ids) == {}, "nothing changed inside the request"

    with app.app_context():
        assert run_pending() == 1
    job = api.get(url).get_json()
    assert job["status"] == DONE and job["done"] == 9 and job["changed"] == 6
    assert job["skipped"] == [
        {"id": already, "reason": "already in state Refunded"},
        {"id": 987_654, "reason": "no such order"},
        {"id": ids[0], "reason": "listed twice"},
    ]
    assert job["failed"] == [] and (job["skipped_count"], job["failed_count"]) == (3, 0)
    assert job["events"] == {destination: 6 for destination in DESTINATIONS}
    assert refunds_per_order(app, ids) == {i: 1 for i in ids}


def test_at_the_threshold_the_change_stays_in_the_request(app, api, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(5)]
    response = api.post("/api/orders/bulk-status", {"order_ids": ids, "state_id": state_id(app, "PS_OS_REFUND")})
    assert response.status_code == 200 and response.get_json()["changed"] == ids
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BulkJob)) == 0


def test_a_killed_job_is_resumed_by_another_process_and_no_order_changes_twice(
    app, api, every_module, make_order, monkeypatch
):
    monkeypatch.setattr(bulk_jobs, "SLICE", 3)
    ids = [make_order("PS_OS_PAYMENT") for _ in range(8)]
    response = api.post("/api/orders/bulk-status", {"order_ids": ids, "state_id": state_id(app, "PS_OS_REFUND")})
    job_id = response.get_json()["job"]["id"]

    with app.app_context():
        job = claim("process-a")
        assert job.id == job_id and job.lease_owner == "process-a"
        assert run_slice(job, "process-a") is True  # the first 3 orders, committed with the progress

        # Process A dies in the middle of its second slice: the orders were changed in its transaction,
        # which never commits (a killed process's connection rolls back).
        real = status.change_states

        def killed(*args, **kwargs):
            real(*args, **kwargs)
            raise KeyboardInterrupt("SIGKILL")

        monkeypatch.setattr(status, "change_states", killed)
        with pytest.raises(KeyboardInterrupt):
            run_slice(job, "process-a")
        db.session.rollback()
        monkeypatch.setattr(status, "change_states", real)
        db.session.expire_all()
        assert (job.position, job.status) == (3, RUNNING)

        assert claim("process-b") is None, "the lease still holds"
        resumed = claim("process-b", now=utcnow() + LEASE + timedelta(seconds=1))
        assert resumed.id == job_id and resumed.lease_owner == "process-b"
        while run_slice(resumed, "process-b"):
            pass
        # Process A comes back to life: its lease is gone, it changes nothing.
        assert run_slice(job, "process-a") is False

    job = api.get(f"/api/bulk-jobs/{job_id}").get_json()
    assert job["status"] == DONE and job["changed"] == 8 and job["skipped"] == [] and job["failed"] == []
    assert refunds_per_order(app, ids) == {i: 1 for i in ids}
    assert events_per_order(app, ids) == {i: 4 for i in ids}
    assert job["events"] == {destination: 8 for destination in DESTINATIONS}


def test_a_second_bulk_on_the_same_orders_while_the_job_runs(app, api, every_module, make_order, monkeypatch):
    monkeypatch.setattr(bulk_jobs, "SLICE", 4)
    ids = [make_order("PS_OS_PAYMENT") for _ in range(8)]
    refunded = state_id(app, "PS_OS_REFUND")
    first = api.post("/api/orders/bulk-status", {"order_ids": ids, "state_id": refunded}).get_json()["job"]["id"]
    with app.app_context():
        job = claim("process-a")
        assert run_slice(job, "process-a") is True  # half done
    # An admin changes some of the same orders meanwhile, under the threshold (in the request), then
    # another admin queues the whole list again.
    small = api.post("/api/orders/bulk-status", {"order_ids": ids[2:6], "state_id": refunded}).get_json()
    assert small["changed"] == ids[4:6]
    assert {s["reason"] for s in small["skipped"]} == {"already in state Refunded"}
    second = api.post("/api/orders/bulk-status", {"order_ids": ids, "state_id": refunded}).get_json()["job"]["id"]
    with app.app_context():
        job = db.session.get(BulkJob, first)
        while run_slice(job, "process-a"):
            pass
        assert run_pending() == 1
    one, two = (api.get(f"/api/bulk-jobs/{i}").get_json() for i in (first, second))
    assert one["changed"] == 6 and [s["id"] for s in one["skipped"]] == ids[4:6]
    assert two["changed"] == 0 and [s["id"] for s in two["skipped"]] == ids
    assert refunds_per_order(app, ids) == {i: 1 for i in ids}
    assert events_per_order(app, ids) == {i: 4 for i in ids}


def test_ten_thousand_ids_most_of_them_unknown(app, api, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(3)]
    unknown = list(range(10_000_000, 10_000_000 + 9_997))
    listed = [ids[0], *unknown[:5000], ids[1], *unknown[5000:], ids[2]]
    refunded = state_id(app, "PS_OS_REFUND")
    response = api.post("/api/orders/bulk-status", {"order_ids": listed, "state_id": refunded})
    assert response.status_code == 202
    with app.app_context():
        run_pending()
    job = api.get(response.get_json()["url"]).get_json()
    assert job["status"] == DONE and job["done"] == 10_000 and job["changed"] == 3
    assert len(job["skipped"]) == 9_997 and {s["reason"] for s in job["skipped"]} == {"no such order"}
    # Ids past the database's integers are refused with the request: no job.
    huge = api.post("/api/orders/bulk-status", {"order_ids": [ids[0], 2**63, *unknown[:10]], "state_id": refunded})
    assert huge.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BulkJob)) == 1


def test_the_back_office_runs_a_large_bulk_change_as_a_job_with_a_progress_page(app, client, auth, make_order):
    ids = [make_order("PS_OS_PAYMENT") for _ in range(7)]
    auth.login("superadmin")
    response = client.post(
        "/admin/orders/bulk-status/confirm",
        data={"order_ids": ",".join(map(str, ids)), "state_id": state_id(app, "PS_OS_REFUND")},
    )
    assert response.status_code == 302
    page_url = response.headers["Location"]
    with app.app_context():
        job = db.session.scalar(select(BulkJob))
        assert page_url.endswith(f"/admin/orders/bulk-jobs/{job.id}")
    page = client.get(page_url).get_data(as_text=True)
    assert 'id="bulk-job-progress"' in page and 'max="7" value="0"' in page
    assert "data-live" in page and f"/admin/orders/bulk-jobs/{job.id}/progress" in page  # polled while it runs
    assert "<script>" not in page.replace('<script src="', "")  # no inline script: the CSP forbids it

    with app.app_context():
        run_pending()
    fragment = client.get(f"{page_url}/progress").get_data(as_text=True)
    assert 'data-status="done"' in fragment and "data-live" not in fragment  # still once over
    assert 'max="7" value="7"' in fragment and "<strong>7</strong> changed" in fragment
    assert client.get("/admin/orders/bulk-jobs/999999").status_code == 404


def test_in_thread_mode_a_thread_of_the_web_process_runs_the_job(app, api, make_order):
    app.config["BULK_JOBS"] = "thread"
    ids = [make_order("PS_OS_PAYMENT") for _ in range(6)]
    response = api.post("/api/orders/bulk-status", {"order_ids": ids, "state_id": state_id(app, "PS_OS_REFUND")})
    assert response.status_code == 202
    url = response.get_json()["url"]
    wait_for(lambda: api.get(url).get_json()["status"] == DONE, timeout=60, message="the job to finish")
    assert api.get(url).get_json()["changed"] == 6
    assert refunds_per_order(app, ids) == {i: 1 for i in ids}


def test_an_unexpected_error_fails_the_job_and_keeps_its_committed_slices(app, api, make_order, monkeypatch):
    monkeypatch.setattr(bulk_jobs, "SLICE", 3)
    ids = [make_order("PS_OS_PAYMENT") for _ in range(7)]
    response = api.post("/api/orders/bulk-status", {"order_ids": ids, "state_id": state_id(app, "PS_OS_REFUND")})
    real, calls = status.change_states, []

    def second_slice_breaks(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("a bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(status, "change_states", second_slice_breaks)
    with app.app_context():
        assert run_pending() == 0
    job = api.get(response.get_json()["url"]).get_json()
    assert job["status"] == "failed" and job["done"] == 3 and job["changed"] == 3
    assert refunds_per_order(app, ids) == {i: 1 for i in ids[:3]}
