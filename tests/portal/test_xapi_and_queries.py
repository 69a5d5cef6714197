"""xAPI export, and the query budget of the busiest pages (at most 10 queries each)."""

import json
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.exam import attempt_start
from tests.portal.conftest import complete_all, complete_module

MAX_QUERIES = 10


def test_xapi_export_for_admins_in_lrs_shape(client, people, certified):
    client.force_login(people["admin"])
    response = client.get(reverse("portal:xapi_statements"))
    assert response["X-Experience-API-Version"] == "1.0.3"
    payload = response.json()
    assert payload["more"] == ""
    verbs = {s["verb"]["id"].rsplit("/", 1)[1] for s in payload["statements"]}
    assert verbs == {"completed", "passed"}
    exam = next(s for s in payload["statements"] if "/exam/" in s["object"]["id"])
    assert exam["result"]["success"] is True and exam["result"]["score"]["max"] == 10
    assert exam["context"]["registration"]
    assert all(s["version"] == "1.0.3" and s["id"] and s["stored"] for s in payload["statements"])
    stamp = payload["statements"][-1]["stored"]
    later = client.get(reverse("portal:xapi_statements"), {"since": stamp}).json()
    assert later["statements"] == []


def test_xapi_export_command(tmp_path, certified):
    out = tmp_path / "statements.json"
    call_command("export_xapi", "--out", str(out), stderr=StringIO())
    statements = json.loads(out.read_text())["statements"]
    assert len(statements) == 5  # 2 quizzes passed, 2 modules completed, 1 exam passed


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_busy_pages_stay_within_the_query_budget(client, people, curriculum):
    engineer = people["engineer"]
    complete_module(engineer, "alpha")
    client.force_login(engineer)
    assert _count(client, reverse("portal:dashboard")) <= MAX_QUERIES
    assert _count(client, reverse("portal:catalogue")) <= MAX_QUERIES
    assert _count(client, reverse("portal:module_detail", args=["beta"])) <= MAX_QUERIES
    # The first visit draws the learner's attempt (version, savepoint, insert, release); showing it
    # afterwards stays in budget.
    assert _count(client, reverse("portal:module_quiz", args=["beta"])) <= MAX_QUERIES + 4
    assert _count(client, reverse("portal:module_quiz", args=["beta"])) <= MAX_QUERIES
    assert _count(client, reverse("portal:exam_home")) <= MAX_QUERIES  # not yet eligible
    complete_all(engineer)
    attempt = attempt_start(user=engineer, exam=curriculum)
    url = reverse("portal:attempt_question", args=[attempt.public_id, 3])
    assert _count(client, url) <= MAX_QUERIES
    assert _count(client, reverse("portal:exam_home")) <= MAX_QUERIES
