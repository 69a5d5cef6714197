"""xAPI 1.0.3 statements for learning events, kept for a company's Learning Record Store.

Recorded: a module completed, a module quiz passed, an exam attempt passed or failed. Each
statement is stored once with its own UUID (an LRS de-duplicates on it), and the export is the
LRS's own GET /statements shape: {"statements": [...], "more": ""}.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from portal import conf
from portal.models import XapiStatement

VERBS = {
    XapiStatement.Verb.COMPLETED: "http://adlnet.gov/expapi/verbs/completed",
    XapiStatement.Verb.PASSED: "http://adlnet.gov/expapi/verbs/passed",
    XapiStatement.Verb.FAILED: "http://adlnet.gov/expapi/verbs/failed",
}
ACTIVITY_TYPES = {
    "module": "http://adlnet.gov/expapi/activities/module",
    "quiz": "http://adlnet.gov/expapi/activities/assessment",
    "exam": "http://adlnet.gov/expapi/activities/assessment",
}


def activity_id(kind: str, slug: str) -> str:
    paths = {"module": "/learn/{slug}/", "quiz": "/learn/{slug}/quiz/", "exam": "/exam/{slug}/"}
    return conf.site_url() + paths[kind].format(slug=slug)


def iso_duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"PT{hours}H{minutes}M{seconds}S"


def xapi_record(
    *,
    user: User,
    verb: XapiStatement.Verb,
    kind: str,
    slug: str,
    name: str,
    timestamp: datetime,
    result: dict[str, Any] | None = None,
    extensions: dict[str, Any] | None = None,
    registration: str | None = None,
) -> XapiStatement:
    """Store one statement. Call it inside the transaction of the event it reports."""
    statement_row = XapiStatement(user=user, verb=verb, timestamp=timestamp)
    object_id = activity_id(kind, slug)
    email = getattr(user, "email", "")
    display = getattr(user, "get_full_name", lambda: "")() or email
    statement: dict[str, Any] = {
        "id": str(statement_row.id),
        "version": "1.0.3",
        "actor": {"objectType": "Agent", "name": display, "mbox": f"mailto:{email}"},
        "verb": {"id": VERBS[verb], "display": {"en-US": verb.label}},
        "object": {
            "objectType": "Activity",
            "id": object_id,
            "definition": {"type": ACTIVITY_TYPES[kind], "name": {"en-US": name}},
        },
        "timestamp": timestamp.isoformat(),
        "context": {"platform": "AI FinOps portal", "language": "en-US"},
    }
    if result:
        statement["result"] = result
    if extensions:
        statement["context"]["extensions"] = extensions
    if registration:
        statement["context"]["registration"] = registration  # groups one exam attempt
    statement_row.object_id = object_id
    statement_row.statement = statement
    statement_row.save()
    return statement_row


def xapi_statements(*, since: datetime | None = None) -> QuerySet[XapiStatement]:
    qs = XapiStatement.objects.order_by("stored", "id")
    return qs.filter(stored__gt=since) if since else qs


def xapi_export(*, since: datetime | None = None) -> dict[str, Any]:
    """Every statement (or those stored after `since`), in LRS StatementResult shape."""
    rows = xapi_statements(since=since)
    statements = []
    for row in rows.only("statement", "stored"):
        statements.append({**row.statement, "stored": row.stored.isoformat()})
    return {"statements": statements, "more": ""}
