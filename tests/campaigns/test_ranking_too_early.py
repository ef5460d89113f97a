"""Programs whose influence window has not closed by the period's end are too
early to judge: listed apart, never ranked, never flagged. The admin computes a
run when one is added and takes cut/kept decisions through the service."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from campaigns import ranking
from campaigns.models import Program, RankingEntry, RankingRun, Spend, Touch
from campaigns.services import ranking_run
from tests.api_clients import api_client_as
from tests.factories import AccountFactory, OpportunityFactory, ProgramFactory, UserFactory

START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)


def spender(value: int, *, ends_on: dt.date) -> Program:
    """A program spending 1,000 whose touch influenced a deal of value x 1,000."""
    program = ProgramFactory.create(starts_on=START, ends_on=ends_on)
    account = AccountFactory.create()
    Spend.objects.create(program=program, spent_on=dt.date(2026, 2, 1), amount=Decimal(1000))
    at = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    Touch.objects.create(program=program, account=account, touch_count=1, first_touch_at=at,
                         last_touch_at=at)  # fmt: skip
    OpportunityFactory.create(account=account, amount=Decimal(value * 1000),
                              opened_on=dt.date(2026, 2, 1))  # fmt: skip
    return program


def test_the_rule_by_hand() -> None:
    # Ended 1 April: the window closes 30 June, the period's last day: judged.
    assert not ranking.too_early_to_judge(program_ends_on=dt.date(2026, 4, 1),
                                          period_end=END, window_days=90)  # fmt: skip
    # Ended 2 April: an account first touched that day may open a deal on 1 July.
    assert ranking.too_early_to_judge(program_ends_on=dt.date(2026, 4, 2), period_end=END,
                                      window_days=90)  # fmt: skip
    assert ranking.too_early_to_judge(program_ends_on=dt.date(2026, 9, 1), period_end=END,
                                      window_days=0)  # fmt: skip


@pytest.mark.django_db
def test_too_early_programs_are_listed_apart_and_never_flagged() -> None:
    # Ten judged programs (values 2..11) and three recent ones with the worst values.
    judged = [spender(v, ends_on=dt.date(2026, 3, 1)) for v in range(2, 12)]
    recent = [spender(v, ends_on=ends) for v, ends in ((1, dt.date(2026, 4, 2)),
              (0, dt.date(2026, 6, 30)), (0, dt.date(2026, 12, 31)))]  # fmt: skip
    run = ranking_run(start=START, end=END)
    assert run.window_days == 90
    ranked = list(run.entries.filter(rank__isnull=False).order_by("rank"))
    assert [e.program_id for e in ranked] == [p.pk for p in reversed(judged)]
    # Bottom ceil(10% of the 10 judged) = 1: the lowest judged program only.
    flags = [e.program_id for e in run.entries.filter(is_flagged=True)]
    assert flags == [judged[0].pk] and math.ceil(0.1 * len(judged)) == 1
    early = run.entries.filter(too_early=True).order_by("program_id")
    assert [e.program_id for e in early] == [p.pk for p in recent]
    assert all(e.rank is None and not e.is_flagged for e in early)
    assert early[0].metric_value == 1.0 and early[0].pipeline == Decimal(1000)
    # A shorter window judges the program that ended on 2 April.
    short = ranking_run(start=START, end=END, window_days=60)
    assert set(short.entries.filter(too_early=True).values_list("program_id", flat=True)) == {
        recent[1].pk, recent[2].pk}  # fmt: skip


@pytest.mark.django_db
def test_the_api_lists_too_early_programs_apart(django_assert_num_queries: Any) -> None:
    client = api_client_as("Marketer", username="marketer")
    spender(5, ends_on=dt.date(2026, 2, 1))
    late = spender(1, ends_on=END)
    body = client.post("/api/rankings/", {"start": "2026-01-01", "end": "2026-06-30"},
                       format="json").json()  # fmt: skip
    assert [e["program"] for e in body["too_early"]] == [late.pk]
    assert body["too_early"][0]["too_early"] is True and body["too_early"][0]["rank"] is None
    assert [e["is_flagged"] for e in body["ranked"]] == [True]  # ceil(10% of 1)
    table = list(csv.DictReader(io.StringIO(
        client.get(f"/api/rankings/{body['id']}/?format=csv").content.decode())))  # fmt: skip
    assert [(r["rank"], r["too_early"]) for r in table] == [("1", "False"), ("", "True")]


@pytest.fixture
def admin_browser(client: Client) -> tuple[Client, Any]:
    user: Any = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client, user


@pytest.mark.django_db
def test_adding_a_ranking_run_in_the_admin_computes_it(admin_browser: tuple[Client, Any]) -> None:
    client, user = admin_browser
    programs = [spender(v, ends_on=dt.date(2026, 3, 1)) for v in (1, 2, 3)]
    spender(9, ends_on=END)
    response = client.post("/admin/campaigns/rankingrun/add/", {
        "period_start": "2026-01-01", "period_end": "2026-06-30",
        "metric": "pipeline_per_spend", "flag_fraction": "0.1", "window_days": "90",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    run = RankingRun.objects.get()
    assert (run.created_by, run.trigger, run.window_days) == (user, "manual", 90)
    entries = {e.program_id: e for e in run.entries.all()}
    assert [entries[p.pk].rank for p in programs] == [3, 2, 1]
    assert entries[programs[0].pk].is_flagged and sum(e.too_early for e in entries.values()) == 1
    # A stored run is a record: its page shows it, nothing on it can be changed.
    page = client.get(f"/admin/campaigns/rankingrun/{run.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    refused = client.post("/admin/campaigns/rankingrun/add/", {
        "period_start": "2026-06-30", "period_end": "2026-01-01",
        "metric": "pipeline_per_spend", "flag_fraction": "0.1", "window_days": "90",
    })  # fmt: skip
    assert refused.status_code == 200 and RankingRun.objects.count() == 1


@pytest.mark.django_db
def test_cut_in_the_admin_records_who_decided_and_cuts_the_program(
    admin_browser: tuple[Client, Any],
) -> None:
    client, user = admin_browser
    programs = [spender(v, ends_on=dt.date(2026, 3, 1)) for v in (1, 2, 3)]
    run = ranking_run(start=START, end=END)
    flagged = run.entries.get(is_flagged=True)
    url = f"/admin/campaigns/rankingentry/{flagged.pk}/change/"
    response = client.post(url, {"decision": "cut", "decision_note": "No pipeline for the money"})
    assert response.status_code == 302, response.content.decode()[:2000]
    flagged.refresh_from_db()
    assert (flagged.decision, flagged.decision_note) == ("cut", "No pipeline for the money")
    assert flagged.decided_by == user and flagged.decided_at is not None
    assert Program.objects.get(pk=programs[0].pk).status == "cut"
    # An entry that is not flagged takes no decision.
    top = run.entries.get(rank=1)
    assert client.post(f"/admin/campaigns/rankingentry/{top.pk}/change/",
                       {"decision": "cut", "decision_note": ""}).status_code == 403  # fmt: skip
    assert RankingEntry.objects.get(pk=top.pk).decision == "pending"
    assert Program.objects.get(pk=programs[2].pk).status != "cut"
