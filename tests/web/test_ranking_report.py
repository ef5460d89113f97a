"""The ranking for executives (issue 17, page 3) on the planted portfolio of
tests/web/test_ranking_pages.py: every table downloads as CSV with the figures
worked out by hand, equal to `/api/rankings/<id>/` to the cent; what the cuts
save; the latest run and the history; the reports' tabs and the board pack
link; the section the board pack prints; the spend rule."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.test import Client

from campaigns.services import ranking_entry_decide, ranking_run
from tests.factories import UserFactory
from tests.web.ranking_portfolio import END, FLAGGED, ORDER, START, VALUES, plant, text
from web.ranking_report import ranking_section

pytestmark = pytest.mark.django_db


def csv_of(client: Client, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_judged_programs_download_as_csv_in_rank_order(client: Client, executive: Any) -> None:
    planted = plant()
    client.force_login(executive)
    rows = csv_of(client, f"/ranking/{planted.run.pk}/?csv=ranked")
    assert [row["Program"] for row in rows] == ORDER
    assert [row["rank"] for row in rows] == [str(n) for n in range(1, 12)]
    assert [row["metric_value"] for row in rows] == VALUES
    assert [row["Program"] for row in rows if row["flag"] == "Bottom 10%"] == sorted(FLAGGED)
    # P03 by hand: 4,000 of pipeline for 500 of spend; lift 15.0 [-15.4, 45.4]
    # with 2 treated and 2 holdout (worked out in test_ranking_pages).
    p03 = rows[0]
    assert (p03["pipeline"], p03["spend"]) == ("4000.00", "500.00")
    assert (p03["lift"], p03["lift_low"], p03["lift_high"]) == ("15.0", "-15.4", "45.4")
    assert (p03["treated"], p03["holdout"]) == ("2", "2")
    # P01 has no lift: blank, and the reason in the row's not_computed.
    assert rows[1]["lift"] == ""
    assert rows[1]["not_computed"] == "lift: no treated target account was measured"


def test_the_decisions_and_what_the_cuts_save_download_as_csv(
    client: Client, executive: Any, marketer: Any
) -> None:
    planted = plant()
    ranking_entry_decide(
        entry_id=planted.entry("P07").pk, decision="cut", note="Weakest", user_id=marketer.pk
    )
    client.force_login(executive)
    rows = {
        row["Program"]: row for row in csv_of(client, f"/ranking/{planted.run.pk}/?csv=decisions")
    }
    assert list(rows) == ["P07", "P11", "Saving if every flagged program is cut",
                          "Saving of the programs marked cut"]  # fmt: skip
    # Both ran 1 January to 31 March, 90 days: 2,500 x 30 / 90 = 833.33 and
    # 3,000 x 30 / 90 = 1,000.00 per 30 days.
    p07 = rows["P07"]
    assert (p07["spend"], p07["days_running"], p07["run_rate"]) == ("2500.00", "90", "833.33")
    assert (p07["decision"], p07["reason"], p07["decided_by"]) == ("Cut", "Weakest", "Maya Persona")
    assert (rows["P11"]["run_rate"], rows["P11"]["decision"]) == ("1000.00", "Pending")
    every = rows["Saving if every flagged program is cut"]
    assert (every["spend"], every["run_rate"], every["decision"]) == (
        "5500.00", "1833.33", "2 programs")  # fmt: skip
    cut = rows["Saving of the programs marked cut"]
    assert (cut["spend"], cut["run_rate"], cut["decision"]) == ("2500.00", "833.33", "1 program")
    # The page shows the same savings beside the run's facts.
    html = text(client.get(f"/ranking/{planted.run.pk}/").content.decode())
    saving = "5,500.00 in the period, 1,833.33 per 30 days; 2 programs"
    assert f"Saving if every flagged program is cut {saving}" in html
    assert (
        "Saving of the programs marked cut 2,500.00 in the period, 833.33 per 30 days; 1 program"
        in html
    )


def test_the_too_early_programs_and_the_runs_download_as_csv(
    client: Client, executive: Any
) -> None:
    planted = plant()
    later = ranking_run(start=START, end=END, metric="won_per_spend", trigger="schedule")
    client.force_login(executive)
    early = csv_of(client, f"/ranking/{planted.run.pk}/?csv=too-early")
    # Ended 20 June; + 90 days = 18 September. 100,000 of pipeline for 100 spent.
    assert [(r["Program"], r["ends_on"], r["judgeable_from"], r["metric_value"], r["pipeline"],
             r["spend"]) for r in early] == [
        ("Late", "2026-06-20", "2026-09-18", "1000.00", "100000.00", "100.00")]  # fmt: skip
    runs = csv_of(client, "/ranking/?csv=runs")
    assert [row["run"] for row in runs] == [f"Run {later.pk}", f"Run {planted.run.pk}"]
    assert [(r["metric"], r["trigger"], r["judged"], r["flagged"], r["too_early"], r["pending"])
            for r in runs] == [
        ("Won revenue per unit of spend", "Schedule", "11", "2", "1", "2"),
        ("Pipeline per unit of spend", "On demand", "11", "2", "1", "2"),
    ]  # fmt: skip
    assert client.get(f"/ranking/{planted.run.pk}/?csv=nope").status_code == 404


def test_the_section_equals_the_api_to_the_cent(client: Client, executive: Any) -> None:
    planted = plant()
    client.force_login(executive)
    api = client.get(f"/api/rankings/{planted.run.pk}/").json()
    section = ranking_section(user=executive)
    assert section.title == "Program ranking"
    assert section.template_name == "web/ranking/section.html"
    ranked, decisions, too_early = section.tables
    assert [t.id for t in section.tables] == ["ranked", "decisions", "too-early"]
    for row, entry in zip(ranked.rows, api["ranked"], strict=True):
        assert row.label == entry["program_name"]
        assert row.figures["rank"].value == str(entry["rank"])
        assert Decimal(row.figures["spend"].value) == Decimal(entry["spend"])
        assert Decimal(row.figures["pipeline"].value) == Decimal(entry["pipeline"])
        cents = Decimal(str(entry["metric_value"])).quantize(Decimal("0.01"))
        assert Decimal(row.figures["metric_value"].value) == cents
        assert (row.mark == "bottom") == entry["is_flagged"]
    flagged_api = [e for e in api["ranked"] if e["is_flagged"]]
    assert [r.label for r in decisions.rows[:2]] == [e["program_name"] for e in flagged_api]
    total = sum(Decimal(e["spend"]) for e in flagged_api)
    assert Decimal(decisions.rows[2].figures["spend"].value) == total
    assert [r.label for r in too_early.rows] == [e["program_name"] for e in api["too_early"]]


def test_the_section_is_the_latest_run_or_the_one_given(executive: Any) -> None:
    first = plant().run
    later = ranking_run(start=START, end=END, metric="won_per_spend")
    assert ranking_section(user=executive).context["review"].run.pk == later.pk
    assert ranking_section(user=executive, run=first).context["review"].run.pk == first.pk


def test_the_section_is_refused_to_sales_and_hides_spend_from_who_may_not_see_it(
    rep: Any,
) -> None:
    plant()
    with pytest.raises(PermissionDenied):
        ranking_section(user=rep)
    # A user who may read rankings but not spend: no spend, no per-spend metric,
    # no saving; the pipeline stays.
    reader = UserFactory.create()
    reader.user_permissions.add(Permission.objects.get(codename="view_rankingrun"))
    ranked, decisions, _ = ranking_section(user=reader).tables
    p03 = ranked.rows[0].figures
    hidden = "spend is hidden for your role (it needs campaigns.view_spend)"
    assert (p03["spend"].value, p03["spend"].why) == ("", hidden)
    assert (p03["metric_value"].value, p03["metric_value"].why) == ("", hidden)
    assert p03["pipeline"].value == "4000.00"
    assert all(row.figures["spend"].why == hidden for row in decisions.rows)


def test_the_pages_have_the_report_tabs_the_latest_run_and_the_pack_link(
    client: Client, executive: Any
) -> None:
    planted = plant()
    client.force_login(executive)
    listing = client.get("/ranking/").content.decode()
    assert '<nav class="tabs report-tabs no-print" aria-label="Reports">' in listing
    assert 'href="/reports/board-pack.pdf"' in listing
    assert "Download the board pack (PDF)" in listing
    latest = text(listing.split('class="card ranking-latest"')[1].split("</section>")[0])
    assert latest.endswith(
        "Latest run 1 Jan 2026 to 30 Jun 2026, by pipeline per unit of spend : 11 judged, "
        "2 flagged in the bottom 10% (2 awaiting a decision), 1 too early to judge."
    )
    assert f'href="/ranking/{planted.run.pk}/"' in listing
    detail = client.get(f"/ranking/{planted.run.pk}/").content.decode()
    assert 'class="tabs report-tabs no-print"' in detail
    for table in ("ranked", "decisions", "too-early"):
        assert f'href="?csv={table}"' in detail
    assert 'href="/reports/board-pack.pdf"' in detail
