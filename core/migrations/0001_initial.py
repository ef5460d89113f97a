# The worker heartbeat moved here from config with its table and rows: config's
# 0001 created config_workerheartbeat, this migration only takes the model into
# core's state (no SQL), and config's 0002 drops it from config's state.

from typing import Any

from django.db import migrations, models


def _content_type_relabel(apps: Any, schema_editor: Any, *, old: str, new: str) -> None:
    # Keep the admin permissions and log entries that point at the model.
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.using(schema_editor.connection.alias).filter(
        app_label=old, model="workerheartbeat"
    ).update(app_label=new)


def _content_type_to_core(apps: Any, schema_editor: Any) -> None:
    _content_type_relabel(apps, schema_editor, old="config", new="core")


def _content_type_to_config(apps: Any, schema_editor: Any) -> None:
    _content_type_relabel(apps, schema_editor, old="core", new="config")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("config", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="WorkerHeartbeat",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("hostname", models.CharField(max_length=255, unique=True)),
                        ("seen_at", models.DateTimeField()),
                    ],
                    options={"db_table": "config_workerheartbeat"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_type_to_core, _content_type_to_config),
    ]
