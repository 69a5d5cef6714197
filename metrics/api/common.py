"""Pieces every endpoint of /api/v1/ shares: who sees what, filter parsing, output fields and
the mapping of service errors to HTTP.

Visibility rule (the same as `metrics.queries.scope_for`): FinOps admins (VIEW_ALL_SPEND)
see everything, including the unallocated bucket and organization-wide alerts; everyone
else sees the objects of the teams they belong to (as member or lead). An object outside
that is answered 404 exactly like one that does not exist, so ids and slugs of other teams
reveal nothing. A visible object that the user may not change is 403.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import APIException

from metrics import queries, spend_filters
from metrics.models import VIEW_ALL_SPEND, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")

SLUG_RE = spend_filters.SLUG_RE


def visible(qs: models.QuerySet[M], user: AnyUser) -> models.QuerySet[M]:
    """`qs` narrowed to what `user` may see: everything for FinOps admins, else the rows of
    their teams (rows with no team, such as unallocated cost, are left out)."""
    if not user.is_authenticated:
        return qs.none()
    if user.has_perm(VIEW_ALL_SPEND):
        return qs
    return qs.filter(team__in=Team.objects.visible_to(user).values("pk"))


def resolve_scope(user: AnyUser, slugs: list[str] | None) -> queries.Scope:
    """The query layer's scope for `slugs` (None: the user's own teams, or the organization
    for FinOps admins). A team the user may not see is reported exactly like one that does
    not exist (404); a user with no team at all gets 403."""
    if slugs:
        seen = set(
            Team.objects.visible_to(user).filter(slug__in=slugs).values_list("slug", flat=True)
        )
        hidden = [s for s in slugs if s not in seen]
        if hidden:
            raise exceptions.NotFound(f"No team you may see is called {', '.join(hidden)}.")
    try:
        return queries.scope_for(user, slugs)
    except queries.ScopeError as exc:
        raise exceptions.PermissionDenied(str(exc)) from exc


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is not in a state that allows this."
    default_code = "conflict"


@contextmanager
def service_errors(*, conflict: bool = False) -> Iterator[None]:
    """Translate a service's Django exceptions: PermissionDenied -> 403, ValidationError ->
    400 (or 409 with `conflict=True`, for services whose only validation error is about the
    object's state, such as approving an action twice)."""
    try:
        yield
    except DjangoPermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc) or None) from exc
    except DjangoValidationError as exc:
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        if conflict:
            raise Conflict(" ".join(exc.messages)) from exc
        raise exceptions.ValidationError(detail) from exc


# Error answers, for the schema. None of them carries a number of the ledger.
ERROR_400 = OpenApiResponse(OpenApiTypes.OBJECT, "Invalid input: {parameter: [messages]}")
ERROR_403 = OpenApiResponse(OpenApiTypes.OBJECT, "Not signed in, or not allowed: {detail}")
ERROR_404 = OpenApiResponse(
    OpenApiTypes.OBJECT, "No such object or team, or one you may not see: {detail}"
)
ERROR_409 = OpenApiResponse(OpenApiTypes.OBJECT, "The object's state forbids it: {detail}")
ERRORS = {400: ERROR_400, 403: ERROR_403, 404: ERROR_404}


# --- Input ----------------------------------------------------------------------------------


def drf_errors(parse: Callable[[], T]) -> T:
    """`parse()` with the ValidationError of `metrics.spend_filters` as DRF's (a 400)."""
    try:
        return parse()
    except DjangoValidationError as exc:
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        raise serializers.ValidationError(detail) from exc


class LedgerDayField(serializers.DateField):
    """A ledger day, YYYY-MM-DD, within FIRST_DAY..LAST_DAY (`spend_filters.parse_day`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("input_formats", [spend_filters.DAY_FORMAT])
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> date:
        day = drf_errors(lambda: spend_filters.parse_day(value, strict=True))
        if day is None:  # DRF gives no empty value to a field that is not required
            self.fail("invalid", format="YYYY-MM-DD")
        return day


class ListParam(serializers.CharField):
    """A comma-separated query parameter (`provider`, `model`, `application`); validated
    into a list of strings by `spend_filters.parse_values`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:  # type: ignore[override]
        text = super().to_internal_value(data)
        name = self.field_name or ""
        return list(drf_errors(lambda: spend_filters.parse_values(text, name=name, strict=True)))


class TeamParam(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 2000)
        kwargs.setdefault(
            "help_text",
            "Team slug(s), comma-separated. Default: your teams (FinOps admins: everything). "
            "A team you may not see is answered 404, like one that does not exist.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str] | None:  # type: ignore[override]
        text = super().to_internal_value(data)
        return list(drf_errors(lambda: spend_filters.parse_teams(text, strict=True))) or None


class TeamSlugField(serializers.SlugRelatedField[Team]):
    """A team by slug. Text that cannot be a slug is refused before any query (a NUL byte
    would be a database error on PostgreSQL); `get_queryset()` decides which teams exist."""

    default_error_messages = {
        **serializers.SlugRelatedField.default_error_messages,
        "does_not_exist": "No team called {value}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Team.objects.all())
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data: Any) -> Team:
        if not isinstance(data, str) or not SLUG_RE.match(data) or len(data) > 50:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:60])
        return super().to_internal_value(data)


class PeriodFilterSerializer(serializers.Serializer[Any]):
    """Scope and period of a spend or KPI question. `end` is the last day included."""

    team = TeamParam()
    start = LedgerDayField(help_text="First day (UTC ledger day). Default: the 1st of the month.")
    end = LedgerDayField(help_text="Last day, included. Default: today (UTC).")
    provider = ListParam(help_text="Provider key(s), comma-separated.")
    model = ListParam(
        help_text="Model(s), comma-separated; `gpt-4o` also matches its dated snapshots.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = drf_errors(
            lambda: spend_filters.period(
                attrs.get("start"), attrs.get("end"), today=spend_filters.ledger_today()
            )
        )
        attrs["start"], attrs["end"] = start, end
        attrs["provider"] = [p.lower() for p in attrs.get("provider") or []]
        attrs["model"] = attrs.get("model") or []
        attrs["team"] = attrs.get("team")
        attrs["filters"] = spend_filters.SpendFilters(
            start=start,
            end=end,
            teams=tuple(attrs["team"] or ()),
            providers=tuple(attrs["provider"]),
            models=tuple(attrs["model"]),
            cost=spend_filters.parse_cost(attrs.get("cost"), strict=True),
        )
        return attrs


class ListFilterSerializer(serializers.Serializer[Any]):
    """The filters of the alert, recommendation and action lists: `status` and `kind`
    (declared by each subclass with its model's choices) and one team."""

    team = serializers.SlugField(required=False, help_text="One team slug")

    def filter(self, qs: models.QuerySet[M]) -> models.QuerySet[M]:
        """`qs` narrowed by the valid query parameters (invalid ones: 400)."""
        self.is_valid(raise_exception=True)
        data = self.validated_data
        for name in ("status", "kind"):
            if name in data:
                qs = qs.filter(**{name: data[name]})
        if "team" in data:
            qs = qs.filter(team__slug=data["team"])
        return qs


# --- Output ---------------------------------------------------------------------------------


class MoneyField(serializers.DecimalField):
    """An exact decimal, as a string with the digits it has ("12.50", "0.000125")."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", None)
        kwargs.setdefault("decimal_places", None)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:  # type: ignore[override]
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        return f"{value:f}"


class RatioField(serializers.FloatField):
    """A float that may be undefined: NaN and infinities become null (JSON has no NaN)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> float | None:  # type: ignore[override]
        if value is None:
            return None
        number = float(value)
        return number if math.isfinite(number) else None


def user_label(user: Any) -> str | None:
    if user is None:
        return None
    return str(user.email or user.username)


def json_without_nul(value: Any, *, field: str = "value") -> Any:
    """`value` unchanged, or a 400 naming `field` when any string in it (keys included) holds a
    NUL byte: PostgreSQL's jsonb refuses "\\u0000", which would otherwise be a 500 there and
    silently stored on SQLite."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise serializers.ValidationError(f"{field}: text must not contain NUL bytes")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return value


class NulSafeSlugRelatedField(serializers.SlugRelatedField[Any]):
    """A SlugRelatedField that answers a NUL byte in the slug as "does not exist" (400) before
    the lookup: PostgreSQL refuses NUL in a text parameter (DataError, a 500 otherwise)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)
