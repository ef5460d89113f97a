"""The overview page (`/reports/`): its figures by hand
(tests/campaigns/overview_scenario.py), the same as the API's to the cent,
no spend for sales, permissions, a bad period, and its query count."""

from __future__ import annotations

import csv
import io
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from tests.campaigns import overview_scenario as scenario
from tests.factories import UserFactory
from web.overview_pages import overview_section
from web.report_period import report_period

pytestmark = pytest.mark.django_db

Q2 = "start=2026-04-01&end=2026-06-30"


@pytest.fixture
def built() -> None:
    scenario.build()


def page_csv(client: Client, query: str, table: str) -> list[dict[str, str]]:
    response = client.get(f"/reports/?{query}&csv={table}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def by_figure(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["figure"]: row for row in rows}


def card_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-kpi="([^"]+)">.*?data-value="([^"]*)"', html, re.S))


def test_the_figures_by_hand(client: Client, executive: Any, built: None) -> None:
    client.force_login(executive)
    figures = by_figure(page_csv(client, Q2, "overview-figures"))
    expected = {  # label: (this period, previous), from the scenario's docstring
        "Spend": ("1750.50", "2000.00"),
        "Pipeline": ("30000.00", "43000.00"),
        "Won revenue": ("40000.00", "12000.00"),
        "Pipeline per unit of spend": (f"{30000 / 1750.5:.2f}", "21.50"),
        "Accounts engaged": ("2", "2"),
        "Accounts qualified": ("1", "1"),
        "Opportunities opened": ("4", "3"),
        "Win rate": ("0.7500", "0.6667"),
        "Average deal size": ("20000.00", "6000.00"),
        "Cycle time (days)": ("34.3", "35.0"),
        "Opened without an amount": ("2", "0"),
        "Deals won": ("3", "2"),
        "Deals lost": ("1", "1"),
        "Won without an amount": ("1", "0"),
    }
    assert list(figures) == list(expected)
    for label, (now, before) in expected.items():
        assert (figures[label]["current"], figures[label]["previous"]) == (now, before), label
    # (1,750.50 - 2,000) / 2,000 = -0.12475, written to four places
    assert float(figures["Spend"]["change"]) == pytest.approx(-0.12475, abs=0.00005)
    assert figures["Won revenue"]["change"] == "2.3333"
    assert figures["Accounts engaged"]["change"] == "0.0000"
    html = client.get(f"/reports/?{Q2}").content.decode()
    cards = card_values(html)
    assert cards["spend"] == "1750.50" and cards["win_rate"] == "0.7500"
    # The change is told by an arrow and a word, not by colour alone.
    assert re.search(r'data-kpi="spend">.*?kpi-direction">down</span> -12\.5%', html, re.S)
    assert re.search(r'data-kpi="won_revenue">.*?kpi-direction">up</span> \+233\.3%', html, re.S)
    assert re.search(r'data-kpi="accounts_engaged">.*?kpi-direction">no change', html, re.S)


def test_the_months_add_up_to_the_period(client: Client, executive: Any, built: None) -> None:
    client.force_login(executive)
    months = {row["month"]: row for row in page_csv(client, Q2, "overview-months")}
    assert list(months) == ["2026-04", "2026-05", "2026-06", "Period"]
    assert [months[m]["spend"] for m in months] == ["1000.00", "750.50", "", "1750.50"]
    assert [months[m]["pipeline"] for m in months] == ["10000.00", "20000.00", "0.00", "30000.00"]
    assert [months[m]["won_revenue"] for m in months] == [
        "30000.00",
        "10000.00",
        "0.00",
        "40000.00",
    ]
    assert months["2026-06"]["not_computed"] == "spend: no spend recorded in the month"
    html = client.get(f"/reports/?{Q2}").content.decode()
    assert 'id="overview-months-chart"' in html
    assert html.count('class="chart-series chart-series-') == 3 * 3 - 1  # June has no spend


PERIODS = [Q2, "start=2026-04-06&end=2026-05-20", "start=2024-01-01&end=2024-03-31",
           "start=2026-02-10&end=2026-06-15"]  # fmt: skip


@pytest.mark.parametrize("query", PERIODS)
def test_the_page_equals_the_api_to_the_cent(
    client: Client, executive: Any, built: None, query: str
) -> None:
    client.force_login(executive)
    api = APIClient()
    api.force_authenticate(executive)
    start, end = (part.split("=")[1] for part in query.split("&"))
    answer = api.get("/api/reports/overview/", {"start": start, "end": end}).json()
    now, before, change = answer["rows"]
    figures = {row["figure"]: row for row in page_csv(client, query, "overview-figures")}
    places = {"pipeline_per_spend": 2, "win_rate": 4, "cycle_time_days": 1}
    labels = {
        "spend": "Spend",
        "pipeline": "Pipeline",
        "won_revenue": "Won revenue",
        "pipeline_per_spend": "Pipeline per unit of spend",
        "accounts_engaged": "Accounts engaged",
        "accounts_qualified": "Accounts qualified",
        "opportunities_opened": "Opportunities opened",
        "win_rate": "Win rate",
        "average_deal_size": "Average deal size",
        "cycle_time_days": "Cycle time (days)",
    }

    def as_api(value: Any, key: str) -> str:
        if value is None:
            return ""
        if key in places:
            return f"{value:.{places[key]}f}"
        return str(value)

    for key, label in labels.items():
        row = figures[label]
        assert row["current"] == as_api(now[key], key), (label, "current")
        assert row["previous"] == as_api(before[key], key), (label, "previous")
        expected_change = "" if change[key] is None else f"{change[key]:.4f}"
        assert row["change"] == expected_change, (label, "change")
        for period_row in (now, before):
            if period_row[key] is None:
                assert period_row["missing"][key] in row["not_computed"]
    months = page_csv(client, query, "overview-months")
    assert [m["month"] for m in months[:-1]] == [m["month"] for m in answer["months"]]
    for page_month, api_month in zip(months, [*answer["months"], now], strict=True):
        for key in ("spend", "pipeline", "won_revenue"):
            assert page_month[key] == (api_month[key] or ""), (page_month["row"], key)
    total = months[-1]
    assert sum(Decimal(m["pipeline"]) for m in months[:-1]) == Decimal(total["pipeline"])
    assert sum(Decimal(m["won_revenue"]) for m in months[:-1]) == Decimal(total["won_revenue"])


def test_the_board_pack_link_carries_the_period_for_those_who_may_download_it(
    client: Client, rep: Any, executive: Any, built: None
) -> None:
    client.force_login(executive)
    html = client.get(f"/reports/?{Q2}").content.decode()
    assert f'href="/reports/board-pack.pdf?{Q2.replace("&", "&amp;")}"' in html
    client.force_login(rep)
    assert "board-pack.pdf" not in client.get(f"/reports/?{Q2}").content.decode()


def test_sales_sees_no_spend_on_the_page_or_in_its_csv(
    client: Client, rep: Any, built: None
) -> None:
    client.force_login(rep)
    html = client.get(f"/reports/?{Q2}").content.decode()
    assert "spend hidden for your role" in html
    assert card_values(html)["spend"] == "hidden"
    assert card_values(html)["pipeline_per_spend"] == "hidden"
    assert "1,750.50" not in html and "17.14" not in html and "1,000.00" not in html
    months_html = re.search(r'<table[^>]*id="overview-months".*?</table>', html, re.S)
    assert months_html and "Spend" not in months_html[0]
    figures = page_csv(client, Q2, "overview-figures")
    assert "Spend" not in {row["figure"] for row in figures}
    assert "Pipeline per unit of spend" not in {row["figure"] for row in figures}
    months = page_csv(client, Q2, "overview-months")
    assert "spend" not in months[0]
    assert by_figure(figures)["Pipeline"]["current"] == "30000.00"
    # Two series in the chart: pipeline and won revenue.
    assert html.count('class="chart-series chart-series-') == 3 * 2


@pytest.mark.parametrize(("persona", "sees_spend"), [("executive", True), ("marketer", True),
                                                     ("rep", False)])  # fmt: skip
def test_every_role_reads_the_overview_and_only_spend_holders_see_spend(
    client: Client, built: None, persona: str, sees_spend: bool, request: Any
) -> None:
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/reports/?{Q2}")
    assert response.status_code == 200
    assert (card_values(response.content.decode())["spend"] == "1750.50") is sees_spend
    assert ("Spend" in by_figure(page_csv(client, Q2, "overview-figures"))) is sees_spend


def test_permissions(client: Client, built: None) -> None:
    assert client.get("/reports/")["Location"].startswith("/login/")
    client.force_login(UserFactory.create(username="nobody"))
    response = client.get("/reports/")
    assert response.status_code == 403


def test_a_bad_period_shows_its_error_and_the_default_period(
    client: Client, executive: Any, built: None
) -> None:
    client.force_login(executive)
    response = client.get("/reports/?start=2026-05-01&end=2026-04-01")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The period must not end before it starts." in html
    assert "to date" in html  # the quarter to date is shown meanwhile
    assert client.get(f"/reports/?{Q2}&csv=nope").status_code == 404


@pytest.mark.parametrize("extra", [0, 12])
def test_the_page_renders_in_a_fixed_number_of_queries(
    client: Client, executive: Any, django_assert_num_queries: Any, extra: int
) -> None:
    scenario.build()
    scenario.grow(extra)
    client.force_login(executive)
    # session, user, the permission check (user's and groups' permissions),
    # the report's four, the shell's rooms and report tabs, alert count and roles
    with django_assert_num_queries(11):
        response = client.get(f"/reports/?{Q2}")
    assert response.status_code == 200


def test_a_year_of_the_demo_data_renders_quickly(client: Client, executive: Any) -> None:
    """The issue asks for well under a second; the bound is `manage.py bench`'s
    to keep, this records the time measured here."""
    call_command("seed_demo", verbosity=0)
    client.force_login(executive)
    client.get("/reports/")  # warm the templates and the permission cache
    query = "start=2025-12-03&end=2026-12-02"
    took = []
    for _ in range(3):
        began = time.perf_counter()
        response = client.get(f"/reports/?{query}")
        took.append(time.perf_counter() - began)
        assert response.status_code == 200
    print(f"\noverview page, a year of the demo data: best {min(took):.3f} s of {took}")
    assert len(card_values(response.content.decode())) == 10


def test_the_section_renders_for_print_without_forms_or_links(executive: Any, built: None) -> None:
    """The board pack renders overview_section's body on its own, printing."""
    request = RequestFactory().get(f"/reports/?{Q2}")
    request.user = executive
    section = overview_section(period=report_period(request), user=executive)
    assert [t.id for t in section.tables] == ["overview-figures", "overview-months"]
    html = render_to_string(
        section.template_name, {"report": section.context, "printing": True, "request": request}
    )
    assert "<form" not in html and "Download CSV" not in html
    assert "The figures: 2026-04-01 to 2026-06-30" in html
    assert card_values(html)["pipeline"] == "30000.00"
    assert 'id="overview-months-chart"' in html
