import hashlib
import hmac
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from config.celery import app as celery_app
from metrics.models import Team, TeamMembership
from portal.models import Profile

REPO = Path(__file__).resolve().parent.parent


def run_manage(*args, env_extra=None, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x9!Lq2#vR7@pZ4$wT1^kM8&nB3*hJ6(yG5)fD0_sA-eC+uI=oP[",
    "ALLOWED_HOSTS": "finops.example.com",
    "DATABASE_URL": "postgres://finops@127.0.0.1:5432/finops",
    "OB_SIGNING_KEY": "z3u2en7t5LR2WtQH5PfsRmBfVCV9X2F7nY6RmPZT9i5zHkQX",
    "SITE_URL": "https://finops.example.com",
}


def test_health_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["status"] == "ok" and body["broker"]["status"] == "ok"


def test_health_is_503_when_broker_is_down(client, db, monkeypatch):
    old = celery_app.conf.broker_url
    # Celery prefers the CELERY_BROKER_URL environment variable over its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["broker"]["status"] == "down"
    assert response.json()["database"]["status"] == "ok"


def test_health_is_503_when_database_is_down(client, db, monkeypatch):
    class DownConnection:
        vendor = "postgresql"

        def cursor(self):
            raise OSError("connection refused")

    monkeypatch.setattr("config.health.connection", DownConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"]["status"] == "down"


def test_production_settings_pass_deploy_check():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_extra=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "OB_SIGNING_KEY", "SITE_URL"]
)
def test_missing_production_secret_names_the_variable(missing):
    env = {k: v for k, v in PROD_ENV.items() if k != missing}
    result = run_manage("check", env_extra=env, drop=(missing,))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0], result.stderr


def test_malformed_database_url_is_one_clear_line():
    result = run_manage("check", env_extra={"DATABASE_URL": "mysqlx:/nonsense"})
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "DATABASE_URL is malformed" in result.stderr


def test_demo_refuses_a_taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run_manage("demo", "--port", str(port))
    assert result.returncode != 0
    assert f"Port {port}" in result.stderr and "already in use" in result.stderr


def test_seed_demo_is_idempotent_and_accounts_sign_in(client, db):
    call_command("seed_demo", "--people-only", stdout=io.StringIO())
    counts = (Team.objects.count(), TeamMembership.objects.count(), Profile.objects.count())
    call_command("seed_demo", "--people-only", stdout=io.StringIO())
    assert counts == (Team.objects.count(), TeamMembership.objects.count(), Profile.objects.count())
    assert counts[0] == 3
    response = client.post(
        "/accounts/login/", {"username": "finops@example.com", "password": "finops-demo-pass"}
    )
    assert response.status_code == 302
    home = client.get("/")
    assert "finops@example.com" in home.content.decode()
    assert "Support Assistant" in home.content.decode()  # the FinOps admin sees every team
    client.post("/accounts/logout/")
    assert "Sign in" in client.get("/").content.decode()


def test_wrong_password_is_refused(client, people):
    response = client.post(
        "/accounts/login/", {"username": "alice@example.com", "password": "nope"}
    )
    assert response.status_code == 200
    assert "correct" in response.content.decode()  # Django's "Please enter a correct ..." message


@pytest.mark.parametrize(
    "who,expected",
    [
        ("engineer", ["ml-platform"]),
        ("outsider", ["search"]),
        ("lead", ["ml-platform"]),
        ("hr", []),
        ("admin", ["ml-platform", "search", "support-assistant"]),
    ],
)
def test_team_api_is_scoped(client, people, who, expected):
    client.force_login(people[who])
    response = client.get("/api/v1/teams/")
    assert response.status_code == 200
    assert sorted(t["slug"] for t in response.json()["results"]) == expected
    other = "search" if "search" not in expected else "ml-platform"
    if other not in expected:
        assert client.get(f"/api/v1/teams/{other}/").status_code == 404


def test_team_api_refuses_anonymous(client, db):
    assert client.get("/api/v1/teams/").status_code == 403


def test_api_schema_and_docs_are_served_without_cdn(client, people):
    client.force_login(people["admin"])
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "cdn." not in docs and "unpkg" not in docs


def signed_slack_post(
    client,
    body: str,
    secret: str,
    timestamp: int | None = None,
    content_type="application/x-www-form-urlencoded",
):
    ts = str(timestamp if timestamp is not None else int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        "/slack/events",
        data=body,
        content_type=content_type,
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
        HTTP_X_SLACK_SIGNATURE=sig,
    )


def test_slack_endpoint_answers_signed_help_and_refuses_unsigned(client, db, fake_slack):
    body = urlencode(
        {
            "command": "/finops",
            "text": "help",
            "user_id": "U1",
            "team_id": "T1",
            "channel_id": "C1",
            "response_url": "http://127.0.0.1:9/x",
            "trigger_id": "1",
        }
    )
    ok = signed_slack_post(client, body, "test-signing-secret")
    assert ok.status_code == 200 and "/finops spend" in json.loads(ok.content)["text"]
    forged = signed_slack_post(client, body, "another-secret")
    assert forged.status_code == 401
    stale = signed_slack_post(client, body, "test-signing-secret", timestamp=int(time.time()) - 600)
    assert stale.status_code == 401
    unsigned = client.post(
        "/slack/events", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert unsigned.status_code == 401


def test_slack_endpoint_without_secret_says_it_is_not_configured(client, db, settings):
    settings.SLACK_SIGNING_SECRET = ""
    response = client.post("/slack/events", data="{}", content_type="application/json")
    assert response.status_code == 503 and "SLACK_SIGNING_SECRET" in response.json()["error"]
