"""Multi-workspace OAuth installs: GET /slack/install and /slack/oauth_redirect through bolt's
Django handler, with the installation and state stores in the database and the code
exchanged with the local fake Slack."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from bot.models import SlackBot, SlackInstallation, SlackOAuthState
from bot.oauth import DjangoInstallationStore
from bot.slack_app import get_app, reset_app
from tests.bot.conftest import command_body, post_signed

FORM = "application/x-www-form-urlencoded"
COOKIE = "slack-app-oauth-state"


@pytest.fixture
def oauth_slack(fake_slack, settings):
    settings.SLACK_CLIENT_ID = "111.222"
    settings.SLACK_CLIENT_SECRET = "client-secret"
    settings.SLACK_SCOPES = ["chat:write", "commands"]
    reset_app()
    yield fake_slack
    reset_app()


def _install(client):
    response = client.get("/slack/install")
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def test_install_redirects_to_slack_with_a_state_stored_in_the_database(client, oauth_slack):
    response = client.get("/slack/install")

    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://slack.com/oauth/v2/authorize"
    query = parse_qs(url.query)
    assert query["client_id"] == ["111.222"]
    assert query["scope"] == ["chat:write,commands"]
    state = query["state"][0]
    stored = SlackOAuthState.objects.get()
    assert stored.state == state and stored.expire_at > timezone.now()
    assert client.cookies[COOKIE].value == state  # bolt ties the state to this browser


def test_redirect_with_a_valid_state_exchanges_the_code_and_stores_the_install(client, oauth_slack):
    state = _install(client)

    response = client.get("/slack/oauth_redirect", {"code": "code-1", "state": state})

    assert response.status_code == 200, response.content
    (exchange,) = oauth_slack.of("oauth.v2.access")
    assert exchange["code"] == "code-1"
    installation = SlackInstallation.objects.get()
    assert (installation.client_id, installation.team_id) == ("111.222", "T2")
    assert installation.bot_token == "xoxb-installed-token"
    assert installation.user_id == "UINSTALLER"
    assert installation.bot_id == "BBOT"  # from auth.test with the new token
    bot = SlackBot.objects.get()
    assert (bot.team_id, bot.bot_user_id) == ("T2", "UBOT2")
    assert not SlackOAuthState.objects.exists()  # a state is used once

    found = DjangoInstallationStore("111.222").find_bot(enterprise_id=None, team_id="T2")
    assert found is not None and found.bot_token == "xoxb-installed-token"
    assert found.bot_scopes == ["app_mentions:read", "chat:write", "commands"]
    assert DjangoInstallationStore("other").find_bot(enterprise_id=None, team_id="T2") is None

    # The same state cannot be replayed (even with the cookie bolt deleted put back).
    client.cookies[COOKIE] = state
    again = client.get("/slack/oauth_redirect", {"code": "code-2", "state": state})
    assert again.status_code == 401
    assert SlackInstallation.objects.count() == 1


def test_unknown_state_is_refused_and_nothing_is_stored(client, oauth_slack):
    _install(client)
    client.cookies[COOKIE] = "forged"

    response = client.get("/slack/oauth_redirect", {"code": "code-1", "state": "forged"})

    assert response.status_code == 401
    assert not oauth_slack.of("oauth.v2.access")
    assert not SlackInstallation.objects.exists()


def test_expired_state_is_refused(client, oauth_slack):
    state = _install(client)
    SlackOAuthState.objects.update(expire_at=timezone.now() - timedelta(seconds=1))

    response = client.get("/slack/oauth_redirect", {"code": "code-1", "state": state})

    assert response.status_code == 401
    assert not oauth_slack.of("oauth.v2.access")
    assert not SlackInstallation.objects.exists()


def test_state_from_another_browser_is_refused(client, oauth_slack):
    state = _install(client)
    client.cookies.clear()

    response = client.get("/slack/oauth_redirect", {"code": "code-1", "state": state})

    assert response.status_code == 400
    assert not SlackInstallation.objects.exists()


def test_installed_workspace_is_served_with_its_stored_token(client, oauth_slack):
    state = _install(client)
    client.get("/slack/oauth_redirect", {"code": "code-1", "state": state})
    oauth_slack.reset()

    body = command_body("help", user_id="UX", response_url=oauth_slack.response_url())
    response = post_signed(client, body.replace("team_id=T1", "team_id=T2"), FORM)

    assert response.status_code == 200
    assert "/finops spend" in json.loads(response.content)["text"]


def test_without_client_id_the_oauth_urls_are_404_and_the_bot_token_mode_stays(client, fake_slack):
    for url in ("/slack/install", "/slack/oauth_redirect"):
        response = client.get(url)
        assert response.status_code == 404
        assert "SLACK_CLIENT_ID" in json.loads(response.content)["error"]
    assert get_app().oauth_flow is None
    assert not SlackOAuthState.objects.exists()
