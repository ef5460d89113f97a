"""The bad input catalogue's CSV imports (issue 18, proof 4): every file the
probe sent, through the three ways in, the REST API (`POST /api/imports/<kind>/`),
the import command (`manage.py import_csv`) and the import page (upload, dry run).

Each case is a row of the table: its id, the kind, the file, and the answer: a
refusal of the whole file naming the row and the problem, or row errors (row,
column, reason), or "stored" for a file that is odd but fine. A refusal writes
nothing (row counts of every product table, before and after, but the page's
own record of the upload and its job); never a 500, never a traceback from the
command. The figures are printed at the end of the run (tests/bad_input.py).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.models import Account, Contact
from imports.models import ImportFile
from tests import bad_input
from tests.factories import AccountFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

TOO_LARGE_WHOLE = "is too large (the most is 2,147,483,647)"
TOO_LARGE_AMOUNT = "is too large (the most is 999,999,999,999.99)"
OUT_OF_RANGE = "is out of range (dates from 1900-01-01 to 2999-12-31)"
NUL = "the file contains NUL bytes, so it is not a CSV text file"
OPPORTUNITY = "external_id,name,opened_on,close_on,crm_stage\n"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    data: bytes
    # "file": the whole file refused, `says` in the message; "rows": each
    # (row, column, reason) of `rows` reported; "stored": imported.
    answer: str
    says: str = ""
    rows: tuple[tuple[int, str, str], ...] = ()


def file(id: str, kind: str, data: bytes | str, says: str) -> Case:
    body = data.encode() if isinstance(data, str) else data
    return Case(id, kind, body, "file", says=says)


def rows(id: str, kind: str, data: str, *errors: tuple[int, str, str]) -> Case:
    return Case(id, kind, data.encode(), "rows", rows=errors)


def stored(id: str, kind: str, data: bytes | str) -> Case:
    return Case(id, kind, data.encode() if isinstance(data, str) else data, "stored")


CASES = [
    # The cases.
    rows("C01 employees 1e100", "accounts", "name,employees\nAlpha,1e100\n",
         (2, "employees", TOO_LARGE_WHOLE)),
    rows("C02 revenue of 30 digits", "accounts", f"name,annual_revenue\nAlpha,{'9' * 30}\n",
         (2, "annual_revenue", TOO_LARGE_AMOUNT)),
    rows("C03 employees 2^40", "accounts", "name,employees\nAlpha,1099511627776\n",
         (2, "employees", TOO_LARGE_WHOLE)),
    file("C04 a NUL byte in a cell", "accounts", b"name\nAlpha\nBra\x00vo\n", f"row 3: {NUL}"),
    rows("C05 an activity in year 10000", "activities",
         "occurred_at,type,account_domain\n10000-01-01,page_view,alpha.example\n",
         (2, "occurred_at", "is not a date")),
    rows("C06 an activity before 1970", "activities",
         "occurred_at,type,account_domain\n1969-12-31,page_view,alpha.example\n",
         (2, "occurred_at", "is before 1970-01-01, the earliest time accepted")),
    rows("C07 a deal opened in 9999", "opportunities", OPPORTUNITY + "D-1,Deal,9999-12-31,,\n",
         (2, "opened_on", OUT_OF_RANGE)),
    rows("C08 spend in year 1", "spend", "program,spent_on,amount\nprogram-x,0001-01-01,5\n",
         (2, "spent_on", OUT_OF_RANGE)),
    rows("C09 a ragged row", "accounts", "name,domain\nAlpha,alpha.example\nBravo,b.example,x\n",
         (3, "", "has 3 cells but the header has 2 columns")),
    file("C10 an unbalanced quote", "accounts", 'name,domain\n"Alpha,alpha.example\nBravo,b.ex\n',
         "closing quote is never found (an unbalanced quote)"),
    rows("C11 1e100 as an amount", "opportunities",
         "external_id,opened_on,amount\nD-1,2026-01-05,1e100\n", (2, "amount", TOO_LARGE_AMOUNT)),
    rows("C12 NaN and Infinity", "spend",
         "program,spent_on,amount\nprogram-x,2026-01-05,NaN\nprogram-x,2026-01-06,-Infinity\n",
         (2, "amount", "is not an amount"), (3, "amount", "is not an amount")),
    rows("C13 negative employees", "accounts", "name,employees\nAlpha,-5\n",
         (2, "employees", "must not be negative")),
    rows("C14 a name too long", "accounts", f"name\n{'x' * 300}\n",
         (2, "name", "is longer than 255 characters")),
    rows("C15 a bad email", "contacts", "email\nnot-an-email\n", (2, "email", "")),
    rows("C16 a network beyond /32", "ip_ranges", "network,domain\n10.0.0.0/33,alpha.example\n",
         (2, "network", "")),
    rows("C17 a date that is not one", "opportunities", OPPORTUNITY + "D-1,Deal,2026-02-30,,\n",
         (2, "opened_on", "is not a date")),
    # A CRM id is unique: two rows with one, or a row with another record's.
    rows("C18 one CRM id on two accounts", "accounts",
         "name,domain,external_id\nNew A,new-a.example,CRM-9\nNew B,new-b.example,CRM-9\n",
         (3, "external_id", "same account id as row 2")),
    rows("C19 another account's CRM id", "accounts",
         "name,domain,external_id\nNew,new.example,CRM-1\n",
         (2, "external_id", "is already the id of another account (alpha.example)")),
    rows("C20 another contact's CRM id", "contacts",
         "email,external_id\nnew@alpha.example,U-1\n",
         (2, "external_id", "is already the id of another contact (ada@alpha.example)")),
    # The classic files.
    # A PNG's first NUL is after two line ends: on its "row 3".
    file("C21 a binary file", "accounts", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", f"row 3: {NUL}"),
    file("C22 UTF-16 text", "accounts", "name\nAlpha\n".encode("utf-16"), f"row 1: {NUL}"),
    file("C23 an empty file", "accounts", b"", "empty"),
    file("C24 a blank header", "accounts", b"\n\nAlpha\n", "row 1 is blank"),
    file("C25 a delimiter not recognised", "accounts", "name:domain\nAlpha:alpha.example\n",
         "missing required column(s) name; found name:domain"),
    file("C26 a required column missing", "contacts", "first_name\nAda\n",
         "missing required column(s) email"),
    stored("C27 a byte order mark", "accounts", "\ufeffname,domain\nBOM Co,bom.example\n"),
    stored("C28 semicolons", "accounts", "name;domain\nSemi Co;semi.example\n"),
    stored("C29 unknown columns", "accounts", "name,Shoe size\nShoe Co,44\n"),
    stored("C30 a formula in a name", "accounts", 'name\n"=HYPERLINK(""http://x"")"\n'),
    stored("C31 Windows-1252 text", "accounts", "name\nCaf\xe9 Co\n".encode("cp1252")),
    # Nothing to import: the API and the command import no row; the page,
    # which keeps the file, refuses it.
    stored("C32 a header only", "accounts", "name,domain\n"),
]  # fmt: skip

# What the page's upload and dry run record of their own (the file, its job).
PAGE_RECORDS = frozenset({"imports.ImportFile", "core.Job"})


@pytest.fixture
def data(db: None) -> None:
    from tests.factories import ProgramFactory

    AccountFactory.create(name="Alpha", domain="alpha.example", external_id="CRM-1")
    ContactFactory.create(email="ada@alpha.example", external_id="U-1", account=None)
    ProgramFactory.create(tracking_key="program-x")


def _errors_match(case: Case, errors: list[dict[str, Any]]) -> None:
    for row, column, reason in case.rows:
        assert any(
            e["row"] == row and (not column or e["column"] == column) and reason in e["reason"]
            for e in errors
        ), (case.id, errors)


def _stored_match(case: Case) -> None:
    if case.id.startswith("C30"):
        assert Account.objects.filter(name='=HYPERLINK("http://x")').exists()
    if case.id.startswith("C31"):
        assert Account.objects.filter(name="Café Co").exists()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_api_answers_each_bad_file_with_a_400_naming_the_row(data: None, case: Case) -> None:
    client = Client()
    client.force_login(UserFactory.create(username="maya", groups=["Marketer"]))
    before = bad_input.row_counts()
    upload = SimpleUploadedFile("f.csv", case.data, content_type="text/csv")
    response = client.post(f"/api/imports/{case.kind}/", {"file": upload})
    changed = bad_input.changed_tables(before, bad_input.row_counts())
    refused = case.answer != "stored"
    bad_input.tally("csv-api", status=response.status_code, half_written=refused and bool(changed))
    body = response.json()
    if not refused:
        assert response.status_code == 200, body
        assert body["rejected"] == 0
        _stored_match(case)
        return
    assert response.status_code == 400, body
    assert not changed
    if case.answer == "file":
        text = body.get("message") or str(body)
        assert case.says in text, body
    else:
        assert body["code"] == "invalid_rows"
        _errors_match(case, body["errors"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_command_says_what_is_wrong_without_a_traceback(
    data: None, case: Case, tmp_path: Path
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(case.data)
    before = bad_input.row_counts()
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_csv", case.kind, str(path), verbosity=0, stdout=out, stderr=err)
    except CommandError as problem:
        said = f"{problem}\n{err.getvalue()}"
        status = 400
    else:
        said, status = out.getvalue(), 200
    changed = bad_input.changed_tables(before, bad_input.row_counts())
    refused = case.answer != "stored"
    bad_input.tally("csv-command", status=status, half_written=refused and bool(changed))
    if not refused:
        assert status == 200, said
        _stored_match(case)
        return
    assert status == 400 and not changed
    assert "Traceback" not in said
    if case.answer == "file":
        assert case.says in said
    for row, column, reason in case.rows:
        where = f"row {row}" + (f", column {column!r}" if column else "")
        assert any(line.startswith(where) and reason in line for line in said.splitlines()), said


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_import_page_refuses_a_bad_file_or_lists_its_row_errors(
    data: None, case: Case, django_capture_on_commit_callbacks: Any, eager_tasks: None
) -> None:
    client = Client()
    client.force_login(UserFactory.create(username="maya", groups=["Marketer"]))
    before = bad_input.row_counts()
    upload = SimpleUploadedFile("f.csv", case.data, content_type="text/csv")
    response = client.post("/imports/new/", {"kind": case.kind, "file": upload})
    status = response.status_code
    if status == 302:
        import_file = ImportFile.objects.latest("pk")
        with django_capture_on_commit_callbacks(execute=True):
            run = client.post(f"/imports/{import_file.pk}/run/", {"mode": "dry_run"})
        status = max(status, run.status_code)
        import_file.refresh_from_db()
    changed = bad_input.changed_tables(before, bad_input.row_counts()) - PAGE_RECORDS
    bad_input.tally("csv-page", status=status, half_written=bool(changed))
    assert status < 500 and not changed
    if case.id.startswith("C32"):
        assert response.status_code == 400
        assert "the file has a header row but no rows under it" in response.content.decode()
    elif case.answer == "file" and response.status_code == 400:  # refused on upload
        assert case.says.replace("'", "&#x27;") in response.content.decode()
    elif case.answer == "file":  # the columns are the page's to map: refused at the dry run
        assert import_file.status == ImportFile.Status.REFUSED
        assert case.says in import_file.message
    elif case.answer == "rows":
        assert import_file.rejected, case.id
        _errors_match(case, import_file.errors)
    else:
        assert response.status_code == 302 and import_file.rejected == 0


def test_the_page_rejects_download_neutralises_formulas(
    data: None, django_capture_on_commit_callbacks: Any, eager_tasks: None
) -> None:
    """A rejected row's cells go back to a person's spreadsheet as text."""
    client = Client()
    client.force_login(UserFactory.create(username="maya", groups=["Marketer"]))
    body = b'name,domain\n"=HYPERLINK(""http://x"")",not a domain\n'
    upload = SimpleUploadedFile("f.csv", body, content_type="text/csv")
    assert client.post("/imports/new/", {"kind": "accounts", "file": upload}).status_code == 302
    import_file = ImportFile.objects.latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{import_file.pk}/run/", {"mode": "dry_run"})
    response = client.get(f"/imports/{import_file.pk}/rejects.csv")
    bad_input.tally("csv-page", status=response.status_code)
    cells = list(csv.reader(io.StringIO(response.content.decode())))
    assert cells[1][0] == '\'=HYPERLINK("http://x")'
    assert Contact.objects.count() == 1
