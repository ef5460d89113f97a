"""docs/operations.md's settings table is the one list of the settings: every
variable config/settings.py reads is in it, and it lists nothing else."""

from __future__ import annotations

import re

from django.conf import settings

SETTINGS_MODULE = settings.BASE_DIR / "config" / "settings.py"
OPERATIONS = settings.BASE_DIR / "docs" / "operations.md"


def _read_by_settings() -> set[str]:
    return set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', SETTINGS_MODULE.read_text()))


def _documented() -> set[str]:
    text = OPERATIONS.read_text()
    table = text[text.index("### Settings") :]
    table = table[: table.index("\n## ")]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_setting_read_from_the_environment_is_documented_and_nothing_else() -> None:
    read, documented = _read_by_settings(), _documented()
    assert len(read) > 30  # the reading pattern still finds the settings
    assert read - documented == set(), "read by config/settings.py, missing from the table"
    assert documented - read == set(), "in the table, read by nothing"
