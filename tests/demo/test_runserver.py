"""`make run` ends with the address and the demo logins, after the server's banner."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import get_commands
from django.db import connection

from demo.management.commands.runserver import Command
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _bound_output(*, addr: str = "127.0.0.1", port: int = 8123) -> list[str]:
    command = Command(stdout=StringIO())
    command.addr, command._raw_ipv6, command.protocol = addr, False, "http"
    command.on_bind(port)
    return command.stdout._out.getvalue().splitlines()  # type: ignore[attr-defined]


def test_manage_py_runserver_is_the_one_that_prints_the_logins() -> None:
    assert get_commands()["runserver"] == "demo"


def test_the_last_lines_are_the_address_and_the_logins_of_demo_users_that_exist() -> None:
    UserFactory(username="marketer")
    UserFactory(username="sales")
    UserFactory(username="someone-else")

    lines = _bound_output(port=8123)

    assert lines[-4:] == [
        "Engage is ready: open http://127.0.0.1:8123/",
        "Demo logins (username / password, role):",
        "  marketer / demo-marketer   Marketer",
        "  sales    / demo-sales      Sales",
    ]
    # Django's own banner (with its address) comes first.
    assert any("Starting development server at http://127.0.0.1:8123/" in line for line in lines)


def test_without_demo_users_only_the_address_ends_the_output() -> None:
    lines = _bound_output(addr="0", port=9000)
    assert lines[-1] == "Engage is ready: open http://0.0.0.0:9000/"


@pytest.mark.django_db(transaction=True)
def test_an_unmigrated_database_still_serves_and_prints_the_address() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE auth_user RENAME TO auth_user_hidden")
    try:
        lines = _bound_output(port=8124)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE auth_user_hidden RENAME TO auth_user")
    assert lines[-1] == "Engage is ready: open http://127.0.0.1:8124/"
