"""Spend lines and the campaign report as the server renders them.

The report's figures are checked on the hand-computed scenario of
tests/campaigns/scenario.py (lift and its Welch interval worked out below,
with the t quantile found by integrating Student's density numerically, not
by the code under test), and against the REST API's campaign report to the
cent; spend totals against plain SQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from campaigns import services
from campaigns.models import Spend
from tests.campaigns import scenario
from tests.factories import (
    CampaignFactory,
    CampaignTargetFactory,
    ProgramFactory,
    SpendFactory,
    UserFactory,
)
from tests.lift_by_hand import t_quantile_975, welch
from tests.web.report_cells import cells

pytestmark = pytest.mark.django_db


# --- Helpers ----------------------------------------------------------------------


def cents(value: Any) -> str:
    """An API figure (float or string) to the cent, with thousands separators."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):,}"


def spend_sql(campaign_id: int) -> Decimal:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(s.amount), 0) FROM campaigns_spend s JOIN campaigns_program p "
            "ON p.id = s.program_id WHERE p.campaign_id = %s",
            [campaign_id],
        )
        return Decimal(str(cursor.fetchone()[0]))


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


# --- Permissions ------------------------------------------------------------------


def _urls(campaign_id: int, line_id: int) -> dict[str, str]:
    base = f"/campaigns/{campaign_id}"
    return {
        "spend": f"{base}/spend/",
        "edit": f"{base}/spend/{line_id}/edit/",
        "delete": f"{base}/spend/{line_id}/delete/",
        "report": f"{base}/report/",
        "csv": f"{base}/report.csv",
    }


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    line = SpendFactory.create()
    for url in _urls(line.program.campaign_id, line.pk).values():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    response = client.post(_urls(line.program.campaign_id, line.pk)["spend"], {})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Spend.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        # sales reads campaigns but not spend; executives read both; marketers do all
        ("rep", {"spend": 403, "edit": 403, "delete": 403, "report": 200, "csv": 200}),
        ("executive", {"spend": 200, "edit": 403, "delete": 403, "report": 200, "csv": 200}),
        ("marketer", {"spend": 200, "edit": 200, "delete": 200, "report": 200, "csv": 200}),
    ],
)
def test_who_may_open_each_page(
    client: Client, personas: dict[str, Any], role: str, expected: dict[str, int]
) -> None:
    line = SpendFactory.create()
    login(client, personas[role])
    urls = _urls(line.program.campaign_id, line.pk)
    for name, status in expected.items():
        response = client.get(urls[name])
        assert response.status_code == status, (role, name)
        if status == 403:
            assert b"You may not do this" in response.content


@pytest.mark.parametrize("role", ["rep", "executive"])
def test_readers_cannot_write_spend(client: Client, personas: dict[str, Any], role: str) -> None:
    line = SpendFactory.create()
    urls = _urls(line.program.campaign_id, line.pk)
    login(client, personas[role])
    form = {
        "program": line.program_id,
        "spent_on": "2026-02-01",
        "amount": "5",
        "currency": "USD",
        "description": "",
    }
    assert client.post(urls["spend"], form).status_code == 403
    assert client.post(urls["edit"], form).status_code == 403
    assert client.post(urls["delete"]).status_code == 403
    assert list(Spend.objects.values_list("amount", flat=True)) == [Decimal("1000.00")]


def test_a_user_without_a_role_gets_403_on_the_report(client: Client) -> None:
    line = SpendFactory.create()
    login(client, UserFactory.create())
    assert client.get(f"/campaigns/{line.program.campaign_id}/report/").status_code == 403


def test_unknown_campaign_and_a_line_of_another_campaign_are_404(
    client: Client, marketer: Any
) -> None:
    line = SpendFactory.create()
    other = CampaignFactory.create()
    login(client, marketer)
    assert client.get("/campaigns/999999/spend/").status_code == 404
    assert client.get("/campaigns/999999/report/").status_code == 404
    assert client.get(f"/campaigns/{other.pk}/spend/{line.pk}/edit/").status_code == 404
    assert client.post(f"/campaigns/{other.pk}/spend/{line.pk}/delete/").status_code == 404
    assert Spend.objects.filter(pk=line.pk).exists()


# --- Spend: the page, adding, changing, deleting -------------------------------------


def test_spend_page_totals_per_program_and_against_the_budget(
    client: Client, marketer: Any
) -> None:
    campaign = CampaignFactory.create(budget=Decimal("2000.00"), currency="USD")
    webinar = ProgramFactory.create(campaign=campaign, name="Webinar")
    email = ProgramFactory.create(campaign=campaign, name="Email")
    silent = ProgramFactory.create(campaign=campaign, name="Silent")
    SpendFactory.create(program=webinar, amount=Decimal("1200.50"), spent_on=dt.date(2026, 1, 3))
    SpendFactory.create(program=webinar, amount=Decimal("300.25"), spent_on=dt.date(2026, 2, 3))
    SpendFactory.create(program=email, amount=Decimal("700.00"))
    SpendFactory.create(program=email, amount=Decimal("99.00"), currency="EUR")
    SpendFactory.create(program=ProgramFactory.create(), amount=Decimal("5000"))  # elsewhere
    html = login(client, marketer).get(f"/campaigns/{campaign.pk}/spend/").content.decode()
    # By hand: webinar 1,500.75; email 700.00 USD and 99.00 EUR; USD 2,200.75
    # against a budget of 2,000.00 is 200.75 over; plain SQL agrees on the sum.
    assert spend_sql(campaign.pk) == Decimal("2299.75")  # every currency, as stored
    assert f'data-program-total="{webinar.pk}-USD">1,500.75<' in html
    assert f'data-program-total="{email.pk}-USD">700.00<' in html
    assert f'data-program-total="{email.pk}-EUR">99.00<' in html
    total = re.search(r'id="campaign-spend-total">(.*?)</dd>', html, re.S)
    assert total and re.sub(r"<[^>]+>", "", total.group(1)) == "99.00 EUR, 2,200.75 USD"
    left = re.search(r'id="campaign-budget-left">(.*?)</dd>', html, re.S)
    assert left and "over by 200.75 USD" in left.group(1)
    assert "Lines in EUR are totalled apart" in html
    assert f'id="program-{silent.pk}"' in html and "No spend recorded for this program." in html
    assert "5,000.00" not in html


def test_spend_page_without_a_budget_says_so(client: Client, marketer: Any) -> None:
    line = SpendFactory.create()
    html = login(client, marketer).get(f"/campaigns/{line.program.campaign_id}/spend/")
    assert "no budget to compare with" in html.content.decode()


def test_executive_reads_spend_without_write_links(client: Client, executive: Any) -> None:
    line = SpendFactory.create()
    html = login(client, executive).get(f"/campaigns/{line.program.campaign_id}/spend/")
    text = html.content.decode()
    assert "1,000.00" in text
    assert "Add a spend line" not in text and "/edit/" not in text and "/delete/" not in text


def test_marketer_adds_a_line_and_the_totals_change(client: Client, marketer: Any) -> None:
    campaign = CampaignFactory.create(budget=Decimal("1000"))
    program = ProgramFactory.create(campaign=campaign)
    SpendFactory.create(program=program, amount=Decimal("100.00"))
    login(client, marketer)
    response = client.post(
        f"/campaigns/{campaign.pk}/spend/",
        {
            "program": program.pk,
            "spent_on": "2026-02-10",
            "amount": "250.5",
            "currency": "usd",
            "description": "Sponsor slot",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/spend/#program-{program.pk}"
    line = Spend.objects.get(description="Sponsor slot")
    assert (line.amount, line.currency, line.spent_on) == (
        Decimal("250.50"),
        "USD",
        dt.date(2026, 2, 10),
    )
    html = client.get(response["Location"]).content.decode()
    assert "Spend line added: 250.50 USD on 2026-02-10" in html
    assert f'data-program-total="{program.pk}-USD">350.50<' in html
    assert "649.50 USD" in html  # 1,000 - 350.50 left


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-5"}, "amount", "greater than or equal to 0"),
        ({"amount": "abc"}, "amount", "Enter a number"),
        ({"amount": "1.234"}, "amount", "no more than 2 decimal places"),
        ({"amount": "1" * 13 + ".00"}, "amount", "no more than 14 digits"),
        ({"currency": "U1"}, "currency", "at least 3 characters"),
        ({"currency": "U$D"}, "currency", "three-letter currency code"),
        ({"spent_on": ""}, "spent_on", "This field is required"),
        ({"spent_on": "2026-02-31"}, "spent_on", "Enter a valid date"),
        ({"program": ""}, "program", "This field is required"),
        ({"description": "x" * 201}, "description", "at most 200 characters"),
    ],
)
def test_bad_input_is_refused_beside_its_field(
    client: Client, marketer: Any, changes: dict[str, str], field: str, message: str
) -> None:
    program = ProgramFactory.create()
    form = {
        "program": program.pk,
        "spent_on": "2026-02-10",
        "amount": "10",
        "currency": "USD",
        "description": "",
        **changes,
    }
    response = login(client, marketer).post(f"/campaigns/{program.campaign_id}/spend/", form)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}_error_1"' in response.content.decode()
    assert not Spend.objects.exists()


def test_a_program_of_another_campaign_is_not_a_choice(client: Client, marketer: Any) -> None:
    program = ProgramFactory.create()
    elsewhere = ProgramFactory.create()
    form = {"program": elsewhere.pk, "spent_on": "2026-02-10", "amount": "10", "currency": "USD"}
    response = login(client, marketer).post(f"/campaigns/{program.campaign_id}/spend/", form)
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["program"][0]
    assert not Spend.objects.exists()


def test_a_refusal_of_the_service_shows_beside_the_field(
    client: Client, marketer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's own checks (full_clean in the service) reach the form too."""
    from django.core.exceptions import ValidationError

    def refuse(**_: Any) -> None:
        raise ValidationError({"amount": ["Spend must not be negative."]})

    monkeypatch.setattr(services, "spend_save", refuse)
    program = ProgramFactory.create()
    form = {"program": program.pk, "spent_on": "2026-02-10", "amount": "10", "currency": "USD"}
    response = login(client, marketer).post(f"/campaigns/{program.campaign_id}/spend/", form)
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == ["Spend must not be negative."]


def test_marketer_edits_a_line(client: Client, marketer: Any) -> None:
    line = SpendFactory.create(description="old", external_id="crm-1")
    other_program = ProgramFactory.create(campaign=line.program.campaign)
    url = f"/campaigns/{line.program.campaign_id}/spend/{line.pk}/edit/"
    login(client, marketer)
    page = client.get(url).content.decode()
    assert 'value="1000.00"' in page and "a new import of that line will write over" in page
    response = client.post(
        url,
        {
            "program": other_program.pk,
            "spent_on": "2026-03-01",
            "amount": "80",
            "currency": "EUR",
            "description": "new",
        },
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.program_id, line.amount, line.currency, line.description, line.external_id) == (
        other_program.pk,
        Decimal("80.00"),
        "EUR",
        "new",
        "crm-1",
    )
    bad = client.post(
        url,
        {"program": other_program.pk, "spent_on": "2026-03-01", "amount": "-1", "currency": "EUR"},
    )
    assert bad.status_code == 400 and "amount" in bad.context["form"].errors
    line.refresh_from_db()
    assert line.amount == Decimal("80.00")


def test_marketer_deletes_a_line_after_confirming(client: Client, marketer: Any) -> None:
    keep = SpendFactory.create(amount=Decimal("5"))
    line = SpendFactory.create(program=keep.program, amount=Decimal("7"))
    url = f"/campaigns/{line.program.campaign_id}/spend/{line.pk}/delete/"
    login(client, marketer)
    assert "Delete this spend line?" in client.get(url).content.decode()
    assert Spend.objects.count() == 2  # asking deletes nothing
    response = client.post(url)
    assert response.status_code == 302
    assert list(Spend.objects.values_list("pk", flat=True)) == [keep.pk]
    assert "Spend line deleted: 7.00 USD" in client.get(response["Location"]).content.decode()
    assert client.post(url).status_code == 404


def test_a_campaign_without_programs_says_where_spend_goes(client: Client, marketer: Any) -> None:
    campaign = CampaignFactory.create()
    html = login(client, marketer).get(f"/campaigns/{campaign.pk}/spend/").content.decode()
    assert (
        "this campaign has no program yet" in html
        and '<form method="post" class="form"' not in html
    )


@pytest.mark.parametrize("programs", [2, 12])
def test_spend_page_renders_in_a_fixed_number_of_queries(
    client: Client, marketer: Any, django_assert_num_queries: Any, programs: int
) -> None:
    campaign = CampaignFactory.create()
    for program in ProgramFactory.create_batch(programs, campaign=campaign):
        SpendFactory.create_batch(3, program=program)
    login(client, marketer)
    # session, user, the user's and the groups' permissions, campaign,
    # programs, their lines, the shell's rooms, alert count and roles
    with django_assert_num_queries(10):
        response = client.get(f"/campaigns/{campaign.pk}/spend/")
    assert response.context["spend"].line_count == programs * 3


# --- The campaign report ----------------------------------------------------------


@pytest.fixture
def spring() -> scenario.Scenario:
    return scenario.build()


def test_report_numbers_by_hand(client: Client, marketer: Any, spring: scenario.Scenario) -> None:
    """tests/campaigns/scenario.py: deltas A1 60, A2 30, A3 30 treated; H1 10, H2 0
    held out. P1 touched A1, A2; P2 touched A1 only."""
    html = login(client, marketer).get(f"/campaigns/{spring.campaign.pk}/report/")
    text = html.content.decode()
    reach, pipeline, spend = (
        cells(text, t) for t in ("reach-table", "pipeline-table", "spend-table")
    )
    p1, p2 = f"program-{spring.p1.pk}", f"program-{spring.p2.pk}"
    # The whole campaign: every treated target against the holdout.
    lift, low, high = welch([60, 30, 30], [10, 0])
    assert lift == 35
    assert reach[("campaign", "lift")] == f"{lift:.2f}" == "35.00"
    assert reach[("campaign", "lift_interval")] == f"{low:.2f} to {high:.2f}"
    assert reach[("campaign", "lift_treated")] == "3" and reach[("campaign", "lift_holdout")] == "2"
    assert reach[("campaign", "lift_kind")] == "holdout"
    # P1: its touched treated targets A1, A2 against the same holdout.
    lift, low, high = welch([60, 30], [10, 0])
    assert reach[(p1, "lift")] == "40.00"
    assert reach[(p1, "lift_interval")] == f"{low:,.2f} to {high:,.2f}"
    # P2: one treated account measured, so no interval, and it says why.
    assert reach[(p2, "lift")] == "55.00"  # 60 - 5
    assert "too few accounts for an interval" in reach[(p2, "lift_interval")]
    assert "(treated 1, holdout 2 measured)" in reach[(p2, "lift_interval")]
    # Reach: 3 treated targets; touched A1, A2; engaged A1 (70), A2 (50); qualified A1.
    assert [
        reach[("campaign", k)]
        for k in ("accounts_targeted", "accounts_touched", "accounts_engaged", "accounts_qualified")
    ] == ["3", "2", "2", "1"]
    # Pipeline: O1 90,000 shared by P1 and P2, O2 10,000 P1's; O3 (before any
    # touch) and O4 (untouched) by no program; the period's four add to 106,000.
    assert pipeline[(p1, "pipeline_influenced")] == "100,000.00"
    assert pipeline[(p1, "pipeline_attributed")] == "55,000.00"
    assert pipeline[(p2, "pipeline_attributed")] == "45,000.00"
    assert pipeline[(p1, "opportunities_attributed")] == "1.50"
    assert pipeline[("campaign", "pipeline_attributed")] == "100,000.00"
    assert pipeline[("no-program", "pipeline_attributed")] == "6,000.00"
    assert pipeline[("period-total", "pipeline_attributed")] == "106,000.00"
    assert pipeline[("period-total", "opportunities_influenced")] == "4"
    # Spend in the period: 1,000 + 500 (the 100 of 2025-12-31 is outside it).
    assert spend[("campaign", "spend")] == "1,500.00"
    assert spend[("campaign", "cost_per_engaged_account")] == "750.00"  # 1,500 / 2
    assert spend[("campaign", "cost_per_opportunity")] == "750.00"  # 1,500 / 2 attributed
    assert spend[("campaign", "pipeline_per_spend")] == "66.67"  # 100,000 / 1,500
    assert spend[(p1, "cost_per_opportunity")] == "666.67"  # 1,000 / 1.5
    assert spend[(p2, "pipeline_per_spend")] == "90.00"  # 45,000 / 500
    # The charts: an interval for the campaign and P1 (P2 has none), spend bars.
    assert 'id="lift-intervals"' in text and text.count('class="chart-interval"') == 2
    assert 'id="spend-pipeline"' in text


def test_report_equals_the_api_to_the_cent(
    client: Client, marketer: Any, spring: scenario.Scenario
) -> None:
    login(client, marketer)
    pk = spring.campaign.pk
    api = json.loads(client.get(f"/api/reports/campaigns/{pk}/").content)
    html = client.get(f"/campaigns/{pk}/report/").content.decode()
    page = {}
    for table in ("reach-table", "pipeline-table", "spend-table"):
        page.update(cells(html, table))
    csv_rows = list(
        csv.DictReader(io.StringIO(client.get(f"/campaigns/{pk}/report.csv").content.decode()))
    )
    by_program = {str(r["program_id"]): r for r in api["rows"] if "program_id" in r}
    api_rows = {"campaign": api["campaign"], **{f"program-{k}": v for k, v in by_program.items()}}
    csv_by_key = {
        ("campaign" if r["kind"] == "campaign" else f"program-{r['program_id']}"): r
        for r in csv_rows
        if r["kind"] != "line"
    }
    assert set(csv_by_key) == set(api_rows) == {"campaign", *(f"program-{p}" for p in by_program)}
    money = (
        "pipeline_influenced",
        "pipeline_attributed",
        "spend",
        "cost_per_engaged_account",
        "cost_per_opportunity",
        "pipeline_per_spend",
        "opportunities_attributed",
    )
    counts = (
        "accounts_targeted",
        "accounts_touched",
        "accounts_engaged",
        "accounts_qualified",
        "opportunities_influenced",
    )
    for key, row in api_rows.items():
        for name in money:
            assert page[(key, name)] == cents(row[name]), (key, name)
            assert csv_by_key[key][name] == str(Decimal(str(row[name])).quantize(Decimal("0.01")))
        for name in counts:
            assert page[(key, name)] == f"{row[name]:,}" and csv_by_key[key][name] == str(row[name])
        assert page[(key, "lift")] == cents(row["lift"]["estimate"])
        assert page[(key, "lift_treated")] == str(row["lift"]["treated"])
        assert page[(key, "lift_holdout")] == str(row["lift"]["holdout"])
        if row["lift"]["low"] is not None:
            assert page[(key, "lift_interval")] == (
                f"{cents(row['lift']['low'])} to {cents(row['lift']['high'])}"
            )
            assert csv_by_key[key]["lift_low"] == cents(row["lift"]["low"]).replace(",", "")
    lines = [r for r in api["rows"] if "program_id" not in r]
    assert [r["pipeline_attributed"] for r in lines] == [
        float(r["pipeline_attributed"]) for r in csv_rows if r["kind"] == "line"
    ]


def test_report_follows_the_apis_period_query(
    client: Client, marketer: Any, spring: scenario.Scenario
) -> None:
    login(client, marketer)
    query = "?start=2026-02-01&end=2026-03-31&window_days=30"
    api = json.loads(client.get(f"/api/reports/campaigns/{spring.campaign.pk}/{query}").content)
    html = client.get(f"/campaigns/{spring.campaign.pk}/report/{query}").content.decode()
    page = cells(html, "pipeline-table")
    assert page[("campaign", "pipeline_attributed")] == cents(
        api["campaign"]["pipeline_attributed"]
    )
    # A 30-day window: O1 opened 50 days after P1's first touch on A1 and O2 54
    # days after it on A2, so P1 influenced neither; P2 touched A1 28 days
    # before O1 opened: O1 is P2's alone.
    assert page[(f"program-{spring.p1.pk}", "pipeline_influenced")] == "0.00"
    assert page[(f"program-{spring.p2.pk}", "pipeline_attributed")] == "90,000.00"
    assert "30 days after a program's first touch" in html


def test_a_bad_period_is_refused_beside_its_field(
    client: Client, marketer: Any, spring: scenario.Scenario
) -> None:
    login(client, marketer)
    url = f"/campaigns/{spring.campaign.pk}/report/"
    response = client.get(url + "?start=2026-03-01&end=2026-02-01")
    assert response.status_code == 400
    assert response.context["form"].errors["end"] == ["The period must not end before it starts."]
    response = client.get(url + "?window_days=9999")
    assert response.status_code == 400 and "window_days" in response.context["form"].errors
    assert client.get(f"/campaigns/{spring.campaign.pk}/report.csv?start=x").status_code == 400


def test_what_cannot_be_computed_says_why(client: Client, marketer: Any) -> None:
    """No holdout, no spend, too few accounts, a period outside the data."""
    s = scenario.build()
    # A second campaign: two treated targets measured, no holdout, no spend,
    # its program touching nobody.
    campaign = CampaignFactory.create(
        name="Quiet", segment=s.campaign.segment, starts_on=scenario.START, ends_on=scenario.END
    )
    for name in ("A1", "A2"):
        CampaignTargetFactory.create(campaign=campaign, account=s.accounts[name])
    program = ProgramFactory.create(campaign=campaign, tracking_key="quiet")
    login(client, marketer)
    html = client.get(f"/campaigns/{campaign.pk}/report/").content.decode()
    reach, spend = cells(html, "reach-table"), cells(html, "spend-table")
    # No holdout: the treated accounts' own change, labelled pre/post: (60 + 30) / 2.
    assert reach[("campaign", "lift")] == "45.00"
    assert reach[("campaign", "lift_kind")] == "pre/post (no holdout: 0 measured)"
    # Its one-sample interval: 45 +- t(0.975, df 1) * s / sqrt(2), s^2 = (15^2 + 15^2) / 1.
    half = t_quantile_975(1) * math.sqrt(((60 - 45) ** 2 + (30 - 45) ** 2) / 1 / 2)
    assert reach[("campaign", "lift_interval")] == f"{45 - half:,.2f} to {45 + half:,.2f}"
    assert "Lift (pre/post, no holdout)" in html
    # The program touched nobody: no treated account measured.
    assert reach[(f"program-{program.pk}", "lift")] == "no treated target account was measured"
    for key in ("spend", "cost_per_engaged_account", "cost_per_opportunity", "pipeline_per_spend"):
        assert spend[("campaign", key)] == "no spend recorded in the period"
        assert spend[(f"program-{program.pk}", key)] == "no spend recorded in the period"
    csv_text = client.get(f"/campaigns/{campaign.pk}/report.csv").content.decode()
    quiet = next(r for r in csv.DictReader(io.StringIO(csv_text)) if r["kind"] == "campaign")
    assert quiet["spend"] == "" and "no spend recorded in the period" in quiet["not_computed"]
    # A period ending after today: nothing can be measured yet.
    future = (timezone.now().date() + dt.timedelta(days=30)).isoformat()
    html = client.get(f"/campaigns/{s.campaign.pk}/report/?end={future}").content.decode()
    assert "No lift can be measured for this period: the period ends on" in html
    assert (
        "scores on days to come are not known yet"
        in cells(html, "reach-table")[("campaign", "lift")]
    )


def test_free_spend_and_no_engaged_account(client: Client, marketer: Any) -> None:
    """A spend line of 0 is recorded spend: the cost is 0, pipeline per spend
    cannot be divided; no engaged account: no cost per engaged account."""
    campaign = CampaignFactory.create(starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 3, 31))
    program = ProgramFactory.create(campaign=campaign)
    SpendFactory.create(program=program, amount=Decimal("0"), spent_on=dt.date(2026, 1, 5))
    other = ProgramFactory.create(campaign=campaign)
    SpendFactory.create(program=other, amount=Decimal("10"), spent_on=dt.date(2026, 1, 5))
    html = login(client, marketer).get(f"/campaigns/{campaign.pk}/report/").content.decode()
    spend = cells(html, "spend-table")
    key = f"program-{program.pk}"
    assert spend[(key, "spend")] == "0.00"
    assert spend[(key, "pipeline_per_spend")] == "spend is 0"
    assert spend[(key, "cost_per_engaged_account")] == "no engaged account"
    assert spend[(key, "cost_per_opportunity")] == "no opportunity attributed"
    assert spend[(f"program-{other.pk}", "pipeline_per_spend")] == "0.00"


def test_sales_sees_no_spend_on_the_report_page_nor_in_the_api(
    client: Client, rep: Any, spring: scenario.Scenario
) -> None:
    """One spend rule (campaigns.spend_visibility): sales lacks
    campaigns.view_spend, so the page, its CSV and the API hide every spend
    figure and say so, while the pipeline figures stay."""
    login(client, rep)
    api = json.loads(client.get(f"/api/reports/campaigns/{spring.campaign.pk}/").content)
    assert api["campaign"]["spend"] is None and "campaigns.view_spend" in api["spend_hidden"]
    assert api["campaign"]["pipeline_attributed"] == 100000.0
    html = client.get(f"/campaigns/{spring.campaign.pk}/report/").content.decode()
    assert "spend hidden for your role" in html and 'id="spend-table"' not in html
    assert 'id="spend-pipeline"' not in html and "1,500.00" not in html
    assert cells(html, "pipeline-table")[("campaign", "pipeline_attributed")] == "100,000.00"
    header = client.get(f"/campaigns/{spring.campaign.pk}/report.csv").content.decode()
    assert "spend" not in header.splitlines()[0].split(",")
    assert "cost_per_opportunity" not in header


@pytest.mark.parametrize("extra", [0, 8])
def test_report_renders_in_a_fixed_number_of_queries(
    client: Client, marketer: Any, django_assert_num_queries: Any, extra: int
) -> None:
    s = scenario.build()
    scenario.grow(extra)
    login(client, marketer)
    # session, user, the user's and the groups' permissions, campaign,
    # measurement_load's ten, the shell's rooms, alert count and roles
    with django_assert_num_queries(18):
        response = client.get(f"/campaigns/{s.campaign.pk}/report/")
    assert len(response.context["table"].programs) == 2
