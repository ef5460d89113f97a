"""`manage.py bench --only rollup` at a tiny size: the product agrees with the
hand-written SQL on every score, and a wrong product score fails the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from accounts.models import Account
from bench.rollup import benchmark, dataset
from bench.rollup.reference import scores_compare
from engagement.models import AccountEngagement, Activity, ActivityPending, Alert

TINY = [
    "--accounts", "30", "--contacts", "200", "--activities", "3000",
    "--new-activities", "300", "--naive-sample", "8",
]  # fmt: skip


def _bench(*extra: str) -> None:
    call_command("bench", "--only", "rollup", *TINY, *extra, verbosity=0)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_product_agrees_with_the_hand_written_sql_on_every_score(
    postgresql: None, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    _bench("--out", str(out))

    result = json.loads(out.read_text())["rollup"]
    members = result["members"]
    assert 0 < members <= 30
    assert result["recompute_accounts"] == members
    assert result["checked_after_recompute"] == result["checked_after_rollup"] == members
    assert result["checked_naive_sample"] == result["naive_sample"] == 8
    assert result["rollup_accounts"] > 0
    for name in ("recompute_seconds", "reference_seconds", "naive_sample_seconds",
                 "rollup_seconds"):  # fmt: skip
        assert result[name] > 0
    assert result["naive_scaled_seconds"] == pytest.approx(
        result["naive_sample_seconds"] * members / 8, rel=0.01
    )
    # Three timed rounds of each side by default; the medians are compared.
    assert len(result["recompute_rounds"]) == len(result["reference_rounds"]) == 3
    assert result["recompute_seconds"] == sorted(result["recompute_rounds"])[1]
    assert result["reference_seconds"] == sorted(result["reference_rounds"])[1]
    assert set(result["targets"]) == {"recompute_to_reference", "naive_to_recompute"}
    assert result["recompute_breakdown"]["statements"] > 0
    assert Activity.objects.count() == 3000 + 300

    # The agreement means something only if the data exercises every rule.
    activities = Activity.objects.all()
    assert activities.filter(excluded_reason__startswith="junk contact:").exists()
    assert activities.filter(excluded_reason="unsupported country: KP").exists()
    assert activities.filter(contact__isnull=True, account__isnull=False).exists()  # anonymous
    assert activities.filter(account__isnull=True).exists()  # unresolved
    assert activities.filter(type__in=["unsubscribe", "hard_bounce"]).exists()  # negative
    assert activities.filter(type="other").exists()  # no weight
    assert activities.exclude(account__memberships__isnull=False).exists()  # not in segment
    assert (
        activities.exclude(account=F("contact__account"))
        .filter(contact__account__isnull=False, account__isnull=False)
        .exists()
    )  # a contact's activity at another account
    scores = list(AccountEngagement.objects.values_list("score", flat=True))
    assert min(scores) < max(scores)
    # Synthetic history alerts nobody, though the recompute and the rollup qualify accounts.
    assert max(scores) >= 61 and not Alert.objects.exists()


def _recompute_then_corrupt(change: dict[str, Any]) -> Any:
    real = benchmark.recompute

    def wrong(*, segment_id: int) -> Any:
        result = real(segment_id=segment_id)
        victim = AccountEngagement.objects.filter(segment_id=segment_id).order_by("-raw_score")[0]
        AccountEngagement.objects.filter(pk=victim.pk).update(**change)
        return result

    return wrong


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"score": F("score") - 1}, id="score off by one"),
        pytest.param({"raw_score": F("raw_score") * (1 + 1e-8)}, id="raw off by 1e-8"),
    ],
)
def test_a_wrong_product_score_fails_the_run_naming_the_account(
    postgresql: None, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any]
) -> None:
    monkeypatch.setattr(benchmark, "recompute", _recompute_then_corrupt(change))
    disagreement = r"after the full recompute \(round 1\): .* disagree on 1 of"
    with pytest.raises(CommandError, match=disagreement) as err:
        _bench()
    assert "account " in str(err.value) and "product raw" in str(err.value)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_dataset_depends_only_on_the_sizes_and_the_seed(postgresql: None) -> None:
    def fingerprint(seed: int) -> str:
        dataset.dataset_seed(accounts=20, contacts=100, activities=1000, seed=seed)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT md5(string_agg(concat_ws(',', id, type, occurred_at, account_id, "
                "contact_id, anonymous_id, excluded_reason), ';' ORDER BY id)) "
                "FROM engagement_activity"
            )
            row = cursor.fetchone()
        assert row is not None
        return str(row[0])

    first = fingerprint(7)
    assert fingerprint(7) == first  # the run before is emptied, ids restart
    assert fingerprint(8) != first


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_seeded_history_is_rolled_up_and_the_new_activities_pending(postgresql: None) -> None:
    seeded = dataset.dataset_seed(accounts=20, contacts=100, activities=500, seed=3)
    # History is COPYed with the pending trigger off: no pending row.
    assert Activity.objects.count() == 500
    assert not ActivityPending.objects.exists()
    dataset.activities_add(seeded=seeded, count=40, seed=3)
    # The late activities arrive as ingested rows do (the trigger is on again).
    new = set(Activity.objects.filter(message_id__startswith="n").values_list("id", flat=True))
    assert len(new) == 40
    assert set(ActivityPending.objects.values_list("activity_id", flat=True)) == new
    # A second seed empties the pending table with the rest.
    dataset.dataset_seed(accounts=20, contacts=100, activities=100, seed=3)
    assert not ActivityPending.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_rollup_bench_refuses_a_database_holding_other_data(postgresql: None) -> None:
    Account.objects.create(name="Real customer", domain="customer.example")
    with pytest.raises(CommandError, match=r"holds other data \(1 accounts\).*DATABASE_URL"):
        _bench()
    assert Account.objects.filter(domain="customer.example").exists()


def test_scores_compare_names_every_disagreement() -> None:
    reference = {1: (100.0, 86), 2: (0.0, 0), 3: (40.0, 55), 4: (10.0, 18)}
    product = {
        1: (100.0 * (1 + 1e-11), 86),  # float rounding: agrees
        2: (1e-13, 0),  # both zero
        3: (40.0 * (1 + 1e-8), 55),  # raw beyond the tolerance
        5: (1.0, 2),  # not a member in the reference
    }
    mismatches = scores_compare(reference, product)
    assert [m.account_id for m in mismatches] == [3, 4, 5]
    assert mismatches[1].product is None and mismatches[2].reference is None
    assert "product missing" in str(mismatches[1])
    assert scores_compare(reference, reference) == []
    assert scores_compare({1: (50.0, 63)}, {1: (50.0, 64)})[0].account_id == 1
