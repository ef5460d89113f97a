"""The unmodified Segment Python library, pointed at a live server with `host`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from segment.analytics import Client
from segment.analytics import request as segment_request
from segment.analytics.request import post

from accounts.models import Account, Contact
from engagement.models import Activity
from engagement.services.sources import source_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def library_connections_closed(live_server: Any) -> Iterator[None]:
    """The library keeps its HTTP connections alive in a module-level session.
    Close them while the live server still runs: a server thread outliving the
    server would close the shared test database connection from the wrong
    thread (a traceback after the run)."""
    yield
    segment_request._session.close()


@pytest.mark.parametrize("gzip", [False, True])
def test_the_python_tracking_library_loads_contacts_accounts_and_activity(
    live_server: Any, gzip: bool
) -> None:
    write_key = source_create(name="Python backend").write_key
    errors: list[Exception] = []
    client = Client(
        write_key,
        host=live_server.url,
        gzip=gzip,
        max_retries=0,
        on_error=lambda error, batch: errors.append(error),
    )
    client.identify(
        "u-ana",
        {"email": "ana@northwind.example", "firstName": "Ana", "title": "Chief Financial Officer"},
    )
    client.group("u-ana", "crm-7", {"name": "Northwind", "website": "northwind.example"})
    client.track("u-ana", "Webinar Attended", {"program_key": "fs-risk-webinar"})
    client.page("u-ana", category="Docs", name="Pricing", properties={"path": "/pricing"})
    client.flush()
    client.join()

    assert errors == []
    account = Account.objects.get(external_id="crm-7")
    assert account.domain == "northwind.example"
    contact = Contact.objects.get(external_id="u-ana")
    assert (contact.email, contact.seniority, contact.account) == (
        "ana@northwind.example",
        "c_level",
        account,
    )
    assert sorted(Activity.objects.values_list("type", "tracking_key")) == [
        ("pricing_page_view", ""),
        ("webinar_attended", "fs-risk-webinar"),
    ]
    assert set(Activity.objects.values_list("contact_id", flat=True)) == {contact.pk}


def test_a_flushed_batch_replayed_by_the_library_gives_no_duplicates(live_server: Any) -> None:
    write_key = source_create(name="Replay").write_key
    batch = [
        {"type": "track", "userId": "u-1", "event": "Form Submitted", "messageId": f"m-{i}",
         "timestamp": "2026-11-20T10:00:00+00:00"}
        for i in range(5)
    ]  # fmt: skip
    first = post(write_key, host=live_server.url, batch=batch)
    replay = post(write_key, host=live_server.url, batch=batch)
    assert first.status_code == replay.status_code == 200
    assert replay.json()["duplicates"] == 5
    assert Activity.objects.count() == 5
