"""The Google Ads sandbox: uploadConversionAdjustments with Google's auth, row errors and request limits."""

from datetime import UTC, datetime, timedelta

import pytest

from app import DEMO_GOOGLEADS_TOKEN

CUSTOMER, ACTION = "1234567890", "987654321"
URL = f"/sandbox/googleads/v26/customers/{CUSTOMER}:uploadConversionAdjustments"
AUTH = {"Authorization": f"Bearer {DEMO_GOOGLEADS_TOKEN}"}


def google_time(moment: datetime) -> str:
    """'yyyy-mm-dd hh:mm:ss+hh:mm', written out here rather than taken from the module."""
    return moment.strftime("%Y-%m-%d %H:%M:%S+00:00")


def adjustment(order_id: str, kind: str = "RETRACTION", at: datetime | None = None, value: str | None = None) -> dict:
    row = {
        "conversionAction": f"customers/{CUSTOMER}/conversionActions/{ACTION}",
        "adjustmentType": kind,
        "adjustmentDateTime": google_time(at or datetime.now(UTC) - timedelta(minutes=1)),
        "orderId": order_id,
    }
    if value is not None:
        row["restatementValue"] = {"adjustedValue": value, "currencyCode": "EUR"}
    return row


def upload(client, rows, **extra):
    return client.post(URL, json={"conversionAdjustments": rows, "partialFailure": True, **extra}, headers=AUTH)


@pytest.fixture
def conversions(api):
    """Register orders A, B, C as converted two days ago, and OLD as converted 55 days ago."""

    def register(orders: dict[str, datetime]):
        body = {
            "customer_id": CUSTOMER,
            "conversion_action_id": ACTION,
            "conversions": [
                {"order_id": order, "conversion_date_time": at.isoformat(), "value": "67.56", "currency": "EUR"}
                for order, at in orders.items()
            ],
        }
        response = api.put("/sandbox/api/googleads/conversions", body, "tester")
        assert response.status_code == 200, response.get_json()

    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    register({"A": two_days_ago, "B": two_days_ago, "C": two_days_ago, "OLD": datetime.now(UTC) - timedelta(days=55)})
    return register


def row_errors(body) -> dict[int, str]:
    """{row index: error code} from a partialFailureError."""
    found = {}
    for detail in body["partialFailureError"]["details"]:
        assert detail["@type"] == "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure"
        for error in detail["errors"]:
            [code] = error["errorCode"].values()
            found[error["location"]["fieldPathElements"][0]["index"]] = code
    return found


def test_restatement_then_retraction_are_applied(client, api, conversions):
    first = datetime.now(UTC) - timedelta(minutes=5)
    response = upload(client, [adjustment("A", "RESTATEMENT", first, "43.68"), adjustment("B")])
    assert response.status_code == 200
    body = response.get_json()
    assert "partialFailureError" not in body
    assert body["results"][0] == {
        "conversionAction": f"customers/{CUSTOMER}/conversionActions/{ACTION}",
        "adjustmentDateTime": google_time(first),
        "adjustmentType": "RESTATEMENT",
        "orderId": "A",
    }
    assert body["jobId"].isdigit() and 0 < int(body["jobId"]) < 2**63
    received = api.get("/sandbox/api/received?destination=google_ads", "tester").get_json()
    assert [(r["adjustment"]["orderId"], r["applied"], r["error_code"]) for r in received] == [
        ("A", True, None),
        ("B", True, None),
    ]
    assert received[0]["adjustment"]["restatementValue"]["adjustedValue"] == "43.68"


def test_row_errors_ride_in_partial_failure_error_with_their_index(client, conversions):
    now = datetime.now(UTC)
    upload(client, [adjustment("B", at=now - timedelta(minutes=30))])  # B retracted earlier
    upload(client, [adjustment("C", "RESTATEMENT", now - timedelta(minutes=10), "10.00")])
    rows = [
        adjustment("A", "RESTATEMENT", now - timedelta(minutes=3), "50.00"),  # 0 ok
        adjustment("NOPE"),  # 1 unknown order
        adjustment("OLD"),  # 2 past 54 days
        adjustment("B", at=now - timedelta(minutes=1)),  # 3 already retracted
        adjustment("A", at=now - timedelta(days=3)),  # 4 before the conversion
        adjustment("C", "RESTATEMENT", now - timedelta(minutes=20), "5.00"),  # 5 older than C's restatement
        adjustment("C", "RESTATEMENT", now - timedelta(minutes=10), "5.00"),  # 6 same time as C's restatement
        adjustment("A", "RESTATEMENT", now - timedelta(minutes=3), "40.00"),  # 7 same conversion and time as row 0
    ]
    response = upload(client, rows)
    assert response.status_code == 200
    body = response.get_json()
    assert row_errors(body) == {
        1: "CONVERSION_NOT_FOUND",
        2: "CONVERSION_EXPIRED",
        3: "CONVERSION_ALREADY_RETRACTED",
        4: "ADJUSTMENT_PRECEDES_CONVERSION",
        5: "MORE_RECENT_RESTATEMENT_FOUND",
        6: "RESTATEMENT_ALREADY_EXISTS",
        7: "DUPLICATE_ADJUSTMENT_IN_REQUEST",
    }
    assert body["partialFailureError"]["code"] == 3
    assert "at conversion_adjustments[1].order_id" in body["partialFailureError"]["message"]
    assert body["results"][0]["orderId"] == "A" and all(result == {} for result in body["results"][1:])


def test_validate_only_applies_nothing(client, conversions):
    assert "partialFailureError" not in upload(client, [adjustment("A")], validateOnly=True).get_json()
    assert "partialFailureError" not in upload(client, [adjustment("A")]).get_json()


def test_partial_failure_is_required(client, conversions):
    response = client.post(URL, json={"conversionAdjustments": [adjustment("A")]}, headers=AUTH)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["errors"][0]["errorCode"] == {"partialFailureError": "PARTIAL_FAILURE_MODE_REQUIRED"}


def test_more_than_2000_adjustments_are_refused_whole(client, conversions):
    response = upload(client, [adjustment(f"O{i}") for i in range(2001)])
    assert response.status_code == 400
    codes = response.get_json()["error"]["details"][0]["errors"][0]["errorCode"]
    assert codes == {"conversionAdjustmentUploadError": "TOO_MANY_ADJUSTMENTS_IN_REQUEST"}
    assert (
        row_errors(upload(client, [adjustment(f"O{i}") for i in range(2000)]).get_json())[1999]
        == "CONVERSION_NOT_FOUND"
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": DEMO_GOOGLEADS_TOKEN}],
)
def test_bearer_token_is_required(client, headers):
    response = client.post(
        URL, json={"conversionAdjustments": [adjustment("A")], "partialFailure": True}, headers=headers
    )
    assert response.status_code == 401 and response.get_json()["error"]["status"] == "UNAUTHENTICATED"


def test_developer_token_is_ignored_and_login_customer_id_recorded(client, api, conversions):
    headers = {**AUTH, "developer-token": "anything", "login-customer-id": "1112223334"}
    response = client.post(
        URL, json={"conversionAdjustments": [adjustment("A")], "partialFailure": True}, headers=headers
    )
    assert response.status_code == 200
    [row] = api.get("/sandbox/api/received?destination=google_ads", "tester").get_json()
    assert row["login_customer_id"] == "1112223334"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (URL.replace("v26", "v12"), 404),
        (URL.replace(CUSTOMER, "123-456-7890"), 400),
    ],
)
def test_unknown_version_and_bad_customer_id(client, url, status):
    response = client.post(url, json={"conversionAdjustments": [adjustment("A")], "partialFailure": True}, headers=AUTH)
    assert response.status_code == status and "error" in response.get_json()


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"adjustmentDateTime": "2026-11-29T10:00:00Z"}, "INVALID_FIELD_VALUES_IN_DATE_TIME"),
        ({"adjustmentDateTime": "2026-02-30 10:00:00+00:00"}, "INVALID_FIELD_VALUES_IN_DATE_TIME"),
        ({"adjustmentType": "RESTATEMENT"}, "REQUIRED"),
        ({"adjustmentType": "BOGUS"}, "INVALID_VALUE"),
        ({"conversionAction": "customers/999/conversionActions/1"}, "RESOURCE_NAME_MALFORMED"),
        ({"orderId": 2**64}, "INVALID_VALUE"),
        ({"adjustmentType": "RESTATEMENT", "restatementValue": {"adjustedValue": -1}}, "TOO_LOW"),
        ({"adjustmentType": "RESTATEMENT", "restatementValue": {"adjustedValue": "NaN"}}, "INVALID_VALUE"),
        ({"adjustmentDateTime": "2099-01-01 00:00:00+00:00"}, "LATER_THAN_MAXIMUM_DATE"),
    ],
)
def test_malformed_rows_are_row_errors(client, conversions, row, code):
    response = upload(client, [{**adjustment("A"), **row}])
    assert response.status_code == 200 and row_errors(response.get_json()) == {0: code}


@pytest.mark.parametrize(
    "raw", [b"nope", b"[1]", b"{" * 50_000, b'{"conversionAdjustments": "x", "partialFailure": true}']
)
def test_malformed_bodies_get_400(client, raw):
    response = client.post(URL, data=raw, content_type="application/json", headers=AUTH)
    assert response.status_code == 400 and response.get_json()["error"]["status"] == "INVALID_ARGUMENT"


def test_conversions_api_refuses_bad_input_and_writes_nothing(api):
    bad = {
        "customer_id": "123",
        "conversion_action_id": "x",
        "conversions": [{"order_id": "", "conversion_date_time": "yesterday"}],
    }
    response = api.put("/sandbox/api/googleads/conversions", bad, "tester")
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"customer_id", "conversion_action_id", "conversions[0]"}
    assert api.get("/sandbox/api/googleads/conversions", "tester").get_json() == []


def test_faults_answer_unavailable(client, api, conversions):
    assert api.put("/sandbox/api/googleads/faults", {"error": "unavailable", "count": 1}, "tester").status_code == 200
    assert upload(client, [adjustment("A")]).status_code == 503
    assert upload(client, [adjustment("A")]).status_code == 200


def test_sandbox_tab_shows_adjustments_and_registers_a_conversion(client, auth, conversions):
    upload(client, [adjustment("A", "RESTATEMENT", value="43.68"), adjustment("NOPE")])
    auth.login("tester")
    page = client.get("/sandbox/services/googleads").get_data(as_text=True)
    assert "43.68 EUR" in page and "CONVERSION_NOT_FOUND" in page and "4 conversions known" in page
    form = {
        "customer_id": CUSTOMER,
        "conversion_action_id": ACTION,
        "order_id": "NEWORDER1",
        "conversion_date_time": datetime.now(UTC).isoformat(),
        "value": "10.00",
        "currency": "EUR",
    }
    assert client.post("/sandbox/services/googleads/conversions", data=form).status_code == 302
    assert "5 conversions known" in client.get("/sandbox/services/googleads").get_data(as_text=True)
    bad = client.post(
        "/sandbox/services/googleads/conversions", data={**form, "customer_id": "12"}, follow_redirects=True
    )
    assert "Not registered" in bad.get_data(as_text=True)
    assert "5 conversions known" in bad.get_data(as_text=True)
