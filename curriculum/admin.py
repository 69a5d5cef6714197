from typing import Any

from django.contrib import admin, messages
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from curriculum.models import Choice, Exam, ExamDomain, Module, ModuleVersion, Question, Track

SOURCE_OF_TRUTH = (
    "Saved. curriculum/content/ is the source of truth: make the same change in the file, "
    "or the next sync_curriculum puts this row back in line with it."
)


class ContentAdmin(admin.ModelAdmin):
    """Admin edits are quick fixes; the reminder keeps them from silently diverging."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self.message_user(request, SOURCE_OF_TRUTH, level=messages.WARNING)


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "order"]


class ModuleVersionInline(admin.TabularInline):
    model = ModuleVersion
    fields = ["version", "word_count", "content_hash", "created_at"]
    readonly_fields = ["version", "word_count", "content_hash", "created_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Module)
class ModuleAdmin(ContentAdmin):
    list_display = [
        "order",
        "title",
        "slug",
        "track",
        "current_version",
        "estimated_minutes",
        "required_for_exam",
        "retired",
    ]
    list_display_links = ["title"]
    list_filter = ["track", "required_for_exam", "retired"]
    search_fields = ["slug", "title", "summary"]
    readonly_fields = ["current_version", "updated_at"]
    inlines = [ModuleVersionInline]


@admin.register(ModuleVersion)
class ModuleVersionAdmin(admin.ModelAdmin):
    """Versions are what learners completed: they are read-only."""

    list_display = ["module", "version", "word_count", "created_at"]
    list_filter = ["module"]
    readonly_fields = [
        "module",
        "version",
        "content_hash",
        "body_markdown",
        "rendered_html",
        "toc",
        "word_count",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ChoiceInline(admin.TabularInline):
    model = Choice
    fields = ["order", "text", "is_correct"]
    extra = 0


@admin.register(Question)
class QuestionAdmin(ContentAdmin):
    list_display = ["qid", "kind", "module", "domain", "difficulty", "type", "retired"]
    list_filter = ["kind", "module", "domain", "difficulty", "type", "retired"]
    search_fields = ["qid", "prompt", "explanation"]
    readonly_fields = ["content_hash", "updated_at"]
    inlines = [ChoiceInline]


class ExamDomainInline(admin.TabularInline):
    model = ExamDomain
    fields = ["order", "slug", "title", "weight", "retired"]
    extra = 0


@admin.register(Exam)
class ExamAdmin(ContentAdmin):
    list_display = [
        "title",
        "slug",
        "version",
        "question_count",
        "duration_minutes",
        "pass_ratio",
        "max_attempts",
        "validity_months",
        "retired",
    ]
    inlines = [ExamDomainInline]
