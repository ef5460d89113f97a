"""Rollups in parallel threads, with activity inserted meanwhile, on real PostgreSQL:
no activity is lost or counted twice and no account update is lost."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from accounts.models import ICPSegment, SegmentMembership
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityPending,
    ContactEngagement,
    RollupBatch,
    ScoringModel,
)
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute, scores_refresh
from tests.factories import AccountFactory, ContactFactory, SourceFactory

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
TYPES = ["page_view", "pricing_page_view", "demo_request", "unsubscribe", "webinar_attended"]


def in_thread(work: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    return threading.Thread(target=run)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_parallel_rollups_with_concurrent_inserts_equal_a_full_recompute(
    postgresql: None,
) -> None:
    segments = []
    for name, half_life in (("Parallel A", 30.0), ("Parallel B", 7.0)):
        segment = ICPSegment.objects.create(name=name)
        ScoringModel.objects.create(segment=segment, half_life_days=half_life, contact_cap=1000)
        segments.append(segment)
    # Few accounts, so that concurrent rollups keep touching the same ones.
    accounts = [AccountFactory.create() for _ in range(3)]
    for segment in segments:
        for account in accounts:
            SegmentMembership.objects.create(segment=segment, account=account)
    people = [ContactFactory.create(account=accounts[i % 3], seniority="vp") for i in range(6)]
    source = SourceFactory.create()
    for segment in segments:
        scores_recompute(segment_id=segment.pk, at=AT)

    errors: list[BaseException] = []
    stop = threading.Event()

    def insert(writer: int) -> Callable[[], None]:
        def work() -> None:
            rng = random.Random(writer)
            for n in range(40):
                with transaction.atomic():  # small transactions, committing in any order
                    for k in range(rng.randint(1, 4)):
                        person = rng.choice([*people, None])
                        Activity.objects.create(
                            source=source, message_id=f"w{writer}-{n}-{k}",
                            type=rng.choice(TYPES),
                            occurred_at=AT - dt.timedelta(days=rng.uniform(0, 90)),
                            account=person.account if person else rng.choice(accounts),
                            contact=person, anonymous_id="" if person else "anon",
                        )  # fmt: skip

        return work

    def roll() -> None:
        while not stop.is_set():
            scores_rollup(at=AT)

    writers = [in_thread(insert(w), errors) for w in range(3)]
    rollers = [in_thread(roll, errors) for _ in range(3)]
    for thread in [*rollers, *writers]:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    stop.set()
    for thread in rollers:
        thread.join(timeout=120)
    assert not errors, errors
    scores_rollup(at=AT)  # whatever committed after the rollers' last claim

    assert not ActivityPending.objects.exists()
    # Several batches were claimed, by more than one rollup.
    assert RollupBatch.objects.filter(first_activity_id__isnull=False).count() > 3
    incremental = {}
    for segment in segments:
        scores_refresh(segment_id=segment.pk, at=AT)
        incremental[segment.pk] = {
            "accounts": dict(
                AccountEngagement.objects.filter(segment=segment).values_list(
                    "account_id", "raw_score"
                )
            ),
            "contacts": dict(
                ContactEngagement.objects.filter(segment=segment).values_list(
                    "contact_id", "decay_sum"
                )
            ),
        }
    for segment in segments:
        scores_recompute(segment_id=segment.pk, at=AT)
        accounts_full = dict(
            AccountEngagement.objects.filter(segment=segment).values_list("account_id", "raw_score")
        )
        contacts_full = dict(
            ContactEngagement.objects.filter(segment=segment).values_list("contact_id", "decay_sum")
        )
        assert incremental[segment.pk]["accounts"] == pytest.approx(accounts_full, rel=1e-9)
        assert incremental[segment.pk]["contacts"] == pytest.approx(contacts_full, rel=1e-9)
        assert any(value != 0 for value in accounts_full.values())
