from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from curriculum.models import Exam, Module, ModuleVersion, Question


class Profile(models.Model):
    """Portal-side facts about a person: their Slack identity. Teams live on metrics.Team."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    slack_user_id = models.CharField(
        max_length=32, blank=True, default="", db_index=True, help_text="e.g. U0123ABCD"
    )
    paper_size = models.CharField(
        max_length=8,
        blank=True,
        default="",
        choices=[("", "From my language"), ("a4", "A4"), ("letter", "US Letter")],
        help_text="Paper size of PDF credential summaries",
    )

    class Meta:
        permissions = [
            ("view_people_progress", "HR: see learning progress and credentials of people"),
            ("view_team_progress", "Team lead: see progress of the teams they lead"),
            ("invite_people", "Can invite people to the portal by e-mail"),
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


# --- Learning -----------------------------------------------------------------------------


class ModuleProgressQuerySet(models.QuerySet["ModuleProgress"]):
    def for_user(self, user: Any) -> ModuleProgressQuerySet:
        return self.filter(user=user)

    def completed(self) -> ModuleProgressQuerySet:
        return self.filter(completed_at__isnull=False)


class ModuleProgress(models.Model):
    """One learner's progress through one version of a module.

    Progress points at the ModuleVersion the learner read: when authors publish a new version,
    what a learner completed stays attached to the text they actually read.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="module_progress"
    )
    module_version = models.ForeignKey(
        ModuleVersion, on_delete=models.PROTECT, related_name="progress"
    )
    # Denormalized from module_version so "is this module done?" is one indexed lookup.
    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="progress")
    sections_read = models.JSONField(default=list, blank=True)
    last_section = models.CharField(max_length=120, blank=True, default="")
    quiz_passed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ModuleProgressQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "module progress"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "module_version"], name="unique_progress_per_version"
            )
        ]
        indexes = [
            models.Index(fields=["user", "module"]),
            models.Index(fields=["user", "-updated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.module_version}"

    def sections_done(self) -> int:
        wanted = set(self.module_version.required_section_ids)
        return len(wanted & set(self.sections_read))

    def percent(self) -> int:
        """Sections read plus the quiz, as one percentage (the quiz counts as one section)."""
        total = len(self.module_version.required_section_ids) + 1
        done = self.sections_done() + (1 if self.quiz_passed_at else 0)
        return round(100 * done / total) if total else 0


class QuizAnswer(models.Model):
    """A learner's latest answer to one module-quiz question (choice positions, not ids)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_answers"
    )
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="quiz_answers")
    module_version = models.ForeignKey(
        ModuleVersion, on_delete=models.PROTECT, related_name="quiz_answers"
    )
    chosen = models.JSONField(default=list, help_text="Choice.order values the learner picked")
    correct = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=1)
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "question", "module_version"], name="unique_quiz_answer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.question}"


class QuizAttemptQuerySet(models.QuerySet["QuizAttempt"]):
    def for_user(self, user: Any) -> QuizAttemptQuerySet:
        return self.filter(user=user)


class QuizAttempt(models.Model):
    """One sitting of a module quiz: the questions drawn, their shuffled choices, the answers.

    `items` is [{"qid", "order": [Choice.order shown], "chosen": [Choice.order], "correct"}];
    the browser only ever sees opaque per-attempt tokens for the choices (portal.quiz).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="quiz_attempts")
    module_version = models.ForeignKey(
        ModuleVersion, on_delete=models.PROTECT, related_name="quiz_attempts"
    )
    items = models.JSONField(default=list)
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    needed = models.PositiveSmallIntegerField()
    passed = models.BooleanField(null=True, blank=True)

    objects = QuizAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["user", "module", "-started_at"])]
        constraints = [
            # One open sitting per learner and module, even with two tabs racing.
            models.UniqueConstraint(
                fields=["user", "module"],
                condition=models.Q(submitted_at__isnull=True),
                name="one_open_quiz_attempt_per_module",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on the {self.module} quiz ({self.started_at:%Y-%m-%d %H:%M})"

    @property
    def is_open(self) -> bool:
        return self.submitted_at is None

    @property
    def total(self) -> int:
        return len(self.items)


# --- Exam ---------------------------------------------------------------------------------


class ExamAttemptQuerySet(models.QuerySet["ExamAttempt"]):
    def for_user(self, user: Any) -> ExamAttemptQuerySet:
        return self.filter(user=user)

    def finished(self) -> ExamAttemptQuerySet:
        return self.exclude(status=ExamAttempt.Status.IN_PROGRESS)


class ExamAttempt(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exam_attempts"
    )
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="attempts")
    exam_version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    deadline = models.DateTimeField(help_text="Answers saved after this moment do not count")
    submitted_at = models.DateTimeField(null=True, blank=True)
    question_count = models.PositiveSmallIntegerField()
    pass_mark = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    domain_scores = models.JSONField(
        default=list, blank=True, help_text='[{"slug", "title", "correct", "total"}]'
    )

    objects = ExamAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "exam", "-started_at"])]
        constraints = [
            # At most one open attempt per learner and exam, even with two tabs racing.
            models.UniqueConstraint(
                fields=["user", "exam"],
                condition=models.Q(status="in_progress"),
                name="one_open_attempt_per_exam",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.exam} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.IN_PROGRESS

    @property
    def passed(self) -> bool:
        return self.status == self.Status.PASSED


class AttemptQuestion(models.Model):
    """One drawn question of an attempt, with the order its choices were shown in."""

    attempt = models.ForeignKey(ExamAttempt, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(help_text="1-based, as shown to the learner")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    domain = models.SlugField(max_length=100)
    choice_order = models.JSONField(help_text="Choice.order values in the order shown")
    chosen = models.JSONField(
        default=list, blank=True, help_text="Choice.order values picked (positions, not ids)"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    correct = models.BooleanField(null=True, blank=True, help_text="Set when the attempt ends")

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "position"], name="unique_attempt_position"),
            models.UniqueConstraint(fields=["attempt", "question"], name="unique_attempt_question"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id} #{self.position}"


# --- Credentials --------------------------------------------------------------------------


class CredentialQuerySet(models.QuerySet["Credential"]):
    def for_user(self, user: Any) -> CredentialQuerySet:
        return self.filter(user=user)

    def active(self, at: datetime | None = None) -> CredentialQuerySet:
        moment = at or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=moment)


class Credential(models.Model):
    """A certification earned by passing an exam; its public face is /credentials/<id>/."""

    class State(models.TextChoices):
        VALID = "valid", "Valid"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials"
    )
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="credentials")
    attempt = models.ForeignKey(
        ExamAttempt, on_delete=models.PROTECT, related_name="+", help_text="The latest pass"
    )
    holder_name = models.CharField(max_length=300)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)
    renewal_count = models.PositiveSmallIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revocation_reason = models.CharField(max_length=300, blank=True, default="")
    document = models.JSONField(
        default=dict, blank=True, help_text="The signed Open Badges 3.0 credential"
    )

    objects = CredentialQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at"]
        permissions = [("revoke_credential", "Can revoke a credential (HR, FinOps admin)")]

    def __str__(self) -> str:
        return f"{self.exam} for {self.holder_name} ({self.id})"

    def state(self, at: datetime | None = None) -> Credential.State:
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= (at or timezone.now()):
            return self.State.EXPIRED
        return self.State.VALID


# --- xAPI ---------------------------------------------------------------------------------


class XapiStatement(models.Model):
    """An xAPI 1.0.3 statement, kept so a company's Learning Record Store can take them."""

    class Verb(models.TextChoices):
        COMPLETED = "completed", "completed"
        PASSED = "passed", "passed"
        FAILED = "failed", "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="xapi_statements"
    )
    verb = models.CharField(max_length=16, choices=Verb.choices)
    object_id = models.CharField(max_length=500)
    timestamp = models.DateTimeField()
    stored = models.DateTimeField(auto_now_add=True)
    statement = models.JSONField()

    class Meta:
        ordering = ["stored", "id"]
        indexes = [models.Index(fields=["stored"])]
        permissions = [("export_xapi", "Can export xAPI statements for an LRS")]

    def __str__(self) -> str:
        return f"{self.user} {self.verb} {self.object_id}"


# --- HR: rubrics, evaluations, candidates, summary downloads ------------------------------


class Rubric(models.Model):
    """A hiring role's rubric. Its content lives in versions: an edit makes a new version."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    retired = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        permissions = [
            ("evaluate_people", "HR: evaluate people and candidates against rubrics"),
            ("edit_rubric", "HR: edit a rubric (makes a new version)"),
            ("view_summary_log", "HR: read the audit log of credential summary downloads"),
        ]

    def __str__(self) -> str:
        return self.title

    def current(self) -> RubricVersion:
        version = self.versions.order_by("-version").first()
        if version is None:
            raise RubricVersion.DoesNotExist(f"rubric {self.slug} has no version")
        return version


class RubricVersion(models.Model):
    """One immutable version of a rubric: levels, competencies, descriptors and mapping.

    `data` = {"description", "levels": [{"slug","title","description"}],
    "competencies": [{"slug","title","description","modules","exam_domains",
    "descriptors": {level slug: text}}]}.
    """

    class Source(models.TextChoices):
        FILE = "file", "Rubric file"
        PORTAL = "portal", "Edited in the portal"

    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    content_hash = models.CharField(max_length=64)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.FILE)
    file_hash = models.CharField(
        max_length=64, blank=True, default="", help_text="Hash of the file this version came from"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rubric", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["rubric", "version"], name="unique_rubric_version")
        ]

    def __str__(self) -> str:
        return f"{self.rubric.slug} v{self.version}"

    @property
    def levels(self) -> list[dict[str, Any]]:
        return list(self.data.get("levels", []))

    @property
    def competencies(self) -> list[dict[str, Any]]:
        return list(self.data.get("competencies", []))

    def level_title(self, slug: str) -> str:
        return next((lv["title"] for lv in self.levels if lv["slug"] == slug), slug)


class Candidacy(models.Model):
    """An external candidate for a role: a portal account (invited) with no team or spend."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="candidacy"
    )
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="candidacies")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "candidacies"
        permissions = [("candidate", "Is an external candidate: sees no spend and no team")]

    def __str__(self) -> str:
        return f"{self.user} for {self.rubric}"


class Evaluation(models.Model):
    """HR's evaluation of one person against one rubric version (kept when the rubric moves on)."""

    class Recommendation(models.TextChoices):
        NONE = "", "Not decided"
        STRONG_YES = "strong_yes", "Strong yes"
        YES = "yes", "Yes"
        NO = "no", "No"
        STRONG_NO = "strong_no", "Strong no"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evaluations"
    )
    rubric_version = models.ForeignKey(
        RubricVersion, on_delete=models.PROTECT, related_name="evaluations"
    )
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_candidate = models.BooleanField(default=False)
    recommendation = models.CharField(
        max_length=16, choices=Recommendation.choices, blank=True, default=""
    )
    summary = models.TextField(blank=True, default="")
    shared_with_subject = models.BooleanField(
        default=False, help_text="The person may see this evaluation and its notes"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["subject", "-updated_at"])]

    def __str__(self) -> str:
        return f"{self.subject} against {self.rubric_version}"


class EvaluationLevel(models.Model):
    """One competency of an evaluation: the proposed level, HR's level and notes."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="levels")
    competency = models.SlugField(max_length=100)
    proposed_level = models.CharField(max_length=100, blank=True, default="")
    evidence = models.JSONField(default=list, blank=True)
    level = models.CharField(max_length=100, blank=True, default="")
    note = models.TextField(blank=True, default="", help_text="Why HR confirmed or overrode")
    interview_notes = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["evaluation", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "competency"], name="unique_evaluation_competency"
            )
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id} {self.competency}: {self.level or '-'}"


class SummaryBatch(models.Model):
    """A bulk ZIP of credential summaries, built by a Celery task; the link lasts 24 hours."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Building"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    subject_ids = models.JSONField(default=list)
    paper = models.CharField(max_length=8, default="a4")
    label = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    file = models.CharField(max_length=300, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "summary batches"

    def __str__(self) -> str:
        return f"ZIP {self.id} ({self.status}, {self.done}/{self.total})"

    def is_expired(self, at: datetime | None = None) -> bool:
        return self.expires_at <= (at or timezone.now())


class SummaryDownload(models.Model):
    """Audit log: who downloaded whose credential summary, when, in which format."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        ZIP = "zip", "ZIP (PDF)"
        CSV = "csv", "CSV"

    class Channel(models.TextChoices):
        WEB = "web", "Portal"
        ZIP = "zip", "Bulk ZIP"
        COMMAND = "command", "Command line"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=300, help_text="e-mail, or the command and host")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_label = models.CharField(max_length=300)
    format = models.CharField(max_length=4, choices=Format.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    batch = models.ForeignKey(
        SummaryBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="downloads"
    )

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            # A retried ZIP task logs each person once per batch.
            models.UniqueConstraint(
                fields=["batch", "subject", "format"],
                condition=models.Q(batch__isnull=False),
                name="one_log_per_batch_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} -> {self.subject_label} ({self.format}, {self.channel})"


# --- The board report ---------------------------------------------------------------------


class BoardReport(models.Model):
    """The monthly board report, both formats, generated once per month by Celery beat
    (portal.board_report_monthly) or on first download. Stored in the database so every
    web process and worker serves the same bytes without a shared disk."""

    month = models.DateField(unique=True, help_text="First day of the month reported")
    pdf = models.BinaryField()
    pptx = models.BinaryField()
    data_through = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"Board report {self.month:%Y-%m}"
