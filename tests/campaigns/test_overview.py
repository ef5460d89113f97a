"""The executive overview (campaigns.reports.overview and /api/reports/overview/)
against tests/campaigns/overview_scenario.py, computed by hand there."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.campaigns import overview_scenario as scenario

pytestmark = pytest.mark.django_db

URL = "/api/reports/overview/"
Q2 = {"start": "2026-04-01", "end": "2026-06-30"}


@pytest.fixture
def built() -> None:
    scenario.build()


def rows(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["period"]: row for row in answer["rows"]}


def test_every_figure_of_the_period_and_the_previous_period_by_hand(
    built: None, executive: APIClient
) -> None:
    answer = executive.get(URL, Q2).json()
    assert (answer["start"], answer["end"]) == ("2026-04-01", "2026-06-30")
    assert (answer["previous_start"], answer["previous_end"]) == ("2026-01-01", "2026-03-31")
    now, before = rows(answer)["current"], rows(answer)["previous"]
    assert now["spend"] == "1750.50" and before["spend"] == "2000.00"
    assert now["pipeline"] == "30000.00" and before["pipeline"] == "43000.00"
    assert now["won_revenue"] == "40000.00" and before["won_revenue"] == "12000.00"
    assert now["pipeline_per_spend"] == pytest.approx(30000 / 1750.5)
    assert before["pipeline_per_spend"] == pytest.approx(43000 / 2000)
    assert (now["accounts_engaged"], now["accounts_qualified"]) == (2, 1)
    assert (before["accounts_engaged"], before["accounts_qualified"]) == (2, 1)
    assert (now["opportunities_opened"], before["opportunities_opened"]) == (4, 3)
    assert now["opportunities_opened_without_amount"] == 2
    assert before["opportunities_opened_without_amount"] == 0
    assert (now["opportunities_won"], now["opportunities_lost"]) == (3, 1)
    assert (before["opportunities_won"], before["opportunities_lost"]) == (2, 1)
    assert now["won_without_amount"] == 1 and before["won_without_amount"] == 0
    assert now["win_rate"] == pytest.approx(3 / 4) and before["win_rate"] == pytest.approx(2 / 3)
    assert now["average_deal_size"] == "20000.00" and before["average_deal_size"] == "6000.00"
    assert now["cycle_time_days"] == pytest.approx((29 + 59 + 15) / 3)
    assert before["cycle_time_days"] == pytest.approx((20 + 50) / 2)
    assert now["missing"] == {} and before["missing"] == {}


def test_the_change_is_relative_to_the_previous_period(built: None, executive: APIClient) -> None:
    change = rows(executive.get(URL, Q2).json())["change"]
    expected = {
        "spend": (1750.50 - 2000) / 2000,
        "pipeline": (30000 - 43000) / 43000,
        "won_revenue": (40000 - 12000) / 12000,
        "pipeline_per_spend": (30000 / 1750.5 - 43000 / 2000) / (43000 / 2000),
        "accounts_engaged": 0.0,
        "accounts_qualified": 0.0,
        "opportunities_opened": (4 - 3) / 3,
        "win_rate": (3 / 4 - 2 / 3) / (2 / 3),
        "average_deal_size": (20000 - 6000) / 6000,
        "cycle_time_days": ((29 + 59 + 15) / 3 - 35) / 35,
    }
    for key, value in expected.items():
        assert change[key] == pytest.approx(value), key
    assert change["missing"] == {}


def test_months_split_the_period_and_add_up_to_it(built: None, executive: APIClient) -> None:
    months = executive.get(URL, Q2).json()["months"]
    assert [(m["month"], m["spend"], m["pipeline"], m["won_revenue"]) for m in months] == [
        ("2026-04", "1000.00", "10000.00", "30000.00"),
        ("2026-05", "750.50", "20000.00", "10000.00"),
        ("2026-06", None, "0.00", "0.00"),
    ]
    assert months[2]["missing"] == {"spend": "no spend recorded in the month"}
    assert (months[2]["opportunities_opened_without_amount"], months[2]["won_without_amount"]) == (
        2,
        1,
    )
    assert sum(Decimal(m["pipeline"]) for m in months) == Decimal("30000.00")
    assert sum(Decimal(m["won_revenue"]) for m in months) == Decimal("40000.00")


def test_a_month_cut_by_the_period_counts_only_its_days(built: None, executive: APIClient) -> None:
    months = executive.get(URL, {"start": "2026-04-06", "end": "2026-05-20"}).json()["months"]
    # April from the 6th: D1 (opened 04-05) is out, D4 won 04-15 in; May to the 20th.
    assert [(m["month"], m["start"], m["end"], m["spend"], m["pipeline"]) for m in months] == [
        ("2026-04", "2026-04-06", "2026-04-30", "1000.00", "0.00"),
        ("2026-05", "2026-05-01", "2026-05-20", "500.00", "20000.00"),
    ]
    assert months[0]["won_revenue"] == "30000.00"


def test_a_period_without_data_says_why_instead_of_zero(built: None, executive: APIClient) -> None:
    answer = executive.get(URL, {"start": "2024-01-01", "end": "2024-03-31"}).json()
    now, change = rows(answer)["current"], rows(answer)["change"]
    assert now["spend"] is None and now["pipeline_per_spend"] is None
    assert now["missing"]["spend"] == "no spend recorded in the period"
    assert now["accounts_engaged"] is None and now["accounts_qualified"] is None
    assert now["missing"]["accounts_engaged"] == "no daily engagement snapshot in the period"
    assert now["win_rate"] is None and now["average_deal_size"] is None
    assert now["cycle_time_days"] is None
    assert now["missing"]["win_rate"] == "no deal was won or lost in the period"
    # Nothing opened: a pipeline of 0 is a fact, not a gap; its change has no base.
    assert now["pipeline"] == "0.00" and now["opportunities_opened"] == 0
    assert change["pipeline"] is None and change["missing"]["pipeline"] == (
        "the previous period's figure is 0"
    )
    assert change["missing"]["spend"] == "a period has no figure"


def test_sales_sees_no_spend_in_the_answer_or_its_csv(built: None, sales: APIClient) -> None:
    answer = sales.get(URL, Q2).json()
    assert "campaigns.view_spend" in answer["spend_hidden"]
    for row in answer["rows"]:
        assert row["spend"] is None and row["pipeline_per_spend"] is None
        assert row["missing"].get("spend") is None
    assert all(month["spend"] is None for month in answer["months"])
    assert rows(answer)["current"]["pipeline"] == "30000.00"
    text = sales.get(URL, {**Q2, "format": "csv"}).content.decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["period"] for row in table] == ["current", "previous", "change"]
    assert {row["spend"] for row in table} == {""}
    cells = {cell for row in table for cell in row.values()}
    assert not cells & {"1750.50", "2000.00", str(30000 / 1750.5), "21.5"}


def test_the_csv_holds_the_three_rows(built: None, executive: APIClient) -> None:
    response = executive.get(URL, {**Q2, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["period"] for row in table] == ["current", "previous", "change"]
    assert table[0]["spend"] == "1750.50" and table[1]["won_revenue"] == "12000.00"


def test_a_bad_period_is_refused_and_anonymous_callers_are_not_let_in(
    executive: APIClient,
) -> None:
    assert executive.get(URL, {"start": "2026-05-01", "end": "2026-04-01"}).status_code == 400
    assert executive.get(URL, {"start": "2026-05-01"}).status_code == 400
    assert APIClient().get(URL, Q2).status_code in (401, 403)


@pytest.mark.parametrize("extra", [0, 12])
def test_the_overview_takes_a_fixed_number_of_queries(
    executive: APIClient, django_assert_num_queries: Any, extra: int
) -> None:
    scenario.build()
    scenario.grow(extra)
    executive.get(URL, Q2)  # the client's user caches its permissions from here on
    # the report's four: deals, spend by day, and each period's engaged and
    # qualified accounts (one query each, against the bands in the database)
    with django_assert_num_queries(4):
        assert executive.get(URL, Q2).status_code == 200


def test_the_schema_documents_the_answer(executive: APIClient) -> None:
    schema = executive.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/reports/overview/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"start", "end"}
    row = schema["components"]["schemas"]["OverviewRow"]["properties"]
    assert {"spend", "pipeline", "won_revenue", "pipeline_per_spend", "accounts_engaged",
            "accounts_qualified", "opportunities_opened", "win_rate", "average_deal_size",
            "cycle_time_days", "missing"} <= set(row)  # fmt: skip
    assert "OverviewMonth" in schema["components"]["schemas"]


def test_the_deal_figures_are_the_deal_metrics_reports(built: None, executive: APIClient) -> None:
    """One owner: the overview's deal figures are the deal metrics' total row."""
    now = rows(executive.get(URL, Q2).json())["current"]
    total = executive.get("/api/reports/deals/", Q2).json()["rows"][0]
    assert total["split"] == "all"
    for overview_key, deals_key in (
        ("pipeline", "pipeline"),
        ("won_revenue", "won_revenue"),
        ("opportunities_opened", "opportunities_opened"),
        ("win_rate", "win_rate"),
        ("average_deal_size", "average_won_deal"),
        ("cycle_time_days", "cycle_days_won"),
        ("opportunities_opened_without_amount", "opportunities_opened_without_amount"),
        ("won_without_amount", "won_without_amount"),
    ):
        assert now[overview_key] == total[deals_key], overview_key
