"""`python manage.py demo`: migrate, seed, then run web, Celery worker and beat together."""

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def demo_site_url(host: str, port: int) -> str:
    """The address links should carry for a demo on host:port: SITE_URL when the environment
    (or .env) sets it, otherwise http://host:port (a wildcard host becomes 127.0.0.1)."""
    if settings.SITE_URL_FROM_ENV:
        return str(settings.SITE_URL).rstrip("/")
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
    return f"http://{shown}:{port}"


class Command(BaseCommand):
    help = "Run the whole product locally: web on 127.0.0.1:8000, a Celery worker and beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--setup-only", action="store_true", help="migrate and seed, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if not options["setup_only"] and not port_is_free(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use. Stop whatever is listening there "
                f"(e.g. `lsof -i :{port}`) or run `python manage.py demo --port 8001`."
            )
        # Before seeding: carol's demo credential carries SITE_URL in its issuer and ids.
        site_url = demo_site_url(host, port)
        os.environ["SITE_URL"] = site_url  # inherited by web, worker and beat
        settings.SITE_URL = site_url
        self.stdout.write(f"SITE_URL: {site_url}")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        call_command("collectstatic", interactive=False, verbosity=0)
        available = get_commands()
        for name in ("sync_curriculum", "sync_rubrics", "seed_demo"):
            if name in available:
                call_command(name, stdout=self.stdout)
        if options["setup_only"]:
            return
        self._run(host, port)

    @staticmethod
    def process_environment() -> dict[str, str]:
        """The web, worker and beat processes run the settings this command runs (local by
        default): their entry points alone would default to production."""
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": str(settings.SETTINGS_MODULE),
        }

    def _run(self, host: str, port: int) -> None:
        python = sys.executable
        env = self.process_environment()
        procs = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
            "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"],
        }
        # Fixed argument lists built above, no user input: S603 does not apply.
        running = {name: subprocess.Popen(cmd, env=env) for name, cmd in procs.items()}  # noqa: S603
        self.stdout.write(
            self.style.SUCCESS(
                f"AI FinOps is running at http://{host}:{port}/ (admin: /admin/, API: /api/v1/, "
                f"health: /healthz). Broker: {settings.CELERY_BROKER_URL.split(':')[0]}. "
                "Ctrl-C stops."
            )
        )
        try:
            while all(p.poll() is None for p in running.values()):
                time.sleep(0.5)
            dead = [n for n, p in running.items() if p.poll() is not None]
            raise CommandError(f"{', '.join(dead)} stopped unexpectedly; see the log above.")
        except KeyboardInterrupt:
            self.stdout.write("Stopping...")
        finally:
            for p in running.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in running.values():
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
