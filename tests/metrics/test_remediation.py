"""Remediation actions: who may propose and approve, dry runs without side effects, a signed
webhook verified by a local receiver, and execution exactly once even when two workers run
it at the same moment (two threads, two database connections)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from metrics.advice.remediation import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    action_approve,
    action_dry_run,
    action_propose,
    action_reject,
    action_run,
    sign,
    verify_signature,
)
from metrics.models import RemediationAction

SECRET = "whsec-test-0123456789"
PARAMS = {"application_key": "bot", "from_model": "gpt-4o", "to_model": "gpt-4o-mini"}


class Receiver:
    """A local webhook receiver that checks the signature like a real one would."""

    def __init__(self, secret=SECRET, delay=0.0):
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify_signature(
                    secret,
                    self.headers.get(TIMESTAMP_HEADER, ""),
                    body,
                    self.headers.get(SIGNATURE_HEADER, ""),
                )
                with receiver.lock:
                    receiver.requests.append(
                        {"body": json.loads(body), "headers": dict(self.headers), "ok": ok}
                    )
                if delay:
                    threading.Event().wait(delay)
                self.send_response(200 if ok else 401)
                self.end_headers()
                self.wfile.write(b'{"applied": true}' if ok else b"bad signature")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/finops"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(settings):
    with Receiver() as receiver:
        settings.REMEDIATION_WEBHOOK_URL = receiver.url
        settings.REMEDIATION_WEBHOOK_SECRET = SECRET
        settings.REMEDIATION_WEBHOOK_TIMEOUT = 5
        yield receiver


def propose(teams, **kw):
    return action_propose(kind="model_route", team=teams["ml-platform"], params=PARAMS, **kw)


def test_signature_helpers():
    body = b'{"a":1}'
    sig = sign(SECRET, "1700000000", body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify_signature(SECRET, "1700000000", body, sig, now=1700000100)
    assert not verify_signature(SECRET, "1700000000", body + b" ", sig, now=1700000100)
    assert not verify_signature("other", "1700000000", body, sig, now=1700000100)
    assert not verify_signature(SECRET, "1700000000", body, sig, now=1700009999)  # too old
    assert not verify_signature(SECRET, "soon", body, sig)


def test_propose_is_scoped_and_deduplicated(teams, people):
    action = propose(teams, user=people["engineer"])
    assert action.status == "proposed" and action.approved_by is None
    assert propose(teams, user=people["teammate"]) == action  # the same open action
    with pytest.raises(PermissionDenied):
        propose(teams, user=people["outsider"])
    with pytest.raises(ValidationError):
        action_propose(kind="delete_everything", team=teams["ml-platform"], params={})
    with pytest.raises(ValidationError):
        propose(teams, executor="carrier-pigeon")


def test_only_approvers_approve_and_an_unapproved_action_never_runs(
    teams, people, webhook, django_capture_on_commit_callbacks
):
    action = propose(teams)
    for who in ("engineer", "teammate", "outsider", "hr"):
        with pytest.raises(PermissionDenied):
            action_approve(action=action, user=people[who])
    assert action_run(action.pk) is False  # proposed: never runs
    action.refresh_from_db()
    assert action.status == "proposed" and webhook.requests == []

    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action=action, user=people["lead"])  # a lead of the action's team
    action.refresh_from_db()
    assert action.status == "succeeded"
    assert action.approved_by == people["lead"] and action.approved_at is not None
    assert len(webhook.requests) == 1
    with pytest.raises(ValidationError):
        action_approve(action=action, user=people["admin"])  # not proposed any more

    other = action_propose(kind="budget_cap", team=teams["search"], params={"cap": "100"})
    with pytest.raises(PermissionDenied):
        action_approve(action=other, user=people["lead"])  # lead of another team
    action_reject(action=other, user=people["admin"], reason="not now")
    assert action_run(other.pk) is False
    other.refresh_from_db()
    assert other.status == "rejected" and other.result["reason"] == "not now"


def test_dry_run_shows_the_request_without_sending_or_signing(teams, people, webhook):
    action = propose(teams)
    preview = action_dry_run(action=action)
    assert preview["url"] == webhook.url and preview["method"] == "POST"
    assert preview["body"]["params"] == PARAMS and preview["body"]["team"] == "ml-platform"
    assert preview["body"]["idempotency_key"] == f"finops-action-{action.pk}"
    assert preview["headers"][SIGNATURE_HEADER] == "sha256=<HMAC computed when sent>"
    assert preview["would_run"] is False
    action.refresh_from_db()
    assert (action.status, action.dry_run_result, action.result) == ("proposed", None, None)
    assert webhook.requests == []

    action_dry_run(action=action, record=True)
    action.refresh_from_db()
    assert action.dry_run_result["body"]["kind"] == "model_route"
    assert action.status == "proposed" and webhook.requests == []


def test_the_webhook_is_signed_and_its_answer_stored(
    teams, people, webhook, django_capture_on_commit_callbacks
):
    action = propose(teams)
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action=action, user=people["admin"])
    [request] = webhook.requests
    assert request["ok"] is True  # the receiver verified the HMAC with the shared secret
    assert request["body"]["action_id"] == action.pk
    assert request["body"]["approved_by"] == "finops@example.com"
    assert request["headers"]["Idempotency-Key"] == f"finops-action-{action.pk}"
    action.refresh_from_db()
    assert action.status == "succeeded" and action.executed_at is not None
    assert action.result["status_code"] == 200 and action.result["response"] == '{"applied": true}'


def test_a_wrong_secret_or_no_receiver_fails_and_is_not_retried(
    teams, people, webhook, settings, django_capture_on_commit_callbacks
):
    settings.REMEDIATION_WEBHOOK_SECRET = "not-the-receivers-secret"
    action = propose(teams)
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action=action, user=people["admin"])
    action.refresh_from_db()
    assert action.status == "failed" and action.result["status_code"] == 401
    assert action_run(action.pk) is False and len(webhook.requests) == 1

    settings.REMEDIATION_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens-here"
    second = action_propose(kind="budget_cap", team=teams["ml-platform"], params={"cap": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action=second, user=people["admin"])
    second.refresh_from_db()
    assert second.status == "failed" and "ConnectionError" in second.result["error"]

    settings.REMEDIATION_WEBHOOK_URL = ""
    third = action_propose(kind="budget_cap", team=teams["ml-platform"], params={"cap": "2"})
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action=third, user=people["admin"])
    third.refresh_from_db()
    assert third.status == "failed"
    assert third.result["error"] == "REMEDIATION_WEBHOOK_URL is not set"


def test_two_workers_at_once_run_an_approved_action_exactly_once(
    transactional_db, teams, people, settings
):
    with Receiver(delay=0.2) as receiver:
        settings.REMEDIATION_WEBHOOK_URL = receiver.url
        settings.REMEDIATION_WEBHOOK_SECRET = SECRET
        action = propose(teams)
        # Approved without queueing (no on_commit here): the two "workers" below race.
        RemediationAction.objects.filter(pk=action.pk).update(
            status="approved", approved_by=people["admin"], approved_at=action.proposed_at
        )
        barrier = threading.Barrier(2)
        outcomes = []

        def worker():
            try:
                barrier.wait(timeout=10)
                outcomes.append(action_run(action.pk))
            finally:
                connection.close()  # each thread had its own connection

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(outcomes) == [False, True]
        assert len(receiver.requests) == 1
        action.refresh_from_db()
        assert action.status == "succeeded"
        assert action_run(action.pk) is False  # a third, late worker: nothing
        assert len(receiver.requests) == 1
