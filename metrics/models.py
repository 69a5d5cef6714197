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

from metrics.fields import ExactDecimalField

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


# --- The ledger ---------------------------------------------------------------------------


class ImportBatch(models.Model):
    """One imported file (or one pull of a provider API), keyed by the SHA-256 of its bytes.

    Importing the same bytes again finds this row and changes nothing.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    sha256 = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=32)
    file_name = models.CharField(max_length=500)
    stored_file = models.CharField(
        max_length=500, blank=True, help_text="Copy of the source kept for tracing rows back"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    row_count = models.PositiveIntegerField(default=0)
    replaced_count = models.PositiveIntegerField(
        default=0, help_text="Rows of older imports of the same account and period replaced"
    )
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.source}, {self.row_count} rows)"


class AllocationRule(models.Model):
    """Maps records to a team. Lower priority numbers win; the first match allocates."""

    class Field(models.TextChoices):
        TAG = "tag", "Tag (key = value pattern)"
        SUB_ACCOUNT = "sub_account", "Sub-account id or name"
        BILLING_ACCOUNT = "billing_account", "Billing account id"
        APPLICATION = "application", "Application key (project, workspace, API key)"
        RESOURCE_ID = "resource_id", "Resource id"
        NAMESPACE = "namespace", "Kubernetes namespace"
        PROVIDER = "provider", "Provider"

    priority = models.PositiveIntegerField(default=100)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="allocation_rules")
    field = models.CharField(max_length=32, choices=Field.choices)
    tag_key = models.CharField(max_length=128, blank=True, help_text="Only for tag rules")
    pattern = models.CharField(
        max_length=500, help_text="Shell-style pattern: * and ? wildcards, case-insensitive"
    )
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        key = f"{self.tag_key}=" if self.field == self.Field.TAG else ""
        return f"#{self.priority} {self.field} {key}{self.pattern} -> {self.team.slug}"

    def clean(self) -> None:
        if self.field == self.Field.TAG and not self.tag_key:
            raise ValidationError({"tag_key": "A tag rule needs the tag key to match."})


class CostRecord(models.Model):
    """One billing line, normalized to FOCUS columns plus AI columns.

    Written in bulk by `metrics.ingest`; never edited by hand. `batch` + `source_line`
    trace it back to its file and line (the file is kept, see ImportBatch.stored_file).
    """

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="records")
    source_line = models.PositiveIntegerField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    day = models.DateField(db_index=True, help_text="Day of ChargePeriodStart (UTC)")
    # FOCUS columns
    billing_account_id = models.CharField(max_length=200, blank=True, db_default="")
    billing_account_name = models.CharField(max_length=300, blank=True, db_default="")
    billing_account_type = models.CharField(max_length=100, blank=True, db_default="")
    sub_account_id = models.CharField(max_length=300, blank=True, db_default="")
    sub_account_name = models.CharField(max_length=300, blank=True, db_default="")
    sub_account_type = models.CharField(max_length=100, blank=True, db_default="")
    billing_period_start = models.DateTimeField()
    billing_period_end = models.DateTimeField()
    charge_period_start = models.DateTimeField()
    charge_period_end = models.DateTimeField()
    charge_category = models.CharField(max_length=32)
    charge_class = models.CharField(max_length=32, blank=True, db_default="")
    charge_description = models.TextField(blank=True, db_default="")
    charge_frequency = models.CharField(max_length=32, blank=True, db_default="")
    billed_cost = ExactDecimalField()
    effective_cost = ExactDecimalField()
    list_cost = ExactDecimalField(null=True, blank=True)
    contracted_cost = ExactDecimalField(null=True, blank=True)
    billing_currency = models.CharField(max_length=8)
    pricing_category = models.CharField(max_length=32, blank=True, db_default="")
    pricing_quantity = ExactDecimalField(null=True, blank=True)
    pricing_unit = models.CharField(max_length=100, blank=True, db_default="")
    list_unit_price = ExactDecimalField(null=True, blank=True)
    contracted_unit_price = ExactDecimalField(null=True, blank=True)
    consumed_quantity = ExactDecimalField(null=True, blank=True)
    consumed_unit = models.CharField(max_length=100, blank=True, db_default="")
    provider_name = models.CharField(max_length=100, blank=True, db_default="")
    publisher_name = models.CharField(max_length=200, blank=True, db_default="")
    invoice_issuer_name = models.CharField(max_length=200, blank=True, db_default="")
    invoice_id = models.CharField(max_length=200, blank=True, db_default="")
    service_name = models.CharField(max_length=200, blank=True, db_default="")
    service_category = models.CharField(max_length=100, blank=True, db_default="")
    service_subcategory = models.CharField(max_length=100, blank=True, db_default="")
    region_id = models.CharField(max_length=100, blank=True, db_default="")
    region_name = models.CharField(max_length=100, blank=True, db_default="")
    availability_zone = models.CharField(max_length=100, blank=True, db_default="")
    resource_id = models.TextField(blank=True, db_default="")
    resource_name = models.CharField(max_length=500, blank=True, db_default="")
    resource_type = models.CharField(max_length=200, blank=True, db_default="")
    sku_id = models.CharField(max_length=200, blank=True, db_default="")
    sku_price_id = models.CharField(max_length=300, blank=True, db_default="")
    sku_meter = models.CharField(max_length=300, blank=True, db_default="")
    commitment_discount_id = models.CharField(max_length=300, blank=True, db_default="")
    commitment_discount_name = models.CharField(max_length=300, blank=True, db_default="")
    commitment_discount_category = models.CharField(max_length=32, blank=True, db_default="")
    commitment_discount_type = models.CharField(max_length=100, blank=True, db_default="")
    commitment_discount_status = models.CharField(max_length=32, blank=True, db_default="")
    commitment_discount_quantity = ExactDecimalField(null=True, blank=True)
    commitment_discount_unit = models.CharField(max_length=100, blank=True, db_default="")
    pricing_currency = models.CharField(max_length=16, blank=True, db_default="")
    tags = models.JSONField(default=dict, blank=True, db_default={})
    # AI columns
    provider = models.CharField(max_length=32, db_index=True)
    model = models.CharField(max_length=200, blank=True, db_default="")
    input_tokens = models.BigIntegerField(default=0, db_default=0)
    cached_input_tokens = models.BigIntegerField(default=0, db_default=0)
    cache_write_tokens = models.BigIntegerField(default=0, db_default=0)
    output_tokens = models.BigIntegerField(default=0, db_default=0)
    model_requests = models.BigIntegerField(default=0, db_default=0)
    gpu_hours = ExactDecimalField(default=0)
    application_key = models.CharField(max_length=300, blank=True, db_default="")
    raw = models.JSONField(null=True, blank=True, help_text="Raw row for API/JSON sources")

    class Meta:
        indexes = [
            models.Index(fields=["billing_account_id", "billing_period_start"]),
            models.Index(fields=["team", "day"]),
        ]

    def __str__(self) -> str:
        return f"{self.batch.file_name}:{self.source_line}"


class DailyCost(models.Model):
    """Rollup of CostRecord: team x day x provider x service category x model x application x
    currency. Maintained by every import and re-allocation; spend questions read only this."""

    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)
    day = models.DateField()
    provider = models.CharField(max_length=32)
    service_category = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=200, blank=True)
    application_key = models.CharField(max_length=300, blank=True)
    currency = models.CharField(max_length=8)
    billed_cost = ExactDecimalField(default=0)
    effective_cost = ExactDecimalField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    cached_input_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    model_requests = models.BigIntegerField(default=0)
    gpu_hours = ExactDecimalField(default=0)
    record_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["team", "day"]), models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id} {self.provider} {self.model} {self.effective_cost}"
