"""Credential pages. The verification page and the JSON are public by design (whoever holds
the unguessable link may check it); listing and revoking are not."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal import conf
from portal import credentials as service
from portal.forms import RevokeForm
from portal.models import Credential, Evaluation, Profile
from portal.views import signed_in


@login_required
@require_GET
def my_credentials(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    items = Credential.objects.for_user(me).select_related("exam")
    paper = Profile.objects.filter(user=me).values_list("paper_size", flat=True).first() or ""
    shared = Evaluation.objects.filter(subject=me, shared_with_subject=True).select_related(
        "rubric_version__rubric"
    )
    return render(
        request,
        "portal/credentials/mine.html",
        {"credentials": items, "paper": paper, "evaluations": shared},
    )


@require_GET
def credential_verify(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    credential = get_object_or_404(Credential.objects.select_related("exam"), pk=credential_id)
    share_url = request.build_absolute_uri()
    return render(
        request,
        "portal/credentials/verify.html",
        {
            "credential": credential,
            "state": credential.state(),
            "share_url": share_url,
            "is_holder": request.user.is_authenticated and request.user.pk == credential.user_id,
            "can_revoke": service.can_revoke(request.user),
            "form": RevokeForm(),
            "issuer_name": conf.issuer_name(),
        },
    )


@require_GET
def credential_json(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    credential = get_object_or_404(Credential, pk=credential_id)
    response = HttpResponse(service.credential_json(credential), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="credential-{credential.pk}.json"'
    return response


@login_required
@require_POST
def credential_revoke(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    if not service.can_revoke(request.user):
        raise PermissionDenied
    credential = get_object_or_404(Credential, pk=credential_id)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for the revocation.")
        return redirect("portal:credential_verify", credential_id=credential.pk)
    service.credential_revoke(
        credential=credential, by=signed_in(request), reason=form.cleaned_data["reason"]
    )
    messages.success(request, "The credential is revoked.")
    return redirect("portal:credential_verify", credential_id=credential.pk)


@require_GET
def revocation_list(request: HttpRequest) -> HttpResponse:
    return JsonResponse(service.revocation_list())


@require_GET
def issuer(request: HttpRequest) -> HttpResponse:
    return JsonResponse(service.issuer_document())
