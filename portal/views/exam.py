"""Exam pages. Every attempt is looked up together with its owner: another learner's attempt
is a 404, whoever asks."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from curriculum.models import Exam
from portal import exam as exam_service
from portal.models import AttemptQuestion, Credential, ExamAttempt
from portal.views import signed_in


def _own_attempt(request: HttpRequest, attempt_id: UUID) -> ExamAttempt:
    attempt = get_object_or_404(
        ExamAttempt.objects.select_related("exam"), public_id=attempt_id, user=signed_in(request)
    )
    return exam_service.attempt_finalize_if_expired(attempt=attempt)


def _domain_rows(exam: Exam) -> list[tuple[str, int]]:
    domains = exam.active_domains()  # one query for the counts and the titles
    counts = exam.questions_per_domain(domains)
    return [(domain.title, counts[domain.slug]) for domain in domains if domain.slug in counts]


@login_required
def exam_home(request: HttpRequest) -> HttpResponse:
    exam = exam_service.current_exam()
    if exam is None:
        raise Http404("No exam is published yet.")
    if request.method == "POST":
        try:
            attempt = exam_service.attempt_start(user=signed_in(request), exam=exam)
        except exam_service.ExamError as exc:
            messages.error(request, str(exc))
            return redirect("portal:exam_home")
        return redirect("portal:attempt_question", attempt_id=attempt.public_id, position=1)
    if request.method != "GET":
        return HttpResponse(status=405)
    eligibility = exam_service.exam_eligibility(user=signed_in(request), exam=exam)
    attempts = eligibility.history
    return render(
        request,
        "portal/exam/home.html",
        {
            "exam": exam,
            "eligibility": eligibility,
            "attempts": attempts,
            "domains": _domain_rows(exam),
        },
    )


@login_required
def attempt_question(request: HttpRequest, attempt_id: UUID, position: int) -> HttpResponse:
    attempt = _own_attempt(request, attempt_id)
    if not attempt.is_open:
        messages.info(request, "This attempt is over; here is your result.")
        return redirect("portal:attempt_report", attempt_id=attempt.public_id)
    if not 1 <= position <= attempt.question_count:
        raise Http404("No such question in this attempt.")
    if request.method == "POST":
        try:
            indexes = [int(value) for value in request.POST.getlist("choice")]
        except ValueError:
            indexes = []
        try:
            exam_service.attempt_answer_save(
                attempt=attempt, position=position, shown_indexes=indexes
            )
        except exam_service.AttemptClosed as exc:
            messages.error(request, str(exc))
            return redirect("portal:attempt_report", attempt_id=attempt.public_id)
        except exam_service.ExamError as exc:
            messages.error(request, str(exc))
            return redirect(
                "portal:attempt_question", attempt_id=attempt.public_id, position=position
            )
        go = request.POST.get("go", "next")
        if go == "finish":
            return redirect("portal:attempt_finish", attempt_id=attempt.public_id)
        target = position - 1 if go == "previous" else position + 1
        if go.isascii() and go.isdigit() and len(go) <= 6:  # "²".isdigit() is True too
            target = int(go)
        if not 1 <= target <= attempt.question_count:
            return redirect("portal:attempt_finish", attempt_id=attempt.public_id)
        return redirect("portal:attempt_question", attempt_id=attempt.public_id, position=target)
    if request.method != "GET":
        return HttpResponse(status=405)
    item = get_object_or_404(
        AttemptQuestion.objects.select_related("question").prefetch_related("question__choices"),
        attempt=attempt,
        position=position,
    )
    shown = exam_service.shown_question(item)
    navigation = exam_service.attempt_progress(attempt)
    remaining = max(0, int((attempt.deadline - timezone.now()).total_seconds()))
    return render(
        request,
        "portal/exam/question.html",
        {
            "attempt": attempt,
            "question": shown,
            "navigation": navigation,
            "answered": sum(1 for entry in navigation if entry["answered"]),
            "remaining_minutes": (remaining + 59) // 60,
            "remaining_seconds": remaining,
        },
    )


@login_required
def attempt_finish(request: HttpRequest, attempt_id: UUID) -> HttpResponse:
    attempt = _own_attempt(request, attempt_id)
    if not attempt.is_open:
        return redirect("portal:attempt_report", attempt_id=attempt.public_id)
    if request.method == "POST":
        exam_service.attempt_submit(attempt=attempt)
        return redirect("portal:attempt_report", attempt_id=attempt.public_id)
    if request.method != "GET":
        return HttpResponse(status=405)
    navigation = exam_service.attempt_progress(attempt)
    return render(
        request,
        "portal/exam/finish.html",
        {
            "attempt": attempt,
            "navigation": navigation,
            "unanswered": [entry["position"] for entry in navigation if not entry["answered"]],
        },
    )


@login_required
@require_GET
def attempt_report(request: HttpRequest, attempt_id: UUID) -> HttpResponse:
    attempt = _own_attempt(request, attempt_id)
    if attempt.is_open:
        return redirect("portal:attempt_question", attempt_id=attempt.public_id, position=1)
    eligibility = exam_service.exam_eligibility(user=signed_in(request), exam=attempt.exam)
    credential = Credential.objects.filter(attempt=attempt).first() if attempt.passed else None
    return render(
        request,
        "portal/exam/report.html",
        {"attempt": attempt, "eligibility": eligibility, "credential": credential},
    )
