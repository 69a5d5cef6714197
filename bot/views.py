import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from slack_bolt.adapter.django import SlackRequestHandler

from bot import gate
from bot.oauth import oauth_enabled
from bot.slack_app import get_app

logger = logging.getLogger(__name__)


def _not_configured(missing: str) -> JsonResponse:
    message = f"Slack is not configured: set {missing}"
    logger.warning("/slack/events answered 503: %s", message)
    response = JsonResponse({"error": message}, status=503)
    response._has_been_logged = True  # type: ignore[attr-defined]  # the line above says it
    return response


@csrf_exempt  # Slack signs its requests; the signature is checked before anything else
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    """Unsigned: 401. Signed but malformed: 400. Signed but not a request we handle: 200 and
    ignored. Misconfigured (no token) or Slack unreachable: 503 and one log line."""
    if not settings.SLACK_SIGNING_SECRET:
        return _not_configured("SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN")
    if not gate.signature_is_valid(
        body=request.body,
        timestamp=request.headers.get("X-Slack-Request-Timestamp"),
        signature=request.headers.get("X-Slack-Signature"),
        secret=settings.SLACK_SIGNING_SECRET,
    ):
        return JsonResponse({"error": "invalid request signature"}, status=401)
    verdict = gate.body_verdict(request.body, request.content_type or "")
    if verdict.status == 400:
        return JsonResponse({"error": verdict.reason}, status=400)
    if verdict.status == 200:
        return HttpResponse(status=200)
    if not (settings.SLACK_BOT_TOKEN or oauth_enabled()):
        return _not_configured("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)")
    handler = SlackRequestHandler(app=get_app())
    try:
        response = handler.handle(request)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # Bolt reads fields before dispatching (outside its error handler); a signed body
        # without them is not a request Slack sends.
        logger.warning("/slack/events ignored a signed request bolt cannot read: %r", exc)
        return HttpResponse(status=200)
    if response.status_code == 404:  # bolt: no listener for it; Slack needs no retry
        return HttpResponse(status=200)
    if response.status_code == 503:  # Slack unreachable: on_error logged it once
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


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
