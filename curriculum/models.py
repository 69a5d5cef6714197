"""The curriculum as loaded from `curriculum/content/` by `curriculum_sync`.

The files are the source of truth. Rows are never deleted by the sync: what disappears from
the files is marked `retired`, and module text is kept per `ModuleVersion` so that learner
records (in the portal) can point at exactly the version a learner completed.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from curriculum.content_loader import exam_blueprint, largest_remainder


class Track(models.Model):
    class Slug(models.TextChoices):
        CRAWL = "crawl", "Crawl"
        WALK = "walk", "Walk"
        RUN = "run", "Run"

    slug = models.CharField(max_length=16, unique=True, choices=Slug.choices)
    title = models.CharField(max_length=64)
    order = models.PositiveSmallIntegerField(unique=True)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.title


class ModuleQuerySet(models.QuerySet["Module"]):
    def published(self) -> ModuleQuerySet:
        return self.filter(retired=False)

    def required(self) -> ModuleQuerySet:
        """Published modules a learner must complete before the exam."""
        return self.published().filter(required_for_exam=True)

    def catalogue(self) -> ModuleQuerySet:
        """Published modules in catalogue order (track by track, then by order), with their
        track: the order of /learn/, "my learning" and the exam's "modules still to complete"."""
        return self.published().select_related("track").order_by("track__order", "order", "slug")


class Module(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="modules")
    order = models.PositiveSmallIntegerField(help_text="Position in the catalogue (1..N)")
    summary = models.TextField()
    objectives = models.JSONField(default=list, blank=True)
    estimated_minutes = models.PositiveSmallIntegerField()
    required_for_exam = models.BooleanField(default=True)
    domains = models.JSONField(default=list, blank=True, help_text="Exam domain slugs")
    current_version = models.PositiveIntegerField(default=0)
    retired = models.BooleanField(
        default=False, help_text="Gone from the content files; kept for learner records"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ModuleQuerySet.as_manager()

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title

    def current(self) -> ModuleVersion:
        return self.versions.get(version=self.current_version)


REFERENCE_SECTIONS = frozenset({"sources", "key terms"})


class ModuleVersion(models.Model):
    """An immutable snapshot of a module's text; learners' progress points here."""

    # PROTECT: deleting a module must not silently take learners' completed versions with it.
    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of front matter + body")
    body_markdown = models.TextField()
    rendered_html = models.TextField(help_text="Sanitized HTML, safe to mark safe in templates")
    toc = models.JSONField(default=list, help_text='The ## sections: [{"id", "title"}]')
    word_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["module", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["module", "version"], name="unique_module_version")
        ]

    def __str__(self) -> str:
        return f"{self.module.slug} v{self.version}"

    @property
    def section_ids(self) -> list[str]:
        return [entry["id"] for entry in self.toc]

    @property
    def required_section_ids(self) -> list[str]:
        """The sections a learner reads to complete the module: all but the reference ones
        (Sources, Key terms), which are there to look things up, not to be ticked off."""
        return [
            entry["id"]
            for entry in self.toc
            if " ".join(entry["title"].split()).casefold() not in REFERENCE_SECTIONS
        ]


class QuestionQuerySet(models.QuerySet["Question"]):
    def active(self) -> QuestionQuerySet:
        return self.filter(retired=False)

    def quiz_for(self, module: Module) -> QuestionQuerySet:
        return self.active().filter(kind=Question.Kind.QUIZ, module=module).order_by("qid")

    def exam_bank(self) -> QuestionQuerySet:
        return self.active().filter(kind=Question.Kind.EXAM)


class Question(models.Model):
    class Kind(models.TextChoices):
        QUIZ = "quiz", "Module quiz"
        EXAM = "exam", "Exam bank"

    class Type(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"

    class Difficulty(models.TextChoices):
        FOUNDATION = "foundation", "Foundation"
        PRACTITIONER = "practitioner", "Practitioner"
        ADVANCED = "advanced", "Advanced"

    qid = models.SlugField(max_length=120, unique=True, help_text="The `id` in the YAML file")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    module = models.ForeignKey(
        Module, on_delete=models.PROTECT, null=True, blank=True, related_name="questions"
    )
    domain = models.SlugField(max_length=100, blank=True, default="")
    difficulty = models.CharField(max_length=16, choices=Difficulty.choices, blank=True, default="")
    type = models.CharField(max_length=8, choices=Type.choices)
    prompt = models.TextField()
    explanation = models.TextField()
    content_hash = models.CharField(max_length=64)
    retired = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "qid"]
        indexes = [models.Index(fields=["kind", "domain", "retired"])]

    def __str__(self) -> str:
        return self.qid

    def correct_orders(self) -> set[int]:
        return {choice.order for choice in self.choices.all() if choice.is_correct}

    def is_answered_correctly(self, chosen_orders: set[int]) -> bool:
        """All correct choices and nothing else: no partial credit, as in the FinOps exams."""
        return chosen_orders == self.correct_orders()


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    order = models.PositiveSmallIntegerField()
    text = models.TextField()
    is_correct = models.BooleanField(default=False)
    feedback = models.TextField(
        blank=True,
        default="",
        help_text="Why this choice is wrong (or right), shown to a learner who picked it",
    )

    class Meta:
        ordering = ["question", "order"]
        constraints = [
            models.UniqueConstraint(fields=["question", "order"], name="unique_choice_order")
        ]

    def __str__(self) -> str:
        return self.text[:80]


class Exam(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    question_count = models.PositiveSmallIntegerField()
    duration_minutes = models.PositiveSmallIntegerField()
    pass_ratio = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )
    max_attempts = models.PositiveSmallIntegerField()
    attempt_window_months = models.PositiveSmallIntegerField()
    waiting_days = models.JSONField(
        default=list, help_text="Days to wait after the 1st, 2nd, ... failed attempt"
    )
    difficulty_mix = models.JSONField(
        default=dict,
        blank=True,
        help_text="Share of each domain's questions per difficulty, e.g. "
        '{"foundation": "0.3", "practitioner": "0.5", "advanced": "0.2"}',
    )
    validity_months = models.PositiveSmallIntegerField()
    version = models.PositiveIntegerField(default=1)
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title

    def pass_mark(self) -> int:
        """Correct answers needed to pass (75% of 50 is 37.5, so 38)."""
        return math.ceil(self.question_count * self.pass_ratio)

    def active_domains(self) -> list[ExamDomain]:
        return list(self.domains.filter(retired=False).order_by("order", "slug"))

    def questions_per_domain(self, domains: list[ExamDomain] | None = None) -> dict[str, int]:
        """How many questions each active domain gets per attempt, summing to question_count.

        Largest remainder (`largest_remainder`), so the split is deterministic.
        `domains`: `active_domains()` when the caller already loaded them (saves a query).
        """
        if domains is None:
            domains = self.active_domains()
        counts = largest_remainder(self.question_count, [domain.weight for domain in domains])
        if not domains or sum(counts) == 0:
            return {}
        return {domain.slug: count for domain, count in zip(domains, counts, strict=True)}

    def blueprint(self, domains: list[ExamDomain] | None = None) -> dict[tuple[str, str], int]:
        """Questions per (domain, difficulty) in every attempt, so that every attempt is
        equivalent: the domain split of `questions_per_domain`, then each domain's questions split
        by `difficulty_mix` (largest remainder). Difficulty "" means any (no mix defined)."""
        if domains is None:
            domains = self.active_domains()
        if not self.questions_per_domain(domains):
            return {}
        mix = {level: Decimal(str(share)) for level, share in (self.difficulty_mix or {}).items()}
        return exam_blueprint(
            self.question_count, {domain.slug: domain.weight for domain in domains}, mix
        )


class ExamDomain(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="domains")
    slug = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    weight = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )
    order = models.PositiveSmallIntegerField(default=0)
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["exam", "order", "slug"]
        constraints = [models.UniqueConstraint(fields=["exam", "slug"], name="unique_exam_domain")]

    def __str__(self) -> str:
        return f"{self.title} ({self.weight})"
