"""Question understanding: pure, so no database. Today is Thursday 2026-10-15."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.question import TeamName, Vocabulary, normalize, parse_question

TODAY = date(2026, 10, 15)  # a Thursday
VOCAB = Vocabulary(
    teams=(
        TeamName("ml-platform", "ML Platform"),
        TeamName("search", "Search"),
        TeamName("support-assistant", "Support Assistant"),
    ),
    providers=("openai", "anthropic", "aws", "kubernetes"),
    models=("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "gpt-4o-2024-08-06"),
)


def ask(text, today=TODAY):
    return parse_question(text, today=today, vocabulary=VOCAB)


def d(s):
    return date.fromisoformat(s)


@pytest.mark.parametrize(
    "text,start,last,label",
    [
        ("spend today", "2026-10-15", "2026-10-15", "today"),
        ("spend yesterday", "2026-10-14", "2026-10-14", "yesterday"),
        ("spend this week", "2026-10-12", "2026-10-15", "this week (to date)"),
        ("spend week to date", "2026-10-12", "2026-10-15", "this week (to date)"),
        ("spend last week", "2026-10-05", "2026-10-11", "last week"),
        ("spend previous week", "2026-10-05", "2026-10-11", "last week"),
        ("spend this month", "2026-10-01", "2026-10-15", "this month (to date)"),
        ("spend month to date", "2026-10-01", "2026-10-15", "this month (to date)"),
        ("spend MTD", "2026-10-01", "2026-10-15", "this month (to date)"),
        ("spend so far this month", "2026-10-01", "2026-10-15", "this month (to date)"),
        ("spend last month", "2026-09-01", "2026-09-30", "last month"),
        ("spend last 7 days", "2026-10-09", "2026-10-15", "last 7 days"),
        ("spend past 30 days", "2026-09-16", "2026-10-15", "last 30 days"),
        ("spend last 1 day", "2026-10-15", "2026-10-15", "last 1 day"),
        ("spend last 2 weeks", "2026-10-02", "2026-10-15", "last 2 weeks"),
        ("spend last 3 months", "2026-07-01", "2026-09-30", "the last 3 months"),
        ("spend in October", "2026-10-01", "2026-10-15", "October 2026 (to date)"),
        ("spend in September", "2026-09-01", "2026-09-30", "September 2026"),
        ("spend in December", "2025-12-01", "2025-12-31", "December 2025"),
        ("spend in Nov", "2025-11-01", "2025-11-30", "November 2025"),
        ("spend in sept.", "2026-09-01", "2026-09-30", "September 2026"),
        ("spend in may", "2026-05-01", "2026-05-31", "May 2026"),
        ("spend may 2025", "2025-05-01", "2025-05-31", "May 2025"),
        ("spend February 2024", "2024-02-01", "2024-02-29", "February 2024"),
        ("spend 2026-09", "2026-09-01", "2026-09-30", "September 2026"),
        ("spend Q3", "2026-07-01", "2026-09-30", "Q3 2026"),
        ("spend q4", "2026-10-01", "2026-10-15", "Q4 2026 (to date)"),
        ("spend Q1 2025", "2025-01-01", "2025-03-31", "Q1 2025"),
        ("spend 2025-Q2", "2025-04-01", "2025-06-30", "Q2 2025"),
        ("spend the third quarter", "2026-07-01", "2026-09-30", "Q3 2026"),
        ("spend this quarter", "2026-10-01", "2026-10-15", "this quarter (to date)"),
        ("spend last quarter", "2026-07-01", "2026-09-30", "last quarter"),
        ("spend this year", "2026-01-01", "2026-10-15", "this year (to date)"),
        ("spend ytd", "2026-01-01", "2026-10-15", "this year (to date)"),
        ("spend last year", "2025-01-01", "2025-12-31", "last year"),
        (
            "spend from 2026-10-01 to 2026-10-15",
            "2026-10-01",
            "2026-10-15",
            "2026-10-01 to 2026-10-15",
        ),
        (
            "spend between 2026-09-28 and 2026-10-03",
            "2026-09-28",
            "2026-10-03",
            "2026-09-28 to 2026-10-03",
        ),
        ("spend 2026-10-01..2026-10-07", "2026-10-01", "2026-10-07", "2026-10-01 to 2026-10-07"),
        (
            "spend 2026-10-01 \u2013 2026-10-07",
            "2026-10-01",
            "2026-10-07",
            "2026-10-01 to 2026-10-07",
        ),
        ("spend on 2026-10-03", "2026-10-03", "2026-10-03", "2026-10-03"),
        ("spend since 2026-10-10", "2026-10-10", "2026-10-15", "since 2026-10-10"),
    ],
)
def test_periods(text, start, last, label):
    q = ask(text)
    assert q.is_clear, (q.unknown, q.problems)
    assert q.period_given
    assert (q.period.start, q.period.last_day) == (d(start), d(last))
    assert q.period.label == label


def test_week_starts_on_monday_even_on_monday_and_sunday():
    monday = date(2026, 10, 12)
    assert ask("spend this week", today=monday).period.start == monday
    assert ask("spend last week", today=monday).period.start == date(2026, 10, 5)
    sunday = date(2026, 10, 18)
    assert ask("spend this week", today=sunday).period.start == monday
    assert ask("spend this week", today=sunday).period.days == 7


def test_last_month_and_quarter_cross_the_year():
    jan = date(2027, 1, 10)
    assert (
        ask("spend last month", today=jan).period.start,
        ask("spend last month", today=jan).period.end,
    ) == (
        date(2026, 12, 1),
        date(2027, 1, 1),
    )
    lq = ask("spend last quarter", today=jan).period
    assert (lq.start, lq.end) == (date(2026, 10, 1), date(2027, 1, 1))
    assert ask("spend in December", today=jan).period.start == date(2026, 12, 1)
    assert ask("spend Q4", today=jan).period.start == date(2026, 10, 1)


def test_periods_are_half_open_and_describe_their_dates():
    q = ask("spend last week")
    assert q.period.end == date(2026, 10, 12)
    assert q.period.days == 7
    assert q.period.describe() == "last week (2026-10-05 to 2026-10-11)"


def test_no_period_defaults_to_month_to_date_and_says_so():
    q = ask("what did my team spend?")
    assert q.is_clear and not q.period_given
    assert (q.period.start, q.period.end) == (date(2026, 10, 1), date(2026, 10, 16))


@pytest.mark.parametrize(
    "text,teams,mine,org",
    [
        ("what did my team spend last week?", (), True, False),
        ("what did we spend last week", (), True, False),
        ("how much have our teams spent", (), True, False),
        ("ml-platform spend", ("ml-platform",), False, False),
        ("what did ML Platform spend", ("ml-platform",), False, False),
        ("what did the ml platform team spend", ("ml-platform",), False, False),
        ("Search's spend last week", ("search",), False, False),
        ("spend for support assistant", ("support-assistant",), False, False),
        ("spend for search and ml-platform", ("search", "ml-platform"), False, False),
        ("what did the whole org spend", (), False, True),
        ("company spend this year", (), False, True),
        ("spend last week", (), False, False),
    ],
)
def test_teams(text, teams, mine, org):
    q = ask(text)
    assert q.is_clear, (q.unknown, q.problems)
    assert (q.teams, q.my_team, q.whole_org) == (teams, mine, org)


@pytest.mark.parametrize(
    "text,providers,models",
    [
        ("spend on openai", ("openai",), ()),
        ("spend on Open AI", ("openai",), ()),
        ("spend on bedrock", ("aws",), ()),
        ("spend on azure openai", ("azure",), ()),
        ("spend on google", ("gcp",), ()),
        ("spend on k8s", ("kubernetes",), ()),
        ("spend on anthropic and openai", ("anthropic", "openai"), ()),
        ("spend on gpt-4o", (), ("gpt-4o",)),
        ("spend on GPT-4o-mini", (), ("gpt-4o-mini",)),
        ("spend on gpt-4o-2024-08-06 last week", (), ("gpt-4o-2024-08-06",)),
        ("spend on claude", (), ("claude",)),
        ("spend on claude-sonnet", (), ("claude-sonnet",)),
        ("spend on gemini", (), ("gemini",)),
        ("spend on openai gpt-4o", ("openai",), ("gpt-4o",)),
    ],
)
def test_providers_and_models(text, providers, models):
    q = ask(text)
    assert q.is_clear, (q.unknown, q.problems)
    assert (q.providers, q.models) == (providers, models)


def test_model_with_a_date_in_its_name_is_not_a_period():
    q = ask("spend on gpt-4o-2024-08-06")
    assert q.models == ("gpt-4o-2024-08-06",) and not q.period_given


@pytest.mark.parametrize(
    "text,cost",
    [
        ("spend last week", "effective_cost"),
        ("billed spend last week", "billed_cost"),
        ("what was invoiced last month", "billed_cost"),
        ("effective spend last week", "effective_cost"),
        ("amortized cost last week", "effective_cost"),
    ],
)
def test_billed_versus_effective(text, cost):
    q = ask(text)
    assert q.is_clear and q.cost == cost


@pytest.mark.parametrize("text", ["", "help", "Help!", "hi", "<@UBOT>", "hello bot", "usage"])
def test_help(text):
    assert ask(text).intent == "help"


@pytest.mark.parametrize("text", ["spend", "/finops spend", "what did my team spend?"])
def test_a_bare_spend_question_is_a_question(text):
    q = ask(text)
    assert q.intent == "spend" and q.is_clear


def test_slack_markup_is_ignored():
    assert normalize("<@U123ABC> what did <#C1|search> spend?") == "what did search spend"
    q = ask("<@U123ABC> what did <#C1|search> spend yesterday?")
    assert q.teams == ("search",) and q.period.label == "yesterday"


# --- Ambiguous or unknown: say what was understood, offer the closest valid question ---------


def test_typo_in_team_is_not_guessed_and_never_substituted():
    q = ask("what did ml-platfrom spend last week?")
    assert not q.is_clear
    assert q.unknown == ("ml-platfrom",)
    assert q.teams == ()  # never guessed silently
    assert "period last week (2026-10-05 to 2026-10-11)" in q.understood()
    # Suggestions are real questions, never the text with the word swapped for a look-alike.
    assert q.suggestions and not any("ml-platform" in x for x in q.suggestions)


@pytest.mark.parametrize(
    "text,unknown,look_alike",
    [
        ("spend for search lst week", ("lst", "week"), "last week"),
        ("spend in Octobr", ("octobr",), "october"),
        ("spend on gtp-4o yesterday", ("gtp-4o",), "gpt-4o"),
        ("GPUs last week", ("gpus",), "gpt"),  # the GPU -> gpt
        ("budgte left", ("budgte",), "budget"),
        ("forcast this month", ("forcast",), "kubernetes"),  # forecast -> kubernetes
        ("spend on xylophones last week", ("xylophones",), "xylophones"),
    ],
)
def test_no_suggestion_substitutes_a_look_alike_word(text, unknown, look_alike):
    q = ask(text)
    assert not q.is_clear and set(unknown) <= set(q.unknown)
    assert q.suggestions
    for suggestion in q.suggestions:
        assert look_alike not in suggestion.replace("last week", "") or look_alike == "last week"
        assert ask(suggestion).is_clear, suggestion  # every suggestion is a real question
    assert q.suggestion == ""  # the old "did you mean" rewrite is gone


def test_top_n_is_never_read_as_a_model():
    q = ask("top 3 models last month")
    assert q.intent == "ranking" and q.top == 3 and q.models == ()


def test_two_periods_are_ambiguous():
    q = ask("search spend yesterday and last week")
    assert not q.is_clear
    assert "several periods" in q.problems[0]


def test_two_periods_are_a_comparison_when_comparing():
    q = ask("compare search spend yesterday and last week")
    assert q.is_clear and q.intent == "compare"
    assert q.previous.label == "last week" and q.period.label == "yesterday"


def test_billed_and_effective_are_ambiguous():
    q = ask("billed effective spend last week")
    assert q.problems and all(ask(x).is_clear for x in q.suggestions)


def test_team_and_whole_org_are_ambiguous():
    q = ask("spend for search and the whole org")
    assert q.problems and all(ask(x).is_clear for x in q.suggestions)


@pytest.mark.parametrize(
    "text,problem",
    [
        ("spend in March 2027", "has not started yet"),
        ("spend Q1 2027", "has not started yet"),
        ("spend from 2026-10-10 to 2026-10-01", "ends before it starts"),
        ("spend from 2026-02-30 to 2026-03-02", "is not a date"),
        ("spend last 0 days", "empty period"),
        ("spend last 99999 days", "longer than ten years"),
        ("spend 2026-13", "is not a month"),
    ],
)
def test_impossible_periods_are_reported(text, problem):
    q = ask(text)
    assert not q.is_clear and problem in " ".join(q.problems)
    assert q.suggestions  # always offers something valid
    assert all(ask(x).is_clear for x in q.suggestions)


def test_suggestions_always_parse_cleanly():
    for text in [
        "spend ml-platfrom lst week",
        "what did serch spend on antropic in septembr",
        "blah blah",
        "spend yesterday today",
        "billed effective",
        "top 3 frobnicators",
        "cost per widget",
    ]:
        q = ask(text)
        assert not q.is_clear
        for suggestion in q.suggestions:
            assert ask(suggestion).is_clear, (text, suggestion)


# --- The canonical form parses back to the same question -------------------------------------

periods = st.sampled_from(
    [
        "today",
        "yesterday",
        "this week",
        "last week",
        "this month",
        "last month",
        "this quarter",
        "last quarter",
        "this year",
        "last year",
        "q1",
        "q2",
        "q3",
        "in january",
        "in may",
        "in october",
        "in december 2025",
        "last 7 days",
        "last 90 days",
        "from 2026-03-01 to 2026-03-31",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    period=periods,
    teams=st.lists(
        st.sampled_from(["ml-platform", "search", "support-assistant"]), unique=True, max_size=2
    ),
    target=st.sampled_from(["", "my team", "the whole org"]),
    filters=st.lists(
        st.sampled_from(["openai", "anthropic", "gpt-4o", "claude"]), unique=True, max_size=2
    ),
    billed=st.booleans(),
    today=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
)
def test_canonical_round_trip(period, teams, target, filters, billed, today):
    team_part = " and ".join(teams) if teams else target
    text = f"{'billed ' if billed else ''}spend for {team_part} {period} on {' '.join(filters)}"
    q = parse_question(text, today=today, vocabulary=VOCAB)
    if not q.is_clear:  # a period in the future for this `today`
        assert "has not started yet" in " ".join(q.problems)
        return
    again = parse_question(q.canonical(), today=today, vocabulary=VOCAB)
    assert again.is_clear
    for attr in ("period", "teams", "my_team", "whole_org", "providers", "models", "cost"):
        assert getattr(again, attr) == getattr(q, attr), attr
    assert q.period.start <= today < q.period.end or q.period.end <= today + timedelta(days=1)


def test_model_families_expand_to_known_models():
    from bot.question import model_filter

    known = [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4o-2024-08-06",
        "claude-sonnet-4-5",
        "claude-3-5-haiku",
        "o3-mini",
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini",
    ]
    assert model_filter(["gpt-4o"], known) == ("gpt-4o",)  # the query layer adds its snapshots
    assert model_filter(["claude"], known) == ("claude-3-5-haiku", "claude-sonnet-4-5")
    assert model_filter(["claude-sonnet"], known) == ("claude-sonnet-4-5",)
    assert model_filter(["gpt"], known) == (
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini",
        "gpt-4o",
        "gpt-4o-2024-08-06",
        "gpt-4o-mini",
    )
    assert model_filter(["gpt-4.1"], known) == (
        "gpt-4.1",
    )  # only dated snapshots known: not the mini
    assert model_filter(["gemini"], known) == ("gemini",)  # nothing known: asks for it as is
    assert model_filter(["o3"], known) == ("o3-mini",)
    assert model_filter(["GPT-4o-mini"], known) == ("GPT-4o-mini",)


def test_real_model_names_from_billing_files():
    from bot.question import model_filter

    known = [
        "Claude 3.5 Sonnet",
        "Gemini 1.5 Pro",
        "Nova Lite",
        "claude-opus-4-20250514",
        "gpt-4o-0806",
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-0718",
        "gpt-4o-mini-2024-07-18",
    ]
    assert model_filter(["gpt-4o"], known) == ("gpt-4o",)  # snapshots only: the query layer's job
    assert model_filter(["gpt-4o-mini"], known) == ("gpt-4o-mini",)
    assert model_filter(["claude"], known) == ("Claude 3.5 Sonnet", "claude-opus-4-20250514")
    assert model_filter(["gemini"], known) == ("Gemini 1.5 Pro",)
    vocab = Vocabulary(models=tuple(known))
    q = parse_question(
        "spend on claude 3.5 sonnet and nova in october", today=TODAY, vocabulary=vocab
    )
    assert q.is_clear and q.models == ("Claude 3.5 Sonnet", "nova")
    assert parse_question("spend on gpt-4o", today=TODAY, vocabulary=vocab).models == ("gpt-4o",)


@pytest.mark.parametrize(
    "text,kpi",
    [
        ("carbon per 1k tokens last month", "carbon"),  # was answered as cost per 1k tokens
        ("co2 per 1000 tokens this week", "carbon"),
        ("emissions per thousand tokens", "carbon"),
        ("cost per 1k tokens last month", "cost_per_1k_tokens"),
        ("what does a request cost per 1k tokens", "cost_per_1k_tokens"),
    ],
)
def test_carbon_per_tokens_asks_for_carbon_not_cost(text, kpi):
    assert ask(text).kpi == kpi
