"""`manage.py seed_demo`: idempotent, deterministic, and its generating process shows."""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Min
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoDbBlocker

from accounts.fit import fit_grade
from accounts.models import Account, Contact, Opportunity, SegmentMembership
from campaigns import services
from campaigns.holdout import holdout_draw
from campaigns.models import Campaign, CampaignTarget, Program, Spend
from demo.catalogue import ACTIVITY_WEIGHTS, FREE_MAIL_DOMAINS, PROGRAM_SPECS
from demo.dataset import H_BASE, H_IN_MARKET, H_MAX, IN_MARKET_RAMP_DAYS
from demo.draws import contact_title, demo_holdout_seed
from demo.histories import demo_histories, opportunity_hazard
from demo.process import demo_dataset_generate
from demo.services import table_counts
from engagement.models import Activity, ActivityType, ScoringModel, Source
from tests.factories import AccountFactory

TODAY = "2026-03-31"
SMALL = "30"


def seed_demo(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--today", TODAY, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def all_counts() -> dict[str, int]:
    user_model = get_user_model()
    return {
        **table_counts(),
        "group memberships": user_model.groups.through.objects.count(),
    }


def fingerprint() -> str:
    """A digest of the seeded rows by natural key, independent of database ids."""
    digest = hashlib.sha256()
    rows = [
        *Account.objects.order_by("domain").values_list(
            "domain", "name", "industry", "employees", "tier", "owner__username", "is_target"
        ),
        *Contact.objects.order_by("email").values_list(
            "email", "title", "seniority", "buying_role", "account__domain", "is_junk"
        ),
        *SegmentMembership.objects.order_by("segment__name", "account__domain").values_list(
            "segment__name", "account__domain", "fit_score"
        ),
        *CampaignTarget.objects.order_by("campaign__name", "account__domain").values_list(
            "campaign__name", "account__domain", "in_holdout"
        ),
        *Spend.objects.order_by("external_id").values_list("external_id", "amount", "spent_on"),
        *Opportunity.objects.order_by("external_id").values_list(
            "external_id", "account__domain", "amount", "status", "opened_on", "close_on"
        ),
        *Activity.objects.order_by("message_id").values_list(
            "message_id", "type", "occurred_at", "account__domain", "contact__email", "tracking_key"
        ),
    ]
    for row in rows:
        digest.update(repr(row).encode())
    return digest.hexdigest()


def seeded_fingerprint(*args: str) -> str:
    """Seed inside a savepoint, digest, and roll back, so one test can compare runs."""
    with transaction.atomic():
        seed_demo(*args)
        result = fingerprint()
        transaction.set_rollback(True)
    return result


# --- Small runs through the command ------------------------------------------------


DEMO_LOGINS = [
    ("marketer", "Marketer"),
    ("sales", "Sales"),
    ("executive", "Executive"),
    ("rep.ana", "Sales"),
    ("rep.ben", "Sales"),
    ("rep.cho", "Sales"),
]


@pytest.fixture(scope="class")
def small_demo(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[str]:
    """A small demo seeded once per class by `seed_demo --if-empty` on the empty
    test database; yields the command's output.

    Seeded in a transaction rolled back when the class's last test ends (so
    the tests below it start empty again); each test runs in a savepoint
    inside it, so what one test writes (a second run, a changed password)
    is gone before the next.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        output = seed_demo("--if-empty", "--accounts", SMALL)
        yield output
        transaction.set_rollback(True)


@pytest.mark.django_db
class TestASmallRun:
    """Tests that start from one small run of the command, seeded once for them all."""

    def test_if_empty_seeds_an_empty_database(self, small_demo: str) -> None:
        # The fixture's run: `--if-empty` on the empty test database.
        assert Account.objects.count() == 30

    def test_running_twice_gives_identical_counts_in_every_table(self, small_demo: str) -> None:
        first = all_counts()  # after the first run, the fixture's
        seed_demo("--accounts", SMALL)
        assert all_counts() == first
        assert first["accounts"] == 30
        assert first["activities"] > 1000
        assert first["opportunities"] > 0

    def test_every_demo_user_logs_in_and_is_in_its_group(
        self, small_demo: str, client: Client
    ) -> None:
        output = small_demo
        user_model = get_user_model()
        for username, group in DEMO_LOGINS:
            password = f"demo-{username}"
            assert f"{username}" in output and password in output
            user = user_model.objects.get(username=username)
            assert list(user.groups.values_list("name", flat=True)) == [group]
            response = client.post(
                reverse("web:login"), {"username": username, "password": password}
            )
            assert response.status_code == 302, username
            assert int(client.session["_auth_user_id"]) == user.pk
            client.logout()
            assert client.login(username=username, password=password)
            client.logout()
        admin = user_model.objects.get(username="admin")
        assert admin.is_superuser and admin.is_staff
        assert client.login(username="admin", password="demo-admin")
        # Accounts are owned by the sales users only.
        owners = set(Account.objects.values_list("owner__username", flat=True))
        assert owners <= {"sales", "rep.ana", "rep.ben", "rep.cho"}
        assert "sales" in owners

    def test_reseeding_keeps_a_password_someone_changed(self, small_demo: str) -> None:
        user = get_user_model().objects.get(username="marketer")
        user.set_password("changed-on-purpose")
        user.save()
        seed_demo("--accounts", SMALL)
        user.refresh_from_db()
        assert user.check_password("changed-on-purpose")


# --- Small runs of their own, from an empty database --------------------------------


@pytest.mark.django_db
def test_same_seed_same_data_and_other_seed_other_data() -> None:
    one = seeded_fingerprint("--accounts", SMALL, "--seed", "5")
    again = seeded_fingerprint("--accounts", SMALL, "--seed", "5")
    other = seeded_fingerprint("--accounts", SMALL, "--seed", "6")
    assert one == again
    assert one != other


@pytest.mark.django_db
def test_if_empty_does_nothing_on_a_non_empty_database() -> None:
    AccountFactory()
    output = seed_demo("--if-empty", "--accounts", SMALL)
    assert Account.objects.count() == 1
    assert not Activity.objects.exists()
    assert not get_user_model().objects.filter(username="marketer").exists()
    # The logins are printed anyway, so `make run` always shows how to sign in.
    assert "marketer" in output and "demo-marketer" in output


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("--accounts", "0"),
        ("--accounts", "many"),
        ("--seed", "-1"),
        ("--today", "2026-13-01"),
        ("--days", "364"),
        ("--days", "1096"),
    ],
)
def test_bad_arguments_are_refused(args: tuple[str, str]) -> None:
    with pytest.raises(CommandError):
        call_command("seed_demo", *args, stdout=StringIO())
    assert not Account.objects.exists()


# --- The pure generator --------------------------------------------------------------


def test_generator_is_deterministic_and_seed_sensitive() -> None:
    today = date(2026, 3, 31)
    first = demo_dataset_generate(accounts=20, seed=3, today=today)
    second = demo_dataset_generate(accounts=20, seed=3, today=today)
    other = demo_dataset_generate(accounts=20, seed=4, today=today)
    assert first == second
    assert first.accounts != other.accounts
    histories = list(demo_histories(first))
    assert histories == list(demo_histories(second))
    assert [h.activities for h in histories] != [h.activities for h in demo_histories(other)]


def test_the_demo_picks_a_seed_whose_holdout_is_10_percent_of_the_list() -> None:
    for size, wanted in ((15, 2), (26, 3), (51, 5), (300, 30)):
        keys = [f"a{n}.example" for n in range(size)]
        for first_seed in range(10):
            seed = demo_holdout_seed(keys=keys, first_seed=first_seed)
            held = holdout_draw(keys, fraction=Decimal("0.1"), seed=seed)
            assert abs(len(held) - wanted) <= size // 100, (size, first_seed)
    keys = [f"a{n}.example" for n in range(15)]
    # A seed that already draws two of fifteen is kept as it is.
    kept = next(
        n for n in range(100) if len(holdout_draw(keys, fraction=Decimal("0.1"), seed=n)) == 2
    )
    assert demo_holdout_seed(keys=keys, first_seed=kept) == kept
    assert demo_holdout_seed(keys=keys[:3], first_seed=5) == 5  # too short for two arms


@pytest.mark.parametrize(
    ("seniority", "function", "expected"),
    [
        ("c_level", "finance", "Chief Financial Officer"),
        ("vp", "marketing", "VP of Marketing"),
        ("director", "it", "Director of IT"),
        ("manager", "sales", "Sales Manager"),
        ("other", "engineering", "Software Engineer"),
    ],
)
def test_titles_follow_seniority_and_function(seniority: str, function: str, expected: str) -> None:
    assert contact_title(seniority=seniority, job_function=function, variant=0) == expected


def test_opportunity_hazard_rises_with_engagement() -> None:
    hazards = [opportunity_hazard(points) for points in (0, 50, 100, 200, 10_000)]
    assert hazards == sorted(hazards)
    assert hazards[0] == H_BASE
    assert hazards[-1] == H_BASE + H_MAX


def test_opportunity_hazard_in_a_buying_cycle_by_hand() -> None:
    ramp = IN_MARKET_RAMP_DAYS
    assert opportunity_hazard(0, days_in_market=0) == pytest.approx(H_BASE + H_IN_MARKET / ramp)
    assert opportunity_hazard(0, days_in_market=9) == pytest.approx(
        H_BASE + H_IN_MARKET * 10 / ramp
    )
    # Full from the ramp's last day on; the engaged part adds: 110 of 220 points is (1/2)^2.
    assert opportunity_hazard(110, days_in_market=ramp - 1) == pytest.approx(
        H_BASE + H_MAX * 0.25 + H_IN_MARKET
    )
    assert opportunity_hazard(110, days_in_market=400) == opportunity_hazard(
        110, days_in_market=ramp - 1
    )
    assert opportunity_hazard(110) == pytest.approx(H_BASE + H_MAX * 0.25)


def _in_market(surge: tuple[int, int] | None, day: int) -> bool:
    return surge is not None and surge[0] <= day < surge[1]


def test_a_buying_cycle_shows_in_what_the_account_does_and_who_does_it() -> None:
    """In its in-market window an account looks at pricing and asks for demos
    more, its deciders and payers join in, and it opens most opportunities."""
    dataset = demo_dataset_generate(accounts=300, seed=5, today=date(2026, 3, 31))
    roles = {contact.email: contact.buying_role for contact in dataset.contacts}
    kinds = {True: Counter[str](), False: Counter[str]()}
    signers = {True: 0, False: 0}
    known = {True: 0, False: 0}
    opened = {True: 0, False: 0}
    days = {True: 0, False: 0}
    for account, history in zip(dataset.accounts, demo_histories(dataset), strict=True):
        for day in range(dataset.window_days):
            days[_in_market(account.surge, day)] += 1
        for activity in history.activities:
            if activity.tracking_key:
                continue
            inside = _in_market(
                account.surge, (activity.occurred_at.date() - dataset.window_start).days
            )
            kinds[inside][activity.type] += 1
            if activity.contact_email:
                known[inside] += 1
                signers[inside] += roles[activity.contact_email] in (
                    "decision_maker", "economic_buyer"
                )  # fmt: skip
        for opportunity in history.opportunities:
            opened[
                _in_market(account.surge, (opportunity.opened_on - dataset.window_start).days)
            ] += 1

    def share(inside: bool, kind: str) -> float:
        return kinds[inside][kind] / sum(kinds[inside].values())

    assert share(True, "pricing_page_view") > 2 * share(False, "pricing_page_view")
    assert share(True, "demo_request") > 2.5 * share(False, "demo_request")
    # Form fills (the MQL rule) are not part of the cycle's mix: their share falls.
    assert share(True, "form_fill") < share(False, "form_fill")
    assert signers[True] / known[True] > 2 * signers[False] / known[False]
    rate_in, rate_out = opened[True] / days[True], opened[False] / days[False]
    assert rate_in > 4 * rate_out, (rate_in, rate_out)


def test_a_longer_history_keeps_the_campaigns_in_its_last_year() -> None:
    today = date(2026, 3, 31)
    year = demo_dataset_generate(accounts=20, seed=3, today=today)
    two = demo_dataset_generate(accounts=20, seed=3, today=today, days=730)
    assert two.window_start == today - timedelta(days=730)
    assert two.window_days == 730 and year.window_days == 365
    assert [(p.starts_on, p.ends_on) for p in two.programs] == [
        (p.starts_on, p.ends_on) for p in year.programs
    ]
    history = next(demo_histories(two))
    assert min(a.occurred_at.date() for a in history.activities) < today - timedelta(days=365)
    for days in (364, 1096):
        with pytest.raises(ValueError, match="days must be 365 to 1095"):
            demo_dataset_generate(accounts=20, seed=3, today=today, days=days)


# --- One default-size run, shared by the tests below --------------------------------


@pytest.fixture(scope="module")
def default_demo(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """The default-size demo, seeded once in a transaction that is rolled back at the end.

    Each test then runs in a savepoint inside it, so nothing leaks to other modules.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        seed_demo()
        yield
        transaction.set_rollback(True)


DEMO_SEED = "42"
WINDOW_START = datetime.fromisoformat(f"{TODAY}T00:00:00+00:00") - timedelta(days=365)


@pytest.mark.django_db
def test_default_size_has_the_promised_shape(default_demo: None) -> None:
    assert Account.objects.count() >= 200
    segments = SegmentMembership.objects.values("segment").distinct().count()
    assert segments >= 3
    assert ScoringModel.objects.filter(version=1, is_current=True).count() == segments
    team_sizes = Counter(
        Contact.objects.filter(account__isnull=False).values_list("account_id", flat=True)
    )
    assert len(team_sizes) == Account.objects.count()
    assert min(team_sizes.values()) >= 6 and max(team_sizes.values()) <= 10
    assert Activity.objects.count() >= 20_000
    assert set(Activity.objects.values_list("type", flat=True).distinct()) == set(
        ActivityType.values
    )
    assert set(Source.objects.values_list("name", flat=True)) == {"Demo data"}
    assert not Activity.objects.exclude(message_id__startswith=f"demo-{DEMO_SEED}-").exists()
    # Activity covers twelve months and stops before --today.
    span = Activity.objects.aggregate(first=Min("occurred_at"))
    assert span["first"] >= WINDOW_START
    assert not Activity.objects.filter(occurred_at__gte=WINDOW_START + timedelta(days=365)).exists()


@pytest.mark.django_db
def test_contacts_are_consistent_and_junk_is_excluded(default_demo: None) -> None:
    for email, domain, seniority, title in Contact.objects.filter(
        account__isnull=False
    ).values_list("email", "account__domain", "seniority", "title"):
        assert email is not None and email.endswith(f"@{domain}")
        expected_word = {
            "c_level": ("Chief", "President"),
            "vp": ("VP", "Vice President"),
            "director": ("Director",),
            "manager": ("Manager",),
        }.get(seniority)
        if expected_word:
            assert any(word in title for word in expected_word), (seniority, title)
    junk = Contact.objects.filter(is_junk=True)
    assert junk.exists()
    assert set(junk.values_list("junk_reason", flat=True)) == {"free-mail domain"}
    junk_domains = {str(email).split("@")[1] for email in junk.values_list("email", flat=True)}
    assert junk_domains <= set(FREE_MAIL_DOMAINS)
    junk_activity = Activity.objects.filter(contact__is_junk=True)
    assert junk_activity.exists()
    assert not junk_activity.filter(excluded_reason="").exists()
    assert not Activity.objects.filter(contact__is_junk=False).exclude(excluded_reason="").exists()
    anonymous = Activity.objects.filter(contact__isnull=True, account__isnull=False)
    assert anonymous.count() > 1000
    assert not anonymous.filter(anonymous_id="").exists()
    assert not anonymous.filter(ip__isnull=True).exists()


@pytest.mark.django_db
def test_fit_grades_follow_fit_scores(default_demo: None) -> None:
    grades: Counter[str] = Counter()
    for score, grade in SegmentMembership.objects.values_list("fit_score", "fit_grade"):
        assert 0 <= score <= 100
        assert grade == fit_grade(score)
        grades[grade] += 1
    assert {"A", "B", "C"} <= set(grades)


# What each demo segment's name promises, written out independently of its criteria.
SEGMENT_PROMISES = {
    "Mid-market SaaS": lambda a: (
        a.industry in {"Software", "Telecommunications"} and 200 <= a.employees <= 2000
    ),
    "Enterprise financial services": lambda a: (
        a.industry in {"Financial Services", "Insurance"}
        and (a.employees >= 1000 or a.annual_revenue >= 250_000_000)
    ),
    "Healthcare & life sciences": lambda a: a.industry in {"Healthcare", "Pharmaceuticals"},
    "Industrial & logistics": lambda a: a.industry in {"Manufacturing", "Logistics"},
}


@pytest.mark.django_db
def test_every_segment_member_is_what_the_segment_name_says(default_demo: None) -> None:
    members: Counter[str] = Counter()
    for membership in SegmentMembership.objects.select_related("segment", "account"):
        account, name = membership.account, membership.segment.name
        assert SEGMENT_PROMISES[name](account), (name, account.industry, account.employees)
        members[name] += 1
    assert set(members) == set(SEGMENT_PROMISES)


@pytest.mark.django_db
def test_holdouts_are_seeded_and_never_touched(default_demo: None) -> None:
    assert Campaign.objects.count() == 3
    for campaign in Campaign.objects.all():
        targets = CampaignTarget.objects.filter(campaign=campaign)
        domains = [str(domain) for domain in targets.values_list("account__domain", flat=True)]
        holdout = set(targets.filter(in_holdout=True).values_list("account__domain", flat=True))
        assert len(domains) >= 10
        assert len(holdout) == max(2, round(0.1 * len(domains)))
        # The stored seed reproduces the draw, by the product's own rule: each
        # domain's sha256 draw below the fraction, recomputed here by hand.
        assert holdout == {
            domain
            for domain in domains
            if int.from_bytes(
                hashlib.sha256(f"{campaign.holdout_seed}:{domain}".encode()).digest()[:8], "big"
            )
            < campaign.holdout_fraction * 2**64
        }
        # The product's redraw from the stored seed moves nobody.
        services.campaign_holdout_draw(campaign_id=campaign.pk)
        assert holdout == set(
            targets.filter(in_holdout=True).values_list("account__domain", flat=True)
        )
        keys = list(campaign.programs.values_list("tracking_key", flat=True))
        touched = Activity.objects.filter(tracking_key__in=keys)
        assert (
            touched.filter(account__domain__in=domains)
            .exclude(account__domain__in=holdout)
            .exists()
        )
        assert not touched.filter(account__domain__in=holdout).exists()


ENGAGEMENT_WEIGHTS = ACTIVITY_WEIGHTS


@pytest.mark.django_db
def test_history_raises_no_alerts(default_demo: None) -> None:
    """Seeding scores a year of history: accounts already qualified are disarmed,
    not alerted (30 alerts here, each emailed, before the flag reached the claim)."""
    from engagement.models import AccountEngagement, Alert

    qualified = AccountEngagement.objects.filter(stage="qualified")
    assert qualified.exists()
    assert not qualified.filter(alert_armed=True).exists()
    assert Alert.objects.count() == 0


@pytest.mark.django_db
def test_engaged_accounts_open_opportunities_more_often(default_demo: None) -> None:
    points: dict[int, float] = defaultdict(float)
    for account_id, activity_type, count in (
        Activity.objects.filter(account__isnull=False)
        .values_list("account_id", "type")
        .annotate(count=Count("id"))
    ):
        points[account_id] += ENGAGEMENT_WEIGHTS.get(activity_type, 0.0) * count
    opportunities = Counter(Opportunity.objects.values_list("account_id", flat=True))
    ranked = sorted(Account.objects.values_list("id", flat=True), key=lambda pk: points[pk])
    half = len(ranked) // 2
    low = sum(opportunities[pk] for pk in ranked[:half]) / half
    high = sum(opportunities[pk] for pk in ranked[half:]) / (len(ranked) - half)
    assert high > 2 * low, (low, high)


def _organic_ratio(tracking_key: str) -> float:
    """Organic activity per day in the 90 days after each account's first touch,
    over the 90 days (or fewer, at the window start) before it, summed over accounts."""
    first_touches = (
        Activity.objects.filter(tracking_key=tracking_key)
        .values("account_id")
        .annotate(first=Min("occurred_at"))
    )
    before = after = days_before = days_after = 0.0
    for row in first_touches:
        first = row["first"].replace(hour=0, minute=0, second=0, microsecond=0)
        start = max(WINDOW_START, first - timedelta(days=90))
        end = min(WINDOW_START + timedelta(days=365), first + timedelta(days=90))
        organic = Activity.objects.filter(account_id=row["account_id"], tracking_key="")
        before += organic.filter(occurred_at__gte=start, occurred_at__lt=first).count()
        after += organic.filter(occurred_at__gte=first, occurred_at__lt=end).count()
        days_before += (first - start).days
        days_after += (end - first).days
    return (after / days_after) / (before / days_before)


@pytest.mark.django_db
def test_the_strongest_program_lifts_activity_more_than_the_weakest(default_demo: None) -> None:
    by_effect = sorted(PROGRAM_SPECS, key=lambda spec: spec.effect)
    weakest, strongest = by_effect[0].key, by_effect[-1].key
    assert Program.objects.filter(tracking_key__in=[weakest, strongest]).count() == 2
    weak_ratio, strong_ratio = _organic_ratio(weakest), _organic_ratio(strongest)
    assert strong_ratio > 1.4 * weak_ratio, (weak_ratio, strong_ratio)
    assert strong_ratio > 1.5


@pytest.mark.django_db
def test_opportunities_look_like_a_pipeline(default_demo: None) -> None:
    opportunities = Opportunity.objects.all()
    assert opportunities.count() >= 30
    assert not opportunities.exclude(external_id__startswith=f"demo-opp-{DEMO_SEED}-").exists()
    assert set(opportunities.values_list("status", flat=True)) == {"open", "won", "lost"}
    assert not opportunities.exclude(status="open").filter(close_on__isnull=True).exists()
    assert len(set(opportunities.values_list("source", flat=True))) >= 3
    mean_amount = {
        tier: statistics.mean(
            float(amount or 0)
            for amount in opportunities.filter(account__tier=tier).values_list("amount", flat=True)
        )
        for tier in (1, 2, 3)
    }
    assert mean_amount[1] > mean_amount[2] > mean_amount[3]
    # Every program that has started has spend, in lines named for idempotency.
    for program in Program.objects.filter(starts_on__lt=date.fromisoformat(TODAY)):
        assert program.spend.exists(), program.name
    assert not Spend.objects.exclude(external_id__startswith="demo-spend-").exists()
