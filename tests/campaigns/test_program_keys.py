"""A program's tracking key is stored as the tracker stores the keys it
receives (trimmed, lower-cased), whichever way the program is written, so that
its activity always matches it: a key with capitals once matched nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from rest_framework.test import APIClient

from campaigns import touches
from campaigns.models import Program, Touch
from tests.api_clients import api_client_as
from tests.factories import ActivityFactory, CampaignFactory, ProgramFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def marketer() -> APIClient:
    return api_client_as("Marketer", username="marketer")


def program_body(campaign_id: int, key: str, name: str = "Paid social") -> dict[str, object]:
    return {"campaign": campaign_id, "name": name, "channel": "paid_social",
            "starts_on": "2026-02-01", "ends_on": "2026-02-28", "tracking_key": key}  # fmt: skip


def test_a_key_given_with_capitals_through_the_api_is_stored_lower_case_and_matches_activity(
    marketer: APIClient,
) -> None:
    campaign = CampaignFactory.create()
    created = marketer.post("/api/programs/", program_body(campaign.pk, "  Q3-Ads "), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["tracking_key"] == "q3-ads"
    # What the tracker stores for utm_campaign=Q3-Ads (engagement/tracking.py).
    activity = ActivityFactory.create(tracking_key="q3-ads", occurred_at=T0)
    touches.touches_recompute()
    assert list(Touch.objects.values_list("program_id", "account_id")) == [
        (created.json()["id"], activity.account_id)
    ]


def test_a_key_differing_from_another_programs_only_in_case_is_refused(
    marketer: APIClient,
) -> None:
    campaign = CampaignFactory.create()
    taken = ProgramFactory.create(campaign=campaign, tracking_key="q3-ads")
    other = ProgramFactory.create(campaign=campaign, tracking_key="q3-email")
    clash = marketer.post(
        "/api/programs/", program_body(campaign.pk, "Q3-ADS", "Again"), format="json"
    )
    assert clash.status_code == 400
    assert clash.json() == {"tracking_key": ["Another program has this tracking key."]}
    renamed = marketer.patch(f"/api/programs/{other.pk}/", {"tracking_key": " Q3-Ads"},
                             format="json")  # fmt: skip
    assert renamed.status_code == 400
    assert renamed.json() == {"tracking_key": ["Another program has this tracking key."]}
    moved = marketer.patch(f"/api/programs/{other.pk}/", {"tracking_key": "Q4-Email"},
                           format="json")  # fmt: skip
    assert moved.status_code == 200 and moved.json()["tracking_key"] == "q4-email"
    assert sorted(Program.objects.values_list("tracking_key", flat=True)) == [
        "q3-ads", "q4-email"
    ]  # fmt: skip
    assert Program.objects.get(pk=taken.pk).tracking_key == "q3-ads"
    found = marketer.get("/api/programs/?tracking_key=Q3-ADS").json()["results"]
    assert [row["id"] for row in found] == [taken.pk]


def test_the_admin_stores_a_key_lower_case() -> None:
    campaign = CampaignFactory.create()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)

    def add(key: str) -> Any:
        return client.post("/admin/campaigns/program/add/", {
            "campaign": campaign.pk, "name": "Webinar", "channel": "webinar",
            "starts_on": "2026-02-01", "ends_on": "2026-02-28", "tracking_key": key,
            "status": "planned", "spend-TOTAL_FORMS": "0", "spend-INITIAL_FORMS": "0",
        })  # fmt: skip

    # 150 characters, 300 once lower-cased ("İ" becomes "i" and a dot above).
    too_long = add("İ" * 150)
    assert too_long.status_code == 200
    assert "At most 200 characters once lower-cased." in too_long.content.decode()
    response = add(" Webinar-Q1 ")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Program.objects.get(name="Webinar").tracking_key == "webinar-q1"


def test_the_database_refuses_a_key_with_capitals_or_spaces() -> None:
    program = ProgramFactory.create(tracking_key="q1")
    for key in ("Q1", " q1"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Program.objects.filter(pk=program.pk).update(tracking_key=key)


@pytest.mark.django_db(transaction=True)
def test_the_migration_rewrites_stored_keys_keeping_them_unique(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before, after = (
        [("campaigns", "0008_ranking_entry_lift")],
        [("campaigns", "0009_program_tracking_key_normal")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        campaign = CampaignFactory.create()
        # The table as an older release left it: keys as they were typed.
        keys = ["Q1", "q1", " Ads ", "Webinar-Q3", "events"]
        ids = [ProgramFactory.create(campaign=campaign, tracking_key=key).pk for key in keys]
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        stored = dict(Program.objects.values_list("id", "tracking_key"))
        # "Q1" comes first but "q1" was another program's already: the id is appended.
        assert [stored[pk] for pk in ids] == [f"q1-{ids[0]}", "q1", "ads", "webinar-q3", "events"]
        printed = capsys.readouterr().out
        assert f"program {ids[0]}: tracking key 'Q1' is now 'q1-{ids[0]}'" in printed
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
