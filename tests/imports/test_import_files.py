"""The pieces the import pages added to the CSV import: a progress reporter
for csv_import, headers read without parsing, columns matched with how,
cells made safe for spreadsheets, and limits on numbers (no 500 through the
API either)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import Account
from core import csvimport
from imports.services import IMPORT_KINDS, csv_import
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Recorded:
    """A progress reporter that writes down what it heard."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, int, str | None]] = []

    def set_total(self, total: int) -> None:
        self.heard.append(("total", total, None))

    def advance(self, count: int = 1, *, message: str | None = None) -> None:
        self.heard.append(("advance", count, message))


def test_csv_import_reports_rows_checked_per_chunk_then_batches_written() -> None:
    rows = "".join(f"Co {n},co{n}.example\n" for n in range(1, 1101))
    recorded = Recorded()
    result = csv_import(kind="accounts", data="name,domain\n" + rows, progress=recorded)
    assert result.created == 1100
    assert recorded.heard == [
        ("advance", 500, "Checking rows"),
        ("advance", 500, "Checking rows"),
        ("advance", 100, "Checking rows"),
        ("total", 1100, None),
        # accounts are written in one batch of up to 2,000 rows
        ("advance", 0, "Writing rows: 1100 of 1100 written"),
    ]
    assert Account.objects.count() == 1100


def test_read_headers_counts_the_rows_with_content() -> None:
    data = "name;domain\nA;a.example\n\n ; \nB;b.example\n"
    assert csvimport.read_headers(data) == (["name", "domain"], 2)


def test_columns_match_says_how_each_column_was_recognised() -> None:
    columns = IMPORT_KINDS["accounts"].columns
    headers = ["Company", "name", "Website", "URL", "Org", "Tier"]
    matches = csvimport.columns_match(headers, columns, {"org": "industry", "tier": ""})
    assert [(m.header, m.field, m.how) for m in matches] == [
        ("Company", "name", "alias"),
        ("name", None, None),  # name was already read from Company
        ("Website", "domain", "alias"),
        ("URL", None, None),  # so was domain, from Website
        ("Org", "industry", "map"),
        ("Tier", None, "map"),  # ignored by hand
    ]


def test_a_column_ignored_by_the_map_is_not_read() -> None:
    result = csv_import(
        kind="accounts", data="name,Tier\nAlpha,9\n", column_map={"tier": ""}, dry_run=True
    )
    assert (result.created, result.rejected, result.ignored_columns) == (1, [], ["Tier"])


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+2", "'=1+2"), ("+31 20 123", "'+31 20 123"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"), ("\rx", "'\rx"), ("Alpha", "Alpha"), ("", ""), ("a=b", "a=b"),
    ],
)  # fmt: skip
def test_cells_a_spreadsheet_would_run_get_an_apostrophe(cell: str, safe: str) -> None:
    assert csvimport.csv_cell_neutralise(cell) == safe


def test_the_commands_rejects_file_keeps_cells_as_they_came() -> None:
    result = csv_import(kind="accounts", data="name,domain\n-Alpha,bad one\n", skip_invalid=True)
    assert result.rejects_csv().splitlines()[1].startswith("-Alpha,bad one,")


AMOUNT_TOO_LARGE = "is too large (the most is 999,999,999,999.99)"
WHOLE_TOO_LARGE = "is too large (the most is 2,147,483,647)"


@pytest.mark.parametrize(
    ("parse", "value", "reason"),
    [
        (csvimport.decimal_amount, "1e999999", AMOUNT_TOO_LARGE),
        (csvimport.decimal_amount, "1000000000000", AMOUNT_TOO_LARGE),
        (csvimport.whole_number, "2147483648", WHOLE_TOO_LARGE),
        (csvimport.whole_number, "1e30", WHOLE_TOO_LARGE),
    ],
)  # fmt: skip
def test_numbers_too_large_for_their_column_are_row_errors(
    parse: Any, value: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        parse(value)
    # The largest values that fit are read.
    assert csvimport.decimal_amount("999,999,999,999.99") == Decimal("999999999999.99")
    assert csvimport.whole_number("2147483647") == 2147483647


def test_the_api_answers_nul_bytes_and_huge_numbers_with_a_400() -> None:
    user = UserFactory.create()
    user.groups.add(Group.objects.get(name="Marketer"))
    client = APIClient()
    client.force_authenticate(user)

    def post(body: bytes) -> Any:
        upload = SimpleUploadedFile("a.csv", body, content_type="text/csv")
        return client.post("/api/imports/accounts/", {"file": upload}, format="multipart")

    nul = post(b"name\nAl\x00pha\n")
    assert nul.status_code == 400 and nul.json()["code"] == "invalid_file"
    huge = post(b"name,annual_revenue\nAlpha,1e999999\n")
    assert huge.status_code == 400
    assert huge.json()["errors"] == [
        {"row": 2, "column": "annual_revenue", "value": "1e999999",
         "reason": "is too large (the most is 999,999,999,999.99)"},
    ]  # fmt: skip
