"""The Run stage in the portal: remediation actions of the caller's teams (all of them for
FinOps admins) with their expected effect, dry run, result and outcome; Approve and Reject
for the people allowed (metrics.advice.remediation decides); the policies, for FinOps admins."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from metrics.advice.remediation import (
    action_approve,
    action_label,
    action_reject,
    can_approve,
    executor_unavailable,
)
from metrics.models import VIEW_ALL_SPEND, RemediationAction, RemediationPolicy, Team

POLICY_VIEW = "metrics.view_remediationpolicy"


def _visible(request: HttpRequest) -> QuerySet[RemediationAction]:
    qs = RemediationAction.objects.select_related(
        "team", "approved_by", "policy", "alert", "recommendation"
    ).order_by("-proposed_at", "-pk")
    if request.user.has_perm(VIEW_ALL_SPEND):
        return qs
    return qs.filter(team__in=Team.objects.visible_to(request.user))


def _rows(request: HttpRequest, qs: QuerySet[RemediationAction]) -> list[dict[str, object]]:
    rows = []
    for action in qs[:200]:
        result = action.result if isinstance(action.result, dict) else {}
        rows.append(
            {
                "action": action,
                "label": action_label(action),
                "effect": (action.expected_effect or {}).get("summary", ""),
                "dry_run": action.dry_run_result or {},
                "error": result.get("error", ""),
                "approvers": list(action.policy.approvers.all()) if action.policy else [],
                "can_decide": action.status == RemediationAction.Status.PROPOSED
                and can_approve(request.user, action),
                "cannot_run": executor_unavailable(action.executor),
            }
        )
    return rows


@login_required
@require_GET
def actions_list(request: HttpRequest) -> HttpResponse:
    policies = None
    if request.user.has_perm(POLICY_VIEW):
        policies = (
            RemediationPolicy.objects.select_related("team")
            .prefetch_related("approvers")
            .order_by("name")
        )
    return render(
        request,
        "portal/remediation/list.html",
        {"rows": _rows(request, _visible(request)), "policies": policies, "single": False},
    )


@login_required
@require_GET
def action_detail(request: HttpRequest, action_id: int) -> HttpResponse:
    qs = _visible(request).filter(pk=action_id)
    if not qs.exists():
        raise Http404("No such action.")  # another team's action is answered like a missing one
    return render(
        request,
        "portal/remediation/list.html",
        {"rows": _rows(request, qs), "policies": None, "single": True},
    )


@login_required
@require_POST
def action_decide(request: HttpRequest, action_id: int, decision: str) -> HttpResponse:
    action = _visible(request).filter(pk=action_id).first()
    if action is None or decision not in ("approve", "reject"):
        raise Http404("No such action.")
    try:
        if decision == "approve":
            action = action_approve(action=action, user=request.user)
        else:
            action = action_reject(
                action=action, user=request.user, reason=request.POST.get("reason", "")[:2000]
            )
    except PermissionDenied:
        messages.error(request, "You may not approve or reject this action.")
        return redirect("portal:remediation_action", action_id=action_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("portal:remediation_action", action_id=action_id)
    action.refresh_from_db()
    label = action_label(action)
    cannot_run = executor_unavailable(action.executor)
    if decision == "reject":
        messages.success(request, f"Rejected: {label}. It will never run.")
    elif cannot_run:
        messages.error(request, f"Approved, but it could not run: {cannot_run}.")
    elif action.status == RemediationAction.Status.FAILED:
        error = (action.result or {}).get("error") or "see the result below"
        messages.error(request, f"Approved, but it failed: {error}")
    elif action.status == RemediationAction.Status.SUCCEEDED:
        messages.success(request, f"Approved and done: {label}.")
    else:
        messages.success(request, f"Approved: {label}. It runs once, in the background.")
    return redirect("portal:remediation_action", action_id=action_id)
