"""`manage.py junk_rules_apply`: re-apply the junk rules to every contact."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from engagement.services.junk import junk_rules_apply


class Command(BaseCommand):
    help = (
        "Apply the junk rules (built-in lists plus the admin's junk rules) to every contact "
        "not reviewed by hand, and let their activity follow."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = junk_rules_apply()
        self.stdout.write(
            f"{result.contacts_changed} contacts changed junk status; "
            f"{result.activities_updated} of their activities updated."
        )
