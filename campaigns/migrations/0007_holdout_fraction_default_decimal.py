"""The holdout fraction's default as a Decimal (10%): the float 0.1 failed the
field's own validation, so POST /api/campaigns/ without it answered 400."""

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0006_ranking_too_early"),
    ]

    operations = [
        migrations.AlterField(
            model_name="campaign",
            name="holdout_fraction",
            field=models.DecimalField(decimal_places=3, default=Decimal("0.100"), max_digits=4),
        ),
    ]
