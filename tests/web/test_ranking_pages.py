"""The ranking review's pages: the order and the bottom 10% of a planted
portfolio worked out by hand, too-early programs apart, lift and what a cut
saves, decisions (who, when, reason; cut stops the program; a reason is
required; an unflagged program is refused), starting a run as a job, every
role's rights and the pages' query counts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.models import Program, RankingEntry, RankingRun
from campaigns.services import ranking_run
from core.models import Job
from tests.web.ranking_portfolio import (
    END,
    FLAGGED,
    ORDER,
    START,
    VALUES,
    plant,
    portfolio_of,
    text,
)

pytestmark = pytest.mark.django_db


def table_rows(html: str, table_class: str) -> list[str]:
    """The text of each body row of the table with this class."""
    table = re.search(rf'<table class="[^"]*\b{table_class}\b.*?</table>', html, re.S)
    assert table, f"no table {table_class}"
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(0), re.S)
    assert body
    return [text(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)]


def found(pattern: str, html: str, group: int = 0) -> str:
    """The part of the page the pattern matches (the test fails without one)."""
    match = re.search(pattern, html, re.S)
    assert match, f"nothing matches {pattern}"
    return match.group(group)


def detail(client: Client, run: RankingRun) -> str:
    response = client.get(f"/ranking/{run.pk}/")
    assert response.status_code == 200
    return response.content.decode()


# --- One run: order, flags, too early, lift, savings ----------------------------


def test_programs_are_ranked_best_first_with_the_bottom_ten_percent_flagged(
    client: Client, marketer: Any
) -> None:
    planted = plant()
    client.force_login(marketer)
    html = detail(client, planted.run)
    rows = table_rows(html, "ranking-table")
    assert [row.split(" ")[1] for row in rows] == ORDER
    assert [row.split(" ")[0] for row in rows] == [f"#{n}" for n in range(1, 12)]
    for row, value in zip(rows, VALUES, strict=True):
        assert row.split(" ")[3] == value
    # The flag is a row class (the highlight) and a text label, on the bottom two only.
    flagged_rows = re.findall(r'<tr class="flagged">(.*?)</tr>', html, re.S)
    assert [text(row).split(" ")[1] for row in flagged_rows] == ["P07", "P11"]
    for row in rows:
        assert ("Bottom 10%" in row) == (row.split(" ")[1] in FLAGGED)
    facts = text(found(r'<dl class="facts ranking-facts">(.*?)</dl>', html, 1))
    assert "Judged 11 programs" in facts
    assert "Flagged (bottom 10%) 2 = ceil(10% \u00d7 11)" in facts
    assert "Too early to judge 1" in facts
    assert "Decisions 0 decided, 2 pending" in facts
    # Pipeline and spend beside the metric: P03 4,000.00 of pipeline for 500.00.
    assert rows[0].endswith("4,000.00 500.00 —")
    # The chart: one bar per judged program, the flagged two in the second series
    # and labelled under the axis.
    assert html.count('class="chart-series chart-series-0"') == 9
    assert html.count('class="chart-series chart-series-1"') == 2
    assert ">#10 flag</text>" in html and ">#11 flag</text>" in html


def test_too_early_programs_are_apart_with_the_day_they_become_judgeable(
    client: Client, executive: Any
) -> None:
    planted = plant()
    client.force_login(executive)
    html = detail(client, planted.run)
    assert all("Late" not in row for row in table_rows(html, "ranking-table"))
    # Ended 20 June; 20 June + 90 days = 18 September 2026. Its figures so far:
    # 100,000 of pipeline for 100 of spend = 1,000 per unit.
    assert table_rows(html, "ranking-early") == [
        "Late Event 20 Jun 2026 18 Sep 2026 1,000.00 none: no treated target account was "
        "measured 100,000.00 100.00"
    ]
    assert "Idle" in text(found(r'<ul class="ranking-idle">.*?</ul>', html, 0))


def test_lift_is_shown_with_its_interval_and_counts(client: Client, marketer: Any) -> None:
    planted = plant()
    client.force_login(marketer)
    rows = table_rows(detail(client, planted.run), "ranking-table")
    # P03: treated rose 20 and 30 (mean 25), holdout 5 and 15 (mean 10): lift 15.
    # Variances 50 and 50, so se = sqrt(50/2 + 50/2) = 7.0711 and Welch's
    # df = 50^2 / (25^2/1 + 25^2/1) = 2; t(0.975, 2) = 4.3027 (a t table), half
    # width 30.425: [-15.4, 45.4].
    assert "15.0 [-15.4, 45.4] 2 treated vs 2 holdout" in rows[0]
    # P01 has no target measured: no lift, and why.
    assert "none: no treated target account was measured" in rows[1]


def test_a_run_stored_before_lift_was_kept_says_so(client: Client, marketer: Any) -> None:
    planted = plant()
    RankingEntry.objects.filter(run=planted.run).update(lift=None)
    client.force_login(marketer)
    assert "not stored in this run" in table_rows(detail(client, planted.run), "ranking-table")[0]


def test_what_a_cut_saves_is_the_spend_and_its_run_rate(client: Client, marketer: Any) -> None:
    planted = plant()
    client.force_login(marketer)
    html = detail(client, planted.run)
    p07, p11 = planted.entry("P07"), planted.entry("P11")
    # Both ran 1 January to 31 March: 90 days of the period. Per 30 days:
    # 2,500 x 30 / 90 = 833.33 and 3,000 x 30 / 90 = 1,000.00.
    card = text(found(rf'<article[^>]*id="entry-{p07.pk}".*?</article>', html, 0))
    assert "Spend in the period 2,500.00" in card
    assert "Run-rate 833.33 per 30 days, over 90 days" in card
    card = text(found(rf'<article[^>]*id="entry-{p11.pk}".*?</article>', html, 0))
    assert "Spend in the period 3,000.00" in card
    assert "Run-rate 1,000.00 per 30 days, over 90 days" in card


# --- Decisions -----------------------------------------------------------------------


def decide(client: Client, run: RankingRun, entry: RankingEntry, **data: str) -> Any:
    return client.post(
        f"/ranking/{run.pk}/entries/{entry.pk}/decide/",
        {f"entry-{entry.pk}-{key}": value for key, value in data.items()},
    )


def test_cut_records_who_when_and_why_and_stops_the_program(client: Client, marketer: Any) -> None:
    planted = plant()
    entry = planted.entry("P07")
    client.force_login(marketer)
    before = timezone.now()
    response = decide(client, planted.run, entry, decision="cut", reason="Weakest two runs running")
    after = timezone.now()
    assert response.status_code == 302
    assert response["Location"] == f"/ranking/{planted.run.pk}/#entry-{entry.pk}"
    entry.refresh_from_db()
    assert (entry.decision, entry.decision_note, entry.decided_by_id) == (
        "cut", "Weakest two runs running", marketer.pk)  # fmt: skip
    assert entry.decided_at is not None and before <= entry.decided_at <= after
    assert Program.objects.get(pk=entry.program_id).status == "cut"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Recorded: P07 cut: its status is now Cut." in text(html)
    card = text(found(rf'<article[^>]*id="entry-{entry.pk}".*?</article>', html, 0))
    when = timezone.localtime(entry.decided_at).strftime("%-d %b %Y %H:%M")
    assert f"Cut by Maya Persona on {when} Weakest two runs running" in card
    assert "Program status Cut" in card
    assert "Cut this program" not in card
    assert "Decisions 1 decided, 1 pending" in text(html)


def test_keep_records_the_decision_and_leaves_the_program_alone(
    client: Client, marketer: Any
) -> None:
    planted = plant()
    entry = planted.entry("P11")
    status = entry.program.status
    client.force_login(marketer)
    response = decide(client, planted.run, entry, decision="kept", reason="New format next half")
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.decision, entry.decided_by_id) == ("kept", marketer.pk)
    assert Program.objects.get(pk=entry.program_id).status == status
    html = client.get(f"/ranking/{planted.run.pk}/").content.decode()
    assert "Recorded: P11 kept." in text(html)
    row = next(r for r in table_rows(html, "ranking-table") if r.split(" ")[1] == "P11")
    assert row.endswith("Bottom 10% Kept")


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(client: Client, marketer: Any, reason: str) -> None:
    planted = plant()
    entry = planted.entry("P07")
    client.force_login(marketer)
    response = decide(client, planted.run, entry, decision="cut", reason=reason)
    assert response.status_code == 400
    html = response.content.decode()
    card = found(rf'<article[^>]*id="entry-{entry.pk}".*?</article>', html, 0)
    assert '<div class="field invalid">' in card
    assert "Give the reason for the decision." in text(card)
    entry.refresh_from_db()
    assert entry.decision == "pending" and entry.decided_by_id is None
    assert Program.objects.get(pk=entry.program_id).status != "cut"


def test_an_unknown_decision_is_refused_beside_the_form(client: Client, marketer: Any) -> None:
    planted = plant()
    entry = planted.entry("P07")
    client.force_login(marketer)
    response = decide(client, planted.run, entry, decision="pause", reason="Why not")
    assert response.status_code == 400
    assert "Select a valid choice." in text(response.content.decode())
    assert planted.entry("P07").decision == "pending"


def test_deciding_a_program_that_is_not_flagged_is_refused(client: Client, marketer: Any) -> None:
    planted = plant()
    entry = planted.entry("P03")
    client.force_login(marketer)
    response = decide(client, planted.run, entry, decision="cut", reason="Too expensive")
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.decision == "pending" and entry.decided_by_id is None
    assert Program.objects.get(pk=entry.program_id).status != "cut"
    html = client.get(response["Location"]).content.decode()
    assert (
        f"Not recorded: P03 (entry {entry.pk}) is not flagged in this run: only flagged "
        "programs are marked cut or kept." in text(html)
    )


def test_an_entry_of_another_run_is_not_found(client: Client, marketer: Any) -> None:
    planted = plant()
    other = ranking_run(start=START, end=END)
    client.force_login(marketer)
    entry = planted.entry("P07")
    assert decide(client, other, entry, decision="cut", reason="x").status_code == 404
    assert client.get("/ranking/999999/").status_code == 404


# --- The runs and starting one -------------------------------------------------------


def test_the_list_shows_each_run_with_its_counts_newest_first(
    client: Client, marketer: Any
) -> None:
    planted = plant(user_id=marketer.pk)
    later = ranking_run(start=START, end=END, metric="won_per_spend", trigger="schedule")
    RankingEntry.objects.filter(pk=planted.entry("P07").pk).update(decision="cut")
    client.force_login(marketer)
    html = client.get("/ranking/").content.decode()
    rows = table_rows(html, "ranking-runs")
    when = timezone.localtime(later.created_at).strftime("%-d %b %Y %H:%M")
    # Won revenue: no deal is won, so all eleven judged score 0 and the two
    # with the highest spend (ties go to the lower spend) are flagged.
    assert rows[0] == (
        f"1 Jan 2026 to 30 Jun 2026 Won revenue per unit of spend {when} on the schedule 11 2 1 0 2"
    )
    when = timezone.localtime(planted.run.created_at).strftime("%-d %b %Y %H:%M")
    assert rows[1] == (
        f"1 Jan 2026 to 30 Jun 2026 Pipeline per unit of spend {when} by Maya Persona 11 2 1 1 1"
    )
    assert f'href="/ranking/{later.pk}/"' in html


def test_the_list_without_runs_says_what_to_do(
    client: Client, marketer: Any, executive: Any
) -> None:
    client.force_login(marketer)
    assert "No ranking run yet. Start one above" in text(client.get("/ranking/").content.decode())
    client.force_login(executive)
    html = client.get("/ranking/").content.decode()
    assert "A marketer starts one, or the schedule makes one every six months." in text(html)
    assert "Rank programs" not in html


def test_a_run_started_from_the_page_runs_as_a_job(
    client: Client,
    marketer: Any,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    plant()
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/ranking/run/",
            {"start": "2026-01-01", "end": "2026-06-30", "metric": "opportunities_per_spend"},
        )
    job = Job.objects.get(kind="ranking_run")
    assert response.status_code == 302 and response["Location"] == f"/ranking/?job={job.pk}"
    run = RankingRun.objects.get(metric="opportunities_per_spend")
    assert (run.period_start, run.period_end, run.created_by_id) == (START, END, marketer.pk)
    # One step for reading the period, one per program with spend (11 + Late).
    assert (job.status, job.done, job.total, job.created_by_id) == ("done", 13, 13, marketer.pk)
    assert (
        job.message == f"Run {run.pk} stored: 11 programs judged, 2 flagged, 1 too early to judge."
    )
    html = client.get(response["Location"]).content.decode()
    assert f'<a href="/ranking/{run.pk}/">Open run {run.pk}</a>' in html
    assert "Done" in text(html)


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"start": "2026-06-30", "end": "2026-01-01", "metric": "pipeline_per_spend"}, "end",
         "The period must not end before it starts."),
        ({"start": "2026-13-01", "end": "2026-06-30", "metric": "pipeline_per_spend"}, "start",
         "Enter a valid date."),
        ({"start": "2026-01-01", "end": "", "metric": "pipeline_per_spend"}, "end",
         "This field is required."),
        ({"start": "2026-01-01", "end": "2026-06-30", "metric": "clicks"}, "metric",
         "Select a valid choice. clicks is not one of the available choices."),
    ],
)  # fmt: skip
def test_a_bad_run_request_is_refused_beside_its_field(
    client: Client, marketer: Any, data: dict[str, str], field: str, error: str
) -> None:
    client.force_login(marketer)
    response = client.post("/ranking/run/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<span class="error" id="id_{field}_error_1">{error}</span>' in html
    assert not Job.objects.exists() and not RankingRun.objects.exists()


# --- Who may do what --------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "read", "run", "decide_status"),
    [
        ("marketer", 200, 302, 302),
        ("executive", 200, 403, 403),
        ("rep", 403, 403, 403),
        (None, "login", "login", "login"),
    ],
)
def test_every_role_gets_what_it_may(
    client: Client,
    personas: dict[str, Any],
    persona: str | None,
    read: Any,
    run: Any,
    decide_status: Any,
    eager_tasks: None,
) -> None:
    planted = plant()
    entry = planted.entry("P07")
    if persona is not None:
        client.force_login(personas[persona])
    responses = {
        "read": [client.get("/ranking/"), client.get(f"/ranking/{planted.run.pk}/")],
        "run": [client.post("/ranking/run/", {"start": "2026-01-01", "end": "2026-06-30",
                                               "metric": "pipeline_per_spend"})],
        "decide": [decide(client, planted.run, entry, decision="cut", reason="Weak")],
    }  # fmt: skip
    for kind, expected in (("read", read), ("run", run), ("decide", decide_status)):
        for response in responses[kind]:
            if expected == "login":
                assert response.status_code == 302 and response["Location"].startswith(
                    "/login/?next="
                )
            else:
                assert response.status_code == expected, (kind, response.status_code)
                if expected == 403:
                    assert b"You may not do this" in response.content
    entry.refresh_from_db()
    assert (entry.decision == "cut") == (persona == "marketer")
    if persona == "executive":
        html = client.get(f"/ranking/{planted.run.pk}/").content.decode()
        assert "Cut this program" not in html
        assert "Pending: a marketer marks it cut or kept." in text(html)
        assert "Rank programs" not in client.get("/ranking/").content.decode()


# --- Query counts --------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 30])
def test_the_pages_render_in_a_fixed_number_of_queries(
    client: Client, marketer: Any, django_assert_num_queries: Any, size: int
) -> None:
    run = portfolio_of(size)
    for _ in range(size // 15):
        ranking_run(start=START, end=END)
    client.force_login(marketer)
    # session, user, permissions (user's and groups'), the page count, the
    # running jobs, the runs with their counts, and the shell (roles, rooms,
    # alert count)
    with django_assert_num_queries(10):
        response = client.get("/ranking/")
    assert len(response.context["runs"]) == 1 + size // 15
    # session, user, permissions (user's and groups'), the run, its entries with
    # programs and deciders, and the shell (roles, rooms, alert count)
    with django_assert_num_queries(9):
        response = client.get(f"/ranking/{run.pk}/")
    assert len(response.context["ranked"]) == size


def test_a_run_still_computing_shows_its_progress_and_polls(client: Client, executive: Any) -> None:
    running = Job.objects.create(
        kind="ranking_run",
        label="Ranking 1 Jan to 30 Jun",
        status="running",
        done=4,
        total=12,
        unit="step",
    )
    finished = Job.objects.create(kind="ranking_run", label="Earlier ranking", status="done")
    client.force_login(executive)
    html = client.get("/ranking/").content.decode()
    assert f'hx-get="/jobs/{running.pk}/"' in html
    assert "4 of 12 steps (33%)" in text(html)
    assert f'<a href="/ranking/?job={running.pk}">reload this page</a>' in html
    # A finished job shows only when the page was opened for it.
    assert "Earlier ranking" not in html
    assert "Earlier ranking" in client.get(f"/ranking/?job={finished.pk}").content.decode()
