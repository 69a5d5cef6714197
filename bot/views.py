from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from slack_bolt.adapter.django import SlackRequestHandler

from bot.oauth import oauth_enabled
from bot.slack_app import get_app


@csrf_exempt  # Slack signs its requests; bolt verifies the signature before any handler runs
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    if not settings.SLACK_SIGNING_SECRET:
        return JsonResponse(
            {"error": "Slack is not configured: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN"},
            status=503,
        )
    return SlackRequestHandler(app=get_app()).handle(request)


@require_GET
def oauth(request: HttpRequest) -> HttpResponse:
    """GET /slack/install and /slack/oauth_redirect: bolt's OAuth flow (multi-workspace)."""
    if not oauth_enabled():
        return JsonResponse(
            {
                "error": "Multi-workspace installs are off: set SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (single-workspace mode uses SLACK_BOT_TOKEN)"
            },
            status=404,
        )
    if not settings.SLACK_SIGNING_SECRET:
        return JsonResponse(
            {"error": "Slack is not configured: set SLACK_SIGNING_SECRET"}, status=503
        )
    return SlackRequestHandler(app=get_app()).handle(request)
