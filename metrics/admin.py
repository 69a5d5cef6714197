from django.contrib import admin
from django.http import HttpRequest

from metrics.models import (
    AllocationRule,
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
    list_display = ["priority", "field", "tag_key", "pattern", "team", "active", "updated_at"]
    list_editable = ["active"]
    list_filter = ["field", "active", "team"]
    ordering = ["priority", "id"]


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
