"""Learning nudges: "N modules left before certification" and "your credential expires on
DATE" (within 30 days), as a direct message to the learner.

They go through the waste nudges' policy (bot.nudges): never when muted or snoozed, later in
quiet hours (the person's team's time zone), only when the finding changed (the number of
modules left, the expiry date), and within the per-person caps shared with every nudge. They
are personal, so no team cap applies. The job runs every hour, so that each person gets it in
their own working hours; "only on change" makes it at most one message per change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from bot import identity
from bot.models import NudgeKind
from bot.nudges import NudgePolicy, NudgeRun, nudge_card, reserve, send_card
from portal.models import Profile

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class LearningStatus:
    modules_done: int  # required modules completed
    modules_left: int  # required modules not completed yet
    credential_id: str = ""  # the active credential that expires last, if any
    credential_expires: datetime | None = None


@dataclass(frozen=True)
class LearningFinding:
    kind: NudgeKind
    subject: str
    fingerprint: str  # changes when the finding changes
    title: str


def learning_status(user: User, now: datetime) -> LearningStatus:
    from portal.learning import required_modules
    from portal.models import Credential

    required = required_modules(user)
    credential = Credential.objects.filter(user=user).active(now).order_by("-expires_at").first()
    return LearningStatus(
        modules_done=required.done,
        modules_left=required.left,
        credential_id=str(credential.pk) if credential else "",
        credential_expires=credential.expires_at if credential else None,
    )


def findings(status: LearningStatus, now: datetime) -> list[LearningFinding]:
    """What is worth a message (pure). A credential about to expire comes first; modules
    left only matter to someone who started and is not certified yet."""
    if status.credential_expires is not None:
        if status.credential_expires - now > EXPIRY_WARNING:
            return []
        day = f"{status.credential_expires:%Y-%m-%d}"
        return [
            LearningFinding(
                kind=NudgeKind.CREDENTIAL_EXPIRING,
                subject=f"credential:{status.credential_id}",
                fingerprint=f"expires:{day}",
                title=f"Your credential expires on {day}",
            )
        ]
    if status.modules_done and status.modules_left:
        left = status.modules_left
        return [
            LearningFinding(
                kind=NudgeKind.MODULES_LEFT,
                subject="certification",
                fingerprint=f"left:{left}",
                title=f"{left} module{'s' if left != 1 else ''} left before certification",
            )
        ]
    return []


def learning_nudges_send(
    *, now: datetime | None = None, policy: NudgePolicy | None = None
) -> NudgeRun:
    """Send the learning nudges the policy allows now. Safe to re-run and on several
    workers (decisions are taken under the same locks as the waste nudges)."""
    now = now or timezone.now()
    policy = policy or NudgePolicy()
    run = NudgeRun()
    profiles = (
        Profile.objects.filter(user__is_active=True)
        .exclude(slack_user_id="")
        .select_related("user")
        .order_by("slack_user_id")
    )
    base = settings.SITE_URL.rstrip("/")
    for profile in profiles:
        user = profile.user
        teams = identity.db_teams(user)
        local = identity.local_now(teams[0] if teams else None, now)
        for finding in findings(learning_status(user, now), now):
            nudge = reserve(
                kind=finding.kind,
                subject=finding.subject,
                print_=finding.fingerprint,
                team=None,
                slack_user_id=profile.slack_user_id,
                now=now,
                local=local,
                policy=policy,
                run=run,
            )
            if nudge is None:
                continue
            path = "/credentials/" if finding.kind == NudgeKind.CREDENTIAL_EXPIRING else "/learn/"
            card = dataclasses.replace(
                nudge_card(nudge, None, None),
                team="Learning",
                title=finding.title,
                portal_url=base + path,
            )
            if send_card(nudge, card, text=finding.title):
                run.sent += 1
    return run
