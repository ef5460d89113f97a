"""Existing plain-text tokens (rest_framework.authtoken) become hashed ApiTokens
with the same key, so API clients keep working, and the plain keys are deleted."""

import hashlib

from django.db import migrations


def tokens_hash(apps, schema_editor):
    plain_model = apps.get_model("authtoken", "Token")
    hashed_model = apps.get_model("accounts", "ApiToken")
    for plain in plain_model.objects.all():
        hashed_model.objects.create(
            user_id=plain.user_id,
            name="from the plain-text token",
            key_hash=hashlib.sha256(plain.key.encode()).hexdigest(),
            prefix=plain.key[:8],
        )
    plain_model.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_api_tokens_hashed"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    # Not reversible: the plain keys are gone, which is the point.
    operations = [migrations.RunPython(tokens_hash, migrations.RunPython.noop)]
