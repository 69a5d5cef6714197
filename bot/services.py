"""The bot's use case: answer a spend question for a person.

Every entry point (mention, DM, slash command, `manage.py ask`) calls `answer_question`, so
one question gets one answer everywhere. Numbers come from `metrics.queries` only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from django.core.cache import cache

from bot import identity, intents
from bot.intents import Reply
from bot.question import Question, TeamName, Vocabulary, model_filter, parse_question
from metrics import queries
from metrics.alerting.budgets import month_to_date_spend
from metrics.models import VIEW_ALL_SPEND, Budget, Team
from metrics.queries import Scope, ScopeError, SpendQuery, SpendReport
from metrics.spend_filters import SpendFilters

if TYPE_CHECKING:
    from django.contrib.auth.models import User

AnswerKind = Literal["spend", "reply", "help", "clarify", "refusal"]
VOCABULARY_CACHE_SECONDS = 5 * 60
TOP = 5


@dataclass(frozen=True)
class BudgetStatus:
    team: str
    spent: Decimal
    amount: Decimal
    currency: str
    month: str  # "October 2026"
    team_id: int = 0

    @property
    def percent(self) -> float:
        return float(self.spent * 100 / self.amount) if self.amount else 0.0


@dataclass(frozen=True)
class Answer:
    """What the bot says. `kind` decides the shape: a spend report, help, a clarification
    (what was understood plus the closest valid question) or a refusal (never any number)."""

    kind: AnswerKind
    question: Question | None = None
    report: SpendReport | None = None
    scope_label: str = ""
    team_slugs: tuple[str, ...] = ()
    budgets: tuple[BudgetStatus, ...] = ()
    portal_url: str = ""
    message: str = ""
    reply: Reply | None = None  # every class but plain spend (bot.intents)


def vocabulary() -> Vocabulary:
    """Team names, and the providers and models the ledger has seen (cached briefly)."""
    dims = cache.get("bot:vocabulary:dims")
    if dims is None:
        dims = queries.known_dimensions()
        cache.set("bot:vocabulary:dims", dims, VOCABULARY_CACHE_SECONDS)
    providers, models = dims
    teams = tuple(TeamName(t.slug, t.name) for t in Team.objects.order_by("name"))
    return Vocabulary(teams=teams, providers=tuple(providers), models=tuple(models))


def answer_question(
    *, user: User | None, text: str, today: date | None = None, slack_user_id: str = ""
) -> Answer:
    """Answer `text` for `user` (None: a Slack account matched to nobody).

    Read-only. `today` is the asker's local date; by default today in their team's time zone.
    Refuses, without computing any number, a team the user may not see.
    """
    if today is None:
        home = identity.db_teams(user)[:1] if user is not None else []
        today = identity.local_today(home[0] if home else None)
    words = vocabulary()
    question = parse_question(text, today=today, vocabulary=words)
    if question.intent == "help":
        return Answer("help", question)
    if not question.is_clear:
        return Answer("clarify", question)
    if user is None:
        return Answer(
            "refusal",
            question,
            message=(
                "I can't match your Slack account to anyone in the AI FinOps portal, so I can't "
                "show you any spend. Ask a FinOps admin to add your Slack id to your profile."
            ),
        )
    if question.intent == "learning":
        return Answer("reply", question, reply=intents.learning_reply(question, user, today))
    try:
        scope = _scope(user, question, slack_user_id)
    except ScopeError as exc:
        return Answer("refusal", question, message=str(exc))
    models = model_filter(question.models, words.models)
    spend_query = replace(question_filters(question), models=models).query_for(scope)
    reply = _reply(question, scope, spend_query, today)
    if reply is not None:
        return Answer("reply", question, scope_label=scope.label, reply=reply)
    report = queries.spend_report(spend_query, top=TOP, previous=question.compare_with())
    slugs = _slugs(scope)
    return Answer(
        "spend",
        question,
        report=report,
        scope_label=scope.label,
        team_slugs=slugs,
        budgets=budget_statuses(scope, today),
        portal_url=portal_url(slugs, question),
    )


def _reply(question: Question, scope: Scope, q: SpendQuery, today: date) -> Reply | None:
    """The answer of every intent but plain spend (None: a spend report)."""
    intent = question.intent
    if intent in ("ranking", "breakdown"):
        return intents.ranking_reply(question, q)
    if intent == "kpi":
        return intents.kpi_reply(question, q)
    if intent == "compare":
        if len(question.teams) == 2 and question.previous is None:
            return intents.compare_teams_reply(question, q)
        return intents.compare_reply(question, q)
    if intent == "drivers":
        return intents.drivers_reply(question, q)
    if intent == "budget":
        return intents.budget_reply(question, scope, today)
    if intent == "alerts":
        return intents.alerts_reply(scope)
    if intent == "savings":
        return intents.savings_reply(scope)
    return None


def _scope(user: User, question: Question, slack_user_id: str) -> Scope:
    """The teams to answer for, or ScopeError with a polite, number-free explanation.

    "We"/"our"/"my team" mean the asker's teams; for a FinOps admin who belongs to no team
    they mean the organization. "Unallocated" is a scope of its own (FinOps admins only)."""
    if question.unallocated:
        if not user.has_perm(VIEW_ALL_SPEND):
            raise ScopeError(
                "Sorry, only FinOps admins can see unallocated spend (it belongs to no team)."
            )
        return queries.unallocated_scope_for(user)
    if question.whole_org:
        if not user.has_perm(VIEW_ALL_SPEND):
            raise ScopeError(
                "Sorry, only FinOps admins can see the whole organization's spend. "
                f"Try `{_mine(question)}` for your own team."
            )
        return queries.scope_for(user)
    if question.teams:
        try:
            return queries.scope_for(user, list(question.teams))
        except ScopeError:
            names = ", ".join(question.team_names.get(s, s) for s in question.teams)
            own = identity.db_teams(user)
            hint = f" Try `{_mine(question)}` for your own team." if own else ""
            raise ScopeError(
                f"Sorry, you may not see the spend of {names}: only its members, its leads "
                f"and FinOps admins can.{hint}"
            ) from None
    if question.my_team or not user.has_perm(VIEW_ALL_SPEND):
        own_teams = identity.teams_of(user, slack_user_id)
        if not own_teams and user.has_perm(VIEW_ALL_SPEND) and not question.team_words:
            return queries.scope_for(user)  # "we" of a FinOps admin with no team: the org
        if not own_teams:
            raise ScopeError(_no_team_message(user, slack_user_id))
        return queries.scope_for(user, [t.slug for t in own_teams])
    return queries.scope_for(user)  # a FinOps admin who named no team: the organization


def _mine(question: Question) -> str:
    return replace(question, teams=(), whole_org=False, my_team=True).canonical()


def _no_team_message(user: User, slack_user_id: str) -> str:
    grouped = identity.slack_group_teams(user, slack_user_id)
    if grouped:
        names = ", ".join(t.name for t in grouped)
        return (
            f"Slack lists you in the user group of {names}, but the AI FinOps portal does not "
            "list you as a member yet, so I can't show that spend. Ask your team lead to add you."
        )
    return (
        "You're not a member of any team in the AI FinOps portal yet, so I don't know which "
        "spend is yours. Name a team, or ask your team lead to add you."
    )


def _slugs(scope: Scope) -> tuple[str, ...]:
    if scope.team_ids is None:
        return ()
    return tuple(
        Team.objects.filter(pk__in=scope.team_ids).order_by("slug").values_list("slug", flat=True)
    )


def budget_statuses(scope: Scope, today: date) -> tuple[BudgetStatus, ...]:
    """This month's spend against each team budget in scope (team-wide budgets only)."""
    if scope.team_ids is None:
        return ()
    budgets = list(
        Budget.objects.filter(team_id__in=scope.team_ids, active=True, application_key="")
        .select_related("team")
        .order_by("team__name", "currency")
    )
    if not budgets:
        return ()
    spent = month_to_date_spend(budgets, today)
    return tuple(
        BudgetStatus(
            team=b.team.name,
            spent=spent[b.pk],
            amount=Decimal(b.monthly_amount),
            currency=b.currency,
            month=f"{today:%B %Y}",
            team_id=b.team_id,
        )
        for b in budgets
    )


def question_filters(question: Question, teams: tuple[str, ...] = ()) -> SpendFilters:
    """The question's filters as the portal and the API read them (the models as asked)."""
    return SpendFilters(
        start=question.period.start,
        end=question.period.last_day,
        teams=teams,
        providers=question.providers,
        models=question.models,
        cost=question.cost,
    )


def portal_url(slugs: tuple[str, ...], question: Question) -> str:
    """The portal dashboard for the same view."""
    return question_filters(question, slugs).dashboard_url()
