"""The life of a recommendation: found over the lookback window, upserted by `dedupe_key`
(open: today's numbers; dismissed: quiet for 30 days; applied: left alone), removed when
the finding no longer holds, dismissed with a reason, turned into a suggested action.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from metrics.advice.recommendations import batch, caching, downsize, gpu, token_bloat
from metrics.advice.recommendations.workloads import (
    AdviceConfig,
    Context,
    Finding,
    Workload,
    workloads_of,
)
from metrics.economics.pricing.catalog import PriceBook
from metrics.models import Recommendation, RemediationAction, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)


DISMISSAL_QUIET_DAYS = 30


def recommendations_find(
    *, as_of: date | None = None, config: AdviceConfig | None = None
) -> list[Finding]:
    """Every finding over the lookback window ending before `as_of` (default today). Pure
    reads: nothing is stored."""
    cfg = config or AdviceConfig.from_settings()
    end = as_of or timezone.localdate()
    ctx = Context(
        end - timedelta(days=cfg.lookback_days),
        end,
        Decimal(30) / Decimal(cfg.lookback_days),
    )
    book = PriceBook.load()
    findings: list[Finding] = []
    by_team: dict[tuple[int, str], list[Workload]] = defaultdict(list)
    for w in workloads_of(ctx.start, ctx.end, book):
        by_team[(w.team_id, w.currency)].append(w)
        for check in (downsize.find, caching.find, batch.find):
            found = check(w, book, cfg, ctx)
            if found:
                findings.append(found)
    for team_workloads in by_team.values():
        findings.extend(token_bloat.find(team_workloads, book, cfg, ctx))
    findings.extend(gpu.find(gpu.gpu_records(ctx.start, ctx.end), cfg, ctx))
    return findings


@dataclass
class RefreshResult:
    created: int = 0
    updated: int = 0
    reopened: int = 0
    kept_dismissed: int = 0
    kept_applied: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _upsert(f: Finding, result: RefreshResult) -> None:
    values = {
        "kind": f.kind,
        "team_id": f.team_id,
        "subject": f.subject[:300],
        "title": f.title[:300],
        "estimated_monthly_saving": f.monthly_saving,
        "currency": f.currency,
        "evidence": f.evidence,
    }
    with transaction.atomic():
        rec = Recommendation.objects.select_for_update().filter(dedupe_key=f.dedupe_key).first()
        if rec is None:
            try:
                with transaction.atomic():
                    Recommendation.objects.create(dedupe_key=f.dedupe_key, **values)
            except IntegrityError:
                return  # another worker created it first: its numbers are today's too
            result.created += 1
            return
        if rec.status == Recommendation.Status.APPLIED:
            result.kept_applied += 1
            return
        if rec.status == Recommendation.Status.DISMISSED:
            # updated_at is the dismissal time: a dismissed row is never written otherwise.
            if rec.updated_at > timezone.now() - timedelta(days=DISMISSAL_QUIET_DAYS):
                result.kept_dismissed += 1
                return
            values["evidence"] = {
                **f.evidence,
                "previous_dismissal": {
                    "reason": rec.dismissed_reason,
                    "by": str(rec.dismissed_by) if rec.dismissed_by else None,
                    "at": rec.updated_at.isoformat(),
                },
            }
            rec.status = Recommendation.Status.OPEN
            rec.dismissed_reason = ""
            rec.dismissed_by = None
            result.reopened += 1
        else:
            result.updated += 1
        for k, v in values.items():
            setattr(rec, k, v)
        rec.save()


def recommendation_refresh(
    *, as_of: date | None = None, config: AdviceConfig | None = None
) -> RefreshResult:
    """Find, then upsert every recommendation by dedupe key (see the module docstring).
    Safe to re-run; the beat task also keeps two runs from overlapping."""
    findings = recommendations_find(as_of=as_of, config=config)
    result = RefreshResult()
    for f in findings:
        _upsert(f, result)
    stale = (
        Recommendation.objects.filter(status=Recommendation.Status.OPEN)
        .exclude(dedupe_key__in=[f.dedupe_key for f in findings])
        .exclude(
            pk__in=RemediationAction.objects.filter(recommendation__isnull=False).values(
                "recommendation_id"
            )
        )
    )
    result.removed, _ = stale.delete()
    logger.info("recommendations refreshed: %s", result.as_dict())
    return result


def recommendation_dismiss(
    *, recommendation: Recommendation, user: User | AnonymousUser, reason: str
) -> Recommendation:
    """Dismiss a recommendation with a reason (required). Allowed for FinOps admins (change
    permission) and members of its team. Dismissing a dismissed one changes nothing; it
    stays quiet for 30 days."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why you dismiss this recommendation."})
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    allowed = user.has_perm("metrics.change_recommendation") or (
        recommendation.team_id is not None
        and Team.objects.visible_to(user).filter(pk=recommendation.team_id).exists()
    )
    if not allowed:
        raise PermissionDenied("You may not dismiss this recommendation.")
    with transaction.atomic():
        rec = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
        if rec.status == Recommendation.Status.DISMISSED:
            return rec
        if rec.status == Recommendation.Status.APPLIED:
            raise ValidationError("This recommendation was applied; it cannot be dismissed.")
        rec.status = Recommendation.Status.DISMISSED
        rec.dismissed_reason = reason[:2000]
        rec.dismissed_by = user  # type: ignore[assignment]
        rec.save()
    logger.info("recommendation %s dismissed by %s: %s", rec.pk, user, reason)
    return rec


def suggested_action(rec: Recommendation) -> tuple[str, dict[str, Any]] | None:
    """The remediation action a recommendation suggests (kind, params), if any."""
    ev = rec.evidence or {}
    if rec.kind == Recommendation.Kind.DOWNSIZE and ev.get("model_to"):
        app = rec.subject.split(" on ", 1)[0]
        return RemediationAction.Kind.MODEL_ROUTE, {
            "application_key": "" if app == "all applications" else app,
            "provider": ev.get("provider"),
            "from_model": ev.get("model_from"),
            "to_model": ev.get("model_to"),
        }
    if rec.kind == Recommendation.Kind.GPU_IDLE and ev.get("cluster"):
        return RemediationAction.Kind.GPU_SCALE_DOWN, {
            "cluster": ev["cluster"],
            "target_idle_share": ev.get("target_idle_share"),
        }
    return None
