"""Remediation actions, the Run stage: proposed by a recommendation or an alert (or a
person), approved by a human, executed at most once through a pluggable executor.

Contract:
- Nothing runs without an approval: `action_approve` is the only way to the `approved`
  status, and execution starts from a conditional UPDATE `approved -> running`, so an
  action that was never approved (or was rejected) never runs.
- Approval needs the `metrics.approve_remediationaction` permission (FinOps admins) or being
  a team lead of the action's team; who approved and when is stored and logged.
- At most once: of any number of workers that pick up `action_execute(action_id)`, only the
  one whose UPDATE changed the row proceeds; the others log and return. An executor is never
  retried automatically: a failure is stored (status `failed`, `result`) for a human.
- `action_dry_run` shows what would be sent, without sending or storing anything (unless
  asked to store the result on the action) and without a valid signature (a dry run must not
  hand out a request that the receiver would accept).

Executors register in EXECUTORS by name. The first one, `webhook`, POSTs a JSON body to
REMEDIATION_WEBHOOK_URL signed with REMEDIATION_WEBHOOK_SECRET:
    X-FinOps-Timestamp: <unix seconds>
    X-FinOps-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
Receivers check it with `verify_signature` (or the same three lines) and should reject
timestamps older than a few minutes and repeated `idempotency_key`s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from metrics.models import Alert, Recommendation, RemediationAction, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)

APPROVE_PERMISSION = "metrics.approve_remediationaction"
SIGNATURE_HEADER = "X-FinOps-Signature"
TIMESTAMP_HEADER = "X-FinOps-Timestamp"
RESPONSE_KEEP = 2000  # characters of a receiver's answer kept in the result


@dataclass
class ExecutionResult:
    ok: bool
    details: dict[str, Any] = field(default_factory=dict)


class Executor(Protocol):
    name: str

    def prepare(self, action: RemediationAction) -> dict[str, Any]:
        """What execute() would send: no side effects, no secrets."""
        ...

    def execute(self, action: RemediationAction) -> ExecutionResult: ...


EXECUTORS: dict[str, Executor] = {}


def register_executor(executor: Executor) -> Executor:
    EXECUTORS[executor.name] = executor
    return executor


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """A receiver's check of a webhook request: right HMAC and a recent timestamp."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    if age > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def action_payload(action: RemediationAction) -> dict[str, Any]:
    """The JSON document an executor sends for an action."""
    return {
        "action_id": action.pk,
        "idempotency_key": f"finops-action-{action.pk}",
        "kind": action.kind,
        "team": action.team.slug,
        "params": action.params,
        "recommendation_id": action.recommendation_id,
        "alert_id": action.alert_id,
        "approved_by": (action.approved_by.email or action.approved_by.username)
        if action.approved_by
        else None,
        "approved_at": action.approved_at.isoformat() if action.approved_at else None,
    }


class WebhookExecutor:
    """POST the action as JSON to REMEDIATION_WEBHOOK_URL, signed (see module docstring)."""

    name = "webhook"

    def body(self, action: RemediationAction) -> bytes:
        return json.dumps(
            action_payload(action), sort_keys=True, separators=(",", ":"), default=str
        ).encode()

    def prepare(self, action: RemediationAction) -> dict[str, Any]:
        url = settings.REMEDIATION_WEBHOOK_URL
        return {
            "executor": self.name,
            "method": "POST",
            "url": url or None,
            "configured": bool(url and settings.REMEDIATION_WEBHOOK_SECRET),
            "headers": {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: "<unix time when sent>",
                SIGNATURE_HEADER: "sha256=<HMAC computed when sent>",
            },
            "body": action_payload(action),
            "timeout_seconds": settings.REMEDIATION_WEBHOOK_TIMEOUT,
        }

    def execute(self, action: RemediationAction) -> ExecutionResult:
        url = settings.REMEDIATION_WEBHOOK_URL
        secret = settings.REMEDIATION_WEBHOOK_SECRET
        if not url:
            return ExecutionResult(False, {"error": "REMEDIATION_WEBHOOK_URL is not set"})
        if not secret:
            return ExecutionResult(
                False, {"error": "REMEDIATION_WEBHOOK_SECRET is not set: refusing to send unsigned"}
            )
        body = self.body(action)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"finops-action-{action.pk}",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            response = requests.post(
                url,
                data=body,
                headers=headers,
                timeout=settings.REMEDIATION_WEBHOOK_TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return ExecutionResult(False, {"url": url, "error": f"{type(exc).__name__}: {exc}"})
        return ExecutionResult(
            200 <= response.status_code < 300,
            {
                "url": url,
                "status_code": response.status_code,
                "response": response.text[:RESPONSE_KEEP],
            },
        )


register_executor(WebhookExecutor())


# --- Services ------------------------------------------------------------------------------


def can_approve(user: User | AnonymousUser, action: RemediationAction) -> bool:
    if not user.is_authenticated:
        return False
    return user.has_perm(APPROVE_PERMISSION) or (
        Team.objects.led_by(user).filter(pk=action.team_id).exists()
    )


def action_propose(
    *,
    kind: str,
    team: Team,
    params: dict[str, Any],
    user: User | AnonymousUser | None = None,
    recommendation: Recommendation | None = None,
    alert: Alert | None = None,
    executor: str = "webhook",
) -> RemediationAction:
    """Propose an action (status `proposed`; nothing runs until approved). `user` None: the
    system proposes (a recommendation or alert job). Proposing the same open action again
    returns the existing one."""
    if kind not in RemediationAction.Kind.values:
        raise ValidationError({"kind": f"{kind!r} is not one of {RemediationAction.Kind.values}"})
    if executor not in EXECUTORS:
        raise ValidationError({"executor": f"no executor named {executor!r}"})
    try:
        json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"params": f"not JSON: {exc}"}) from exc
    if user is not None and not (
        user.is_authenticated
        and (
            user.has_perm(APPROVE_PERMISSION)
            or Team.objects.visible_to(user).filter(pk=team.pk).exists()
        )
    ):
        raise PermissionDenied("You may not propose actions for this team.")
    with transaction.atomic():
        open_statuses = [RemediationAction.Status.PROPOSED, RemediationAction.Status.APPROVED]
        for existing in RemediationAction.objects.select_for_update().filter(
            team=team,
            kind=kind,
            recommendation=recommendation,
            alert=alert,
            status__in=open_statuses,
        ):
            if existing.params == params and existing.executor == executor:
                return existing
        action = RemediationAction.objects.create(
            kind=kind,
            team=team,
            params=params,
            recommendation=recommendation,
            alert=alert,
            executor=executor,
        )
    logger.info(
        "action %s (%s for %s) proposed by %s", action.pk, kind, team.slug, user or "system"
    )
    return action


def action_approve(*, action: RemediationAction, user: User | AnonymousUser) -> RemediationAction:
    """Approve a proposed action and queue its execution once the approval is committed.

    Only users with the approve permission or a team lead of the action's team. Approving
    is a conditional update: a second approval (or one of a rejected action) fails."""
    if not can_approve(user, action):
        raise PermissionDenied("You may not approve this action.")
    from metrics.tasks_advice import action_execute

    with transaction.atomic():
        now = timezone.now()
        changed = RemediationAction.objects.filter(
            pk=action.pk, status=RemediationAction.Status.PROPOSED
        ).update(status=RemediationAction.Status.APPROVED, approved_by=user, approved_at=now)
        if not changed:
            action.refresh_from_db()
            raise ValidationError(
                f"This action is {action.status}; only a proposed one can be approved."
            )
        action_id = action.pk
        transaction.on_commit(lambda: action_execute.delay(action_id))
    action.refresh_from_db()
    logger.info("action %s approved by %s at %s", action.pk, user, action.approved_at)
    return action


def action_reject(
    *, action: RemediationAction, user: User | AnonymousUser, reason: str = ""
) -> RemediationAction:
    """Reject a proposed action (same permission as approving); it can never run."""
    if not can_approve(user, action):
        raise PermissionDenied("You may not reject this action.")
    changed = RemediationAction.objects.filter(
        pk=action.pk, status=RemediationAction.Status.PROPOSED
    ).update(
        status=RemediationAction.Status.REJECTED,
        result={"rejected_by": str(user), "reason": reason, "at": timezone.now().isoformat()},
    )
    action.refresh_from_db()
    if not changed:
        raise ValidationError(
            f"This action is {action.status}; only a proposed one can be rejected."
        )
    logger.info("action %s rejected by %s: %s", action.pk, user, reason)
    return action


def action_dry_run(*, action: RemediationAction, record: bool = False) -> dict[str, Any]:
    """What executing the action would send, computed without side effects. `record=True`
    also stores it in `action.dry_run_result` (nothing else changes)."""
    executor = EXECUTORS.get(action.executor)
    if executor is None:
        preview: dict[str, Any] = {"error": f"no executor named {action.executor!r}"}
    else:
        preview = executor.prepare(action)
    preview["would_run"] = action.status == RemediationAction.Status.APPROVED
    preview["status"] = action.status
    if record:
        RemediationAction.objects.filter(pk=action.pk).update(dry_run_result=preview)
    return preview


def action_run(action_id: int) -> bool:
    """Execute an approved action, at most once whatever the number of callers: the
    conditional UPDATE approved -> running elects one; the others return False at once.
    Returns whether this call ran it successfully."""
    won = RemediationAction.objects.filter(
        pk=action_id, status=RemediationAction.Status.APPROVED, approved_at__isnull=False
    ).update(status=RemediationAction.Status.RUNNING)
    if not won:
        logger.info("action %s: not approved, or another worker got there first", action_id)
        return False
    action = RemediationAction.objects.select_related("team", "approved_by").get(pk=action_id)
    executor = EXECUTORS.get(action.executor)
    if executor is None:
        result = ExecutionResult(False, {"error": f"no executor named {action.executor!r}"})
    else:
        try:
            result = executor.execute(action)
        except Exception as exc:  # the outcome must be stored whatever happened
            logger.exception("action %s: executor %s raised", action_id, action.executor)
            result = ExecutionResult(False, {"error": f"{type(exc).__name__}: {exc}"})
    status = RemediationAction.Status.SUCCEEDED if result.ok else RemediationAction.Status.FAILED
    RemediationAction.objects.filter(pk=action_id, status=RemediationAction.Status.RUNNING).update(
        status=status,
        result={"ok": result.ok, "executor": action.executor, **result.details},
        executed_at=timezone.now(),
    )
    logger.info("action %s %s", action_id, status)
    return result.ok
