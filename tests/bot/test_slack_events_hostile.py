"""/slack/events never answers 500 (#12): unsigned or malformed requests get 401/400, signed
but unknown ones 200 (ignored), a misconfigured or unreachable Slack a clear 503."""

import json
import logging
from urllib.parse import urlencode

import pytest

from bot.slack_app import reset_app
from tests.bot.conftest import event_body, post_signed, sign


@pytest.fixture
def raw_client(client):
    client.raise_request_exception = False  # see the status a real server would send
    return client


def _post(client, body, content_type="application/json", **headers):
    return client.post("/slack/events", data=body, content_type=content_type, **headers)


@pytest.mark.parametrize(
    ("body", "content_type", "timestamp"),
    [
        (b"{", "application/json", None),
        (b'{"type": "event_callback"}', "application/json", "abc"),
        (b'{"type": "event_callback"}', "application/json", "1"),
        (b"[1,2]", "application/json", None),
        (b"\xff\xfe\xfa", "application/json", None),
        (b"payload=%7B", "application/x-www-form-urlencoded", None),
        (b"payload=%7B", "application/x-www-form-urlencoded", "abc"),
    ],
)
def test_unsigned_requests_are_refused_without_a_500(
    raw_client, fake_slack, body, content_type, timestamp
):
    headers = {"HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64}
    if timestamp is not None:
        headers["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = timestamp
    response = _post(raw_client, body, content_type, **headers)
    assert response.status_code in (400, 401), response.content
    no_headers = _post(raw_client, body, content_type)
    assert no_headers.status_code in (400, 401), no_headers.content


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{", "application/json"),
        ("[1,2]", "application/json"),
        ("payload=%7B", "application/x-www-form-urlencoded"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),  # payload=[]
        ('"just a string"', "application/json"),
    ],
)
def test_signed_but_malformed_bodies_are_400_or_ignored(raw_client, fake_slack, body, content_type):
    response = post_signed(raw_client, body, content_type)
    assert response.status_code in (200, 400), response.content


def test_a_signed_non_utf8_body_is_a_400(raw_client, fake_slack):
    body = b"\xff\xfe\xfa"
    ts, sig = sign(body.decode("latin-1"))
    response = _post(
        raw_client,
        body,
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
        HTTP_X_SLACK_SIGNATURE=sig,
    )
    assert response.status_code in (400, 401)


@pytest.mark.parametrize(
    "body",
    [
        event_body(None),
        event_body("x"),
        event_body({"type": "no_such_event"}),
        urlencode({"payload": json.dumps([])}),
        urlencode(
            {
                "payload": json.dumps(
                    {
                        "type": "view_submission",
                        "team": {"id": "T1"},
                        "user": {"id": "U404"},
                        "view": {"id": "V1", "callback_id": "nobody_listens", "state": {}},
                    }
                )
            }
        ),
        urlencode({"payload": json.dumps({"type": "block_actions", "actions": "x"})}),
        urlencode({"command": "/unknown", "text": "", "user_id": "U1", "team_id": "T1"}),
    ],
)
def test_signed_but_unknown_requests_are_200_and_ignored(raw_client, fake_slack, body):
    content_type = (
        "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    )
    response = post_signed(raw_client, body, content_type)
    assert response.status_code == 200, response.content
    assert not [m for m in fake_slack.methods() if m.startswith("chat.")]


def test_signing_secret_without_a_bot_token_is_a_clear_503(
    raw_client, fake_slack, settings, caplog
):
    settings.SLACK_BOT_TOKEN = ""
    reset_app()
    with caplog.at_level(logging.WARNING):
        response = post_signed(raw_client, event_body({"type": "app_mention"}), "application/json")
    assert response.status_code == 503
    assert "SLACK_BOT_TOKEN" in response.json()["error"]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and "SLACK_BOT_TOKEN" in errors[0].getMessage()
    assert errors[0].exc_info is None  # one line, no traceback


def test_slack_unreachable_is_a_clear_503(raw_client, fake_slack, settings, caplog):
    settings.SLACK_API_BASE_URL = "http://127.0.0.1:9/api/"  # nothing listens on port 9
    reset_app()
    with caplog.at_level(logging.WARNING):
        response = post_signed(raw_client, event_body({"type": "app_mention"}), "application/json")
    assert response.status_code == 503, response.content
    assert "Slack" in response.json()["error"]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage() for r in errors]


def test_unsigned_requests_are_401_even_when_misconfigured(raw_client, fake_slack, settings):
    settings.SLACK_BOT_TOKEN = ""
    reset_app()
    response = _post(
        raw_client, b"{}", HTTP_X_SLACK_SIGNATURE="v0=00", HTTP_X_SLACK_REQUEST_TIMESTAMP="1"
    )
    assert response.status_code == 401
