"""Pipeline plans and the report endpoints (JSON and CSV), query counts pinned."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from campaigns.models import PipelinePlan
from campaigns.services import pipeline_plan_fill_from_history
from tests.campaigns import scenario
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def plan() -> PipelinePlan:
    return PipelinePlan.objects.create(
        name="H2", period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 9, 30),
        revenue_target=Decimal("1000000"), win_rate=Decimal("0.25"),
        average_deal_size=Decimal("40000"), cycle_time_days=60,
    )  # fmt: skip


def test_fill_from_history_uses_deals_closed_in_the_year_before() -> None:
    the_plan = plan()
    # Won 30,000 in 20 days and 50,000 in 40 days; lost two; one too old; one
    # open. The 50,000 deal and a lost one have no account: every deal counts.
    for amount, opened, closed, status, assigned in (
        (30000, "2026-01-01", "2026-01-21", "won", True),
        (50000, "2026-02-01", "2026-03-13", "won", False),
        (9000, "2026-02-01", "2026-03-01", "lost", False),
        (9000, "2026-04-01", "2026-05-01", "lost", True),
        (99999, "2025-01-01", "2025-02-01", "won", True),
    ):  # fmt: skip
        extra = {} if assigned else {"account": None}
        OpportunityFactory.create(amount=Decimal(amount), status=status,
                                  opened_on=dt.date.fromisoformat(opened),
                                  close_on=dt.date.fromisoformat(closed), **extra)  # fmt: skip
    OpportunityFactory.create(opened_on=dt.date(2026, 5, 1))
    filled = pipeline_plan_fill_from_history(plan_id=the_plan.pk)
    assert filled.win_rate == Decimal("0.5")
    assert filled.average_deal_size == Decimal("40000")
    assert filled.cycle_time_days == 30


def test_plan_against_actual_by_month(executive: APIClient) -> None:
    the_plan = plan()
    # Open-by window: 2026-05-02 .. 2026-08-01 (92 days; pipeline 4,000,000).
    OpportunityFactory.create(amount=Decimal("60000"), opened_on=dt.date(2026, 5, 10))
    # not assigned to an account yet: still pipeline
    OpportunityFactory.create(account=None, amount=Decimal("40000"), opened_on=dt.date(2026, 5, 11))
    OpportunityFactory.create(amount=Decimal("50000"), opened_on=dt.date(2026, 5, 1))  # before
    body = executive.get(f"/api/pipeline-plans/{the_plan.pk}/").json()
    assert Decimal(str(body["needs"]["required_pipeline"])) == Decimal("4000000")
    assert body["needs"]["opportunities_to_open"] == 100
    assert (
        body["needs"]["open_from"] == "2026-05-02" and body["needs"]["open_until"] == "2026-08-01"
    )
    months = {m["month"]: m for m in body["by_month"]}
    assert list(months) == ["2026-05", "2026-06", "2026-07", "2026-08"]
    # May has 30 days of the window: 4,000,000 x 30 / 92.
    assert Decimal(str(months["2026-05"]["planned_pipeline"])) == Decimal("1304347.83")
    assert Decimal(str(months["2026-05"]["actual_pipeline"])) == Decimal("100000")
    assert months["2026-08"]["actual_opportunities"] == 0
    assert sum(Decimal(str(m["planned_pipeline"])) for m in body["by_month"]) == pytest.approx(
        Decimal("4000000"), abs=Decimal("0.05"))  # fmt: skip
    download = executive.get(f"/api/pipeline-plans/{the_plan.pk}/?format=csv")
    assert download["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [row["month"] for row in table] == list(months)
    assert Decimal(table[0]["actual_pipeline"]) == Decimal("100000")
    filled = executive.post(f"/api/pipeline-plans/{the_plan.pk}/fill_from_history/", {},
                            format="json")  # fmt: skip
    # Executives own the plan: no deal closed in the year before it, so the
    # fill is refused for want of history (400), not for want of the right.
    assert filled.status_code == 400
    assert "Too little history" in filled.json()["lookback_days"][0]


@pytest.mark.parametrize("extra", [0, 5])
def test_reports_in_json_and_csv_with_a_fixed_query_count(
    executive: APIClient, django_assert_num_queries: Any, extra: int
) -> None:
    s = scenario.build()
    scenario.grow(extra)
    executive.get("/api/campaigns/")  # loads the caller's permissions once
    url = "/api/reports/programs/?start=2026-01-01&end=2026-03-31"
    with django_assert_num_queries(10):
        body = executive.get(url).json()
    rows = {row.get("program_id"): row for row in body["rows"]}
    assert Decimal(str(rows[s.p1.pk]["pipeline_attributed"])) == Decimal("55000")
    with django_assert_num_queries(10):
        download = executive.get(url + "&format=csv")
    assert download["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(table) == 2 + extra + 2  # the programs, no program, the period total
    p1 = next(r for r in table if r["program_id"] == str(s.p1.pk))
    assert Decimal(p1["pipeline_attributed"]) == Decimal("55000") and p1["lift_kind"] == "holdout"
    for view in ("campaigns", "channels", "sources"):
        assert executive.get(url + f"&view={view}").status_code == 200
    with django_assert_num_queries(11):  # the campaign itself, then the ten
        campaign = executive.get(f"/api/reports/campaigns/{s.campaign.pk}/").json()
    assert campaign["campaign"]["lift"]["estimate"] == 35.0
    assert campaign["funnel"]["steps"][0]["accounts"] == 3
    with django_assert_num_queries(10):
        funnel = executive.get(
            f"/api/reports/funnel/?start=2026-01-01&end=2026-03-31&campaign={s.campaign.pk}&format=csv"
        )
    steps = list(csv.DictReader(io.StringIO(funnel.content.decode())))
    assert [(r["stage"], r["accounts"]) for r in steps] == [
        ("targeted", "3"), ("engaged", "2"), ("qualified", "1"), ("opportunity", "3"),
        ("won", "1"),
    ]  # fmt: skip
    bad = executive.get("/api/reports/programs/?start=2026-03-31&end=2026-01-01")
    assert bad.status_code == 400 and "end" in bad.json()
