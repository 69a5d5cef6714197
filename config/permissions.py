"""DRF permissions of the site itself (drf-spectacular imports them from its settings)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class ApiDocsPermission(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(settings.API_DOCS_PUBLIC or (request.user and request.user.is_authenticated))
