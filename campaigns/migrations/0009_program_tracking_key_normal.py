"""Programs' tracking keys stored as the tracker stores the keys it receives
(trimmed, lower-cased), then a check that keeps them so.

A key entered with capitals or spaces through the API, the admin or an older
release never matched any activity (the tracker lower-cases what it receives),
so such a program had no touches, no influenced pipeline and no spend matched
by key. Each such key is rewritten in the normal form; where another program
holds that form already, the program's id is appended ("q1-webinar-42") so
that the unique key stays unique, and the migration prints which programs it
renamed. The rewritten programs' touches appear at the next daily touches
recompute (docs/operations.md, "Upgrading").
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models.functions import Lower, Trim

MAX_TRACKING_KEY = 200


def _normal(value: str) -> str:
    # engagement.tracking.tracking_key_normal as of this migration: a
    # migration keeps its own copy of the rule it applied.
    return value.strip().lower()


def keys_normalise(apps: Any, schema_editor: Any) -> None:
    program = apps.get_model("campaigns", "Program")
    rows = list(program.objects.order_by("id").values_list("id", "tracking_key"))
    taken = {key for _, key in rows if key == _normal(key)}
    for pk, key in rows:
        normal = _normal(key)
        if normal == key:
            continue
        candidate, tries = normal, 0
        while not candidate or candidate in taken:
            tries += 1
            suffix = f"-{pk}" if tries == 1 else f"-{pk}-{tries}"
            candidate = (normal or "program")[: MAX_TRACKING_KEY - len(suffix)] + suffix
        if candidate != normal:
            print(  # a note to whoever upgrades
                f"\n  program {pk}: tracking key {key!r} is now {candidate!r} "
                f"({normal!r} is another program's key)"
            )
        taken.add(candidate)
        program.objects.filter(pk=pk).update(tracking_key=candidate)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_ranking_entry_lift"),
    ]

    operations = [
        migrations.RunPython(keys_normalise, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="program",
            constraint=models.CheckConstraint(
                condition=models.Q(("tracking_key", Lower(Trim("tracking_key")))),
                name="program_tracking_key_normal",
                violation_error_message="A program's tracking key is stored trimmed and "
                "lower-case, as the tracker stores the keys it receives.",
            ),
        ),
    ]
