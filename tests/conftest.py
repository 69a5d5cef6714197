import os
from pathlib import Path

import pytest

from metrics.models import Team
from portal.roles import Role, ensure_role_groups
from tests.factories import TeamFactory, UserFactory

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FINOPS_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the checkout: required in CI, skipped with a message elsewhere."""
    if not (SHARED / "data").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing: CI runs with ../shared beside the checkout")
        pytest.skip(f"{SHARED} not found; set FINOPS_SHARED_DIR to run tests on shared data")
    return SHARED


TEAM_SLUGS = ("ml-platform", "search", "support-assistant")


def create_teams() -> dict[str, Team]:
    ensure_role_groups()
    return {slug: TeamFactory(slug=slug) for slug in TEAM_SLUGS}


@pytest.fixture
def teams(db):
    return create_teams()


def create_people(teams: dict[str, Team]) -> dict:
    """Standing users for permission tests: one per role, with a teammate and an outsider."""
    ml = teams["ml-platform"]
    return {
        "engineer": UserFactory(email="alice@example.com", roles=[Role.LEARNER], team=ml),
        "teammate": UserFactory(email="dan@example.com", roles=[Role.LEARNER], team=ml),
        "outsider": UserFactory(
            email="bob@example.com", roles=[Role.LEARNER], team=teams["search"]
        ),
        "lead": UserFactory(
            email="lead@example.com", roles=[Role.TEAM_LEAD], team=ml, team__lead=True
        ),
        "hr": UserFactory(email="hr@example.com", roles=[Role.HR]),
        "admin": UserFactory(email="finops@example.com", roles=[Role.FINOPS_ADMIN]),
    }


@pytest.fixture
def people(teams):
    """Standing users for permission tests: one per role, with a teammate and an outsider."""
    return create_people(teams)


@pytest.fixture
def fake_slack(settings):
    """Point the bolt App at a local fake Slack; the App is rebuilt around the test."""
    from bot.slack_app import reset_app
    from tests.fakes.slack import FakeSlack

    with FakeSlack() as fake:
        settings.SLACK_API_BASE_URL = fake.url
        settings.SLACK_SIGNING_SECRET = "test-signing-secret"
        settings.SLACK_BOT_TOKEN = "xoxb-test-token"
        reset_app()
        yield fake
    reset_app()
