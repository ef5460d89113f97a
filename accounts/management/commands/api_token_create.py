"""`manage.py api_token_create USERNAME [--name NAME]`: a new API token, its key
printed once (only its hash is stored)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.api_tokens import api_token_create


class Command(BaseCommand):
    help = "Make an API token for a user and print its key (shown this once only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        token, key = api_token_create(user_id=user.pk, name=options["name"])
        self.stdout.write(
            f"Token {token.prefix}… for {user.get_username()}: send\n"
            f"  Authorization: Token {key}\n"
            "The key is not stored and cannot be shown again."
        )
