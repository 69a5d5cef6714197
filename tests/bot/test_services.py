"""answer_question: the one service behind every entry point, on a ledger of known totals."""

import re
from datetime import UTC, date

from bot.blocks.answers import answer_blocks, answer_text
from bot.services import answer_question
from tests.bot.conftest import TODAY, dollars, expected

LAST_WEEK = (date(2026, 10, 5), date(2026, 10, 12))


def ask(user, text, **kw):
    return answer_question(user=user, text=text, today=TODAY, **kw)


def test_my_team_last_week(ledger, people):
    answer = ask(people["engineer"], "what did my team spend last week?")
    assert answer.kind == "spend"
    total = expected(teams={"ml-platform"}, start=LAST_WEEK[0], end=LAST_WEEK[1])
    assert answer.report.totals == {"USD": total}
    assert answer.scope_label == "Ml-Platform"
    assert dollars(total) in answer_text(answer)


def test_change_against_the_previous_equal_period(ledger, people):
    answer = ask(people["engineer"], "spend last week")
    before = expected(teams={"ml-platform"}, start=date(2026, 9, 28), end=LAST_WEEK[0])
    assert answer.report.previous_totals == {"USD": before}
    now = answer.report.totals["USD"]
    text = answer_text(answer)
    assert f"{(now - before) / before * 100:+.1f}%" in text
    assert "2026-09-28 to 2026-10-04" in text


def test_billed_cost(ledger, people):
    answer = ask(people["engineer"], "billed spend last week")
    total = expected(teams={"ml-platform"}, start=LAST_WEEK[0], end=LAST_WEEK[1], billed=True)
    assert answer.report.totals == {"USD": total}
    assert "Billed cost" in answer_text(answer)


def test_provider_and_model_filters(ledger, people):
    a = ask(people["engineer"], "spend on anthropic last week")
    assert a.report.totals["USD"] == expected(
        teams={"ml-platform"}, start=LAST_WEEK[0], end=LAST_WEEK[1], provider="anthropic"
    )
    b = ask(people["engineer"], "spend on gpt-4o last week")
    assert b.report.totals["USD"] == expected(
        teams={"ml-platform"}, start=LAST_WEEK[0], end=LAST_WEEK[1], model="gpt-4o"
    )
    c = ask(people["engineer"], "spend on claude last week")
    assert c.report.totals["USD"] == expected(
        teams={"ml-platform"}, start=LAST_WEEK[0], end=LAST_WEEK[1], model="claude"
    )


def test_top_models_applications_unit_costs_and_carbon(ledger, people):
    answer = ask(people["engineer"], "spend yesterday")
    text = answer_text(answer)
    day = date(2026, 10, 14)
    assert "gpt-4o: $14.25" in text and "claude-sonnet-4-5: $5.10" in text
    assert "chatbot: $14.25" in text and "summarizer: $5.10" in text
    # 19.35 over 15 requests; tokens 1500 + 200 cached + 150 output
    assert "Cost per inference: $1.29 over 15 requests" in text
    assert "Tokens: 1,500 input, 200 cached, 150 output" in text
    assert "Carbon: 1.5 g to 4.5 g CO2e (estimate)" in text
    assert answer.report.totals["USD"] == expected(teams={"ml-platform"}, start=day, end=TODAY)


def test_budget_status_is_this_month_against_the_budget(ledger, people, budget):
    answer = ask(people["engineer"], "spend yesterday")
    month = expected(teams={"ml-platform"}, start=date(2026, 10, 1), end=date(2026, 10, 16))
    assert answer.budgets[0].spent == month
    assert (
        f"Budget Ml-Platform: {dollars(month)} of $1,000.00 in October 2026 ({month / 10:.1f}%)"
        in answer_text(answer)
    )


def test_no_budget_no_budget_line(ledger, people):
    assert "Budget" not in answer_text(ask(people["engineer"], "spend yesterday"))


def test_portal_link(ledger, people, settings):
    settings.SITE_URL = "https://finops.example.com"
    answer = ask(people["engineer"], "billed spend last week on openai")
    assert answer.portal_url == (
        "https://finops.example.com/dashboard/?team=ml-platform&start=2026-10-05&end=2026-10-11"
        "&provider=openai&cost=billed"
    )


def test_named_team_visible_to_its_lead_and_admin(ledger, people):
    for who in ("lead", "admin"):
        answer = ask(people[who], "ml-platform spend in September")
        assert answer.kind == "spend"
        assert answer.report.totals["USD"] == expected(
            teams={"ml-platform"}, start=date(2026, 9, 1), end=date(2026, 10, 1)
        )


def test_refusal_for_another_team_shows_no_numbers(ledger, people):
    answer = ask(people["outsider"], "what did ml-platform spend last week?")
    assert answer.kind == "refusal" and answer.report is None
    total = expected(teams={"ml-platform"}, start=LAST_WEEK[0], end=LAST_WEEK[1])
    rendered = answer_text(answer) + repr(answer_blocks(answer))
    assert "may not see the spend of Ml-Platform" in rendered
    assert not re.search(r"\d", answer.message)
    for digits in {f"{total:.2f}", f"{total:,.2f}", str(int(total))}:
        assert digits not in rendered


def test_refusal_for_a_team_mixed_with_own(ledger, people):
    answer = ask(people["engineer"], "spend for ml-platform and search last week")
    assert answer.kind == "refusal" and not re.search(r"\d", answer.message)


def test_whole_org_only_for_finops_admins(ledger, people):
    refused = ask(people["engineer"], "what did the whole org spend last week")
    assert refused.kind == "refusal" and not re.search(r"\d", refused.message)
    answer = ask(people["admin"], "what did the whole org spend last week")
    assert answer.report.totals["USD"] == expected(start=LAST_WEEK[0], end=LAST_WEEK[1])
    assert "Unallocated (no team): $21.00" in answer_text(answer)


def test_admin_without_a_team_gets_the_organization_by_default(ledger, people):
    answer = ask(people["admin"], "spend last week")
    assert answer.scope_label == "the whole organization"


def test_person_without_a_team(ledger, people):
    answer = ask(people["hr"], "what did my team spend last week")
    assert answer.kind == "refusal" and "not a member of any team" in answer.message


def test_unknown_slack_user_is_refused(ledger):
    answer = answer_question(user=None, text="spend last week", today=TODAY)
    assert answer.kind == "refusal" and "can't match your Slack account" in answer.message


def test_clarification_offers_the_closest_question(ledger, people):
    answer = ask(people["engineer"], "what did ml-platfrom spend lst week?")
    assert answer.kind == "clarify" and answer.report is None
    text = answer_text(answer)
    assert "I don't know 'ml-platfrom', 'lst', 'week'." in text
    assert "ml-platform" not in text  # never a look-alike substitution
    assert 'Questions I can answer: "what did my team spend last week?"' in text


def test_model_names_come_from_the_ledger(ledger, people):
    answer = ask(people["outsider"], "spend on gpt-4o-mini last week")
    assert answer.kind == "spend"
    assert answer.report.totals["USD"] == expected(
        teams={"search"}, start=LAST_WEEK[0], end=LAST_WEEK[1], model="gpt-4o-mini"
    )


def test_help(ledger, people):
    assert ask(people["engineer"], "help").kind == "help"
    assert "/finops spend" in answer_text(ask(people["engineer"], ""))


def test_empty_period_says_zero(ledger, people):
    answer = ask(people["engineer"], "spend in January")
    assert answer.kind == "spend" and answer.report.is_empty
    assert "$0.00" in answer_text(answer)


def test_today_defaults_to_the_team_time_zone(ledger, people, teams, monkeypatch):
    from datetime import datetime

    teams["ml-platform"].time_zone = "Pacific/Auckland"
    teams["ml-platform"].save()
    # 2026-10-15 13:00 UTC is already 2026-10-16 in Auckland
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: datetime(2026, 10, 15, 13, 0, tzinfo=UTC)
    )
    answer = answer_question(user=people["engineer"], text="spend yesterday")
    assert answer.question.period.start == date(2026, 10, 15)
