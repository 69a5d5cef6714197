"""Waste nudges, judged so that nobody wants to mute them.

A nudge turns an open Recommendation (frontier model on short uniform prompts, low cache hit
ratio, token bloat, idle GPU) into a direct message to the people who can act on it: the
team's leads (every member when the team has no lead). `decide` is the whole policy, a pure
function; the state it reads (mutes, snoozes, what was sent) lives in the database, and each
decision is taken under a lock on the person and the team, so two workers never both send.

Policy, in order: muted or snoozed -> never; quiet hours (evenings, nights, weekends in the
person's own time zone from Slack, else the team's) -> later; the same finding as the last
nudge of that kind -> never again ("only on change"); at most one nudge a person a day and
three a week; at most two a team a day.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bot import identity
from bot.blocks.nudge_cards import NudgeCard, nudge_blocks, nudge_done_blocks
from bot.clicks import Click, tell
from bot.models import Delivery, Interaction, Nudge, NudgeKind, NudgeMute
from bot.transport import DeliveryError, call, deliver, enqueue
from metrics.ledger.locks import xact_lock
from metrics.models import Recommendation, Team, TeamMembership
from metrics.money import SYMBOLS, format_money
from metrics.queries import readable_names
from portal.models import Profile

logger = logging.getLogger(__name__)

KIND_OF_RECOMMENDATION = {
    Recommendation.Kind.DOWNSIZE: NudgeKind.FRONTIER_MODEL,
    Recommendation.Kind.CACHING: NudgeKind.LOW_CACHE_HIT,
    Recommendation.Kind.TOKEN_BLOAT: NudgeKind.TOKEN_BLOAT,
    Recommendation.Kind.GPU_IDLE: NudgeKind.IDLE_GPU,
}
SUGGESTIONS = {
    NudgeKind.FRONTIER_MODEL: "These prompts and answers are short and uniform: a smaller model "
    "of the same provider would very likely do, for much less.",
    NudgeKind.LOW_CACHE_HIT: "Most prompt tokens are sent again and again without the cache: "
    "put the fixed part of the prompt first and turn prompt caching on.",
    NudgeKind.TOKEN_BLOAT: "Far more tokens go in than come out compared with the rest of the "
    "team: trim the context, the history or the few-shot examples.",
    NudgeKind.IDLE_GPU: "GPUs sit idle or cold-start often: scale the pool down, or let it "
    "scale to zero when nobody uses it.",
    # learning nudges (bot.learning_nudges)
    NudgeKind.MODULES_LEFT: "Finish the required modules, then take the exam in the portal.",
    NudgeKind.CREDENTIAL_EXPIRING: "Renew it in the portal before it expires.",
}
SNOOZES = {"nudge_snooze_day": timedelta(days=1), "nudge_snooze_week": timedelta(days=7)}


@dataclass(frozen=True)
class NudgePolicy:
    person_per_day: int = 1
    person_per_week: int = 3
    team_per_day: int = 2
    quiet_from: time = time(18, 0)
    quiet_until: time = time(9, 0)
    quiet_weekends: bool = True


@dataclass(frozen=True)
class NudgeState:
    """What the database says about one person, team and finding."""

    muted: bool
    last_fingerprint: str | None  # of the last nudge of this kind and subject to the person
    person_sent: Sequence[datetime]  # nudges sent to the person in the last week
    team_sent: Sequence[datetime]  # nudges sent to the team's people in the last day


def is_quiet(local: datetime, policy: NudgePolicy) -> bool:
    if policy.quiet_weekends and local.weekday() >= 5:
        return True
    now = local.time()
    return now >= policy.quiet_from or now < policy.quiet_until


def decide(
    *, fingerprint: str, state: NudgeState, now: datetime, local: datetime, policy: NudgePolicy
) -> str | None:
    """None: send the nudge now. Otherwise the reason it is not sent."""
    if state.muted:
        return "muted or snoozed"
    if is_quiet(local, policy):
        return "quiet hours"
    if state.last_fingerprint == fingerprint:
        return "nothing changed since the last nudge"
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    if sum(t > day_ago for t in state.person_sent) >= policy.person_per_day:
        return "daily cap for the person"
    if sum(t > week_ago for t in state.person_sent) >= policy.person_per_week:
        return "weekly cap for the person"
    if sum(t > day_ago for t in state.team_sent) >= policy.team_per_day:
        return "daily cap for the team"
    return None


def fingerprint(rec: Recommendation) -> str:
    """The finding, with the saving rounded to two significant digits: a saving that moves
    from $412 to $409 is the same finding; $412 to $900 is news."""
    saving = Decimal(rec.estimated_monthly_saving)
    rounded = f"{saving:.1e}" if saving else "0"
    return f"{rec.kind}:{rec.subject}:{rounded}{rec.currency}"


def recipients(team: Team) -> list[str]:
    memberships = TeamMembership.objects.filter(team=team)
    leads = memberships.filter(role=TeamMembership.Role.LEAD)
    chosen = leads if leads.exists() else memberships
    return list(
        Profile.objects.filter(user_id__in=chosen.values("user_id"), user__is_active=True)
        .exclude(slack_user_id="")
        .order_by("slack_user_id")
        .values_list("slack_user_id", flat=True)
    )


@dataclass
class NudgeRun:
    sent: int = 0
    skipped: dict[str, int] | None = None

    def skip(self, reason: str) -> None:
        self.skipped = self.skipped or {}
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def nudges_send(*, now: datetime | None = None, policy: NudgePolicy | None = None) -> NudgeRun:
    """Send the nudges the policy allows now. Safe to re-run and on several workers."""
    now = now or timezone.now()
    policy = policy or NudgePolicy()
    run = NudgeRun()
    recs = (
        Recommendation.objects.filter(
            status=Recommendation.Status.OPEN,
            kind__in=list(KIND_OF_RECOMMENDATION),
            team__isnull=False,
        )
        .select_related("team")
        .order_by("-estimated_monthly_saving", "pk")
    )
    for rec in recs:
        team = rec.team
        assert team is not None
        for slack_user_id in recipients(team):
            local = identity.person_now(slack_user_id, team, now)
            nudge = _reserve(rec, team, slack_user_id, now, local, policy, run)
            if nudge is not None and _send(nudge, rec, team):
                run.sent += 1
    return run


def _reserve(
    rec: Recommendation,
    team: Team,
    slack_user_id: str,
    now: datetime,
    local: datetime,
    policy: NudgePolicy,
    run: NudgeRun,
) -> Nudge | None:
    return reserve(
        kind=KIND_OF_RECOMMENDATION[Recommendation.Kind(rec.kind)],
        subject=rec.subject,
        print_=fingerprint(rec),
        team=team,
        slack_user_id=slack_user_id,
        now=now,
        local=local,
        policy=policy,
        run=run,
        recommendation=rec,
    )


def reserve(
    *,
    kind: str,
    subject: str,
    print_: str,
    team: Team | None,
    slack_user_id: str,
    now: datetime,
    local: datetime,
    policy: NudgePolicy,
    run: NudgeRun,
    recommendation: Recommendation | None = None,
) -> Nudge | None:
    """Decide under locks and, when the policy allows, record the nudge before sending it
    (so a parallel decision counts it). A nudge without a team (learning) is capped per
    person only."""
    with transaction.atomic():
        if team is not None:
            xact_lock(f"nudge:team:{team.pk}")
        xact_lock(f"nudge:person:{slack_user_id}")
        counted = Nudge.objects.filter(status=Nudge.Status.SENT)
        last = (
            counted.filter(recipient=slack_user_id, kind=kind, subject=subject)
            .order_by("-created_at")
            .values_list("fingerprint", flat=True)
            .first()
        )
        state = NudgeState(
            muted=NudgeMute.objects.in_force(slack_user_id, kind, now).exists(),
            last_fingerprint=last,
            person_sent=list(
                counted.filter(
                    recipient=slack_user_id, created_at__gt=now - timedelta(days=7)
                ).values_list("created_at", flat=True)
            ),
            team_sent=list(
                counted.filter(team=team, created_at__gt=now - timedelta(days=1)).values_list(
                    "created_at", flat=True
                )
            )
            if team is not None
            else [],
        )
        reason = decide(fingerprint=print_, state=state, now=now, local=local, policy=policy)
        if reason:
            run.skip(reason)
            return None
        return Nudge.objects.create(
            kind=kind,
            team=team,
            recipient=slack_user_id,
            subject=subject,
            fingerprint=print_,
            recommendation=recommendation,
            created_at=now,
        )


# The saving inside a recommendation's title ("...: about $1,234.56 a month (40%) less", in
# metrics.money's format; "about USD 1234.56" in titles stored before it): a nudge shows the
# saving once, on its own line.
_SAVING_IN_TITLE = re.compile(
    r"[:,] about -?(?:[A-Z]{3} )?[" + "".join(SYMBOLS.values()) + r"]?[-\d,.]+ a month"
    r"(?: \([^)]*\))?(?: less)?"
)
# Provider ids that are application keys: shown by their readable name (metrics.queries),
# else as what they are with their last characters, never as a raw id.
_RAW_IDS = re.compile(r"\b(proj_|wrkspc_|apikey_|key_)[A-Za-z0-9_-]+")
_RAW_ID_KIND = {
    "proj_": "OpenAI project",
    "wrkspc_": "Anthropic workspace",
    "apikey_": "API key",
    "key_": "API key",
}


def readable(text: str) -> str:
    """`text` with raw provider ids (proj_..., wrkspc_...) replaced by readable names."""
    found = [m.group(0) for m in _RAW_IDS.finditer(text)]
    if not found:
        return text
    names = readable_names(found)

    def name(match: re.Match[str]) -> str:
        key = match.group(0)
        return names.get(key) or f"{_RAW_ID_KIND[match.group(1)]} …{key[-4:]}"

    return _RAW_IDS.sub(name, text)


def nudge_title(rec: Recommendation) -> str:
    return readable(_SAVING_IN_TITLE.sub("", rec.title).strip())


def nudge_card(nudge: Nudge, rec: Recommendation | None, team: Team | None) -> NudgeCard:
    title = nudge_title(rec) if rec else NudgeKind(nudge.kind).label
    saving = format_money(rec.estimated_monthly_saving, rec.currency) if rec else ""
    slug = team.slug if team else ""
    return NudgeCard(
        nudge_id=nudge.pk,
        kind=nudge.kind,
        kind_label=NudgeKind(nudge.kind).label,
        team=team.name if team else "",
        title=title,
        saving=saving,
        suggestion=SUGGESTIONS[NudgeKind(nudge.kind)],
        portal_url=f"{settings.SITE_URL.rstrip('/')}/dashboard/?team={slug}",
    )


def _send(nudge: Nudge, rec: Recommendation, team: Team) -> bool:
    card = nudge_card(nudge, rec, team)
    return send_card(nudge, card, text=f"{card.title}: saves about {card.saving} a month")


def send_card(nudge: Nudge, card: NudgeCard, *, text: str) -> bool:
    """DM a reserved nudge to its recipient; the row records whether it reached Slack."""
    try:
        opened = call("conversations.open", {"users": nudge.recipient})
        channel = str(opened.get("channel", {}).get("id") or nudge.recipient)
    except DeliveryError as exc:
        logger.warning("conversations.open for %s failed: %s", nudge.recipient, exc)
        channel = nudge.recipient  # a user id as channel posts to the app's DM as well
    delivery = deliver(
        method="chat.postMessage",
        payload={
            "channel": channel,
            "text": text,
            "blocks": nudge_blocks(card),
        },
        key=f"nudge:{nudge.pk}",
    )
    sent = delivery.status == Delivery.Status.SENT
    Nudge.objects.filter(pk=nudge.pk).update(
        delivery=delivery, status=Nudge.Status.SENT if sent else Nudge.Status.FAILED
    )
    return sent


def nudge_click(*, action: str, nudge_id: int, click: Click) -> bool:
    """Snooze every nudge for a day or a week, or mute this kind, for the clicking person
    (only the person a nudge was sent to can silence it)."""
    nudge = Nudge.objects.filter(pk=nudge_id).select_related("recommendation", "team").first()
    if nudge is None or nudge.recipient != click.slack_user_id:
        Interaction.objects.create(
            action=action,
            target=f"nudge:{nudge_id}",
            slack_user_id=click.slack_user_id,
            allowed=False,
            detail="not the recipient",
        )
        tell(click, "Only the person this nudge was sent to can snooze or mute it.")
        return False
    now = timezone.now()
    label = NudgeKind(nudge.kind).label
    if action in SNOOZES:
        until = now + SNOOZES[action]
        NudgeMute.objects.create(slack_user_id=click.slack_user_id, kind="", until=until)
        what = f"Snoozed every nudge until {until:%Y-%m-%d %H:%M} UTC"
    elif action == "nudge_mute":
        NudgeMute.objects.create(slack_user_id=click.slack_user_id, kind=nudge.kind, until=None)
        what = f'Muted "{label}" nudges'
    elif action == "nudge_unmute":
        # Undo from Slack: the person's snoozes and this kind's mute end now.
        NudgeMute.objects.filter(slack_user_id=click.slack_user_id).filter(
            Q(kind="") | Q(kind=nudge.kind)
        ).delete()
        what = f'Unmuted: "{label}" nudges can come again'
    else:
        raise ValueError(f"unknown nudge action {action!r}")
    Interaction.objects.create(
        action=action,
        target=f"nudge:{nudge.pk}",
        slack_user_id=click.slack_user_id,
        user=identity.user_for_slack_id(click.slack_user_id),
        allowed=True,
        detail=what,
    )
    if click.channel and click.ts:
        card = nudge_card(nudge, nudge.recommendation, nudge.team)
        enqueue(
            method="chat.update",
            payload={
                "channel": click.channel,
                "ts": click.ts,
                "text": what,
                "blocks": nudge_done_blocks(
                    card,
                    f"{what} (by <@{click.slack_user_id}>)",
                    undo=action != "nudge_unmute",
                ),
            },
        )
    return True
