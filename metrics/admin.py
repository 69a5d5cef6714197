from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from metrics.models import (
    AllocationRule,
    ApplicationName,
    CostRecord,
    DailyCost,
    ImportBatch,
    Team,
    TeamMembership,
    WorkerHeartbeat,
)


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "slack_channel_id", "slack_usergroup_id", "time_zone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamMembershipInline]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "last_seen", "beats"]
    readonly_fields = ["hostname", "last_seen", "beats"]


@admin.register(AllocationRule)
class AllocationRuleAdmin(admin.ModelAdmin):
    list_display = [
        "priority",
        "field",
        "tag_key",
        "pattern",
        "team",
        "application_name",
        "active",
        "updated_at",
    ]
    list_editable = ["active"]
    list_filter = ["field", "active", "team"]
    ordering = ["priority", "id"]


@admin.register(ApplicationName)
class ApplicationNameAdmin(admin.ModelAdmin):
    """Names the providers' data gave (refreshed by imports); a name set on an application
    allocation rule takes precedence on the dashboards."""

    list_display = ["key", "name", "updated_at"]
    search_fields = ["key", "name"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["file_name", "source", "status", "row_count", "replaced_count", "created_at"]
    list_filter = ["source", "status"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # imports go through import_billing, the upload page or the API


@admin.register(CostRecord)
class CostRecordAdmin(admin.ModelAdmin):
    list_display = [
        "day",
        "provider",
        "model",
        "service_name",
        "billed_cost",
        "effective_cost",
        "billing_currency",
        "team",
    ]
    list_filter = ["provider", "service_category", "billing_currency", "team"]
    search_fields = ["resource_id", "model", "application_key"]
    date_hierarchy = "day"
    list_select_related = ["team", "batch"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DailyCost)
class DailyCostAdmin(admin.ModelAdmin):
    list_display = [
        "day",
        "team",
        "provider",
        "service_category",
        "model",
        "currency",
        "effective_cost",
        "record_count",
    ]
    list_filter = ["provider", "currency", "team"]
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- Prices, recommendations, remediation (metrics.economics.pricing, metrics.advice)

from django.contrib import messages  # noqa: E402
from django.core.exceptions import PermissionDenied, ValidationError  # noqa: E402
from django.db.models import QuerySet  # noqa: E402

from metrics.models import GpuRate, ModelPrice, Recommendation, RemediationAction  # noqa: E402


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    """Editable catalog; saving a price re-prices the ledger in the background."""

    list_display = [
        "provider",
        "model",
        "effective_date",
        "input_per_mtok",
        "cached_input_per_mtok",
        "cache_write_per_mtok",
        "output_per_mtok",
        "batch_input_per_mtok",
        "batch_output_per_mtok",
        "tier",
        "currency",
    ]
    list_filter = ["provider", "tier", "currency"]
    search_fields = ["model", "note"]
    date_hierarchy = "effective_date"


@admin.register(GpuRate)
class GpuRateAdmin(admin.ModelAdmin):
    list_display = ["name", "effective_date", "cost_per_hour", "currency"]
    search_fields = ["name"]


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "kind",
        "team",
        "estimated_monthly_saving",
        "currency",
        "status",
        "updated_at",
    ]
    list_filter = ["kind", "status", "team"]
    search_fields = ["title", "subject", "dedupe_key"]
    readonly_fields = [f.name for f in Recommendation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the daily job; dismissed through the portal, Slack or API


@admin.register(RemediationAction)
class RemediationActionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "team",
        "status",
        "policy",
        "approved_by",
        "approved_at",
        "executed_at",
    ]
    list_filter = ["kind", "status", "team", "policy"]
    readonly_fields = [f.name for f in RemediationAction._meta.fields]
    actions = ["approve", "dry_run"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # proposed through metrics.advice.remediation.action_propose

    @admin.action(description="Approve (and run once) the selected actions")
    def approve(self, request: HttpRequest, queryset: QuerySet[RemediationAction]) -> None:
        from metrics.advice.remediation import action_approve

        for action in queryset:
            try:
                action_approve(action=action, user=request.user)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"#{action.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"#{action.pk} approved; it runs once now.")

    @admin.action(description="Dry run: store what would be sent")
    def dry_run(self, request: HttpRequest, queryset: QuerySet[RemediationAction]) -> None:
        from metrics.advice.remediation import action_dry_run

        for action in queryset:
            action_dry_run(action=action, record=True)
        self.message_user(request, "Dry runs stored on the selected actions.")


from metrics.models import RemediationPolicy  # noqa: E402


@admin.register(RemediationPolicy)
class RemediationPolicyAdmin(admin.ModelAdmin):
    """The Run stage's rules (metrics.advice.policies): evaluated by the alert and recommendation
    jobs; the approvers named here are the only ones who may approve their actions."""

    list_display = ["name", "enabled", "trigger", "team", "action_kind", "executor"]
    list_filter = ["enabled", "trigger", "executor"]
    filter_horizontal = ["approvers"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(
        self, request: HttpRequest, obj: RemediationPolicy, form: Any, change: bool
    ) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


# --- Budgets and alerts (metrics.alerting.budgets / anomalies / alerts) -------------------

from metrics.models import Alert, Budget  # noqa: E402


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    """Thresholds are percents (empty: 50, 80, 100); checked hourly by metrics.evaluate_budgets."""

    list_display = [
        "team",
        "application_key",
        "monthly_amount",
        "currency",
        "thresholds",
        "forecast_alert",
        "active",
    ]
    list_filter = ["active", "currency", "team"]
    list_editable = ["active"]
    search_fields = ["team__name", "team__slug", "application_key"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "team", "day", "amount", "currency", "status", "created_at"]
    list_filter = ["kind", "status", "team"]
    search_fields = ["title", "subject", "dedupe_key"]
    date_hierarchy = "day"
    list_select_related = ["team"]
    readonly_fields = [f.name for f in Alert._meta.fields]
    actions = ["acknowledge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # raised by the budget and anomaly jobs only

    @admin.action(description="Acknowledge the selected alerts")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        from metrics.alerting.alerts import alert_acknowledge

        done = 0
        for alert in queryset:
            try:
                alert_acknowledge(alert=alert, user=request.user)
            except PermissionDenied as exc:
                self.message_user(request, f"#{alert.pk}: {exc}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} alert(s) acknowledged.")
