"""The funnel and velocity report as the server renders it (/reports/funnel/).

Figures are checked on the hand-computed scenario of tests/campaigns/scenario.py
(worked out in the docstrings below, not by the code under test), each table's
CSV against the REST API's answer for the same period to the cent, the spend
rule for sales, and the page's query count at two data sizes."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.models import ICPSegment, SegmentMembership
from tests.campaigns import scenario
from tests.factories import ICPSegmentFactory, OpportunityFactory, UserFactory
from tests.web.report_cells import cells

pytestmark = pytest.mark.django_db

PERIOD = "start=2026-01-01&end=2026-03-31"
URL = f"/reports/funnel/?{PERIOD}"


def csv_table(client: Client, table_id: str, query: str = PERIOD) -> list[dict[str, str]]:
    response = client.get(f"/reports/funnel/?{query}&csv={table_id}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def spring() -> scenario.Scenario:
    """The scenario, and a second segment "Small" holding A1 only (the Spring
    campaign's own segment holds all five targets)."""
    built = scenario.build()
    small = ICPSegmentFactory.create(name="Small")
    SegmentMembership.objects.create(segment=small, account=built.accounts["A1"])
    return built


def segment_ids() -> dict[str, int]:
    return dict(ICPSegment.objects.values_list("name", "id"))


# --- Figures by hand ---------------------------------------------------------------


def test_funnel_steps_by_hand(client: Client, executive: Any, spring: scenario.Scenario) -> None:
    """Treated targets A1, A2, A3 (H1, H2 held out). Best scores in the period:
    A1 70 (engaged >= 41, qualified >= 61), A2 50 (engaged), A3 30. Deals
    opened in the period: A1 (O1, won), A2 (O2, O3), A3 (O4). So 3 -> 2 -> 1
    -> 3 -> 1: 2/3, 1/2, 3/1, 1/3 from the step before."""
    client.force_login(executive)
    html = client.get(URL).content.decode()
    steps = cells(html, "funnel-steps")
    assert [steps[(s, "accounts")] for s in ("targeted", "engaged", "qualified", "opportunity",
                                               "won")] == ["3", "2", "1", "3", "1"]  # fmt: skip
    assert [steps[(s, "from_previous")] for s in ("engaged", "qualified", "opportunity",
                                                   "won")] == ["66.7%", "50.0%", "300.0%",
                                                               "33.3%"]  # fmt: skip
    assert steps[("won", "from_first")] == "33.3%"
    assert steps[("opportunity", "from_first")] == "100.0%"


def test_segments_by_hand(client: Client, executive: Any, spring: scenario.Scenario) -> None:
    """Segment "Small" holds A1 only: 1 -> 1 -> 1 -> 1 -> 1, one deal (O1) won in 19
    days (03-01 to 03-20) for 90,000. All target accounts: 4 deals, O1 won and
    O3 lost: a 50% win rate."""
    client.force_login(executive)
    ids = segment_ids()
    html = client.get(URL).content.decode()
    by_segment = cells(html, "funnel-segments")
    small = f"segment-{ids['Small']}"
    assert [by_segment[(small, k)] for k in ("targeted", "engaged", "qualified", "opportunity",
                                              "won", "overall")] == [
        "1", "1", "1", "1", "1", "100.0%"]  # fmt: skip
    assert by_segment[("all", "engaged_rate")] == "66.7%"
    assert by_segment[("all", "overall")] == "33.3%"
    deals = cells(html, "funnel-deals")
    assert deals[(small, "opportunities")] == "1"
    assert deals[(small, "win_rate")] == "100.0%"
    assert deals[(small, "average_deal_size")] == "90,000.00"
    assert deals[(small, "cycle_time_days")] == "19.0"
    assert deals[("all", "opportunities")] == "4"
    assert deals[("all", "win_rate")] == "50.0%"


def test_choosing_a_segment_changes_the_steps_and_the_chart(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    client.force_login(executive)
    small = segment_ids()["Small"]
    html = client.get(f"{URL}&segment={small}").content.decode()
    steps = cells(html, "funnel-steps")
    assert steps[("targeted", "accounts")] == "1"
    assert steps[("engaged", "from_previous")] == "100.0%"
    assert "Funnel: Small" in html
    # Two series in the chart: all target accounts and the segment.
    assert "Small, Target accounts: 1" in html and "All target accounts, Target accounts: 3" in html
    # The period form keeps the segment.
    assert f'name="segment" value="{small}"' in html


def test_an_unknown_segment_says_so_and_shows_all_accounts(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    client.force_login(executive)
    response = client.get(f"{URL}&segment=999999")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert cells(html, "funnel-steps")[("targeted", "accounts")] == "3"


def test_deal_metrics_by_hand(client: Client, executive: Any, spring: scenario.Scenario) -> None:
    """Opened in the period: O1 90,000, O2 10,000, O3 5,000, O4 1,000 (106,000).
    Closed in it: O1 won (19 days), O3 lost (01-05 to 01-30, 25 days): win rate
    50%, cycle (19 + 25) / 2 = 22. Sources: O1 marketing, O2 sales, O3 and O4
    other (the default)."""
    client.force_login(executive)
    html = client.get(URL).content.decode()
    segment = cells(html, "deals-segment")
    assert segment[("all", "pipeline")] == "106,000.00"
    assert segment[("all", "opportunities_opened")] == "4"
    assert segment[("all", "won_revenue")] == "90,000.00"
    assert segment[("all", "win_rate")] == "50.0%"
    assert segment[("all", "cycle_days_won")] == "19.0"
    assert segment[("all", "cycle_days_closed")] == "22.0"
    assert segment[(f"segment-{segment_ids()['Small']}", "pipeline")] == "90,000.00"
    source = cells(html, "deals-source")
    assert source[("marketing", "pipeline")] == "90,000.00"
    assert source[("sales", "pipeline")] == "10,000.00"
    assert source[("sales", "win_rate")] == "no deal won or lost"
    assert source[("other", "pipeline")] == "6,000.00"
    assert source[("other", "win_rate")] == "0.0%"
    assert source[("partner", "opportunities_opened")] == "0"
    product = cells(html, "deals-product-line")
    assert product[("(no product line)", "pipeline")] == "106,000.00"


def test_cost_per_engaged_qualified_and_opportunity_by_channel_by_hand(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    """Webinar (P1): spend 1,000; touched A1, A2, both engaged, A1 qualified:
    500 per engaged, 1,000 per qualified; O1 shared with P2 (0.5) and O2 (1):
    1.5 opportunities, 666.67 each, pipeline 45,000 + 10,000. Email (P2): 500
    in the period (the 100 the day before is not); A1: 500 per engaged and per
    qualified; 0.5 of O1: 1,000 per opportunity. O3 (before any touch) and O4
    (untouched), 6,000, by no program; the period's four add to 106,000."""
    client.force_login(executive)
    table = cells(client.get(URL).content.decode(), "channel-costs")
    assert table[("webinar", "spend")] == "1,000.00"
    assert table[("webinar", "cost_per_engaged_account")] == "500.00"
    assert table[("webinar", "cost_per_qualified_account")] == "1,000.00"
    assert table[("webinar", "opportunities_attributed")] == "1.50"
    assert table[("webinar", "cost_per_opportunity")] == "666.67"
    assert table[("webinar", "pipeline_attributed")] == "55,000.00"
    assert table[("email", "spend")] == "500.00"
    assert table[("email", "cost_per_engaged_account")] == "500.00"
    assert table[("email", "cost_per_qualified_account")] == "500.00"
    assert table[("email", "cost_per_opportunity")] == "1,000.00"
    assert table[("no-program", "pipeline_attributed")] == "6,000.00"
    assert table[("no-program", "opportunities_attributed")] == "2.00"
    assert table[("period-total", "pipeline_attributed")] == "106,000.00"
    assert table[("period-total", "opportunities_attributed")] == "4.00"


def test_marketing_sourced_close_rate_by_hand(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    """Marketing sourced O1 only, won: close rate 100%, spend 1,500 over its one
    qualified account and one deal. The rest (O2, O3, O4): none won, O3 lost,
    1,500 over 3 deals = 500; no qualified account among A2, A3."""
    client.force_login(executive)
    table = cells(client.get(URL).content.decode(), "sources")
    assert table[("marketing", "opportunities")] == "1"
    assert table[("marketing", "close_rate")] == "100.0%"
    assert table[("marketing", "cost_per_opportunity")] == "1,500.00"
    assert table[("marketing", "cost_per_qualified_account")] == "1,500.00"
    assert table[("marketing", "engaged_to_opportunity")] == "50.0%"
    assert table[("other", "opportunities")] == "3"
    assert table[("other", "close_rate")] == "0.0%"
    assert table[("other", "win_rate")] == "0.0%"
    assert table[("other", "cost_per_opportunity")] == "500.00"
    assert table[("other", "cost_per_qualified_account")] == (
        "no qualified account with such a deal"
    )


def test_a_deal_without_an_amount_is_counted_apart_never_as_zero(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    """O5 on A1, won without an amount (03-05 to 03-25): 5 deals, won 2 of 3
    decided; the average won deal stays 90,000 (not (90,000 + 0) / 2)."""
    OpportunityFactory.create(account=spring.accounts["A1"], amount=None, status="won",
                              opened_on=dt.date(2026, 3, 5), close_on=dt.date(2026, 3, 25),
                              source="marketing")  # fmt: skip
    client.force_login(executive)
    html = client.get(URL).content.decode()
    deals = cells(html, "funnel-deals")
    assert deals[("all", "opportunities")] == "5"
    assert deals[("all", "opportunities_without_amount")] == "1"
    assert deals[("all", "won_without_amount")] == "1"
    assert deals[("all", "average_deal_size")] == "90,000.00"
    assert deals[("all", "win_rate")] == "66.7%"
    segment = cells(html, "deals-segment")
    assert segment[("all", "opportunities_opened_without_amount")] == "1"
    assert segment[("all", "average_won_deal")] == "90,000.00"
    sources = cells(html, "sources")
    assert sources[("marketing", "opportunities_without_amount")] == "1"
    assert sources[("marketing", "pipeline")] == "90,000.00"


# --- The page equals the API ---------------------------------------------------------

RATES = {"win_rate", "close_rate", "engaged_to_opportunity", "qualified_to_opportunity",
         "from_previous", "from_first"}  # fmt: skip
DAYS = {"cycle_time_days", "cycle_days_won", "cycle_days_closed"}
COUNTS_TO_2 = {"opportunities_attributed"}


def api_text(key: str, value: Any) -> str:
    """An API figure as the page's CSV writes it: rates to 4 places, days to 1,
    money (and attributed counts) to the cent, counts whole; None is empty."""
    if value is None:
        return ""
    if key in RATES:
        return f"{float(value):.4f}"
    if key in DAYS:
        return f"{float(value):.1f}"
    if isinstance(value, int) and key not in COUNTS_TO_2:
        return str(value)
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def assert_row_equals_api(row: dict[str, str], api: dict[str, Any], *, skip: set[str]) -> None:
    compared = [k for k in row if k not in skip]
    assert compared
    for key in compared:
        assert row[key] == api_text(key, api[key]), key


def test_every_table_equals_the_api_to_the_cent(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    OpportunityFactory.create(account=spring.accounts["A1"], amount=None, status="won",
                              opened_on=dt.date(2026, 3, 5), close_on=dt.date(2026, 3, 25),
                              product_line="Core")  # fmt: skip
    client.force_login(executive)
    ids = segment_ids()
    api = {"funnel": client.get(f"/api/reports/funnel/?{PERIOD}").json()}
    for name, pk in ids.items():
        api[name] = client.get(f"/api/reports/funnel/?{PERIOD}&segment={pk}").json()

    # The steps, for all target accounts and for a chosen segment.
    for query, answer in ((PERIOD, api["funnel"]), (f"{PERIOD}&segment={ids['Small']}",
                                                    api["Small"])):  # fmt: skip
        rows = csv_table(client, "funnel-steps", query)
        assert len(rows) == 5
        for row, step in zip(rows, answer["steps"], strict=True):
            assert row["accounts"] == str(step["accounts"])
            if step["stage"] != "targeted":
                assert row["from_previous"] == api_text("from_previous", step["from_previous"])
                assert row["from_first"] == api_text("from_first", step["from_first"])

    by_segment = {r["segment"]: r for r in csv_table(client, "funnel-segments")}
    deals_of = {r["segment"]: r for r in csv_table(client, "funnel-deals")}
    for label, answer in [("All target accounts", api["funnel"]),
                          *((name, api[name]) for name in ids)]:  # fmt: skip
        counts = {step["stage"]: step for step in answer["steps"]}
        row = by_segment[label]
        for stage, step in counts.items():
            assert row[stage] == str(step["accounts"])
            if stage != "targeted":
                assert row[f"{stage}_rate"] == api_text("from_previous", step["from_previous"])
        assert row["overall"] == api_text("from_first", counts["won"]["from_first"])
        assert_row_equals_api(deals_of[label], answer, skip={"segment", "not_computed"})

    deal_rows = client.get(f"/api/reports/deals/?{PERIOD}").json()["rows"]
    for table_id, split in (("deals-segment", "segment"), ("deals-source", "source"),
                            ("deals-product-line", "product_line")):  # fmt: skip
        rows = csv_table(client, table_id)
        heading = next(iter(rows[0]))
        answer = [r for r in deal_rows if r["split"] in ("all", split)]
        assert [r[heading] for r in rows] == [r["group"] for r in answer]
        for row, wanted in zip(rows, answer, strict=True):
            assert_row_equals_api(row, wanted, skip={heading, "not_computed"})

    channels = client.get(f"/api/reports/programs/?{PERIOD}&view=channels").json()["rows"]
    rows = csv_table(client, "channel-costs")
    labels = {"webinar": "Webinar", "email": "Email"}
    assert [r["channel"] for r in rows] == [labels.get(r["channel"], r["channel"])
                                            for r in channels]  # fmt: skip
    for row, wanted in zip(rows, channels, strict=True):
        # The reconciling lines have no spend or accounts: empty, and the CSV says why.
        absent = {k for k in row if k not in wanted} - {"not_computed"}
        assert_row_equals_api(row, wanted, skip={"channel", "not_computed", *absent})
        assert all(row[k] == "" for k in absent)
        assert bool(absent) == bool(row["not_computed"])

    sources = client.get(f"/api/reports/programs/?{PERIOD}&view=sources").json()["rows"]
    rows = csv_table(client, "sources")
    assert len(rows) == len(sources) == 2
    for row, wanted in zip(rows, sources, strict=True):
        assert_row_equals_api(row, wanted, skip={"source", "not_computed"})


# --- Spend hidden for sales ----------------------------------------------------------


def test_sales_sees_no_cost_figure_and_is_told_why(
    client: Client, rep: Any, spring: scenario.Scenario
) -> None:
    client.force_login(rep)
    html = client.get(URL).content.decode()
    assert "Spend hidden for your role" in html
    for table_id in ("channel-costs", "sources"):
        figures = {key for _, key in cells(html, table_id)}
        assert figures and not {k for k in figures if k == "spend" or k.startswith("cost_")}
        header = csv_table(client, table_id)[0].keys()
        assert "spend" not in header and not [k for k in header if k.startswith("cost_")]
    assert "1,500.00" not in html and "666.67" not in html
    # The rest of the report is there.
    assert cells(html, "funnel-steps")[("targeted", "accounts")] == "3"
    assert cells(html, "channel-costs")[("webinar", "pipeline_attributed")] == "55,000.00"


def test_executive_and_marketer_see_the_costs(
    client: Client, marketer: Any, spring: scenario.Scenario
) -> None:
    client.force_login(marketer)
    html = client.get(URL).content.decode()
    assert "Spend hidden for your role" not in html
    assert cells(html, "channel-costs")[("webinar", "cost_per_opportunity")] == "666.67"


# --- Permissions, period, CSV ---------------------------------------------------------


def test_anonymous_visitors_log_in_and_a_user_without_a_role_gets_403(client: Client) -> None:
    response = client.get("/reports/funnel/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(UserFactory.create())
    assert client.get("/reports/funnel/").status_code == 403


def test_the_default_period_is_the_quarter_to_date(client: Client, executive: Any) -> None:
    client.force_login(executive)
    response = client.get("/reports/funnel/")
    assert response.status_code == 200
    assert "to date" in response.content.decode()
    # Nothing in the data: every funnel figure says why, none is a 0 standing in.
    steps = cells(response.content.decode(), "funnel-steps")
    assert steps[("targeted", "accounts")] == "0"
    assert steps[("engaged", "from_previous")] == "the step before has no accounts"


def test_invalid_dates_show_the_error_and_the_default_period(
    client: Client, executive: Any
) -> None:
    client.force_login(executive)
    response = client.get("/reports/funnel/?start=2026-03-31&end=2026-01-01")
    assert response.status_code == 400
    assert "The period must not end before it starts." in response.content.decode()


def test_an_unknown_csv_table_is_404(client: Client, executive: Any) -> None:
    client.force_login(executive)
    assert client.get(f"{URL}&csv=nothing").status_code == 404


# --- Query count -----------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "segments"), [(0, 0), (8, 12)])
def test_renders_in_a_fixed_number_of_queries_whatever_the_segments(
    client: Client, executive: Any, django_assert_num_queries: Any, extra: int, segments: int
) -> None:
    built = scenario.build()
    scenario.grow(extra)
    for i in range(segments):
        segment = ICPSegmentFactory.create(name=f"Extra {i:02}")
        for name in ("A1", "A2", "H1"):
            SegmentMembership.objects.create(segment=segment, account=built.accounts[name])
    client.force_login(executive)
    client.get(URL)  # warm the content types and session caches
    # session, user, the permission check's two (user's and groups'),
    # measurement_load's ten, segment_funnels' two, deal_metrics' three,
    # the shell's rooms, alert count and roles
    with django_assert_num_queries(22):
        response = client.get(URL)
    assert response.status_code == 200
    assert len(cells(response.content.decode(), "funnel-segments")) >= 10 * (segments + 2)
