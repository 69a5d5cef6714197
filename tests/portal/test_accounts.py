"""Sign up, invitations with a set-password link, and password reset by e-mail."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.roles import Role, user_roles


def _link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/reset/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_sign_up_creates_a_learner_and_signs_in(client, db):
    response = client.post(
        reverse("portal:signup"),
        {
            "email": "New.Person@Example.com",
            "first_name": "New",
            "last_name": "Person",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    user = User.objects.get(email="new.person@example.com")
    assert user_roles(user) == [Role.LEARNER]
    assert client.get(reverse("portal:dashboard")).status_code == 200


def test_sign_up_refuses_a_taken_email_and_weak_or_differing_passwords(client, people):
    response = client.post(
        reverse("portal:signup"),
        {
            "email": "ALICE@example.com",
            "first_name": "A",
            "last_name": "B",
            "password1": "12345678",
            "password2": "87654321",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "already exists" in html and "The two passwords differ." in html
    response = client.post(
        reverse("portal:signup"),
        {
            "email": "c@example.com",
            "first_name": "C",
            "last_name": "D",
            "password1": "12345678",
            "password2": "12345678",
        },
    )
    assert "entirely numeric" in response.content.decode()
    assert not User.objects.filter(email="c@example.com").exists()


def test_sign_up_page_is_accessible(client, db):
    html = client.get(reverse("portal:signup")).content.decode()
    for name in ("email", "first_name", "last_name", "password1", "password2"):
        assert f'<label for="id_{name}">' in html
    assert 'autocomplete="new-password"' in html


def test_self_sign_up_can_be_turned_off(client, db, settings):
    settings.PORTAL_SELF_SIGNUP = False
    assert client.get(reverse("portal:signup")).status_code == 404


def test_password_reset_by_email(client, people):
    response = client.post(reverse("portal:password_reset"), {"email": "alice@example.com"})
    assert response["Location"] == reverse("portal:password_reset_done")
    assert len(mail.outbox) == 1
    link = _link(mail.outbox[0])
    form = client.get(link, follow=True)
    assert "Choose a password" in form.content.decode()
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"},
    )
    assert response["Location"] == reverse("portal:password_reset_complete")
    assert client.login(username="alice@example.com", password="brand-new-passphrase")


def test_invite_command_emails_a_set_password_link(
    client, teams, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "invite_user",
            "Newbie@example.com",
            "--first-name",
            "Nina",
            "--team",
            "search",
            stdout=StringIO(),
        )
    user = User.objects.get(email="newbie@example.com")
    assert not user.has_usable_password()
    assert list(user.team_memberships.values_list("team__slug", flat=True)) == ["search"]
    assert mail.outbox[0].to == ["newbie@example.com"]
    link = _link(mail.outbox[0])
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "invited-passphrase-1", "new_password2": "invited-passphrase-1"},
    )
    assert client.login(username="newbie@example.com", password="invited-passphrase-1")
    with pytest.raises(CommandError, match="already exists"):
        call_command("invite_user", "newbie@example.com", stdout=StringIO())


def test_hr_invites_from_the_people_page_a_learner_cannot(
    client, people, django_capture_on_commit_callbacks
):
    client.force_login(people["engineer"])
    assert client.get(reverse("portal:people_invite")).status_code == 403
    client.force_login(people["hr"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:people_invite"), {"email": "hire@example.com", "first_name": "Hi"}
        )
    assert response.status_code == 302
    assert mail.outbox[0].to == ["hire@example.com"]
    assert "Hana" not in mail.outbox[0].body or "invited you" in mail.outbox[0].body


def test_admin_action_sends_invitations(admin_client, people):
    response = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "send_invitation", "_selected_action": [people["teammate"].pk]},
    )
    assert response.status_code == 302
    assert mail.outbox[0].to == ["dan@example.com"]
    assert "/accounts/reset/" in mail.outbox[0].body
