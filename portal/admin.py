from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from metrics.models import TeamMembership
from portal.accounts import user_send_invitation
from portal.credentials import can_revoke, credential_revoke
from portal.models import (
    Credential,
    Profile,
    QuizAttempt,
    Rubric,
    SummaryDownload,
    XapiStatement,
)

User = get_user_model()


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["slack_user_id"]


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    verbose_name = "team membership"


admin.site.unregister(User)


@admin.action(description="Send an invitation e-mail (set-password link)")
def send_invitation(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    inviter = request.user if request.user.is_authenticated else None
    for user in queryset:
        user_send_invitation(user=user, invited_by=inviter)
    sent = queryset.count()
    modeladmin.message_user(
        request, f"Invitation sent to {sent} {'person' if sent == 1 else 'people'}."
    )


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [ProfileInline, MembershipInline]
    actions = [send_invitation]
    list_display = ["username", "email", "first_name", "last_name", "is_staff"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "slack_user_id"]
    search_fields = ["user__username", "user__email", "slack_user_id"]


@admin.action(description="Revoke the selected credentials")
def revoke_credentials(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    if not can_revoke(request.user):
        modeladmin.message_user(request, "You may not revoke credentials.", level=messages.ERROR)
        return
    for credential in queryset:
        credential_revoke(credential=credential, by=request.user, reason="Revoked in the admin")  # type: ignore[arg-type]
    modeladmin.message_user(request, f"{queryset.count()} credentials revoked.")


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ["id", "holder_name", "exam", "issued_at", "expires_at", "revoked_at"]
    list_filter = ["exam", "revoked_at"]
    search_fields = ["holder_name", "user__email", "id"]
    readonly_fields = [f.name for f in Credential._meta.fields]
    actions = [revoke_credentials]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(XapiStatement)
class XapiStatementAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "user", "verb", "object_id"]
    list_filter = ["verb"]
    readonly_fields = ["id", "user", "verb", "object_id", "timestamp", "stored", "statement"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(QuizAttempt)
class QuizAttemptAdmin(admin.ModelAdmin):
    """Quiz attempts are the learner's record: read-only here."""

    list_display = ["started_at", "user", "module", "score", "needed", "passed"]
    list_filter = ["passed", "module"]
    readonly_fields = [
        "public_id",
        "user",
        "module",
        "module_version",
        "items",
        "started_at",
        "submitted_at",
        "score",
        "needed",
        "passed",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "retired")
    readonly_fields = ("slug",)


@admin.register(SummaryDownload)
class SummaryDownloadAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "subject_label", "format", "channel")
    list_filter = ("format", "channel")
    readonly_fields = [f.name for f in SummaryDownload._meta.fields]
