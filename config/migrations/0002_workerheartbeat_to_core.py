# WorkerHeartbeat moved to core with its table (core/migrations/0001_initial.py
# takes it into core's state): drop it from config's state only, keeping the
# table config_workerheartbeat and its rows.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0001_initial"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="WorkerHeartbeat")],
            database_operations=[],
        ),
    ]
