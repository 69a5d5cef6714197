"""Money columns become unconstrained NUMERIC on PostgreSQL (exact source precision)."""

from django.db import migrations


def to_unconstrained_numeric(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite stores exact decimal text already
    from metrics.fields import ExactDecimalField

    for model in apps.get_app_config("metrics").get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, ExactDecimalField):
                schema_editor.execute(
                    f'ALTER TABLE "{model._meta.db_table}" ALTER COLUMN "{field.column}" TYPE numeric'
                )


class Migration(migrations.Migration):
    dependencies = [("metrics", "0005_costrecord_bulk_friendly")]
    operations = [migrations.RunPython(to_unconstrained_numeric, migrations.RunPython.noop)]
