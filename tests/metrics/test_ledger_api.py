"""Upload and allocation-rule endpoints: FinOps admins only, nothing leaks to others."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from metrics.models import AllocationRule, CostRecord, ImportBatch

CSV = (
    "BillingAccountId,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ProviderName,Tags\n"
    'a1,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,12.50,12.50,OpenAI,"{""team"": ""search""}"\n'
)


def upload(client, name, data, **extra):
    """POST a file and run the queued import (eager Celery) as a worker would, on commit;
    returns the 202 answer and the job's status as the status URL reports it."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/api/v1/imports/", {"file": SimpleUploadedFile(name, data), **extra}
        )
    if response.status_code != 202:
        return response, None
    return response, client.get(response.json()["status_url"]).json()


@pytest.mark.parametrize(
    "who,expected", [("engineer", 403), ("lead", 403), ("hr", 403), ("admin", 202), (None, 403)]
)
def test_only_finops_admins_upload(client, people, who, expected):
    if who:
        client.force_login(people[who])
    response, _ = upload(client, "oct.csv", CSV.encode())
    assert response.status_code == expected
    assert ImportBatch.objects.count() == (1 if expected == 202 else 0)
    assert client.get("/api/v1/import-jobs/").status_code == (200 if who == "admin" else 403)


def test_upload_is_queued_then_reports_summary_and_errors(client, people):
    client.force_login(people["admin"])
    first, status = upload(client, "oct.csv", CSV.encode())
    assert first.status_code == 202 and first.json()["status"] == "queued"
    assert first["Location"] == first.json()["status_url"]
    assert status["status"] == "done" and status["rows_done"] == 1
    assert status["summary"]["totals"]["USD"]["billed_cost"] == "12.5"
    assert status["already_imported"] is False
    again, status = upload(client, "oct.csv", CSV.encode())
    assert again.status_code == 202 and status["already_imported"] is True
    assert CostRecord.objects.get().effective_cost == Decimal("12.5")
    bad, status = upload(client, "bad.csv", CSV.replace("12.50,12.50", "x,1").encode())
    assert bad.status_code == 202
    assert status["status"] == "failed"
    assert status["error"] == "bad.csv:2:BilledCost: 'x' is not a decimal number"
    assert CostRecord.objects.count() == 1
    # refused at once: no known format
    unknown, _ = upload(client, "notes.csv", b"a;b\n1;2\n")
    assert unknown.status_code == 400 and unknown.json()["error"].startswith("notes.csv:1:-:")
    assert not list((settings.MEDIA_ROOT / "incoming").glob("*.csv"))  # nothing left behind


@pytest.mark.parametrize("who", ["engineer", "teammate", "outsider", "lead", "hr", None])
def test_allocation_rules_are_admin_only(client, people, teams, who):
    AllocationRule.objects.create(
        priority=1, team=teams["search"], field="sub_account", pattern="x"
    )
    if who:
        client.force_login(people[who])
    assert client.get("/api/v1/allocation-rules/").status_code == 403
    created = client.post(
        "/api/v1/allocation-rules/",
        {"priority": 5, "team": "search", "field": "sub_account", "pattern": "y"},
    )
    assert created.status_code == 403 and AllocationRule.objects.count() == 1


def test_admin_edits_allocation_rules(client, people, teams, django_capture_on_commit_callbacks):
    client.force_login(people["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/allocation-rules/",
            {"priority": 5, "team": "search", "field": "tag", "pattern": "x"},
            content_type="application/json",
        )
    assert response.status_code == 400 and "tag_key" in response.json()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            "/api/v1/allocation-rules/",
            {"priority": 5, "team": "search", "field": "tag", "tag_key": "app", "pattern": "x*"},
            content_type="application/json",
        )
    assert response.status_code == 201 and len(callbacks) == 1  # re-allocation queued
    assert client.get("/api/v1/allocation-rules/").json()["results"][0]["team"] == "search"
