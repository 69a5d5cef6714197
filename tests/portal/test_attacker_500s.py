"""Each 500 an attacker found (#12), reproduced: now a clear 4xx or a sane default."""

import base64
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from portal.exam import attempt_start
from tests.metrics.test_api_world import DAY, batch, record  # noqa: F401  (fixtures' helpers)
from tests.portal.conftest import complete_all


@pytest.fixture
def raw_client(client):
    client.raise_request_exception = False  # the status a real server would send
    return client


@pytest.mark.parametrize(
    ("start", "end"),
    [("0001-01-01", "0001-01-01"), ("9999-12-30", "9999-12-31"), ("0001-01-01", "0001-12-31")],
)
def test_dashboard_extreme_dates_fall_back_to_the_month_to_date(raw_client, people, start, end):
    raw_client.force_login(people["admin"])
    response = raw_client.get("/dashboard/", {"start": start, "end": end})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/spend/", "/api/v1/kpis/", "/api/v1/rankings/", "/api/v1/comparison/"]
)
@pytest.mark.parametrize(
    ("start", "end"), [("0001-01-01", "0001-01-01"), ("9999-12-30", "9999-12-31")]
)
def test_api_extreme_dates_are_a_400(raw_client, people, path, start, end):
    raw_client.force_login(people["admin"])
    response = raw_client.get(path, {"start": start, "end": end})
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("since", ["2024-02-30T00:00:00", "2024-13-01T00:00:00", "yesterday"])
def test_xapi_since_an_impossible_date_is_a_400(raw_client, people, since):
    raw_client.force_login(people["admin"])
    response = raw_client.get("/learn/xapi.json", {"since": since})
    assert response.status_code == 400
    assert "since" in response.json()["error"]
    assert raw_client.get("/learn/xapi.json", {"since": "2024-02-28T00:00:00"}).status_code == 200


@pytest.mark.parametrize(
    "raw", [b"p=abc", b"p=0001-13-45&o=1", b"o=-1", b"r=1&p=" + b"9" * 50, b"\xff\xfe"]
)
def test_records_cursor_garbage_is_a_404(raw_client, people, raw):
    raw_client.force_login(people["admin"])
    cursor = base64.b64encode(raw).decode()
    response = raw_client.get("/api/v1/records/?" + urlencode({"cursor": cursor}))
    assert response.status_code == 404, response.content
    assert response.json()["detail"] == "Invalid cursor"


@pytest.mark.parametrize("go", ["²", "\u0661", "9" * 5000, "-1", ""])
def test_exam_answer_with_a_non_ascii_or_huge_go_is_no_500(raw_client, people, curriculum, go):
    engineer = people["engineer"]
    complete_all(engineer)
    attempt = attempt_start(user=engineer, exam=curriculum)
    raw_client.force_login(engineer)
    url = reverse("portal:attempt_question", args=[attempt.public_id, 1])
    response = raw_client.post(url, {"choice": ["1"], "go": go})
    assert response.status_code == 302
