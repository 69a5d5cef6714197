"""The ledger's people-facing models: teams and who belongs to them.

`metrics` imports no other app of ours, so team membership lives here and the portal's
profile builds on it.
"""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

VIEW_ALL_SPEND = "metrics.view_all_spend"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (example: Europe/Berlin)")


class TeamQuerySet(models.QuerySet["Team"]):
    def visible_to(self, user: User | AnonymousUser) -> TeamQuerySet:
        """Teams whose spend `user` may see: all for FinOps admins, else their own."""
        if not user.is_authenticated:
            return self.none()
        if user.has_perm(VIEW_ALL_SPEND):
            return self.all()
        return self.filter(memberships__user=user).distinct()

    def led_by(self, user: User | AnonymousUser) -> TeamQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            memberships__user=user, memberships__role=TeamMembership.Role.LEAD
        ).distinct()


class Team(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    slack_channel_id = models.CharField(max_length=32, blank=True, help_text="e.g. C0123ABCD")
    slack_usergroup_id = models.CharField(max_length=32, blank=True, help_text="e.g. S0123ABCD")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", blank=True
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("view_all_spend", "Can see the spend of every team (FinOps admin)")]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        LEAD = "lead", "Team lead"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="unique_team_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class WorkerHeartbeat(models.Model):
    """Written by the `metrics.heartbeat` task: proof that a worker (and beat) is alive."""

    hostname = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.hostname} at {self.last_seen:%Y-%m-%d %H:%M:%S}"
