"""The program ranking's default schedule: 06:00 UTC on 1 January and 1 July,
a django-celery-beat periodic task that marketers can edit in the admin."""

from django.db import migrations

TASK_NAME = "Program ranking (half-yearly)"


def schedule_create(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="0",
        hour="6",
        day_of_week="*",
        day_of_month="1",
        month_of_year="1,7",
        timezone="UTC",
    )
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "campaigns.programs_rank_scheduled",
            "crontab": crontab,
            "description": "Ranks the programs of the six months just ended.",
        },
    )


def schedule_delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0004_touches"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]
