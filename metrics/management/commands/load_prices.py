from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.economics.pricing.catalog_file import DEFAULT_CATALOG, CatalogError, prices_load


class Command(BaseCommand):
    help = (
        "Load the model price catalog (metrics/data/model_prices.yaml by default) into the "
        "database: upsert by provider, model and effective date. Idempotent; changed prices "
        "re-price the ledger in the background."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=DEFAULT_CATALOG, metavar="PATH")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            result = prices_load(path=path)
        except CatalogError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{path.name}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
