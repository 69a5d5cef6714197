import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from metrics.models import Team, TeamMembership
from portal.roles import Role, ensure_role_groups

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


@pytest.fixture
def teams(db):
    ensure_role_groups()
    return {
        slug: Team.objects.create(slug=slug, name=slug.title())
        for slug in ("ml-platform", "search", "support-assistant")
    }


def make_user(django_user_model, email, *roles, team=None, lead=False):
    user = django_user_model.objects.create_user(
        username=email, email=email, password="pw-" + email
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role.value))
    if team is not None:
        TeamMembership.objects.create(
            team=team,
            user=user,
            role=TeamMembership.Role.LEAD if lead else TeamMembership.Role.MEMBER,
        )
    return user


@pytest.fixture
def people(teams, django_user_model):
    """Standing users for permission tests: one per role, with a teammate and an outsider."""
    return {
        "engineer": make_user(
            django_user_model, "alice@example.com", Role.LEARNER, team=teams["ml-platform"]
        ),
        "teammate": make_user(
            django_user_model, "dan@example.com", Role.LEARNER, team=teams["ml-platform"]
        ),
        "outsider": make_user(
            django_user_model, "bob@example.com", Role.LEARNER, team=teams["search"]
        ),
        "lead": make_user(
            django_user_model,
            "lead@example.com",
            Role.TEAM_LEAD,
            team=teams["ml-platform"],
            lead=True,
        ),
        "hr": make_user(django_user_model, "hr@example.com", Role.HR),
        "admin": make_user(django_user_model, "finops@example.com", Role.FINOPS_ADMIN),
    }


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
