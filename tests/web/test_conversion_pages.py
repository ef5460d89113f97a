"""What converts as the server renders it (/reports/conversion/) and as the
API answers it (/api/reports/conversion/): the page's CSV equals the API's
JSON for every dimension, small groups are marked and unranked, bad input is
a 400 naming what was wrong, and the page reads a fixed number of queries.
(The figures themselves are worked out by hand in tests/campaigns/test_conversion.py.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client

from engagement.models import ActivityPending
from engagement.services.retention import activity_retention_apply
from tests.campaigns import conversion_scenario
from tests.web.report_cells import cells

pytestmark = pytest.mark.django_db

PERIOD = "start=2026-01-01&end=2026-03-31"
DIMENSIONS = ("program", "channel", "content", "activity_type", "first_touch_source")


def page_csv(client: Client, query: str) -> list[dict[str, str]]:
    response = client.get(f"/reports/conversion/?{query}&csv=conversion")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def rounded(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_the_pages_csv_is_the_apis_json(client: Client, executive: Any, dimension: str) -> None:
    s = conversion_scenario.build()
    client.force_login(executive)
    query = f"{PERIOD}&dimension={dimension}&segment={s.segment.pk}"
    api = client.get(f"/api/reports/conversion/?{query}").json()
    rows = page_csv(client, query)
    label = next(iter(rows[0]))  # the first column names the groups
    assert rows[0][label] == "Base rate: Mid-market SaaS"
    assert (rows[0]["accounts"], rows[0]["rate"]) == (str(api["base"]["accounts"]),
                                                      rounded(api["base"]["rate"]))  # fmt: skip
    assert len(rows) == len(api["rows"]) + 1 > 1
    for line, row in zip(rows[1:], api["rows"], strict=True):
        assert line[label] == row["group"]
        assert line["rank"] == ("" if row["rank"] is None else str(row["rank"]))
        for key in ("accounts", "converted", "window_open", "in_a_deal"):
            assert line[key] == str(row[key])
        for key in ("rate", "low", "high"):
            assert line[key] == rounded(row[key])
    # The API's own CSV holds the same rows.
    download = client.get(f"/api/reports/conversion/?{query}&format=csv")
    assert download.status_code == 200
    api_csv = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [r["group"] for r in api_csv] == [r["group"] for r in api["rows"]]


def test_small_groups_are_marked_and_not_ranked(client: Client, marketer: Any) -> None:
    s = conversion_scenario.build()
    client.force_login(marketer)
    response = client.get(f"/reports/conversion/?{PERIOD}&segment={s.segment.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>What converts</h1>" in html
    found = cells(html, "conversion")
    program = str(s.p1.pk)
    assert found[(program, "rank")] == "too few accounts to rank"
    assert found[(program, "accounts")] == "3"  # A1, A2, A4 (its window is over by now)
    assert 'class="row mark-small"' in html
    assert found[("base", "accounts")] == "6"
    # Nothing is ranked, so nothing is drawn as if it were.
    assert "conversion-chart" not in html


def test_a_large_enough_group_is_ranked_against_the_base_rate(
    client: Client, executive: Any
) -> None:
    s = conversion_scenario.build()
    conversion_scenario.more_accounts(s, 30)
    client.force_login(executive)
    api = client.get(f"/api/reports/conversion/?{PERIOD}&segment={s.segment.pk}").json()
    ranked = [row for row in api["rows"] if row["ranked"]]
    assert [row["group"] for row in ranked] == ["Risk webinar", "Nurture email"]
    assert [row["rank"] for row in ranked] == [1, 2]
    assert all(row["accounts"] >= 30 for row in ranked)
    assert [row["group"] for row in api["rows"] if not row["ranked"]] == ["Summit webinar"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("dimension=colour", "dimension"), ("segment=999999", "segment"),
     ("segment=x", "segment"), ("start=2026-04-01&end=2026-03-01&x=", "end"),
     ("start=2020-01-01&end=2026-03-01&x=", "end"), ("start=nope", "start")],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(
    client: Client, executive: Any, query: str, field: str
) -> None:
    client.force_login(executive)
    base = "" if "start=" in query else f"{PERIOD}&"
    response = client.get(f"/api/reports/conversion/?{base}{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_the_page_shows_an_unknown_segment_beside_its_field(client: Client, marketer: Any) -> None:
    conversion_scenario.build()
    client.force_login(marketer)
    response = client.get(f"/reports/conversion/?{PERIOD}&segment=999999&dimension=colour")
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="error"') == 2
    assert "By program: All accounts" in html


@pytest.mark.parametrize("extra", [0, 20])
def test_the_page_reads_a_fixed_number_of_queries(
    client: Client, executive: Any, django_assert_num_queries: Any, extra: int
) -> None:
    s = conversion_scenario.build()
    conversion_scenario.more_accounts(s, extra)
    client.force_login(executive)
    url = f"/reports/conversion/?{PERIOD}&segment={s.segment.pk}"
    client.get(url)  # warm the content types and session caches
    # session, user, the permission check's two, the segments, the report's
    # six (segment, retention cutoff, programs, first touches, base, deals),
    # the shell's rooms, alert count and roles
    with django_assert_num_queries(14):
        response = client.get(url)
    assert response.status_code == 200


def test_a_period_reaching_before_the_retention_cutoff_says_so(
    client: Client, marketer: Any
) -> None:
    s = conversion_scenario.build()
    ActivityPending.objects.all().delete()  # rolled up
    activity_retention_apply(months=5, now=dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    client.force_login(marketer)
    note = "Activity before 1 January 2026 was removed by the retention setting"
    inside = client.get(f"/reports/conversion/?{PERIOD}&segment={s.segment.pk}")
    assert inside.status_code == 200 and note not in inside.content.decode()
    before = client.get(
        f"/reports/conversion/?start=2025-12-01&end=2026-03-31&segment={s.segment.pk}"
    )
    assert before.status_code == 200 and note in before.content.decode()
    answer = client.get("/api/reports/conversion/?start=2025-12-01&end=2026-03-31").json()
    assert answer["activity_from"] == "2026-01-01" and answer["period_partly_dropped"] is True
