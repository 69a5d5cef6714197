"""Provider connections for FinOps admins: each pull's last success, last error, failures in
a row and next run (metrics.ledger.connector_status)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from metrics.ledger.connector_status import connections

VIEW = "metrics.view_connectorstatus"


@login_required
@require_GET
def connections_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VIEW):
        raise PermissionDenied("FinOps admins only.")
    return render(request, "portal/connections.html", {"connections": connections()})
