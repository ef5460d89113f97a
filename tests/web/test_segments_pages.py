"""The segments room as the server renders it: who may open what, the list's
figures, the segment form's errors (beside each field, nothing saved), the
live preview against a scenario worked out by hand, the membership refresh a
save starts as a Job, and the pages' query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import ICPSegment, SegmentMembership
from core.models import Job
from engagement.models import ScoringModel
from tests.factories import AccountFactory, ICPSegmentFactory, SegmentMembershipFactory

pytestmark = pytest.mark.django_db

# The scenario's criteria, as the form posts them: industry is Software
# (weight 2, required), 200 to 2000 employees (1), country US, CA or GB (1).
ROWS = [
    {"field": "industry", "op": "in", "value": "Software", "weight": "2", "required": "on"},
    {"field": "employees", "op": "between", "value": "200 to 2000", "weight": "1"},
    {"field": "country", "op": "in", "value": "US, CA, GB", "weight": "1"},
]


@pytest.fixture
def accounts() -> dict[str, Any]:
    """Five accounts and their fit under ROWS, by hand (total weight 4):
    Acme: all three, 4/4 = 100, A.   Beta: industry + country, 3/4 = 75, B.
    Gamma: Retail, misses the required industry: never a member.
    Delta: industry only (2,500 people, DE), 2/4 = 50, C.
    Echo: industry only (size unknown never matches, FR), 2/4 = 50, C."""
    return {
        "acme": AccountFactory.create(
            name="Acme", industry="Software", employees=900, country="US"
        ),
        "beta": AccountFactory.create(
            name="Beta", industry="Software", employees=150, country="GB"
        ),
        "gamma": AccountFactory.create(
            name="Gamma", industry="Retail", employees=900, country="US"
        ),
        "delta": AccountFactory.create(
            name="Delta", industry="Software", employees=2500, country="DE"
        ),
        "echo": AccountFactory.create(
            name="Echo", industry="Software", employees=None, country="FR"
        ),
    }


def form_data(
    rows: list[dict[str, str]] = ROWS, *, blank_rows: int = 1, **fields: str
) -> dict[str, str]:
    """What the browser posts: the segment's fields, the rows, a blank row."""
    data = {"name": "US software", "description": "", "is_active": "on", "min_fit": "50",
            **fields}  # fmt: skip
    data["criteria-TOTAL_FORMS"] = str(len(rows) + blank_rows)
    data["criteria-INITIAL_FORMS"] = "0"
    data["criteria-MIN_NUM_FORMS"] = "0"
    data["criteria-MAX_NUM_FORMS"] = "50"
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"criteria-{index}-{key}"] = value
    for index in range(len(rows), len(rows) + blank_rows):
        data[f"criteria-{index}-weight"] = "1"  # the blank row's initial weight
    return data


# --- Who may open what ------------------------------------------------------------


@pytest.mark.parametrize("url", ["/segments/", "/segments/new/", "/segments/{pk}/"])
def test_anonymous_visitors_are_sent_to_log_in(client: Client, url: str) -> None:
    segment = ICPSegmentFactory.create()
    response = client.get(url.format(pk=segment.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/segments/")
    assert client.post("/segments/preview/", form_data()).status_code == 302


@pytest.mark.parametrize("persona", ["rep", "executive", "marketer"])
def test_every_role_reads_the_list(client: Client, persona: str, request: Any) -> None:
    client.force_login(request.getfixturevalue(persona))
    ICPSegmentFactory.create(name="Fintech")
    response = client.get("/segments/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Fintech" in html
    # Only marketers see the ways to change segments.
    assert ("New segment" in html) == (persona == "marketer")
    assert ("Edit<span" in html) == (persona == "marketer")


@pytest.mark.parametrize("persona", ["rep", "executive"])
def test_sales_and_executives_get_the_403_page_on_every_write(
    client: Client, persona: str, request: Any
) -> None:
    client.force_login(request.getfixturevalue(persona))
    segment = ICPSegmentFactory.create(
        name="Fintech", criteria={"field": "tier", "op": "eq", "value": 1}
    )
    for url in ("/segments/new/", f"/segments/{segment.pk}/"):
        assert client.get(url).status_code == 403
        assert client.post(url, form_data()).status_code == 403
    assert client.post("/segments/preview/", form_data()).status_code == 403
    assert ICPSegment.objects.count() == 1 and not Job.objects.exists()
    segment.refresh_from_db()
    assert segment.name == "Fintech"


def test_marketers_open_the_form_and_an_unknown_segment_is_404(
    client: Client, marketer: Any
) -> None:
    client.force_login(marketer)
    assert client.get("/segments/new/").status_code == 200
    assert client.get("/segments/999999/").status_code == 404


# --- The list ---------------------------------------------------------------------


def test_the_list_counts_members_by_grade(client: Client, rep: Any) -> None:
    fintech = ICPSegmentFactory.create(name="Fintech", description="Banks and insurers")
    ICPSegmentFactory.create(name="Dormant", is_active=False)
    for grade, count in (("A", 2), ("B", 1), ("D", 3)):
        for _ in range(count):
            SegmentMembershipFactory.create(segment=fintech, fit_grade=grade, fit_score=50)
    client.force_login(rep)
    response = client.get("/segments/")
    rows = {s.name: s for s in response.context["segments"]}
    fin = rows["Fintech"]
    assert (fin.member_count, fin.grade_a, fin.grade_b, fin.grade_c, fin.grade_d) == (6, 2, 1, 0, 3)
    dormant = rows["Dormant"]
    assert (dormant.member_count, dormant.is_active) == (0, False)
    html = response.content.decode()
    assert 'data-label="Members">6<' in html and 'data-label="Grade D">3<' in html
    assert "inactive" in html and "no members" in html
    # The bar: A is 2 of 6 (33%), D 3 of 6 (50%).
    assert 'style="width: 33%" title="A: 2"' in html and 'style="width: 50%" title="D: 3"' in html


@pytest.mark.parametrize("segments", [2, 6])
def test_the_list_takes_the_same_queries_whatever_the_segments(
    client: Client, marketer: Any, django_assert_num_queries: Any, segments: int
) -> None:
    for number in range(segments):
        segment = ICPSegmentFactory.create()
        SegmentMembershipFactory.create(segment=segment, fit_grade="ABCD"[number % 4])
    client.force_login(marketer)
    # session, user, the user's permissions (two), the segments with their
    # grades, the shell (rooms, alert count, roles).
    with django_assert_num_queries(8):
        assert client.get("/segments/").status_code == 200


# --- The form's errors: beside each field, nothing saved --------------------------


def assert_nothing_saved() -> None:
    assert not ICPSegment.objects.exists()
    assert not Job.objects.exists() and not SegmentMembership.objects.exists()


@pytest.mark.parametrize(
    ("row", "where", "message"),
    [
        ({"field": "revenue_band", "op": "eq", "value": "x"}, "field", "Select a valid choice"),
        (
            {"field": "industry", "op": "gte", "value": "Software"},
            "op",
            "Industry takes: is, is not",
        ),
        ({"field": "employees", "op": "gte", "value": "lots"}, "value", "'lots' is not a number"),
        ({"field": "employees", "op": "gte", "value": "1.5"}, "value", "not a whole number"),
        ({"field": "employees", "op": "between", "value": "200"}, "value", "Enter a range"),
        ({"field": "employees", "op": "between", "value": "2000 to 200"}, "value", "is above"),
        ({"field": "country", "op": "in", "value": "US, USA"}, "value", "2-letter country code"),
        ({"field": "is_customer", "op": "eq", "value": "maybe"}, "value", "enter yes or no"),
        ({"field": "tier", "op": "eq", "value": ""}, "value", "This field is required"),
        (
            {"field": "tier", "op": "eq", "value": "1", "weight": "-1"},
            "weight",
            "cannot be negative",
        ),
        ({"field": "tier", "op": "eq", "value": "1", "weight": "much"}, "weight", "Enter a number"),
        ({"field": "", "op": "eq", "value": "1"}, "field", "This field is required"),
    ],
)
def test_a_bad_criterion_is_refused_with_the_error_beside_its_field(
    client: Client, marketer: Any, row: dict[str, str], where: str, message: str
) -> None:
    client.force_login(marketer)
    rows = [ROWS[0], {"weight": "1", **row}]
    response = client.post("/segments/new/", form_data(rows))
    assert response.status_code == 200
    formset = response.context["formset"]
    errors = formset.forms[1].errors
    assert list(errors) == [where], errors
    assert message in errors[where][0]
    html = response.content.decode()
    # The error sits in the field's own block, after its input.
    block = html[html.index(f'id="id_criteria-1-{where}"') :]
    assert message.replace("'", "&#x27;") in block[: block.index("</div>")]
    assert formset.forms[0].errors == {}
    assert_nothing_saved()


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ({"name": ""}, "name", "This field is required"),
        ({"min_fit": "120"}, "min_fit", "less than or equal to 100"),
        ({"min_fit": "half"}, "min_fit", "Enter a whole number"),
    ],
)
def test_a_bad_segment_field_is_refused_beside_it(
    client: Client, marketer: Any, fields: dict[str, str], where: str, message: str
) -> None:
    client.force_login(marketer)
    response = client.post("/segments/new/", {**form_data(), **fields})
    errors = response.context["form"].errors
    assert list(errors) == [where] and message in errors[where][0]
    assert_nothing_saved()


def test_a_name_already_taken_is_refused_by_the_service_beside_the_name(
    client: Client, marketer: Any
) -> None:
    ICPSegmentFactory.create(name="US software")
    client.force_login(marketer)
    response = client.post("/segments/new/", form_data())
    assert "already exists" in response.context["form"].errors["name"][0]
    assert ICPSegment.objects.count() == 1 and not Job.objects.exists()


def test_a_segment_needs_a_criterion_and_removed_rows_do_not_count(
    client: Client, marketer: Any
) -> None:
    client.force_login(marketer)
    response = client.post("/segments/new/", form_data([], blank_rows=2))
    assert "Add at least one criterion" in response.content.decode()
    removed = [{**ROWS[0], "DELETE": "on"}]
    response = client.post("/segments/new/", form_data(removed))
    assert "Add at least one criterion" in str(response.context["formset"].non_form_errors())
    assert_nothing_saved()


def test_add_a_criterion_gives_one_more_blank_row_and_saves_nothing(
    client: Client, marketer: Any
) -> None:
    client.force_login(marketer)
    response = client.post("/segments/new/", {**form_data(ROWS, blank_rows=0), "add_row": "1"})
    assert len(response.context["formset"].forms) == 4
    assert_nothing_saved()


# --- The live preview ---------------------------------------------------------------


def test_the_preview_counts_who_would_belong_by_grade_with_a_sample(
    client: Client, marketer: Any, accounts: dict[str, Any]
) -> None:
    client.force_login(marketer)
    response = client.post("/segments/preview/", form_data())
    assert response.status_code == 200
    result = response.context["preview"]["result"]
    assert (result.members, result.accounts_total) == (4, 5)
    assert result.grades == {"A": 1, "B": 1, "C": 2, "D": 0}
    # Best fit first, ties by name.
    assert [(a.name, a.fit_score, a.fit_grade) for a in result.sample] == [
        ("Acme", 100, "A"), ("Beta", 75, "B"), ("Delta", 50, "C"), ("Echo", 50, "C"),
    ]  # fmt: skip
    html = response.content.decode()
    assert '<strong data-testid="preview-members">4</strong> of 5 accounts would belong' in html
    assert f'href="/accounts/{accounts["acme"].pk}/"' in html
    assert not ICPSegment.objects.exists()


def test_the_preview_follows_the_minimum_fit_and_required_flags(
    client: Client, marketer: Any, accounts: dict[str, Any]
) -> None:
    client.force_login(marketer)
    # Delta and Echo (50) fall below 60.
    response = client.post("/segments/preview/", form_data(min_fit="60"))
    assert response.context["preview"]["result"].members == 2
    # Employees required: only Acme (900) is inside 200-2000.
    rows = [ROWS[0], {**ROWS[1], "required": "on"}, ROWS[2]]
    result = client.post("/segments/preview/", form_data(rows)).context["preview"]["result"]
    assert (result.members, result.grades["A"]) == (1, 1)
    # Inactive: counted as if active, and said so.
    response = client.post("/segments/preview/", {**form_data(), "is_active": ""})
    assert response.context["preview"]["result"].members == 4
    assert "once the segment is active" in response.content.decode()


def test_the_preview_shows_the_errors_instead_of_a_count(
    client: Client, marketer: Any, accounts: dict[str, Any]
) -> None:
    client.force_login(marketer)
    rows = [ROWS[0], {"field": "employees", "op": "has_any", "value": "many", "weight": "1"}]
    response = client.post("/segments/preview/", form_data(rows, min_fit="101"))
    preview = response.context["preview"]
    assert "result" not in preview
    assert preview["errors"] == [
        "Minimum fit: Ensure this value is less than or equal to 100.",
        "Criterion 2, operator: Employees takes: is, is not, is one of, is none of, "
        "is between, is at least, is more than, is at most, is less than.",
    ]
    assert "preview-members" not in response.content.decode()


@pytest.mark.parametrize("size", [5, 25])
def test_the_preview_takes_the_same_queries_whatever_the_accounts(
    client: Client, marketer: Any, django_assert_num_queries: Any, size: int
) -> None:
    AccountFactory.create_batch(size)
    client.force_login(marketer)
    # session, user, the permission check (two), the accounts (one streamed read).
    with django_assert_num_queries(5):
        response = client.post("/segments/preview/", form_data())
    assert response.context["preview"]["result"].accounts_total == size


# --- Saving: the segment, its scoring model, the refresh as a Job ----------------------


def test_creating_a_segment_refreshes_its_members_as_a_job(
    client: Client, marketer: Any, accounts: dict[str, Any], eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/segments/new/", form_data(description="Our core market"))
    segment = ICPSegment.objects.get()
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/segments/?job={job.pk}"
    assert segment.description == "Our core market" and segment.is_active
    assert segment.criteria == {
        "all": [
            {"field": "industry", "op": "in", "value": ["Software"], "weight": 2, "required": True},
            {"field": "employees", "op": "between", "value": [200, 2000], "weight": 1},
            {"field": "country", "op": "in", "value": ["US", "CA", "GB"], "weight": 1},
        ]
    }
    # Its scoring model, as the API's create gives one.
    assert ScoringModel.objects.filter(segment=segment, version=1, is_current=True).count() == 1
    members = dict(
        SegmentMembership.objects.filter(segment=segment).values_list("account__name", "fit_grade")
    )
    assert members == {"Acme": "A", "Beta": "B", "Delta": "C", "Echo": "C"}
    assert (job.status, job.kind, job.created_by_id) == ("done", "segment_refresh", marketer.pk)
    assert (job.done, job.total, job.unit) == (5, 5, "account")
    assert job.result == {
        "added": 4, "updated": 0, "removed": 0, "unchanged": 0, "members": 4,
        "grades": {"A": 1, "B": 1, "C": 2, "D": 0},
    }  # fmt: skip
    assert job.message == (
        "US software now has 4 members: A 1, B 1, C 2, D 0. 4 joined, 0 left, 0 changed fit."
    )
    page = client.get(response["Location"]).content.decode()
    assert "Refresh the members of US software" in page and job.message in page
    assert 'data-label="Members">4<' in page


def test_editing_a_segment_shows_its_rows_and_saving_refits_its_members(
    client: Client, marketer: Any, accounts: dict[str, Any], eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    segment = ICPSegmentFactory.create(
        name="SaaS",
        criteria={"all": [
            {"field": "industry", "op": "in", "value": ["Software"], "weight": 2, "required": True},
            {"field": "employees", "op": "between", "value": [200, 2000]},
        ], "min_fit": 75},
    )  # fmt: skip
    SegmentMembershipFactory.create(segment=segment, account=accounts["gamma"])
    client.force_login(marketer)
    page = client.get(f"/segments/{segment.pk}/")
    form, formset = page.context["form"], page.context["formset"]
    assert form.initial["min_fit"] == 75
    assert [f.initial for f in formset.forms[:2]] == [
        {"field": "industry", "op": "in", "value": "Software", "weight": 2, "required": True},
        {"field": "employees", "op": "between", "value": "200 to 2000", "weight": 1,
         "required": False},
    ]  # fmt: skip
    assert len(formset.forms) == 4  # two blank rows to add to
    # The current criteria's preview: Acme 3/3; the others 2/3 = 67 < 75.
    assert page.context["preview"]["result"].members == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/segments/{segment.pk}/", form_data(name="SaaS", min_fit="50"))
    assert response.status_code == 302
    segment.refresh_from_db()
    assert "min_fit" not in segment.criteria  # the default, left to follow it
    members = set(
        SegmentMembership.objects.filter(segment=segment).values_list("account__name", flat=True)
    )
    assert members == {"Acme", "Beta", "Delta", "Echo"}  # Gamma left
    job = Job.objects.get()
    assert (job.result["added"], job.result["removed"]) == (4, 1)
    assert ScoringModel.objects.filter(segment=segment).count() == 1


def test_an_inactive_segment_loses_its_members(
    client: Client, marketer: Any, accounts: dict[str, Any], eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    segment = ICPSegmentFactory.create(
        name="SaaS", criteria={"field": "tier", "op": "eq", "value": 2}
    )
    SegmentMembershipFactory.create(segment=segment, account=accounts["acme"])
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/segments/{segment.pk}/", {**form_data(name="SaaS"), "is_active": ""})
    assert not SegmentMembership.objects.filter(segment=segment).exists()
    assert "(the segment is not active)" in Job.objects.get().message


def test_criteria_the_rows_cannot_show_are_shown_read_only(client: Client, marketer: Any) -> None:
    nested = {"all": [{"any": [{"field": "tier", "op": "eq", "value": 1},
                               {"field": "is_target", "op": "eq", "value": True}]}]}  # fmt: skip
    segment = ICPSegmentFactory.create(name="Nested", criteria=nested)
    client.force_login(marketer)
    response = client.get(f"/segments/{segment.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "nest groups of rules" in html and 'id="segment-form"' not in html


@pytest.mark.parametrize("size", [3, 15])
def test_the_edit_page_takes_the_same_queries_whatever_the_accounts(
    client: Client, marketer: Any, django_assert_num_queries: Any, size: int
) -> None:
    AccountFactory.create_batch(size)
    segment = ICPSegmentFactory.create(criteria={"field": "tier", "op": "eq", "value": 2})
    client.force_login(marketer)
    # session, user, permissions (two), the segment, the preview's accounts,
    # the shell (three).
    with django_assert_num_queries(9):
        response = client.get(f"/segments/{segment.pk}/")
    assert response.context["preview"]["result"].members == size


def test_while_a_refresh_runs_the_table_asks_for_itself_until_it_is_done(
    client: Client, marketer: Any
) -> None:
    job = Job.objects.create(kind="segment_refresh", label="Refresh the members of X")
    client.force_login(marketer)
    html = client.get(f"/segments/?job={job.pk}").content.decode()
    assert f'id="segment-live" hx-get="/segments/?job={job.pk}" hx-trigger="every 2s"' in html
    assert f'hx-get="/jobs/{job.pk}/"' in html  # the progress polls itself
    Job.objects.filter(pk=job.pk).update(status="done", message="X now has 0 members")
    html = client.get(f"/segments/?job={job.pk}").content.decode()
    assert 'id="segment-live">' in html and "X now has 0 members" in html
    # Another kind of job, or none, shows no progress.
    other = Job.objects.create(kind="import", label="Import accounts")
    assert "Import accounts" not in client.get(f"/segments/?job={other.pk}").content.decode()


def test_the_preview_also_updates_the_count_beside_the_save_button(
    client: Client, marketer: Any, accounts: dict[str, Any]
) -> None:
    client.force_login(marketer)
    html = client.post("/segments/preview/", form_data()).content.decode()
    assert 'id="preview-inline" hx-swap-oob="true">4 of 5 would belong.</span>' in html


def test_a_tampered_post_is_refused_without_a_500(client: Client, marketer: Any) -> None:
    client.force_login(marketer)
    response = client.post("/segments/new/", {"name": "X", "min_fit": "50"})
    assert response.status_code == 200
    assert "ManagementForm data is missing" in response.content.decode()
    preview = client.post("/segments/preview/", {"criteria-TOTAL_FORMS": "many"})
    assert preview.status_code == 200 and "errors" in preview.context["preview"]
    assert_nothing_saved()
