"""MEDIA_ROOT comes from the environment, so two instances on one machine never share files."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def media_root(env_value: str | None) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    env.pop("MEDIA_ROOT", None)
    if env_value is not None:
        env["MEDIA_ROOT"] = env_value
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); "
            "from django.conf import settings; print(settings.MEDIA_ROOT)",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_media_root_from_the_environment(tmp_path):
    assert media_root(str(tmp_path / "instance-b")) == str(tmp_path / "instance-b")
    assert media_root(None) == str(REPO / "var" / "media")
