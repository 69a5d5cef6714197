"""Catalogue, module pages, quizzes and the learner's dashboard."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from curriculum.models import Module, ModuleVersion
from portal import learning
from portal import quiz as quiz_service
from portal.exam import current_exam, exam_eligibility
from portal.models import Credential, ModuleProgress, QuizAttempt
from portal.views import signed_in
from portal.xapi import xapi_export


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    html: SafeString
    read: bool
    reference: bool  # Sources, Key terms: never needs marking read


_H2_RE = re.compile(r'(?=<h2 id="[^"]+">)')
_TABLE_RE = re.compile(r"<table>(.*?)</table>", re.DOTALL)


def _scrolling_tables(fragment: str, label: str) -> str:
    """Wrap each table in a box that scrolls sideways on a narrow screen, reachable with the
    keyboard (a focusable, labelled region). Only fixed markup is added around sanitized HTML."""
    count = 0

    def wrap(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        name = escape(f"{label}: table {count}")
        return (
            f'<div class="table-scroll" tabindex="0" role="region" aria-label="{name}">'
            f"{match.group(0)}</div>"
        )

    return _TABLE_RE.sub(wrap, fragment)


_H2_ID_RE = re.compile(r'^<h2 id="([^"]+)">')


def split_sections(version: ModuleVersion, read: set[str]) -> tuple[SafeString, list[Section]]:
    """Cut the sanitized module HTML at its `##` headings so each section gets its own
    "mark as read" form. The HTML was sanitized at sync time; cutting it at tag boundaries
    keeps it so."""
    titles = {entry["id"]: entry["title"] for entry in version.toc}
    required = set(version.required_section_ids)
    intro = ""
    chunks: list[list[str]] = []  # [section id, html]
    for part in _H2_RE.split(version.rendered_html):
        match = _H2_ID_RE.match(part)
        if match is not None and match.group(1) in titles:
            chunks.append([match.group(1), part])
        elif chunks:
            chunks[-1][1] += part
        else:
            intro += part
    # rendered_html is nh3-sanitized by curriculum.rendering; slices of it stay safe.
    sections = [
        Section(
            sid,
            titles[sid],
            mark_safe(_scrolling_tables(html, titles[sid])),  # noqa: S308
            sid in read,
            sid not in required,
        )
        for sid, html in chunks
    ]
    return mark_safe(_scrolling_tables(intro, version.module.title)), sections  # noqa: S308


@login_required
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    tracks = learning.tracks_overview(signed_in(request))
    return render(request, "portal/learn/catalogue.html", {"tracks": tracks})


def learning_overview(user: User) -> dict[str, Any]:
    """Where a learner stands (modules, tracks, exam, credentials): "my learning" and home."""
    board = learning.learner_dashboard(user)
    exam = current_exam()
    credentials = list(Credential.objects.for_user(user).select_related("exam"))
    eligibility = None
    if exam is not None:
        eligibility = exam_eligibility(
            user=user,
            exam=exam,
            completed_ids={status.module.pk for status in board.done},
            credentials=credentials,
            catalogue=[status.module for summary in board.tracks for status in summary.modules],
        )
    return {"board": board, "exam": exam, "eligibility": eligibility, "credentials": credentials}


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/learn/dashboard.html", learning_overview(signed_in(request)))


def _module(slug: str) -> Module:
    return get_object_or_404(Module.objects.published().select_related("track"), slug=slug)


@login_required
@require_GET
def module_detail(request: HttpRequest, slug: str) -> HttpResponse:
    module = _module(slug)
    version = get_object_or_404(ModuleVersion, module=module, version=module.current_version)
    rows = list(ModuleProgress.objects.for_user(signed_in(request)).filter(module=module))
    progress = next((row for row in rows if row.module_version_id == version.pk), None)
    completed_before = next(
        (row for row in rows if row.completed_at and row.module_version_id != version.pk), None
    )
    read = set(progress.sections_read) if progress else set()
    intro, sections = split_sections(version, read)
    resume = progress.last_section if progress and progress.last_section else ""
    to_read = [section for section in sections if not section.reference]
    next_unread = next((section for section in to_read if not section.read), None)
    has_objectives_section = any(
        entry["title"].strip().casefold() == "learning objectives" for entry in version.toc
    )
    return render(
        request,
        "portal/learn/module.html",
        {
            "module": module,
            "version": version,
            "progress": progress,
            "completed_before": completed_before,
            "intro": intro,
            "sections": sections,
            "read_count": sum(1 for section in to_read if section.read),
            "to_read_count": len(to_read),
            "show_objectives": bool(module.objectives) and not has_objectives_section,
            "resume": resume,
            "next_unread": next_unread,
        },
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def section_read(request: HttpRequest, slug: str) -> HttpResponse:
    """Mark a section read: a plain form post (redirects to the next unread section) or, from
    portal.js, a fetch that asks for JSON and updates the page without a reload."""
    module = _module(slug)
    section_id = request.POST.get("section", "")
    try:
        progress = learning.progress_mark_section_read(
            user=signed_in(request), module=module, section_id=section_id
        )
    except learning.LearningError as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=400)
        messages.error(request, str(exc))
        return redirect("portal:module_detail", slug=slug)
    required = progress.module_version.required_section_ids
    unread = [s for s in required if s not in progress.sections_read]
    if _wants_json(request):
        return JsonResponse(
            {
                "section": section_id,
                "read": sorted(set(progress.sections_read) & set(required)),
                "required": len(required),
                "completed": progress.completed_at is not None,
            }
        )
    if progress.completed_at and not request.POST.get("quiet"):
        messages.success(request, f"Module complete: {module.title}.")
    anchor = unread[0] if unread else "quiz"
    return redirect(reverse("portal:module_detail", kwargs={"slug": slug}) + f"#{anchor}")


@login_required
def quiz(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the open attempt's form, or the latest attempt's review with a "try again" button.
    POST action=submit grades the open attempt; action=retake starts a new draw."""
    module = _module(slug)
    user = signed_in(request)
    url = reverse("portal:module_quiz", kwargs={"slug": slug})
    if request.method == "POST":
        action = request.POST.get("action", "submit")
        if action == "retake":
            quiz_service.quiz_attempt_start(user=user, module=module)
            return redirect(url)
        attempt_id = request.POST.get("attempt", "")
        attempt = None
        if _is_uuid(attempt_id):  # another learner's attempt is "not found", like a bad id
            attempt = QuizAttempt.objects.filter(
                user=user, module=module, public_id=attempt_id
            ).first()
        if attempt is None:
            messages.error(request, "That quiz attempt is not yours or no longer exists.")
            return redirect(url)
        answers = {
            key[2:]: request.POST.getlist(key) for key in request.POST if key.startswith("q-")
        }
        try:
            graded = quiz_service.quiz_attempt_submit(attempt=attempt, answers=answers)
        except learning.LearningError as exc:
            messages.error(request, str(exc))
            return redirect(url)
        if graded.passed:
            messages.success(request, f"Quiz passed: {graded.score} of {graded.total} correct.")
        return redirect(url + "#result")
    if request.method != "GET":
        return HttpResponse(status=405)
    open_attempt, last = quiz_service.latest_attempts(user, module)
    questions = quiz_service.quiz_questions(module)
    if open_attempt is None and last is None:
        open_attempt = quiz_service.quiz_attempt_start(
            user=user, module=module, questions=questions, latest=(None, None)
        )
    attempt = open_attempt or last
    assert attempt is not None
    progress = (
        ModuleProgress.objects.for_user(user)
        .filter(module=module, module_version__version=module.current_version)
        .first()
    )
    return render(
        request,
        "portal/learn/quiz.html",
        {
            "module": module,
            "attempt": attempt,
            "items": quiz_service.attempt_items(attempt, questions),
            "last": last,
            "progress": progress,
        },
    )


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


@login_required
@require_GET
def xapi_statements(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("portal.export_xapi"):
        raise PermissionDenied
    since_raw = request.GET.get("since", "")
    since: datetime | None = None
    if since_raw:
        try:
            since = parse_datetime(since_raw)  # None when malformed, ValueError when impossible
        except ValueError:
            since = None
        if since is None:
            return JsonResponse(
                {"error": f"since is not an ISO 8601 date-time: {since_raw[:40]!r}"}, status=400
            )
        if timezone.is_naive(since):
            since = timezone.make_aware(since, UTC)
    response = JsonResponse(xapi_export(since=since))
    response["X-Experience-API-Version"] = "1.0.3"
    return response
