"""The campaign pages as the server renders them: forms, permissions, targets
(filters, pasted domains, CSV), the holdout, the audience export, programs and
the UTM link builder, and query counts. Expected figures are worked out here by
hand (the holdout by the documented sha256 rule), never by the code under test."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign, CampaignTarget, Program
from campaigns.services import campaign_targets_set
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ProgramFactory,
    SpendFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
FUTURE = TODAY + dt.timedelta(days=30)


def drawn_by_hand(seed: int, key: str, fraction: str) -> bool:
    """The documented rule (campaigns/holdout.py, DESIGN 5), recomputed: the first
    8 bytes of sha256("<seed>:<domain>") as a big-endian number, below fraction x 2^64."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()
    return int(digest[:16], 16) < Decimal(fraction) * 2**64


def future_campaign(**fields: Any) -> Campaign:
    values = {"starts_on": FUTURE, "ends_on": FUTURE + dt.timedelta(days=60), **fields}
    return CampaignFactory.create(**values)


def running_campaign(**fields: Any) -> Campaign:
    values = {"starts_on": TODAY - dt.timedelta(days=10), "ends_on": FUTURE, **fields}
    return CampaignFactory.create(**values)


def targets_of(campaign: Campaign) -> dict[str | None, bool]:
    return dict(
        CampaignTarget.objects.filter(campaign=campaign).values_list(
            "account__domain", "in_holdout"
        )
    )


# --- Permissions ------------------------------------------------------------------


READ_PAGES = ["/campaigns/", "/campaigns/{c}/", "/campaigns/{c}/targets/",
              "/campaigns/{c}/programs/", "/campaigns/{c}/audience.csv"]  # fmt: skip
WRITE_PAGES = ["/campaigns/new/", "/campaigns/{c}/edit/", "/campaigns/{c}/programs/new/",
               "/campaigns/{c}/programs/{p}/edit/"]  # fmt: skip
WRITE_POSTS = ["/campaigns/new/", "/campaigns/{c}/edit/", "/campaigns/{c}/programs/new/",
               "/campaigns/{c}/programs/{p}/edit/", "/campaigns/{c}/targets/from-filters/",
               "/campaigns/{c}/targets/paste/", "/campaigns/{c}/targets/upload/",
               "/campaigns/{c}/targets/remove/", "/campaigns/{c}/holdout/redraw/"]  # fmt: skip


@pytest.fixture
def program() -> Program:
    return ProgramFactory.create(campaign=future_campaign(name="Launch"), tracking_key="launch-ads")


def _url(template: str, program: Program) -> str:
    return template.format(c=program.campaign_id, p=program.pk)


@pytest.mark.parametrize("role", ["rep", "executive", "marketer"])
def test_every_role_reads_the_campaign_pages(
    client: Client, request: pytest.FixtureRequest, role: str, program: Program
) -> None:
    client.force_login(request.getfixturevalue(role))
    for template in READ_PAGES:
        assert client.get(_url(template, program)).status_code == 200, template


@pytest.mark.parametrize("role", ["rep", "executive"])
def test_sales_and_executives_get_the_403_page_for_every_write(
    client: Client, request: pytest.FixtureRequest, role: str, program: Program
) -> None:
    client.force_login(request.getfixturevalue(role))
    for template in WRITE_PAGES:
        response = client.get(_url(template, program))
        assert response.status_code == 403, template
        assert "You may not do this" in response.content.decode()
    for template in WRITE_POSTS:
        assert client.post(_url(template, program), {"account": "1"}).status_code == 403, template
    # Nor do they see the buttons.
    html = client.get(f"/campaigns/{program.campaign_id}/targets/").content.decode()
    assert "Add targets" not in html and "Remove" not in html
    html = client.get("/campaigns/").content.decode()
    assert "New campaign" not in html


def test_marketers_open_every_write_page(client: Client, marketer: Any, program: Program) -> None:
    client.force_login(marketer)
    for template in WRITE_PAGES:
        assert client.get(_url(template, program)).status_code == 200, template


def test_anonymous_visitors_are_sent_to_log_in(client: Client, program: Program) -> None:
    for template in READ_PAGES + WRITE_PAGES:
        response = client.get(_url(template, program))
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    for template in WRITE_POSTS:
        response = client.post(_url(template, program))
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_user_without_a_role_gets_the_403_page(client: Client, program: Program) -> None:
    client.force_login(UserFactory.create(username="nobody"))
    assert client.get("/campaigns/").status_code == 403
    assert client.get(f"/campaigns/{program.campaign_id}/targets/").status_code == 403


def test_an_unknown_campaign_or_program_is_a_404(
    client: Client, marketer: Any, program: Program
) -> None:
    client.force_login(marketer)
    assert client.get("/campaigns/999999/").status_code == 404
    assert client.get(f"/campaigns/{program.campaign_id}/programs/999999/edit/").status_code == 404
    other = future_campaign(name="Other")
    assert client.get(f"/campaigns/{other.pk}/programs/{program.pk}/edit/").status_code == 404


# --- The campaign form ------------------------------------------------------------


def campaign_form(**changes: Any) -> dict[str, Any]:
    return {"name": "Q3 push", "objective": "pipeline", "description": "", "starts_on":
            FUTURE.isoformat(), "ends_on": (FUTURE + dt.timedelta(days=90)).isoformat(),
            "budget": "25000", "currency": "eur", "segment": "", "holdout_percent": "12.5",
            **changes}  # fmt: skip


def test_a_marketer_creates_a_campaign_and_lands_on_its_targets(
    client: Client, marketer: Any, scenario: dict[str, Any]
) -> None:
    client.force_login(marketer)
    form = campaign_form(segment=str(scenario["fintech"].pk))
    response = client.post("/campaigns/new/", form)
    campaign = Campaign.objects.get(name="Q3 push")
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/targets/"
    assert (campaign.holdout_fraction, campaign.budget, campaign.currency) == (
        Decimal("0.125"), Decimal("25000"), "EUR",
    )  # fmt: skip
    assert campaign.segment == scenario["fintech"] and campaign.owner == marketer
    assert campaign.holdout_seed != 0  # drawn and stored, so the holdout is reproducible


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_on": (FUTURE - dt.timedelta(days=1)).isoformat()}, "ends_on",
         "Must not be before the start."),
        ({"holdout_percent": "100"}, "holdout_percent", "less than or equal to 99.9"),
        ({"holdout_percent": "-1"}, "holdout_percent", "greater than or equal to 0"),
        ({"budget": "-5"}, "budget", "greater than or equal to 0"),
        ({"name": ""}, "name", "This field is required."),
        ({"starts_on": "next week"}, "starts_on", "Enter a valid date."),
        ({"currency": "EURO"}, "currency", "at most 3 characters"),
    ],
)  # fmt: skip
def test_a_bad_campaign_is_refused_beside_its_field_and_nothing_is_saved(
    client: Client, marketer: Any, changes: dict[str, Any], field: str, message: str
) -> None:
    client.force_login(marketer)
    response = client.post("/campaigns/new/", campaign_form(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in " ".join(errors[field])
    assert f'id="id_{field}_error_1"' in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_second_campaign_of_the_same_name_is_refused(client: Client, marketer: Any) -> None:
    future_campaign(name="Q3 push")
    client.force_login(marketer)
    response = client.post("/campaigns/new/", campaign_form())
    assert response.context["form"].errors == {"name": ["Another campaign has this name."]}
    assert Campaign.objects.count() == 1


def test_before_the_start_a_new_holdout_share_redraws_the_list(
    client: Client, marketer: Any
) -> None:
    campaign = future_campaign(holdout_fraction=Decimal("0.1"), holdout_seed=11)
    accounts = [AccountFactory.create(domain=f"acct{n}.example") for n in range(40)]
    campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in accounts])
    client.force_login(marketer)
    edit = client.get(f"/campaigns/{campaign.pk}/edit/")
    assert not edit.context["form"].fields["holdout_percent"].disabled
    form = campaign_form(name=campaign.name, holdout_percent="50")
    assert client.post(f"/campaigns/{campaign.pk}/edit/", form).status_code == 302
    expected = {f"acct{n}.example": drawn_by_hand(11, f"acct{n}.example", "0.5") for n in range(40)}
    assert targets_of(campaign) == expected


def test_once_the_campaign_runs_its_holdout_share_is_fixed(client: Client, marketer: Any) -> None:
    campaign = running_campaign(holdout_fraction=Decimal("0.1"), holdout_seed=11)
    client.force_login(marketer)
    edit = client.get(f"/campaigns/{campaign.pk}/edit/")
    assert edit.context["form"].fields["holdout_percent"].disabled
    assert "Fixed: the campaign has started" in edit.content.decode()
    form = campaign_form(name=campaign.name, holdout_percent="50",
                         starts_on=campaign.starts_on.isoformat(), budget="1")  # fmt: skip
    saved = client.post(f"/campaigns/{campaign.pk}/edit/", form)
    assert saved.status_code == 302, saved.context["form"].errors
    campaign.refresh_from_db()
    # The budget changed; the share a disabled field cannot send did not.
    assert (campaign.budget, campaign.holdout_fraction) == (Decimal("1"), Decimal("0.1"))


# --- Targets -----------------------------------------------------------------------


def test_targets_from_the_account_lists_filters_preview_then_add(
    client: Client, marketer: Any, scenario: dict[str, Any]
) -> None:
    campaign = future_campaign(holdout_fraction=Decimal("0.5"), holdout_seed=3)
    client.force_login(marketer)
    # The account list's own filter: members of Fintech (Alpha and Bravo; Charlie is in none).
    query = urlencode({"segment": scenario["fintech"].pk})
    page = client.get(f"/campaigns/{campaign.pk}/targets/?{query}")
    preview = page.context["preview"]
    assert (preview.matching, preview.already, preview.new) == (2, 0, 2)
    assert "Add these 2 accounts" in page.content.decode()
    response = client.post(f"/campaigns/{campaign.pk}/targets/from-filters/", {"filters": query})
    assert response.status_code == 302
    assert targets_of(campaign) == {
        "alpha.example": drawn_by_hand(3, "alpha.example", "0.5"),
        "bravo.example": drawn_by_hand(3, "bravo.example", "0.5"),
    }
    again = client.get(f"/campaigns/{campaign.pk}/targets/?{query}")
    assert (again.context["preview"].matching, again.context["preview"].already) == (2, 2)
    assert "Nothing to add." in again.content.decode()
    # Tier 3 adds Charlie alone; Alpha and Bravo keep their arm.
    before = targets_of(campaign)
    client.post(f"/campaigns/{campaign.pk}/targets/from-filters/", {"filters": "tier=3"})
    assert targets_of(campaign) == {
        **before,
        "charlie.example": drawn_by_hand(3, "charlie.example", "0.5"),
    }


def test_adding_from_filters_needs_a_filter(client: Client, marketer: Any, scenario: Any) -> None:
    campaign = future_campaign()
    client.force_login(marketer)
    response = client.post(
        f"/campaigns/{campaign.pk}/targets/from-filters/", {"filters": "sort=name"}, follow=True
    )
    assert "Choose at least one filter" in response.content.decode()
    assert not CampaignTarget.objects.exists()


def test_pasted_domains_are_added_or_refused_by_line(
    client: Client, marketer: Any, scenario: dict[str, Any]
) -> None:
    campaign = future_campaign(holdout_fraction=Decimal("0.5"), holdout_seed=5)
    client.force_login(marketer)
    url = f"/campaigns/{campaign.pk}/targets/paste/"
    text = "alpha.example\n\nhttps://www.BRAVO.example/pricing\nnobody.example\nnot a domain\n"
    refused = client.post(url, {"domains": text})
    assert refused.status_code == 400
    errors = [(e.row, e.value, e.reason) for e in refused.context["row_errors"]]
    assert errors == [
        (4, "nobody.example", "no account has this domain"),
        (5, "not a domain", "is not a web domain"),
    ]
    html = refused.content.decode()
    assert "Line 4: <code>nobody.example</code> no account has this domain" in html
    assert not CampaignTarget.objects.exists()  # all or nothing
    added = client.post(url, {"domains": "alpha.example\n\nhttps://www.BRAVO.example/pricing\n"})
    assert added.status_code == 302
    assert targets_of(campaign) == {
        "alpha.example": drawn_by_hand(5, "alpha.example", "0.5"),
        "bravo.example": drawn_by_hand(5, "bravo.example", "0.5"),
    }
    assert client.post(url, {"domains": "  \n"}).status_code == 400  # nothing pasted


def test_a_csv_upload_adds_its_accounts_or_reports_its_rows(
    client: Client, marketer: Any, scenario: dict[str, Any]
) -> None:
    campaign = future_campaign(holdout_fraction=Decimal("0"))
    client.force_login(marketer)
    url = f"/campaigns/{campaign.pk}/targets/upload/"

    def upload(body: bytes) -> Any:
        return client.post(url, {"file": SimpleUploadedFile("t.csv", body, "text/csv")})

    refused = upload(b"domain\nalpha.example\nghost.example\n")
    assert refused.status_code == 400
    assert [(e.row, e.reason) for e in refused.context["row_errors"]] == [
        (3, "no account with this value")
    ]
    assert "Row 3:" in refused.content.decode()
    empty = upload(b"")
    assert empty.status_code == 400
    assert empty.context["upload_form"].errors["file"] == ["The submitted file is empty."]
    nameless = upload(b"name\nAcme\n")  # no domain or external_id column
    assert [(e.row, e.reason) for e in nameless.context["row_errors"]] == [
        (2, "needs a domain or external_id")
    ]
    assert not CampaignTarget.objects.exists()
    assert upload(b"Company Domain,Name\nalpha.example,A\ncharlie.example,C\n").status_code == 302
    assert targets_of(campaign) == {"alpha.example": False, "charlie.example": False}


def test_a_target_is_removed_and_the_others_keep_their_arm(
    client: Client, marketer: Any, scenario: dict[str, Any]
) -> None:
    campaign = future_campaign(holdout_fraction=Decimal("0.5"), holdout_seed=5)
    accounts = [scenario[name] for name in ("alpha", "bravo", "charlie")]
    campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in accounts])
    before = targets_of(campaign)
    client.force_login(marketer)
    response = client.post(
        f"/campaigns/{campaign.pk}/targets/remove/", {"account": scenario["bravo"].pk}, follow=True
    )
    assert "1 target removed" in response.content.decode()
    del before["bravo.example"]
    assert targets_of(campaign) == before
    # Back to the page of the list it was on; the query string is re-encoded.
    back = client.post(f"/campaigns/{campaign.pk}/targets/remove/",
                       {"account": scenario["alpha"].pk, "query": "page=1&x=a\r\nb"})  # fmt: skip
    assert back["Location"] == f"/campaigns/{campaign.pk}/targets/?page=1&x=a%0D%0Ab"


def test_the_targets_page_shows_the_holdout_drawn_by_the_rule(
    client: Client, marketer: Any
) -> None:
    campaign = future_campaign(holdout_fraction=Decimal("0.2"), holdout_seed=99)
    domains = [f"t{n:02}.example" for n in range(60)]
    accounts = [AccountFactory.create(name=d, domain=d) for d in domains]
    campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in accounts])
    held = sorted(d for d in domains if drawn_by_hand(99, d, "0.2"))
    client.force_login(marketer)
    response = client.get(f"/campaigns/{campaign.pk}/targets/")
    html = response.content.decode()
    share = (Decimal(len(held)) * 100 / 60).quantize(Decimal("0.1")).normalize()
    assert (
        f'<dt>Holdout</dt><dd>{len(held)} <span class="muted">({share:f}% of the targets)' in html
    )
    assert f"<dt>Treated</dt><dd>{60 - len(held)}</dd>" in html
    assert "<dt>Holdout asked</dt><dd>20%</dd>" in html
    # The first page (50 by name) marks exactly the held-out accounts among them.
    marked = [t.account.domain for t in response.context["targets"] if t.in_holdout]
    assert marked == [d for d in held if d < "t50"]
    assert html.count('<span class="badge holdout">holdout</span>') == len(marked)


def test_the_holdout_is_redrawn_before_the_start_and_refused_after(
    client: Client, marketer: Any
) -> None:
    client.force_login(marketer)
    waiting = future_campaign(holdout_seed=1)
    response = client.post(f"/campaigns/{waiting.pk}/holdout/redraw/", follow=True)
    waiting.refresh_from_db()
    assert waiting.holdout_seed != 1 and "Holdout drawn again" in response.content.decode()
    running = running_campaign(holdout_seed=1)
    page = client.get(f"/campaigns/{running.pk}/targets/").content.decode()
    assert "The holdout is fixed:" in page and "Draw the holdout again" not in page
    response = client.post(f"/campaigns/{running.pk}/holdout/redraw/", follow=True)
    running.refresh_from_db()
    assert running.holdout_seed == 1
    assert "The campaign has started, so its holdout is fixed" in response.content.decode()


def test_the_audience_export_is_the_treated_targets_without_the_holdout(
    client: Client, rep: Any
) -> None:
    campaign = future_campaign(holdout_fraction=Decimal("0.3"), holdout_seed=7)
    accounts = [AccountFactory.create(domain=f"aud{n}.example") for n in range(30)]
    campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in accounts])
    AccountFactory.create(domain="not-a-target.example")
    held = {a.pk for a in accounts if drawn_by_hand(7, str(a.domain), "0.3")}
    assert 0 < len(held) < 30
    client.force_login(rep)
    response = client.get(f"/campaigns/{campaign.pk}/audience.csv")
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0] == ["account_id", "name", "domain", "external_id"]
    exported = {int(row[0]) for row in rows[1:]}
    assert exported == {a.pk for a in accounts} - held
    assert not exported & held


# --- Programs and the link builder ------------------------------------------------


def program_form(**changes: Any) -> dict[str, Any]:
    return {"name": "Webinar", "channel": "webinar", "starts_on": FUTURE.isoformat(),
            "ends_on": (FUTURE + dt.timedelta(days=7)).isoformat(),
            "tracking_key": "  Q3-Webinar ", "status": "planned", **changes}  # fmt: skip


def test_a_program_is_added_with_its_key_as_the_tracker_stores_it(
    client: Client, marketer: Any, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = future_campaign()
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/campaigns/{campaign.pk}/programs/new/", program_form())
    program = Program.objects.get(campaign=campaign)
    assert response["Location"] == f"/campaigns/{campaign.pk}/programs/?program={program.pk}#utm"
    assert (program.name, program.tracking_key, program.channel) == (
        "Webinar", "q3-webinar", "webinar"
    )  # fmt: skip
    edited = client.post(
        f"/campaigns/{campaign.pk}/programs/{program.pk}/edit/", program_form(status="active")
    )
    assert edited.status_code == 302
    program.refresh_from_db()
    assert program.status == "active"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_on": (FUTURE - dt.timedelta(days=1)).isoformat()}, "ends_on", "before the start"),
        ({"tracking_key": "   "}, "tracking_key", "required"),
        ({"tracking_key": "taken"}, "tracking_key", "Another program has this tracking key."),
        ({"name": "Taken"}, "name", "already has a program of this name"),
        ({"channel": "carrier-pigeon"}, "channel", "Select a valid choice"),
    ],
)  # fmt: skip
def test_a_bad_program_is_refused_beside_its_field(
    client: Client, marketer: Any, changes: dict[str, Any], field: str, message: str
) -> None:
    campaign = future_campaign()
    ProgramFactory.create(campaign=campaign, name="Taken", tracking_key="taken")
    client.force_login(marketer)
    response = client.post(f"/campaigns/{campaign.pk}/programs/new/", program_form(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in " ".join(errors[field])
    assert Program.objects.count() == 1


def test_the_link_builder_adds_the_programs_key_as_utm_campaign(client: Client, rep: Any) -> None:
    program = ProgramFactory.create(campaign=future_campaign(), tracking_key="q3-webinar")
    client.force_login(rep)
    query = urlencode({
        "program": program.pk, "destination": "https://acme.example/landing?ref=nav&x=a b#form",
        "source": "linkedin", "medium": "paid social", "content": "", "term": "",
    })  # fmt: skip
    response = client.get(f"/campaigns/{program.campaign_id}/programs/?{query}")
    expected = (
        "https://acme.example/landing?ref=nav&x=a%20b"
        "&utm_source=linkedin&utm_medium=paid%20social&utm_campaign=q3-webinar#form"
    )
    assert response.context["link"] == expected
    assert 'value="https://acme.example/landing?ref=nav&amp;x=a%20b&amp;utm_source=' in (
        response.content.decode()
    )
    bad = client.get(
        f"/campaigns/{program.campaign_id}/programs/?"
        + urlencode({"program": program.pk, "destination": "acme.example/landing"})
    )
    assert bad.context["link"] == ""
    assert "must be a full web address" in " ".join(bad.context["utm"].errors["destination"])


def test_the_tab_bar_leaves_out_the_pages_that_do_not_exist(
    client: Client, rep: Any, program: Program
) -> None:
    client.force_login(rep)
    html = client.get(f"/campaigns/{program.campaign_id}/").content.decode()
    tabs = html.split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
    assert 'aria-current="page">Overview' in tabs
    assert f'href="/campaigns/{program.campaign_id}/targets/"' in tabs
    assert f'href="/campaigns/{program.campaign_id}/programs/"' in tabs


def test_the_list_shows_each_campaigns_counts(client: Client, rep: Any, scenario: Any) -> None:
    campaign = future_campaign(name="Counted", budget=Decimal("1500"), holdout_seed=2,
                               holdout_fraction=Decimal("0.5"))  # fmt: skip
    ids = [scenario[n].pk for n in ("alpha", "bravo", "charlie")]
    campaign_targets_set(campaign_id=campaign.pk, account_ids=ids)
    ProgramFactory.create(campaign=campaign)
    ProgramFactory.create(campaign=campaign)
    future_campaign(name="Empty")
    held = sum(drawn_by_hand(2, f"{n}.example", "0.5") for n in ("alpha", "bravo", "charlie"))
    client.force_login(rep)
    response = client.get("/campaigns/")
    rows = {c.name: (c.target_count, c.holdout_count, c.program_count, c.budget)
            for c in response.context["campaigns"]}  # fmt: skip
    assert rows == {"Counted": (3, held, 2, Decimal("1500")), "Empty": (0, 0, 0, None)}
    html = response.content.decode()
    assert '<td data-label="Budget" class="num"><span class="muted" title="No budget' in html


def test_the_campaign_page_shows_spend_recorded_to_those_who_may_see_spend(
    client: Client, rep: Any, marketer: Any
) -> None:
    """The one spend rule (campaigns.spend_visibility): sales sees why, not the sum."""
    campaign = future_campaign(name="Spent")
    program = ProgramFactory.create(campaign=campaign)
    SpendFactory.create(program=program, amount=Decimal("1234.50"))
    SpendFactory.create(program=program, amount=Decimal("100.00"))
    client.force_login(marketer)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "1,334.50" in html
    client.force_login(rep)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "spend hidden for your role" in html and "1,334.50" not in html


# --- Query counts -----------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_each_page_renders_in_a_fixed_number_of_queries(
    client: Client, marketer: Any, django_assert_num_queries: Any
) -> None:
    client.force_login(marketer)
    small = future_campaign(name="Small")
    large = future_campaign(name="Large")
    for _ in range(2):
        target = AccountFactory.create()
        campaign_targets_set(campaign_id=small.pk, account_ids=[target.pk])
        ProgramFactory.create(campaign=small)
    for _ in range(3):
        future_campaign()
    campaign_targets_set(
        campaign_id=large.pk, account_ids=[AccountFactory.create().pk for _ in range(40)]
    )
    for _ in range(6):
        ProgramFactory.create(campaign=large)
    pages = {
        "list": ("/campaigns/", "/campaigns/"),
        "detail": (f"/campaigns/{small.pk}/", f"/campaigns/{large.pk}/"),
        "targets": (f"/campaigns/{small.pk}/targets/", f"/campaigns/{large.pk}/targets/"),
        "programs": (f"/campaigns/{small.pk}/programs/", f"/campaigns/{large.pk}/programs/"),
        "edit": (f"/campaigns/{small.pk}/edit/", f"/campaigns/{large.pk}/edit/"),
    }
    counts = {name: (_queries(client, a), _queries(client, b)) for name, (a, b) in pages.items()}
    assert all(a == b for a, b in counts.values()), counts
    # Pinned: the session, the user and the shell's rows come first (see test_pages.py).
    pinned = {name: a for name, (a, _) in counts.items()}
    assert pinned == EXPECTED_QUERIES, pinned


# The session, the user, the shell (roles, alert count, workspace links) and
# the permission check (the user's and their groups' permissions), then each
# page's own: the campaign (with its counts); the list's count and rows; the
# targets' segment picker, count and rows; the programs; the form's segments.
EXPECTED_QUERIES = {"list": 9, "detail": 8, "targets": 11, "programs": 9, "edit": 9}


def test_the_filter_preview_is_one_query_whatever_the_matches(
    client: Client, marketer: Any, scenario: dict[str, Any]
) -> None:
    client.force_login(marketer)
    campaign = future_campaign()
    plain = _queries(client, f"/campaigns/{campaign.pk}/targets/")
    filtered = _queries(client, f"/campaigns/{campaign.pk}/targets/?tier=1")
    for _ in range(10):
        AccountFactory.create(tier=1)
    assert _queries(client, f"/campaigns/{campaign.pk}/targets/?tier=1") == filtered
    assert filtered == plain + 1  # the preview's count


def test_the_account_page_marks_the_campaigns_holding_it_out(
    client: Client, rep: Any, scenario: dict[str, Any]
) -> None:
    alpha = scenario["alpha"]
    treated = future_campaign(name="Treats Alpha", holdout_fraction=Decimal("0"))
    holding = future_campaign(name="Holds Alpha out")
    campaign_targets_set(campaign_id=treated.pk, account_ids=[alpha.pk])
    CampaignTarget.objects.create(campaign=holding, account=alpha, in_holdout=True)
    client.force_login(rep)
    html = client.get(f"/accounts/{alpha.pk}/").content.decode()
    memberships = html.split('<div class="campaign-memberships">', 1)[1].split("</div>", 1)[0]
    assert (
        f'<a href="/campaigns/{holding.pk}/">Holds Alpha out</a> <span class="badge holdout"'
        in (memberships)
    )
    assert (
        f'<a href="/campaigns/{treated.pk}/">Treats Alpha</a> <span class="muted small">treated'
        in (memberships)
    )
    bravo = client.get(f"/accounts/{scenario['bravo'].pk}/").content.decode()
    assert "none targets it" in bravo
