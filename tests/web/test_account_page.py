"""The account page as the server renders it, and following an account (page
and REST). Every expected figure is worked out by hand from the scenario below
(decay written out as 2 ** (-days / half-life)), never taken from the code
under test."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from campaigns.models import Touch
from engagement.models import ContactEngagement, ScoringModel
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    ActivityFactory,
    AlertFactory,
    CampaignFactory,
    CampaignTargetFactory,
    ContactFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ProgramFactory,
    ScoringModelFactory,
    SegmentMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HALF_LIFE = 30.0  # the default model's half-life in days


def decayed(weight: float, days_ago: float) -> float:
    return weight * 2 ** (-days_ago / HALF_LIFE)


@pytest.fixture
def acme(rep: Any) -> dict[str, Any]:
    """Acme: Fintech 70 qualified (60 a week ago, 75 a month ago), SaaS 20.
    Dana (C-level, decision maker) requested a demo 2 days ago; Liam (manager,
    champion) viewed a page 20 days ago and pricing twice 3 days ago; an
    anonymous visitor viewed a page yesterday; a junk contact's view is excluded."""
    now = timezone.now()
    today = now.date()
    fintech = ICPSegmentFactory.create(name="Fintech")
    saas = ICPSegmentFactory.create(name="SaaS")
    ScoringModelFactory.create(segment=fintech, required_roles=["decision_maker", "champion"])
    ScoringModelFactory.create(segment=saas)
    acme = AccountFactory.create(name="Acme", domain="acme.example", owner=rep)
    SegmentMembershipFactory.create(segment=fintech, account=acme, fit_score=90, fit_grade="A")
    SegmentMembershipFactory.create(segment=saas, account=acme, fit_score=50, fit_grade="C")
    AccountEngagementFactory.create(
        account=acme, segment=fintech, score=70, stage="qualified", engaged_contacts=2,
        roles_covered=["champion"], landmark=now,
    )  # fmt: skip
    AccountEngagementFactory.create(account=acme, segment=saas, score=20, stage="aware")
    for days, score in ((7, 60), (30, 75), (11, 52)):
        EngagementSnapshotFactory.create(
            account=acme, segment=fintech, day=today - dt.timedelta(days=days), score=score
        )
    # A month end well before the 30-day window: the trend table shows it.
    month_end = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    month_end = (month_end - dt.timedelta(days=1)).replace(day=1) - dt.timedelta(days=1)
    EngagementSnapshotFactory.create(account=acme, segment=fintech, day=month_end, score=33)
    dana = ContactFactory.create(
        account=acme, first_name="Dana", last_name="Decider", email="dana@acme.example",
        title="CFO", seniority="c_level", job_function="finance", buying_role="decision_maker",
    )  # fmt: skip
    liam = ContactFactory.create(
        account=acme, first_name="Liam", last_name="Lead", email="liam@acme.example",
        title="Head of Ops", seniority="manager", job_function="operations",
        buying_role="champion",
    )  # fmt: skip
    junk = ContactFactory.create(
        account=acme, first_name="Spam", last_name="Bot", email="bot@acme.example",
        is_junk=True, junk_reason="disposable address",
    )  # fmt: skip
    for contact, decay_sum in ((dana, 50.0), (liam, 12.5)):
        ContactEngagement.objects.create(
            contact=contact, account=acme, segment=fintech, landmark=now, decay_sum=decay_sum
        )
    ActivityFactory.create(contact=dana, type="demo_request", occurred_at=now - dt.timedelta(2))
    ActivityFactory.create(contact=liam, type="page_view", occurred_at=now - dt.timedelta(20))
    for _ in range(2):
        ActivityFactory.create(
            contact=liam, type="pricing_page_view", occurred_at=now - dt.timedelta(3)
        )
    ActivityFactory.create(
        contact=None, account=acme, type="page_view", occurred_at=now - dt.timedelta(1)
    )
    ActivityFactory.create(
        contact=junk, type="page_view", occurred_at=now - dt.timedelta(1),
        excluded_reason="junk contact",
    )  # fmt: skip
    # Two programs: the webinar's campaign holds Acme out and measures Fintech;
    # the ads' campaign does not target it.
    held = CampaignFactory.create(name="Fintech push", segment=fintech)
    CampaignTargetFactory.create(campaign=held, account=acme, in_holdout=True)
    webinar = ProgramFactory.create(campaign=held, name="Fintech webinar")
    ads = ProgramFactory.create(name="Paid social", channel="paid_social")
    Touch.objects.create(
        program=webinar, account=acme, first_touch_at=now - dt.timedelta(10),
        last_touch_at=now - dt.timedelta(3), touch_count=4,
    )  # fmt: skip
    Touch.objects.create(
        program=ads, account=acme, first_touch_at=now - dt.timedelta(40),
        last_touch_at=now - dt.timedelta(35), touch_count=2,
    )  # fmt: skip
    OpportunityFactory.create(
        account=acme, name="Acme expansion", amount=120000, source="marketing",
        opened_on=today - dt.timedelta(20), status="open",
    )  # fmt: skip
    OpportunityFactory.create(
        account=acme, name="Acme pilot", amount=8000, source="sales", status="won",
        opened_on=today - dt.timedelta(60), close_on=today - dt.timedelta(45),
    )  # fmt: skip
    AlertFactory.create(account=acme, segment=fintech, recipient=rep, score=70)
    AlertFactory.create(account=acme, segment=fintech, recipient=UserFactory.create(), score=71)
    return {"acme": acme, "fintech": fintech, "saas": saas, "dana": dana, "liam": liam,
            "month_end": month_end, "now": now}  # fmt: skip


def page(client: Client, account: Any, query: str = "") -> str:
    response = client.get(f"/accounts/{account.pk}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_best_segment_is_shown_with_its_trend_and_band_lines(
    client: Client, rep: Any, acme: dict[str, Any]
) -> None:
    client.force_login(rep)
    html = page(client, acme["acme"])
    assert 'id="trend-heading">Score trend in Fintech' in html
    # Four snapshots in the year: four points, and lines at the default bands.
    assert html.count('class="chart-series chart-series-0 chart-point"') == 4
    assert "engaged (41) and qualified (61)" in html
    # The month-end table: the month end of three months ago is 33.
    words = text(html)
    assert f"{acme['month_end'].isoformat()} 33" in words
    # The segment picker: SaaS on request.
    saas = page(client, acme["acme"], f"?segment={acme['saas'].pk}")
    assert 'id="trend-heading">Score trend in SaaS' in saas
    assert "chart-point" not in saas  # no SaaS snapshots: nothing drawn, and it says so
    assert "No daily snapshot was recorded in this year" in saas


def test_what_changed_in_7_and_30_days(client: Client, rep: Any, acme: dict[str, Any]) -> None:
    client.force_login(rep)
    words = text(page(client, acme["acme"]))
    demo = decayed(30 * 2.0, 2)  # c-level multiplier 2
    pricing = 2 * decayed(5, 3)
    anonymous_view = decayed(1, 1)
    demo_day = (acme["now"] - dt.timedelta(2)).date().isoformat()
    seven = (
        "Last 7 days Score up 10 (60 to 70). 1 new person engaged: Dana Decider (CFO). "
        f"Most points from demo request ({demo:.1f}), pricing page view ({pricing:.1f}), "
        f"page view ({anonymous_view:.1f}). Pricing interest: 2 pricing page views by 1 person. "
        f"Demo requested by Dana Decider on {demo_day}."
    )
    assert seven in words
    page_views = anonymous_view + decayed(1, 20)
    thirty = (
        "Last 30 days Score down 5 (75 to 70). 2 new people engaged: Dana Decider (CFO), "
        f"Liam Lead (Head of Ops). Most points from demo request ({demo:.1f}), "
        f"pricing page view ({pricing:.1f}), page view ({page_views:.1f})."
    )
    assert thirty in words


def test_the_score_explanation_caps_each_person(
    client: Client, rep: Any, acme: dict[str, Any]
) -> None:
    client.force_login(rep)
    words = text(page(client, acme["acme"]))
    assert "Why the score is 70" in words
    demo = decayed(60, 2)
    liam = 2 * decayed(5, 3) + decayed(1, 20)
    # Dana's 57.2 points count 40 (the cap); Liam's count in full; anonymous half.
    assert f"Dana Decider · decision maker {demo:.1f} 40.0" in words
    assert f"Liam Lead · champion {liam:.1f} {liam:.1f}" in words
    anonymous = decayed(1, 1)
    assert f"anonymous visitors {anonymous:.1f} {anonymous / 2:.1f}" in words
    assert f"Demo request {demo:.1f}" in words  # by activity type, and the top activity


def test_the_buying_team_with_roles_and_junk_apart(
    client: Client, rep: Any, acme: dict[str, Any]
) -> None:
    client.force_login(rep)
    words = text(page(client, acme["acme"]))
    three_days_ago = (acme["now"] - dt.timedelta(3)).date().isoformat()
    two_days_ago = (acme["now"] - dt.timedelta(2)).date().isoformat()
    # Dana's 50 points count 40 (the cap); Liam's 12.5 count in full.
    assert f"Dana Decider CFO C-level Finance Decision maker 40.0 of 50.0 {two_days_ago}" in words
    assert f"Liam Lead Head of Ops Manager Operations Champion 12.5 {three_days_ago}" in words
    assert words.index("Dana Decider CFO") < words.index("Liam Lead Head of Ops")
    assert "Roles covered: 1 of the 2 Fintech requires ✓ Champion · missing: Decision maker" in (
        words
    )
    assert "Junk contacts (not counted) Spam Bot: disposable address" in words
    assert "Spam Bot " not in words.split("Junk contacts")[0].split("Buying team")[1]


def test_the_timeline_labels_anonymous_and_excluded_activity_and_filters(
    client: Client, rep: Any, acme: dict[str, Any]
) -> None:
    client.force_login(rep)
    response = client.get(f"/accounts/{acme['acme'].pk}/")
    timeline = response.context["timeline"]
    assert timeline.paginator.count == 6
    words = text(response.content.decode())
    assert "anonymous visitor (resolved by IP or domain) Page view" in words
    assert "Spam Bot Page view not counted: junk contact" in words
    pricing = client.get(f"/accounts/{acme['acme'].pk}/?type=pricing_page_view")
    assert [a.type for a in pricing.context["timeline"]] == ["pricing_page_view"] * 2
    anonymous = client.get(f"/accounts/{acme['acme'].pk}/?contact=anonymous")
    assert [a.contact_id for a in anonymous.context["timeline"]] == [None]
    dana = client.get(f"/accounts/{acme['acme'].pk}/?contact={acme['dana'].pk}")
    assert [a.type for a in dana.context["timeline"]] == ["demo_request"]
    day = (acme["now"] - dt.timedelta(3)).date().isoformat()
    dated = client.get(f"/accounts/{acme['acme'].pk}/?since={day}&until={day}")
    assert dated.context["timeline"].paginator.count == 2
    nothing = page(client, acme["acme"], "?type=demo_request&contact=anonymous")
    assert "No activity matches these filters." in nothing
    backwards = page(client, acme["acme"], f"?since={day}&until=2000-01-01")
    assert "Must not be before the start." in backwards


def test_the_timeline_pages_25_at_a_time_and_htmx_gets_it_alone(client: Client, rep: Any) -> None:
    contact = ContactFactory.create(account=AccountFactory.create(name="Busy"))
    ActivityFactory.create_batch(30, contact=contact)
    client.force_login(rep)
    first = client.get(f"/accounts/{contact.account_id}/")
    assert len(first.context["timeline"].object_list) == 25
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(f"/accounts/{contact.account_id}/?page=2")
    assert len(second.context["timeline"].object_list) == 5
    partial = client.get(
        f"/accounts/{contact.account_id}/?page=2",
        headers={"HX-Request": "true", "HX-Target": "timeline"},
    ).content.decode()
    assert partial.startswith('<section id="timeline"') and "<html" not in partial


def test_programs_and_opportunities(client: Client, rep: Any, acme: dict[str, Any]) -> None:
    client.force_login(rep)
    words = text(page(client, acme["acme"]))
    today = acme["now"].date()
    first, last = (today - dt.timedelta(10)).isoformat(), (today - dt.timedelta(3)).isoformat()
    # 70 now against 52 on the day before the first touch: +18; held out.
    assert f"Fintech webinar · Webinar Fintech push {first} {last} 4 +18 holdout" in words
    ads_first = (today - dt.timedelta(40)).isoformat()
    ads_last = (today - dt.timedelta(35)).isoformat()
    assert "Paid social · Paid social" in words
    assert f"{ads_first} {ads_last} 2 unknown not a target" in words
    # Opened 20 days ago: after the ads' first touch (40 days ago, within 90
    # days), before the webinar's.
    opened = (today - dt.timedelta(20)).isoformat()
    assert "Acme expansion 120,000 open" in words
    assert f"Acme expansion 120,000 open {opened} open Marketing Paid social " in words
    # Opened 60 days ago, before either program's first touch: none influenced it.
    pilot_opened = (today - dt.timedelta(60)).isoformat()
    pilot_closed = (today - dt.timedelta(45)).isoformat()
    assert f"Acme pilot 8,000 won {pilot_opened} {pilot_closed} Sales none" in words


def test_alerts_are_the_users_own(client: Client, rep: Any, acme: dict[str, Any]) -> None:
    client.force_login(rep)
    words = text(page(client, acme["acme"]))
    assert "Your alerts on this account" in words
    assert "in Fintech at score 70" in words and "at score 71" not in words


def _follows(user_id: int, account_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM accounts_accountfollow WHERE user_id = %s AND account_id = %s",
            [user_id, account_id],
        )
        return int(cursor.fetchone()[0])


@pytest.mark.parametrize("persona", ["rep", "marketer", "executive"])
def test_any_role_follows_and_unfollows_from_the_page(
    client: Client, persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    account = AccountFactory.create()
    client.force_login(user)
    assert ">Follow</button>" in page(client, account)
    response = client.post(f"/accounts/{account.pk}/follow/", {"follow": "1"})
    assert (response.status_code, response["Location"]) == (302, f"/accounts/{account.pk}/")
    assert _follows(user.pk, account.pk) == 1
    assert ">Unfollow</button>" in page(client, account)
    # htmx swaps the button alone.
    swapped = client.post(
        f"/accounts/{account.pk}/follow/", {"follow": "0"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert swapped.startswith('<form id="follow"') and ">Follow</button>" in swapped
    assert _follows(user.pk, account.pk) == 0
    assert client.post("/accounts/999999/follow/", {"follow": "1"}).status_code == 404


def test_follow_services_are_idempotent(rep: Any) -> None:
    account = AccountFactory.create()
    assert account_services.account_follow(user_id=rep.pk, account_id=account.pk) is True
    assert account_services.account_follow(user_id=rep.pk, account_id=account.pk) is False
    assert _follows(rep.pk, account.pk) == 1
    assert account_services.account_unfollow(user_id=rep.pk, account_id=account.pk) is True
    assert account_services.account_unfollow(user_id=rep.pk, account_id=account.pk) is False
    assert _follows(rep.pk, account.pk) == 0


def test_follow_over_rest(client: Client, rep: Any) -> None:
    account = AccountFactory.create()
    client.force_login(rep)
    url = f"/api/accounts/{account.pk}/follow/"
    created = client.post(url)
    assert (created.status_code, created.json()) == (201, {"account_id": account.pk,
                                                           "following": True})  # fmt: skip
    assert client.post(url).status_code == 200
    assert _follows(rep.pk, account.pk) == 1
    assert client.delete(url).status_code == 204
    assert client.delete(url).status_code == 204
    assert _follows(rep.pk, account.pk) == 0
    assert client.post("/api/accounts/999999/follow/").status_code == 404
    client.logout()
    assert client.post(url).status_code in (401, 403)


def test_anonymous_visitors_log_in_first(client: Client) -> None:
    account = AccountFactory.create()
    response = client.post(f"/accounts/{account.pk}/follow/", {"follow": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def _history(account: Any, segment: Any, size: int) -> None:
    """`size` contacts with activity, snapshots, touches and deals."""
    now = timezone.now()
    for index in range(size):
        junk = index % 5 == 4
        contact = ContactFactory.create(
            account=account, is_junk=junk, junk_reason="role address" if junk else ""
        )
        ContactEngagement.objects.create(
            contact=contact, account=account, segment=segment, landmark=now, decay_sum=3.0
        )
        ActivityFactory.create_batch(
            3, contact=contact, type="pricing_page_view", occurred_at=now - dt.timedelta(index)
        )
        ActivityFactory.create(contact=None, account=account, occurred_at=now)
        EngagementSnapshotFactory.create(
            account=account, segment=segment, day=now.date() - dt.timedelta(index + 1)
        )
        program = ProgramFactory.create()
        CampaignTargetFactory.create(campaign=program.campaign, account=account)
        Touch.objects.create(
            program=program, account=account, first_touch_at=now - dt.timedelta(index + 1),
            last_touch_at=now, touch_count=index + 1,
        )  # fmt: skip
        OpportunityFactory.create(account=account)
        AlertFactory.create(account=account, segment=segment, recipient=account.owner)


@pytest.mark.parametrize("size", [1, 12])
def test_the_page_renders_in_a_fixed_number_of_queries(
    client: Client, rep: Any, django_assert_num_queries: Any, size: int
) -> None:
    segments = ICPSegmentFactory.create_batch(2)
    account = AccountFactory.create(owner=rep)
    for segment in segments:
        ScoringModelFactory.create(segment=segment, required_roles=["champion"])
        SegmentMembershipFactory.create(segment=segment, account=account)
        AccountEngagementFactory.create(segment=segment, account=account)
    assert ScoringModel.objects.count() == 2
    _history(account, segments[0], size)
    for n in range(size):
        CampaignTargetFactory.create(account=account, in_holdout=n % 2 == 0)
    client.force_login(rep)
    # session, user, account, standings 3 (every segment is scored: no query
    # for the models of unscored ones), buying team 3, activity types, the
    # timeline's count and page, permissions 2 (mark as target), followed,
    # alerts, trend, recent facts 3, explanation 5, program touches 4, the
    # campaigns targeting it, opportunities, the shell's alert count and roles;
    # readiness 3 (issue 19: memberships with scores, stored readiness, the
    # segments' latest models; readiness.selectors.account_readiness).
    with django_assert_num_queries(37):
        response = client.get(f"/accounts/{account.pk}/?segment={segments[0].pk}")
    assert response.context["timeline"].paginator.count == 4 * size
