from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_bolt.adapter.django import SlackRequestHandler

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
