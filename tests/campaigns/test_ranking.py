"""Program ranking: order, flags, ties, zero spend, stored runs, decisions, schedule."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat import schedulers as beat_schedulers
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler
from rest_framework.test import APIClient

from campaigns import ranking
from campaigns.models import Program, RankingEntry, RankingRun, Spend, Touch
from campaigns.services import DecisionRefused, ranking_entry_decide, ranking_run
from config.celery import app as celery_app
from tests.api_clients import api_client_as
from tests.factories import AccountFactory, OpportunityFactory, ProgramFactory

START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)


def candidates(values: list[float | None]) -> list[ranking.Candidate]:
    return [ranking.Candidate(i + 1, Decimal(100), v) for i, v in enumerate(values)]


@pytest.mark.parametrize(("n", "flagged"), [(10, 1), (11, 2), (1, 1), (20, 2), (21, 3), (0, 0)])
def test_bottom_ceil_ten_percent_is_flagged(n: int, flagged: int) -> None:
    ranked = ranking.programs_rank(candidates([float(v) for v in range(n)]),
                                   fraction=Decimal("0.1"))  # fmt: skip
    assert sum(r.flagged for r in ranked) == flagged
    # Best first: the highest value ranks 1; the flags are the lowest values.
    assert [r.program_id for r in ranked] == list(range(n, 0, -1))
    assert all(r.flagged == (r.rank > n - flagged) for r in ranked)


def test_ties_break_by_lower_spend_then_program_id_and_none_ranks_last() -> None:
    tied = [
        ranking.Candidate(7, Decimal(500), 2.0),
        ranking.Candidate(3, Decimal(900), 2.0),
        ranking.Candidate(5, Decimal(500), 2.0),
        ranking.Candidate(1, Decimal(10), None),
        ranking.Candidate(2, Decimal(10), 3.0),
    ]
    ranked = ranking.programs_rank(tied, fraction=Decimal("0.1"))
    assert [(r.program_id, r.rank, r.flagged) for r in ranked] == [
        (2, 1, False), (5, 2, False), (7, 3, False), (3, 4, False), (1, 5, True)]  # fmt: skip
    assert ranking.programs_rank(list(reversed(tied)), fraction=Decimal("0.1")) == ranked


def test_previous_half_year() -> None:
    assert ranking.previous_half_year(dt.date(2026, 7, 1)) == (dt.date(2026, 1, 1), END)
    assert ranking.previous_half_year(dt.date(2027, 1, 1)) == (
        dt.date(2026, 7, 1), dt.date(2026, 12, 31))  # fmt: skip


def portfolio(n: int) -> list[Program]:
    """Program i spends 1,000 and influences a deal of (i + 1) x 1,000: pipeline
    per spend i + 1. Each ends on 31 March, so its 90-day influence window has
    closed by the period's end (30 June). Plus one program running without spend."""
    programs = []
    for i in range(n):
        program = ProgramFactory.create(starts_on=START, ends_on=dt.date(2026, 3, 31))
        account = AccountFactory.create()
        Spend.objects.create(program=program, spent_on=dt.date(2026, 2, 1), amount=Decimal(1000))
        Touch.objects.create(program=program, account=account, touch_count=1,
                             first_touch_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC),
                             last_touch_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC))  # fmt: skip
        OpportunityFactory.create(account=account, amount=Decimal((i + 1) * 1000),
                                  opened_on=dt.date(2026, 2, 1))  # fmt: skip
        programs.append(program)
    ProgramFactory.create(name="Idle", starts_on=START, ends_on=END)
    ProgramFactory.create(name="Last year", starts_on=dt.date(2025, 1, 1),
                          ends_on=dt.date(2025, 3, 1))  # fmt: skip
    return programs


@pytest.mark.django_db
def test_a_run_is_stored_with_flags_and_programs_without_spend_apart() -> None:
    programs = portfolio(11)
    run = ranking_run(start=START, end=END)
    ranked = list(run.entries.filter(rank__isnull=False).order_by("rank"))
    assert [e.program_id for e in ranked] == [p.pk for p in reversed(programs)]
    assert [e.metric_value for e in ranked[:2]] == [11.0, 10.0]
    assert [e.program_id for e in ranked if e.is_flagged] == [programs[1].pk, programs[0].pk]
    assert ranked[0].pipeline == Decimal(11000) and ranked[0].spend == Decimal(1000)
    apart = run.entries.filter(rank__isnull=True)
    assert [e.program.name for e in apart] == ["Idle"]  # "Last year" did not run in the period
    won = ranking_run(start=START, end=END, metric="won_per_spend")
    assert RankingRun.objects.count() == 2 and won.entries.filter(is_flagged=True).count() == 2


@pytest.mark.django_db
def test_only_flagged_programs_take_a_decision_and_cut_stops_the_program() -> None:
    programs = portfolio(3)
    run = ranking_run(start=START, end=END)
    flagged = run.entries.get(is_flagged=True)
    assert flagged.program_id == programs[0].pk
    ranking_entry_decide(entry_id=flagged.pk, decision="cut", note="No pipeline", user_id=None)
    assert Program.objects.get(pk=programs[0].pk).status == "cut"
    top = run.entries.get(rank=1)
    with pytest.raises(DecisionRefused, match="not flagged"):
        ranking_entry_decide(entry_id=top.pk, decision="kept", note="", user_id=None)


@pytest.mark.django_db
def test_command_ranks_a_period(capsys: pytest.CaptureFixture[str]) -> None:
    portfolio(2)
    call_command("programs_rank", "--period", "2026-01-01:2026-06-30")
    out = capsys.readouterr().out
    assert "FLAGGED" in out and "no spend" in out and "stored" in out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="START:END"):
        call_command("programs_rank", "--period", "2026-01-01")


@pytest.mark.django_db
def test_the_schedule_fires_from_beat_on_1_july(
    monkeypatch: pytest.MonkeyPatch, eager_tasks: None
) -> None:
    portfolio(10)
    task = PeriodicTask.objects.get(task="campaigns.programs_rank_scheduled")
    assert (task.crontab.day_of_month, task.crontab.month_of_year) == ("1", "1,7")
    PeriodicTask.objects.filter(pk=task.pk).update(
        last_run_at=dt.datetime(2026, 1, 1, 6, tzinfo=dt.UTC)
    )

    # Beat closes stale connections between ticks; inside the test's transaction
    # that would close the test database's connection on PostgreSQL.
    monkeypatch.setattr(beat_schedulers, "close_old_connections", lambda: None)

    def beat_at(moment: dt.datetime) -> tuple[DatabaseScheduler, Any]:
        """Beat's view of the database schedule with the clock frozen at `moment`."""
        monkeypatch.setattr(timezone, "now", lambda: moment)
        scheduler = DatabaseScheduler(app=celery_app)
        entry = scheduler.schedule.get(task.name)
        if entry is not None:
            entry.schedule.nowfun = lambda: moment
        return scheduler, entry

    _, early = beat_at(dt.datetime(2026, 7, 1, 5, 30, tzinfo=dt.UTC))
    assert early is not None and not early.is_due().is_due
    scheduler, entry = beat_at(dt.datetime(2026, 7, 1, 6, 0, 30, tzinfo=dt.UTC))
    assert entry.is_due().is_due
    # Beat hands the due entry to Celery, which runs it in-process whatever the
    # broker (eager_tasks tells both the project's app and the current one: the
    # Django setting alone was not seen once another test had made its own app).
    scheduler.apply_async(entry)
    run = RankingRun.objects.get()
    assert (run.trigger, run.period_start, run.period_end) == ("schedule", START, END)
    assert run.entries.filter(is_flagged=True).count() == 1


@pytest.mark.django_db
def test_rankings_api_runs_lists_and_decides(
    marketer: APIClient, django_assert_num_queries: Any
) -> None:
    portfolio(4)
    created = marketer.post("/api/rankings/", {"start": "2026-01-01", "end": "2026-06-30"},
                            format="json")  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert len(body["ranked"]) == 4 and [e["program_name"] for e in body["without_spend"]] == [
        "Idle"
    ]
    flagged = [e for e in body["ranked"] if e["is_flagged"]]
    assert len(flagged) == 1
    decided = marketer.post(f"/api/rankings/{body['id']}/decide/",
                            {"entry": flagged[0]["id"], "decision": "kept",
                             "note": "New market, give it a quarter"}, format="json")  # fmt: skip
    assert decided.status_code == 200 and decided.json()["decided_by"] == "marketer"
    assert RankingEntry.objects.get(pk=flagged[0]["id"]).decision == "kept"
    download = marketer.get(f"/api/rankings/{body['id']}/?format=csv")
    assert download["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(download.content.decode())))
    # The ranked programs in rank order, then the one without spend.
    assert [row["rank"] for row in table] == ["1", "2", "3", "4", ""]
    assert table[-1]["program_name"] == "Idle"
    assert [row["is_flagged"] for row in table].count("True") == 1
    assert table[[r["id"] for r in table].index(str(flagged[0]["id"]))]["decision"] == "kept"
    ranking_run(start=START, end=END)
    with django_assert_num_queries(3):  # count, runs, entries with programs
        listed = marketer.get("/api/rankings/").json()
    assert listed["count"] == 2
    bad = marketer.post("/api/rankings/", {"start": "2026-06-30", "end": "2026-01-01"},
                        format="json")  # fmt: skip
    assert bad.status_code == 400
    client = api_client_as("Executive", username="exec")
    assert client.get("/api/rankings/").status_code == 200
    assert client.post("/api/rankings/", {"start": "2026-01-01", "end": "2026-06-30"},
                       format="json").status_code == 403  # fmt: skip


def test_the_saving_of_cuts_adds_their_spend_and_run_rates() -> None:
    # 2,500.00 + 3,000.00 and 833.33 + 1,000.00 per 30 days, by hand.
    cuts = [(Decimal("2500.00"), Decimal("833.33")), (Decimal("3000"), Decimal("1000.00"))]
    saving = ranking.cut_saving(cuts)
    assert (saving.programs, saving.spend, saving.run_rate) == (
        2, Decimal("5500.00"), Decimal("1833.33"))  # fmt: skip
    # A program without a run-rate leaves the total run-rate unknown, not lower.
    unknown = ranking.cut_saving([(Decimal("10"), None), (Decimal("5"), Decimal("1"))])
    assert (unknown.spend, unknown.run_rate) == (Decimal("15"), None)
    assert ranking.cut_saving([]) == ranking.CutSaving(0, Decimal("0.00"), Decimal("0.00"))
