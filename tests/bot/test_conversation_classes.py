"""Every question class, many phrasings each, checked against an independent computation.

Phrasings come from two lists: `tests/bot/phrasings_blind.py` (written before the grammar's
vocabulary existed, kept verbatim) and `LATER` below (written afterwards). Each phrasing has
a spec of what a correct answer holds; the expected numbers are summed here with Decimal from
the DailyCost rows (or read from the Alert / Recommendation / Credential rows), never through
metrics.queries. Askers: alice (engineer, ml-platform), fiona (FinOps admin, in no team, so
"we" is the organization), lead (ml-platform team lead).

The ledger is tests/bot/conftest.py's (June to 15 October 2026) plus, for ml-platform, a
Kubernetes GPU cluster that reports GPU hours but no requests or tokens: the cost every unit
KPI must leave out of its numerator (and say how much of the spend it covers).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from bot.format import count, grams, percent
from bot.services import answer_question
from metrics.models import Alert, Budget, DailyCost, Recommendation
from metrics.money import format_money
from tests.bot.conftest import (
    LEDGER_START,
    TODAY,
    create_ledger,
    dm_event,
    event_body,
    give_slack_ids,
    post_signed,
)
from tests.bot.phrasings_blind import BLIND
from tests.conftest import create_people, create_teams

D = date.fromisoformat
USERS = {"alice": "UALICE", "fiona": "UFIONA", "lead": "ULEAD"}
EMAILS = {"alice": "alice@example.com", "fiona": "finops@example.com", "lead": "lead@example.com"}
ML = frozenset({"ml-platform"})
ORG = None  # every team and the unallocated spend
UNALLOC = "unallocated"
SITE_URL = "https://finops.example.com"

# Periods as of Thursday 2026-10-15 ([start, end), end exclusive)
THIS_MONTH = (D("2026-10-01"), D("2026-10-16"))
LAST_MONTH = (D("2026-09-01"), D("2026-10-01"))
AUGUST = (D("2026-08-01"), D("2026-09-01"))
LAST_WEEK = (D("2026-10-05"), D("2026-10-12"))
WEEK_BEFORE = (D("2026-09-28"), D("2026-10-05"))
THIS_WEEK = (D("2026-10-12"), D("2026-10-16"))
YESTERDAY = (D("2026-10-14"), D("2026-10-15"))
Q3 = (D("2026-07-01"), D("2026-10-01"))
THIS_QUARTER = THIS_MONTH
SEP_1_15 = (D("2026-09-01"), D("2026-09-16"))
LAST_30 = (D("2026-09-16"), D("2026-10-16"))


@dataclass(frozen=True)
class Spec:
    kind: str  # spend ranking breakdown kpi compare teams drivers budget learning alerts savings unknown
    period: tuple[date, date] = THIS_MONTH
    scope: frozenset[str] | str | None = ML
    dim: str = ""
    top: int | None = None
    asc: bool = False
    kpi: str = ""
    provider: str = ""
    model: str = ""
    previous: tuple[date, date] | None = None
    teams: tuple[str, ...] = ()
    topic: str = ""
    billed: bool = False
    extra: tuple[str, ...] = field(default=())


# --- Specs of the blind phrasings (the texts are in phrasings_blind.py, unchanged) -----------

BLIND_SPECS: dict[str, Spec] = {
    # rankings
    "which model costs the most?": Spec("ranking", THIS_MONTH, ML, "model", 1),
    "top 3 teams by AI spend last month": Spec("ranking", LAST_MONTH, ORG, "team", 3),
    "biggest application last week": Spec("ranking", LAST_WEEK, ML, "application", 1),
    "what is our most expensive provider this month": Spec(
        "ranking", THIS_MONTH, ML, "provider", 1
    ),
    "cheapest model last month": Spec("ranking", LAST_MONTH, ML, "model", 1, asc=True),
    "top 2 models for ml-platform in september": Spec("ranking", LAST_MONTH, ML, "model", 2),
    "which team spent the most in Q3?": Spec("ranking", Q3, ORG, "team", 1),
    # KPIs
    "what is our cost per inference last week?": Spec("kpi", LAST_WEEK, ML, kpi="cpi"),
    "cost per 1k tokens for gpt-4o last month": Spec(
        "kpi", LAST_MONTH, ML, kpi="per1k", model="gpt-4o"
    ),
    "token density this month": Spec("kpi", THIS_MONTH, ML, kpi="density"),
    "what's the cache hit rate for my team?": Spec("kpi", THIS_MONTH, ML, kpi="cache"),
    "how many GPU hours did we use last month": Spec("kpi", LAST_MONTH, ML, kpi="gpu"),
    "carbon footprint of ml-platform in september": Spec("kpi", LAST_MONTH, ML, kpi="carbon"),
    "cost per request on openai last week": Spec(
        "kpi", LAST_WEEK, ML, kpi="cpi", provider="openai"
    ),
    # breakdowns
    "spend by team last month": Spec("breakdown", LAST_MONTH, ORG, "team"),
    "spend by model this month": Spec("breakdown", THIS_MONTH, ML, "model"),
    "break down our spend by provider last week": Spec("breakdown", LAST_WEEK, ML, "provider"),
    "costs per application in september": Spec("breakdown", LAST_MONTH, ML, "application"),
    "spend by team for the whole org this quarter": Spec("breakdown", THIS_QUARTER, ORG, "team"),
    "show me spend by model for search last month": Spec(
        "breakdown", LAST_MONTH, frozenset({"search"}), "model"
    ),
    # comparisons
    "compare this month to last month": Spec("compare", THIS_MONTH, ML, previous=LAST_MONTH),
    "september vs august": Spec("compare", LAST_MONTH, ML, previous=AUGUST),
    "week over week spend": Spec("compare", LAST_WEEK, ML, previous=WEEK_BEFORE),
    "how does last week compare with the week before?": Spec(
        "compare", LAST_WEEK, ML, previous=WEEK_BEFORE
    ),
    "compare ml-platform and search last month": Spec(
        "teams", LAST_MONTH, ORG, teams=("ml-platform", "search")
    ),
    "month over month change": Spec("compare", LAST_MONTH, ML, previous=AUGUST),
    "is our spend up or down vs last month?": Spec("compare", THIS_MONTH, ML, previous=LAST_MONTH),
    # drivers
    "why did our spend go up last week?": Spec("drivers", LAST_WEEK, ML, previous=WEEK_BEFORE),
    "what drove the increase in september": Spec("drivers", LAST_MONTH, ML, previous=AUGUST),
    "what changed in our costs this month?": Spec("drivers", THIS_MONTH, ML, previous=SEP_1_15),
    "why is spend higher this month": Spec("drivers", THIS_MONTH, ORG, previous=SEP_1_15),
    "what caused the change in ml-platform spend last month?": Spec(
        "drivers", LAST_MONTH, ML, previous=AUGUST
    ),
    "explain the spend change last week": Spec("drivers", LAST_WEEK, ML, previous=WEEK_BEFORE),
    # budgets and forecasts
    "will we go over budget this month?": Spec("budget", scope=ML),
    "how much budget is left?": Spec("budget", scope=ML),
    "forecast for this month": Spec("budget", scope=ML),
    "what's our budget?": Spec("budget", scope=ML),
    "are we on track with the budget": Spec("budget", scope=ML),
    "month end forecast for ml-platform": Spec("budget", scope=ML),
    # organization scope and unallocated
    "what did we spend last week?": Spec("spend", LAST_WEEK, ORG),
    "how much did our org spend last month": Spec("spend", LAST_MONTH, ORG),
    "our total AI spend this month": Spec("spend", THIS_MONTH, ORG),
    "unallocated spend last month": Spec("spend", LAST_MONTH, UNALLOC),
    "how much spend is unallocated this month?": Spec("spend", THIS_MONTH, UNALLOC),
    "company wide spend yesterday": Spec("spend", YESTERDAY, ORG),
    # learning
    "am I certified?": Spec("learning", topic="status"),
    "how many modules do I have left?": Spec("learning", topic="modules_left"),
    "when does my credential expire?": Spec("learning", topic="expiry"),
    "what should I learn next?": Spec("learning", topic="next"),
    "what's my certification status": Spec("learning", topic="status"),
    "which modules are left for me": Spec("learning", topic="modules_left"),
    # alerts and advice
    "any open alerts?": Spec("alerts", scope=ML),
    "how can we save money?": Spec("savings", scope=ML),
    "show me our alerts": Spec("alerts", scope=ML),
    "what are the savings opportunities?": Spec("savings", scope=ORG),
    "how can we reduce our AI costs": Spec("savings", scope=ML),
    "are there any anomalies?": Spec("alerts", scope=ML),
    # not understood
    "what is the weather in paris": Spec("unknown"),
    "how many GPUs do we have in the basement": Spec("unknown"),
    "tell me a joke": Spec("unknown"),
    "spend on blorgflux last week": Spec("unknown"),
    "top 3 frobnicators": Spec("unknown"),
    "budgte forcast": Spec("unknown"),
}

# --- Phrasings written after the grammar (text, asker, spec) -------------------------------

LATER: dict[str, list[tuple[str, str, Spec]]] = {
    "rankings": [
        (
            "which application costs the most for ml-platform last month",
            "lead",
            Spec("ranking", LAST_MONTH, ML, "application", 1),
        ),
        ("top 5 models last week", "alice", Spec("ranking", LAST_WEEK, ML, "model", 5)),
        (
            "which provider cost the most last month?",
            "fiona",
            Spec("ranking", LAST_MONTH, ORG, "provider", 1),
        ),
        (
            "top 2 applications this month",
            "fiona",
            Spec("ranking", THIS_MONTH, ORG, "application", 2),
        ),
        (
            "least expensive team last week",
            "fiona",
            Spec("ranking", LAST_WEEK, ORG, "team", 1, asc=True),
        ),
        ("largest models in Q3", "lead", Spec("ranking", Q3, ML, "model", 5)),
    ],
    "kpis": [
        ("cost per call last month", "fiona", Spec("kpi", LAST_MONTH, ORG, kpi="cpi")),
        (
            "cost per inference for ml-platform this month",
            "lead",
            Spec("kpi", THIS_MONTH, ML, kpi="cpi"),
        ),
        (
            "what was the cost per 1k tokens last week?",
            "alice",
            Spec("kpi", LAST_WEEK, ML, kpi="per1k"),
        ),
        ("cache hit ratio last month", "fiona", Spec("kpi", LAST_MONTH, ORG, kpi="cache")),
        ("GPU hours this month", "lead", Spec("kpi", THIS_MONTH, ML, kpi="gpu")),
        (
            "carbon emissions of claude-sonnet-4-5 last month",
            "alice",
            Spec("kpi", LAST_MONTH, ML, kpi="carbon", model="claude-sonnet-4-5"),
        ),
        ("GPU cold-start cost last week", "alice", Spec("kpi", LAST_WEEK, ML, kpi="cold")),
        (
            "token density on anthropic in september",
            "alice",
            Spec("kpi", LAST_MONTH, ML, kpi="density", provider="anthropic"),
        ),
    ],
    "breakdowns": [
        ("spend for each model in Q3", "lead", Spec("breakdown", Q3, ML, "model")),
        (
            "spend across providers this month",
            "alice",
            Spec("breakdown", THIS_MONTH, ML, "provider"),
        ),
        (
            "spend per provider for the whole org last month",
            "fiona",
            Spec("breakdown", LAST_MONTH, ORG, "provider"),
        ),
        (
            "billed spend by model last week",
            "alice",
            Spec("breakdown", LAST_WEEK, ML, "model", billed=True),
        ),
        (
            "split our spend by application this month",
            "lead",
            Spec("breakdown", THIS_MONTH, ML, "application"),
        ),
        ("spend by team yesterday", "fiona", Spec("breakdown", YESTERDAY, ORG, "team")),
    ],
    "comparisons": [
        ("compare august and september", "alice", Spec("compare", LAST_MONTH, ML, previous=AUGUST)),
        ("this week vs last week", "alice", Spec("compare", THIS_WEEK, ML, previous=LAST_WEEK)),
        (
            "compare last week with the week before",
            "fiona",
            Spec("compare", LAST_WEEK, ORG, previous=WEEK_BEFORE),
        ),
        (
            "September 2026 versus August 2026",
            "lead",
            Spec("compare", LAST_MONTH, ML, previous=AUGUST),
        ),
        (
            "compare search and ml-platform this month",
            "fiona",
            Spec("teams", THIS_MONTH, ORG, teams=("search", "ml-platform")),
        ),
        ("wow change for my team", "alice", Spec("compare", LAST_WEEK, ML, previous=WEEK_BEFORE)),
    ],
    "drivers": [
        (
            "what contributed to the change last week",
            "fiona",
            Spec("drivers", LAST_WEEK, ORG, previous=WEEK_BEFORE),
        ),
        (
            "explain our costs in september",
            "lead",
            Spec("drivers", LAST_MONTH, ML, previous=AUGUST),
        ),
        (
            "what drove the change last month",
            "fiona",
            Spec("drivers", LAST_MONTH, ORG, previous=AUGUST),
        ),
        (
            "why did spend change in september vs august",
            "alice",
            Spec("drivers", LAST_MONTH, ML, previous=AUGUST),
        ),
        (
            "what is behind the increase last week?",
            "lead",
            Spec("drivers", LAST_WEEK, ML, previous=WEEK_BEFORE),
        ),
        (
            "which models drove our spend this week",
            "alice",
            Spec("drivers", THIS_WEEK, ML, previous=(D("2026-10-05"), D("2026-10-09"))),
        ),
    ],
    "budgets": [
        ("how much of our budget have we used?", "alice", Spec("budget", scope=ML)),
        ("end of month forecast", "lead", Spec("budget", scope=ML)),
        ("budget status for ml-platform", "fiona", Spec("budget", scope=ML)),
        ("projected month-end spend", "alice", Spec("budget", scope=ML)),
        ("are we going to overspend?", "lead", Spec("budget", scope=ML)),
        ("how is the budget looking for all teams", "fiona", Spec("budget", scope=ORG)),
    ],
    "org": [
        ("what did all teams spend last week", "fiona", Spec("spend", LAST_WEEK, ORG)),
        ("spend with no team this month", "fiona", Spec("spend", THIS_MONTH, UNALLOC)),
        ("what did the whole organization spend in Q3?", "fiona", Spec("spend", Q3, ORG)),
        ("unallocated costs last week", "fiona", Spec("spend", LAST_WEEK, UNALLOC)),
        ("what did our team spend in the last 30 days", "lead", Spec("spend", LAST_30, ML)),
        (
            "how much have we spent on openai this month",
            "fiona",
            Spec("spend", THIS_MONTH, ORG, provider="openai"),
        ),
    ],
    "learning": [
        ("am I certified yet", "lead", Spec("learning", topic="status")),
        ("what should I study next", "lead", Spec("learning", topic="next")),
        ("what's my learning progress?", "alice", Spec("learning", topic="status")),
        ("which course should I take next", "alice", Spec("learning", topic="next")),
        ("when does my badge expire", "lead", Spec("learning", topic="expiry")),
        ("remaining modules", "lead", Spec("learning", topic="modules_left")),
    ],
    "alerts": [
        ("list anomalies", "fiona", Spec("alerts", scope=ORG)),
        ("how do we save on AI", "fiona", Spec("savings", scope=ORG)),
        ("open alerts for the whole org", "fiona", Spec("alerts", scope=ORG)),
        ("any incidents for ml-platform?", "lead", Spec("alerts", scope=ML)),
        ("recommendations to cut costs", "alice", Spec("savings", scope=ML)),
        ("where can we optimize spend", "fiona", Spec("savings", scope=ORG)),
        ("savings for ml-platform", "lead", Spec("savings", scope=ML)),
    ],
    "unknown": [
        ("GPUs last week", "alice", Spec("unknown")),
        ("spend on the moon base", "fiona", Spec("unknown")),
        ("spend on widgets", "alice", Spec("unknown")),
        ("cost per frobnication last week", "alice", Spec("unknown")),
        ("how tall is the eiffel tower", "alice", Spec("unknown")),
        ("purple monkey dishwasher", "fiona", Spec("unknown")),
    ],
}

PHRASINGS: list[tuple[str, str, str, Spec, bool]] = []  # class, text, asker, spec, blind
for _cls, _items in BLIND.items():
    for _text, _asker in _items:
        PHRASINGS.append((_cls, _text, _asker, BLIND_SPECS[_text], True))
for _cls, _later in LATER.items():
    for _text, _asker, _spec in _later:
        PHRASINGS.append((_cls, _text, _asker, _spec, False))
IDS = [f"{c}:{t}" for c, t, *_ in PHRASINGS]


def test_phrasing_counts():
    """At least 120 phrasings, 10 per class, half of them written blind."""
    per_class: dict[str, int] = {}
    for cls, *_ in PHRASINGS:
        per_class[cls] = per_class.get(cls, 0) + 1
    assert len(PHRASINGS) >= 120, len(PHRASINGS)
    assert min(per_class.values()) >= 10, per_class
    assert sum(1 for *_, blind in PHRASINGS if blind) * 2 >= len(PHRASINGS)


# --- The world ---------------------------------------------------------------------------


def gpu_hours_of(day):
    return Decimal("6.5") if day.weekday() < 5 else Decimal("2")


def gpu_cost(day):
    return gpu_hours_of(day) * Decimal("2.40")


@pytest.fixture(scope="module")
def world_data(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world every phrasing is asked in, built once per module (not once per phrasing)
    inside a transaction that is rolled back after the module's last test. Each test runs in
    a savepoint within it (pytest-django's `db`), so what a test writes is undone as before.
    Returns the credential signing key, which the tests' settings must name too."""
    from portal.openbadges.multibase import SigningKey

    signing_key = SigningKey.generate().to_multibase()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer._from_testcase = True  # as django.test.TestCase's own: durable blocks still work
        outer.__enter__()
        try:
            with override_settings(SITE_URL=SITE_URL, OB_SIGNING_KEY=signing_key):
                build_world(tmp_path_factory.mktemp("content"))
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield signing_key
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def world(world_data, db, frozen_today, settings):
    settings.SITE_URL = SITE_URL
    settings.OB_SIGNING_KEY = world_data


def build_world(content_dir):
    teams = create_teams()
    slack_people = give_slack_ids(create_people(teams))
    create_ledger()
    rows = []
    day = LEDGER_START
    while day <= TODAY:
        rows.append(
            DailyCost(
                team=teams["ml-platform"],
                day=day,
                provider="kubernetes",
                service_category="Compute",
                application_key="training",
                currency="USD",
                effective_cost=gpu_cost(day),
                billed_cost=gpu_cost(day),
                gpu_hours=gpu_hours_of(day),
                record_count=1,
            )
        )
        day += timedelta(days=1)
    DailyCost.objects.bulk_create(rows)
    Budget.objects.create(team=teams["ml-platform"], monthly_amount=Decimal("1000"))
    Alert.objects.create(
        kind=Alert.Kind.ANOMALY,
        dedupe_key="a1",
        team=teams["ml-platform"],
        day=D("2026-10-13"),
        title="gpt-4o spend spiked on chatbot",
        amount=Decimal("42.50"),
        currency="USD",
    )
    Alert.objects.create(
        kind=Alert.Kind.BUDGET,
        dedupe_key="a2",
        team=teams["search"],
        day=D("2026-10-12"),
        title="Search reached 80% of its budget",
        currency="USD",
    )
    Alert.objects.create(
        kind=Alert.Kind.ANOMALY,
        dedupe_key="a3",
        team=teams["ml-platform"],
        day=D("2026-10-01"),
        title="An acknowledged one",
        status=Alert.Status.ACKNOWLEDGED,
    )
    for key, team, title, saving in [
        ("r1", "ml-platform", "Switch chatbot from gpt-4o to gpt-4o-mini", "300"),
        ("r2", "ml-platform", "Turn prompt caching on for summarizer", "45.50"),
        ("r3", "search", "Batch the ranker's nightly jobs", "120"),
    ]:
        Recommendation.objects.create(
            kind=Recommendation.Kind.DOWNSIZE,
            dedupe_key=key,
            team=teams[team],
            title=title,
            estimated_monthly_saving=Decimal(saving),
        )
    # Learning: alice finished one of two modules; lead is certified.
    from curriculum.models import Exam
    from curriculum.services import curriculum_sync
    from tests.curriculum.conftest import write_curriculum
    from tests.portal.conftest import complete_all, complete_module, take_exam

    curriculum_sync(content_dir=write_curriculum(content_dir))
    complete_module(slack_people["engineer"], "alpha")
    complete_all(slack_people["lead"])
    assert take_exam(slack_people["lead"], Exam.objects.get(), correct=10).passed


# --- Independent computation ---------------------------------------------------------------


def records():
    return list(
        DailyCost.objects.values(
            "team__slug",
            "team__name",
            "day",
            "provider",
            "model",
            "application_key",
            "effective_cost",
            "billed_cost",
            "model_requests",
            "input_tokens",
            "cached_input_tokens",
            "output_tokens",
            "gpu_hours",
            "gco2e_low",
            "gco2e_high",
        )
    )


def pick(rows, spec: Spec, period=None, scope="spec"):
    start, end = period or spec.period
    scope = spec.scope if scope == "spec" else scope
    out = []
    for r in rows:
        if not start <= r["day"] < end:
            continue
        if scope == UNALLOC and r["team__slug"] is not None:
            continue
        if isinstance(scope, frozenset) and r["team__slug"] not in scope:
            continue
        if spec.provider and r["provider"] != spec.provider:
            continue
        if spec.model and r["model"] != spec.model:
            continue
        out.append(r)
    return out


def cost(rows, billed=False):
    return sum(
        (Decimal(r["billed_cost" if billed else "effective_cost"]) for r in rows), Decimal(0)
    )


def ask_answer(asker, text):
    from django.contrib.auth.models import User

    user = User.objects.get(email=EMAILS[asker])
    from bot.blocks.answers import answer_text

    answer = answer_question(user=user, text=text, today=TODAY, slack_user_id=USERS[asker])
    return answer, answer_text(answer)


def check(spec: Spec, answer, text: str, asker: str) -> None:
    rows = records()
    if spec.kind == "unknown":
        assert answer.kind == "clarify", text
        assert "$" not in text and "Questions I can answer" in text
        return
    assert answer.kind in ("spend", "reply"), text
    if spec.kind == "spend":
        total = cost(pick(rows, spec), spec.billed)
        assert format_money(total, "USD") in text, (format_money(total, "USD"), text)
    elif spec.kind in ("ranking", "breakdown"):
        sums: dict[str, Decimal] = {}
        key = {
            "team": "team__name",
            "model": "model",
            "provider": "provider",
            "application": "application_key",
        }[spec.dim]
        for r in pick(rows, spec):
            k = r[key] or ("(unallocated)" if spec.dim == "team" else "")
            if not k:
                continue
            sums[k] = sums.get(k, Decimal(0)) + Decimal(
                r["billed_cost" if spec.billed else "effective_cost"]
            )
        items = sorted(sums.items(), key=lambda kv: (kv[1], kv[0]) if spec.asc else (-kv[1], kv[0]))
        if spec.asc:
            items = [kv for kv in items if kv[1]]
        items = items[: spec.top] if spec.top else items
        assert items
        lines = [f"{i}. {k}: {format_money(v, 'USD')}" for i, (k, v) in enumerate(items, start=1)]
        positions = [text.find(line) for line in lines]
        assert all(p >= 0 for p in positions), (lines, text)
        assert positions == sorted(positions)
        assert f"{len(items) + 1}. " not in text  # exactly the top N
    elif spec.kind == "kpi":
        chosen = pick(rows, spec)
        total = cost(chosen)
        if spec.kpi == "cpi":
            reporting = {r["provider"] for r in chosen if r["model_requests"]}
            matched = [r for r in chosen if r["provider"] in reporting]
            requests = sum(r["model_requests"] for r in matched)
            value = cost(matched) / requests
            assert format_money(value, "USD", unit=True) + " per request" in text, (value, text)
            assert f"over {count(requests)} requests" in text
            share = cost(matched) / total
            if share < 1:
                assert f"covers {share * 100:.0f}% of spend" in text, text
        elif spec.kpi == "per1k":
            tok = lambda r: r["input_tokens"] + r["cached_input_tokens"] + r["output_tokens"]  # noqa: E731
            matched = [
                r for r in chosen if {x["provider"] for x in chosen if tok(x)} & {r["provider"]}
            ]
            tokens = sum(tok(r) for r in matched)
            value = cost(matched) * 1000 / tokens
            assert format_money(value, "USD", unit=True) + " per 1k tokens" in text, (value, text)
        elif spec.kpi == "density":
            out = [r for r in chosen if r["output_tokens"]]
            tokens = sum(
                r["input_tokens"] + r["cached_input_tokens"] + r["output_tokens"] for r in out
            )
            value = tokens / sum(r["output_tokens"] for r in out)
            assert f"{value:.1f} tokens per output token" in text, text
        elif spec.kpi == "cache":
            prompt = sum(r["input_tokens"] + r["cached_input_tokens"] for r in chosen)
            value = sum(r["cached_input_tokens"] for r in chosen) / prompt
            assert f"{value * 100:.1f}% of prompt tokens" in text, text
        elif spec.kpi == "gpu":
            hours = sum((Decimal(r["gpu_hours"]) for r in chosen), Decimal(0))
            assert hours > 0 and f"{float(hours):,.1f} GPU hours" in text, text
            gpu = [r for r in chosen if r["gpu_hours"]]
            per_hour = cost(gpu) / hours
            assert format_money(per_hour, "USD", unit=True) + " per GPU hour" in text, text
        elif spec.kpi == "carbon":
            low = sum(r["gco2e_low"] or 0 for r in chosen)
            high = sum(r["gco2e_high"] or 0 for r in chosen)
            assert high > 0 and f"{grams(low)} to {grams(high)} CO2e (estimate)" in text, text
        elif spec.kpi == "cold":
            assert "GPU cold-start cost" in text and "No GPU cold-start cost" in text
    elif spec.kind == "compare":
        now, before = cost(pick(rows, spec)), cost(pick(rows, spec, spec.previous))
        assert f"Change: +{format_money(now - before, 'USD')}" in text or (
            f"Change: {format_money(now - before, 'USD')}" in text
        ), (now, before, text)
        assert f"({percent(float((now - before) / before))})" in text
    elif spec.kind == "teams":
        for slug in spec.teams:
            total = cost(pick(rows, spec, scope=frozenset({slug})))
            assert f": {format_money(total, 'USD')}" in text, (slug, total, text)
    elif spec.kind == "drivers":
        now, before = cost(pick(rows, spec)), cost(pick(rows, spec, spec.previous))
        sign = "+" if now >= before else ""
        assert f"Change: {sign}{format_money(now - before, 'USD')}" in text, (now - before, text)
        deltas: list[tuple[Decimal, str]] = []
        for dim, col in (
            ("model", "model"),
            ("application", "application_key"),
            ("provider", "provider"),
        ):
            keys = {r[col] or "(none)" for r in pick(rows, spec) + pick(rows, spec, spec.previous)}
            for k in keys:
                a = cost([r for r in pick(rows, spec) if (r[col] or "(none)") == k])
                b = cost([r for r in pick(rows, spec, spec.previous) if (r[col] or "(none)") == k])
                deltas.append((a - b, f"{dim} {k}"))
        biggest = max(deltas, key=lambda d: abs(d[0]))
        if biggest[0]:
            sign = "+" if biggest[0] >= 0 else ""
            assert f"{biggest[1]}: {sign}{format_money(biggest[0], 'USD')}" in text, (biggest, text)
        assert "https://finops.example.com/dashboard/?" in text
    elif spec.kind == "budget":
        month = pick(rows, Spec("spend", THIS_MONTH, ML))
        spent = cost(month)
        assert (
            f"{format_money(spent, 'USD')} of {format_money(Decimal(1000), 'USD')} spent" in text
        ), text
        left = Decimal(1000) - spent
        assert (f"{format_money(left, 'USD')} left" in text) or (
            f"over by {format_money(-left, 'USD')}" in text
        )
        assert "month-end forecast" in text and "range" in text
        if spec.scope is ORG:
            assert "Search: no monthly budget set" in text
    elif spec.kind == "learning":
        from portal.models import Credential

        # From the portal's rows: alice finished alpha (1 of 2), the lead everything + exam.
        done = {"alice": 1, "lead": 2}[asker]
        cred = Credential.objects.filter(user__email=EMAILS[asker]).first()
        if spec.topic == "expiry":
            if cred is None:
                assert "no valid credential" in text, text
            else:
                assert f"valid until {cred.expires_at:%Y-%m-%d}" in text, text
        elif spec.topic == "modules_left":
            assert f"{2 - done} of 2 required modules left" in text, text
            assert ("Module Beta" in text) == (done == 1)
        elif spec.topic == "next":
            if done == 2:
                assert "finished every module" in text, text
            else:
                assert "https://finops.example.com/learn/beta/" in text, text
        else:
            assert f"{done} of 2 required modules done" in text, text
            assert ("Certified" in text) == (cred is not None)
    elif spec.kind == "alerts":
        open_alerts = Alert.objects.filter(status=Alert.Status.OPEN)
        if isinstance(spec.scope, frozenset):
            open_alerts = open_alerts.filter(team__slug__in=spec.scope)
        for alert in Alert.objects.all():
            assert (alert.title in text) == (alert in open_alerts), (alert.title, text)
    elif spec.kind == "savings":
        recs = Recommendation.objects.filter(status=Recommendation.Status.OPEN)
        if isinstance(spec.scope, frozenset):
            recs = recs.filter(team__slug__in=spec.scope)
        total = sum((r.estimated_monthly_saving for r in recs), Decimal(0))
        assert f"save about {format_money(total, 'USD')} a month" in text, (total, text)
        for rec in Recommendation.objects.all():
            assert (rec.title in text) == (rec in recs)


@pytest.mark.parametrize(("cls", "text", "asker", "spec", "blind"), PHRASINGS, ids=IDS)
def test_phrasing_is_answered_right(world, cls, text, asker, spec, blind):
    answer, plain = ask_answer(asker, text)
    check(spec, answer, plain, asker)


# --- The learning answers depend on who asks: each checked against the portal rows --------


# --- Slack and `manage.py ask` give the same answer, for every phrasing --------------------

NUMBER = re.compile(r"[-+]?[$€£]?\d[\d,]*(?:\.\d+)?%?")


def _slack_text(blocks) -> str:
    parts = []
    for block in blocks:
        if "text" in block and isinstance(block["text"], dict):
            parts.append(block["text"]["text"])
        for f in block.get("fields", []):
            parts.append(f["text"])
        for e in block.get("elements", []):
            if isinstance(e.get("text"), str):
                parts.append(e["text"])
            elif isinstance(e.get("text"), dict):
                parts.append(e["text"]["text"])
            if e.get("url"):
                parts.append(e["url"])
    return "\n".join(parts).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def test_ask_command_and_slack_give_the_same_answer_for_every_phrasing(
    client, world, fake_slack, django_capture_on_commit_callbacks
):
    for n, (_cls, text, asker, _spec, _blind) in enumerate(PHRASINGS):
        out = io.StringIO()
        call_command("ask", text, "--user", EMAILS[asker], "--today", TODAY.isoformat(), stdout=out)
        before = len(fake_slack.of("chat.postMessage"))
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(
                client,
                event_body(dm_event(USERS[asker], text), event_id=f"EvSame{n}"),
                "application/json",
            )
        assert response.status_code == 200
        messages = fake_slack.of("chat.postMessage")
        assert len(messages) == before + 1, text
        slack = _slack_text(messages[-1]["blocks"])
        ask_numbers = NUMBER.findall(out.getvalue())
        slack_numbers = NUMBER.findall(slack)
        assert sorted(ask_numbers) == sorted(slack_numbers), (text, out.getvalue(), slack)
        assert json.dumps(messages[-1]["blocks"])  # serializable Block Kit
