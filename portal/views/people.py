"""HR and team leads: the progress and credentials of the people they are responsible for.
Exam attempts and answers stay private to the learner."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from portal import learning
from portal.accounts import AccountError, user_invite
from portal.credentials import can_revoke
from portal.forms import InviteForm, RevokeForm
from portal.hr import evaluations_visible_to
from portal.models import Credential
from portal.people import can_view_people, learners, people_visible_to
from portal.views import signed_in


@login_required
@require_GET
def people_list(request: HttpRequest) -> HttpResponse:
    if not can_view_people(request.user):
        raise PermissionDenied
    people = list(
        learners(people_visible_to(request.user))
        .prefetch_related(
            Prefetch("credentials", queryset=Credential.objects.select_related("exam"))
        )
        .order_by("last_name", "first_name", "email")
    )
    counts = learning.required_modules_done(person.pk for person in people)
    for person in people:
        person.modules_done = counts.of(person.pk).done  # type: ignore[attr-defined]
    required = counts.total
    return render(
        request,
        "portal/people/list.html",
        {
            "people": people,
            "required": required,
            "can_invite": request.user.has_perm("portal.invite_people"),
        },
    )


@login_required
@require_GET
def person_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    if not can_view_people(request.user):
        raise PermissionDenied
    person = get_object_or_404(people_visible_to(request.user), pk=user_id)
    return render(
        request,
        "portal/people/detail.html",
        {
            "person": person,
            "tracks": learning.tracks_overview(person),
            "credentials": Credential.objects.for_user(person).select_related("exam"),
            "can_revoke": can_revoke(request.user),
            "form": RevokeForm(),
            "evaluations": evaluations_visible_to(request.user).filter(subject=person),
        },
    )


@login_required
def invite(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("portal.invite_people"):
        raise PermissionDenied
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_invite(
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                team=form.cleaned_data["team"],
                invited_by=signed_in(request),
            )
        except AccountError as exc:
            form.add_error("email", str(exc))
        else:
            team = form.cleaned_data["team"]
            messages.success(
                request,
                f"Invitation sent to {user.email}"
                + (f", member of {team.name}." if team else ", with no team (learning only)."),
            )
            return redirect("portal:people_invite")
    return render(request, "portal/people/invite.html", {"form": form})
