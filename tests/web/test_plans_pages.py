"""The pipeline plan pages: a plan's needs and open-by window, the fill from
history and the deals it came from, plan against actual, each recomputed by
hand; the page against the API to the cent; the roles; the query counts.

The scenario (by hand): plan H2, 1 Jul to 30 Sep 2026, target 1,000,000.
History, the 365 days before 1 Jul 2026 (1 Jul 2025 to 30 Jun 2026): won
30,000 in 20 days, won 50,000 in 40 days (no account), lost 9,000 twice;
a deal won in Feb 2025 is too old and an open one is not closed. So the win
rate is 2 / 4 = 0.5, the deal size (30,000 + 50,000) / 2 = 40,000 and the
cycle time (20 + 40) / 2 = 30 days. Then pipeline = 1,000,000 / 0.5 =
2,000,000; opportunities = 1,000,000 / (0.5 x 40,000) = 50; opened between
1 Jul - 30 days = 1 Jun and 30 Sep - 30 days = 31 Aug (92 days).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Opportunity
from campaigns.models import PipelinePlan
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 7, 1), dt.date(2026, 9, 30)


def a_plan(**changes: Any) -> PipelinePlan:
    values = {
        "name": "H2", "period_start": START, "period_end": END,
        "revenue_target": Decimal("1000000"), "win_rate": Decimal("0.25"),
        "average_deal_size": Decimal("10000"), "cycle_time_days": 10, **changes,
    }  # fmt: skip
    return PipelinePlan.objects.create(**values)


@dataclass
class History:
    used: list[Opportunity]
    not_used: list[Opportunity]


def deal(amount: str | None, opened: str, closed: str | None, status: str, **extra: Any) -> Any:
    return OpportunityFactory.create(
        amount=None if amount is None else Decimal(amount), status=status,
        opened_on=dt.date.fromisoformat(opened),
        close_on=None if closed is None else dt.date.fromisoformat(closed), **extra,
    )  # fmt: skip


def history() -> History:
    used = [
        deal("30000", "2026-01-01", "2026-01-21", "won"),
        deal("50000", "2026-02-01", "2026-03-13", "won", account=None),
        deal("9000", "2026-02-01", "2026-03-01", "lost"),
        deal("9000", "2026-04-01", "2026-05-01", "lost"),
    ]
    not_used = [
        deal("99999", "2025-01-01", "2025-02-01", "won"),  # closed before the window
        deal("88888", "2026-06-01", "2026-07-01", "won"),  # closed on the period's first day
        deal("25000", "2026-05-01", "2026-08-01", "open"),  # not closed
    ]
    return History(used, not_used)


def opened_in_the_window() -> None:
    """Actual pipeline: 60,000 in June and 40,000 (no account) in July; one
    deal opened on 31 May is before the window."""
    deal("60000", "2026-06-10", None, "open")
    deal("40000", "2026-07-15", None, "open", account=None)
    deal("70000", "2026-05-31", None, "open")


def page_csv(client: Client, plan: PipelinePlan, table: str, query: str = "") -> dict[str, dict]:
    response = client.get(f"/reports/plans/{plan.pk}/?csv={table}{query}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    return {row[next(iter(row))]: row for row in rows}


def fill(client: Client, plan: PipelinePlan, lookback: int = 365) -> Any:
    return client.post(f"/reports/plans/{plan.pk}/fill/", {"lookback_days": lookback})


# --- The fill, the figures used and the deals ----------------------------------------


def test_the_fill_uses_the_deals_closed_in_the_year_before_and_lists_exactly_them(
    client: Client, executive: Any
) -> None:
    deals = history()
    plan = a_plan()
    client.force_login(executive)
    response = fill(client, plan)
    assert response.status_code == 302
    assert response["Location"] == f"/reports/plans/{plan.pk}/?lookback=365"
    plan.refresh_from_db()
    assert plan.win_rate == Decimal("0.5")
    assert plan.average_deal_size == Decimal("40000")
    assert plan.cycle_time_days == 30
    page = client.get(response["Location"])
    listed = [row.key for row in page.context["tables"]["deals"].rows]
    assert sorted(listed) == sorted(str(d.pk) for d in deals.used)
    assert not {str(d.pk) for d in deals.not_used} & set(listed)
    html = page.content.decode()
    assert "Figures filled from the deals of the last 365 days." in html
    assert "closed 01 Jul 2025 to 30 Jun 2026" in html
    figures = page_csv(client, plan, "figures", "&lookback=365")
    assert figures["Win rate"]["plan"] == figures["Win rate"]["history"] == "0.5000"
    assert figures["Win rate"]["formula"] == "won / closed = 2 / 4"
    assert figures["Average deal size"]["history"] == "40000.00"
    assert figures["Cycle time (days)"]["history"] == "30.0"
    assert figures["Cycle time (days)"]["plan"] == "30"


def test_the_deals_table_shows_each_deal_and_what_it_adds(client: Client, executive: Any) -> None:
    history()
    plan = a_plan()
    client.force_login(executive)
    deals = page_csv(client, plan, "deals")
    assert len(deals) == 4
    won = next(row for row in deals.values() if row["amount"] == "50000.00")
    assert won["account"] == "not assigned" and won["status"] == "Won"
    assert (won["opened_on"], won["close_on"]) == ("2026-02-01", "2026-03-13")
    assert won["cycle_days"] == "40"
    lost = [row for row in deals.values() if row["status"] == "Lost"]
    assert [row["cycle_days"] for row in lost] == ["", ""]
    assert all("lost: not in the cycle time" in row["not_computed"] for row in lost)
    # A shorter look back lists fewer deals: 90 days before 1 Jul is from 2 Apr.
    shorter = page_csv(client, plan, "deals", "&lookback=90")
    assert [row["close_on"] for row in shorter.values()] == ["2026-05-01"]


def test_the_history_window_starts_on_its_first_day_and_stops_before_the_period(
    client: Client, executive: Any
) -> None:
    first = deal("20000", "2025-06-01", "2025-07-01", "won")  # 365 days before 1 Jul 2026
    deal("10000", "2025-06-01", "2025-06-30", "won")  # a day too early
    last = deal("5000", "2026-06-01", "2026-06-30", "lost")  # the period's eve
    deal("7000", "2026-06-01", "2026-07-01", "lost")  # the period's first day
    plan = a_plan()
    client.force_login(executive)
    assert fill(client, plan).status_code == 302
    listed = client.get(f"/reports/plans/{plan.pk}/").context["tables"]["deals"].rows
    assert [row.key for row in listed] == [str(last.pk), str(first.pk)]  # newest close first
    plan.refresh_from_db()
    # 1 won of 2 closed; 20,000 won in 30 days.
    assert (plan.win_rate, plan.average_deal_size, plan.cycle_time_days) == (
        Decimal("0.5"), Decimal("20000"), 30)  # fmt: skip


def test_too_little_history_is_said_beside_the_fill_form(client: Client, executive: Any) -> None:
    deal("9000", "2026-02-01", "2026-03-01", "lost")  # closed, but nothing won
    plan = a_plan()
    client.force_login(executive)
    response = fill(client, plan)
    assert response.status_code == 400
    errors = response.context["fill_form"].errors["lookback_days"]
    assert errors == [
        "Too little history to fill this: 0 deal(s) won and 1 lost between 01 Jul 2025 "
        "and 30 Jun 2026. Enter it by hand or look further back."
    ]
    assert "Too little history to fill this" in response.content.decode()
    plan.refresh_from_db()
    assert (plan.win_rate, plan.average_deal_size, plan.cycle_time_days) == (
        Decimal("0.25"), Decimal("10000"), 10)  # fmt: skip
    assert fill(client, plan, lookback=0).status_code == 400  # a bad look back, beside its field


# --- Needs, window and plan against actual -----------------------------------------


def test_the_needs_and_the_window_are_the_formulas_by_hand(client: Client, marketer: Any) -> None:
    plan = a_plan(win_rate=Decimal("0.5"), average_deal_size=Decimal("40000"), cycle_time_days=30)
    client.force_login(marketer)
    needs = page_csv(client, plan, "needs")
    assert needs["Pipeline required"]["value"] == "2000000.00"
    assert needs["Pipeline required"]["formula"] == "target / win rate = 1,000,000.00 / 0.5000"
    assert needs["Opportunities required"]["value"] == "50.00"
    assert needs["Opportunities to open"]["value"] == "50"
    assert needs["Open from"]["value"] == "2026-06-01"
    assert needs["Open until"]["value"] == "2026-08-31"
    assert needs["Open from"]["formula"] == "period start - cycle time = 2026-07-01 - 30 days"
    html = client.get(f"/reports/plans/{plan.pk}/").content.decode()
    assert "1 Jun 2026 and 31 Aug 2026" in html
    assert "target / (win rate x deal size) = 1,000,000.00 / (0.5000 x 40,000.00)" in html


def test_an_uneven_plan_rounds_its_opportunities_up(client: Client, executive: Any) -> None:
    # 1,000,000 / (0.3 x 45,000) = 74.074...: 74.07 required, 75 to open.
    plan = a_plan(win_rate=Decimal("0.3"), average_deal_size=Decimal("45000"))
    client.force_login(executive)
    needs = page_csv(client, plan, "needs")
    assert needs["Pipeline required"]["value"] == "3333333.33"
    assert needs["Opportunities required"]["value"] == "74.07"
    assert needs["Opportunities to open"]["value"] == "75"


def test_plan_against_actual_by_month_by_hand(client: Client, executive: Any) -> None:
    plan = a_plan(win_rate=Decimal("0.5"), average_deal_size=Decimal("40000"), cycle_time_days=30)
    opened_in_the_window()
    client.force_login(executive)
    months = page_csv(client, plan, "months")
    assert list(months) == ["2026-06", "2026-07", "2026-08"]
    # 2,000,000 spread by days, rounded to the cent as a running total: to the
    # end of June 30/92 = 652,173.913 -> 652,173.91; of July 61/92 =
    # 1,326,086.956 -> 1,326,086.96; of August 92/92 = 2,000,000.00. Each month
    # is the difference, so the months add up to the pipeline required exactly.
    assert [m["planned_pipeline"] for m in months.values()] == [
        "652173.91", "673913.05", "673913.04"]  # fmt: skip
    assert [m["planned_pipeline_cumulative"] for m in months.values()] == [
        "652173.91", "1326086.96", "2000000.00"]  # fmt: skip
    assert [m["actual_pipeline"] for m in months.values()] == ["60000.00", "40000.00", "0.00"]
    assert [m["actual_pipeline_cumulative"] for m in months.values()] == [
        "60000.00", "100000.00", "100000.00"]  # fmt: skip
    assert [m["actual_opportunities"] for m in months.values()] == ["1", "1", "0"]
    # 50 opportunities by days: 50 x 30 / 92 = 16.30; 50 x 31 / 92 = 16.85.
    assert [m["planned_opportunities"] for m in months.values()] == ["16.30", "16.85", "16.85"]
    # 60,000 / 652,173.91 = 0.0920
    assert months["2026-06"]["attainment"] == "0.0920"
    page = client.get(f"/reports/plans/{plan.pk}/")
    chart = str(page.context["chart"])
    assert "<svg" in chart and "Planned, to date, 2026-08-31: " in chart
    assert "Actual, to date, 2026-06-30: " in chart


def test_the_page_equals_the_api_to_the_cent(client: Client, executive: Any) -> None:
    history()
    opened_in_the_window()
    plan = a_plan(win_rate=Decimal("0.3"), average_deal_size=Decimal("45000"), cycle_time_days=45)
    client.force_login(executive)
    api = APIClient()
    api.force_authenticate(executive)
    body = api.get(f"/api/pipeline-plans/{plan.pk}/").json()
    needs = page_csv(client, plan, "needs")
    assert Decimal(needs["Pipeline required"]["value"]) == Decimal(
        str(body["needs"]["required_pipeline"]))  # fmt: skip
    assert Decimal(needs["Opportunities required"]["value"]) == Decimal(
        str(body["needs"]["required_opportunities"]))  # fmt: skip
    assert int(needs["Opportunities to open"]["value"]) == body["needs"]["opportunities_to_open"]
    assert needs["Open from"]["value"] == body["needs"]["open_from"]
    assert needs["Open until"]["value"] == body["needs"]["open_until"]
    months = page_csv(client, plan, "months")
    assert list(months) == [m["month"] for m in body["by_month"]]
    for month in body["by_month"]:
        row = months[month["month"]]
        for key in ("planned_pipeline", "actual_pipeline", "planned_pipeline_cumulative",
                    "actual_pipeline_cumulative", "planned_opportunities"):  # fmt: skip
            assert Decimal(row[key]) == Decimal(str(month[key])), (month["month"], key)
        assert int(row["actual_opportunities"]) == month["actual_opportunities"]
    # The fill through the page and through the API write the same figures.
    fill(client, plan)
    filled_by_page = PipelinePlan.objects.get(pk=plan.pk)
    by_api = api.post(f"/api/pipeline-plans/{plan.pk}/fill_from_history/", {}, format="json")
    assert by_api.status_code == 200
    assert Decimal(str(by_api.json()["win_rate"])) == filled_by_page.win_rate
    assert Decimal(str(by_api.json()["average_deal_size"])) == filled_by_page.average_deal_size
    assert by_api.json()["cycle_time_days"] == filled_by_page.cycle_time_days


# --- Creating and editing ----------------------------------------------------------


NEW = {"name": "FY27 H1", "period_start": "2026-07-01", "period_end": "2026-12-31",
       "revenue_target": "2400000", "currency": "usd", "win_rate": "", "average_deal_size": "",
       "cycle_time_days": "", "lookback_days": "365"}  # fmt: skip


def test_a_plan_from_a_revenue_target_fills_its_blank_figures_from_history(
    client: Client, executive: Any
) -> None:
    history()
    client.force_login(executive)
    response = client.post("/reports/plans/new/", {**NEW, "cycle_time_days": "45"})
    assert response.status_code == 302
    plan = PipelinePlan.objects.get(name="FY27 H1")
    assert response["Location"] == f"/reports/plans/{plan.pk}/?lookback=365"
    assert (plan.win_rate, plan.average_deal_size, plan.cycle_time_days) == (
        Decimal("0.5"), Decimal("40000"), 45)  # a figure typed in is kept  # fmt: skip
    assert plan.currency == "USD" and plan.created_by == executive
    assert plan.revenue_target == Decimal("2400000")


def test_a_new_plan_without_history_says_so_beside_the_figures(
    client: Client, executive: Any
) -> None:
    client.force_login(executive)
    response = client.post("/reports/plans/new/", NEW)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"win_rate", "average_deal_size", "cycle_time_days"}
    assert errors["win_rate"][0].startswith("Too little history to fill this: 0 deal(s) won")
    assert not PipelinePlan.objects.exists()
    typed = {**NEW, "win_rate": "20", "average_deal_size": "50000", "cycle_time_days": "60"}
    assert client.post("/reports/plans/new/", typed).status_code == 302
    assert PipelinePlan.objects.get().win_rate == Decimal("0.2")


def test_bad_fields_are_refused_beside_them(client: Client, executive: Any) -> None:
    client.force_login(executive)
    bad = {**NEW, "name": "", "period_end": "2026-06-01", "win_rate": "120"}
    response = client.post("/reports/plans/new/", bad)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"name", "period_end", "win_rate"}
    html = response.content.decode()
    assert 'id="id_period_end_error_1"' in html and "must not end before it starts" in html


def test_the_figures_are_edited_by_hand(client: Client, executive: Any) -> None:
    plan = a_plan()
    client.force_login(executive)
    form = client.get(f"/reports/plans/{plan.pk}/edit/")
    assert form.status_code == 200 and form.context["form"].initial["win_rate"] == Decimal("25.00")
    values = {**NEW, "name": "H2", "period_start": "2026-07-01", "period_end": "2026-09-30",
              "revenue_target": "1000000", "currency": "EUR", "win_rate": "40",
              "average_deal_size": "50000", "cycle_time_days": "20"}  # fmt: skip
    response = client.post(f"/reports/plans/{plan.pk}/edit/", values)
    assert response.status_code == 302 and response["Location"] == f"/reports/plans/{plan.pk}/"
    plan.refresh_from_db()
    assert (plan.win_rate, plan.average_deal_size, plan.cycle_time_days, plan.currency) == (
        Decimal("0.4"), Decimal("50000"), 20, "EUR")  # fmt: skip
    # 1,000,000 / 0.4 = 2,500,000; 1,000,000 / (0.4 x 50,000) = 50
    needs = page_csv(client, plan, "needs")
    assert needs["Pipeline required"]["value"] == "2500000.00"
    assert needs["Opportunities to open"]["value"] == "50"


# --- The list and the roles --------------------------------------------------------


def test_the_list_shows_each_plan_with_its_needs_and_downloads(
    client: Client, marketer: Any
) -> None:
    first = a_plan(win_rate=Decimal("0.5"), average_deal_size=Decimal("40000"))
    a_plan(name="Q1 27", period_start=dt.date(2027, 1, 1), period_end=dt.date(2027, 3, 31))
    client.force_login(marketer)
    html = client.get("/reports/plans/").content.decode()
    assert f'href="/reports/plans/{first.pk}/"' in html
    assert "New plan" in html  # marketers hold the plan rights too
    response = client.get("/reports/plans/?csv=plans")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["Plan"] for row in rows] == ["Q1 27", "H2"]  # latest period first
    # Q1 27: 1,000,000 / 0.25 = 4,000,000; / (0.25 x 10,000) = 400
    assert (rows[0]["required_pipeline"], rows[0]["opportunities_to_open"]) == ("4000000.00", "400")
    assert (rows[1]["required_pipeline"], rows[1]["opportunities_to_open"]) == ("2000000.00", "50")
    assert client.get("/reports/plans/?csv=nothing").status_code == 404


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [(None, "login", "login"), ("rep", 403, 403), ("marketer", 200, 302), ("executive", 200, 302)],
)
def test_every_role_gets_what_it_may(
    client: Client, personas: dict[str, Any], persona: str | None, read: Any, write: Any
) -> None:
    history()
    plan = a_plan()
    if persona is not None:
        client.force_login(personas[persona])
    urls = ["/reports/plans/", f"/reports/plans/{plan.pk}/", "/reports/plans/new/",
            f"/reports/plans/{plan.pk}/edit/"]  # fmt: skip
    reads = [client.get(url) for url in urls]
    writes = [fill(client, plan), client.post("/reports/plans/new/", NEW)]
    for expected, responses in ((read, reads), (write, writes)):
        for response in responses:
            if expected == "login":
                assert response.status_code == 302
                assert response["Location"].startswith("/login/?next=")
            else:
                assert response.status_code == expected
                if expected == 403:
                    assert b"You may not do this" in response.content
    assert PipelinePlan.objects.count() == (2 if write == 302 else 1)


def test_an_unknown_plan_is_not_found(client: Client, executive: Any) -> None:
    client.force_login(executive)
    assert client.get("/reports/plans/999/").status_code == 404
    assert fill(client, PipelinePlan(pk=999)).status_code == 404


# --- Query counts ------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 20])
def test_the_pages_render_in_a_fixed_number_of_queries(
    client: Client, executive: Any, django_assert_num_queries: Any, size: int
) -> None:
    plan = a_plan()
    for index in range(size):
        a_plan(name=f"Plan {index}")
        deal("1000", "2026-01-01", "2026-02-01", "won")
        deal("1000", "2026-06-05", None, "open")
    client.force_login(executive)
    # session, user, permissions (user's and groups'), the plans, and the shell
    # (roles, rooms, alert count)
    with django_assert_num_queries(PINS["list"]):
        response = client.get("/reports/plans/")
    assert len(response.context["table"].rows) == size + 1
    # session, user, permissions, the plan, the history deals with accounts, the
    # deals opened in the window, and the shell
    with django_assert_num_queries(PINS["detail"]):
        response = client.get(f"/reports/plans/{plan.pk}/")
    assert len(response.context["tables"]["deals"].rows) == size


PINS = {"list": 8, "detail": 10}
