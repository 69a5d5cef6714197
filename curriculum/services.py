"""Use cases of the curriculum: load the content files into the database, and check them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from curriculum import lint
from curriculum.content_loader import (
    Content,
    ExamSource,
    ModuleSource,
    QuestionSource,
    content_hash,
    load_content,
    question_fingerprint,
)
from curriculum.models import Choice, Exam, ExamDomain, Module, ModuleVersion, Question, Track
from curriculum.rendering import render_markdown
from curriculum.yaml_lines import ContentError

TRACKS: dict[str, tuple[str, int, str]] = {
    "crawl": ("Crawl", 1, "Visibility: see and allocate AI spend, learn the vocabulary."),
    "walk": ("Walk", 2, "Automated alerting, unit economics and rightsizing."),
    "run": ("Run", 3, "Automated remediation with guardrails, sustainability and governance."),
}


@dataclass
class SyncReport:
    tracks_created: int = 0
    modules_created: int = 0
    modules_new_version: int = 0
    modules_updated: int = 0  # catalogue fields put back in line with the files, same text
    modules_unchanged: int = 0
    modules_retired: int = 0
    versions_rerendered: int = 0  # same text, renderer or sanitizer changed
    questions_created: int = 0
    questions_updated: int = 0
    questions_unchanged: int = 0
    questions_retired: int = 0
    exams_created: int = 0
    exams_updated: int = 0
    exams_unchanged: int = 0
    exams_retired: int = 0

    @property
    def changes(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self) if not f.name.endswith("_unchanged"))

    def lines(self) -> list[str]:
        return [
            f"modules: {self.modules_created} created, {self.modules_new_version} new versions, "
            f"{self.modules_updated} updated, {self.modules_unchanged} unchanged, "
            f"{self.modules_retired} retired ({self.versions_rerendered} versions re-rendered)",
            f"questions: {self.questions_created} created, {self.questions_updated} updated, "
            f"{self.questions_unchanged} unchanged, {self.questions_retired} retired",
            f"exams: {self.exams_created} created, {self.exams_updated} updated, "
            f"{self.exams_unchanged} unchanged, {self.exams_retired} retired",
            f"tracks: {self.tracks_created} created",
            f"total changes: {self.changes}",
        ]


def curriculum_sync(*, content_dir: Path | None = None) -> SyncReport:
    """Load the content files into the database.

    Atomic: a content error (raised as ContentError, `file:line: reason`) writes nothing.
    Idempotent: a second run with the same files changes nothing and reports 0 changes.
    Versioned: a module whose front matter or body changed gets a new ModuleVersion
    (max(front matter version, previous + 1)); earlier versions stay, so learner records
    keep pointing at what they completed. Questions are upserted by `qid`. Nothing is deleted:
    modules, questions, exams and exam domains that left the files are marked retired.
    Rows edited in the admin are put back in line with the files.
    """
    content = load_content(content_dir)
    report = SyncReport()
    with transaction.atomic():
        tracks = _sync_tracks(report)
        modules = _sync_modules(content, tracks, report)
        _sync_questions(content, modules, report)
        _sync_exam(content.exam, report)
    return report


def curriculum_lint(content_dir: Path | None = None) -> list[ContentError]:
    """Every problem in the content files, sorted by file and line; empty when all is well.

    Reads files only; touches no database.
    """
    return lint.lint_content(content_dir)


def curriculum_summary(content_dir: Path | None = None) -> lint.ContentSummary:
    """Word and question counts per module and the exam bank's shape, for the lint report."""
    return lint.summarize_content(content_dir)


def _sync_tracks(report: SyncReport) -> dict[str, Track]:
    tracks: dict[str, Track] = {}
    for slug, (title, order, description) in TRACKS.items():
        track, created = Track.objects.get_or_create(
            slug=slug, defaults={"title": title, "order": order, "description": description}
        )
        report.tracks_created += int(created)
        tracks[slug] = track
    return tracks


def _module_fields(source: ModuleSource, track: Track) -> dict[str, Any]:
    return {
        "title": source.title,
        "track": track,
        "order": source.order,
        "summary": source.summary,
        "objectives": list(source.objectives),
        "estimated_minutes": source.estimated_minutes,
        "required_for_exam": source.required_for_exam,
        "domains": list(source.domains),
        "retired": False,
    }


def _assign_changed(instance: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


def _new_version(module: Module, source: ModuleSource, version: int) -> ModuleVersion:
    rendered = render_markdown(source.body)
    return ModuleVersion.objects.create(
        module=module,
        version=version,
        content_hash=source.content_hash,
        body_markdown=source.body,
        rendered_html=rendered.html,
        toc=rendered.toc,
        word_count=rendered.word_count,
    )


def _sync_modules(
    content: Content, tracks: dict[str, Track], report: SyncReport
) -> dict[str, Module]:
    existing = {module.slug: module for module in Module.objects.select_for_update()}
    for source in content.modules:
        values = _module_fields(source, tracks[source.track])
        module = existing.get(source.slug)
        if module is None:
            module = Module.objects.create(
                slug=source.slug, current_version=source.version, **values
            )
            _new_version(module, source, source.version)
            existing[source.slug] = module
            report.modules_created += 1
            continue
        latest = module.versions.order_by("-version").first()
        if latest is None or latest.content_hash != source.content_hash:
            version = max(source.version, (latest.version if latest else 0) + 1)
            _new_version(module, source, version)
            _assign_changed(module, {**values, "current_version": version})
            module.save()
            report.modules_new_version += 1
        elif _assign_changed(module, {**values, "current_version": latest.version}):
            module.save()
            report.modules_updated += 1
        else:
            report.modules_unchanged += 1
    in_files = {source.slug for source in content.modules}
    for slug, module in existing.items():
        if slug not in in_files and not module.retired:
            module.retired = True
            module.save(update_fields=["retired", "updated_at"])
            report.modules_retired += 1
    report.versions_rerendered += _rerender_versions()
    return existing


def _rerender_versions() -> int:
    """Re-render stored versions whose HTML no longer matches what the renderer produces.

    The text of a version never changes; a renderer or sanitizer fix must still reach it.
    """
    count = 0
    for version in ModuleVersion.objects.all():
        rendered = render_markdown(version.body_markdown)
        values = {
            "rendered_html": rendered.html,
            "toc": rendered.toc,
            "word_count": rendered.word_count,
        }
        if _assign_changed(version, values):
            version.save(update_fields=list(values))
            count += 1
    return count


def _row_hash(question: Question) -> str:
    """The hash of a question as it is in the database (admin edits included)."""
    return content_hash(
        question_fingerprint(
            kind=question.kind,
            module=question.module.slug if question.module else "",
            type=question.type,
            prompt=question.prompt,
            choices=[
                (choice.text, choice.is_correct, choice.feedback)
                for choice in question.choices.all()
            ],
            explanation=question.explanation,
            domain=question.domain,
            difficulty=question.difficulty,
        )
    )


def _sync_questions(content: Content, modules: dict[str, Module], report: SyncReport) -> None:
    existing = {
        question.qid: question
        for question in Question.objects.select_related("module").prefetch_related("choices")
    }
    for source in content.questions():
        values: dict[str, Any] = {
            "kind": source.kind,
            "module": modules[source.module] if source.module else None,
            "type": source.type,
            "prompt": source.prompt,
            "explanation": source.explanation,
            "domain": source.domain,
            "difficulty": source.difficulty,
            "content_hash": source.content_hash,
            "retired": False,
        }
        question = existing.get(source.qid)
        if question is None:
            question = Question.objects.create(qid=source.qid, **values)
            _sync_choices(question, source)
            report.questions_created += 1
        elif question.retired or _row_hash(question) != source.content_hash:
            _assign_changed(question, values)
            question.save()
            _sync_choices(question, source)
            report.questions_updated += 1
        else:
            if _assign_changed(question, {"content_hash": source.content_hash}):
                question.save(update_fields=["content_hash"])
            report.questions_unchanged += 1
    in_files = {source.qid for source in content.questions()}
    for qid, question in existing.items():
        if qid not in in_files and not question.retired:
            question.retired = True
            question.save(update_fields=["retired", "updated_at"])
            report.questions_retired += 1


def _sync_choices(question: Question, source: QuestionSource) -> None:
    """Update choices in place by position, so answers recorded against a position survive."""
    current = {choice.order: choice for choice in Choice.objects.filter(question=question)}
    for order, choice_source in enumerate(source.choices):
        values = {
            "text": choice_source.text,
            "is_correct": choice_source.correct,
            "feedback": choice_source.why,
        }
        choice = current.get(order)
        if choice is None:
            Choice.objects.create(question=question, order=order, **values)
        elif _assign_changed(choice, values):
            choice.save(update_fields=list(values))
    Choice.objects.filter(question=question, order__gte=len(source.choices)).delete()


def _sync_exam(source: ExamSource | None, report: SyncReport) -> None:
    if source is None:
        return
    values: dict[str, Any] = {
        "title": source.title,
        "question_count": source.question_count,
        "duration_minutes": source.duration_minutes,
        "pass_ratio": source.pass_ratio,
        "max_attempts": source.max_attempts,
        "attempt_window_months": source.attempt_window_months,
        "waiting_days": list(source.waiting_days),
        # Strings: JSON keeps the Decimal exact (0.3 stays "0.3").
        "difficulty_mix": {level: str(share) for level, share in source.difficulty_mix.items()},
        "validity_months": source.validity_months,
        "version": source.version,
        "retired": False,
    }
    exam = Exam.objects.filter(slug=source.slug).first()
    created = exam is None
    if exam is None:
        exam = Exam.objects.create(slug=source.slug, **values)
        changed = True
    else:
        changed = _assign_changed(exam, values)
        if changed:
            exam.save()
    domains = {domain.slug: domain for domain in exam.domains.all()}
    for order, domain_source in enumerate(source.domains):
        domain_values: dict[str, Any] = {
            "title": domain_source.title,
            "weight": domain_source.weight.quantize(Decimal("0.001")),
            "order": order,
            "retired": False,
        }
        domain = domains.get(domain_source.slug)
        if domain is None:
            ExamDomain.objects.create(exam=exam, slug=domain_source.slug, **domain_values)
            changed = True
        elif _assign_changed(domain, domain_values):
            domain.save()
            changed = True
    in_file = {domain.slug for domain in source.domains}
    for slug, domain in domains.items():
        if slug not in in_file and not domain.retired:
            domain.retired = True
            domain.save(update_fields=["retired"])
            changed = True
    if created:
        report.exams_created += 1
    elif changed:
        report.exams_updated += 1
    else:
        report.exams_unchanged += 1
    retired = Exam.objects.exclude(slug=source.slug).filter(retired=False).update(retired=True)
    report.exams_retired += retired
