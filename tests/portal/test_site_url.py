"""SITE_URL: set by the demo from its port, required in production, carried by every link the
product sends out (invitation e-mail, credential ids, Slack links)."""

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from config.settings.base import site_url_from
from portal.management.commands.demo import demo_site_url
from tests.portal.conftest import complete_all, take_exam
from tests.test_foundation import PROD_ENV, run_manage

SITE = "http://demo.example.test:8765"


def test_demo_derives_site_url_from_its_port_unless_the_environment_sets_it(settings):
    settings.SITE_URL_FROM_ENV = False
    assert demo_site_url("127.0.0.1", 8001) == "http://127.0.0.1:8001"
    assert demo_site_url("0.0.0.0", 8002) == "http://127.0.0.1:8002"
    settings.SITE_URL_FROM_ENV, settings.SITE_URL = True, "https://finops.example.com/"
    assert demo_site_url("127.0.0.1", 8001) == "https://finops.example.com"


def test_site_url_from_env_follows_the_environment(monkeypatch):
    from tests.test_foundation import run_manage as run

    probe = "from django.conf import settings; print(settings.SITE_URL_FROM_ENV)"
    assert run("shell", "-c", probe, drop=("SITE_URL",)).stdout.split()[-1] == "False"
    set_ = run("shell", "-c", probe, env_extra={"SITE_URL": "https://finops.example.com"})
    assert set_.stdout.split()[-1] == "True"


def test_demo_command_seeds_with_the_site_url_of_its_port(monkeypatch):
    """`manage.py demo --port N --setup-only` (what `make demo PORT=N` runs, minus the servers)
    prints and uses http://127.0.0.1:N."""
    from django.conf import settings

    from portal.management.commands import demo

    seen = []
    monkeypatch.setattr(settings, "SITE_URL_FROM_ENV", False)
    monkeypatch.setattr(
        demo, "call_command", lambda name, **kw: seen.append((name, settings.SITE_URL))
    )
    monkeypatch.setattr(demo, "get_commands", lambda: {"seed_demo": "portal"})
    old = settings.SITE_URL
    try:
        demo.Command().run_from_argv(["manage.py", "demo", "--port", "8731", "--setup-only"])
        assert ("seed_demo", "http://127.0.0.1:8731") in seen
    finally:
        settings.SITE_URL = old


@pytest.mark.parametrize("bad", ["127.0.0.1:8000", "ftp://x.example", "https://", "https://a/?x=1"])
def test_malformed_site_url_is_refused(bad):
    with pytest.raises(ImproperlyConfigured, match="SITE_URL is malformed"):
        site_url_from(bad)


def test_production_without_site_url_stops_with_one_clear_line():
    env = {k: v for k, v in PROD_ENV.items() if k != "SITE_URL"}
    result = run_manage("check", env_extra=env, drop=("SITE_URL",))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Set the SITE_URL environment variable" in lines[0], result.stderr


def test_invitation_and_credential_use_site_url(
    settings, client, people, curriculum, django_capture_on_commit_callbacks
):
    settings.SITE_URL = SITE
    client.force_login(people["hr"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:people_invite"), {"email": "new@example.com"})
    body = mail.outbox[0].body
    assert f"{SITE}/accounts/reset/" in body and f"{SITE}/accounts/login/" in body
    assert "127.0.0.1" not in body

    complete_all(people["engineer"])
    take_exam(people["engineer"], curriculum, correct=10)
    document = people["engineer"].credentials.get().document
    assert document["issuer"]["id"] == f"{SITE}/issuer.json"
    assert document["credentialSubject"]["achievement"]["id"].startswith(f"{SITE}/achievements/")


def test_bot_links_use_site_url(settings, db):
    from bot.app_home import home_data

    settings.SITE_URL = SITE
    assert home_data("U0NOBODY").portal_url == f"{SITE}/"
