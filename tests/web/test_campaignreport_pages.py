"""The executive campaign report (`/reports/campaigns/`) as the server renders it.

Figures are checked on the hand-computed scenario of tests/campaigns/scenario.py
(lift and its Welch interval worked out with the helpers of
tests/web/test_spendreport_pages.py, which integrate Student's density rather
than call the code under test); the closing lines against plain SQL; every
table's CSV against the REST API's `/api/reports/programs/` for the same
period, to the cent."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from accounts.models import SegmentMembership
from campaigns.models import Spend, Touch
from campaigns.periods import default_period
from engagement.models import EngagementSnapshot, ScoringModel
from tests.campaigns import scenario
from tests.factories import AccountFactory, CampaignTargetFactory, ProgramFactory, UserFactory
from tests.lift_by_hand import welch
from tests.web.report_cells import cells
from web.campaignreport_pages import campaign_report_section
from web.report_period import report_period

pytestmark = pytest.mark.django_db

URL = "/reports/campaigns/"
PERIOD = f"start={scenario.START.isoformat()}&end={scenario.END.isoformat()}"


# --- Helpers ----------------------------------------------------------------------


def csv_table(client: Client, table_id: str, query: str = PERIOD) -> dict[str, dict[str, str]]:
    """A table's CSV download, row label -> column -> value."""
    response = client.get(f"{URL}?{query}&csv={table_id}")
    assert response.status_code == 200, table_id
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header = rows[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}


def api(client: Client, view: str, query: str = PERIOD) -> dict[str, Any]:
    response = client.get(f"/api/reports/programs/?view={view}&{query}")
    assert response.status_code == 200
    answer: dict[str, Any] = json.loads(response.content)
    return answer


def to_cents(value: Any) -> str:
    """An API figure (number or string) as the CSV writes money: to the cent."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def sql_one(query: str, params: list[Any]) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def spring() -> scenario.Scenario:
    return scenario.build()


# --- Permissions ------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get(f"{URL}?csv=campaign-pipeline").status_code == 302


def test_a_user_without_a_role_gets_the_403_page(client: Client) -> None:
    login(client, UserFactory.create())
    response = client.get(URL)
    assert response.status_code == 403 and b"You may not do this" in response.content
    assert client.get(f"{URL}?csv=pipeline").status_code == 403


@pytest.mark.parametrize("role", ["rep", "executive", "marketer"])
def test_every_role_reads_the_report(client: Client, personas: dict[str, Any], role: str) -> None:
    response = login(client, personas[role]).get(URL)
    assert response.status_code == 200
    assert "<h1>Campaign report</h1>" in response.content.decode()
    # quarter to date by default
    shown = response.context["period"].current
    assert shown == default_period(dt.date.today())


def test_an_unknown_table_is_404(client: Client, executive: Any) -> None:
    assert login(client, executive).get(f"{URL}?csv=nothing").status_code == 404


def test_bad_dates_show_the_error_beside_the_field_and_the_default_period(
    client: Client, executive: Any
) -> None:
    response = login(client, executive).get(f"{URL}?start=2026-03-01&end=2026-02-01")
    assert response.status_code == 200
    assert response.context["period"].form.errors["end"] == [
        "The period must not end before it starts."
    ]
    assert response.context["report"]["period"] == default_period(dt.date.today())
    assert "The period must not end before it starts." in response.content.decode()


# --- Figures by hand ----------------------------------------------------------------


def test_campaign_and_programs_by_hand(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    """tests/campaigns/scenario.py: deltas A1 60, A2 30, A3 30 treated; H1 10, H2 0
    held out. P1 (webinar) touched A1, A2; P2 (email) touched A1. O1 90,000 won
    on A1 (P1 and P2), O2 10,000 on A2 (P1), O3 5,000 and O4 1,000 by no program."""
    html = login(client, executive).get(f"{URL}?{PERIOD}").content.decode()
    lift, pipeline, spend = (cells(html, t) for t in ("lift", "pipeline", "spend"))
    c, p1, p2 = (
        f"campaign-{spring.campaign.pk}",
        f"program-{spring.p1.pk}",
        f"program-{spring.p2.pk}",
    )
    # Lift: the whole campaign, every treated target against the holdout.
    estimate, low, high = welch([60, 30, 30], [10, 0])
    assert lift[(c, "lift")] == "35.00" and estimate == 35
    assert lift[(c, "lift_interval")] == f"{low:,.2f} to {high:,.2f}"
    assert (lift[(c, "lift_treated")], lift[(c, "lift_holdout")]) == ("3", "2")
    assert lift[(c, "lift_not_measured")] == "0" and lift[(c, "lift_kind")] == "holdout"
    estimate, low, high = welch([60, 30], [10, 0])
    assert lift[(p1, "lift")] == "40.00" and lift[(p1, "lift_interval")] == (
        f"{low:,.2f} to {high:,.2f}"
    )
    assert lift[(p2, "lift")] == "55.00"  # A1's 60 against the holdout's mean 5
    assert lift[(p2, "lift_interval")] == (
        "too few accounts for an interval (treated 1, holdout 2 measured)"
    )
    # Accounts: touched A1, A2 (engaged: 70, 50; qualified: A1's 70).
    assert [pipeline[(c, k)] for k in ("accounts_touched", "accounts_engaged",
                                       "accounts_qualified")] == ["2", "2", "1"]  # fmt: skip
    assert [pipeline[(p2, k)] for k in ("accounts_touched", "accounts_engaged",
                                        "accounts_qualified")] == ["1", "1", "1"]  # fmt: skip
    # Pipeline: O1 split between P1 and P2, O2 P1's alone.
    assert pipeline[(p1, "opportunities_influenced")] == "2"
    assert pipeline[(p1, "opportunities_attributed")] == "1.50"
    assert pipeline[(p1, "pipeline_influenced")] == "100,000.00"
    assert pipeline[(p1, "pipeline_attributed")] == "55,000.00"
    assert pipeline[(p2, "pipeline_attributed")] == "45,000.00"
    assert pipeline[(c, "pipeline_attributed")] == "100,000.00"
    assert pipeline[(c, "won_revenue_attributed")] == "90,000.00"
    assert pipeline[(p1, "won_revenue_attributed")] == "45,000.00"
    assert pipeline[(p1, "won_revenue_influenced")] == "90,000.00"
    # The closing lines: O3 + O4 by no program; the period's four deals.
    assert pipeline[("no-program", "pipeline_attributed")] == "6,000.00"
    assert pipeline[("no-program", "opportunities_influenced")] == "2"
    assert pipeline[("no-program", "won_revenue_attributed")] == "0.00"
    assert pipeline[("period-total", "pipeline_attributed")] == "106,000.00"
    assert pipeline[("period-total", "opportunities_influenced")] == "4"
    assert pipeline[("period-total", "won_revenue_attributed")] == "90,000.00"
    # Spend in the period: 1,000 + 500 (P2's 100 of 2025-12-31 is before it).
    assert spend[(c, "spend")] == "1,500.00"
    assert spend[(c, "cost_per_engaged_account")] == "750.00"  # 1,500 / 2
    assert spend[(c, "cost_per_opportunity")] == "750.00"  # 1,500 / 2 attributed
    assert spend[(c, "pipeline_per_spend")] == "66.67"  # 100,000 / 1,500
    assert spend[(c, "won_revenue_per_spend")] == "60.00"  # 90,000 / 1,500
    assert spend[(p1, "cost_per_opportunity")] == "666.67"  # 1,000 / 1.5
    assert spend[(p2, "pipeline_per_spend")] == "90.00"  # 45,000 / 500
    assert spend[(p2, "won_revenue_per_spend")] == "90.00"  # 45,000 / 500
    # Error bars: the campaign and P1 have an interval, P2 has none.
    chart = re.search(r'<svg[^>]*id="lift-campaigns".*?</svg>', html, re.S)
    assert chart and chart.group(0).count('class="chart-interval"') == 2


def test_channels_by_hand(client: Client, executive: Any, spring: scenario.Scenario) -> None:
    """Webinar is P1 alone, email P2 alone: the same figures as those programs."""
    html = login(client, executive).get(f"{URL}?{PERIOD}").content.decode()
    lift, pipeline, spend = (
        cells(html, t) for t in ("channel-lift", "channel-pipeline", "channel-spend")
    )
    estimate, low, high = welch([60, 30], [10, 0])
    assert lift[("channel-webinar", "lift")] == f"{estimate:.2f}" == "40.00"
    assert lift[("channel-webinar", "lift_interval")] == f"{low:,.2f} to {high:,.2f}"
    assert lift[("channel-email", "lift")] == "55.00"
    assert pipeline[("channel-webinar", "pipeline_attributed")] == "55,000.00"
    assert pipeline[("channel-email", "pipeline_attributed")] == "45,000.00"
    assert pipeline[("no-program", "pipeline_attributed")] == "6,000.00"
    assert pipeline[("period-total", "pipeline_attributed")] == "106,000.00"
    assert spend[("channel-webinar", "spend")] == "1,000.00"
    assert spend[("channel-email", "cost_per_engaged_account")] == "500.00"  # 500 / A1
    chart = re.search(r'<svg[^>]*id="lift-channels".*?</svg>', html, re.S)
    assert chart and chart.group(0).count('class="chart-interval"') == 1


def test_scatter_sizes_points_by_lift_and_says_how_each_is_drawn(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    """A negative lift draws the smallest circle; a program without spend is
    not drawn. P3 touched A4 (treated, 10 -> 0): lift -10 - 5 = -15."""
    segment = spring.campaign.segment
    assert segment is not None
    a4 = AccountFactory.create(name="A4")
    SegmentMembership.objects.create(segment=segment, account=a4)
    CampaignTargetFactory.create(campaign=spring.campaign, account=a4, in_holdout=False)
    version = ScoringModel.objects.get(segment=segment).version
    for day, score in ((scenario.START, 10), (scenario.END, 0)):
        EngagementSnapshot.objects.create(
            account=a4, segment=segment, day=day, score=score, model_version=version,
            raw_score=0, stage="aware",
        )  # fmt: skip
    p3 = ProgramFactory.create(campaign=spring.campaign, channel="display", name="P3 display")
    Spend.objects.create(program=p3, spent_on=dt.date(2026, 3, 1), amount=Decimal("200"))
    Touch.objects.create(program=p3, account=a4, first_touch_at=scenario.at("2026-02-01"),
                         last_touch_at=scenario.at("2026-02-01"), touch_count=1)  # fmt: skip
    p4 = ProgramFactory.create(campaign=spring.campaign, channel="event", name="P4 unpaid")
    html = login(client, executive).get(f"{URL}?{PERIOD}").content.decode()
    table = cells(html, "scatter")
    assert table[(f"program-{p3.pk}", "lift")] == "-15.00"
    assert table[(f"program-{p3.pk}", "point")] == "smallest: lift at or below 0"
    assert table[(f"program-{spring.p1.pk}", "point")] == "sized by lift"
    assert table[(f"program-{p4.pk}", "spend")] == "no spend recorded in the period"
    assert table[(f"program-{p4.pk}", "point")].startswith("not drawn: no spend")
    svg = re.search(r'<svg[^>]*id="spend-pipeline-scatter".*?</svg>', html, re.S)
    assert svg
    radius = {
        name: float(r) for r, name in re.findall(r'r="([\d.]+)"[^>]*><title>([^:]+):', svg.group(0))
    }
    # Area by lift: P2 (55) the largest, P1 (40) by sqrt(40/55), P3 the smallest; P4 absent.
    assert set(radius) == {spring.p1.name, spring.p2.name, "P3 display"}
    assert radius[spring.p2.name] == 15.0 and radius["P3 display"] == 3.0
    assert radius[spring.p1.name] == round(3 + 12 * (40 / 55) ** 0.5, 1)


# --- Reconciliation -------------------------------------------------------------------


@pytest.mark.parametrize("extra", [0, 3])
def test_attributed_plus_no_program_is_the_period_total(
    client: Client, executive: Any, extra: int
) -> None:
    """The campaigns' attributed pipeline, opportunities and won revenue plus
    "influenced by no program" equal the period's opportunities in plain SQL;
    the same for the channels. `grow` adds deals without an account: no program
    can have influenced them."""
    scenario.build()
    scenario.grow(extra)
    login(client, executive)
    total_count, total_amount = sql_one(
        "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM accounts_opportunity "
        "WHERE opened_on BETWEEN %s AND %s",
        [scenario.START, scenario.END],
    )
    unassigned = sql_one(
        "SELECT COALESCE(SUM(amount), 0) FROM accounts_opportunity "
        "WHERE opened_on BETWEEN %s AND %s AND account_id IS NULL",
        [scenario.START, scenario.END],
    )[0]
    for table_id in ("pipeline", "channel-pipeline"):
        rows = csv_table(client, table_id)
        total = rows["Period total: every opportunity opened"]
        none = rows["Influenced by no program"]
        assert Decimal(total["pipeline_attributed"]) == Decimal(total_amount)
        assert int(total["opportunities_influenced"]) == total_count
        # scenario's O3 and O4, and every deal without an account
        assert Decimal(none["pipeline_attributed"]) == Decimal("6000") + Decimal(unassigned)
        lines = {"Influenced by no program", "Period total: every opportunity opened"}
        if table_id == "pipeline":  # the campaigns' rows (each the sum of its programs')
            measured = [r for label, r in rows.items() if label.endswith("(whole campaign)")]
        else:
            measured = [r for label, r in rows.items() if label not in lines]
        assert measured
        for key in ("pipeline_attributed", "opportunities_attributed", "won_revenue_attributed"):
            attributed = sum(Decimal(r[key]) for r in measured)
            assert attributed + Decimal(none[key]) == Decimal(total[key]), (table_id, key)


# --- The page equals the API -------------------------------------------------------


MONEY = ("opportunities_attributed", "pipeline_influenced", "pipeline_attributed",
         "won_revenue_influenced", "won_revenue_attributed")  # fmt: skip
COUNTS = ("accounts_touched", "accounts_engaged", "accounts_qualified", "opportunities_influenced")
SPEND = ("spend", "cost_per_engaged_account", "cost_per_opportunity", "pipeline_per_spend",
         "won_revenue_per_spend")  # fmt: skip
LINES = {
    "(influenced by no program)": "Influenced by no program",
    "(period total: all opportunities opened in the period)": (
        "Period total: every opportunity opened"
    ),
}


def _label(row: dict[str, Any], view: str) -> str:
    name = row[{"campaigns": "campaign", "programs": "program", "channels": "channel"}[view]]
    if name in LINES:
        return LINES[name]
    if view == "campaigns":
        return f"{name} (whole campaign)"
    if view == "channels":
        return {"webinar": "Webinar", "email": "Email", "display": "Display"}[name]
    return str(name)


def _compare(client: Client, *, spend_shown: bool, query: str = PERIOD) -> int:
    """Every figure of every table's CSV against the API's, to the cent."""
    compared = 0
    for view, prefix in (("campaigns", ""), ("programs", ""), ("channels", "channel-")):
        answer = api(client, view, query)
        assert ("spend_hidden" in answer) is not spend_shown
        pipeline = csv_table(client, f"{prefix}pipeline", query)
        lift = csv_table(client, f"{prefix}lift", query)
        spend = csv_table(client, f"{prefix}spend", query) if spend_shown else {}
        for row in answer["rows"]:
            label = _label(row, view)
            for key in MONEY:
                assert pipeline[label][key] == to_cents(row[key]), (label, key)
            for key in COUNTS:
                if row.get(key) is not None:
                    assert pipeline[label][key] == str(row[key]), (label, key)
            compared += 1
            if "lift" not in row:
                continue
            figures = row["lift"]
            for key, api_key in (("lift", "estimate"), ("lift_low", "low"), ("lift_high", "high")):
                expected = "" if figures[api_key] is None else to_cents(figures[api_key])
                assert lift[label][key] == expected, (label, key)
            assert lift[label]["lift_treated"] == str(figures["treated"])
            assert lift[label]["lift_holdout"] == str(figures["holdout"])
            assert lift[label]["lift_not_measured"] == str(figures["not_measured"])
            if spend_shown:
                for key in SPEND:
                    if spend[label][key] != "":
                        assert spend[label][key] == to_cents(row[key]), (label, key)
                    else:  # the API's 0 spend or None ratio: the CSV says why
                        assert row[key] is None or Decimal(str(row["spend"])) == 0, (label, key)
                        assert spend[label]["not_computed"], (label, key)
            else:
                assert row["spend"] is None
    return compared


def test_every_table_equals_the_api_to_the_cent(client: Client, executive: Any) -> None:
    scenario.build()
    scenario.grow(2)
    assert _compare(login(client, executive), spend_shown=True) > 10


def test_the_page_equals_the_api_for_sales_too(client: Client, rep: Any) -> None:
    scenario.build()
    assert _compare(login(client, rep), spend_shown=False) > 5


def test_the_page_shows_what_the_csv_holds(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    login(client, executive)
    html = client.get(f"{URL}?{PERIOD}").content.decode()
    page = cells(html, "pipeline")
    rows = csv_table(client, "pipeline")
    label = f"{spring.p1.name}"
    assert page[(f"program-{spring.p1.pk}", "pipeline_attributed")] == (
        f"{Decimal(rows[label]['pipeline_attributed']):,}"
    )
    assert page[("period-total", "pipeline_attributed")] == (
        f"{Decimal(rows['Period total: every opportunity opened']['pipeline_attributed']):,}"
    )


# --- Spend hidden for sales ----------------------------------------------------------


def test_sales_sees_every_non_spend_figure_and_no_spend(
    client: Client, rep: Any, spring: scenario.Scenario
) -> None:
    login(client, rep)
    html = client.get(f"{URL}?{PERIOD}").content.decode()
    assert "Spend hidden for your role" in html
    for table_id in ("spend", "channel-spend", "scatter"):
        assert f'id="{table_id}"' not in html
        assert client.get(f"{URL}?{PERIOD}&csv={table_id}").status_code == 404
    assert 'id="spend-pipeline-scatter"' not in html
    assert "1,500.00" not in html and "666.67" not in html
    assert "cost_per" not in "".join(
        client.get(f"{URL}?{PERIOD}&csv={t}").content.decode()
        for t in ("lift", "pipeline", "channel-lift", "channel-pipeline")
    )
    assert cells(html, "pipeline")[("period-total", "pipeline_attributed")] == "106,000.00"
    assert cells(html, "lift")[(f"campaign-{spring.campaign.pk}", "lift")] == "35.00"


@pytest.mark.parametrize("role", ["executive", "marketer"])
def test_executives_and_marketers_see_spend(
    client: Client, personas: dict[str, Any], role: str, spring: scenario.Scenario
) -> None:
    html = login(client, personas[role]).get(f"{URL}?{PERIOD}").content.decode()
    assert 'id="spend"' in html and 'id="spend-pipeline-scatter"' in html
    assert "Spend hidden for your role" not in html


# --- What cannot be computed ----------------------------------------------------------


def test_a_period_outside_the_data_says_why_there_is_no_lift(
    client: Client, executive: Any, spring: scenario.Scenario
) -> None:
    html = login(client, executive).get(f"{URL}?start=2020-01-01&end=2020-03-31").content.decode()
    assert "No lift can be measured for this period: the period starts on 2020-01-01" in html
    lift = cells(html, "lift")
    assert "before any stored activity or score" in lift[(f"campaign-{spring.campaign.pk}", "lift")]
    assert html.count('class="chart-interval"') == 0
    assert "No campaign or program has an interval to draw in this period." in html
    spend = cells(html, "spend")
    assert spend[(f"campaign-{spring.campaign.pk}", "spend")] == "no spend recorded in the period"


# --- The board pack's section ---------------------------------------------------------


def test_the_section_renders_for_print_without_forms_or_csv_links(
    executive: Any, spring: scenario.Scenario
) -> None:
    request = RequestFactory().get(URL, {"start": str(scenario.START), "end": str(scenario.END)})
    request.user = executive
    section = campaign_report_section(period=report_period(request), user=executive)
    assert section.title == "Campaign report"
    assert [t.id for t in section.tables] == [
        "lift", "pipeline", "channel-lift", "channel-pipeline", "spend", "channel-spend", "scatter",
    ]  # fmt: skip
    html = render_to_string(
        section.template_name, {"report": section.context, "printing": True, "request": request}
    )
    assert "<form" not in html and "Download CSV" not in html
    assert cells(html, "pipeline")[("period-total", "pipeline_attributed")] == "106,000.00"
    assert 'id="lift-campaigns"' in html and 'id="spend-pipeline-scatter"' in html


# --- Queries -------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [0, 8])
def test_the_page_renders_in_a_fixed_number_of_queries(
    client: Client, executive: Any, django_assert_num_queries: Any, extra: int
) -> None:
    scenario.build()
    scenario.grow(extra)
    login(client, executive)
    # session, user, the user's and the groups' permissions, measurement_load's
    # ten, the shell's rooms, alert count and roles
    with django_assert_num_queries(17):
        response = client.get(f"{URL}?{PERIOD}")
    assert response.status_code == 200
    assert len(response.context["report"]["campaigns"].lift.rows) == 3 + 2 * extra
