"""The ledger's id sequence hands out ids 1000 at a time per connection (PostgreSQL).

A COPY calls nextval() once per row; with the default cache of 1 each call locks and
updates the sequence (and writes WAL every 32 values): about 4% of the server's time of a
COPY into metrics_costrecord. The price: ids of different connections interleave and a
connection's unused ids are skipped. Nothing reads meaning into a record's id.
"""

from typing import Any

from django.db import migrations


def _cache(size: int) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE metrics_costrecord ALTER COLUMN id SET CACHE {size}"
            )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0012_costrecord_lean_indexes"),
    ]

    operations = [migrations.RunPython(_cache(1000), _cache(1))]
