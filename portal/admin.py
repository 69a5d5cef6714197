from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from metrics.models import TeamMembership
from portal.models import Profile

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


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [ProfileInline, MembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "slack_user_id"]
    search_fields = ["user__username", "user__email", "slack_user_id"]
