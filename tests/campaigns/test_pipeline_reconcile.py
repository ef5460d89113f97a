"""Attributed pipeline reconciles: on random data, every pipeline report (by
program, campaign and channel; JSON and CSV; and a campaign's own report) adds
its rows' attributed pipeline and its "influenced by no program" line up to the
period's pipeline, in amount and in count. The period's total and the deals no
program influenced are recomputed here from the tables in plain SQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from campaigns.models import Channel, Program, Touch
from campaigns.reports.attribution import NO_PROGRAM, OTHER_PROGRAMS, PERIOD_TOTAL
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    OpportunityFactory,
    ProgramFactory,
)

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
LABELS = {"programs": "program", "campaigns": "campaign", "channels": "channel"}


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def random_history(rng: random.Random) -> list[int]:
    """Campaigns, programs, touches and deals (some without an amount, some not
    assigned to an account yet) around the period."""
    campaigns = [CampaignFactory.create() for _ in range(rng.randint(1, 3))]
    channels = rng.sample(list(Channel.values), 3)
    programs = [
        ProgramFactory.create(campaign=rng.choice(campaigns), channel=rng.choice(channels))
        for _ in range(rng.randint(1, 6))
    ]
    accounts = AccountFactory.create_batch(rng.randint(5, 25))
    for program in programs:
        for account in rng.sample(accounts, rng.randint(0, len(accounts))):
            first = _day(rng, dt.date(2025, 9, 1), dt.date(2026, 4, 15))
            first_at = dt.datetime.combine(first, dt.time(rng.randint(0, 23)), tzinfo=dt.UTC)
            Touch.objects.create(
                program=program,
                account=account,
                first_touch_at=first_at,
                last_touch_at=first_at + dt.timedelta(days=rng.randint(0, 40)),
                touch_count=rng.randint(1, 9),
            )
    # At least one deal in the period is not assigned to an account yet.
    OpportunityFactory.create(
        account=None, amount=Decimal(rng.randint(0, 10**7)) / 100, opened_on=_day(rng, START, END)
    )
    for _ in range(rng.randint(0, 40)):
        opened = _day(rng, dt.date(2025, 11, 1), dt.date(2026, 5, 31))
        status = rng.choice(["open", "won", "lost"])
        amount = None if rng.random() < 0.2 else Decimal(rng.randint(0, 10**7)) / 100
        OpportunityFactory.create(
            account=None if rng.random() < 0.25 else rng.choice(accounts),
            amount=amount,
            status=status,
            opened_on=opened,
            close_on=None if status == "open" else opened + dt.timedelta(days=rng.randint(0, 90)),
        )
    return [c.pk for c in campaigns]


def period_in_sql(window_days: int) -> dict[str, Any]:
    """The period's pipeline, and the part no program influenced, straight from the tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, account_id, amount, status, opened_on FROM accounts_opportunity "
            "WHERE opened_on >= %s AND opened_on <= %s",
            [START, END],
        )
        deals = cursor.fetchall()
        cursor.execute("SELECT account_id, first_touch_at FROM campaigns_touch")
        touches = cursor.fetchall()

    def as_date(value: Any) -> dt.date:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])

    def as_utc_date(value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).date()
        return dt.date.fromisoformat(str(value)[:10])  # SQLite stores UTC text

    first_touches = [(account, as_utc_date(at)) for account, at in touches]

    def influenced(account_id: int | None, opened: dt.date) -> bool:
        # A deal without an account: no touch is on it, so no program influenced it.
        return account_id is not None and any(
            a == account_id and 0 <= (opened - day).days <= window_days for a, day in first_touches
        )

    def totals(rows: list[tuple]) -> dict[str, Any]:
        return {
            "count": len(rows),
            "amount": sum((Decimal(str(r[2])) for r in rows if r[2] is not None), Decimal(0)),
            "won": sum(1 for r in rows if r[3] == "won"),
            "won_amount": sum(
                (Decimal(str(r[2])) for r in rows if r[3] == "won" and r[2] is not None), Decimal(0)
            ),
            "without_amount": sum(1 for r in rows if r[2] is None),
        }

    no_program = [r for r in deals if not influenced(r[1], as_date(r[4]))]
    return {
        "total": totals(deals),
        "no_program": totals(no_program),
        "unassigned": sum(1 for r in deals if r[1] is None),
    }


def check_rows(rows: list[dict[str, Any]], label: str, expected: dict[str, Any]) -> None:
    """Listed rows + lines before the total = the total = the SQL figures."""
    total = [r for r in rows if r.get(label) == PERIOD_TOTAL]
    no_program = [r for r in rows if r.get(label) == NO_PROGRAM]
    assert len(total) == 1 and len(no_program) == 1 and rows[-1] is total[0]
    parts = rows[:-1]
    for column, key in (
        ("pipeline_attributed", "amount"),
        ("won_revenue_attributed", "won_amount"),
    ):
        assert sum((Decimal(str(r[column])) for r in parts), Decimal(0)) == expected["total"][key]
        assert Decimal(str(total[0][column])) == expected["total"][key]
    for column, key in (("opportunities_attributed", "count"), ("won_attributed", "won")):
        assert sum(float(r[column]) for r in parts) == pytest.approx(expected["total"][key])
        assert float(total[0][column]) == expected["total"][key]
    line = no_program[0]
    assert Decimal(str(line["pipeline_attributed"])) == expected["no_program"]["amount"]
    assert int(line["opportunities_influenced"]) == expected["no_program"]["count"]
    assert int(line["opportunities_without_amount"]) == expected["no_program"]["without_amount"]
    assert int(total[0]["opportunities_without_amount"]) == expected["total"]["without_amount"]


@pytest.mark.parametrize("seed", range(12))
def test_attributed_plus_no_program_is_the_period_pipeline(seed: int, executive: APIClient) -> None:
    rng = random.Random(seed)
    with transaction.atomic():
        campaign_ids = random_history(rng)
        window = rng.choice([0, 14, 30, 90])
        expected = period_in_sql(window)
        assert expected["unassigned"] > 0
        query = f"start={START}&end={END}&window_days={window}"
        for view, label in LABELS.items():
            body = executive.get(f"/api/reports/programs/?{query}&view={view}").json()
            check_rows(body["rows"], label, expected)
            download = executive.get(f"/api/reports/programs/?{query}&view={view}&format=csv")
            table = list(csv.DictReader(io.StringIO(download.content.decode())))
            check_rows(table, label, expected)
        report = executive.get(f"/api/reports/campaigns/{campaign_ids[0]}/?{query}").json()
        check_rows(report["rows"], "program", expected)
        listed = [r for r in report["rows"] if r.get("program") == OTHER_PROGRAMS]
        others = Program.objects.exclude(campaign_id=campaign_ids[0]).exists()
        assert len(listed) == (1 if others else 0)
        transaction.set_rollback(True)


def test_a_deal_no_program_touched_is_on_the_no_program_line(executive: APIClient) -> None:
    """By hand: one deal influenced by one program, one by none, one without
    amount, and one not assigned to an account (the program touched every
    account; a deal on none is still influenced by no program)."""
    program = ProgramFactory.create()
    touched, untouched = AccountFactory.create(), AccountFactory.create()
    at = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
    Touch.objects.create(
        program=program, account=touched, first_touch_at=at, last_touch_at=at, touch_count=1
    )
    OpportunityFactory.create(
        account=touched, amount=Decimal("700.50"), opened_on=dt.date(2026, 2, 1)
    )
    OpportunityFactory.create(
        account=untouched,
        amount=Decimal("300"),
        status="won",
        opened_on=dt.date(2026, 2, 1),
        close_on=dt.date(2026, 3, 1),
    )
    OpportunityFactory.create(account=untouched, amount=None, opened_on=dt.date(2026, 3, 1))
    OpportunityFactory.create(account=None, amount=Decimal("50"), opened_on=dt.date(2026, 1, 20))
    rows = executive.get(f"/api/reports/programs/?start={START}&end={END}").json()["rows"]
    assert [r["program"] for r in rows] == [program.name, NO_PROGRAM, PERIOD_TOTAL]
    mine, none, total = rows
    assert Decimal(str(mine["pipeline_attributed"])) == Decimal("700.50")
    assert Decimal(str(none["pipeline_attributed"])) == Decimal("350")
    assert none["opportunities_influenced"] == 3 and none["opportunities_without_amount"] == 1
    assert none["won_influenced"] == 1 and Decimal(str(none["won_revenue_attributed"])) == 300
    assert Decimal(str(total["pipeline_attributed"])) == Decimal("1050.50")
    assert total["opportunities_influenced"] == 4
