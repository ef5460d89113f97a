"""Stored activity at any date the columns hold never stops scoring, nor fails a
page (issue 13): rows written straight to the table, past the ingest policy.

The sums are checked against the bounded term computed here by hand:
w x m x exp(clamp(lambda x (t - L), MIN_EXPONENT, MAX_EXPONENT)).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import Account, Contact, ICPSegment, SegmentMembership
from engagement.models import AccountEngagement, Activity, ContactEngagement, ScoringModel
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute
from engagement.scoring import MAX_EXPONENT, MIN_EXPONENT
from tests.factories import OpportunityFactory, SourceFactory, SpendFactory

pytestmark = pytest.mark.django_db

YEAR_1 = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
YEAR_2150 = dt.datetime(2150, 1, 1, tzinfo=dt.UTC)
YEAR_9999 = dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


@pytest.fixture
def scored() -> dict[str, Any]:
    segment = ICPSegment.objects.create(name="All")
    model = ScoringModel.objects.create(segment=segment)
    accounts = {}
    for name in ("past", "future", "far", "anonymous"):
        account = Account.objects.create(name=name, domain=f"{name}.example")
        SegmentMembership.objects.create(segment=segment, account=account)
        accounts[name] = account
    return {"segment": segment, "model": model, "accounts": accounts}


def stored(account: Account, occurred_at: dt.datetime, *, contact: bool = True) -> Activity:
    person = (
        Contact.objects.get_or_create(
            external_id=f"u-{account.name}", defaults={"account": account}
        )[0]
        if contact
        else None
    )
    return Activity.objects.create(
        source=SourceFactory.create(), message_id=f"m-{account.name}-{occurred_at.year}",
        type="demo_request", occurred_at=occurred_at, account=account, contact=person,
    )  # fmt: skip


def hand_term(weight: float, occurred_at: dt.datetime, landmark: dt.datetime, rate: float) -> float:
    days = (occurred_at - landmark).total_seconds() / 86400
    return weight * math.exp(min(MAX_EXPONENT, max(MIN_EXPONENT, rate * days)))


@pytest.mark.parametrize("how", ["recompute", "rollup"])
def test_activity_at_any_stored_date_is_scored_within_bounds(
    scored: dict[str, Any], how: str
) -> None:
    accounts, model = scored["accounts"], scored["model"]
    at = timezone.now()
    if how == "rollup":
        scores_recompute(segment_id=scored["segment"].pk, at=at)  # a landmark, then add
    rows = [
        stored(accounts["past"], YEAR_1),
        stored(accounts["future"], YEAR_2150),
        stored(accounts["far"], YEAR_9999),
        stored(accounts["anonymous"], YEAR_9999, contact=False),
    ]
    if how == "rollup":
        scores_rollup(at=at)
    else:
        scores_recompute(segment_id=scored["segment"].pk, at=at)

    rate = math.log(2) / model.half_life_days
    weight = model.activity_weights["demo_request"]
    for row in rows[:3]:
        sums = ContactEngagement.objects.get(contact=row.contact)
        expected = hand_term(weight, row.occurred_at, sums.landmark, rate)
        assert sums.decay_sum == pytest.approx(expected, rel=1e-9)
    scores = {e.account.name: e for e in AccountEngagement.objects.select_related("account")}
    # Year 1: a term of exp(MIN_EXPONENT) at most, nothing to a score; and
    # outside the lookback, so no stage either.
    assert (scores["past"].score, scores["past"].stage) == (0, "unaware")
    assert scores["past"].raw_score == pytest.approx(0.0, abs=1e-60)
    # Far ahead: the contact reaches its cap, the anonymous visits count in full.
    capped = round(100 * (1 - math.exp(-model.contact_cap / model.scale)))
    assert scores["future"].score == scores["far"].score == capped
    assert scores["far"].raw_score == model.contact_cap
    assert scores["anonymous"].score == 100
    assert math.isfinite(scores["anonymous"].raw_score)


def test_pages_never_fail_on_a_stored_date(scored: dict[str, Any], admin_client: Client) -> None:
    accounts = scored["accounts"]
    rows = [
        stored(accounts["past"], YEAR_1),
        stored(accounts["far"], YEAR_9999),
        stored(accounts["anonymous"], YEAR_9999, contact=False),
        stored(accounts["future"], YEAR_2150),
    ]
    OpportunityFactory.create(account=accounts["far"], opened_on=dt.date(9999, 12, 31))
    SpendFactory.create(spent_on=dt.date(9999, 12, 31))
    scores_recompute(segment_id=scored["segment"].pk)
    for account in accounts.values():
        response = admin_client.get(f"/api/accounts/{account.pk}/engagement/")
        assert response.status_code == 200, (account.name, response.content[:500])
    explained = admin_client.get(f"/api/accounts/{accounts['far'].pk}/engagement/").json()
    [segment] = explained["segments"]
    # The explanation counts the far activity as the score did: the contact's cap.
    assert segment["by_contact"][0]["counted"] == scored["model"].contact_cap
    pages = [
        "/admin/engagement/activity/",
        "/admin/engagement/activity/?occurred_at__year=1",
        "/admin/engagement/activity/?occurred_at__year=9999",
        "/admin/engagement/activity/?occurred_at__year=9999&occurred_at__month=12",
        "/admin/engagement/activity/?occurred_at__year=9999&occurred_at__month=12"
        "&occurred_at__day=31",
        "/admin/engagement/activity/?occurred_at__year=1&occurred_at__month=1&occurred_at__day=1",
        *[f"/admin/engagement/activity/{row.pk}/change/" for row in rows],
        "/admin/accounts/contact/",
        # The other date hierarchies, on dates at the end of the calendar.
        "/admin/accounts/opportunity/?opened_on__year=9999",
        "/admin/accounts/opportunity/?opened_on__year=9999&opened_on__month=12",
        "/admin/accounts/opportunity/?opened_on__year=9999&opened_on__month=12&opened_on__day=31",
        "/admin/campaigns/spend/?spent_on__year=9999",
        "/admin/campaigns/spend/?spent_on__year=9999&spent_on__month=12",
        "/api/accounts/",
        f"/api/accounts/?segment={scored['segment'].pk}&ordering=-score",
        "/accounts/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, (page, response.content[:500])


# --- The activities import follows the tracking API's policy ---------------------------


def test_the_activities_import_settles_times_as_the_tracking_api_does(
    admin_client: Client,
) -> None:
    account = Account.objects.create(name="Northwind", domain="northwind.example")
    segment = ICPSegment.objects.create(name="All")
    ScoringModel.objects.create(segment=segment)
    SegmentMembership.objects.create(segment=segment, account=account)
    data = (
        "Timestamp,Event,Company Domain\n"
        "2026-03-01T10:00:00Z,Meeting Held,northwind.example\n"
        "2150-01-01T00:00:00Z,Demo Requested,northwind.example\n"
        "9999-12-31T23:59:59+00:00,Demo Requested,northwind.example\n"
    )

    def upload(body: str, **fields: str) -> Any:
        file = SimpleUploadedFile("a.csv", body.encode(), content_type="text/csv")
        return admin_client.post("/api/imports/activities/", {"file": file, **fields})

    before = timezone.now()
    response = upload(data)
    after = timezone.now()
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 3
    times = sorted(Activity.objects.values_list("occurred_at", flat=True))
    assert times[0] == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    # Both stored at the time of the import, as a call received then would be.
    assert before <= times[1] == times[2] <= after
    # The ids derive from the file's times: a second import matches every row.
    assert upload(data).json()["unchanged"] == 3
    scores_recompute(segment_id=segment.pk)
    assert AccountEngagement.objects.get(account=account).score > 0

    refused = upload(
        "Timestamp,Event,Company Domain\n"
        "1969-12-31T23:59:59Z,Meeting Held,northwind.example\n"
        "0001-01-01T00:00:00+14:00,Meeting Held,northwind.example\n"
    )
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "occurred_at"), (3, "occurred_at")]
    assert "before 1970-01-01, the earliest time accepted" in errors[0]["reason"]
    assert "outside the calendar" in errors[1]["reason"]
    assert Activity.objects.count() == 3


def test_the_last_year_of_the_calendar_selects_its_rows(
    scored: dict[str, Any], admin_client: Client
) -> None:
    accounts = scored["accounts"]
    stored(accounts["far"], YEAR_9999)
    stored(accounts["future"], YEAR_2150)
    for query, count in [
        ("occurred_at__year=9999", 1),
        ("occurred_at__year=9999&occurred_at__month=12&occurred_at__day=31", 1),
        ("occurred_at__year=2150", 1),
        ("occurred_at__year=9998", 0),
    ]:
        response = admin_client.get(f"/admin/engagement/activity/?{query}")
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == count, query
