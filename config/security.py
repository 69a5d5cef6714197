"""Site-wide security headers that Django 5.2 does not set itself: Content-Security-Policy.

The policy is the CONTENT_SECURITY_POLICY setting (one string, see config/settings/base.py;
empty turns it off). A view that sets its own header keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = str(getattr(settings, "CONTENT_SECURITY_POLICY", ""))
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
