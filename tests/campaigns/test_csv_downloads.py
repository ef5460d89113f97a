"""The REST API's CSV downloads (audience, reports, ranking runs, plans) are
opened in spreadsheets: a name that a spreadsheet would run as a formula is
neutralised (OWASP), numbers stay numbers (issue 18's CSV-injection finding)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from campaigns.api.shared import csv_cell
from campaigns.models import CampaignTarget
from campaigns.services import campaign_targets_set
from tests.campaigns import scenario
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("-3.20", "-3.20"),
        ("1200", "1200"),
        (Decimal("-3.2"), Decimal("-3.2")),
        (None, ""),
        ("Acme", "Acme"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe_and_numbers_stay(
    value: object, cell: object
) -> None:
    assert csv_cell(value) == cell


def _csv(client: APIClient, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    body = response.getvalue()  # streamed or not
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_audience_and_report_downloads_neutralise_names(marketer: APIClient) -> None:
    s = scenario.build()
    evil = [
        AccountFactory.create(name=f"=cmd|' /C calc'!A{n}", domain=f"evil{n}.example")
        for n in range(8)
    ]
    campaign_targets_set(campaign_id=s.campaign.pk, account_ids=[a.pk for a in evil])
    treated = CampaignTarget.objects.filter(account__in=evil, in_holdout=False)
    expected = {f"'{t.account.name}" for t in treated.select_related("account")}
    assert expected  # 8 accounts at the scenario's holdout fraction: some are treated
    s.p1.name = "@SUM(1+1)"
    s.p1.save()
    audience = _csv(marketer, f"/api/campaigns/{s.campaign.pk}/audience/")
    names = {row["name"] for row in audience}
    assert expected <= names
    assert not any(name.startswith(("=", "@", "+")) for name in names)
    period = f"start={scenario.START}&end={scenario.END}"
    rows = _csv(marketer, f"/api/reports/programs/?{period}&format=csv")
    assert "'@SUM(1+1)" in {row["program"] for row in rows}
    # Numbers are written as numbers: P1's spend in the period, by the scenario.
    spend = {row["program"]: row["spend"] for row in rows}
    assert Decimal(spend["'@SUM(1+1)"]) == Decimal("1000")
