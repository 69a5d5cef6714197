"""Hardening (#12): sign-in throttling in the shared cache, the Content-Security-Policy header,
and the API schema and docs for signed-in users only."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from portal.throttle import login_is_throttled

LOGIN = "/accounts/login/"


def _try(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_thirty_wrong_passwords_in_a_row_are_throttled(people, settings):
    """The attack: 30 wrong passwords in a row passed unnoticed. Now the 6th attempt is
    refused with 429, the right password too, from any client (the count is in the cache)."""
    settings.LOGIN_FAILURE_LIMIT = 5
    email = "alice@example.com"
    statuses = [_try(Client(), email, f"wrong-{n}").status_code for n in range(30)]
    assert statuses[:5] == [200] * 5  # the form again, "enter a correct e-mail and password"
    assert set(statuses[5:]) == {429}
    refused = _try(Client(), email, "pw-" + email)  # the right password, another session
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.content.decode()
    assert "_auth_user_id" not in refused.client.session
    # The admin's sign-in goes through the same backends: refused too.
    admin = Client().post(
        "/admin/login/?next=/admin/", {"username": email, "password": "pw-" + email}
    )
    assert admin.status_code == 200 and "_auth_user_id" not in admin.client.session
    # Another person is not locked out by alice's attacker.
    other = "bob@example.com"
    assert _try(Client(), other, "pw-" + other).status_code == 302


def test_the_lockout_ends_and_a_success_clears_the_count(people, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    email = "alice@example.com"
    for n in range(2):
        _try(Client(), email, f"wrong-{n}")
    assert _try(Client(), email, "pw-" + email).status_code == 302  # success resets
    for n in range(2):
        _try(Client(), email, f"wrong-{n}")
    assert not login_is_throttled(username=email, ip="127.0.0.1")
    _try(Client(), email, "wrong")
    assert login_is_throttled(username=email.upper(), ip="")  # case does not matter
    cache.clear()  # what LOGIN_LOCKOUT_SECONDS of quiet does
    assert _try(Client(), email, "pw-" + email).status_code == 302


def test_one_address_trying_many_usernames_is_throttled(people, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 10
    for n in range(10):
        _try(Client(), f"user{n}@example.com", "x")
    response = _try(Client(), "alice@example.com", "pw-alice@example.com")
    assert response.status_code == 429
    other_address = _try(
        Client(REMOTE_ADDR="10.0.0.9"), "alice@example.com", "pw-alice@example.com"
    )
    assert other_address.status_code == 302


@pytest.mark.parametrize("path", ["/", LOGIN, "/api/v1/", "/api/docs/", "/healthz"])
def test_every_response_carries_the_content_security_policy(client, people, path):
    client.force_login(people["admin"])
    policy = client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert (
        "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split("style-src-attr")[0]
    )
    assert "frame-ancestors 'none'" in policy


def test_api_schema_and_docs_need_a_signed_in_user(client, people, settings):
    settings.API_DOCS_PUBLIC = False
    assert client.get("/api/schema/").status_code in (401, 403)
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("portal:login"))
    assert client.get("/api/docs/?script").status_code == 302
    client.force_login(people["engineer"])
    assert client.get("/api/schema/").status_code == 200
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<style" not in html and "<script>" not in html  # nothing inline: CSP-safe
    assert client.get("/api/docs/?script").status_code == 200


def test_api_docs_can_be_made_public(client, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
