"""The readiness models' default schedule: 04:00 UTC on the 2nd of every month
(the month end's snapshots are in by then), a django-celery-beat periodic task
that can be edited in the admin."""

from django.db import migrations

TASK_NAME = "Readiness models (monthly)"


def schedule_create(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="0",
        hour="4",
        day_of_week="*",
        day_of_month="2",
        month_of_year="*",
        timezone="UTC",
    )
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "readiness.models_train_scheduled",
            "crontab": crontab,
            "description": "Retrains every active segment's readiness model on the history to date.",
        },
    )


def schedule_delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("readiness", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]
