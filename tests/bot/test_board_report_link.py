"""The first weekly summary of a month links last month's stored board report (through the
fake Slack, as posted); later summaries of the month do not."""

import json
from datetime import UTC, date, datetime

import pytest

from bot.summaries import weekly_summaries_post
from portal.models import BoardReport


@pytest.fixture
def channel(teams):
    ml = teams["ml-platform"]
    ml.slack_channel_id, ml.time_zone = "C0MLP", "UTC"
    ml.save()
    return ml


def test_first_summary_of_the_month_links_the_board_report(slack, channel, settings):
    settings.SITE_URL = "https://finops.example.com"
    BoardReport.objects.create(month=date(2026, 10, 1), pdf=b"%PDF-1.7", pptx=b"PK")
    # Monday 2026-11-02: the first summary of November.
    assert weekly_summaries_post(now=datetime(2026, 11, 2, 9, 5, tzinfo=UTC)) == 1
    first = json.dumps(slack.of("chat.postMessage")[-1]["blocks"])
    url = "https://finops.example.com/dashboard/org/board-report/?month=2026-10&format=pdf"
    assert f"<{url}|October 2026 (PDF)> is ready." in first
    # Monday 2026-11-09: not the first of the month, no link.
    assert weekly_summaries_post(now=datetime(2026, 11, 9, 9, 5, tzinfo=UTC)) == 1
    assert "Board report" not in json.dumps(slack.of("chat.postMessage")[-1]["blocks"])


def test_no_link_without_a_stored_report(slack, channel):
    assert weekly_summaries_post(now=datetime(2026, 11, 2, 9, 5, tzinfo=UTC)) == 1
    assert "Board report" not in json.dumps(slack.of("chat.postMessage")[-1]["blocks"])
