"""HR pages: roles and their rubrics, candidates, evaluations, comparisons, credential
summaries (one PDF, bulk ZIP), and the audit log of downloads. Rules live in portal.hr and
portal.summaries; every view checks its object on the server."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal import hr, summaries
from portal.accounts import AccountError
from portal.forms import CandidateInviteForm, PaperForm
from portal.models import (
    Candidacy,
    Evaluation,
    Profile,
    Rubric,
    SummaryBatch,
    SummaryDownload,
)
from portal.rubrics import RubricEditError, rubric_edit
from portal.views import signed_in


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


@login_required
@require_GET
def hr_home(request: HttpRequest) -> HttpResponse:
    _require(request, hr.EVALUATE)
    rubrics = Rubric.objects.filter(retired=False).prefetch_related("versions", "candidacies")
    recent = Evaluation.objects.select_related("subject", "rubric_version__rubric")[:20]
    return render(request, "portal/hr/home.html", {"rubrics": rubrics, "recent": recent})


@login_required
@require_GET
def rubric_detail(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, hr.EVALUATE)
    rubric = get_object_or_404(Rubric, slug=slug)
    version = rubric.current()
    requested = request.GET.get("version")
    if requested and requested.isdigit():
        version = get_object_or_404(rubric.versions, version=int(requested))
    candidates = rubric.candidacies.select_related("user").order_by("user__email")
    employees = (
        get_user_model()
        ._default_manager.filter(is_active=True, candidacy__isnull=True)
        .order_by("last_name", "first_name", "email")
    )
    return render(
        request,
        "portal/hr/rubric.html",
        {
            "rubric": rubric,
            "version": version,
            "versions": rubric.versions.order_by("-version"),
            "candidates": candidates,
            "employees": employees,
            "evaluations": Evaluation.objects.filter(rubric_version__rubric=rubric)
            .select_related("subject", "rubric_version")
            .order_by("-updated_at"),
            "can_edit": request.user.has_perm(hr.EDIT_RUBRIC),
        },
    )


@login_required
def rubric_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, hr.EDIT_RUBRIC)
    rubric = get_object_or_404(Rubric, slug=slug)
    version = rubric.current()
    error = ""
    if request.method == "POST":
        cells = {
            (c["slug"], lv["slug"]): request.POST.get(f"cell-{c['slug']}-{lv['slug']}", "")
            for c in version.competencies
            for lv in version.levels
        }
        try:
            new = rubric_edit(
                rubric=rubric,
                descriptors=cells,
                by=signed_in(request),
                note=request.POST.get("note", ""),
            )
        except RubricEditError as exc:
            error = str(exc)
        else:
            if new.pk == version.pk:
                messages.info(request, "Nothing changed: the rubric keeps its version.")
            else:
                messages.success(request, f"Saved as version {new.version}.")
            return redirect("portal:hr_rubric", slug=rubric.slug)
    return render(
        request,
        "portal/hr/rubric_edit.html",
        {"rubric": rubric, "version": version, "error": error},
    )


@login_required
def candidate_invite(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, hr.EVALUATE)
    _require(request, "portal.invite_people")
    rubric = get_object_or_404(Rubric, slug=slug, retired=False)
    form = CandidateInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = hr.candidate_invite(
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                rubric=rubric,
                invited_by=signed_in(request),
            )
        except AccountError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(request, f"Invitation sent to {user.email} (candidate).")
            return redirect("portal:hr_rubric", slug=rubric.slug)
    return render(request, "portal/hr/candidate_invite.html", {"rubric": rubric, "form": form})


@login_required
@require_POST
def evaluation_start(request: HttpRequest, slug: str) -> HttpResponse:
    """POST `user`: start evaluating that person against the role's current rubric."""
    _require(request, hr.EVALUATE)
    rubric = get_object_or_404(Rubric, slug=slug, retired=False)
    user_id = request.POST.get("user", "")
    if not user_id.isdigit():
        raise Http404("no such person")
    people = get_user_model()._default_manager.filter(is_active=True)
    person = get_object_or_404(people, pk=int(user_id))
    evaluation = hr.evaluation_start(subject=person, rubric=rubric, by=signed_in(request))
    return redirect("portal:hr_evaluation", evaluation_id=evaluation.public_id)


@login_required
def evaluation_detail(request: HttpRequest, evaluation_id: UUID) -> HttpResponse:
    evaluation = get_object_or_404(hr.evaluations_visible_to(request.user), public_id=evaluation_id)
    can_edit = hr.can_evaluate(request.user)
    version = evaluation.rubric_version
    error = ""
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        levels = {
            c["slug"]: hr.LevelInput(
                level=request.POST.get(f"level-{c['slug']}", ""),
                note=request.POST.get(f"note-{c['slug']}", ""),
                interview_notes=request.POST.get(f"interview-{c['slug']}", ""),
            )
            for c in version.competencies
        }
        try:
            hr.evaluation_update(
                evaluation=evaluation,
                levels=levels,
                recommendation=request.POST.get("recommendation", ""),
                summary=request.POST.get("summary", ""),
                shared=request.POST.get("shared") == "on",
                by=signed_in(request),
            )
        except hr.EvaluationError as exc:
            error = str(exc)
        else:
            messages.success(request, "Evaluation saved.")
            return redirect("portal:hr_evaluation", evaluation_id=evaluation.public_id)
    rows = {row.competency: row for row in evaluation.levels.all()}
    if error:  # show what was typed, not what is stored, next to the error
        for slug, row in rows.items():
            row.level = request.POST.get(f"level-{slug}", row.level)
            row.note = request.POST.get(f"note-{slug}", row.note)
            row.interview_notes = request.POST.get(f"interview-{slug}", row.interview_notes)
        evaluation.recommendation = request.POST.get("recommendation", "")
        evaluation.summary = request.POST.get("summary", "")
        evaluation.shared_with_subject = request.POST.get("shared") == "on"
    competencies = [
        {
            **c,
            "row": rows.get(c["slug"]),
            "cells": [c["descriptors"][lv["slug"]] for lv in version.levels],
        }
        for c in version.competencies
    ]
    return render(
        request,
        "portal/hr/evaluation.html",
        {
            "evaluation": evaluation,
            "version": version,
            "competencies": competencies,
            "can_edit": can_edit,
            "error": error,
            "recommendations": Evaluation.Recommendation.choices,
            "newer": version.rubric.current().version > version.version,
        },
    )


@login_required
@require_GET
def compare(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, hr.EVALUATE)
    rubric = get_object_or_404(Rubric, slug=slug)
    version, rows = hr.candidates_compare(rubric)
    domains: list[tuple[str, str]] = []
    for row in rows:
        for d in row.exam.domains if row.exam else []:
            if d["slug"] not in {s for s, _ in domains}:
                domains.append((d["slug"], d["title"]))
    table = []
    for row in rows:
        scores = {d["slug"]: d for d in (row.exam.domains if row.exam else [])}
        table.append(
            {
                "row": row,
                "levels": [row.levels.get(c["slug"], "") for c in version.competencies],
                "domains": [scores.get(slug) for slug, _ in domains],
            }
        )
    return render(
        request,
        "portal/hr/compare.html",
        {"rubric": rubric, "version": version, "table": table, "domains": domains},
    )


# --- Summaries ---------------------------------------------------------------------------------


def _paper(request: HttpRequest) -> str:
    wanted = request.GET.get("paper", "")
    if wanted in summaries.PAPERS:
        return wanted
    return summaries.paper_for(request.user, request.headers.get("Accept-Language", ""))


def _pdf_response(filename: str, pdf: bytes) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def person_summary(request: HttpRequest, user_id: int) -> HttpResponse:
    """A person's PDF: HR anyone, a team lead their teams' members, a person themselves.
    Anyone else gets a 404 (the person's existence is not confirmed)."""
    person = get_object_or_404(hr.summary_subjects_visible_to(request.user), pk=user_id)
    filename, pdf = summaries.summary_for_download(
        viewer=signed_in(request), person=person, paper=_paper(request)
    )
    return _pdf_response(filename, pdf)


@login_required
@require_GET
def my_summary(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    filename, pdf = summaries.summary_for_download(viewer=me, person=me, paper=_paper(request))
    return _pdf_response(filename, pdf)


@login_required
@require_POST
def paper_preference(request: HttpRequest) -> HttpResponse:
    form = PaperForm(request.POST)
    if form.is_valid():
        Profile.objects.update_or_create(
            user=signed_in(request), defaults={"paper_size": form.cleaned_data["paper_size"]}
        )
        messages.success(request, "Paper size saved.")
    return redirect("portal:my_credentials")


@login_required
def bulk(request: HttpRequest) -> HttpResponse:
    """Select people (or a role's candidates) and queue one ZIP."""
    _require(request, hr.EVALUATE)
    visible = hr.summary_subjects_visible_to(request.user)
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("people") if v.isdigit()]
        people = list(visible.filter(pk__in=ids))
        if not people:
            messages.error(request, "Select at least one person.")
        else:
            batch = summaries.batch_create(
                by=signed_in(request),
                people=people,
                paper=_paper(request) if not request.POST.get("paper") else request.POST["paper"],
                label=request.POST.get("label", ""),
            )
            return redirect("portal:hr_bulk_status", batch_id=batch.pk)
    role = request.GET.get("role", "")
    preselected: set[int] = set()
    if role:
        preselected = set(
            Candidacy.objects.filter(rubric__slug=role).values_list("user_id", flat=True)
        )
    listed = visible.order_by("last_name", "first_name", "email")
    batches = SummaryBatch.objects.filter(requested_by=signed_in(request))[:10]
    return render(
        request,
        "portal/hr/bulk.html",
        {"people": listed, "preselected": preselected, "batches": batches, "role": role},
    )


def _own_batch(request: HttpRequest, batch_id: UUID) -> SummaryBatch:
    _require(request, hr.EVALUATE)
    return get_object_or_404(SummaryBatch, pk=batch_id, requested_by=signed_in(request))


@login_required
@require_GET
def bulk_status(request: HttpRequest, batch_id: UUID) -> HttpResponse:
    batch = _own_batch(request, batch_id)
    percent = int(100 * batch.done / batch.total) if batch.total else 0
    return render(
        request,
        "portal/hr/bulk_status.html",
        {
            "batch": batch,
            "percent": percent,
            "ready": summaries.batch_file(batch) is not None,
            "expired": batch.is_expired(),
        },
    )


@login_required
@require_GET
def bulk_download(request: HttpRequest, batch_id: UUID) -> FileResponse:
    batch = _own_batch(request, batch_id)
    path = summaries.batch_file(batch)
    if path is None:
        raise Http404("This ZIP is not ready or its link has expired (links last 24 hours).")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"credential-summaries-{batch.created_at:%Y%m%d-%H%M}.zip",
        content_type="application/zip",
    )


@login_required
@require_GET
def download_log(request: HttpRequest) -> HttpResponse:
    _require(request, hr.VIEW_LOG)
    entries = SummaryDownload.objects.select_related("batch")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "portal/hr/log.html", {"page": page})
