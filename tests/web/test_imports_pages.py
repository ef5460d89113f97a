"""The import pages (/imports/): upload, column mapping, dry run, import,
rejected rows, permissions and query counts. Expected counts, errors and rows
are worked out by hand from the small files below, never taken from the code
under test."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Contact
from accounts.roles import EXECUTIVE, MARKETER, SALES
from core.models import Job
from imports.models import ImportFile
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

# Four rows under the header (rows 2 to 5): Alpha exists with industry
# Software (an update to Retail), Bravo exists exactly so (unchanged), Charlie
# is new (created), and row 5's website is not a domain (rejected).
ACCOUNTS_CSV = (
    "Company name,Website,Industry\n"
    "Alpha,alpha.example,Retail\n"
    "Bravo,bravo.example,Software\n"
    "Charlie,charlie.example,Software\n"
    "Delta,not a domain,Software\n"
)


@pytest.fixture
def stored(db: None) -> None:
    AccountFactory.create(name="Alpha", domain="alpha.example", industry="Software")
    AccountFactory.create(name="Bravo", domain="bravo.example", industry="Software")


def _user(role: str | None, username: str | None = None) -> Any:
    user = UserFactory.create(username=username or (role or "nobody").lower())
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def _client(role: str | None = MARKETER) -> Client:
    client = Client()
    client.force_login(_user(role))
    return client


def _upload(
    client: Client, data: bytes | str, *, kind: str = "accounts", name: str = "companies.csv"
) -> Any:
    body = data.encode() if isinstance(data, str) else data
    return client.post(
        reverse("web:import-new"),
        {"kind": kind, "file": SimpleUploadedFile(name, body, content_type="text/csv")},
    )


def _uploaded(client: Client, data: bytes | str, **kwargs: Any) -> ImportFile:
    response = _upload(client, data, **kwargs)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportFile.objects.latest("pk")


def _run(client: Client, import_file: ImportFile, mode: str, capture: Any) -> Any:
    with capture(execute=True):
        response = client.post(reverse("web:import-run", args=[import_file.pk]), {"mode": mode})
    assert response.status_code == 302
    import_file.refresh_from_db()
    return response


# --- Upload and the column mapping -------------------------------------------


def test_columns_are_recognised_by_name_and_by_alias_and_said_which() -> None:
    client = _client()
    import_file = _uploaded(client, "name,Company Domain Name,Shoe size\nAlpha,alpha.example,9\n")
    assert (import_file.headers, import_file.row_count) == (
        ["name", "Company Domain Name", "Shoe size"], 1,
    )  # fmt: skip
    page = client.get(reverse("web:import-detail", args=[import_file.pk])).content.decode()
    # Each column's select is set to what it is read as, with how beside it.
    assert '<option value="name" selected>name (required)</option>' in page
    assert '<option value="domain" selected>domain</option>' in page
    assert "Recognised by its name" in page
    assert "Recognised by an alias" in page
    assert "Not recognised: ignored" in page


def test_a_mapping_by_hand_is_kept_and_used_by_the_dry_run(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client()
    import_file = _uploaded(client, "Org,Web,Website\nNorthwind,northwind.example,other.example\n")
    detail = reverse("web:import-detail", args=[import_file.pk])
    # Org is nothing known; Website is domain's alias, read unless changed.
    response = client.post(detail, {"column_0": "name", "column_1": "domain", "column_2": ""})
    assert response.status_code == 302
    import_file.refresh_from_db()
    assert import_file.column_map == {"org": "name", "web": "domain", "website": ""}
    page = client.get(detail).content.decode()
    assert page.count("Chosen by hand") == 2 and "Ignored by hand" in page
    _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    assert (import_file.status, import_file.created, import_file.rejected) == ("checked", 1, 0)
    _run(client, import_file, "all", django_capture_on_commit_callbacks)
    assert list(Account.objects.values_list("name", "domain")) == [
        ("Northwind", "northwind.example")
    ]


def test_a_new_mapping_forgets_the_dry_run_of_the_old_one(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client()
    import_file = _uploaded(client, "name,Website\nAlpha,not a domain\n")
    _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    assert (import_file.status, import_file.rejected) == ("checked", 1)
    detail = reverse("web:import-detail", args=[import_file.pk])
    assert client.post(detail, {"column_0": "name", "column_1": ""}).status_code == 302
    import_file.refresh_from_db()
    assert (import_file.status, import_file.job_id, import_file.rejected) == ("new", None, None)
    assert (import_file.errors, import_file.rejects, import_file.message) == ([], [], "")
    page = client.get(detail).content.decode()
    assert "Run a dry run of this mapping first" in page and "Row errors" not in page


def test_a_mapping_that_leaves_out_a_required_field_or_doubles_one_is_refused() -> None:
    client = _client()
    import_file = _uploaded(client, "name,Website,url\nAlpha,alpha.example,a.example\n")
    detail = reverse("web:import-detail", args=[import_file.pk])
    response = client.post(detail, {"column_0": "", "column_1": "domain", "column_2": ""})
    assert response.status_code == 400
    assert "a required field has no column: name" in response.content.decode()
    response = client.post(detail, {"column_0": "name", "column_1": "domain", "column_2": "domain"})
    assert response.status_code == 400
    assert "domain is already read from &#x27;Website&#x27;" in response.content.decode()
    import_file.refresh_from_db()
    assert import_file.column_map == {}


# --- Dry run, import all, import the valid rows ------------------------------


def test_the_dry_run_counts_by_hand_and_lists_the_bad_row(
    stored: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client()
    import_file = _uploaded(client, ACCOUNTS_CSV)
    _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    assert (import_file.status, import_file.mode) == ("checked", "dry_run")
    counts = (import_file.created, import_file.updated, import_file.unchanged)
    assert counts == (1, 1, 1) and import_file.rejected == 1
    assert import_file.errors == [
        {"row": 5, "column": "Website", "value": "not a domain",
         "reason": "'not a domain' is not a web domain"},
    ]  # fmt: skip
    # Nothing written: Alpha still in Software, no Charlie.
    assert sorted(Account.objects.values_list("name", "industry")) == [
        ("Alpha", "Software"), ("Bravo", "Software"),
    ]  # fmt: skip
    page = client.get(reverse("web:import-detail", args=[import_file.pk])).content.decode()
    assert '<dd data-count="created">1</dd>' in page
    assert '<dd data-count="updated">1</dd>' in page
    assert '<dd data-count="unchanged">1</dd>' in page
    assert '<dd data-count="rejected">1</dd>' in page
    assert (
        '<tr><td class="num">5</td><td>Website</td><td class="import-value">not a domain</td>'
        "<td>&#x27;not a domain&#x27; is not a web domain</td></tr>"
    ) in page


def test_import_all_is_refused_while_a_row_fails_and_writes_nothing(
    stored: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client()
    import_file = _uploaded(client, ACCOUNTS_CSV)
    # Before a dry run, no import.
    response = _run(client, import_file, "all", django_capture_on_commit_callbacks)
    assert import_file.status == "new" and Job.objects.count() == 0
    _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    response = _run(client, import_file, "all", django_capture_on_commit_callbacks)
    page = client.get(response["Location"]).content.decode()
    assert "Not started: 1 row(s) fail, so importing all would import nothing" in page
    assert Job.objects.count() == 1  # the dry run's only
    assert Account.objects.count() == 2
    assert Account.objects.get(name="Alpha").industry == "Software"


def test_import_all_finding_a_bad_row_at_run_time_imports_nothing(
    stored: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    """The all-or-nothing rule holds in the job too (the dry run is not trusted)."""
    from core.jobs import JobProgress
    from imports.services import import_file_run

    client = _client()
    import_file = _uploaded(client, ACCOUNTS_CSV)
    job = Job.objects.create(kind="import_file", label="x")
    import_file_run(import_file_id=import_file.pk, mode="all", progress=JobProgress(job.pk))
    import_file.refresh_from_db()
    assert import_file.status == "rejected"
    assert (import_file.created, import_file.rejected) == (None, 1)
    assert import_file.message == "Nothing imported: 1 problem(s) in 1 row(s)."
    assert Account.objects.count() == 2


def test_importing_the_valid_rows_writes_exactly_those(
    stored: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client()
    import_file = _uploaded(client, ACCOUNTS_CSV)
    _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    _run(client, import_file, "valid_only", django_capture_on_commit_callbacks)
    assert (import_file.status, import_file.mode) == ("imported", "valid_only")
    assert (import_file.created, import_file.updated, import_file.unchanged) == (1, 1, 1)
    assert import_file.rejected == 1
    assert sorted(Account.objects.values_list("name", "domain", "industry")) == [
        ("Alpha", "alpha.example", "Retail"),
        ("Bravo", "bravo.example", "Software"),
        ("Charlie", "charlie.example", "Software"),
    ]
    # Imported once: no second run, no new mapping.
    _run(client, import_file, "valid_only", django_capture_on_commit_callbacks)
    assert Job.objects.count() == 2
    remap = client.post(
        reverse("web:import-detail", args=[import_file.pk]),
        {"column_0": "name", "column_1": "domain", "column_2": ""},
    )
    assert remap.status_code == 400
    assert "this file has been imported; upload it again" in remap.content.decode()
    listing = client.get(reverse("web:import-list")).content.decode()
    assert "companies.csv" in listing and "Imported" in listing


def test_the_rejects_download_holds_the_rows_as_uploaded_made_safe_for_spreadsheets(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client()
    data = (
        "Company name,Website,Number of Employees\n"
        "Good,good.example,10\n"
        '=HYPERLINK("x"),not a domain,-5\n'
        "@Bad,+bad,\t7\n"
    )
    import_file = _uploaded(client, data)
    _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    response = client.get(reverse("web:import-rejects", args=[import_file.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="companies-rejects.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["Company name", "Website", "Number of Employees", "errors"],
        ["'=HYPERLINK(\"x\")", "not a domain", "'-5",
         "row 3, column 'Website', value 'not a domain': 'not a domain' is not a web domain; "
         "row 3, column 'Number of Employees', value '-5': must not be negative"],
        ["'@Bad", "'+bad", "'\t7",
         "row 4, column 'Website', value '+bad': '+bad' is not a web domain"],
    ]  # fmt: skip


# --- Bad input: a clear message, never a 500 ---------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes, so it is not a CSV text file"),
        ("name\nAlpha\n".encode("utf-16"), "NUL bytes, so it is not a CSV text file"),
        (b"name\nAl\x81pha\n", "the file is neither UTF-8 nor Windows-1252 text"),
        (b"name,domain\n", "the file has a header row but no rows under it"),
        (b"\n\n", "row 1 is blank: the file needs a header row naming its columns"),
        (b" , ,\nAlpha\n", "row 1 is blank: the file needs a header row naming its columns"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_beside_the_field(data: bytes, message: str) -> None:
    client = _client()
    response = _upload(client, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ImportFile.objects.count() == 0


def test_a_file_over_the_limit_is_refused_before_it_is_read(monkeypatch: Any) -> None:
    monkeypatch.setattr("web.imports_forms.MAX_UPLOAD_BYTES", 10)
    response = _upload(_client(), "name\nAlpha Beta Gamma\n")
    assert response.status_code == 400
    assert "The file is 22 bytes; the most this page takes is 10" in response.content.decode()
    assert ImportFile.objects.count() == 0


def test_unknown_columns_and_huge_numbers_give_reasons_not_errors(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client()
    unknown = _uploaded(client, "Foo,Bar\n1,2\n")
    _run(client, unknown, "dry_run", django_capture_on_commit_callbacks)
    assert unknown.status == "refused"
    assert unknown.message.startswith("The file was refused: row 1: missing required column(s)")
    page = client.get(reverse("web:import-detail", args=[unknown.pk])).content.decode()
    assert page.count("Not recognised: ignored") == 2
    huge = _uploaded(
        client,
        "name,employees,annual_revenue\nAlpha,99999999999999999999,1e999999\nBravo,3000000000,1\n",
    )
    _run(client, huge, "dry_run", django_capture_on_commit_callbacks)
    assert [(e["row"], e["column"], e["reason"]) for e in huge.errors] == [
        (2, "employees", "is too large (the most is 2,147,483,647)"),
        (2, "annual_revenue", "is too large (the most is 999,999,999,999.99)"),
        (3, "employees", "is too large (the most is 2,147,483,647)"),
    ]


def test_an_unknown_kind_or_mode_is_a_form_error_not_a_500(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client()
    response = _upload(client, "name\nAlpha\n", kind="planets")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    import_file = _uploaded(client, "name\nAlpha\n")
    response = _run(client, import_file, "everything", django_capture_on_commit_callbacks)
    assert "Choose a dry run or an import." in client.get(response["Location"]).content.decode()


# --- The job's progress -------------------------------------------------------


def test_the_dry_run_reports_its_progress_per_chunk_of_rows(
    eager_tasks: None, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from core.jobs import JobProgress

    advances: list[int] = []
    original = JobProgress.advance

    def advance(self: JobProgress, count: int = 1, *, message: str | None = None) -> None:
        advances.append(count)
        original(self, count, message=message)

    monkeypatch.setattr(JobProgress, "advance", advance)
    client = _client()
    rows = "".join(f"Company {n},c{n}.example\n" for n in range(1, 1201))
    import_file = _uploaded(client, "name,domain\n" + rows)
    assert import_file.row_count == 1200
    _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    # Rows are checked in chunks of 500; the dry run writes no batch.
    assert advances == [500, 500, 200]
    job = Job.objects.get()
    assert (job.status, job.done, job.total, job.unit) == ("done", 1200, 1200, "row")
    assert job.result == {"created": 1200, "updated": 0, "unchanged": 0, "rejected": 0}
    assert job.message == (
        "1200 rows read: 1200 would be created, 0 updated, 0 unchanged; 0 rejected."
    )
    assert import_file.job_id == job.pk
    # The page shows the finished job and polls no more; its poll says reload.
    page = client.get(reverse("web:import-detail", args=[import_file.pk])).content.decode()
    assert f'id="job-{job.pk}"' in page and "import-poll" not in page
    poll = client.get(reverse("web:import-poll", args=[import_file.pk]), HTTP_HX_REQUEST="true")
    assert (poll.status_code, poll["HX-Refresh"]) == (204, "true")


def test_a_running_file_polls_and_a_failed_job_frees_it(
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = _client()
    import_file = _uploaded(client, "name\nAlpha\n")
    # Started but not run (no worker): the page polls and says nothing yet.
    client.post(reverse("web:import-run", args=[import_file.pk]), {"mode": "dry_run"})
    import_file.refresh_from_db()
    assert import_file.status == "checking"
    page = client.get(reverse("web:import-detail", args=[import_file.pk])).content.decode()
    assert reverse("web:import-poll", args=[import_file.pk]) in page
    poll = client.get(reverse("web:import-poll", args=[import_file.pk]), HTTP_HX_REQUEST="true")
    assert poll.status_code == 204 and "HX-Refresh" not in poll
    again = client.post(reverse("web:import-run", args=[import_file.pk]), {"mode": "dry_run"})
    assert "a run of this file is under way" in client.get(again["Location"]).content.decode()
    assert import_file.job_id is not None
    Job.objects.filter(pk=import_file.job_id).update(status="failed", message="Failed: boom")
    page = client.get(reverse("web:import-detail", args=[import_file.pk])).content.decode()
    assert "Failed: boom" in page and "Run the dry run again" in page


# --- Permissions --------------------------------------------------------------

# What each role may import (the roles migrations, as the API enforces them).
ALLOWED = {
    MARKETER: {"accounts", "contacts", "opportunities", "spend", "activities", "ip_ranges"},
    SALES: {"contacts", "opportunities"},
    EXECUTIVE: set(),
}


@pytest.mark.parametrize("role", [MARKETER, SALES, EXECUTIVE])
def test_each_role_may_upload_and_open_exactly_the_kinds_it_may_import(role: str) -> None:
    marketer = _client()
    files = {
        kind: _uploaded(marketer, "a\n1\n", kind=kind, name=f"{kind}.csv")
        for kind in ALLOWED[MARKETER]
    }
    client = _client(role)
    listing = client.get(reverse("web:import-list"))
    new = client.get(reverse("web:import-new"))
    if not ALLOWED[role]:
        assert (listing.status_code, new.status_code) == (403, 403)
    else:
        assert (listing.status_code, new.status_code) == (200, 200)
        shown = {kind for kind in ALLOWED[MARKETER] if f"{kind}.csv" in listing.content.decode()}
        assert shown == ALLOWED[role]
    for kind, import_file in files.items():
        expected = 200 if kind in ALLOWED[role] else 403
        for name in ("web:import-detail", "web:import-rejects"):
            assert client.get(reverse(name, args=[import_file.pk])).status_code == expected
        run = client.post(reverse("web:import-run", args=[import_file.pk]), {"mode": "dry_run"})
        assert run.status_code == (302 if expected == 200 else 403)
        upload = _upload(client, "name\nAlpha\n", kind=kind)
        # A kind the user may not import is not among the form's choices.
        assert upload.status_code in ((302, 400) if expected == 200 else (400, 403))
        if expected != 200 and ALLOWED[role]:
            assert "Select a valid choice" in upload.content.decode()


def test_anonymous_visitors_go_to_log_in() -> None:
    import_file = _uploaded(_client(), "name\nAlpha\n")
    client = Client()
    for name, args in [
        ("web:import-list", []), ("web:import-new", []),
        ("web:import-detail", [import_file.pk]), ("web:import-rejects", [import_file.pk]),
        ("web:import-poll", [import_file.pk]),
    ]:  # fmt: skip
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302 and response["Location"].startswith("/login/"), name
    response = client.post(reverse("web:import-run", args=[import_file.pk]), {"mode": "dry_run"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_kind_in_the_link_is_chosen_on_the_upload_form() -> None:
    page = _client().get(reverse("web:import-new") + "?kind=spend").content.decode()
    assert '<option value="spend" selected>Spend</option>' in page


# --- Query counts ---------------------------------------------------------------


def test_the_list_takes_the_same_queries_for_few_files_and_many(
    django_assert_num_queries: Any,
) -> None:
    marketer = _user(MARKETER, "maya")
    client = Client()
    client.force_login(marketer)

    def files(count: int) -> None:
        for n in range(count):
            ImportFile.objects.create(
                kind="accounts", file_name=f"f{n}.csv", data=b"name\nA\n", size=7,
                headers=["name"], row_count=1, created_by=marketer,
            )  # fmt: skip

    files(2)
    # session, user, the user's permissions (2), count of files, the shell
    # (workspace links, alert count, roles), a page of files with uploader and job
    with django_assert_num_queries(9):
        assert client.get(reverse("web:import-list")).status_code == 200
    files(30)
    with django_assert_num_queries(9):
        assert client.get(reverse("web:import-list")).status_code == 200


def test_the_detail_takes_the_same_queries_for_few_errors_and_many(
    eager_tasks: None, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    client = _client()
    small = _uploaded(client, "name,domain\nA,bad one\n")
    large = _uploaded(client, "name,domain\n" + "A,bad one\n" * 120)
    for import_file in (small, large):
        _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    assert (small.rejected, large.rejected) == (1, 120)
    for import_file in (small, large):
        # session, user, permissions (2), the file with its uploader and job,
        # the job's state, the shell (workspace links, alert count, roles)
        with django_assert_num_queries(9):
            page = client.get(reverse("web:import-detail", args=[import_file.pk]))
        assert page.status_code == 200


def test_contacts_import_through_the_pages_reaches_the_contacts_table(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    AccountFactory.create(name="Alpha", domain="alpha.example")
    client = _client()
    import_file = _uploaded(
        client, "Email,First Name,Last Name\nana@alpha.example,Ana,A\n", kind="contacts"
    )
    _run(client, import_file, "dry_run", django_capture_on_commit_callbacks)
    _run(client, import_file, "all", django_capture_on_commit_callbacks)
    assert import_file.status == "imported"
    assert list(Contact.objects.values_list("email", flat=True)) == ["ana@alpha.example"]
