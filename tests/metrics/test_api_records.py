"""GET /api/v1/records/: scoped, filtered, cursor-paginated, CSV streamed."""

import csv
import io
from datetime import timedelta

import pytest

from tests.metrics.test_api_world import DAY, batch, record


@pytest.fixture
def lines(teams):
    ml, search = teams["ml-platform"], teams["search"]
    b = batch()
    return {
        "a": record(b, ml, DAY, "1.10", application_key="chat", model="gpt-4o"),
        "b": record(b, ml, DAY + timedelta(days=1), "2.20", provider="anthropic", model="claude"),
        "c": record(b, ml, DAY + timedelta(days=2), "-0.30", model="=HYPERLINK(1)"),
        "s": record(b, search, DAY, "9.90"),
        "u": record(b, None, DAY, "5.50", provider="aws", model=""),
    }


def ids(response):
    return [r["id"] for r in response.json()["results"]]


def test_engineer_sees_own_team_newest_day_first(client, people, lines):
    client.force_login(people["engineer"])
    response = client.get("/api/v1/records/")
    assert ids(response) == [lines["c"].pk, lines["b"].pk, lines["a"].pk]
    first = response.json()["results"][-1]
    assert first["team"] == "ml-platform" and first["effective_cost"] == "1.10"
    assert first["currency"] == "USD" and first["day"] == DAY.isoformat()


def test_admin_sees_all_and_filters_unallocated(client, people, lines):
    client.force_login(people["admin"])
    assert len(ids(client.get("/api/v1/records/"))) == 5
    assert ids(client.get("/api/v1/records/?unallocated=true")) == [lines["u"].pk]
    client.force_login(people["lead"])
    assert ids(client.get("/api/v1/records/?unallocated=true")) == []


@pytest.mark.parametrize(
    "query,expected",
    [
        (f"start={DAY + timedelta(days=1)}", ["c", "b"]),
        (f"end={DAY}", ["a"]),
        (f"start={DAY}&end={DAY + timedelta(days=1)}", ["b", "a"]),
        ("provider=anthropic", ["b"]),
        ("model=GPT-4O", ["a"]),
        ("application=chat", ["a"]),
        ("team=ml-platform", ["c", "b", "a"]),
        ("team=search", []),  # not the engineer's team: nothing, whether it exists or not
    ],
)
def test_filters(client, people, lines, query, expected):
    client.force_login(people["engineer"])
    assert ids(client.get(f"/api/v1/records/?{query}")) == [lines[k].pk for k in expected]


def test_cursor_pagination_walks_every_line_once(client, people, lines):
    client.force_login(people["admin"])
    seen, url = [], "/api/v1/records/?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(r.pk for r in lines.values())
    assert len(seen) == 5


def test_bad_filters_are_400_naming_the_parameter(client, people, lines):
    client.force_login(people["engineer"])
    response = client.get("/api/v1/records/?start=2026-10-09&end=2026-10-01")
    assert response.status_code == 400 and list(response.json()) == ["end"]
    response = client.get("/api/v1/records/?format=csv&start=yesterday")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert list(response.json()) == ["start"]
    assert client.get("/api/v1/records/?cursor=garbage").status_code == 404


@pytest.mark.parametrize("how", ["format", "accept"])
def test_csv_download_streams_every_matching_line(client, people, lines, how):
    client.force_login(people["engineer"])
    if how == "format":
        response = client.get(f"/api/v1/records/?format=csv&start={DAY}&end={DAY}")
    else:
        response = client.get(f"/api/v1/records/?start={DAY}&end={DAY}", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="records-2026-10-05-2026-10-05.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [lines["a"].pk]
    assert rows[0]["team"] == "ml-platform" and rows[0]["effective_cost"] == "1.10"
    assert rows[0]["tags"] == "{}"


def test_csv_neutralizes_formulas_but_keeps_negative_amounts(client, people, lines):
    client.force_login(people["engineer"])
    response = client.get("/api/v1/records/?format=csv&model==HYPERLINK(1)")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["model"] == "'=HYPERLINK(1)"
    assert rows[0]["effective_cost"] == "-0.30"


def test_one_record_is_scoped_too(client, people, lines):
    client.force_login(people["outsider"])
    assert client.get(f"/api/v1/records/{lines['s'].pk}/").json()["effective_cost"] == "9.90"
    assert client.get(f"/api/v1/records/{lines['a'].pk}/").status_code == 404
    assert client.get(f"/api/v1/records/{lines['u'].pk}/").status_code == 404
