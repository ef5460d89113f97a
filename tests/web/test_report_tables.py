"""The executive reports' tables (web.report_tables): what a figure shows,
what its CSV cell holds, and why a missing one is missing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.test import RequestFactory

from web.report_tables import (
    Column,
    Row,
    Table,
    count,
    money,
    percent,
    table_csv_response,
    text,
)


def test_figures_by_hand() -> None:
    assert (money(Decimal("1234.5")).text, money(Decimal("1234.5")).value) == (
        "1,234.50",
        "1234.50",
    )
    assert (count(1200).text, count(1200).value) == ("1,200", "1200")
    assert (percent(0.25).text, percent(0.25).value) == ("25.0%", "0.2500")
    assert money(None, why="no spend recorded").why == "no spend recorded"


def test_the_csv_holds_plain_values_says_why_and_neutralises_text() -> None:
    table = Table(
        id="things",
        caption="Things",
        label_heading="program",
        columns=[Column("channel", "Channel", numeric=False), Column("spend", "Spend")],
        rows=[
            Row("=HYPERLINK(1)", {"channel": text("@email"), "spend": money(Decimal("-12.5"))}),
            Row("Plain", {"channel": text("web"), "spend": money(None, why="no spend")}),
        ],
    )
    request = RequestFactory().get("/reports/?csv=things")
    response = table_csv_response([table], request, name="overview")
    assert response["Content-Disposition"] == 'attachment; filename="overview-things.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["program", "channel", "spend", "not_computed"],
        ["'=HYPERLINK(1)", "'@email", "-12.50", ""],
        ["Plain", "web", "", "spend: no spend"],
    ]
