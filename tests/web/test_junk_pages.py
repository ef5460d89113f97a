"""The junk room: the flagged list, a person's decisions (which stick), the
lists with their line-by-line validation, the preview and the save, the
permissions of every role, and the pages' query counts. Every expected figure
is worked out by hand from the planted contacts below."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Contact, JunkRule
from core.models import Job
from engagement.models import Activity
from engagement.services.junk import junk_rules_apply
from tests.factories import AccountFactory, ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted() -> dict[str, Contact]:
    """Six contacts, their flags as stored today, one stored rule (competitor
    old.example):

    - ann@rival.example, Acme: not junk (no rule names rival.example yet)
    - bob@gmail.com, no account: junk, free-mail without an account
    - cat@acme.example, title "Student Ambassador": junk, a student title
    - dan@rival.example: a person decided he is not junk (reviewed)
    - eve@acme.example, country DE: not junk
    - fay@old.example: junk, competitor old.example (the stored rule)
    """
    acme = AccountFactory.create(name="Acme", domain="acme.example")
    JunkRule.objects.create(kind="competitor_domain", value="old.example")

    def contact(email: str, first: str, **fields: Any) -> Contact:
        fields.setdefault("account", acme)
        return ContactFactory.create(
            email=email, email_domain=email.rpartition("@")[2], first_name=first,
            last_name="Planted", **fields,
        )  # fmt: skip

    return {
        "ann": contact("ann@rival.example", "Ann"),
        "bob": contact(
            "bob@gmail.com",
            "Bob",
            account=None,
            is_junk=True,
            junk_reason="free-mail domain without an account: gmail.com",
        ),
        "cat": contact(
            "cat@acme.example",
            "Cat",
            title="Student Ambassador",
            is_junk=True,
            junk_reason="job-seeker or student title: Student Ambassador",
        ),
        "dan": contact("dan@rival.example", "Dan", junk_reviewed=True),
        "eve": contact("eve@acme.example", "Eve", country="DE"),
        "fay": contact(
            "fay@old.example",
            "Fay",
            account=None,
            is_junk=True,
            junk_reason="competitor domain: old.example",
        ),
    }


def _rows(response: Any) -> list[tuple[str, str, str, bool]]:
    return [
        (c.first_name, rule, c.junk_reason, c.junk_reviewed) for c, rule in response.context["rows"]
    ]


# --- The flagged list -----------------------------------------------------------


def test_the_flagged_contacts_are_listed_with_rule_reason_account_and_review(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    client.force_login(marketer)
    response = client.get("/junk/")
    assert response.status_code == 200
    # By last name (all "Planted"), then first name: the three junk contacts.
    assert _rows(response) == [
        ("Bob", "Free-mail domain (junk without an account)",
         "free-mail domain without an account: gmail.com", False),
        ("Cat", "Job-seeker or student title keyword",
         "job-seeker or student title: Student Ambassador", False),
        ("Fay", "Competitor domain", "competitor domain: old.example", False),
    ]  # fmt: skip
    html = response.content.decode()
    assert f'href="/accounts/{planted["cat"].account_id}/"' in html  # Cat's account, Acme
    assert "nightly recompute (00:05 UTC)" in html
    assert 'Not junk<span class="visually-hidden"> Cat Planted</span>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?kind=competitor_domain", ["Fay"]),
        ("?kind=title_keyword", ["Cat"]),
        ("?kind=unsupported_country", []),
        ("?review=pending", ["Bob", "Cat", "Fay"]),
        ("?review=confirmed", []),
        ("?review=cleared", ["Dan"]),
        ("?review=cleared&kind=other", ["Dan"]),
        ("?review=bogus&kind=nonsense", ["Bob", "Cat", "Fay"]),  # bad values: unfiltered
    ],
)
def test_the_list_filters_by_rule_kind_and_review(
    client: Client, marketer: Any, planted: dict[str, Contact], query: str, expected: list[str]
) -> None:
    client.force_login(marketer)
    response = client.get(f"/junk/{query}")
    assert response.status_code == 200
    assert [row[0] for row in _rows(response)] == expected


def test_no_flagged_contact_says_why(client: Client, marketer: Any) -> None:
    client.force_login(marketer)
    html = client.get("/junk/").content.decode()
    assert "No contact is flagged junk." in html


# --- A person's decisions --------------------------------------------------------


def test_not_junk_counts_the_activity_again_and_sticks_after_the_rules_run(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    bob = planted["bob"]
    activity = ActivityFactory.create(
        contact=bob, excluded_reason="junk contact: free-mail domain without an account: gmail.com"
    )
    client.force_login(marketer)
    response = client.post(
        f"/junk/contacts/{bob.pk}/decision/", {"is_junk": "0", "next": "/junk/?review=pending"}
    )
    assert response.status_code == 302 and response["Location"] == "/junk/?review=pending"
    bob.refresh_from_db()
    assert (bob.is_junk, bob.junk_reason, bob.junk_reviewed) == (False, "", True)
    assert Activity.objects.get(pk=activity.pk).excluded_reason == ""
    # The rules (gmail.com without an account is junk) run again: Bob stays.
    junk_rules_apply()
    bob.refresh_from_db()
    assert (bob.is_junk, bob.junk_reviewed) == (False, True)
    assert Activity.objects.get(pk=activity.pk).excluded_reason == ""
    cleared = _rows(client.get("/junk/?review=cleared"))
    assert cleared == [("Bob", "—", "", True), ("Dan", "—", "", True)]


def test_mark_as_junk_by_hand_with_a_reason_excludes_the_activity_and_sticks(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    eve = planted["eve"]
    activity = ActivityFactory.create(contact=eve)
    client.force_login(marketer)
    found = client.get("/junk/?q=eve@acme")
    assert [c.first_name for c in found.context["found"]] == ["Eve"]
    assert f'id="reason-{eve.pk}"' in found.content.decode()
    response = client.post(
        f"/junk/contacts/{eve.pk}/decision/", {"is_junk": "1", "reason": "  works at a rival  "}
    )
    assert response.status_code == 302 and response["Location"] == "/junk/"
    eve.refresh_from_db()
    assert (eve.is_junk, eve.junk_reason, eve.junk_reviewed) == (True, "works at a rival", True)
    assert Activity.objects.get(pk=activity.pk).excluded_reason == "junk contact: works at a rival"
    junk_rules_apply()  # no rule says Eve is junk: a person's decision stays
    eve.refresh_from_db()
    assert (eve.is_junk, eve.junk_reason) == (True, "works at a rival")
    rows = _rows(client.get("/junk/?review=confirmed"))
    assert rows == [("Eve", "By hand", "works at a rival", True)]


def test_mark_as_junk_without_a_reason_saves_nothing_and_says_why_beside_the_field(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    eve = planted["eve"]
    client.force_login(marketer)
    response = client.post(f"/junk/contacts/{eve.pk}/decision/", {"is_junk": "1", "reason": " "})
    assert response.status_code == 400
    assert "Say why this contact is junk." in response.content.decode()
    eve.refresh_from_db()
    assert (eve.is_junk, eve.junk_reviewed) == (False, False)
    assert client.post("/junk/contacts/999999/decision/", {"is_junk": "0"}).status_code == 404
    bad = client.post(f"/junk/contacts/{eve.pk}/decision/", {"is_junk": "maybe"})
    assert bad.status_code == 400


def test_an_offsite_next_is_ignored(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    client.force_login(marketer)
    response = client.post(
        f"/junk/contacts/{planted['cat'].pk}/decision/",
        {"is_junk": "0", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/junk/"


# --- The lists: validation, preview, save -----------------------------------------


def test_the_rules_page_shows_each_kinds_list_in_its_textarea(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    JunkRule.objects.create(kind="unsupported_country", value="KP")
    JunkRule.objects.create(kind="unsupported_country", value="CU")
    client.force_login(marketer)
    response = client.get("/junk/rules/")
    form = response.context["form"]
    assert form.initial["competitor_domain"] == "old.example"
    assert form.initial["unsupported_country"] == "CU\nKP"
    assert form.initial["title_keyword"] == ""
    html = response.content.decode()
    assert "Built in as well (34)" in html  # the free-mail domains of accounts/junk.py


def test_invalid_lines_are_named_and_nothing_is_saved(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    client.force_login(marketer)
    response = client.post(
        "/junk/rules/",
        {
            "competitor_domain": "rival.example\nnot a domain\n\nhttps://x.example/\n",
            "unsupported_country": "DE\nXX\nGermany",
            "title_keyword": "intern\n---",
            "disposable_domain": "@Trash.Example",
            "action": "save",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["competitor_domain"] == [
        "Line 2: “not a domain” is not a domain (like rival.example).",
        "Line 4: “https://x.example/” is not a domain (like rival.example).",
    ]
    assert errors["unsupported_country"] == [
        "Line 2: “XX” is not an ISO 3166-1 two-letter country code (like KP).",
        "Line 3: “GERMANY” is not an ISO 3166-1 two-letter country code (like KP).",
    ]
    assert errors["title_keyword"] == [
        "Line 2: “---” has no letter or digit: a keyword must be a word."
    ]
    assert "disposable_domain" not in errors  # "@Trash.Example" is trash.example
    assert "Nothing was saved" in response.content.decode()
    assert list(JunkRule.objects.values_list("kind", "value")) == [
        ("competitor_domain", "old.example")
    ]
    assert not Job.objects.exists()


def _lists(**lists: str) -> dict[str, str]:
    return {"competitor_domain": "", "unsupported_country": "", **lists}


def test_the_preview_counts_what_saving_would_flag_and_clear(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    """Competitors rival.example (old.example dropped), country DE. By hand:
    Ann (rival.example) and Eve (DE) would be flagged; Fay (old.example no
    longer listed) cleared; Dan (rival.example) was decided by a person and
    stays; Bob and Cat are junk either way, for the same reasons. Five
    contacts checked, one reviewed."""
    client.force_login(marketer)
    response = client.post(
        "/junk/rules/preview/",
        _lists(competitor_domain="rival.example", unsupported_country="de"),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.flagged, preview.unflagged, preview.reasons_changed) == (2, 1, 0)
    assert (preview.checked, preview.reviewed) == (5, 1)
    assert [(r.contact.first_name, r.new_reason) for r in preview.flagged_sample] == [
        ("Ann", "competitor domain: rival.example"),
        ("Eve", "unsupported country: DE"),
    ]
    assert [(r.contact.first_name, r.old_reason) for r in preview.unflagged_sample] == [
        ("Fay", "competitor domain: old.example")
    ]
    html = response.content.decode()
    assert '<span data-count="flagged">2</span>' in html
    assert '<span data-count="unflagged">1</span>' in html
    assert not html.lstrip().startswith("<!doctype")  # the fragment alone
    # Nothing saved, no flag moved.
    assert JunkRule.objects.count() == 1
    assert Contact.objects.filter(is_junk=True).count() == 3
    # The same lists as today change nothing.
    same = client.post("/junk/rules/preview/", _lists(competitor_domain="old.example"))
    assert (same.context["preview"].flagged, same.context["preview"].unflagged) == (0, 0)


def test_the_preview_of_invalid_lines_lists_them_and_counts_nothing(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    client.force_login(marketer)
    response = client.post("/junk/rules/preview/", _lists(unsupported_country="ZZ"))
    assert response.status_code == 200 and response.context["preview"] is None
    assert "No preview until every line is valid" in response.content.decode()


def test_the_preview_without_javascript_is_the_page_with_the_preview(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    client.force_login(marketer)
    response = client.post(
        "/junk/rules/", {**_lists(competitor_domain="rival.example"), "action": "preview"}
    )
    assert response.status_code == 200
    assert response.context["preview"].flagged == 1  # Ann; Fay cleared
    assert response.context["preview"].unflagged == 1
    assert JunkRule.objects.filter(value="rival.example").count() == 0


def test_saving_replaces_the_rules_and_the_flags_follow_as_a_job(
    client: Client,
    marketer: Any,
    planted: dict[str, Contact],
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    fay_activity = ActivityFactory.create(
        contact=planted["fay"], excluded_reason="junk contact: competitor domain: old.example"
    )
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/junk/rules/",
            {
                **_lists(
                    competitor_domain="rival.example\nrival.example", unsupported_country="de"
                ),
                "action": "save",
            },
        )
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"] == f"/junk/rules/?job={job.pk}"
    assert sorted(JunkRule.objects.values_list("kind", "value")) == [
        ("competitor_domain", "rival.example"),
        ("unsupported_country", "DE"),
    ]
    flags = {
        c.first_name: (c.is_junk, c.junk_reason)
        for c in Contact.objects.filter(last_name="Planted")
    }
    assert flags == {
        "Ann": (True, "competitor domain: rival.example"),
        "Bob": (True, "free-mail domain without an account: gmail.com"),
        "Cat": (True, "job-seeker or student title: Student Ambassador"),
        "Dan": (False, ""),  # a person's decision
        "Eve": (True, "unsupported country: DE"),
        "Fay": (False, ""),
    }
    assert Activity.objects.get(pk=fay_activity.pk).excluded_reason == ""
    # Three contacts changed (Ann, Eve, Fay) of the five the rules decide.
    assert (job.status, job.done, job.total) == ("done", 5, 5)
    assert job.result == {"contacts_changed": 3, "activities_updated": 1}
    page = client.get(response["Location"])
    assert "3 contacts changed junk status or reason" in page.content.decode()


# --- Permissions ----------------------------------------------------------------

READS = ["/junk/", "/junk/rules/"]


def _writes(planted: dict[str, Contact]) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/junk/contacts/{planted['bob'].pk}/decision/", {"is_junk": "0"}),
        ("/junk/rules/", {**_lists(competitor_domain="rival.example"), "action": "save"}),
        ("/junk/rules/preview/", _lists()),
    ]


def test_a_marketer_reads_and_writes(
    client: Client, marketer: Any, planted: dict[str, Contact]
) -> None:
    client.force_login(marketer)
    for url in READS:
        assert client.get(url).status_code == 200
    assert "Save and re-apply" in client.get("/junk/rules/").content.decode()
    assert [client.post(url, data).status_code for url, data in _writes(planted)] == [302, 302, 200]


def test_sales_read_the_list_and_the_rules_but_change_nothing(
    client: Client, rep: Any, planted: dict[str, Contact]
) -> None:
    client.force_login(rep)
    review = client.get("/junk/")
    assert review.status_code == 200 and not review.context["may_decide"]
    assert 'name="is_junk"' not in review.content.decode()
    assert review.context["found"] == [] and "Mark a contact" not in review.content.decode()
    rules = client.get("/junk/rules/").content.decode()
    assert "old.example" in rules and "<textarea" not in rules
    assert [client.post(url, data).status_code for url, data in _writes(planted)] == [403] * 3
    planted["bob"].refresh_from_db()
    assert planted["bob"].is_junk and JunkRule.objects.count() == 1


def test_executives_get_the_403_page_everywhere(
    client: Client, executive: Any, planted: dict[str, Contact]
) -> None:
    client.force_login(executive)
    for url in READS:
        response = client.get(url)
        assert response.status_code == 403
    assert [client.post(url, data).status_code for url, data in _writes(planted)] == [403] * 3


def test_anonymous_visitors_go_to_log_in(client: Client, planted: dict[str, Contact]) -> None:
    for url in READS:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    for url, data in _writes(planted):
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_nav_link_shows_for_marketers_only(
    client: Client, marketer: Any, rep: Any, executive: Any
) -> None:
    for user, shown in ((marketer, True), (rep, False), (executive, False)):
        client.force_login(user)
        html = client.get("/accounts/").content.decode()
        assert ('href="/junk/"' in html) is shown, user.username


# --- Query counts ---------------------------------------------------------------


def _queries(client: Client, method: str, url: str, data: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == 200
    return len(captured)


def _plant_junk(count: int, start: int = 0) -> None:
    account = AccountFactory.create()
    for number in range(start, start + count):
        ContactFactory.create(
            account=account, email=f"junk{number}@rival.example", email_domain="rival.example",
            is_junk=True, junk_reason="competitor domain: rival.example",
        )  # fmt: skip
        ContactFactory.create(account=account)


def test_the_pages_take_a_fixed_number_of_queries(client: Client, marketer: Any) -> None:
    client.force_login(marketer)
    _plant_junk(3)
    few = {
        "review": _queries(client, "get", "/junk/"),
        "search": _queries(client, "get", "/junk/?q=person"),
        "rules": _queries(client, "get", "/junk/rules/"),
        "preview": _queries(
            client, "post", "/junk/rules/preview/", _lists(unsupported_country="DE")
        ),
    }
    _plant_junk(30, start=3)
    many = {
        "review": _queries(client, "get", "/junk/"),
        "search": _queries(client, "get", "/junk/?q=person"),
        "rules": _queries(client, "get", "/junk/rules/"),
        "preview": _queries(
            client, "post", "/junk/rules/preview/", _lists(unsupported_country="DE")
        ),
    }
    # The shell: session, user, workspace links, roles, alert count; the
    # user's permissions (2). Then the review page: the list's count and page
    # (+1 for the search); the rules page: the lists, the latest job; the
    # preview: the contacts the rules decide, the reviewed count, the sample.
    assert few == many == {"review": 9, "search": 10, "rules": 9, "preview": 7}
