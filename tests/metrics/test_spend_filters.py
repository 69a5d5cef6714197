"""metrics.spend_filters: the one reading and writing of a spend question's URL parameters,
strict (the API: an error naming the parameter) and lenient (the portal: never fails)."""

from datetime import date, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from metrics.queries import FIRST_DAY, LAST_DAY, Scope, SpendQuery
from metrics.spend_filters import (
    MAX_LIST_VALUES,
    MAX_PERIOD_DAYS,
    SpendFilters,
    dashboard_url,
)

TODAY = date(2026, 10, 16)
MONTH_TO_DATE = (date(2026, 10, 1), TODAY)


def parse(query: str, *, strict: bool = False) -> SpendFilters:
    return SpendFilters.parse(QueryDict(query), today=TODAY, strict=strict)


def errors(query: str) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        parse(query, strict=True)
    return caught.value.message_dict


def period(f: SpendFilters) -> tuple[date, date]:
    return f.start, f.end


# --- Defaults -------------------------------------------------------------------------------


@pytest.mark.parametrize("strict", [True, False])
def test_no_parameters_is_the_month_to_date_of_every_team_effective_cost(strict):
    f = parse("", strict=strict)
    assert period(f) == MONTH_TO_DATE
    assert f.teams == f.providers == f.models == f.applications == ()
    assert f.cost == "effective_cost"


@pytest.mark.parametrize("strict", [True, False])
def test_empty_values_are_the_defaults(strict):
    f = parse("team=&start=&end=&provider=&model=&application=&cost=", strict=strict)
    assert f == parse("", strict=strict)


@pytest.mark.parametrize("strict", [True, False])
def test_a_start_alone_runs_to_today_or_to_itself_when_later(strict):
    assert period(parse("start=2026-09-10", strict=strict)) == (date(2026, 9, 10), TODAY)
    later = date(2026, 11, 2)
    assert period(parse("start=2026-11-02", strict=strict)) == (later, later)


@pytest.mark.parametrize("strict", [True, False])
def test_an_end_alone_starts_on_the_first_of_its_month(strict):
    assert period(parse("end=2026-09-15", strict=strict)) == (date(2026, 9, 1), date(2026, 9, 15))


# --- Days -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2026-13-01", "05/10/2026", "2026-02-30", "20261005", "2026-10-01\x00", "x"]
)
def test_a_day_that_is_not_yyyy_mm_dd_is_an_error_or_the_default(value):
    assert errors(f"start={value}") == {
        "start": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]
    }
    assert period(parse(f"start={value}")) == MONTH_TO_DATE


@pytest.mark.parametrize("value", ["0001-01-01", "1969-12-31", "3000-01-01", "9999-12-31"])
def test_days_outside_the_ledger_window_are_refused(value):
    assert errors(f"end={value}") == {"end": [f"Must be between {FIRST_DAY} and {LAST_DAY}."]}
    assert period(parse(f"end={value}")) == MONTH_TO_DATE


def test_the_window_bounds_themselves_are_days():
    assert parse(f"start={LAST_DAY}&end={LAST_DAY}", strict=True).end == LAST_DAY
    assert parse("start=1980-01-01&end=1980-01-31", strict=True).start == date(1980, 1, 1)


def test_end_before_start():
    assert errors("start=2026-10-06&end=2026-10-05") == {"end": ["Must not be before start."]}
    assert period(parse("start=2026-10-06&end=2026-10-05")) == MONTH_TO_DATE


def test_a_period_is_at_most_ten_years():
    first = TODAY - timedelta(days=MAX_PERIOD_DAYS - 1)
    assert parse(f"start={first}", strict=True).start == first
    too_early = first - timedelta(days=1)
    assert errors(f"start={too_early}&end={TODAY}") == {
        "end": [f"A period is at most {MAX_PERIOD_DAYS} days long."]
    }
    assert period(parse(f"start={too_early}&end={TODAY}")) == MONTH_TO_DATE


def test_the_previous_period_must_start_inside_the_window():
    assert errors("start=1970-01-05&end=1970-01-10") == {
        "start": [f"The previous period must start after {FIRST_DAY}."]
    }
    assert period(parse("start=1970-01-05&end=1970-01-10")) == MONTH_TO_DATE


def test_a_subclass_may_allow_shorter_periods_only():
    class Short(SpendFilters):
        max_days = 31

    assert Short.parse(QueryDict("start=2026-09-01&end=2026-10-01"), today=TODAY).start.month == 9
    assert period(Short.parse(QueryDict("start=2026-09-01&end=2026-10-02"), today=TODAY)) == (
        MONTH_TO_DATE
    )
    with pytest.raises(ValidationError) as caught:
        Short.parse(QueryDict("start=2026-09-01&end=2026-10-02"), today=TODAY, strict=True)
    assert caught.value.message_dict == {"end": ["A period is at most 31 days long."]}


# --- Lists ----------------------------------------------------------------------------------


def test_lists_are_stripped_deduplicated_and_in_order():
    f = parse("provider=OpenAI, anthropic,,OpenAI&model=gpt-4o,claude-sonnet-4,gpt-4o")
    assert f.providers == ("openai", "anthropic")  # provider keys are lower case
    assert f.models == ("gpt-4o", "claude-sonnet-4")  # model names keep their case
    assert parse("application=chat,search", strict=True).applications == ("chat", "search")


@pytest.mark.parametrize(
    "name,limit", [("team", 50), ("provider", 32), ("model", 200), ("application", 300)]
)
def test_item_length(name, limit):
    assert errors(f"{name}={'x' * (limit + 1)}") == {
        name: [f"A {name} value is at most {limit} characters."]
    }
    assert parse(f"{name}={'x' * limit}", strict=True) == parse(f"{name}={'x' * limit}")
    lenient = parse(f"{name}={'x' * (limit + 5)}")
    attribute = {"team": "teams"}.get(name, f"{name}s")
    assert getattr(lenient, attribute) == ("x" * limit,)  # cut, not dropped


@pytest.mark.parametrize("name", ["team", "provider", "model", "application"])
def test_item_count(name):
    many = ",".join(f"v{i}" for i in range(MAX_LIST_VALUES + 5))
    assert errors(f"{name}={many}") == {name: [f"At most {MAX_LIST_VALUES} {name} values."]}
    attribute = {"team": "teams"}.get(name, f"{name}s")
    kept = getattr(parse(f"{name}={many}"), attribute)
    assert kept == tuple(f"v{i}" for i in range(MAX_LIST_VALUES))
    exactly = ",".join(f"v{i}" for i in range(MAX_LIST_VALUES))
    assert len(getattr(parse(f"{name}={exactly}", strict=True), attribute)) == MAX_LIST_VALUES


@pytest.mark.parametrize("name", ["team", "provider", "model", "application"])
def test_nul_bytes_are_refused_or_their_item_dropped(name):
    query = QueryDict(mutable=True)
    query[name] = "ab\x00c,kept"
    with pytest.raises(ValidationError) as caught:
        SpendFilters.parse(query, today=TODAY, strict=True)
    assert caught.value.message_dict == {name: ["Null characters are not allowed."]}
    attribute = {"team": "teams"}.get(name, f"{name}s")
    assert getattr(SpendFilters.parse(query, today=TODAY), attribute) == ("kept",)


def test_teams_are_slugs():
    assert parse("team=ml-platform,search_2", strict=True).teams == ("ml-platform", "search_2")
    assert errors("team=ml-platform,not a slug") == {"team": ["Not a team slug: 'not a slug'."]}
    assert parse("team=ml-platform,not a slug,x/y").teams == ("ml-platform",)


# --- Cost -----------------------------------------------------------------------------------


def test_cost():
    assert parse("cost=billed", strict=True).cost == "billed_cost"
    assert parse("cost=effective", strict=True).cost == "effective_cost"
    assert errors("cost=BILLED") == {"cost": ['"BILLED" is not a valid choice.']}
    assert parse("cost=BILLED").cost == "effective_cost"


def test_strict_names_every_bad_parameter_at_once():
    assert set(errors("start=x&cost=list&team=a b&provider=" + "p" * 40)) == {
        "start",
        "cost",
        "team",
        "provider",
    }


# --- Queries and links ----------------------------------------------------------------------

FULL = (
    "team=ml-platform,search&start=2026-09-01&end=2026-09-30&provider=openai"
    "&model=gpt-4o,claude-sonnet-4&application=chat&cost=billed"
)


def test_query_for_makes_the_end_exclusive():
    scope = Scope((1, 2), "two teams")
    q = parse(FULL, strict=True).query_for(scope)
    assert q == SpendQuery(
        scope,
        date(2026, 9, 1),
        date(2026, 10, 1),
        ("openai",),
        ("gpt-4o", "claude-sonnet-4"),
        "billed_cost",
        ("chat",),
    )
    assert SpendFilters.from_query(q, teams=("ml-platform", "search")) == parse(FULL)


@pytest.mark.parametrize("query", ["", FULL, "start=2026-10-05&end=2026-10-05&model=a%2Fb c"])
def test_params_round_trip(query):
    f = parse(query)
    assert parse(f.url("/dashboard/").split("?", 1)[1], strict=True) == f
    assert SpendFilters.parse(f.params(), today=date(2030, 1, 1)) == f  # dates are kept


def test_params_leave_defaults_out_but_always_name_the_days():
    assert parse("").params() == {"start": "2026-10-01", "end": "2026-10-16"}
    assert parse(FULL).url("/dashboard/") == (
        "/dashboard/?team=ml-platform,search&start=2026-09-01&end=2026-09-30&provider=openai"
        "&model=gpt-4o,claude-sonnet-4&application=chat&cost=billed"
    )


def test_url_applies_changes_without_changing_the_filters():
    f = parse(FULL)
    url = f.url("/dashboard/records/", models=("gpt-4o",), cost="effective_cost")
    assert dict(parse_qsl(urlsplit(url).query))["model"] == "gpt-4o"
    assert "cost" not in dict(parse_qsl(urlsplit(url).query))
    assert f == parse(FULL)


def test_dashboard_url_is_absolute_and_names_the_scopes_teams(db, teams, settings):
    settings.SITE_URL = "https://finops.example.com/"
    ml = teams["ml-platform"]
    q = SpendQuery(Scope((ml.pk,), ml.name), date(2026, 10, 5), date(2026, 10, 12), ("openai",))
    assert dashboard_url(q) == (
        "https://finops.example.com/dashboard/?team=ml-platform&start=2026-10-05&end=2026-10-11"
        "&provider=openai"
    )
    org = SpendQuery(Scope(None, "the whole organization"), date(2026, 10, 5), date(2026, 10, 6))
    assert (
        dashboard_url(org)
        == "https://finops.example.com/dashboard/?start=2026-10-05&end=2026-10-05"
    )
