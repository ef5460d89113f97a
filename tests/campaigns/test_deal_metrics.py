"""Deal metrics for any period over all opportunities (DESIGN 5): figures by
hand, splits, missing amounts, query count, the API (JSON, CSV, schema), and a
CRM export in the layout of the public Maven Analytics "CRM + Sales +
Opportunities" sample, generated here and checked against a computation
straight from the file, as a spreadsheet would do it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Account, Opportunity, SegmentMembership
from campaigns import metrics
from campaigns.reports import deals
from core.csvimport import column_map_parse
from imports.services import csv_import
from tests.factories import AccountFactory, ICPSegmentFactory, OpportunityFactory

START, END = dt.date(2026, 1, 1), dt.date(2026, 3, 31)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_figures_by_hand_select_each_deal_by_its_date() -> None:
    facts = [
        # opened before the period, won in it: won revenue, not pipeline
        metrics.DealFacts(Decimal("1000"), "won", d("2025-12-01"), d("2026-01-31")),
        # opened and won in it
        metrics.DealFacts(Decimal("3000"), "won", d("2026-02-01"), d("2026-02-11")),
        # opened in it, won without an amount: counted, adds nothing, not averaged
        metrics.DealFacts(None, "won", d("2026-02-01"), d("2026-03-03")),
        # opened in it, lost in it
        metrics.DealFacts(Decimal("0"), "lost", d("2026-03-01"), d("2026-03-05")),
        # opened in it, lost after it: pipeline only
        metrics.DealFacts(Decimal("500"), "lost", d("2026-03-30"), d("2026-04-02")),
        # open, expected close in the period: pipeline only
        metrics.DealFacts(None, "open", d("2026-01-15"), d("2026-02-15")),
        # opened after the period
        metrics.DealFacts(Decimal("9"), "won", d("2026-04-01"), d("2026-04-01")),
    ]
    figures = metrics.deal_figures(facts, start=START, end=END)
    assert figures == {
        "opportunities_opened": 5,
        "opportunities_opened_without_amount": 2,
        "pipeline": Decimal("3500"),
        "opportunities_closed": 4,
        "opportunities_won": 3,
        "opportunities_lost": 1,
        "won_without_amount": 1,
        "won_revenue": Decimal("4000"),
        "win_rate": 0.75,
        "average_won_deal": Decimal("2000.00"),
        "cycle_days_won": (61 + 10 + 30) / 3,
        "cycle_days_closed": (61 + 10 + 30 + 4) / 4,
    }
    empty = metrics.deal_figures([], start=START, end=END)
    assert empty["win_rate"] is None and empty["average_won_deal"] is None
    assert empty["cycle_days_won"] is None and empty["pipeline"] == 0


@pytest.mark.django_db
def test_splits_by_segment_source_and_product_line() -> None:
    first, second = ICPSegmentFactory.create(name="A first"), ICPSegmentFactory.create(name="B")
    both, one, none = AccountFactory.create(), AccountFactory.create(), AccountFactory.create()
    for segment, account in ((first, both), (second, both), (first, one)):
        SegmentMembership.objects.create(segment=segment, account=account)
    OpportunityFactory.create(
        account=both,
        amount=Decimal("100"),
        source="marketing",
        product_line="X",
        opened_on=d("2026-01-10"),
    )
    OpportunityFactory.create(
        account=one,
        amount=Decimal("20"),
        source="sales",
        product_line="",
        status="won",
        opened_on=d("2026-01-10"),
        close_on=d("2026-02-09"),
    )
    OpportunityFactory.create(
        account=none,
        amount=Decimal("3"),
        source="marketing",
        product_line="X",
        opened_on=d("2026-02-10"),
    )
    OpportunityFactory.create(account=none, amount=Decimal("999"), opened_on=d("2025-02-10"))
    report = deals.deal_metrics(start=START, end=END)
    rows = {(r["split"], r["group"]): r for r in report["rows"]}
    assert report["rows"][0]["group"] == deals.ALL
    pipeline = {key: row["pipeline"] for key, row in rows.items()}
    assert pipeline == {
        ("all", deals.ALL): Decimal("123"),
        ("segment", "A first"): Decimal("120"),  # both + one
        ("segment", "B"): Decimal("100"),  # both
        ("segment", deals.NO_SEGMENT): Decimal("3"),
        ("source", "marketing"): Decimal("103"),
        ("source", "sales"): Decimal("20"),
        ("source", "partner"): Decimal("0"),
        ("source", "other"): Decimal("0"),
        ("product_line", "X"): Decimal("103"),
        ("product_line", deals.NO_PRODUCT_LINE): Decimal("20"),
    }
    assert rows[("segment", "A first")]["win_rate"] == 1.0  # one won, none lost
    assert rows[("segment", "B")]["win_rate"] is None  # nothing closed
    assert rows[("source", "sales")]["cycle_days_won"] == 30.0


@pytest.mark.django_db
def test_deals_without_an_account_count_in_the_total_and_in_no_segment() -> None:
    """By hand: a CRM deal not assigned to an account yet is a deal of the
    period like any other, in no segment."""
    segment = ICPSegmentFactory.create(name="Members")
    member = AccountFactory.create()
    SegmentMembership.objects.create(segment=segment, account=member)
    OpportunityFactory.create(
        account=member, amount=Decimal("100"), source="sales", opened_on=d("2026-01-05")
    )
    # unassigned, open, opened in the period: pipeline
    OpportunityFactory.create(
        account=None,
        amount=Decimal("40"),
        source="marketing",
        product_line="X",
        opened_on=d("2026-02-01"),
    )
    # unassigned, without an amount: counted, adds nothing
    OpportunityFactory.create(account=None, amount=None, opened_on=d("2026-02-02"))
    # unassigned, opened before the period, won in it: won revenue, cycle 31 days
    OpportunityFactory.create(
        account=None,
        amount=Decimal("60"),
        source="marketing",
        product_line="X",
        status="won",
        opened_on=d("2025-12-31"),
        close_on=d("2026-01-31"),
    )
    rows = {(r["split"], r["group"]): r for r in deals.deal_metrics(start=START, end=END)["rows"]}
    total = rows[("all", deals.ALL)]
    assert (total["opportunities_opened"], total["pipeline"]) == (3, Decimal("140"))
    assert total["opportunities_opened_without_amount"] == 1
    assert (total["opportunities_won"], total["won_revenue"]) == (1, Decimal("60"))
    assert total["cycle_days_won"] == 31.0
    members = rows[("segment", "Members")]
    assert (members["opportunities_opened"], members["pipeline"]) == (1, Decimal("100"))
    assert members["opportunities_won"] == 0
    nowhere = rows[("segment", deals.NO_SEGMENT)]
    assert (nowhere["opportunities_opened"], nowhere["pipeline"]) == (2, Decimal("40"))
    assert (nowhere["opportunities_won"], nowhere["won_revenue"]) == (1, Decimal("60"))
    assert rows[("source", "marketing")]["won_revenue"] == Decimal("60")
    assert rows[("source", "other")]["opportunities_opened"] == 1
    assert rows[("product_line", "X")]["pipeline"] == Decimal("40")


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [0, 30])
def test_the_report_costs_three_queries_whatever_the_size(
    extra: int, django_assert_num_queries: Any
) -> None:
    segment = ICPSegmentFactory.create()
    for i in range(extra):
        account = AccountFactory.create()
        SegmentMembership.objects.create(segment=segment, account=account)
        OpportunityFactory.create(
            account=account, product_line=f"P{i % 4}", opened_on=d("2026-02-01")
        )
        # and as many deals not assigned to an account yet
        OpportunityFactory.create(account=None, opened_on=d("2026-02-01"))
    with django_assert_num_queries(3):
        report = deals.deal_metrics(start=START, end=END)
    assert report["rows"][0]["opportunities_opened"] == 2 * extra


# --- A CRM export in the layout of the Maven Analytics sample ----------------------

PRODUCTS = {
    "GTX Basic": 550,
    "GTX Pro": 4821,
    "MG Special": 55,
    "MG Advanced": 3393,
    "GTX Plus Pro": 5482,
    "GTX Plus Basic": 1096,
    "GTK 500": 26768,
}
SECTORS = ["technolgy", "medical", "retail", "software", "marketing", "finance"]
# The import's --map for each file (docs/measurement.md shows the same commands).
ACCOUNTS_MAP = "account=name"
PIPELINE_MAP = "engage_date=opened_on,close_value=amount"


def maven_like(seed: int, accounts: int = 30, deals_n: int = 400) -> dict[str, str]:
    """accounts.csv and sales_pipeline.csv with the sample's columns and kinds of
    values: won deals with a close value, lost deals at 0, deals still engaging
    (no close date, no value), prospects without an engage date, and open deals
    without an account, as in the real file."""
    rng = random.Random(seed)
    names = [
        f"{rng.choice(['Bio', 'Zoom', 'Dan', 'Kan', 'Ron'])}{w}{i}"
        for i, w in enumerate(rng.choices(["tech", "zim", "plex", "dex"], k=accounts))
    ]
    account_lines = [
        "account,sector,year_established,revenue,employees,office_location,subsidiary_of"
    ]
    for name in names:
        account_lines.append(
            f"{name},{rng.choice(SECTORS)},{rng.randint(1979, 2017)},"
            f"{rng.randint(100, 500000) / 100},{rng.randint(9, 20000)},"
            f"United States,"
        )
    lines = [
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value"
    ]
    for i in range(deals_n):
        product = rng.choice(list(PRODUCTS))
        stage = rng.choices(["Won", "Lost", "Engaging", "Prospecting"], [48, 28, 18, 6])[0]
        engage = dt.date(2025, 10, 20) + dt.timedelta(days=rng.randint(0, 430))
        account = rng.choice(names)
        if stage in ("Engaging", "Prospecting") and rng.random() < 0.5:
            account = ""
        close, value = "", ""
        if stage in ("Won", "Lost"):
            close = (engage + dt.timedelta(days=rng.randint(1, 138))).isoformat()
            value = (
                "0" if stage == "Lost" else str(round(PRODUCTS[product] * rng.uniform(0.8, 1.2)))
            )
        engaged = "" if stage == "Prospecting" else engage.isoformat()
        lines.append(
            f"{seed:02d}OPP{i:05d},Agent {i % 7},{product},{account},{stage},"
            f"{engaged},{close},{value}"
        )
    return {"accounts": "\n".join(account_lines) + "\n", "sales_pipeline": "\n".join(lines) + "\n"}


def spreadsheet(
    text: str,
    start: dt.date,
    end: dt.date,
    keep: Callable[[dict[str, str]], bool] = lambda _row: True,
) -> dict[str, Any]:
    """The figures as a spreadsheet computes them from sales_pipeline.csv:
    COUNTIFS / SUMIFS / AVERAGEIFS on engage_date for pipeline, on close_date
    and deal_stage for the rest, over every row (with an account or not) that
    `keep` keeps."""
    rows = [r for r in csv.DictReader(io.StringIO(text)) if keep(r)]

    def day(value: str) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    opened = [r for r in rows if (e := day(r["engage_date"])) and start <= e <= end]
    closed = [
        r
        for r in rows
        if r["deal_stage"] in ("Won", "Lost")
        and start <= dt.date.fromisoformat(r["close_date"]) <= end
    ]
    won = [r for r in closed if r["deal_stage"] == "Won"]

    def cycle(chosen: list[dict[str, str]]) -> float | None:
        spans = [
            (day(r["close_date"]) - day(r["engage_date"])).days  # type: ignore[operator]
            for r in chosen
        ]
        return sum(spans) / len(spans) if spans else None

    won_revenue = sum((Decimal(r["close_value"]) for r in won), Decimal(0))
    return {
        "opportunities_opened": len(opened),
        "opportunities_opened_without_amount": sum(1 for r in opened if not r["close_value"]),
        "pipeline": sum(
            (Decimal(r["close_value"]) for r in opened if r["close_value"]), Decimal(0)
        ),
        "opportunities_won": len(won),
        "opportunities_lost": len(closed) - len(won),
        "won_revenue": won_revenue,
        "win_rate": len(won) / len(closed) if closed else None,
        "average_won_deal": won_revenue / len(won) if won else None,
        "cycle_days_won": cycle(won),
        "cycle_days_closed": cycle(closed),
    }


def by_product(text: str) -> dict[str, str]:
    return {r["opportunity_id"]: r["product"] for r in csv.DictReader(io.StringIO(text))}


def assert_figures_equal(got: dict[str, Any], expected: dict[str, Any]) -> None:
    for key in (
        "opportunities_opened",
        "opportunities_opened_without_amount",
        "pipeline",
        "opportunities_won",
        "opportunities_lost",
        "won_revenue",
    ):
        assert got[key] == expected[key], key
    for key in ("win_rate", "cycle_days_won", "cycle_days_closed"):
        assert got[key] == pytest.approx(expected[key]), key
    if expected["average_won_deal"] is None:
        assert got["average_won_deal"] is None
    else:
        assert abs(got["average_won_deal"] - expected["average_won_deal"]) <= Decimal("0.005")


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2])
def test_a_maven_layout_export_gives_what_a_spreadsheet_computes(seed: int) -> None:
    files = maven_like(seed)
    csv_import(kind="accounts", data=files["accounts"], column_map=column_map_parse(ACCOUNTS_MAP))
    result = csv_import(
        kind="opportunities",
        data=files["sales_pipeline"],
        column_map=column_map_parse(PIPELINE_MAP),
        skip_invalid=True,
    )
    raw = list(csv.DictReader(io.StringIO(files["sales_pipeline"])))
    unassigned = [r for r in raw if not r["account"] and r["engage_date"]]
    assert len(unassigned) > 10  # the file has open deals without an account
    # Refused, each with its reason: only the deals without an engage date.
    assert {(e.column, e.reason) for e in result.errors} == {("engage_date", "is required")}
    assert len(result.rejected) == sum(1 for r in raw if not r["engage_date"])
    assert result.created == len(raw) - len(result.rejected)
    # Deals without an account are stored unassigned, named by their id;
    # the others "<account> - <product>".
    stored = {
        external_id: (account, name)
        for external_id, account, name in Opportunity.objects.values_list(
            "external_id", "account__name", "name"
        )
    }
    assert {k for k, (account, _) in stored.items() if account is None} == {
        r["opportunity_id"] for r in unassigned
    }
    for r in unassigned:
        assert stored[r["opportunity_id"]][1] == r["opportunity_id"]
    some = next(r for r in raw if r["account"] and r["engage_date"])
    assert stored[some["opportunity_id"]][1] == f"{some['account']} - {some['product']}"
    # A segment of the software accounts, by name from accounts.csv.
    software = {
        r["account"]
        for r in csv.DictReader(io.StringIO(files["accounts"]))
        if r["sector"] == "software"
    }
    segment = ICPSegmentFactory.create(name="Software")
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, account=account)
        for account in Account.objects.filter(name__in=software)
    )
    for start, end in (
        (START, END),
        (dt.date(2025, 1, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 6, 1), dt.date(2026, 6, 30)),
    ):
        rows = {
            (r["split"], r["group"]): r for r in deals.deal_metrics(start=start, end=end)["rows"]
        }
        text = files["sales_pipeline"]
        assert_figures_equal(rows[("all", deals.ALL)], spreadsheet(text, start, end))
        assert_figures_equal(
            rows[("segment", "Software")],
            spreadsheet(text, start, end, lambda r: r["account"] in software),
        )
        # Deals without an account are in no segment.
        assert_figures_equal(
            rows[("segment", deals.NO_SEGMENT)],
            spreadsheet(text, start, end, lambda r: r["account"] not in software),
        )
    # By product line: each product's won revenue straight from the file.
    report = deals.deal_metrics(start=dt.date(2025, 1, 1), end=dt.date(2026, 12, 31))
    products = {r["group"]: r for r in report["rows"] if r["split"] == "product_line"}
    for product in PRODUCTS:
        won = [
            Decimal(r["close_value"])
            for r in raw
            if r["product"] == product
            and r["deal_stage"] == "Won"
            and r["close_date"] <= "2026-12-31"
        ]
        if won:
            assert products[product]["won_revenue"] == sum(won, Decimal(0))


def test_deal_names_default_to_account_and_product_or_the_external_id() -> None:
    from accounts.imports import opportunity_default_name

    assert (
        opportunity_default_name(
            {"account_name": "Cancity", "product_line": "GTX Pro", "external_id": "1C1"}
        )
        == "Cancity - GTX Pro"
    )
    assert (
        opportunity_default_name({"account_domain": "cancity.example", "product_line": "GTX Pro"})
        == "cancity.example - GTX Pro"
    )
    assert opportunity_default_name({"account_name": "Cancity", "external_id": "1C1"}) == "1C1"


@pytest.mark.django_db
def test_a_stored_deal_keeps_its_name_when_a_file_gives_none() -> None:
    AccountFactory.create(name="Cancity")
    named = "id,Deal Name,account,product,create date\n1,Big one,Cancity,GTX,2026-01-02\n"
    csv_import(kind="opportunities", data=named)
    nameless = (
        "id,account,product,create date\n1,Cancity,GTX,2026-01-03\n"
        "2,Cancity,MG,2026-01-04\n3,Cancity,,2026-01-05\n"
    )
    result = csv_import(kind="opportunities", data=nameless)
    assert (result.created, result.updated) == (2, 1)
    names = dict(Opportunity.objects.values_list("external_id", "name"))
    assert names == {"1": "Big one", "2": "Cancity - MG", "3": "3"}


# --- The API -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_in_json_and_csv_with_a_pinned_query_count(
    sales: APIClient, django_assert_num_queries: Any
) -> None:
    OpportunityFactory.create(
        amount=Decimal("10.50"),
        status="won",
        source="partner",
        opened_on=d("2026-01-02"),
        close_on=d("2026-01-12"),
    )
    OpportunityFactory.create(amount=None, opened_on=d("2026-01-03"))
    sales.get("/api/campaigns/")  # loads the caller's permissions once
    url = "/api/reports/deals/?start=2026-01-01&end=2026-03-31"
    with django_assert_num_queries(3):
        body = sales.get(url).json()
    total = body["rows"][0]
    assert (total["split"], total["opportunities_opened"], total["pipeline"]) == ("all", 2, "10.50")
    assert total["opportunities_opened_without_amount"] == 1 and total["win_rate"] == 1.0
    assert total["average_won_deal"] == "10.50" and total["cycle_days_won"] == 10.0
    with django_assert_num_queries(3):
        download = sales.get(url + "&format=csv")
    table = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert table[0]["group"] == deals.ALL and table[0]["won_revenue"] == "10.50"
    assert {r["group"] for r in table if r["split"] == "source"} == {
        "marketing",
        "sales",
        "partner",
        "other",
    }
    bad = sales.get("/api/reports/deals/?start=2026-03-31&end=2026-01-01")
    assert bad.status_code == 400 and "end" in bad.json()
    assert sales.get("/api/reports/deals/?start=2026-01-01").status_code == 400
    assert APIClient().get(url).status_code in (401, 403)
    schema = sales.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/reports/deals/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"start", "end"}
    figures = schema["components"]["schemas"]["DealFigures"]["properties"]
    assert {
        "pipeline",
        "won_revenue",
        "win_rate",
        "average_won_deal",
        "cycle_days_won",
        "cycle_days_closed",
        "opportunities_opened_without_amount",
    } <= set(figures)
