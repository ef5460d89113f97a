import pytest
from django.contrib.auth.models import Group


@pytest.mark.django_db
def test_migrations_create_the_three_role_groups() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {"Marketer", "Sales", "Executive"}
