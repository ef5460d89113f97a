"""The contact admin's junk actions flag or clear the selected people by hand and
say how many activities changed; their activity follows at once."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Contact
from engagement.models import Activity
from tests.factories import ActivityFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def _admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    return client


def _act(client: Client, action: str, contacts: list[Contact]) -> str:
    response = client.post(
        reverse("admin:accounts_contact_changelist"),
        {"action": action, "_selected_action": [c.pk for c in contacts]},
        follow=True,
    )
    assert response.status_code == 200
    return " ".join(str(message) for message in response.context["messages"])


def test_marking_junk_excludes_every_activity_of_the_selected_contacts_only() -> None:
    picked, other, left_alone = ContactFactory.create_batch(3)
    for contact, count in ((picked, 2), (other, 1), (left_alone, 3)):
        ActivityFactory.create_batch(count, contact=contact)
    client = _admin_client()

    message = _act(client, "junk_flag", [picked, other])

    assert message == "Marked junk; 3 activities now count zero."
    assert set(Contact.objects.filter(is_junk=True).values_list("pk", flat=True)) == {
        picked.pk, other.pk,
    }  # fmt: skip
    assert Activity.objects.exclude(excluded_reason="").count() == 3
    assert not Activity.objects.filter(contact=left_alone).exclude(excluded_reason="").exists()

    message = _act(client, "junk_clear", [picked])

    assert message == "Cleared; 2 activities count again."
    assert list(Contact.objects.filter(is_junk=True).values_list("pk", flat=True)) == [other.pk]
    assert Activity.objects.exclude(excluded_reason="").count() == 1
