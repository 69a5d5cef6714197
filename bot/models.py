"""The bot's state. All of it lives in the database, never in a process: several web
processes and Celery workers share it, and it must survive restarts."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from metrics.models import Recommendation, Team


class SlackEvent(models.Model):
    """One row per Slack `event_id`. Slack retries an event (X-Slack-Retry-Num) when it did
    not see our acknowledgement in time; the retry finds this row and runs nothing."""

    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    retries_seen = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class Delivery(models.Model):
    """One outgoing Slack call (a message, an update, a Home tab). `key` is unique, so the
    same message is never posted twice by two workers or two runs; a call that still fails
    after the Web client's retries is kept as `failed` with the error, never lost silently."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=255, unique=True)
    method = models.CharField(max_length=64, help_text="chat.postMessage, response_url, ...")
    channel = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    ts = models.CharField(max_length=32, blank=True, help_text="Slack's message timestamp")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.key} ({self.status})"


class NudgeKind(models.TextChoices):
    FRONTIER_MODEL = "frontier_model", "Frontier model on short, uniform prompts"
    LOW_CACHE_HIT = "low_cache_hit", "Low cache hit ratio"
    TOKEN_BLOAT = "token_bloat", "Token bloat"
    IDLE_GPU = "idle_gpu", "Idle GPU"
    MODULES_LEFT = "modules_left", "Modules left before certification"
    CREDENTIAL_EXPIRING = "credential_expiring", "Credential about to expire"


class NudgeMuteQuerySet(models.QuerySet["NudgeMute"]):
    def in_force(self, slack_user_id: str, kind: str, now: datetime) -> NudgeMuteQuerySet:
        """Mutes and snoozes that silence `kind` for this person at `now`."""
        return self.filter(
            Q(kind="") | Q(kind=kind),
            Q(until__isnull=True) | Q(until__gt=now),
            slack_user_id=slack_user_id,
        )


class NudgeMute(models.Model):
    """A person silenced nudges: a snooze (every kind, `until` a time) or a mute (one kind,
    `until` empty: for good)."""

    slack_user_id = models.CharField(max_length=32, db_index=True)
    kind = models.CharField(
        max_length=32, blank=True, choices=NudgeKind.choices, help_text="Empty: every kind"
    )
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: until unmuted")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NudgeMuteQuerySet.as_manager()

    def __str__(self) -> str:
        what = self.kind or "all nudges"
        return f"{self.slack_user_id}: {what} until {self.until or 'unmuted'}"


class Nudge(models.Model):
    """A waste nudge sent (or attempted) to one person. The frequency caps, "only on change"
    and the snooze buttons read these rows."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, choices=NudgeKind.choices)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)
    recipient = models.CharField(max_length=32, help_text="Slack user id")
    subject = models.CharField(max_length=300, blank=True)
    fingerprint = models.CharField(max_length=200, help_text="Changes when the finding changes")
    recommendation = models.ForeignKey(
        Recommendation, null=True, blank=True, on_delete=models.SET_NULL
    )
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "created_at"]),
            models.Index(fields=["team", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} at {self.created_at:%Y-%m-%d %H:%M}"


class Interaction(models.Model):
    """Who clicked which button on what: the audit trail the updated messages show."""

    action = models.CharField(max_length=32)
    target = models.CharField(max_length=64, help_text="e.g. alert:12, action:3, nudge:5")
    slack_user_id = models.CharField(max_length=32)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    allowed = models.BooleanField()
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["target", "created_at"])]

    def __str__(self) -> str:
        return f"{self.slack_user_id} {self.action} {self.target}"


# --- Multi-workspace OAuth installs (bolt's installation and state stores, see bot.oauth) --


class SlackBot(models.Model):
    """The bot token of one workspace (or org) install: what bolt's authorize reads for each
    incoming request. The latest row per (client_id, enterprise_id, team_id) wins."""

    client_id = models.CharField(max_length=32)
    app_id = models.CharField(max_length=32)
    enterprise_id = models.CharField(max_length=32, null=True, blank=True)
    enterprise_name = models.TextField(null=True, blank=True)
    team_id = models.CharField(max_length=32, null=True, blank=True)
    team_name = models.TextField(null=True, blank=True)
    bot_token = models.TextField(null=True, blank=True)
    bot_refresh_token = models.TextField(null=True, blank=True)
    bot_token_expires_at = models.DateTimeField(null=True, blank=True)
    bot_id = models.CharField(max_length=32, null=True, blank=True)
    bot_user_id = models.CharField(max_length=32, null=True, blank=True)
    bot_scopes = models.TextField(null=True, blank=True, help_text="Comma-separated")
    is_enterprise_install = models.BooleanField(default=False)
    installed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["client_id", "enterprise_id", "team_id", "installed_at"]),
        ]

    def __str__(self) -> str:
        return f"bot {self.bot_user_id} in {self.team_id or self.enterprise_id}"


class SlackInstallation(models.Model):
    """One completed OAuth install (who installed, with which scopes and tokens)."""

    client_id = models.CharField(max_length=32)
    app_id = models.CharField(max_length=32)
    enterprise_id = models.CharField(max_length=32, null=True, blank=True)
    enterprise_name = models.TextField(null=True, blank=True)
    enterprise_url = models.TextField(null=True, blank=True)
    team_id = models.CharField(max_length=32, null=True, blank=True)
    team_name = models.TextField(null=True, blank=True)
    bot_token = models.TextField(null=True, blank=True)
    bot_refresh_token = models.TextField(null=True, blank=True)
    bot_token_expires_at = models.DateTimeField(null=True, blank=True)
    bot_id = models.CharField(max_length=32, null=True, blank=True)
    bot_user_id = models.CharField(max_length=32, null=True, blank=True)
    bot_scopes = models.TextField(null=True, blank=True, help_text="Comma-separated")
    user_id = models.CharField(max_length=32)
    user_token = models.TextField(null=True, blank=True)
    user_refresh_token = models.TextField(null=True, blank=True)
    user_token_expires_at = models.DateTimeField(null=True, blank=True)
    user_scopes = models.TextField(null=True, blank=True, help_text="Comma-separated")
    incoming_webhook_url = models.TextField(null=True, blank=True)
    incoming_webhook_channel = models.TextField(null=True, blank=True)
    incoming_webhook_channel_id = models.TextField(null=True, blank=True)
    incoming_webhook_configuration_url = models.TextField(null=True, blank=True)
    is_enterprise_install = models.BooleanField(default=False)
    token_type = models.CharField(max_length=32, null=True, blank=True)
    installed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["client_id", "enterprise_id", "team_id", "user_id", "installed_at"]
            ),
        ]

    def __str__(self) -> str:
        return f"install by {self.user_id} in {self.team_id or self.enterprise_id}"


class SlackOAuthState(models.Model):
    """An OAuth `state` handed out by GET /slack/install: valid once, until `expire_at`."""

    state = models.CharField(max_length=64, unique=True)
    expire_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"state until {self.expire_at:%Y-%m-%d %H:%M}"
