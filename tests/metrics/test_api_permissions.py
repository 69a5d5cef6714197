"""The permission matrix: every /api/v1/ endpoint and method, for every kind of caller.

Objects belong to ml-platform (the engineer's and the lead's team). Callers: the engineer,
an engineer of another team (search), the team lead, HR (no team), a FinOps admin and an
anonymous client. Objects of a team the caller may not see answer 404 like missing ones;
refusals carry no amounts; a 200 never shows another team's numbers.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from tests.metrics.test_api_world import DAY, ML, SEARCH, UNALLOCATED, world

ROLES = ("engineer", "outsider", "lead", "hr", "admin", "anon")

CSV = (
    "BillingAccountId,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ProviderName\n"
    "a1,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,2.50,2.50,OpenAI\n"
)
RULE = {"priority": 5, "team": "ml-platform", "field": "sub_account", "pattern": "x-*"}
BUDGET = {"team": "ml-platform", "application_key": "chat", "monthly_amount": "500.00"}
PERIOD = f"start={DAY}&end={DAY}"
POLICY = {
    "name": "Route chat spikes",
    "trigger": "anomaly",
    "team": "ml-platform",
    "min_amount": "50",
    "action_kind": "model_route",
    "params": {"application_key": "chat", "to_model": "gpt-4o-mini"},
    "executor": "litellm",
    "approvers": ["lead@example.com"],
}


def E(engineer, outsider, lead, hr, admin, anon):
    return dict(zip(ROLES, (engineer, outsider, lead, hr, admin, anon), strict=True))


ALL_200 = E(200, 200, 200, 200, 200, 403)
TEAM_OBJECT = E(200, 404, 200, 404, 200, 403)  # an ml-platform object anyone on it may read
LEAD_WRITE = E(403, 404, 200, 404, 200, 403)  # leads of ml-platform and admins may change it
ADMIN_ONLY = E(404, 404, 404, 404, 200, 403)  # org-wide objects (no team)
LEDGER_ADMIN = {"admin": 200} | {r: 403 for r in ROLES if r != "admin"}

# (method, path as in the OpenAPI schema, object filling {id}, query, body, expected)
MATRIX = [
    ("get", "/api/v1/", None, "", None, ALL_200),
    ("get", "/api/schema/", None, "", None, E(200, 200, 200, 200, 200, 403)),  # signed in
    ("get", "/api/docs/", None, "", None, E(200, 200, 200, 200, 200, 302)),  # to sign-in
    # teams
    ("get", "/api/v1/teams/", None, "", None, ALL_200),
    ("get", "/api/v1/teams/{slug}/", None, "", None, TEAM_OBJECT),
    ("get", "/api/v1/teams/{slug}/forecast/", None, f"as_of={DAY}", None, TEAM_OBJECT),
    # allocation rules and imports: FinOps admins only
    ("get", "/api/v1/allocation-rules/", None, "", None, LEDGER_ADMIN),
    ("post", "/api/v1/allocation-rules/", None, "", RULE, LEDGER_ADMIN | {"admin": 201}),
    ("get", "/api/v1/allocation-rules/{id}/", "rule", "", None, LEDGER_ADMIN),
    ("put", "/api/v1/allocation-rules/{id}/", "rule", "", RULE, LEDGER_ADMIN),
    ("patch", "/api/v1/allocation-rules/{id}/", "rule", "", {"note": "x"}, LEDGER_ADMIN),
    ("delete", "/api/v1/allocation-rules/{id}/", "rule", "", None, LEDGER_ADMIN | {"admin": 204}),
    ("get", "/api/v1/imports/", None, "", None, LEDGER_ADMIN),
    ("post", "/api/v1/imports/", None, "", "upload", LEDGER_ADMIN | {"admin": 202}),
    ("get", "/api/v1/import-jobs/", None, "", None, LEDGER_ADMIN),
    ("get", "/api/v1/import-jobs/{id}/", "import_job", "", None, LEDGER_ADMIN),
    ("get", "/api/v1/imports/{id}/", "batch", "", None, LEDGER_ADMIN),
    # spend and KPIs: own teams by default; a named team one may not see is 404
    ("get", "/api/v1/spend/", None, PERIOD, None, E(200, 200, 200, 403, 200, 403)),
    ("get", "/api/v1/spend/", None, f"{PERIOD}&team=ml-platform", None, TEAM_OBJECT),
    ("get", "/api/v1/spend/", None, f"{PERIOD}&team=search", None, E(404, 200, 404, 404, 200, 403)),
    ("get", "/api/v1/kpis/", None, PERIOD, None, E(200, 200, 200, 403, 200, 403)),
    ("get", "/api/v1/kpis/", None, f"{PERIOD}&team=ml-platform", None, TEAM_OBJECT),
    ("get", "/api/v1/rankings/", None, f"{PERIOD}&by=model", None, E(200, 200, 200, 403, 200, 403)),
    (
        "get",
        "/api/v1/rankings/",
        None,
        f"{PERIOD}&by=team&team=search",
        None,
        E(404, 200, 404, 404, 200, 403),
    ),
    ("get", "/api/v1/comparison/", None, PERIOD, None, E(200, 200, 200, 403, 200, 403)),
    ("get", "/api/v1/comparison/", None, f"{PERIOD}&team=ml-platform", None, TEAM_OBJECT),
    ("get", "/api/v1/drivers/", None, PERIOD, None, E(200, 200, 200, 403, 200, 403)),
    (
        "get",
        "/api/v1/drivers/",
        None,
        f"{PERIOD}&team=search",
        None,
        E(404, 200, 404, 404, 200, 403),
    ),
    # records
    ("get", "/api/v1/records/", None, "", None, ALL_200),
    ("get", "/api/v1/records/", None, "format=csv", None, ALL_200),
    ("get", "/api/v1/records/", None, "unallocated=true", None, ALL_200),
    ("get", "/api/v1/records/{id}/", "record", "", None, TEAM_OBJECT),
    ("get", "/api/v1/records/{id}/", "unallocated_record", "", None, ADMIN_ONLY),
    # budgets: read by the team, written by its leads and admins
    ("get", "/api/v1/budgets/", None, "", None, ALL_200),
    ("post", "/api/v1/budgets/", None, "", BUDGET, E(403, 400, 201, 400, 201, 403)),
    ("get", "/api/v1/budgets/{id}/", "budget", "", None, TEAM_OBJECT),
    ("put", "/api/v1/budgets/{id}/", "budget", "", BUDGET, LEAD_WRITE),
    ("patch", "/api/v1/budgets/{id}/", "budget", "", {"active": False}, LEAD_WRITE),
    ("delete", "/api/v1/budgets/{id}/", "budget", "", None, E(403, 404, 204, 404, 204, 403)),
    # alerts
    ("get", "/api/v1/alerts/", None, "", None, ALL_200),
    ("get", "/api/v1/alerts/{id}/", "alert", "", None, TEAM_OBJECT),
    ("get", "/api/v1/alerts/{id}/", "org_alert", "", None, ADMIN_ONLY),
    ("post", "/api/v1/alerts/{id}/acknowledge/", "alert", "", {}, TEAM_OBJECT),
    ("post", "/api/v1/alerts/{id}/acknowledge/", "org_alert", "", {}, ADMIN_ONLY),
    ("post", "/api/v1/alerts/{id}/snooze/", "alert", "", {"hours": 4}, TEAM_OBJECT),
    ("post", "/api/v1/alerts/{id}/snooze/", "org_alert", "", {"hours": 4}, ADMIN_ONLY),
    # recommendations
    ("get", "/api/v1/recommendations/", None, "", None, ALL_200),
    ("get", "/api/v1/recommendations/{id}/", "recommendation", "", None, TEAM_OBJECT),
    (
        "post",
        "/api/v1/recommendations/{id}/dismiss/",
        "recommendation",
        "",
        {"reason": "we tried it"},
        TEAM_OBJECT,
    ),
    # remediation actions
    ("get", "/api/v1/actions/", None, "", None, ALL_200),
    ("get", "/api/v1/actions/{id}/", "action", "", None, TEAM_OBJECT),
    ("post", "/api/v1/actions/{id}/approve/", "action", "", {}, LEAD_WRITE),
    ("post", "/api/v1/actions/{id}/reject/", "action", "", {"reason": "no"}, LEAD_WRITE),
    ("post", "/api/v1/actions/{id}/dry-run/", "action", "", {}, TEAM_OBJECT),
    # remediation policies: FinOps admins only
    ("get", "/api/v1/policies/", None, "", None, LEDGER_ADMIN),
    ("post", "/api/v1/policies/", None, "", POLICY, LEDGER_ADMIN | {"admin": 201}),
    ("get", "/api/v1/policies/{id}/", "policy", "", None, LEDGER_ADMIN),
    ("put", "/api/v1/policies/{id}/", "policy", "", POLICY, LEDGER_ADMIN),
    ("patch", "/api/v1/policies/{id}/", "policy", "", {"enabled": False}, LEDGER_ADMIN),
    ("delete", "/api/v1/policies/{id}/", "policy", "", None, LEDGER_ADMIN | {"admin": 204}),
]

AMOUNT = re.compile(r"\d+\.\d{2}")


def _id(entry):
    method, path, obj, query, _, _ = entry
    return f"{method.upper()} {path}{'?' + query if query else ''}{' ' + obj if obj else ''}"


def test_the_matrix_covers_every_operation_of_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    covered = {(method, path) for method, path, *_ in MATRIX}
    assert operations - covered == set()
    assert {(m, p) for m, p in covered if p.startswith("/api/v1/") and p != "/api/v1/"} <= (
        operations
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", MATRIX, ids=[_id(e) for e in MATRIX])
def test_permission_matrix(client, people, teams, django_capture_on_commit_callbacks, entry, role):
    method, path, obj, query, body, expected = entry
    objects = world(teams)
    url = path.replace("{slug}", "ml-platform")
    if obj:
        url = url.replace("{id}", str(objects[obj].pk))
    if query:
        url += "?" + query
    if role != "anon":
        client.force_login(people["engineer" if role == "engineer" else role])
    kwargs = {}
    if body == "upload":
        kwargs["data"] = {"file": SimpleUploadedFile("oct.csv", CSV.encode())}
    elif body is not None:
        kwargs = {"data": body, "content_type": "application/json"}
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(url, **kwargs)
    status = response.status_code
    assert status == expected[role], (role, url, status, _text(response)[:300])
    text = _text(response)
    if status >= 400:
        assert not AMOUNT.search(text), text  # a refusal shows no numbers at all
    if role in ("outsider", "hr", "anon"):
        assert ML not in text  # never the engineer's team's numbers
    if role != "admin":
        assert UNALLOCATED not in text  # the unallocated bucket is for admins only
    if role in ("engineer", "lead", "hr", "anon"):
        assert SEARCH not in text


def _text(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_token_auth_sees_the_same_scope(client, people, teams):
    from rest_framework.authtoken.models import Token

    world(teams)
    token = Token.objects.create(user=people["outsider"])
    response = client.get(f"/api/v1/spend/?{PERIOD}", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["totals"] == {"USD": "9876.540000"}
    assert client.get("/api/v1/spend/", HTTP_AUTHORIZATION="Token wrong").status_code in (401, 403)
