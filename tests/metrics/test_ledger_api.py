"""Upload and allocation-rule endpoints: FinOps admins only, nothing leaks to others."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from metrics.models import AllocationRule, CostRecord, ImportBatch

CSV = (
    "BillingAccountId,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ProviderName,Tags\n"
    'a1,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,12.50,12.50,OpenAI,"{""team"": ""search""}"\n'
)


@pytest.mark.parametrize(
    "who,expected", [("engineer", 403), ("lead", 403), ("hr", 403), ("admin", 201), (None, 403)]
)
def test_only_finops_admins_upload(client, people, who, expected):
    if who:
        client.force_login(people[who])
    upload = SimpleUploadedFile("oct.csv", CSV.encode(), content_type="text/csv")
    response = client.post("/api/v1/imports/", {"file": upload})
    assert response.status_code == expected
    assert ImportBatch.objects.count() == (1 if expected == 201 else 0)


def test_upload_twice_is_a_no_op_and_bad_files_get_a_clear_400(client, people):
    client.force_login(people["admin"])
    first = client.post("/api/v1/imports/", {"file": SimpleUploadedFile("oct.csv", CSV.encode())})
    assert first.status_code == 201 and first.json()["row_count"] == 1
    again = client.post("/api/v1/imports/", {"file": SimpleUploadedFile("oct.csv", CSV.encode())})
    assert again.status_code == 200 and again.json()["already_imported"] is True
    assert CostRecord.objects.get().effective_cost == Decimal("12.5")
    bad = client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("bad.csv", CSV.replace("12.50,12.50", "x,1").encode())},
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad.csv:2:BilledCost: 'x' is not a decimal number"
    assert CostRecord.objects.count() == 1


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
