"""Questions asked in Slack, end to end: a signed event or command to /slash/events, the
answer read back from the fake Slack, with the exact totals of the ledger."""

import io
import json
import re
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from bot.models import Delivery
from tests.bot.conftest import command_body, dm_event, dollars, event_body, expected, post_signed

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
ML = {"ml-platform"}
D = date.fromisoformat

# question, who asks, filter of the expected total
PHRASINGS = [
    (
        "what did my team spend last week?",
        "UALICE",
        dict(teams=ML, start=D("2026-10-05"), end=D("2026-10-12")),
    ),
    (
        "how much did we spend yesterday",
        "UALICE",
        dict(teams=ML, start=D("2026-10-14"), end=D("2026-10-15")),
    ),
    ("spend today", "UALICE", dict(teams=ML, start=D("2026-10-15"), end=D("2026-10-16"))),
    (
        "what did ml-platform spend this week?",
        "UALICE",
        dict(teams=ML, start=D("2026-10-12"), end=D("2026-10-16")),
    ),
    (
        "ML Platform spend this month",
        "ULEAD",
        dict(teams=ML, start=D("2026-10-01"), end=D("2026-10-16")),
    ),
    ("month to date spend", "UALICE", dict(teams=ML, start=D("2026-10-01"), end=D("2026-10-16"))),
    (
        "mtd billed",
        "UALICE",
        dict(teams=ML, start=D("2026-10-01"), end=D("2026-10-16"), billed=True),
    ),
    (
        "what did my team spend last month?",
        "UDAN",
        dict(teams=ML, start=D("2026-09-01"), end=D("2026-10-01")),
    ),
    (
        "spend in the last 7 days",
        "UALICE",
        dict(teams=ML, start=D("2026-10-09"), end=D("2026-10-16")),
    ),
    (
        "how much did we spend over the past 30 days?",
        "UALICE",
        dict(teams=ML, start=D("2026-09-16"), end=D("2026-10-16")),
    ),
    (
        "what did we spend in September?",
        "UALICE",
        dict(teams=ML, start=D("2026-09-01"), end=D("2026-10-01")),
    ),
    (
        "spend in August on openai",
        "UALICE",
        dict(teams=ML, start=D("2026-08-01"), end=D("2026-09-01"), provider="openai"),
    ),
    ("Q3 spend", "UALICE", dict(teams=ML, start=D("2026-07-01"), end=D("2026-10-01"))),
    (
        "spend from 2026-10-01 to 2026-10-10",
        "UALICE",
        dict(teams=ML, start=D("2026-10-01"), end=D("2026-10-11")),
    ),
    (
        "spend between 2026-09-01 and 2026-09-15 on anthropic",
        "UALICE",
        dict(teams=ML, start=D("2026-09-01"), end=D("2026-09-16"), provider="anthropic"),
    ),
    (
        "billed cost last week",
        "UALICE",
        dict(teams=ML, start=D("2026-10-05"), end=D("2026-10-12"), billed=True),
    ),
    (
        "what did we spend on gpt-4o last week?",
        "UALICE",
        dict(teams=ML, start=D("2026-10-05"), end=D("2026-10-12"), model="gpt-4o"),
    ),
    (
        "spend on claude this month",
        "UALICE",
        dict(teams=ML, start=D("2026-10-01"), end=D("2026-10-16"), model="claude"),
    ),
    (
        "how much did our team pay openai in july",
        "UALICE",
        dict(teams=ML, start=D("2026-07-01"), end=D("2026-08-01"), provider="openai"),
    ),
    ("spend on 2026-10-03", "UALICE", dict(teams=ML, start=D("2026-10-03"), end=D("2026-10-04"))),
    (
        "spend since 2026-10-10",
        "UALICE",
        dict(teams=ML, start=D("2026-10-10"), end=D("2026-10-16")),
    ),
    (
        "what was invoiced last quarter",
        "UALICE",
        dict(teams=ML, start=D("2026-07-01"), end=D("2026-10-01"), billed=True),
    ),
    (
        "ytd spend on anthropic",
        "UALICE",
        dict(teams=ML, start=D("2026-01-01"), end=D("2026-10-16"), provider="anthropic"),
    ),
    ("last 2 weeks spend", "UALICE", dict(teams=ML, start=D("2026-10-02"), end=D("2026-10-16"))),
    (
        "<@UBOT> our spend in June",
        "UALICE",
        dict(teams=ML, start=D("2026-06-01"), end=D("2026-07-01")),
    ),
    (
        "spend for ml-platform on anthropic in q3 billed",
        "ULEAD",
        dict(
            teams=ML, start=D("2026-07-01"), end=D("2026-10-01"), provider="anthropic", billed=True
        ),
    ),
    (
        "so far this month on openai",
        "UALICE",
        dict(teams=ML, start=D("2026-10-01"), end=D("2026-10-16"), provider="openai"),
    ),
    (
        "what did search spend last week",
        "UBOB",
        dict(teams={"search"}, start=D("2026-10-05"), end=D("2026-10-12")),
    ),
    (
        "Support Assistant's spend in September",
        "UFIONA",
        dict(teams={"support-assistant"}, start=D("2026-09-01"), end=D("2026-10-01")),
    ),
    (
        "what did the whole org spend last week?",
        "UFIONA",
        dict(start=D("2026-10-05"), end=D("2026-10-12")),
    ),
]


def dm(client, slack, capture, user, text, event_id):
    with capture(execute=True):
        response = post_signed(client, event_body(dm_event(user, text), event_id=event_id), JSON)
    assert response.status_code == 200
    messages = slack.of("chat.postMessage")
    assert len(messages) == 1, slack.methods()
    return messages[0]


@pytest.mark.parametrize("text,user,filters", PHRASINGS, ids=[p[0] for p in PHRASINGS])
def test_phrasing_gets_the_exact_total(
    client, slack, django_capture_on_commit_callbacks, text, user, filters
):
    message = dm(
        client, slack, django_capture_on_commit_callbacks, user, text, f"Ev{abs(hash(text))}"
    )
    total = expected(**filters)
    assert total > 0
    blocks = json.dumps(message["blocks"])
    assert f"*{dollars(total)}*" in blocks, (text, dollars(total), message["text"])
    assert dollars(total) in message["text"]


def test_slash_command_spend_with_team_period_and_model(
    client, slack, django_capture_on_commit_callbacks
):
    body = command_body(
        "spend ml-platform last week gpt-4o", user_id="UALICE", response_url=slack.response_url()
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, body, FORM)
    (answer,) = slack.of("response_url")
    total = expected(teams=ML, start=D("2026-10-05"), end=D("2026-10-12"), model="gpt-4o")
    assert f"*{dollars(total)}*" in json.dumps(answer["blocks"])


def test_refusal_for_another_team_through_slack_shows_no_numbers(
    client, slack, django_capture_on_commit_callbacks
):
    body = command_body(
        "spend ml-platform last week", user_id="UBOB", response_url=slack.response_url()
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, body, FORM)
    (answer,) = slack.of("response_url")
    sent = answer["text"] + json.dumps(answer["blocks"])
    assert "may not see the spend of Ml-Platform" in sent
    total = expected(teams=ML, start=D("2026-10-05"), end=D("2026-10-12"))
    assert f"{total:.2f}" not in sent and f"{total:,.2f}" not in sent
    assert not re.search(r"\d", answer["text"])  # no digit at all, so no amount either


def test_unknown_slack_user_is_refused(client, slack, django_capture_on_commit_callbacks):
    message = dm(
        client, slack, django_capture_on_commit_callbacks, "UNOBODY", "spend last week", "EvNobody"
    )
    assert "can't match your Slack account" in message["text"]
    assert "$" not in json.dumps(message["blocks"])


def test_ambiguous_question_gets_understood_parts_and_a_suggestion(
    client, slack, django_capture_on_commit_callbacks
):
    message = dm(
        client,
        slack,
        django_capture_on_commit_callbacks,
        "UALICE",
        "what did ml-platfrom spend lst week",
        "EvTypo",
    )
    text = message["blocks"][0]["text"]["text"]
    assert "I don't know `ml-platfrom`, `lst`, `week`" in text
    assert "ml-platform" not in text  # never a look-alike substitution
    assert "Questions I can answer: `what did my team spend last week?`" in text
    assert "$" not in text


def test_mention_in_the_team_channel_is_answered_in_thread(
    client, slack, teams, django_capture_on_commit_callbacks
):
    teams["ml-platform"].slack_channel_id = "C0MLP"
    teams["ml-platform"].save()
    event = {
        "type": "app_mention",
        "channel": "C0MLP",
        "user": "UALICE",
        "text": "<@UBOT> spend yesterday",
        "ts": "1760.1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, event_body(event, event_id="EvMention"), JSON)
    (message,) = slack.of("chat.postMessage")
    assert message["channel"] == "C0MLP" and message["thread_ts"] == "1760.1"
    assert slack.of("chat.postEphemeral") == []


def test_mention_elsewhere_shows_numbers_to_the_asker_only(
    client, slack, django_capture_on_commit_callbacks
):
    event = {
        "type": "app_mention",
        "channel": "C0GENERAL",
        "user": "UALICE",
        "text": "<@UBOT> spend yesterday",
        "ts": "1760.2",
    }
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, event_body(event, event_id="EvMention2"), JSON)
    assert slack.of("chat.postMessage") == []
    (message,) = slack.of("chat.postEphemeral")
    assert message["channel"] == "C0GENERAL" and message["user"] == "UALICE"
    total = expected(teams=ML, start=D("2026-10-14"), end=D("2026-10-15"))
    assert dollars(total) in message["text"]


def test_bot_and_edited_messages_are_ignored(client, slack, django_capture_on_commit_callbacks):
    bot_message = dict(dm_event("UBOT2", "spend"), bot_id="B2")
    edit = dict(dm_event("UALICE", "spend"), subtype="message_changed")
    channel_message = dict(dm_event("UALICE", "spend"), channel_type="channel")
    with django_capture_on_commit_callbacks(execute=True):
        for i, event in enumerate([bot_message, edit, channel_message]):
            assert (
                post_signed(client, event_body(event, event_id=f"EvIgnored{i}"), JSON).status_code
                == 200
            )
    assert [m for m in slack.methods() if m != "auth.test"] == []


def test_my_team_from_the_slack_user_group_for_someone_without_membership(
    client, slack, teams, django_capture_on_commit_callbacks
):
    teams["search"].slack_usergroup_id = "S0SEARCH"
    teams["search"].save()
    slack.usergroups = {"S0SEARCH": ["UBOB", "UFIONA"]}
    message = dm(
        client,
        slack,
        django_capture_on_commit_callbacks,
        "UFIONA",
        "what did my team spend last week",
        "EvGroup",
    )
    total = expected(teams={"search"}, start=D("2026-10-05"), end=D("2026-10-12"))
    assert dollars(total) in message["text"] and message["text"].startswith("Search")
    assert slack.of("usergroups.users.list") == [{"usergroup": "S0SEARCH"}]


def test_user_group_never_grants_access(
    client, slack, teams, people, django_capture_on_commit_callbacks
):
    # HR is in Slack's ML Platform group but not a member in the portal: refused, with why.
    teams["ml-platform"].slack_usergroup_id = "S0MLP"
    teams["ml-platform"].save()
    slack.usergroups = {"S0MLP": ["UALICE", "UHR"]}
    message = dm(
        client,
        slack,
        django_capture_on_commit_callbacks,
        "UHR",
        "what did my team spend last week",
        "EvGroupHR",
    )
    assert "does not list you as a member" in message["text"] and "$" not in message["text"]


def test_user_group_lookup_failure_falls_back_to_the_database(
    client, slack, teams, django_capture_on_commit_callbacks
):
    teams["search"].slack_usergroup_id = "S0SEARCH"
    teams["search"].save()
    slack.script("usergroups.users.list", (500, None), (500, None), (500, None))
    message = dm(
        client,
        slack,
        django_capture_on_commit_callbacks,
        "UFIONA",
        "what did my team spend last week",
        "EvGroupDown",
    )
    assert "not a member of any team" in message["text"]


# --- `manage.py ask` runs the same code path ----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "what did my team spend last week?",
        "billed spend in September on openai",
        "spend on claude yesterday",
    ],
)
def test_ask_command_gives_the_same_numbers_as_slack(
    client, slack, django_capture_on_commit_callbacks, text
):
    message = dm(
        client, slack, django_capture_on_commit_callbacks, "UALICE", text, f"EvAsk{abs(hash(text))}"
    )
    out = io.StringIO()
    call_command("ask", text, "--user", "alice@example.com", "--today", "2026-10-15", stdout=out)
    by_slack_id = io.StringIO()
    call_command("ask", text, "--user", "UALICE", "--today", "2026-10-15", stdout=by_slack_id)
    assert out.getvalue() == by_slack_id.getvalue()
    numbers = set(re.findall(r"[-+]?\$?[\d,]+\.\d+%?", out.getvalue()))
    slack_numbers = set(
        re.findall(r"[-+]?\$?[\d,]+\.\d+%?", json.dumps(message["blocks"], ensure_ascii=False))
    )
    assert numbers and numbers <= slack_numbers | {n for n in numbers if n in message["text"]}
    total = re.search(r"\*(\$[\d,.]+)\*", json.dumps(message["blocks"])).group(1)
    assert total in out.getvalue()


def test_ask_command_unknown_user_is_a_clear_error(db):
    with pytest.raises(
        CommandError, match=r"No active user with the e-mail or Slack user id 'ghost@example\.com'"
    ):
        call_command("ask", "spend", "--user", "ghost@example.com")


def test_ask_command_refusal(slack_people, ledger):
    out = io.StringIO()
    call_command(
        "ask",
        "spend ml-platform last week",
        "--user",
        "bob@example.com",
        "--today",
        "2026-10-15",
        stdout=out,
    )
    assert "may not see the spend of Ml-Platform" in out.getvalue() and "$" not in out.getvalue()
    assert not Delivery.objects.exists()
