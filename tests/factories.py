"""factory_boy factories for every table tests create rows in."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Account, Contact, ICPSegment, Opportunity, SegmentMembership
from campaigns.models import Campaign, CampaignTarget, Program, Spend
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityType,
    Alert,
    EngagementSnapshot,
    ScoringModel,
    Source,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create: bool, names: Iterable[str] | None, **kwargs: Any) -> None:
        """`UserFactory.create(groups=["Marketer"])`: a member of the role groups
        the migrations create."""
        if create and names:
            self.groups.add(*(Group.objects.get(name=name) for name in names))


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")
    industry = "Software"
    employees = 500
    country = "US"
    tier = 2


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"person{n}@company.example")
    email_domain = factory.LazyAttribute(lambda c: c.email.rpartition("@")[2] if c.email else "")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    seniority = "manager"


class ICPSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ICPSegment

    name = factory.Sequence(lambda n: f"Segment {n}")


class SegmentMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SegmentMembership

    segment = factory.SubFactory(ICPSegmentFactory)
    account = factory.SubFactory(AccountFactory)
    fit_score = 85
    fit_grade = "A"


def segment_member(segment: ICPSegment, **account_fields: Any) -> Account:
    """A new account (AccountFactory with `account_fields`), a member of `segment`."""
    return SegmentMembershipFactory.create(
        segment=segment, account=AccountFactory.create(**account_fields)
    ).account


class ScoringModelFactory(factory.django.DjangoModelFactory):
    """A segment's current scoring model, with the product's default weights."""

    class Meta:
        model = ScoringModel

    segment = factory.SubFactory(ICPSegmentFactory)


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Deal {n}")
    amount = Decimal("25000.00")
    opened_on = dt.date(2026, 3, 1)


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    name = factory.Sequence(lambda n: f"Source {n}")
    write_key_hash = factory.Sequence(lambda n: hashlib.sha256(f"key{n}".encode()).hexdigest())
    write_key_prefix = factory.Sequence(lambda n: f"key{n}"[:12])


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    source = factory.SubFactory(SourceFactory)
    message_id = factory.Sequence(lambda n: f"message-{n}")
    type = ActivityType.PAGE_VIEW
    occurred_at = factory.LazyFunction(timezone.now)
    contact = factory.SubFactory(ContactFactory)
    account = factory.LazyAttribute(lambda activity: activity.contact.account)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    starts_on = dt.date(2026, 1, 1)
    ends_on = dt.date(2026, 6, 30)


class CampaignTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignTarget

    campaign = factory.SubFactory(CampaignFactory)
    account = factory.SubFactory(AccountFactory)


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Program {n}")
    channel = "webinar"
    starts_on = dt.date(2026, 1, 1)
    ends_on = dt.date(2026, 3, 31)
    tracking_key = factory.Sequence(lambda n: f"program-{n}")


class SpendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Spend

    program = factory.SubFactory(ProgramFactory)
    spent_on = dt.date(2026, 1, 15)
    amount = Decimal("1000.00")


class AccountEngagementFactory(factory.django.DjangoModelFactory):
    """A stored score; the scoring model is the segment's current one (made if missing)."""

    class Meta:
        model = AccountEngagement

    account = factory.SubFactory(AccountFactory)
    segment = factory.SubFactory(ICPSegmentFactory)
    scoring_model = factory.LazyAttribute(
        lambda e: (
            ScoringModel.objects.filter(segment=e.segment, is_current=True).first()
            or ScoringModelFactory.create(segment=e.segment)
        )
    )
    landmark = factory.LazyFunction(timezone.now)
    computed_at = factory.LazyFunction(timezone.now)
    score = 50
    stage = "engaged"


class EngagementSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EngagementSnapshot

    account = factory.SubFactory(AccountFactory)
    segment = factory.SubFactory(ICPSegmentFactory)
    day = factory.LazyFunction(lambda: timezone.now().date())
    model_version = 1
    score = 40
    raw_score = 25.0
    stage = "aware"


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    account = factory.SubFactory(AccountFactory)
    segment = factory.SubFactory(ICPSegmentFactory)
    score = 65
