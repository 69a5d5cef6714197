"""Bot fixtures: a small ledger of daily rollups whose totals the tests compute exactly,
Slack ids for the standing users, and signed requests to the real /slack/events endpoint."""

import hashlib
import hmac
import json
import re
import time
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from metrics.models import Budget, DailyCost, Team
from portal.models import Profile

TODAY = date(2026, 10, 15)  # a Thursday
LEDGER_START = date(2026, 6, 1)
SECRET = "test-signing-secret"

SLACK_IDS = {
    "engineer": "UALICE",
    "teammate": "UDAN",
    "outsider": "UBOB",
    "lead": "ULEAD",
    "hr": "UHR",
    "admin": "UFIONA",
}


def ml_openai(day):
    return Decimal(day.day) + Decimal("0.25")


def ml_openai_billed(day):
    return Decimal(day.day) + Decimal("1.25")


def ml_anthropic(day):
    return Decimal("5.10")


def search_openai(day):
    return Decimal("2.00") + day.weekday()


def support_anthropic(day):
    return Decimal("1.00")


def unallocated_aws(day):
    return Decimal("3.00")


# team, provider, model, application, effective(day), billed(day), usage per day
LEDGER = [
    (
        "ml-platform",
        "openai",
        "gpt-4o",
        "chatbot",
        ml_openai,
        ml_openai_billed,
        {
            "input_tokens": 1000,
            "cached_input_tokens": 200,
            "output_tokens": 100,
            "model_requests": 10,
            "gco2e_low": 1.0,
            "gco2e_high": 3.0,
        },
    ),
    (
        "ml-platform",
        "anthropic",
        "claude-sonnet-4-5",
        "summarizer",
        ml_anthropic,
        ml_anthropic,
        {
            "input_tokens": 500,
            "output_tokens": 50,
            "model_requests": 5,
            "gco2e_low": 0.5,
            "gco2e_high": 1.5,
        },
    ),
    (
        "search",
        "openai",
        "gpt-4o-mini",
        "ranker",
        search_openai,
        search_openai,
        {"input_tokens": 300, "output_tokens": 30, "model_requests": 3},
    ),
    (
        "support-assistant",
        "anthropic",
        "claude-3-5-haiku",
        "helpdesk",
        support_anthropic,
        support_anthropic,
        {"input_tokens": 100, "output_tokens": 10, "model_requests": 1},
    ),
    (None, "aws", "", "", unallocated_aws, unallocated_aws, {}),
]


def _model_matches(asked, mod):
    """A model the ledger has matches itself and its snapshots; a family word ("claude")
    every model of the family."""
    if asked in {row[2] for row in LEDGER}:
        return mod == asked or bool(re.match(rf"{re.escape(asked)}-\d", mod))
    return mod.startswith(asked + "-")


def expected(*, teams=None, start, end, provider=None, model=None, billed=False):
    """The exact total the ledger holds for a filter ([start, end) days)."""
    total = Decimal(0)
    for team, prov, mod, _app, eff, bil, _usage in LEDGER:
        if teams is not None and team not in teams:
            continue
        if provider and prov != provider:
            continue
        if model and not _model_matches(model, mod):
            continue
        day = max(start, LEDGER_START)
        while day < min(end, TODAY + timedelta(days=1)):
            total += (bil if billed else eff)(day)
            day += timedelta(days=1)
    return total


def dollars(amount):
    return f"${amount:,.2f}"


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    """The vocabulary and user groups are cached in the shared (database) cache."""
    cache.clear()
    yield
    cache.clear()


def create_ledger() -> list[DailyCost]:
    """LEDGER's rows for every day from LEDGER_START to TODAY (the teams exist already)."""
    rows = []
    by_slug = {t.slug: t for t in Team.objects.all()}
    day = LEDGER_START
    while day <= TODAY:
        for team, prov, mod, app, eff, bil, usage in LEDGER:
            rows.append(
                DailyCost(
                    team=by_slug[team] if team else None,
                    day=day,
                    provider=prov,
                    service_category="AI and Machine Learning",
                    model=mod,
                    application_key=app,
                    currency="USD",
                    effective_cost=eff(day),
                    billed_cost=bil(day),
                    record_count=1,
                    **usage,
                )
            )
        day += timedelta(days=1)
    DailyCost.objects.bulk_create(rows)
    return rows


@pytest.fixture
def ledger(teams):
    return create_ledger()


def give_slack_ids(people):
    for who, slack_id in SLACK_IDS.items():
        Profile.objects.update_or_create(user=people[who], defaults={"slack_user_id": slack_id})
    return people


@pytest.fixture
def slack_people(people):
    return give_slack_ids(people)


@pytest.fixture
def budget(teams):
    return Budget.objects.create(
        team=teams["ml-platform"], monthly_amount=Decimal("1000"), currency="USD"
    )


@pytest.fixture
def frozen_today(monkeypatch):
    """Pin the asker's local date (the endpoint computes it from the clock)."""
    monkeypatch.setattr("bot.identity.local_today", lambda team=None, now=None: TODAY)
    return TODAY


# --- Signed requests to the real endpoint --------------------------------------------------


def sign(body: str, *, secret=SECRET, timestamp=None):
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return ts, sig


def post_signed(
    client, body: str, content_type: str, *, secret=SECRET, timestamp=None, headers=None
):
    ts, sig = sign(body, secret=secret, timestamp=timestamp)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
    return client.post(
        "/slack/events",
        data=body,
        content_type=content_type,
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
        HTTP_X_SLACK_SIGNATURE=sig,
        **extra,
    )


def event_body(event: dict, *, event_id="Ev0001", team_id="T1"):
    return json.dumps(
        {
            "token": "legacy",
            "team_id": team_id,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": team_id, "user_id": "UBOT", "is_bot": True}],
        }
    )


def dm_event(user: str, text: str, *, ts="1760000000.000100"):
    return {
        "type": "message",
        "channel_type": "im",
        "channel": "D0001",
        "user": user,
        "text": text,
        "ts": ts,
    }


def command_body(
    text: str, *, user_id: str, response_url: str, trigger_id="trig-1", channel_id="C0GENERAL"
):
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T1",
            "command": "/finops",
            "text": text,
            "user_id": user_id,
            "channel_id": channel_id,
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def action_body(
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel="C0DEMOMLP",
    ts="1700000000.000100",
    response_url="",
    block_id="",
):
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user_id},
        "api_app_id": "A1",
        "trigger_id": "trig-a",
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, "message_ts": ts},
        "message": {"ts": ts, "text": "alert"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id or "b1",
                "value": value,
                "action_ts": "1",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


@pytest.fixture(autouse=True)
def _eager_tasks_raise():
    """Eager Celery tasks (the test settings) raise their errors instead of hiding them."""
    from config.celery import app

    old = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_eager_propagates = old


@pytest.fixture
def slack(fake_slack, slack_people, ledger, frozen_today):
    """Everything an end-to-end test needs: the fake Slack, people with Slack ids, the
    ledger and a pinned date."""
    return fake_slack
