"""gpu_hours gets a database default of 0, as the token counts have.

An import leaves out of its COPY a column that holds only its database default in a chunk
(metrics.ledger.ingest._db_table): most billing files have no GPU hours, and each field a COPY
sends costs the server a receive call per row (about 3% of its time on the benchmark's file).
"""

from django.db import migrations

import metrics.fields


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0014_costrecord_batch_brin"),
    ]

    operations = [
        migrations.AlterField(
            model_name="costrecord",
            name="gpu_hours",
            field=metrics.fields.ExactDecimalField(
                db_default=0, decimal_places=12, default=0, max_digits=30
            ),
        ),
    ]
