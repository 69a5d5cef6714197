"""A team's local "today" (Team.local_today): the one definition budgets, the API and the
bot use."""

from datetime import UTC, date, datetime

from metrics.models import Team


def test_today_is_the_date_in_the_team_time_zone():
    now = datetime(2026, 10, 19, 3, 0, tzinfo=UTC)  # still Sunday in New York
    assert Team(slug="us", time_zone="America/New_York").local_today(now) == date(2026, 10, 18)
    assert Team(slug="de", time_zone="Europe/Berlin").local_today(now) == date(2026, 10, 19)


def test_an_unknown_zone_name_counts_as_utc(caplog):
    now = datetime(2026, 10, 18, 23, 30, tzinfo=UTC)
    team = Team(slug="x", time_zone="Mars/Olympus_Mons")
    assert team.local_today(now) == date(2026, 10, 18)
    assert "unknown time zone" in caplog.text
