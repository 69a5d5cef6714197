"""Slack platform rules, shown through signed HTTP requests to the real /slack/events
endpoint with the bolt App pointed at the local fake Slack."""

import json
import time
from datetime import date

from bot.models import Delivery, SlackEvent
from tests.bot.conftest import (
    command_body,
    dm_event,
    dollars,
    event_body,
    expected,
    post_signed,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
LAST_WEEK = (date(2026, 10, 5), date(2026, 10, 12))


# --- Only signed requests: X-Slack-Signature, X-Slack-Request-Timestamp, 5-minute window -----


def test_bad_signature_is_401_and_no_handler_runs(
    client, slack, django_capture_on_commit_callbacks
):
    body = event_body(dm_event("UALICE", "spend last week"), event_id="EvForged")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_signed(client, body, JSON, secret="not-the-secret")
    assert response.status_code == 401
    assert not callbacks and not SlackEvent.objects.exists() and slack.calls == []


def test_stale_timestamp_is_401_and_no_handler_runs(
    client, slack, django_capture_on_commit_callbacks
):
    body = event_body(dm_event("UALICE", "spend last week"), event_id="EvStale")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stale = post_signed(client, body, JSON, timestamp=int(time.time()) - 5 * 60 - 30)
        future = post_signed(client, body, JSON, timestamp=int(time.time()) + 5 * 60 + 30)
    assert stale.status_code == 401 and future.status_code == 401
    assert not callbacks and not SlackEvent.objects.exists() and slack.calls == []


def test_timestamp_inside_the_window_is_accepted(client, slack, django_capture_on_commit_callbacks):
    body = event_body(dm_event("UALICE", "spend last week"), event_id="EvFresh")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(client, body, JSON, timestamp=int(time.time()) - 4 * 60)
    assert response.status_code == 200
    assert len(slack.of("chat.postMessage")) == 1


def test_missing_or_tampered_signature_headers_are_401(client, slack):
    body = command_body("spend last week", user_id="UALICE", response_url=slack.response_url())
    unsigned = client.post("/slack/events", data=body, content_type=FORM)
    no_ts = client.post(
        "/slack/events", data=body, content_type=FORM, HTTP_X_SLACK_SIGNATURE="v0=00"
    )
    ts = str(int(time.time()))
    no_sig = client.post(
        "/slack/events", data=body, content_type=FORM, HTTP_X_SLACK_REQUEST_TIMESTAMP=ts
    )
    assert {unsigned.status_code, no_ts.status_code, no_sig.status_code} == {401}
    # a valid signature over another body
    from tests.bot.conftest import sign

    ts, sig = sign(body)
    tampered = client.post(
        "/slack/events",
        data=body.replace("UALICE", "UFIONA"),
        content_type=FORM,
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
        HTTP_X_SLACK_SIGNATURE=sig,
    )
    assert tampered.status_code == 401
    assert slack.calls == [] and not Delivery.objects.exists()


def test_url_verification_challenge(client, slack):
    body = json.dumps(
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    response = post_signed(client, body, JSON)
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    }
    assert post_signed(client, body, JSON, secret="wrong").status_code == 401


# --- Acknowledge within 3 s; the answer follows through response_url / chat.postMessage ----


def test_slash_command_acks_at_once_and_answers_through_response_url(
    client, slack, django_capture_on_commit_callbacks
):
    body = command_body(
        "spend last week", user_id="UALICE", response_url=slack.response_url("cmd1")
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = time.monotonic()
        response = post_signed(client, body, FORM)
        acked_in = time.monotonic() - started
    # The acknowledgement is back before any answer work was done: the work is queued.
    assert response.status_code == 200 and acked_in < 3
    assert "Looking that up" in json.loads(response.content)["text"]
    assert slack.of("response_url") == [] and len(callbacks) == 1
    callbacks[0]()  # what the worker does once the request's transaction committed
    (answer,) = slack.of("response_url")
    total = expected(teams={"ml-platform"}, start=LAST_WEEK[0], end=LAST_WEEK[1])
    assert answer["_path"] == "cmd1" and answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is True
    assert f"*{dollars(total)}*" in json.dumps(answer["blocks"])
    assert Delivery.objects.get(key="command:trig-1").status == Delivery.Status.SENT


def test_slash_command_help_is_answered_in_the_ack(
    client, slack, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_signed(
            client, command_body("help", user_id="UALICE", response_url=slack.response_url()), FORM
        )
    assert "/finops spend [team] [period] [provider|model]" in json.loads(response.content)["text"]
    assert json.loads(response.content)["response_type"] == "ephemeral"
    assert not callbacks and slack.methods() in ([], ["auth.test"])  # bolt's one-off token check


def test_event_is_acknowledged_before_it_is_answered(
    client, slack, django_capture_on_commit_callbacks
):
    body = event_body(dm_event("UALICE", "what did my team spend last week?"), event_id="EvAck")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = time.monotonic()
        response = post_signed(client, body, JSON)
        assert time.monotonic() - started < 3
    assert response.status_code == 200 and slack.of("chat.postMessage") == []
    for callback in callbacks:
        callback()
    (message,) = slack.of("chat.postMessage")
    total = expected(teams={"ml-platform"}, start=LAST_WEEK[0], end=LAST_WEEK[1])
    assert message["channel"] == "D0001" and dollars(total) in message["text"]


# --- Retries (X-Slack-Retry-Num) never produce a second message -----------------------------


def test_retried_event_is_answered_once(client, slack, django_capture_on_commit_callbacks):
    body = event_body(dm_event("UALICE", "spend yesterday"), event_id="EvRetried")
    with django_capture_on_commit_callbacks(execute=True):
        first = post_signed(client, body, JSON)
    with django_capture_on_commit_callbacks(execute=True) as retry_callbacks:
        retry = post_signed(
            client,
            body,
            JSON,
            headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
        )
        again = post_signed(
            client,
            body,
            JSON,
            headers={"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"},
        )
    assert first.status_code == retry.status_code == again.status_code == 200
    assert not retry_callbacks  # nothing even queued for the retries
    assert len(slack.of("chat.postMessage")) == 1
    assert SlackEvent.objects.get(event_id="EvRetried").retries_seen == 2


def test_retry_arriving_while_the_first_is_queued_is_not_answered_twice(
    client, slack, django_capture_on_commit_callbacks
):
    body = event_body(dm_event("UALICE", "spend yesterday"), event_id="EvRace")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_signed(client, body, JSON)
        post_signed(client, body, JSON, headers={"X-Slack-Retry-Num": "1"})
    assert len(callbacks) == 1
    callbacks[0]()
    callbacks[0]()  # the task redelivered to a second worker
    assert len(slack.of("chat.postMessage")) == 1


# --- 429 with Retry-After is honoured; what cannot be delivered is recorded as failed ---------


def test_rate_limited_answer_waits_retry_after_then_succeeds(
    client, slack, django_capture_on_commit_callbacks
):
    slack.script("chat.postMessage", (429, 1))
    body = event_body(dm_event("UALICE", "spend yesterday"), event_id="Ev429")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_signed(client, body, JSON)
    started = time.monotonic()
    callbacks[0]()
    waited = time.monotonic() - started
    assert waited >= 1.0  # Retry-After: 1
    assert slack.methods().count("chat.postMessage") == 2
    delivery = Delivery.objects.get(key="event:Ev429")
    assert delivery.status == Delivery.Status.SENT and delivery.ts


def test_message_still_rate_limited_after_retries_is_recorded_failed(
    client, slack, django_capture_on_commit_callbacks
):
    slack.script("chat.postMessage", *[(429, 0)] * 4)
    body = event_body(dm_event("UALICE", "spend yesterday"), event_id="EvGiveUp")
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, body, JSON)
    assert slack.methods().count("chat.postMessage") == 4  # the call and three retries
    delivery = Delivery.objects.get(key="event:EvGiveUp")
    assert delivery.status == Delivery.Status.FAILED
    assert "ratelimited" in delivery.error and "429" in delivery.error
    assert delivery.payload["channel"] == "D0001" and delivery.payload["blocks"]  # kept to replay


def test_rate_limited_response_url_is_retried(client, slack, django_capture_on_commit_callbacks):
    slack.script("response_url", (429, 0))
    body = command_body(
        "spend yesterday",
        user_id="UALICE",
        response_url=slack.response_url("c2"),
        trigger_id="trig-429",
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, body, FORM)
    assert slack.methods().count("response_url") == 2
    assert Delivery.objects.get(key="command:trig-429").status == Delivery.Status.SENT


def test_failed_delivery_is_retried_by_a_later_run_up_to_the_limit(slack):
    from bot.transport import MAX_DELIVERY_ATTEMPTS, deliver

    slack.script("chat.postMessage", ("error", "channel_not_found"), ("error", "channel_not_found"))
    payload = {"channel": "C404", "text": "hi"}
    assert deliver(method="chat.postMessage", payload=payload, key="k1").status == "failed"
    assert deliver(method="chat.postMessage", payload=payload, key="k1").status == "failed"
    ok = deliver(method="chat.postMessage", payload=payload, key="k1")
    assert ok.status == "sent" and ok.attempts == MAX_DELIVERY_ATTEMPTS
    assert (
        deliver(method="chat.postMessage", payload=payload, key="k1").attempts
        == MAX_DELIVERY_ATTEMPTS
    )
    assert slack.methods().count("chat.postMessage") == 3


def test_an_operator_can_send_a_failed_delivery_again_from_the_admin(client, slack, people):
    from bot.transport import deliver

    slack.script("chat.postMessage", *[("error", "channel_not_found")] * 3)
    for _ in range(3):
        failed = deliver(
            method="chat.postMessage", payload={"channel": "C1", "text": "hi"}, key="k2"
        )
    assert failed.status == "failed" and failed.attempts == 3
    client.force_login(people["admin"])
    people["admin"].is_staff = people["admin"].is_superuser = True
    people["admin"].save()
    response = client.post(
        "/admin/bot/delivery/",
        {"action": "send_again", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert (
        response.status_code == 200
        and "1 of 1 failed deliveries sent." in response.content.decode()
    )
    failed.refresh_from_db()
    assert failed.status == "sent" and failed.attempts == 4


def test_queued_delivery_is_sent_once_even_if_the_task_runs_twice(
    slack, django_capture_on_commit_callbacks
):
    from bot.tasks import send_delivery
    from bot.transport import enqueue

    with django_capture_on_commit_callbacks(execute=True):
        delivery = enqueue(
            method="chat.postMessage", payload={"channel": "C1", "text": "hi"}, key="q1"
        )
        assert (
            enqueue(method="chat.postMessage", payload={"channel": "C1", "text": "hi"}, key="q1")
            is None
        )
    send_delivery.delay(delivery.pk)
    assert len(slack.of("chat.postMessage")) == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_socket_mode_command_needs_its_tokens(settings):
    import pytest
    from django.core.management import CommandError, call_command

    settings.SLACK_APP_TOKEN = ""
    with pytest.raises(CommandError, match="SLACK_APP_TOKEN"):
        call_command("slack_socket")


def test_answer_is_not_lost_when_the_broker_is_down(
    client, slack, monkeypatch, django_capture_on_commit_callbacks
):
    from bot.tasks import answer_event

    def broker_down(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(answer_event, "delay", broker_down)
    body = event_body(dm_event("UALICE", "spend yesterday"), event_id="EvNoBroker")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_signed(client, body, JSON).status_code == 200
    assert len(slack.of("chat.postMessage")) == 1


def test_prune_forgets_old_event_ids_and_sent_deliveries_but_keeps_failed(db):
    from datetime import timedelta

    from django.utils import timezone

    from bot.tasks import prune

    old = timezone.now() - timedelta(days=100)
    SlackEvent.objects.create(event_id="EvOld")
    SlackEvent.objects.create(event_id="EvNew")
    SlackEvent.objects.filter(event_id="EvOld").update(received_at=old)
    Delivery.objects.create(key="sent-old", method="chat.postMessage", status="sent")
    Delivery.objects.create(key="failed-old", method="chat.postMessage", status="failed")
    Delivery.objects.update(updated_at=old)
    prune.delay()
    assert list(SlackEvent.objects.values_list("event_id", flat=True)) == ["EvNew"]
    assert list(Delivery.objects.values_list("key", flat=True)) == ["failed-old"]
