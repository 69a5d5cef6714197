"""People joining the portal: self sign-up and invitations with a set-password link."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from metrics.models import Team, TeamMembership
from portal import conf
from portal.roles import Role


class AccountError(ValueError):
    pass


def email_taken(email: str) -> bool:
    model = get_user_model()
    return (
        model._default_manager.filter(email__iexact=email.strip()).exists()
        or model._default_manager.filter(username__iexact=email.strip()).exists()
    )


def _create(email: str, first_name: str, last_name: str, password: str | None) -> User:
    email = email.strip().lower()
    if email_taken(email):
        raise AccountError(f"An account for {email} already exists.")
    user: User = get_user_model()._default_manager.create_user(  # type: ignore[attr-defined]
        username=email,
        email=email,
        password=password,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
    )
    user.groups.add(Group.objects.get_or_create(name=Role.LEARNER.value)[0])
    return user


def user_sign_up(*, email: str, first_name: str, last_name: str, password: str) -> User:
    """Create a learner account from the public sign-up form (password already validated)."""
    with transaction.atomic():
        return _create(email, first_name, last_name, password)


def set_password_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("portal:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return conf.site_url() + path


def user_invite(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    invited_by: User | None = None,
    team: Team | None = None,
) -> User:
    """Create a learner without a usable password and e-mail a link to set one.

    The link is Django's password-reset token: it stops working once the password is set
    (or after PASSWORD_RESET_TIMEOUT). The e-mail goes out after the transaction commits.
    """
    with transaction.atomic():
        user = _create(email, first_name, last_name, None)
        if team is not None:
            TeamMembership.objects.get_or_create(
                team=team, user=user, defaults={"role": TeamMembership.Role.MEMBER}
            )
        transaction.on_commit(lambda: user_send_invitation(user=user, invited_by=invited_by))
    return user


def user_send_invitation(*, user: User, invited_by: User | None = None) -> None:
    """(Re)send the set-password e-mail to an invited user."""
    inviter = ""
    if invited_by is not None:
        inviter = getattr(invited_by, "get_full_name", lambda: "")() or getattr(
            invited_by, "email", ""
        )
    context = {
        "user": user,
        "inviter": inviter,
        "url": set_password_url(user),
        "site_url": conf.site_url(),
    }
    send_mail(
        subject="You are invited to AI FinOps learning",
        message=render_to_string("portal/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
