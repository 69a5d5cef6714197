from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bot.models import Delivery, Interaction, Nudge, NudgeMute, SlackEvent
from bot.transport import redeliver


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["key", "method", "channel", "status", "attempts", "updated_at"]
    list_filter = ["status", "method"]
    search_fields = ["key", "channel", "error"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["send_again"]

    @admin.action(description="Send the selected failed deliveries again")
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        results = [redeliver(d.pk) for d in queryset.filter(status=Delivery.Status.FAILED)]
        sent = sum(1 for d in results if d is not None and d.status == Delivery.Status.SENT)
        level = messages.SUCCESS if sent == len(results) else messages.WARNING
        self.message_user(request, f"{sent} of {len(results)} failed deliveries sent.", level)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SlackEvent)
class SlackEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "received_at", "retries_seen"]
    search_fields = ["event_id"]
    readonly_fields = ["event_id", "event_type", "payload", "received_at", "retries_seen"]


@admin.register(Nudge)
class NudgeAdmin(admin.ModelAdmin):
    list_display = ["kind", "team", "recipient", "subject", "status", "created_at"]
    list_filter = ["kind", "status", "team"]
    search_fields = ["recipient", "subject"]


@admin.register(NudgeMute)
class NudgeMuteAdmin(admin.ModelAdmin):
    list_display = ["slack_user_id", "kind", "until", "created_at"]
    list_filter = ["kind"]
    search_fields = ["slack_user_id"]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "slack_user_id", "action", "target", "allowed", "detail"]
    list_filter = ["action", "allowed"]
    search_fields = ["slack_user_id", "target"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
