from __future__ import annotations

from django.conf import settings
from django.db import models

from metrics.models import Team


class Profile(models.Model):
    """Portal-side facts about a person: their Slack identity. Teams live on metrics.Team."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    slack_user_id = models.CharField(
        max_length=32, blank=True, default="", db_index=True, help_text="e.g. U0123ABCD"
    )

    class Meta:
        permissions = [
            ("view_people_progress", "HR: see learning progress and credentials of people"),
            ("view_team_progress", "Team lead: see progress of the teams they lead"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["slack_user_id"],
                condition=~models.Q(slack_user_id=""),
                name="unique_slack_user_id",
            )
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def teams(self) -> models.QuerySet[Team]:
        return Team.objects.filter(memberships__user_id=self.user_id)
