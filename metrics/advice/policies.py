"""Remediation policies: the Run stage's rules, defined by FinOps admins (admin, API, portal).

The alert jobs (anomalies, budgets) and the recommendation job call `policies_evaluate`
with what they found; each enabled policy whose trigger matches proposes one action
(`metrics.advice.remediation.action_propose`, which returns the existing open action when asked
twice, so re-runs and two workers propose once), with:

- params: the policy's own, completed from the trigger (an anomaly's model as `from_model`,
  a budget's application key and amount as `application_key` / `monthly_cap`, a
  recommendation's suggested action);
- `expected_effect`: the monthly saving expected (a recommendation's estimate; a model
  route's what-if over the last 30 days at catalog prices; for a budget cap, the spend
  above the cap the month is forecast to reach) with a one-line summary;
- a dry run recorded on the action (`dry_run_result`): what the executor would send.

Triggers:
- anomaly: an anomaly alert whose day's spend >= `min_amount` (its currency).
- budget: a budget alert whose spend >= `min_percent` of the budget.
- recommendation: an open recommendation (of `recommendation_kind`, or any) saving >=
  `min_amount` a month, with an action it suggests when the policy names none.
A policy with a team applies to that team only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from metrics.advice.remediation import action_dry_run, action_propose
from metrics.models import Alert, Recommendation, RemediationAction, RemediationPolicy, Team
from metrics.money import format_money

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
WHAT_IF_DAYS = 30


def policy_errors(
    *,
    trigger: str,
    action_kind: str,
    executor: str,
    params: Any,
    recommendation_kind: str = "",
    min_amount: Decimal | None = None,
) -> dict[str, str]:
    """What is wrong with a policy's fields (field -> message); empty when it is valid."""
    from metrics.advice.remediation import EXECUTORS

    errors: dict[str, str] = {}
    if trigger not in RemediationPolicy.Trigger.values:
        errors["trigger"] = f"{trigger!r} is not one of {RemediationPolicy.Trigger.values}"
    if action_kind and action_kind not in RemediationAction.Kind.values:
        errors["action_kind"] = f"{action_kind!r} is not one of {RemediationAction.Kind.values}"
    if not action_kind and trigger != RemediationPolicy.Trigger.RECOMMENDATION:
        errors["action_kind"] = "say which action to propose (only a recommendation suggests one)"
    if executor not in EXECUTORS:
        errors["executor"] = f"no executor named {executor!r} (one of {sorted(EXECUTORS)})"
    if not isinstance(params, dict):
        errors["params"] = 'a JSON object, e.g. {"application_key": "chatbot"}'
    if recommendation_kind and recommendation_kind not in Recommendation.Kind.values:
        errors["recommendation_kind"] = (
            f"{recommendation_kind!r} is not one of {Recommendation.Kind.values}"
        )
    if min_amount is not None and Decimal(min_amount) < 0:
        errors["min_amount"] = "must be zero or more"
    return errors


def policies_for(trigger: str, team: Team | None) -> list[RemediationPolicy]:
    qs = RemediationPolicy.objects.filter(enabled=True, trigger=trigger).order_by("pk")
    return [p for p in qs if p.team_id is None or (team is not None and p.team_id == team.pk)]


def _alert_matches(policy: RemediationPolicy, alert: Alert) -> bool:
    if policy.trigger == RemediationPolicy.Trigger.ANOMALY:
        return alert.kind == Alert.Kind.ANOMALY and Decimal(alert.amount or 0) >= Decimal(
            policy.min_amount
        )
    if policy.trigger == RemediationPolicy.Trigger.BUDGET:
        details = alert.details or {}
        try:
            percent = float(details.get("percent", details.get("threshold", 0)))
        except (TypeError, ValueError):
            return False
        return alert.kind == Alert.Kind.BUDGET and percent >= policy.min_percent
    return False


def _alert_params(policy: RemediationPolicy, alert: Alert) -> dict[str, Any]:
    params = dict(policy.params or {})
    details = alert.details or {}
    if alert.kind == Alert.Kind.ANOMALY:
        breakdown = [b for b in details.get("breakdown") or [] if b.get("anomalous")]
        model = alert.subject or (breakdown[0]["model"] if breakdown else "")
        if model and "from_model" not in params:
            params["from_model"] = model
    if alert.kind == Alert.Kind.BUDGET:
        if details.get("application_key") and "application_key" not in params:
            params["application_key"] = details["application_key"]
        if details.get("budget") and "monthly_cap" not in params:
            params["monthly_cap"] = str(details["budget"])
    return params


def expected_effect(
    kind: str,
    team: Team,
    params: dict[str, Any],
    *,
    currency: str = "USD",
    recommendation: Recommendation | None = None,
    alert: Alert | None = None,
) -> dict[str, Any]:
    """What the action is expected to change, as a monthly saving and a sentence."""
    if recommendation is not None:
        saving = Decimal(recommendation.estimated_monthly_saving)
        return {
            "monthly_saving": str(saving.quantize(CENT)),
            "currency": recommendation.currency,
            "summary": f"saves about {format_money(saving, recommendation.currency)} a month "
            f"({recommendation.title})",
            "basis": "the recommendation's estimate",
        }
    if kind == RemediationAction.Kind.MODEL_ROUTE and params.get("to_model"):
        return _route_effect(team, params, currency)
    if kind == RemediationAction.Kind.BUDGET_CAP and params.get("monthly_cap") not in (None, ""):
        return _cap_effect(params, alert, currency)
    return {"summary": "no estimate of the effect", "currency": currency}


def _route_effect(team: Team, params: dict[str, Any], currency: str) -> dict[str, Any]:
    from metrics.economics.pricing.whatif import what_if

    end = timezone.localdate()
    start = end - timedelta(days=WHAT_IF_DAYS)
    source, target = str(params.get("from_model") or ""), str(params["to_model"])
    provider = str(params.get("provider") or _provider_of(team, source) or "")
    if not source or not provider:
        return {"summary": f"route to {target}: no usage to estimate from", "currency": currency}
    result = what_if(
        model_from=source,
        model_to=target,
        start=start,
        end=end,
        team_ids=[team.pk],
        provider=provider,
        application_key=params.get("application_key") or None,
        currency=currency,
    )
    saving = result.saving if result.days_priced else Decimal(0)
    return {
        "monthly_saving": str(saving.quantize(CENT)),
        "currency": currency,
        "summary": f"{source} -> {target}: about {format_money(saving, currency)} a month less "
        f"(the last {WHAT_IF_DAYS} days' usage at catalog prices)",
        "basis": "what-if at catalog prices",
    }


def _provider_of(team: Team, model: str) -> str | None:
    from metrics.models import DailyCost

    return (
        DailyCost.objects.filter(team=team, model=model)
        .order_by("-day")
        .values_list("provider", flat=True)
        .first()
    )


def _cap_effect(params: dict[str, Any], alert: Alert | None, currency: str) -> dict[str, Any]:
    cap = Decimal(str(params["monthly_cap"]))
    details = (alert.details if alert else None) or {}
    projected = details.get("projected") or details.get("spent")
    if projected is None:
        return {
            "monthly_saving": "0.00",
            "currency": currency,
            "summary": f"spend capped at {format_money(cap, currency)} a month",
            "basis": "the cap",
        }
    above = max(Decimal(str(projected)) - cap, Decimal(0))
    return {
        "monthly_saving": str(above.quantize(CENT)),
        "currency": currency,
        "summary": f"spend capped at {format_money(cap, currency)} a month: "
        f"{format_money(above, currency)} above the cap not spent this month",
        "basis": "spend so far (or forecast) above the cap",
    }


def policy_propose(
    policy: RemediationPolicy,
    *,
    kind: str,
    team: Team,
    params: dict[str, Any],
    alert: Alert | None = None,
    recommendation: Recommendation | None = None,
) -> RemediationAction | None:
    """Propose `kind` for `team` on behalf of `policy`, with its expected effect and a
    recorded dry run; None when the policy already proposed for this trigger (or cannot)."""
    earlier = RemediationAction.objects.filter(
        policy=policy, alert=alert, recommendation=recommendation
    ).first()
    if earlier is not None:  # once per policy and trigger, whatever became of it
        return None
    currency = (alert.currency if alert else None) or (
        recommendation.currency if recommendation else "USD"
    )
    effect = expected_effect(
        kind, team, params, currency=currency, recommendation=recommendation, alert=alert
    )
    try:
        action = action_propose(
            kind=kind,
            team=team,
            params=params,
            alert=alert,
            recommendation=recommendation,
            executor=policy.executor,
            policy=policy,
            expected_effect=effect,
        )
    except ValidationError as exc:
        logger.warning("policy %r cannot propose %s for %s: %s", policy.name, kind, team, exc)
        return None
    if action.dry_run_result is None:
        action.dry_run_result = action_dry_run(action=action, record=True)
    return action


def policies_evaluate_alerts(alerts: Iterable[Alert] | None = None) -> list[RemediationAction]:
    """Propose the actions enabled anomaly and budget policies call for (default: the open
    alerts of the last two days, so a run that failed half-way is completed by the next).
    Returns the actions proposed now."""
    if alerts is None:
        if not RemediationPolicy.objects.filter(enabled=True).exists():
            return []
        alerts = Alert.objects.filter(
            status=Alert.Status.OPEN,
            kind__in=[Alert.Kind.ANOMALY, Alert.Kind.BUDGET],
            created_at__gte=timezone.now() - timedelta(days=2),
        ).select_related("team")
    proposed: list[RemediationAction] = []
    for alert in alerts:
        if alert.team is None or alert.status != Alert.Status.OPEN:
            continue
        trigger = (
            RemediationPolicy.Trigger.ANOMALY
            if alert.kind == Alert.Kind.ANOMALY
            else RemediationPolicy.Trigger.BUDGET
        )
        for policy in policies_for(trigger, alert.team):
            if not policy.action_kind or not _alert_matches(policy, alert):
                continue
            action = policy_propose(
                policy,
                kind=policy.action_kind,
                team=alert.team,
                params=_alert_params(policy, alert),
                alert=alert,
            )
            if action is not None:
                proposed.append(action)
    return proposed


def policies_evaluate_recommendations(
    recommendations: Iterable[Recommendation] | None = None,
) -> list[RemediationAction]:
    """Propose the actions enabled recommendation policies call for (default: every open
    recommendation with a team)."""
    from metrics.advice.recommendations.lifecycle import suggested_action

    if not RemediationPolicy.objects.filter(
        enabled=True, trigger=RemediationPolicy.Trigger.RECOMMENDATION
    ).exists():
        return []
    recs = (
        recommendations
        if recommendations is not None
        else Recommendation.objects.filter(
            status=Recommendation.Status.OPEN, team__isnull=False
        ).select_related("team")
    )
    proposed: list[RemediationAction] = []
    for rec in recs:
        if rec.team is None or rec.status != Recommendation.Status.OPEN:
            continue
        for policy in policies_for(RemediationPolicy.Trigger.RECOMMENDATION, rec.team):
            if policy.recommendation_kind and policy.recommendation_kind != rec.kind:
                continue
            if Decimal(rec.estimated_monthly_saving) < Decimal(policy.min_amount):
                continue
            suggested = suggested_action(rec)
            kind = policy.action_kind or (suggested[0] if suggested else "")
            if not kind:
                continue
            params = {**(suggested[1] if suggested else {}), **(policy.params or {})}
            action = policy_propose(
                policy, kind=kind, team=rec.team, params=params, recommendation=rec
            )
            if action is not None:
                proposed.append(action)
    return proposed
