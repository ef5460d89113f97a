from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from accounts.roles import EXECUTIVE, MARKETER, SALES
from tests.factories import UserFactory


def _persona(username: str, role: str, first_name: str) -> Any:
    user = UserFactory.create(username=username, first_name=first_name, last_name="Persona")
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def rep(db: None) -> Any:
    """The sales persona (tests moved from tests/accounts name it `rep`)."""
    return _persona("rep", SALES, "Sam")


@pytest.fixture
def marketer(db: None) -> Any:
    return _persona("marketer", MARKETER, "Maya")


@pytest.fixture
def executive(db: None) -> Any:
    return _persona("executive", EXECUTIVE, "Eve")
