"""The ledger's people-facing models: teams and who belongs to them.

`metrics` imports no other app of ours, so team membership lives here and the portal's
profile builds on it.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.checks import CheckMessage
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from metrics.fields import ExactDecimalField

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)
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

    def zone(self) -> zoneinfo.ZoneInfo:
        """The team's time zone (UTC for a name this machine does not know)."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            logger.warning("team %s has an unknown time zone %r: UTC", self.slug, self.time_zone)
            return zoneinfo.ZoneInfo("UTC")

    def local_today(self, now: datetime | None = None) -> date:
        """The date in the team's time zone at `now` (default: the current time): the day
        its budgets, summaries and Slack answers count as "today"."""
        return (now or timezone.now()).astimezone(self.zone()).date()


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


class ImportJob(models.Model):
    """One queued import of one file (an upload, or a file of `import_billing` given to the
    workers): its progress while it runs, then its batch and summary or its error."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    file_name = models.CharField(max_length=500, help_text="The name the user gave the file")
    path = models.CharField(max_length=1000, help_text="Where the file waits to be imported")
    source = models.CharField(max_length=32, default="auto")
    delete_after = models.BooleanField(
        default=True, help_text="Delete the file once imported (uploads; not the user's files)"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_done = models.PositiveBigIntegerField(default=0)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL)
    already_imported = models.BooleanField(default=False)
    error = models.TextField(blank=True, help_text="file:row:column: reason")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"


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
    application_name = models.CharField(
        max_length=200,
        blank=True,
        help_text="Application rules only: the readable name shown for the application keys "
        "this rule matches (the key stays in tooltips and CSV)",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        key = f"{self.tag_key}=" if self.field == self.Field.TAG else ""
        return f"#{self.priority} {self.field} {key}{self.pattern} -> {self.team.slug}"

    def clean(self) -> None:
        if self.field == self.Field.TAG and not self.tag_key:
            raise ValidationError({"tag_key": "A tag rule needs the tag key to match."})


class ApplicationName(models.Model):
    """A readable name for an application key (project, workspace, API key) as the provider's
    data gives it (e.g. OpenAI's `project_name`, FOCUS `SubAccountName` when the key is the
    sub-account id). Refreshed by every import (`metrics.ledger.names.application_names_refresh`);
    an application allocation rule's `application_name` takes precedence when shown."""

    key = models.CharField(max_length=300, unique=True)
    name = models.CharField(max_length=300)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class CostRecord(models.Model):
    """One billing line, normalized to FOCUS columns plus AI columns.

    Written in bulk by `metrics.ledger.ingest`; never edited by hand. `batch` + `source_line`
    trace it back to its file and line (the file is kept, see ImportBatch.stored_file).
    """

    # No database-level FK constraints on this bulk fact table: per-row constraint checks
    # would dominate a COPY. Django still emulates on_delete (CASCADE / SET_NULL).
    batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.CASCADE,
        related_name="records",
        db_constraint=False,
        # Indexed by migration 0014: BRIN on PostgreSQL (a batch's rows are written together,
        # so block ranges find them; a B-tree cost a tenth of a COPY), B-tree on SQLite.
        db_index=False,
    )
    source_line = models.PositiveIntegerField()
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,  # covered by the (day, team) index
    )
    day = models.DateField(help_text="Day of ChargePeriodStart (UTC)")
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
    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=200, blank=True, db_default="")
    input_tokens = models.BigIntegerField(default=0, db_default=0)
    cached_input_tokens = models.BigIntegerField(default=0, db_default=0)
    cache_write_tokens = models.BigIntegerField(default=0, db_default=0)
    output_tokens = models.BigIntegerField(default=0, db_default=0)
    model_requests = models.BigIntegerField(default=0, db_default=0)
    gpu_hours = ExactDecimalField(default=0, db_default=0)
    application_key = models.CharField(max_length=300, blank=True, db_default="")
    cost_source = models.CharField(
        max_length=16,
        blank=True,
        db_default="",
        help_text="'' = the provider's bill; 'catalog' = priced from ModelPrice/GpuRate",
    )
    raw = models.JSONField(null=True, blank=True, help_text="Raw row for API/JSON sources")

    class Meta:
        # Every index is paid for by every imported row (a third of a COPY's time each, on
        # the benchmark's file), so the ledger keeps only those reads need: batch (imports,
        # pricing, cascade) and (day, team). Each read of the ledger names a day range: the
        # rollup rebuild, replacement of older rows (account + billing period + days),
        # pricing (provider + days), the records API and portal (days, teams). Spend
        # questions read the rollups (DailyCost), not this table.
        indexes = [
            models.Index(fields=["day", "team"], name="metrics_cost_day_team"),
        ]

    def __str__(self) -> str:
        return f"{self.batch.file_name}:{self.source_line}"


# A DailyCost row's usage and carbon columns: what the query layer (metrics.queries) sums,
# and so what the covering index of DailyCost carries besides the dimensions.
DAILY_USAGE_COLUMNS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "model_requests",
    "gpu_hours",
)
DAILY_CARBON_COLUMNS = ("gco2e_low", "gco2e_high", "energy_kwh_low", "energy_kwh_high")


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
    # Carbon estimates (EcoLogits method), filled after each rollup rebuild; ranges.
    energy_kwh_low = models.FloatField(null=True, blank=True)
    energy_kwh_high = models.FloatField(null=True, blank=True)
    gco2e_low = models.FloatField(null=True, blank=True)
    gco2e_high = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            # The query layer's index (metrics.queries): a team's spend over a period is an
            # index-only scan. Without the included columns nearly every row costs a heap
            # page, as a rebuild writes one day of every team at once and so scatters a
            # team's rows (bench/spend_query.py, 10M lines: a team's 30-day total read 900
            # pages in 26 ms, now 50 in 1.3 ms). SQLite ignores INCLUDE: a (team, day) index.
            models.Index(
                fields=["team", "day"],
                include=[
                    "currency",
                    "effective_cost",
                    "billed_cost",
                    "provider",
                    "service_category",
                    "model",
                    "application_key",
                    *DAILY_USAGE_COLUMNS,
                    *DAILY_CARBON_COLUMNS,
                ],
                name="dailycost_team_day_covering",
            ),
            models.Index(fields=["day"]),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id} {self.provider} {self.model} {self.effective_cost}"

    @classmethod
    def check(cls, **kwargs: Any) -> list[CheckMessage]:
        # The covering index's INCLUDE is for PostgreSQL; on SQLite Django builds the plain
        # (team, day) index, which is what we want there. Drop only that warning (W040), for
        # only this model, so `migrate`, `shell` and `check` print a clean first screen.
        return [message for message in super().check(**kwargs) if message.id != "models.W040"]


# --- Unit economics: prices, budgets, alerts, recommendations, remediation -----------------


class ModelPrice(models.Model):
    """A per-model price (per 1M tokens) from an effective date on; the catalog is versioned
    by effective date: the row in force on a day prices that day's usage."""

    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=200)
    effective_date = models.DateField()
    currency = models.CharField(max_length=8, default="USD")
    input_per_mtok = ExactDecimalField()
    cached_input_per_mtok = ExactDecimalField(null=True, blank=True)
    cache_write_per_mtok = ExactDecimalField(null=True, blank=True)
    output_per_mtok = ExactDecimalField()
    batch_input_per_mtok = ExactDecimalField(null=True, blank=True)
    batch_output_per_mtok = ExactDecimalField(null=True, blank=True)
    parameters_billion = models.FloatField(
        null=True, blank=True, help_text="Active parameters (billions) for carbon estimates"
    )
    tier = models.CharField(
        max_length=16, blank=True, help_text="frontier | small: used for downsizing advice"
    )
    source_url = models.URLField(blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["provider", "model", "-effective_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "model", "effective_date"], name="unique_model_price"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} from {self.effective_date}"


class GpuRate(models.Model):
    """Configured cost per GPU hour, for self-hosted models billed without a price."""

    name = models.CharField(max_length=100)
    effective_date = models.DateField()
    cost_per_hour = ExactDecimalField()
    currency = models.CharField(max_length=8, default="USD")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "effective_date"], name="unique_gpu_rate")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.cost_per_hour}/h from {self.effective_date}"


class Budget(models.Model):
    """A monthly budget for a team (optionally one application of it)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="budgets")
    application_key = models.CharField(max_length=300, blank=True)
    monthly_amount = ExactDecimalField()
    currency = models.CharField(max_length=8, default="USD")
    thresholds = models.JSONField(
        default=list, blank=True, help_text="Percents, e.g. [50, 80, 100]"
    )
    forecast_alert = models.BooleanField(default=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "application_key", "currency"], name="unique_budget"
            )
        ]

    def __str__(self) -> str:
        app = f" / {self.application_key}" if self.application_key else ""
        return f"{self.team}{app}: {self.monthly_amount} {self.currency}/month"

    @property
    def threshold_list(self) -> list[int]:
        return sorted(int(t) for t in (self.thresholds or [50, 80, 100]))


class Alert(models.Model):
    """Budget, forecast and anomaly alerts. `dedupe_key` is unique: an alert fires once per
    threshold per period, whatever the number of workers or restarts."""

    class Kind(models.TextChoices):
        BUDGET = "budget", "Budget threshold"
        FORECAST = "forecast", "Forecast over budget"
        ANOMALY = "anomaly", "Spend anomaly"
        CONNECTOR = "connector", "Provider pull failing"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        SNOOZED = "snoozed", "Snoozed"
        RESOLVED = "resolved", "Resolved"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    dedupe_key = models.CharField(max_length=300, unique=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.CASCADE)
    subject = models.CharField(max_length=300, blank=True, help_text="e.g. the model")
    day = models.DateField()
    amount = ExactDecimalField(null=True, blank=True)
    currency = models.CharField(max_length=8, blank=True)
    title = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    slack_channel = models.CharField(max_length=32, blank=True)
    slack_ts = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "status"])]

    def __str__(self) -> str:
        return self.title


class Recommendation(models.Model):
    class Kind(models.TextChoices):
        DOWNSIZE = "downsize", "Model downsizing"
        CACHING = "caching", "Prompt caching"
        BATCH = "batch", "Batch API"
        TOKEN_BLOAT = "token_bloat", "Token bloat"
        GPU_IDLE = "gpu_idle", "Idle or over-provisioned GPU"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        APPLIED = "applied", "Applied"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    dedupe_key = models.CharField(max_length=300, unique=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)
    subject = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=300)
    estimated_monthly_saving = ExactDecimalField()
    currency = models.CharField(max_length=8, default="USD")
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    dismissed_reason = models.TextField(blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-estimated_monthly_saving"]

    def __str__(self) -> str:
        return self.title


class ConnectorStatus(models.Model):
    """How each provider pull (one per export kind, e.g. OpenAI usage/images) last went:
    shown to FinOps admins at /connections/; repeated failures raise a Slack alert."""

    source = models.CharField(max_length=32)
    kind = models.CharField(max_length=64)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_rows = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Failures in a row")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "kind"], name="unique_connector_status")
        ]
        verbose_name_plural = "connector statuses"

    def __str__(self) -> str:
        return f"{self.source} {self.kind}"


class RemediationPolicy(models.Model):
    """A FinOps admin's rule for the Run stage: when its trigger fires (an anomaly, a budget
    threshold, a recommendation), the alert or recommendation job proposes an action with
    its expected effect and a dry run; the people it names approve it (metrics.advice.policies)."""

    class Trigger(models.TextChoices):
        ANOMALY = "anomaly", "A spend anomaly of at least the minimum amount"
        BUDGET = "budget", "A budget reaching at least the percentage"
        RECOMMENDATION = "recommendation", "An open recommendation saving at least the amount"

    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: every team"
    )
    min_amount = ExactDecimalField(
        default=0,
        help_text="Anomaly: the day's spend; recommendation: the monthly saving (its currency)",
    )
    min_percent = models.PositiveIntegerField(
        default=100, help_text="Budget trigger: the share of the budget reached, in percent"
    )
    recommendation_kind = models.CharField(
        max_length=16, blank=True, help_text="Recommendation trigger: one kind, or empty for any"
    )
    action_kind = models.CharField(
        max_length=32,
        blank=True,
        help_text="What to propose; empty for a recommendation: the action it suggests",
    )
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text='Action parameters, e.g. {"application_key": "chatbot", "from_model": '
        '"gpt-4o", "to_model": "gpt-4o-mini"}; missing ones are taken from the trigger',
    )
    executor = models.CharField(max_length=32, default="webhook")
    approvers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="remediation_policies",
        help_text="Who may approve its actions; empty: FinOps admins and the team's leads",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "remediation policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from metrics.advice.policies import policy_errors

        errors = policy_errors(
            trigger=self.trigger,
            action_kind=self.action_kind,
            executor=self.executor,
            params=self.params,
            recommendation_kind=self.recommendation_kind,
            min_amount=self.min_amount,
        )
        if errors:
            raise ValidationError(errors)


class RemediationAction(models.Model):
    """A proposed change that a human must approve; runs at most once (conditional update on
    status), through a pluggable executor."""

    class Kind(models.TextChoices):
        BUDGET_CAP = "budget_cap", "Hard budget cap on an application key"
        MODEL_ROUTE = "model_route", "Switch an application's model route"
        GPU_SCALE_DOWN = "gpu_scale_down", "Scale a GPU pool down"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    recommendation = models.ForeignKey(
        Recommendation, null=True, blank=True, on_delete=models.SET_NULL
    )
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL)
    params = models.JSONField(default=dict)
    executor = models.CharField(max_length=32, default="webhook")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    proposed_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approved_actions",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    dry_run_result = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    policy = models.ForeignKey(
        RemediationPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    expected_effect = models.JSONField(default=dict, blank=True)
    outcome = models.JSONField(null=True, blank=True, help_text="Spend before and after")
    # Its own Slack message when it has no alert's message to live in.
    slack_channel = models.CharField(max_length=32, blank=True)
    slack_ts = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        permissions = [("approve_remediationaction", "Can approve remediation actions")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.team} ({self.status})"
