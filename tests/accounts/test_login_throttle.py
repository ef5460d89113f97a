"""Sign-in throttling (issue 18: 30 wrong passwords, then the right one, was
accepted at once): failures are recorded and, past 5 for an account or 20
from an address in 15 minutes, a sign-in is refused with how long to wait,
even with the right password."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.test import Client

from accounts.models import LoginFailure
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-one"


def sign_in(client: Client, username: str, password: str, *, path: str = "/login/") -> str:
    answer = client.post(path, {"username": username, "password": password})
    if answer.status_code == 302:
        return "signed in"
    assert answer.status_code == 200
    errors = answer.context["form"].non_field_errors()
    return " ".join(errors)


@pytest.fixture
def ada() -> None:
    UserFactory.create(username="ada", password=PASSWORD, groups=["Marketer"])
    UserFactory.create(username="bob", password=PASSWORD, groups=["Marketer"])


def test_four_failures_then_the_right_password_signs_in(ada: None) -> None:
    client = Client()
    for _ in range(4):
        assert "correct username and password" in sign_in(client, "ada", "wrong")
    assert sign_in(client, "ada", PASSWORD) == "signed in"


def test_five_failures_lock_the_account_even_for_the_right_password(ada: None) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, "ada", "wrong")
    refused = sign_in(client, "ada", PASSWORD)
    assert refused == "Too many failed sign-ins for this account: try again in 15 minutes."
    # Every failure is recorded, with where it came from (the refusal is not one).
    assert (
        list(LoginFailure.objects.values_list("username", "address")) == [("ada", "127.0.0.1")] * 5
    )
    # Another account from the same address is not locked by ada's failures.
    assert sign_in(Client(), "bob", PASSWORD) == "signed in"


def test_the_lock_ends_when_the_fifth_failure_leaves_the_15_minute_window(ada: None) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, "ada", "wrong")
    # Moved back 11 minutes: the lock has 4 left.
    LoginFailure.objects.update(at=F("at") - dt.timedelta(minutes=11))
    assert sign_in(client, "ada", PASSWORD).endswith("try again in 4 minutes.")
    LoginFailure.objects.update(at=F("at") - dt.timedelta(minutes=5))
    assert sign_in(client, "ada", PASSWORD) == "signed in"


def test_twenty_failures_from_an_address_lock_it_for_every_account(ada: None) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(20):
        sign_in(client, f"guess-{n}", "wrong")
    refused = sign_in(client, "bob", PASSWORD)
    assert refused == "Too many failed sign-ins for this address: try again in 15 minutes."
    # From another address bob signs in.
    assert sign_in(Client(REMOTE_ADDR="198.51.100.4"), "bob", PASSWORD) == "signed in"


def test_the_admin_sign_in_is_throttled_too(ada: None) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, "ada", "wrong", path="/admin/login/")
    refused = sign_in(client, "ada", PASSWORD, path="/admin/login/")
    assert refused == "Too many failed sign-ins for this account: try again in 15 minutes."
    assert LoginFailure.objects.count() == 5
