"""The spend dashboard answers from the same query layer as the bot and the API, scoped."""

from datetime import date

from tests.factories import DailyCostFactory


def test_engineer_sees_own_team_total_and_not_others(client, people, teams):
    DailyCostFactory(team=teams["ml-platform"], day=date(2026, 10, 5), cost="12.34")
    DailyCostFactory(team=teams["ml-platform"], day=date(2026, 10, 6), cost="7.66")
    DailyCostFactory(team=teams["search"], day=date(2026, 10, 5), cost="999.99")
    client.force_login(people["engineer"])
    page = client.get("/dashboard/?start=2026-10-01&end=2026-10-31").content.decode()
    assert "$20.00" in page and "999.99" not in page
    # Another team is answered like a team that does not exist (as the API does).
    assert client.get("/dashboard/?team=search").status_code == 404


def test_admin_sees_the_organization_and_unallocated(client, people, teams):
    DailyCostFactory(team=teams["search"], day=date(2026, 10, 5), cost="5")
    DailyCostFactory(team=None, day=date(2026, 10, 5), cost="3")
    client.force_login(people["admin"])
    page = client.get("/dashboard/?start=2026-10-01&end=2026-10-31").content.decode()
    assert "$8.00" in page
    org = client.get("/dashboard/org/?start=2026-10-01&end=2026-10-31").content.decode()
    unallocated = org.split('id="h-unalloc"')[1].split("</section>")[0]
    assert "$3.00" in unallocated and "37.5% of the total" in unallocated


def test_bad_dates_fall_back_to_month_to_date(client, people, teams):
    client.force_login(people["engineer"])
    assert client.get("/dashboard/?start=nonsense&end=2026-99-99").status_code == 200


def test_portal_filters_are_the_spend_filters_with_a_stack_and_a_year_at_most():
    from django.http import QueryDict

    from portal.views.spend import Filters

    today = date(2026, 10, 16)
    year = Filters.parse(QueryDict("start=2025-10-16&end=2026-10-17&stack=model"), today)
    assert (year.start, year.end, year.stack) == (date(2025, 10, 16), date(2026, 10, 17), "model")
    assert Filters.parse(QueryDict(year.url("/").split("?")[1]), today) == year
    longer = Filters.parse(QueryDict("start=2025-10-15&end=2026-10-17"), today)
    assert (longer.start, longer.end) == (date(2026, 10, 1), today)  # the month to date
    assert Filters.parse(QueryDict("stack=bars"), today).stack == "provider"
