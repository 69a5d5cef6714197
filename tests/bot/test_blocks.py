"""Block Kit builders are pure: data in, blocks out, always within Slack's limits."""

import math
from datetime import UTC, date, datetime
from decimal import Decimal

from bot.blocks.alert_cards import ActionCard, AlertCard, alert_blocks
from bot.blocks.answers import answer_blocks, answer_summary, answer_text
from bot.blocks.home_tab import HomeData, HomeTeam, home_view
from bot.blocks.kit import esc
from bot.blocks.nudge_cards import NudgeCard, nudge_blocks
from bot.blocks.weekly_card import WeeklySummary, weekly_summary_blocks
from bot.format import carbon_range
from bot.question import TeamName, Vocabulary, parse_question
from bot.services import Answer, BudgetStatus
from metrics.queries import Breakdown, Scope, SpendQuery, SpendReport
from tests.bot.limits import assert_within_slack_limits

TODAY = date(2026, 10, 15)
VOCAB = Vocabulary(teams=(TeamName("ml-platform", "ML Platform"),))


def report(
    *, models=(), apps=(), totals=None, previous=None, kpis=None, usage=None, carbon=(10.0, 30.0)
):
    q = SpendQuery(Scope((1,), "ML Platform"), date(2026, 10, 5), date(2026, 10, 12))
    return SpendReport(
        query=q,
        totals=totals if totals is not None else {"USD": Decimal("1234.5")},
        previous_totals=previous if previous is not None else {"USD": Decimal("1000")},
        by_provider=[],
        by_service_category=[],
        by_model=list(models),
        by_application=list(apps),
        daily=[],
        usage=usage
        or {
            "model_requests": 1000.0,
            "input_tokens": 2_500_000.0,
            "cached_input_tokens": 0.0,
            "output_tokens": 12_000.0,
            "gpu_hours": 0.0,
        },
        kpis=kpis
        or {
            "cost_per_inference": 1.2345,
            "cost_per_1k_tokens": 0.00049,
            "token_density": 209.3,
            "cache_hit_ratio": 0.0,
        },
        carbon_g=carbon,
    )


def answer_for(rep, text="spend for ml-platform last week", budgets=()):
    q = parse_question(text, today=TODAY, vocabulary=VOCAB)
    return Answer(
        "spend",
        q,
        report=rep,
        scope_label="ML Platform",
        team_slugs=("ml-platform",),
        budgets=budgets,
        portal_url="https://x/dashboard/?team=ml-platform",
    )


def test_number_formats():
    assert carbon_range(900, 1_500) == "900.0 g to 1.50 kg CO2e (estimate)"
    assert esc("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_answer_blocks_show_every_part():
    rep = report(
        models=[Breakdown("gpt-4o", "USD", Decimal("1000"))],
        apps=[Breakdown("chatbot", "USD", Decimal("234.5"))],
    )
    budgets = (
        BudgetStatus("ML Platform", Decimal("2500"), Decimal("5000"), "USD", "October 2026"),
    )
    blocks = answer_blocks(answer_for(rep, budgets=budgets))
    assert_within_slack_limits(blocks)
    flat = repr(blocks)
    assert blocks[0]["text"]["text"] == "ML Platform: last week"
    assert "*$1,234.50* effective cost, 2026-10-05 to 2026-10-11" in flat
    assert "+23.4% vs the previous 7 days (2026-09-28 to 2026-10-04): $1,000.00" in flat
    assert "gpt-4o: $1,000.00" in flat and "chatbot: $234.50" in flat
    assert "$1.23 over 1,000 requests" in flat
    assert "2.50M input, 0 cached, 12.0k output" in flat
    assert "10.0 g to 30.0 g CO2e (estimate)" in flat
    assert "$2,500.00 of $5,000.00 in October 2026 (50.0%)" in flat
    assert blocks[-1]["elements"][0]["url"] == "https://x/dashboard/?team=ml-platform"


def test_text_and_blocks_show_the_same_numbers():
    rep = report(models=[Breakdown("gpt-4o", "USD", Decimal("1000"))])
    answer = answer_for(rep)
    text, flat = answer_text(answer), repr(answer_blocks(answer))
    for number in ("$1,234.50", "+23.4%", "$1,000.00", "$1.23", "2.50M", "10.0 g to 30.0 g"):
        assert number in text and number in flat
    assert answer_summary(answer).startswith("ML Platform: last week: $1,234.50 (+23.4%")


def test_huge_breakdown_stays_within_slack_limits():
    long = "x" * 5000
    rep = report(
        models=[Breakdown(f"model-{i}-{long}", "USD", Decimal(i)) for i in range(2000)],
        apps=[Breakdown(f"app-{i}-{long}", "USD", Decimal(i)) for i in range(2000)],
        totals={f"C{i:02d}": Decimal(i) for i in range(60)},
        previous={f"C{i:02d}": Decimal(i + 1) for i in range(60)},
    )
    budgets = tuple(
        BudgetStatus(long, Decimal(1), Decimal(2), "USD", "October 2026") for _ in range(500)
    )
    answer = answer_for(rep, budgets=budgets)
    blocks = answer_blocks(answer)
    assert_within_slack_limits(blocks)
    assert "… and 1990 more" in repr(blocks)
    assert len(answer_summary(answer)) <= 3000


def test_mixed_currencies_are_never_added():
    rep = report(
        totals={"USD": Decimal(10), "EUR": Decimal(5)},
        previous={"USD": Decimal(5)},
        kpis={
            "cost_per_inference": math.nan,
            "cost_per_1k_tokens": math.nan,
            "token_density": math.nan,
        },
    )
    text = answer_text(answer_for(rep))
    assert "€5.00 + $10.00" in text
    assert "no EUR spend in the previous 7 days" in text
    assert "not converted or added together" in text
    assert "Cost per inference" not in text


def test_undefined_kpis_are_left_out():
    rep = report(
        usage={"model_requests": 0.0},
        kpis={
            "cost_per_inference": math.nan,
            "cost_per_1k_tokens": math.nan,
            "token_density": math.nan,
            "cache_hit_ratio": math.nan,
        },
        carbon=None,
    )
    text = answer_text(answer_for(rep))
    assert "Cost per inference" not in text and "Tokens" not in text and "Carbon" not in text


def test_clarify_and_refusal_blocks():
    q = parse_question("spend for ml-platfrom last week", today=TODAY, vocabulary=VOCAB)
    blocks = answer_blocks(Answer("clarify", q))
    assert_within_slack_limits(blocks)
    text = blocks[0]["text"]["text"]
    assert "I don't know `ml-platfrom`" in text
    assert "`spend for ml-platform last week`" not in text  # no look-alike substitution
    assert "Questions I can answer: `what did my team spend last week?`" in text
    refusal = answer_blocks(Answer("refusal", q, message="Sorry <no>"))
    assert refusal[0]["text"]["text"] == "Sorry &lt;no&gt;"


def test_alert_blocks_buttons_follow_the_state():
    card = AlertCard(
        1,
        "budget",
        "ML Platform reached 80%",
        "ML Platform",
        date(2026, 10, 15),
        "open",
        amount="$800.00",
        action=ActionCard(7, "Hard budget cap on chatbot", "proposed"),
    )
    blocks = alert_blocks(card)
    assert_within_slack_limits(blocks)
    ids = [e["action_id"] for e in blocks[-1]["elements"]]
    assert ids == ["alert_ack", "alert_snooze", "alert_details", "action_approve", "action_reject"]
    done = AlertCard(
        1,
        "budget",
        "t",
        "ML Platform",
        date(2026, 10, 15),
        "acknowledged",
        history=("Acknowledged by <@U1>",),
        action=ActionCard(7, "cap", "approved", "<@U2>"),
    )
    blocks = alert_blocks(done)
    assert [e["action_id"] for e in blocks[-1]["elements"]] == ["alert_details"]
    assert "approved by <@U2>" in repr(blocks) and "Acknowledged by <@U1>" in repr(blocks)
    snoozed = AlertCard(
        1,
        "anomaly",
        "t",
        "x",
        date(2026, 10, 15),
        "snoozed",
        snoozed_until=datetime(2026, 10, 16, 9, tzinfo=UTC),
    )
    # In each reader's own time zone (Slack's date token), UTC where a client cannot.
    assert (
        "Snoozed until <!date^1792141200^{date_short_pretty} at {time}|2026-10-16 09:00 UTC>"
        in repr(alert_blocks(snoozed))
    )


def test_nudge_summary_and_home_blocks_fit():
    n = nudge_blocks(
        NudgeCard(
            3,
            "frontier_model",
            "Frontier model on short prompts",
            "ML Platform",
            "Use gpt-4o-mini for chatbot",
            "$120.00",
            "Prompts are short and uniform.",
        )
    )
    assert_within_slack_limits(n)
    assert [e["action_id"] for e in n[-1]["elements"]] == [
        "nudge_snooze_day",
        "nudge_snooze_week",
        "nudge_mute",
    ]
    s = weekly_summary_blocks(
        WeeklySummary(
            "ML Platform",
            "2026-10-05 to 2026-10-11",
            ["$10.00"],
            ["+1.0% vs ..."],
            [("Cost per inference", "$0.01")],
            ["gpt-4o: $9.00"] * 40,
            "Downsize: $50.00 a month",
            "3 of 10 modules done",
        )
    )
    assert_within_slack_limits(s)
    view = home_view(
        HomeData(
            "Alice",
            [HomeTeam("T" * 500, "October 2026", ["$1.00"], "x")] * 60,
            ["a"] * 30,
            "2 modules",
            "https://x",
        )
    )
    assert view["type"] == "home"
    assert_within_slack_limits(view["blocks"])
