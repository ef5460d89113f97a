"""One small typed reader for settings that come from the environment.

Values come from the process environment, then from the project's `.env` file
(KEY=VALUE lines, read by python-dotenv; the environment wins). `make run`
writes a generated SECRET_KEY there, so that every `manage.py` command a new
user types in any shell runs with the same settings as the server. ENV_FILE
names another file; ENV_FILE=/dev/null reads none.

Every getter raises ImproperlyConfigured naming the variable and the bad value,
so a typo in a deployment fails start-up loudly instead of running with a
silently wrong setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvReader:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        return None if value is None else value.strip()

    def is_set(self, name: str) -> bool:
        return bool(self._raw(name))

    def string(self, name: str, default: str = "") -> str:
        value = self._raw(name)
        return default if value is None or value == "" else value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off."
        )

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._raw(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}.")
        return number

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self._raw(name)
        if value is None or value == "":
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(name, default)
        if value not in choices:
            raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(choices)}.")
        return value

    def url(self, name: str, default: str = "", *, schemes: tuple[str, ...]) -> str:
        value = self.string(name, default)
        if value and value.split("://", 1)[0] not in schemes:
            raise ImproperlyConfigured(
                f"{name}={value!r} must be a URL starting with one of: "
                + ", ".join(f"{scheme}://" for scheme in schemes)
            )
        return value


def environment_with_file(environ: Mapping[str, str], path: Path) -> dict[str, str]:
    """`environ` over the KEY=VALUE lines of `path` (missing: none)."""
    from_file = {key: value for key, value in dotenv_values(path).items() if value is not None}
    return {**from_file, **environ}


_PROJECT_ENV_FILE = Path(__file__).resolve().parent.parent / ".env"
env = EnvReader(
    environment_with_file(os.environ, Path(os.environ.get("ENV_FILE") or _PROJECT_ENV_FILE))
)
