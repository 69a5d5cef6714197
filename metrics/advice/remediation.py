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

- Approvers: an action proposed by a policy (metrics.advice.policies) is approved only by the
  people the policy names (when it names anyone); otherwise by the rule above.
- An executor that is not configured (no URL, no secret) fails the execution with the
  reason in `result["error"]`; the bot tells the approver and the thread, the portal shows it.
- Afterwards `actions_measure_outcomes` stores the spend of the action's scope over the
  REMEDIATION_OUTCOME_DAYS before and after its execution (`outcome`), which the bot posts
  in the action's Slack thread.

Executors register in EXECUTORS by name. `unavailable()` says why one cannot run (or "").

`litellm` drives a LiteLLM-style proxy (LITELLM_PROXY_URL, LITELLM_MASTER_KEY as a Bearer
token): a budget cap is `POST /key/update {"key", "max_budget", "budget_duration": "30d"}`,
a model route `POST /key/update {"key", "aliases": {from_model: to_model}}` (requests for
the old model go to the new one). The key is the action's `key` parameter, else its
`application_key`. Both updates set a state, so repeating one is harmless.

`webhook` POSTs a JSON body to REMEDIATION_WEBHOOK_URL signed with REMEDIATION_WEBHOOK_SECRET:
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
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from metrics.models import (
    Alert,
    DailyCost,
    Recommendation,
    RemediationAction,
    RemediationPolicy,
    Team,
)

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

    def unavailable(self) -> str:
        """Why this executor cannot run now (a setting missing), or "" when it can."""
        ...

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

    def unavailable(self) -> str:
        if not settings.REMEDIATION_WEBHOOK_URL:
            return "the webhook executor is not configured: REMEDIATION_WEBHOOK_URL is not set"
        if not settings.REMEDIATION_WEBHOOK_SECRET:
            return "the webhook executor is not configured: REMEDIATION_WEBHOOK_SECRET is not set"
        return ""

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


class LiteLLMExecutor:
    """Budget caps and model routes on a LiteLLM-style proxy's virtual keys (module doc)."""

    name = "litellm"

    def unavailable(self) -> str:
        if not settings.LITELLM_PROXY_URL:
            return "the LiteLLM executor is not configured: LITELLM_PROXY_URL is not set"
        if not settings.LITELLM_MASTER_KEY:
            return "the LiteLLM executor is not configured: LITELLM_MASTER_KEY is not set"
        return ""

    def request(self, action: RemediationAction) -> tuple[str, dict[str, Any]]:
        """(path, JSON body) for the action; ValueError when the proxy cannot do it."""
        params = action.params if isinstance(action.params, dict) else {}
        if action.kind not in (
            RemediationAction.Kind.BUDGET_CAP,
            RemediationAction.Kind.MODEL_ROUTE,
        ):
            raise ValueError(f"the LiteLLM executor cannot run a {action.get_kind_display()!r}")
        key = str(params.get("key") or params.get("application_key") or "")
        if not key:
            raise ValueError("no key: set the action's `key` or `application_key` parameter")
        if action.kind == RemediationAction.Kind.BUDGET_CAP:
            cap = params.get("monthly_cap")
            if cap in (None, ""):
                raise ValueError("a budget cap needs `monthly_cap`")
            return "/key/update", {
                "key": key,
                "max_budget": float(cap),
                "budget_duration": "30d",
                "metadata": {"finops_action_id": action.pk},
            }
        if action.kind == RemediationAction.Kind.MODEL_ROUTE:
            source, target = params.get("from_model"), params.get("to_model")
            if not source or not target:
                raise ValueError("a model route needs `from_model` and `to_model`")
            return "/key/update", {
                "key": key,
                "aliases": {str(source): str(target)},
                "metadata": {"finops_action_id": action.pk},
            }
        raise ValueError(f"the LiteLLM executor cannot run a {action.get_kind_display()!r}")

    def prepare(self, action: RemediationAction) -> dict[str, Any]:
        base = settings.LITELLM_PROXY_URL.rstrip("/")
        try:
            path, body = self.request(action)
        except ValueError as exc:
            return {"executor": self.name, "error": str(exc), "configured": not self.unavailable()}
        return {
            "executor": self.name,
            "method": "POST",
            "url": f"{base}{path}" if base else None,
            "configured": not self.unavailable(),
            "headers": {"Authorization": "Bearer <LITELLM_MASTER_KEY>"},
            "body": body,
        }

    def execute(self, action: RemediationAction) -> ExecutionResult:
        reason = self.unavailable()
        if reason:
            return ExecutionResult(False, {"error": reason})
        try:
            path, body = self.request(action)
        except ValueError as exc:
            return ExecutionResult(False, {"error": str(exc)})
        url = settings.LITELLM_PROXY_URL.rstrip("/") + path
        try:
            response = requests.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {settings.LITELLM_MASTER_KEY}"},
                timeout=settings.REMEDIATION_WEBHOOK_TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return ExecutionResult(False, {"url": url, "error": f"{type(exc).__name__}: {exc}"})
        return ExecutionResult(
            200 <= response.status_code < 300,
            {
                "url": url,
                "request": body,
                "status_code": response.status_code,
                "response": response.text[:RESPONSE_KEEP],
            },
        )


register_executor(LiteLLMExecutor())


def executor_unavailable(name: str) -> str:
    """Why the executor `name` cannot run an action now, or ""."""
    executor = EXECUTORS.get(name)
    if executor is None:
        return f"no executor named {name!r}"
    return executor.unavailable()


# --- Services ------------------------------------------------------------------------------


def action_label(action: RemediationAction) -> str:
    """A readable name of the action: what it does and to what."""
    params = action.params if isinstance(action.params, dict) else {}
    target = params.get("application_key") or params.get("key") or params.get("pool") or ""
    label = action.get_kind_display()
    if action.kind == RemediationAction.Kind.MODEL_ROUTE and params.get("to_model"):
        label = f"Route {params.get('from_model') or 'its model'} to {params['to_model']}"
    return f"{label} ({target})" if target else label


def can_approve(user: User | AnonymousUser, action: RemediationAction) -> bool:
    """The people the action's policy names, when it names anyone; otherwise FinOps admins
    (the approve permission) and the leads of the action's team."""
    if not user.is_authenticated:
        return False
    if action.policy_id is not None:
        named = action.policy.approvers.all() if action.policy else None
        if named is not None and named.exists():
            return named.filter(pk=user.pk).exists()
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
    policy: RemediationPolicy | None = None,
    expected_effect: dict[str, Any] | None = None,
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
            policy=policy,
            expected_effect=expected_effect or {},
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
    _announce(action_id)
    return result.ok


def _announce(action_id: int) -> None:
    """Tell the bot (by task name: metrics does not import bot) that the action has news."""
    from celery import current_app

    def send() -> None:
        try:
            task = current_app.tasks.get("bot.report_action")
            if task is not None:
                task.delay(action_id)
            else:
                current_app.send_task("bot.report_action", args=[action_id])
        except Exception:
            logger.exception("action %s: could not queue its Slack report", action_id)

    transaction.on_commit(send)


# --- Outcome ---------------------------------------------------------------------------------


def outcome_scope(action: RemediationAction) -> dict[str, Any]:
    """The spend an action acts on: its team, narrowed to its application when it has one."""
    params = action.params if isinstance(action.params, dict) else {}
    scope: dict[str, Any] = {"team_id": action.team_id}
    if params.get("application_key"):
        scope["application_key"] = params["application_key"]
    return scope


def _spend(scope: dict[str, Any], start: date, end: date) -> dict[str, Decimal]:
    rows = (
        DailyCost.objects.filter(day__gte=start, day__lt=end, **scope)
        .values("currency")
        .annotate(amount=Sum("effective_cost"))
        .order_by("currency")
    )
    return {r["currency"]: Decimal(r["amount"] or 0).quantize(Decimal("0.01")) for r in rows}


def action_measure_outcome(action: RemediationAction, *, days: int) -> dict[str, Any]:
    """Spend of the action's scope over the `days` whole days before the day it ran and the
    `days` whole days after it (the day itself is mixed, so left out)."""
    assert action.executed_at is not None
    ran = timezone.localtime(action.executed_at, timezone.get_fixed_timezone(0)).date()
    scope = outcome_scope(action)
    before = _spend(scope, ran - timedelta(days=days), ran)
    after = _spend(scope, ran + timedelta(days=1), ran + timedelta(days=days + 1))
    currencies = sorted(set(before) | set(after))
    return {
        "days": days,
        "executed_on": ran.isoformat(),
        "scope": {k: v for k, v in scope.items() if k != "team_id"},
        "before": {c: str(before.get(c, Decimal(0))) for c in currencies},
        "after": {c: str(after.get(c, Decimal(0))) for c in currencies},
        "change": {
            c: str(after.get(c, Decimal(0)) - before.get(c, Decimal(0))) for c in currencies
        },
        "measured_at": timezone.now().isoformat(),
    }


def actions_measure_outcomes(*, now: datetime | None = None, days: int | None = None) -> int:
    """Measure every succeeded action whose after-window has ended and that has no outcome
    yet (a conditional update: safe to re-run and overlap). Returns how many were measured."""
    now = now or timezone.now()
    days = days or int(settings.REMEDIATION_OUTCOME_DAYS)
    due = RemediationAction.objects.filter(
        status=RemediationAction.Status.SUCCEEDED,
        outcome__isnull=True,
        executed_at__lte=now - timedelta(days=days + 1),
    )
    measured = 0
    for action in due:
        outcome = action_measure_outcome(action, days=days)
        if RemediationAction.objects.filter(pk=action.pk, outcome__isnull=True).update(
            outcome=outcome
        ):
            measured += 1
            _announce(action.pk)
    return measured
