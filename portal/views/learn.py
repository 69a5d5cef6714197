"""Catalogue, module pages, quizzes and the learner's dashboard."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from curriculum.models import Choice, Module, ModuleVersion
from portal import learning
from portal.exam import current_exam, exam_eligibility
from portal.models import Credential, ModuleProgress
from portal.views import signed_in
from portal.xapi import xapi_export


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    html: SafeString
    read: bool


_H2_RE = re.compile(r'(?=<h2 id="[^"]+">)')
_H2_ID_RE = re.compile(r'^<h2 id="([^"]+)">')


def split_sections(version: ModuleVersion, read: set[str]) -> tuple[SafeString, list[Section]]:
    """Cut the sanitized module HTML at its `##` headings so each section gets its own
    "mark as read" form. The HTML was sanitized at sync time; cutting it at tag boundaries
    keeps it so."""
    titles = {entry["id"]: entry["title"] for entry in version.toc}
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
        Section(sid, titles[sid], mark_safe(html), sid in read)  # noqa: S308
        for sid, html in chunks
    ]
    return mark_safe(intro), sections  # noqa: S308


@login_required
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    tracks = learning.tracks_overview(signed_in(request))
    return render(request, "portal/learn/catalogue.html", {"tracks": tracks})


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
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
        )
    return render(
        request,
        "portal/learn/dashboard.html",
        {"board": board, "exam": exam, "eligibility": eligibility, "credentials": credentials},
    )


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
    next_unread = next((section for section in sections if not section.read), None)
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
            "read_count": sum(1 for section in sections if section.read),
            "resume": resume,
            "next_unread": next_unread,
        },
    )


@login_required
@require_POST
def section_read(request: HttpRequest, slug: str) -> HttpResponse:
    module = _module(slug)
    section_id = request.POST.get("section", "")
    try:
        progress = learning.progress_mark_section_read(
            user=signed_in(request), module=module, section_id=section_id
        )
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("portal:module_detail", slug=slug)
    if progress.completed_at and not request.POST.get("quiet"):
        messages.success(request, f"Module complete: {module.title}.")
    unread = [s for s in progress.module_version.section_ids if s not in progress.sections_read]
    anchor = unread[0] if unread else "quiz"
    return redirect(reverse("portal:module_detail", kwargs={"slug": slug}) + f"#{anchor}")


def _shuffled(choices: list[Choice], user_id: int, qid: str) -> list[Choice]:
    """Choices in an order that is stable for one learner but not the file's order."""

    def key(choice: Choice) -> str:
        return hashlib.sha256(f"{user_id}:{qid}:{choice.order}".encode()).hexdigest()

    return sorted(choices, key=key)


@login_required
def quiz(request: HttpRequest, slug: str) -> HttpResponse:
    module = _module(slug)
    version = get_object_or_404(ModuleVersion, module=module, version=module.current_version)
    if request.method == "POST":
        qid = request.POST.get("question", "")
        try:
            chosen = {int(value) for value in request.POST.getlist("choice")}
        except ValueError:
            chosen = set()
        try:
            feedback = learning.quiz_answer_submit(
                user=signed_in(request), module=module, qid=qid, chosen=chosen
            )
        except learning.LearningError as exc:
            messages.error(request, str(exc))
            return redirect(reverse("portal:module_quiz", kwargs={"slug": slug}) + f"#q-{qid}")
        if feedback.passed_now:
            messages.success(request, "Quiz passed.")
        return redirect(reverse("portal:module_quiz", kwargs={"slug": slug}) + f"#q-{qid}")
    if request.method != "GET":
        return HttpResponse(status=405)
    state = learning.quiz_state(signed_in(request), module, version)
    items = [
        {
            "item": item,
            "choices": _shuffled(item.choices, signed_in(request).pk, item.question.qid),
            "chosen": set(item.answer.chosen) if item.answer else set(),
            "correct_orders": item.correct_orders if item.answer else set(),
        }
        for item in state.items
    ]
    progress = learning.current_progress(signed_in(request), version)
    return render(
        request,
        "portal/learn/quiz.html",
        {"module": module, "state": state, "items": items, "progress": progress},
    )


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
