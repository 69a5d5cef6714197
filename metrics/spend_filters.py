"""A spend question as URL query parameters: the one parser of `team`, `start`, `end`,
`provider`, `model`, `application` and `cost`, and the one writer of them.

The API, the portal dashboards and the bot all go through `SpendFilters`, so a parameter
means the same everywhere and a link the bot or the API writes is what the portal reads.

Two modes, on purpose:

- **strict** (the API): a bad value is a `ValidationError` naming the parameter, with the
  message the API answers 400 with.
- **lenient** (the portal): a shared URL must never fail, so a bad value falls back to its
  default (a bad day, a bad period: the month to date), list items with a NUL byte are
  dropped, long items cut and long lists shortened.

`start` and `end` are ledger days (UTC charge days), both included; `SpendQuery.end` is
exclusive, and `query_for` does the conversion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Self
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError

from metrics.models import Team
from metrics.queries import FIRST_DAY, LAST_DAY, CostColumn, Scope, SpendQuery

PARAMS = ("team", "start", "end", "provider", "model", "application", "cost")
MAX_PERIOD_DAYS = 3660  # ten years, both ends included
MAX_LIST_VALUES = 20
ITEM_LENGTH = {"team": 50, "provider": 32, "model": 200, "application": 300}
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
DAY_FORMAT = "%Y-%m-%d"
COST_COLUMNS: dict[str, CostColumn] = {"effective": "effective_cost", "billed": "billed_cost"}
DASHBOARD_PATH = "/dashboard/"


def ledger_today() -> date:
    """Today as a ledger day (ledger days are UTC charge days)."""
    return datetime.now(UTC).date()


# --- One parameter at a time ----------------------------------------------------------------


def parse_day(value: Any, *, strict: bool) -> date | None:
    """`YYYY-MM-DD` within FIRST_DAY..LAST_DAY (outside it the previous period or the
    exclusive end would overflow). Empty: None (the default applies)."""
    if value is None or value == "":
        return None
    try:
        day = datetime.strptime(value, DAY_FORMAT).date()
    except (TypeError, ValueError):
        if strict:
            raise ValidationError(
                "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                code="invalid",
            ) from None
        return None
    if FIRST_DAY <= day <= LAST_DAY:
        return day
    if strict:
        raise ValidationError(f"Must be between {FIRST_DAY} and {LAST_DAY}.", code="bounds")
    return None


def parse_values(value: str | None, *, name: str, strict: bool) -> tuple[str, ...]:
    """`a,b,,c ` -> ("a", "b", "c"): items stripped, duplicates dropped, at most
    MAX_LIST_VALUES items of at most ITEM_LENGTH[name] characters, no NUL byte (PostgreSQL
    text cannot hold it). Lenient: offending items are dropped or cut instead."""
    limit = ITEM_LENGTH[name]
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    if not strict:
        kept = (v[:limit] for v in items if "\x00" not in v)
        return tuple(dict.fromkeys(kept))[:MAX_LIST_VALUES]
    if "\x00" in (value or ""):
        raise ValidationError("Null characters are not allowed.", code="null_characters")
    values = tuple(dict.fromkeys(items))
    if len(values) > MAX_LIST_VALUES:
        raise ValidationError(f"At most {MAX_LIST_VALUES} {name} values.", code="max_values")
    if any(len(v) > limit for v in values):
        raise ValidationError(f"A {name} value is at most {limit} characters.", code="max_length")
    return values


def parse_teams(value: str | None, *, strict: bool) -> tuple[str, ...]:
    """Team slugs (lenient: what is not a slug is dropped)."""
    slugs = parse_values(value, name="team", strict=strict)
    bad = [s for s in slugs if not SLUG_RE.match(s)]
    if bad and strict:
        raise ValidationError(f"Not a team slug: {bad[0]!r}.", code="slug")
    return tuple(s for s in slugs if s not in bad)


def parse_cost(value: Any, *, strict: bool) -> CostColumn:
    """`effective` (the default) or `billed`."""
    if value is None or value == "":
        return "effective_cost"
    if value in COST_COLUMNS:
        return COST_COLUMNS[value]
    if strict:
        raise ValidationError(f'"{value}" is not a valid choice.', code="invalid_choice")
    return "effective_cost"


def check_period(start: date, end: date, *, max_days: int = MAX_PERIOD_DAYS) -> None:
    """A period of at most `max_days` days, `end` not before `start`; the error names the
    parameter to fix."""
    if end < start:
        raise ValidationError({"end": "Must not be before start."})
    if (end - start).days + 1 > max_days:
        raise ValidationError({"end": f"A period is at most {max_days} days long."})


def period(
    start: date | None, end: date | None, *, today: date, max_days: int = MAX_PERIOD_DAYS
) -> tuple[date, date]:
    """The period a question names, defaults filled in: no `end` is today (or `start`, when
    later), no `start` is the 1st of `end`'s month, so no dates at all is the month to date.
    Its previous period (of the same length) must not start before FIRST_DAY."""
    if end is None:
        end = today if start is None else max(start, today)
    if start is None:
        start = end.replace(day=1)
    check_period(start, end, max_days=max_days)
    if start - timedelta(days=(end - start).days + 1) < FIRST_DAY:
        raise ValidationError({"start": f"The previous period must start after {FIRST_DAY}."})
    return start, end


# --- The whole question ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SpendFilters:
    """The filters of a spend question. `end` is the last day included (as people, the bot
    and the API say it); `teams` empty means the caller's default scope."""

    start: date
    end: date
    teams: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()  # `gpt-4o` also matches its dated snapshots
    applications: tuple[str, ...] = ()  # application keys, exact
    cost: CostColumn = "effective_cost"

    max_days: ClassVar[int] = MAX_PERIOD_DAYS

    @classmethod
    def parse(cls, params: Mapping[str, Any], *, today: date, strict: bool = False) -> Self:
        """The filters in `params` (a QueryDict or any mapping of one string per name).
        Strict: a `ValidationError` whose `message_dict` names every bad parameter. Lenient:
        never fails; see the module's docstring."""
        errors: dict[str, list[str]] = {}

        def field(param: str, parse: Any, default: Any, **kwargs: Any) -> Any:
            try:
                return parse(params.get(param), strict=strict, **kwargs)
            except ValidationError as exc:
                errors[param] = exc.messages
                return default

        start = field("start", parse_day, None)
        end = field("end", parse_day, None)
        providers = field("provider", parse_values, (), name="provider")
        values = {
            "teams": field("team", parse_teams, ()),
            "providers": tuple(p.lower() for p in providers),
            "models": field("model", parse_values, (), name="model"),
            "applications": field("application", parse_values, (), name="application"),
            "cost": field("cost", parse_cost, "effective_cost"),
        }
        if errors:
            raise ValidationError(errors)
        try:
            start, end = period(start, end, today=today, max_days=cls.max_days)
        except ValidationError:
            if strict:
                raise
            start, end = today.replace(day=1), today  # the month to date
        return cls(start=start, end=end, **values)

    @classmethod
    def from_query(cls, q: SpendQuery, *, teams: Sequence[str] = ()) -> Self:
        """The filters of `q` (whose scope is `teams`, or the default scope)."""
        return cls(
            start=q.start,
            end=q.end - timedelta(days=1),
            teams=tuple(teams),
            providers=q.providers,
            models=q.models,
            applications=q.applications,
            cost=q.cost,
        )

    def query_for(self, scope: Scope) -> SpendQuery:
        """The query layer's question over `scope` (the caller resolves `teams` into it)."""
        return SpendQuery(
            scope,
            self.start,
            self.end + timedelta(days=1),
            self.providers,
            self.models,
            self.cost,
            self.applications,
        )

    def params(self) -> dict[str, str]:
        """The URL parameters that `parse` reads back into these filters (defaults left out,
        except the dates: a shared link shows the same days tomorrow)."""
        out = {
            "team": ",".join(self.teams),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "provider": ",".join(self.providers),
            "model": ",".join(self.models),
            "application": ",".join(self.applications),
            "cost": "billed" if self.cost == "billed_cost" else "",
        }
        return {k: v for k, v in out.items() if v}

    def url(self, path: str, **changes: Any) -> str:
        """`path` with these filters (with `changes` applied) as its query string."""
        return f"{path}?{urlencode(replace(self, **changes).params(), safe=',')}"

    def dashboard_url(self) -> str:
        """The portal dashboard showing these filters, as an absolute URL (SITE_URL)."""
        return settings.SITE_URL.rstrip("/") + self.url(DASHBOARD_PATH)


def dashboard_url(q: SpendQuery, *, team_slugs: Sequence[str] | None = None) -> str:
    """The portal dashboard showing `q`. `team_slugs` defaults to the scope's teams (none:
    the organization, or the viewer's own teams)."""
    if team_slugs is None and q.scope.team_ids is not None:
        team_slugs = list(
            Team.objects.filter(pk__in=q.scope.team_ids)
            .order_by("slug")
            .values_list("slug", flat=True)
        )
    return SpendFilters.from_query(q, teams=team_slugs or ()).dashboard_url()
