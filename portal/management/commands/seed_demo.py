from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.demo_people import seed_people


class Command(BaseCommand):
    help = "Create demo teams and one user per role (idempotent); prints the sign-in details."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--people-only", action="store_true", help="teams and users only, no demo data"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = seed_people()
        self.stdout.write(self.style.SUCCESS("Demo accounts (sign in at /accounts/login/):"))
        for u in users:
            roles = ", ".join(r.value for r in u.roles)
            teams = ", ".join(f"{slug} ({role})" for slug, role in u.teams) or "-"
            self.stdout.write(f"  {u.email:<22} {u.password:<20} {roles:<28} teams: {teams}")
        if options["people_only"]:
            return
        for step in self._extensions():
            step(self.stdout)

    def _extensions(self) -> list[Any]:
        """Demo data of later features (usage, learners, rubrics) plug in here."""
        from metrics.synthetic.demo import seed_run_stage, seed_usage
        from portal.demo_hr import seed_hr
        from portal.demo_people import seed_learning

        return [seed_usage, seed_learning, seed_hr, seed_run_stage]
