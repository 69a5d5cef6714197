"""Settings hygiene (#17): settings are read from the environment only in config/settings,
every setting read with a default elsewhere is declared there, and a newcomer's first screen
on SQLite (check, migrate) shows no warning."""

import re
from pathlib import Path

import pytest
from django.conf import global_settings

from config.settings import base
from tests.test_foundation import run_manage

REPO = Path(__file__).resolve().parent.parent
APPS = ("bot", "portal", "curriculum", "metrics", "config")
GETATTR = re.compile(r"getattr\(\s*settings\s*,\s*[\"']([A-Z0-9_]+)[\"']")
ENV_READ = re.compile(
    r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=)|in\s+os\.environ\b"
)


def app_sources():
    for app in APPS:
        for path in sorted((REPO / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_every_setting_read_with_getattr_is_declared_in_config_settings():
    read = {
        (name, path.relative_to(REPO))
        for path in app_sources()
        for name in GETATTR.findall(path.read_text())
    }
    assert read, "the scan found no getattr(settings, ...) at all: is the pattern stale?"
    undeclared = sorted(
        f"{name} ({path})"
        for name, path in read
        if not hasattr(base, name) and not hasattr(global_settings, name)
    )
    assert undeclared == []


def test_the_scan_sees_an_undeclared_setting():
    assert GETATTR.findall('x = getattr(settings, "NOT_A_SETTING", 3)') == ["NOT_A_SETTING"]
    assert not hasattr(base, "NOT_A_SETTING")


def test_nothing_reads_the_environment_outside_config_settings():
    settings_dir = REPO / "config" / "settings"
    readers = [
        str(path.relative_to(REPO))
        for path in app_sources()
        if settings_dir not in path.parents and ENV_READ.search(path.read_text())
    ]
    assert readers == []
    assert ENV_READ.search('os.environ.get("X", "")') and ENV_READ.search('os.environ["X"]')
    assert not ENV_READ.search('os.environ["SITE_URL"] = url')  # writing for child processes


@pytest.mark.parametrize("command", [["check", "--database", "default"], ["migrate", "--no-input"]])
def test_commands_on_sqlite_print_no_warning(command, tmp_path):
    run = run_manage(
        *command,
        env_extra={
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        },
    )
    assert run.returncode == 0, run.stderr
    output = run.stdout + run.stderr
    assert "W040" not in output and "WARNINGS" not in output, output
