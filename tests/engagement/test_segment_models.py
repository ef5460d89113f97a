"""Every segment has a current scoring model: created with the segment (admin,
API), or with defaults the first time a scoring path meets a segment without one."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ICPSegment, SegmentMembership
from accounts.services import SegmentRow, segments_bulk_upsert
from engagement.models import AccountEngagement, Activity, EngagementSnapshot, ScoringModel
from engagement.services.segments import SegmentInvalid, segment_create, segment_update
from engagement.tasks import scores_rollup_all_task
from tests.api_clients import api_client_as
from tests.factories import AccountFactory, ContactFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

# DESIGN 4's defaults, written out here rather than read from the code under test.
DEFAULTS = {"half_life_days": 30.0, "contact_cap": 40.0, "scale": 50.0, "engaged_min": 41,
            "qualified_min": 61, "lookback_days": 365, "anonymous_factor": 0.5}  # fmt: skip


def current_model(segment_name: str) -> dict[str, Any]:
    models = list(
        ScoringModel.objects.filter(segment__name=segment_name).values(
            "version", "is_current", *DEFAULTS
        )
    )
    assert len(models) == 1, models
    return models[0]


def client_as(role: str) -> APIClient:
    return api_client_as(role, username=f"as-{role.lower()}")


CRITERIA = {"all": [{"field": "industry", "op": "in", "value": ["Software"], "required": True}]}


def test_a_segment_created_through_the_api_has_a_default_model() -> None:
    created = client_as("Marketer").post(
        "/api/segments/", {"name": "Software", "criteria": CRITERIA}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["member_count"] == 0  # members follow on commit
    assert current_model("Software") == {"version": 1, "is_current": True, **DEFAULTS}
    segment = ICPSegment.objects.get(name="Software")
    assert segment.criteria == CRITERIA


@pytest.mark.django_db(transaction=True)
def test_the_new_segment_gets_its_members_once_committed(eager_tasks: None) -> None:
    """The membership refresh is enqueued on commit; eager, it runs here."""
    software = AccountFactory.create(industry="Software")
    AccountFactory.create(industry="Retail")
    client = APIClient()  # a superuser: the role groups of migrations do not outlive a flush
    client.force_authenticate(UserFactory.create(username="root", is_superuser=True))
    created = client.post(
        "/api/segments/", {"name": "Software", "criteria": CRITERIA}, format="json"
    )
    assert created.status_code == 201
    members = SegmentMembership.objects.filter(segment__name="Software")
    assert list(members.values_list("account_id", flat=True)) == [software.pk]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"name": "Bad op", "criteria": {"field": "tier", "op": "around", "value": 1}},
         "unknown operator 'around'"),
        ({"name": "No value", "criteria": {"all": [{"field": "tier", "op": "eq"}]}},
         "lacks 'value'"),
        ({"name": "Bad weight", "criteria": {"field": "tier", "op": "eq", "value": 1,
                                             "weight": -2}}, "weight must be"),
    ],
)  # fmt: skip
def test_a_segment_the_rules_cannot_read_is_refused_and_nothing_is_written(
    body: dict[str, Any], problem: str
) -> None:
    refused = client_as("Marketer").post("/api/segments/", body, format="json")
    assert refused.status_code == 400
    assert problem in json.dumps(refused.json())
    assert not ICPSegment.objects.exists() and not ScoringModel.objects.exists()


@pytest.mark.parametrize("role", ["Sales", "Executive"])
def test_only_marketers_create_segments(role: str) -> None:
    client = client_as(role)
    assert client.get("/api/segments/").status_code == 200
    assert client.post("/api/segments/", {"name": "Mine"}, format="json").status_code == 403
    assert not ICPSegment.objects.exists()


def test_a_segment_created_in_the_admin_has_a_default_model(client: Client) -> None:
    client.force_login(UserFactory.create(username="boss", is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/accounts/icpsegment/add/",
        {"name": "Enterprise", "description": "", "criteria": json.dumps(CRITERIA),
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    assert current_model("Enterprise") == {"version": 1, "is_current": True, **DEFAULTS}


@pytest.fixture
def modelless() -> ICPSegment:
    """A segment written by a bulk path (as imports and the demo do), with a member
    whose VP requested a demo: 45 points capped at 40, raw 40, score 55."""
    segments_bulk_upsert(rows=[SegmentRow(name="Bulk", criteria={})])
    segment = ICPSegment.objects.get(name="Bulk")
    account = AccountFactory.create()
    SegmentMembership.objects.create(segment=segment, account=account)
    Activity.objects.create(
        source=SourceFactory.create(), message_id="m1", type="demo_request",
        occurred_at=timezone.now() - dt.timedelta(hours=1), account=account,
        contact=ContactFactory.create(account=account, seniority="vp"),
    )  # fmt: skip
    assert not ScoringModel.objects.exists()
    return segment


def test_the_recompute_command_scores_a_segment_without_a_model(modelless: ICPSegment) -> None:
    out = StringIO()
    call_command("scores_recompute", "--segment", "Bulk", stdout=out, verbosity=0)
    assert "1 accounts scored" in out.getvalue()
    assert current_model("Bulk") == {"version": 1, "is_current": True, **DEFAULTS}
    assert list(AccountEngagement.objects.values_list("score", flat=True)) == [55]


def test_the_sweep_scores_a_new_segment_within_a_minute(modelless: ICPSegment) -> None:
    scores_rollup_all_task.apply()  # the beat task, run in this process
    assert list(AccountEngagement.objects.values_list("score", flat=True)) == [55]


def test_the_backfill_command_works_on_a_segment_without_a_model(modelless: ICPSegment) -> None:
    today = timezone.now().date()
    call_command(
        "snapshots_backfill", "--since", str(today - dt.timedelta(days=2)),
        "--until", str(today), "--segment", str(modelless.pk), stdout=StringIO(), verbosity=0,
    )  # fmt: skip
    assert EngagementSnapshot.objects.filter(segment=modelless).count() == 3


def test_a_segment_update_is_validated_and_its_members_follow(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    transaction_committed = partial(django_capture_on_commit_callbacks, execute=True)
    AccountFactory.create(name="Big", employees=5000)
    AccountFactory.create(name="Small", employees=10)
    ICPSegment.objects.create(name="Taken")
    with transaction_committed():
        segment = segment_create(
            values={"name": "Large", "criteria": {"field": "employees", "op": "gte", "value": 1000}}
        )
    assert set(segment.accounts.values_list("name", flat=True)) == {"Big"}
    with pytest.raises(SegmentInvalid) as refused:
        segment_update(segment_id=segment.pk, values={"name": "Taken"})
    assert "already exists" in refused.value.errors["name"][0]
    with pytest.raises(SegmentInvalid) as refused:
        segment_update(segment_id=segment.pk, values={"criteria": {"field": "x", "op": "near"}})
    assert list(refused.value.errors) == ["criteria"]
    segment.refresh_from_db()
    assert segment.name == "Large"
    with transaction_committed():
        segment_update(
            segment_id=segment.pk,
            values={"criteria": {"field": "employees", "op": "lt", "value": 1000}},
        )
    assert set(segment.accounts.values_list("name", flat=True)) == {"Small"}
    # No refresh asked: the members stay until the caller's job runs.
    with transaction_committed():
        segment_update(segment_id=segment.pk, values={"is_active": False}, refresh_members=False)
    assert segment.accounts.count() == 1
    assert ScoringModel.objects.filter(segment=segment).count() == 1
