"""Connectors against a local fake of the provider APIs: pagination, retries, auth, tasks."""

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest
from django.core.cache import cache

from metrics.ledger.connectors import anthropic as anthropic_connector
from metrics.ledger.connectors import bundle, count_results, day_window
from metrics.ledger.connectors import openai as openai_connector
from metrics.ledger.connectors.http import ProviderClient, ProviderError
from metrics.ledger.sources import anthropic as anthropic_parser
from metrics.ledger.sources import openai as openai_parser
from tests.fakes.providers import FIXTURES, FakeProviders

START = datetime(2025, 3, 3, tzinfo=UTC)
END = datetime(2025, 3, 10, tzinfo=UTC)


@pytest.fixture
def fake(settings):
    with FakeProviders() as fake:
        settings.OPENAI_API_BASE_URL = fake.openai_url
        settings.OPENAI_ADMIN_KEY = "sk-admin-test"
        settings.ANTHROPIC_API_BASE_URL = fake.anthropic_url
        settings.ANTHROPIC_ADMIN_KEY = "sk-ant-admin-test"
        yield fake


@pytest.fixture
def waits():
    """Seconds the client would have slept, instead of sleeping."""
    return []


def fixture_results(name):
    return sum(len(b["results"]) for b in json.loads((FIXTURES / name).read_text())["data"])


def parse_bundle(tmp_path, parser, pages):
    path = tmp_path / "pull.json"
    path.write_bytes(bundle(pages))
    return pd.concat(list(parser.parse(path)), ignore_index=True)


def test_openai_pull_follows_pagination_and_sends_bearer(fake, waits, tmp_path):
    pages = openai_connector.pull_openai(
        START, END, api=openai_connector.client(sleep=waits.append)
    )

    costs = [r for r in fake.requests if r.path.endswith("/organization/costs")]
    assert len(costs) == 2
    assert "page" not in costs[0].query
    assert costs[1].query["page"] == ["page_AAAAAGfakecursor2"]
    assert costs[0].query["group_by"] == ["project_id", "line_item"]
    assert costs[0].query["start_time"] == [str(int(START.timestamp()))]
    # costs (2 pages) + completions (2 pages) + five usage endpoints with one empty page each
    assert len(pages) == 9
    assert {r.headers["authorization"] for r in fake.requests} == {"Bearer sk-admin-test"}
    assert waits == []

    frame = parse_bundle(tmp_path, openai_parser, pages)
    expected = fixture_results("openai_costs_page.json") + fixture_results(
        "openai_usage_completions_grouped.json"
    )
    assert len(frame) == count_results(pages) == expected  # nothing lost, nothing twice


def test_anthropic_pull_sends_api_key_and_version(fake, waits, tmp_path):
    pages = anthropic_connector.pull_anthropic(
        START, END, api=anthropic_connector.client(sleep=waits.append)
    )

    assert len(pages) == 4  # two reports, two pages each
    for request in fake.requests:
        assert request.headers["x-api-key"] == "sk-ant-admin-test"
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in request.headers
    usage = fake.requests[0]
    assert usage.path.endswith("/organizations/usage_report/messages")
    assert usage.query["starting_at"] == ["2025-03-03T00:00:00Z"]
    assert usage.query["group_by[]"] == ["workspace_id", "api_key_id", "model", "service_tier"]
    frame = parse_bundle(tmp_path, anthropic_parser, pages)
    assert len(frame) == fixture_results("anthropic_usage_messages.json") + fixture_results(
        "anthropic_cost_report.json"
    )


def test_429_honours_retry_after_then_succeeds(fake, waits):
    fake.fail_next(429)
    pages = openai_connector.pull_openai(
        START, END, api=openai_connector.client(sleep=waits.append)
    )

    assert waits == [1.0]  # Retry-After: 1, not the (longer) backoff
    assert len(pages) == 9
    assert fake.paths()[0] == fake.paths()[1]  # the same request, asked again


def test_retry_after_is_capped(fake, waits):
    fake.fail_next(429)
    api = openai_connector.client(sleep=waits.append, max_wait=0.5)
    api.get("organization/costs")
    assert waits == [0.5]


def test_5xx_and_connection_errors_are_retried_with_backoff(fake, waits):
    fake.fail_next(503, 500)
    api = openai_connector.client(sleep=waits.append, backoff=2.0)
    body = api.get("organization/costs")

    assert json.loads(body)["object"] == "page"
    assert waits == [2.0, 4.0]
    assert len(fake.requests) == 3


def test_persistent_5xx_fails_with_url_and_status(fake, waits):
    fake.always_status = 502
    api = openai_connector.client(sleep=waits.append, max_attempts=3)
    with pytest.raises(ProviderError) as exc:
        openai_connector.pull_openai(START, END, api=api)

    message = str(exc.value)
    assert f"{fake.openai_url}organization/costs?start_time=" in message
    assert "HTTP 502" in message
    assert "after 3 attempts" in message
    assert len(fake.requests) == 3
    assert waits == [2.0, 4.0]


def test_unreachable_server_fails_clearly(waits):
    api = ProviderClient("http://127.0.0.1:9/v1/", {}, sleep=waits.append, max_attempts=2)
    with pytest.raises(ProviderError, match=r"GET http://127\.0\.0\.1:9/v1/x failed after 2"):
        api.get("x")
    assert waits == [2.0]


def test_bad_key_fails_at_once_without_retries(fake, waits, settings):
    api = ProviderClient(settings.OPENAI_API_BASE_URL, {}, sleep=waits.append)
    with pytest.raises(ProviderError, match=r"HTTP 401.*check the admin API key"):
        api.get("organization/costs")
    assert waits == []
    assert len(fake.requests) == 1


def test_bundle_keeps_the_pages_and_parses_as_one_document(fake, tmp_path):
    pages = openai_connector.pull_openai(START, END)
    doc = json.loads(bundle(pages))
    assert [json.loads(p) for p in pages] == doc
    frame = parse_bundle(tmp_path, openai_parser, pages)
    money = sum(Decimal(v) for v in frame["billed_cost"])
    expected = sum(
        Decimal(str(r["amount"]["value"]))
        for b in json.loads((FIXTURES / "openai_costs_page.json").read_text(), parse_float=Decimal)[
            "data"
        ]
        for r in b["results"]
    )
    assert money == expected


def test_default_window_is_yesterday_and_today():
    start, end = day_window()
    today = datetime.now(UTC).date()
    assert (end - start).days == 2
    assert start.date() < today < end.date()
    assert day_window("2025-03-03", "2025-03-05") == (
        datetime(2025, 3, 3, tzinfo=UTC),
        datetime(2025, 3, 5, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="empty"):
        day_window("2025-03-05", "2025-03-05")


# --- tasks ---------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
def test_pull_task_imports_once_and_a_second_run_changes_nothing(fake, media):
    from metrics.models import CostRecord, ImportBatch
    from metrics.tasks import pull_openai

    pull_openai("2025-03-03", "2025-03-10")
    pull_openai("2025-03-03", "2025-03-10")

    # One import per export kind that had rows: the costs and the completions usage.
    names = sorted(ImportBatch.objects.values_list("file_name", flat=True))
    assert names == [
        "openai-costs-pull-20250303-20250310.json",
        "openai-usage-completions-pull-20250303-20250310.json",
    ]
    assert {b.source for b in ImportBatch.objects.all()} == {"openai"}
    assert CostRecord.objects.count() == fixture_results("openai_costs_page.json") + (
        fixture_results("openai_usage_completions_grouped.json")
    )
    assert cache.get("metrics:lock:pull:openai") is None  # the lock is released


@pytest.mark.django_db
def test_anthropic_task_imports(fake, media):
    from metrics.models import ImportBatch
    from metrics.tasks import pull_anthropic

    pull_anthropic("2025-03-03", "2025-03-10")
    assert ImportBatch.objects.get().source == "anthropic"


def test_pull_task_skips_without_a_key(settings, caplog, monkeypatch):
    from metrics.tasks import pull_anthropic, pull_openai

    settings.OPENAI_ADMIN_KEY = ""
    settings.ANTHROPIC_ADMIN_KEY = ""
    monkeypatch.setattr(openai_connector, "pull_openai", _must_not_run)
    monkeypatch.setattr(anthropic_connector, "pull_anthropic", _must_not_run)
    with caplog.at_level(logging.INFO, logger="metrics.tasks"):
        pull_openai()
        pull_anthropic()
    assert "OPENAI_ADMIN_KEY is not set: skipping the openai pull" in caplog.text
    assert "ANTHROPIC_ADMIN_KEY is not set: skipping the anthropic pull" in caplog.text


@pytest.mark.django_db
def test_pull_task_does_not_overlap_a_running_pull(fake, caplog, monkeypatch):
    from metrics.tasks import pull_openai

    monkeypatch.setattr(openai_connector, "pull_openai", _must_not_run)
    assert cache.add("metrics:lock:pull:openai", "held by another worker", timeout=60)
    try:
        with caplog.at_level(logging.INFO, logger="metrics.tasks"):
            pull_openai()
    finally:
        cache.delete("metrics:lock:pull:openai")
    assert "another openai pull holds the lock" in caplog.text


@pytest.mark.django_db
def test_pull_task_with_no_rows_imports_nothing(fake, caplog, monkeypatch):
    from metrics.tasks import pull_openai

    monkeypatch.setattr("metrics.ledger.ingest.billing_import_bytes", _must_not_run)
    with caplog.at_level(logging.INFO, logger="metrics.tasks"):
        pull_openai("2024-01-01", "2024-01-03")  # before the recorded pages
    assert "no usage or cost rows" in caplog.text


def test_pull_tasks_are_scheduled_hourly():
    from metrics.schedules import PERIODIC_TASKS

    tasks = {task: seconds for task, seconds in PERIODIC_TASKS.values()}
    assert tasks["metrics.pull_openai"] == 3600
    assert tasks["metrics.pull_anthropic"] == 3600


def _must_not_run(*args, **kwargs):
    raise AssertionError("must not be called")


@pytest.mark.django_db
def test_one_failing_endpoint_does_not_discard_the_others_and_is_reported(
    fake, media, settings, waits, monkeypatch
):
    from metrics.ledger.connector_status import connections
    from metrics.models import Alert, CostRecord, ImportBatch
    from metrics.tasks import pull_openai

    monkeypatch.setattr("metrics.ledger.connectors.http.time.sleep", waits.append, raising=False)
    fake.path_status["/openai/v1/organization/usage/images"] = 500
    pull_openai("2025-03-03", "2025-03-10")
    # The costs and the completions were imported although images failed.
    assert ImportBatch.objects.count() == 2
    assert CostRecord.objects.count() == fixture_results("openai_costs_page.json") + (
        fixture_results("openai_usage_completions_grouped.json")
    )
    status = {(c.source, c.kind): c for c in connections()}
    images = status[("openai", "usage/images")]
    assert images.failures == 1 and "500" in images.last_error and images.last_success_at is None
    costs = status[("openai", "costs")]
    assert costs.failures == 0 and costs.last_success_at is not None and costs.last_rows > 0
    assert not Alert.objects.exists()  # one failure is not yet worth a Slack alert
    pull_openai("2025-03-03", "2025-03-10")
    pull_openai("2025-03-03", "2025-03-10")
    (alert,) = Alert.objects.all()
    assert alert.kind == "connector" and alert.team is None
    assert alert.title.startswith("The OpenAI usage/images pull failed 3 times in a row")
    pull_openai("2025-03-03", "2025-03-10")
    assert Alert.objects.count() == 1  # once per failing streak
    del fake.path_status["/openai/v1/organization/usage/images"]
    pull_openai("2025-03-03", "2025-03-10")
    assert {(c.kind, c.failures) for c in connections()} >= {("usage/images", 0)}


@pytest.mark.django_db
def test_connections_page_for_finops_admins(client, people):
    from metrics.ledger.connector_status import record_failure, record_success

    record_success("openai", "costs", 12)
    record_failure("openai", "usage/images", "ProviderError: GET .../usage/images: 500")
    client.force_login(people["engineer"])
    assert client.get("/connections/").status_code == 403
    client.force_login(people["admin"])
    page = client.get("/connections/").content.decode()
    assert "usage/images" in page and "ProviderError: GET .../usage/images: 500" in page
    assert "costs" in page and ">12<" in page
