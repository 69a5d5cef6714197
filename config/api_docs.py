"""/api/schema/ and /api/docs/: for signed-in users unless API_DOCS_PUBLIC is set.

The schema answers API clients (session or token) with DRF's 401/403; the docs page sends a
browser to the sign-in page. The docs page loads its script from this site (the split view of
drf-spectacular), so it works under the Content-Security-Policy without inline code.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "portal/api_docs.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)
