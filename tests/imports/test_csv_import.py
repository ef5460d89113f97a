"""CSV import: all or nothing, every error located, idempotent, CRM headers understood."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test.utils import override_settings
from rest_framework.test import APIClient

from accounts.models import Account, Contact, Opportunity
from campaigns.models import Spend
from core.csvimport import FileRefused, column_map_parse
from engagement.models import Activity, IPRange
from engagement.selectors import account_ids_for_addresses
from imports.services import ImportRejected, csv_import
from tests.factories import AccountFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db

HUBSPOT_COMPANIES = (
    "\ufeffRecord ID,Company name,Company Domain Name,Industry,Number of Employees,"
    "Annual Revenue,Country/Region\n"
    '101,Northwind, https://www.Northwind.example/ ,Software,"1,200","$25,000,000",United States\n'
    "102,  Contoso  ,contoso.example,Retail,300,,germany\n"
    "103,Fabrikam,,Manufacturing,,,\n"
)


def test_a_clean_file_is_imported_with_values_normalised() -> None:
    result = csv_import(kind="accounts", data=HUBSPOT_COMPANIES)
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    northwind = Account.objects.get(domain="northwind.example")
    assert (northwind.external_id, northwind.employees, northwind.country) == ("101", 1200, "US")
    assert northwind.annual_revenue == Decimal("25000000.00")
    assert Account.objects.get(external_id="102").name == "Contoso"
    assert Account.objects.get(name="Fabrikam").domain is None


def test_the_same_file_twice_changes_nothing() -> None:
    csv_import(kind="accounts", data=HUBSPOT_COMPANIES)
    before = list(Account.objects.order_by("pk").values())
    again = csv_import(kind="accounts", data=HUBSPOT_COMPANIES)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert list(Account.objects.order_by("pk").values()) == before


def test_a_changed_row_is_an_update_and_blank_cells_keep_stored_values() -> None:
    csv_import(kind="accounts", data=HUBSPOT_COMPANIES)
    changed = "Company Domain Name,Company name,Industry\nnorthwind.example,Northwind Inc,\n"
    result = csv_import(kind="accounts", data=changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    northwind = Account.objects.get(domain="northwind.example")
    assert (northwind.name, northwind.industry) == ("Northwind Inc", "Software")


def test_a_file_with_bad_rows_imports_nothing_and_reports_every_error() -> None:
    bad = (
        "Company name,Website,Number of Employees,Country,Tier\n"
        "Good Co,good.example,10,US,1\n"
        "Bad Domain,not a domain,10,US,1\n"
        ",nameless.example,-5,Narnia,7\n"
        "Dup,good.example,1,US,2\n"
    )
    with pytest.raises(ImportRejected) as caught:
        csv_import(kind="accounts", data=bad)
    assert Account.objects.count() == 0
    errors = {(e.row, e.column, e.value): e.reason for e in caught.value.result.errors}
    assert errors == {
        (3, "Website", "not a domain"): "'not a domain' is not a web domain",
        (4, "Company name", ""): "is required",
        (4, "Number of Employees", "-5"): "must not be negative",
        (4, "Country", "Narnia"): "country 'Narnia' is not a known country name or ISO code",
        (4, "Tier", "7"): "must be 1, 2 or 3",
        (5, "domain", "good.example"): "same account as row 2",
    }
    assert str(caught.value.result.errors[0]) == (
        "row 3, column 'Website', value 'not a domain': 'not a domain' is not a web domain"
    )


def test_a_missing_required_column_refuses_the_file_and_names_what_was_found() -> None:
    with pytest.raises(FileRefused, match=r"row 1: missing required column\(s\) name; found Org"):
        csv_import(kind="accounts", data="Org\nNorthwind\n")


def test_a_column_map_names_unusual_headers() -> None:
    data = "Org,Web\nNorthwind,northwind.example\n"
    csv_import(kind="accounts", data=data, column_map=column_map_parse("Org=name, Web=domain"))
    assert Account.objects.get().domain == "northwind.example"
    with pytest.raises(FileRefused, match="--map sends 'org' to 'nom', which is not one of"):
        csv_import(kind="accounts", data=data, column_map=column_map_parse("Org=nom"))


def test_a_dry_run_counts_and_writes_nothing() -> None:
    result = csv_import(kind="accounts", data=HUBSPOT_COMPANIES, dry_run=True)
    assert (result.created, result.dry_run) == (3, True)
    assert Account.objects.count() == 0


def test_skip_invalid_imports_the_valid_rows_and_returns_the_rest_fixable() -> None:
    data = "Company name,Website\nGood Co,good.example\nBad,not a domain\n"
    result = csv_import(kind="accounts", data=data, skip_invalid=True)
    assert (result.created, len(result.rejected)) == (1, 1)
    assert result.rejects_csv().splitlines() == [
        "Company name,Website,errors",
        "Bad,not a domain,\"row 3, column 'Website', value 'not a domain': "
        "'not a domain' is not a web domain\"",
    ]


SALESFORCE_OPPORTUNITIES = (
    "Opportunity ID,Opportunity Name,Account Name,Amount,Stage,Created Date,Close Date,"
    "Lead Source\n"
    '006A,Northwind renewal,Northwind,"$12,500.00",Closed Won,03/01/2026,04/15/2026,Web\n'
    "006B,Northwind expansion,northwind,8000,Negotiation,2026-05-02,,Partner Referral\n"
    "006C,Contoso pilot,Contoso,,closed lost,15.01.2026,20.02.2026,Outbound\n"
)


def test_salesforce_opportunities_map_stages_sources_dates_and_accounts() -> None:
    northwind = AccountFactory.create(name="Northwind")
    contoso = AccountFactory.create(name="Contoso")
    result = csv_import(kind="opportunities", data=SALESFORCE_OPPORTUNITIES)
    assert result.created == 3
    rows = {
        o.external_id: (o.account_id, o.status, o.source, o.amount, o.opened_on, o.close_on)
        for o in Opportunity.objects.all()
    }
    assert rows == {
        "006A": (northwind.pk, "won", "marketing", Decimal("12500.00"),
                 dt.date(2026, 3, 1), dt.date(2026, 4, 15)),
        "006B": (northwind.pk, "open", "partner", Decimal("8000.00"), dt.date(2026, 5, 2), None),
        "006C": (contoso.pk, "lost", "sales", None, dt.date(2026, 1, 15), dt.date(2026, 2, 20)),
    }  # fmt: skip


@override_settings(CRM_STAGE_STATUS={"signed": "won"})
def test_stage_names_map_through_the_configured_mapping() -> None:
    AccountFactory.create(name="Northwind")
    data = (
        "Deal ID,Deal Name,Company,Deal Stage,Create Date,Close Date\n"
        "1,A,Northwind,Signed,2026-01-01,2026-02-01\n"
    )
    csv_import(kind="opportunities", data=data)
    assert Opportunity.objects.get().status == "won"


def test_opportunities_report_unknown_accounts_and_missing_close_dates() -> None:
    AccountFactory.create(name="Northwind")
    data = (
        "Opportunity ID,Opportunity Name,Account Name,Stage,Created Date,Close Date\n"
        "1,A,Nobody Inc,Open,2026-01-01,\n"
        "2,B,Northwind,Closed Won,2026-01-01,\n"
        "3,C,Northwind,Closed Lost,2026-03-01,2026-02-01\n"
    )
    with pytest.raises(ImportRejected) as caught:
        csv_import(kind="opportunities", data=data)
    assert [(e.row, e.column, e.reason) for e in caught.value.result.errors] == [
        (2, "account_name", "no account with this name"),
        (3, "close_on", "a won deal needs a close date"),
        (4, "close_on", "is before the create date 2026-03-01"),
    ]


def test_a_deal_without_an_account_is_stored_unassigned() -> None:
    """CRMs hold deals whose account is not filled in yet: they are imported
    without one (named by their id when the file gives no name); a row that
    names an account we do not know is still refused."""
    northwind = AccountFactory.create(name="Northwind")
    data = (
        "Deal ID,Company,Product,Deal Stage,Create Date,Close Date,Amount\n"
        "1,,GTX,Engaging,2026-01-05,,\n"
        "2,Northwind,GTX,Won,2026-01-06,2026-02-01,500\n"
        "3,Nobody Inc,GTX,Engaging,2026-01-07,,\n"
        "4,,MG,Won,2026-01-08,2026-01-30,700\n"
    )
    dry = csv_import(kind="opportunities", data=data, dry_run=True, skip_invalid=True)
    assert (dry.created, Opportunity.objects.count()) == (3, 0)
    result = csv_import(kind="opportunities", data=data, skip_invalid=True)
    assert [(e.row, e.column, e.value, e.reason) for e in result.errors] == [
        (4, "account_name", "Nobody Inc", "no account with this name"),
    ]
    stored = {
        o.external_id: (o.account_id, o.name, o.status, o.amount) for o in Opportunity.objects.all()
    }
    assert stored == {
        "1": (None, "1", "open", None),
        "2": (northwind.pk, "Northwind - GTX", "won", Decimal("500.00")),
        "4": (None, "4", "won", Decimal("700.00")),
    }
    again = csv_import(kind="opportunities", data=data, skip_invalid=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    # Later the CRM assigns deal 1; a blank account cell never unassigns deal 2.
    later = (
        "Deal ID,Company,Product,Deal Stage,Create Date,Close Date,Amount\n"
        "1,Northwind,GTX,Engaging,2026-01-05,,\n"
        "2,,GTX,Won,2026-01-06,2026-02-01,500\n"
    )
    result = csv_import(kind="opportunities", data=later)
    assert (result.updated, result.unchanged) == (1, 1)
    assert dict(Opportunity.objects.values_list("external_id", "account_id")) == {
        "1": northwind.pk, "2": northwind.pk, "4": None,
    }  # fmt: skip


def test_contacts_link_to_accounts_and_get_junk_flags() -> None:
    northwind = AccountFactory.create(domain="northwind.example")
    data = (
        "Email,First Name,Last Name,Job Title,Associated Company\n"
        " Ana@Northwind.example ,Ana,Lima,VP Finance,\n"
        "bo@gmail.com,Bo,Ek,Student,\n"
    )
    result = csv_import(kind="contacts", data=data)
    assert result.created == 2
    ana = Contact.objects.get(email="ana@northwind.example")
    assert (ana.account, ana.seniority, ana.is_junk) == (northwind, "vp", False)
    bo = Contact.objects.get(email="bo@gmail.com")
    assert (bo.account, bo.is_junk) == (None, True)
    assert bo.junk_reason == "free-mail domain without an account: gmail.com"
    assert csv_import(kind="contacts", data=data).unchanged == 2


def test_spend_lines_find_their_program_and_import_once() -> None:
    program = ProgramFactory.create(tracking_key="fs-webinar", name="Risk webinar")
    data = (
        "Program,Date,Cost,Memo\n"
        'FS-Webinar,2026-03-01,"1,000.00",Speaker fee\n'
        "Risk Webinar,2026-03-02,250,Ads\n"
        "Risk Webinar,2026-03-02,250,Ads\n"
    )
    assert csv_import(kind="spend", data=data).created == 3
    assert csv_import(kind="spend", data=data).unchanged == 3
    assert sorted(Spend.objects.filter(program=program).values_list("amount", flat=True)) == [
        Decimal("250.00"), Decimal("250.00"), Decimal("1000.00"),
    ]  # fmt: skip


def test_activities_import_creates_contacts_and_is_idempotent() -> None:
    account = AccountFactory.create(domain="northwind.example")
    data = (
        "Timestamp,Event,Email,Company Domain,UTM Campaign\n"
        "2026-03-01T10:00:00Z,Webinar Attended,ana@northwind.example,,FS-Webinar\n"
        "2026-03-02,Meeting Held,,northwind.example,\n"
    )
    assert csv_import(kind="activities", data=data).created == 2
    assert csv_import(kind="activities", data=data).unchanged == 2
    rows = sorted(Activity.objects.values_list("type", "account_id", "tracking_key"))
    assert rows == [
        ("meeting_held", account.pk, ""),
        ("webinar_attended", account.pk, "fs-webinar"),
    ]
    assert Contact.objects.get().email == "ana@northwind.example"


def test_ip_ranges_import_and_resolve_visits() -> None:
    account = AccountFactory.create(domain="northwind.example")
    csv_import(kind="ip_ranges", data="CIDR,Domain\n198.51.100.7/24,Northwind.example\n")
    assert IPRange.objects.get().network == "198.51.100.0/24"
    assert account_ids_for_addresses({"198.51.100.9"}) == {"198.51.100.9": account.pk}


@pytest.mark.parametrize("rows", [5, 60])
def test_an_import_costs_a_fixed_number_of_queries(
    rows: int, django_assert_num_queries: Any
) -> None:
    data = "Company name,Website\n" + "".join(f"Co {i},co{i}.example\n" for i in range(rows))
    # 2 savepoints, read existing by domain, one multi-row insert, link contacts
    # at those domains (accounts, contacts), 2 releases
    with django_assert_num_queries(8):
        csv_import(kind="accounts", data=data)
    assert Account.objects.count() == rows


# --- The command and the upload endpoint -------------------------------------------


def test_the_command_prints_counts_and_writes_rejects(tmp_path: Path, capsys: Any) -> None:
    source = tmp_path / "companies.csv"
    source.write_text("Company name,Website\nGood Co,good.example\nBad,not a domain\n")
    with pytest.raises(CommandError, match="nothing imported: 1 problem"):
        call_command("import_csv", "accounts", str(source))
    assert "row 3, column 'Website'" in capsys.readouterr().err
    call_command("import_csv", "accounts", str(source), "--skip-invalid")
    out = capsys.readouterr().out
    assert "1 were created, 0 updated, 0 unchanged, 1 rejected" in out
    assert (
        (tmp_path / "companies.rejects.csv").read_text().startswith("Company name,Website,errors")
    )


def test_the_upload_endpoint_imports_for_a_marketer_and_forbids_others() -> None:
    marketer = UserFactory.create(username="mia")
    marketer.groups.add(Group.objects.get(name="Marketer"))
    rep = UserFactory.create(username="rex")
    rep.groups.add(Group.objects.get(name="Sales"))
    api = APIClient()

    def upload(user: Any, kind: str, body: str, **fields: str) -> Any:
        api.force_authenticate(user)
        file = SimpleUploadedFile("f.csv", body.encode(), content_type="text/csv")
        return api.post(f"/api/imports/{kind}/", {"file": file, **fields}, format="multipart")

    ok = upload(marketer, "accounts", "Company name,Website\nNorthwind,northwind.example\n")
    assert ok.status_code == 200
    assert ok.json()["created"] == 1
    bad = upload(marketer, "accounts", "Company name,Website\nBad,not a domain\n")
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"row": 2, "column": "Website", "value": "not a domain",
                                     "reason": "'not a domain' is not a web domain"}]  # fmt: skip
    assert upload(rep, "spend", "Program,Date,Cost\nx,2026-01-01,1\n").status_code == 403
    assert upload(marketer, "widgets", "a\n1\n").status_code == 404


# --- Malformed files (issue 18): reported, nothing half-written ---------------------


def test_a_row_with_a_value_outside_every_column_is_a_row_error() -> None:
    data = (
        "name,domain\nAlpha,alpha.example\nBravo,bravo.example,stray\nCharlie,charlie.example,,\n"
    )
    with pytest.raises(ImportRejected) as caught:
        csv_import(kind="accounts", data=data)
    (error,) = caught.value.result.errors
    assert (error.row, error.column, error.value) == (3, "", "stray")
    assert (
        error.reason == "has 3 cells but the header has 2 columns: a value is outside every column"
    )
    # Empty trailing cells (Charlie's, as spreadsheets write them) are no error.
    assert not Account.objects.exists()


def test_a_short_row_reads_its_missing_cells_as_blank() -> None:
    result = csv_import(kind="accounts", data="name,domain,industry\nAlpha,alpha.example\n")
    assert (result.created, result.rejected) == (1, [])
    assert Account.objects.get().industry == ""


def test_an_unbalanced_quote_refuses_the_file_naming_the_row() -> None:
    data = 'name,domain\nAlpha,alpha.example\n"Bravo,bravo.example\nCharlie,charlie.example\n'
    with pytest.raises(FileRefused, match=r"^row 3: a quoted value starts in this row and its "
                       r"closing quote is never found \(an unbalanced quote\)"):  # fmt: skip
        csv_import(kind="accounts", data=data)
    assert not Account.objects.exists()


def test_the_api_answers_both_as_400_naming_the_row(marketer: APIClient) -> None:
    ragged = SimpleUploadedFile("a.csv", b"name,domain\nAlpha,alpha.example,stray\n")
    answer = marketer.post("/api/imports/accounts/", {"file": ragged}, format="multipart")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["row"] == 2
    quoted = SimpleUploadedFile("b.csv", b'name,domain\n"Alpha,alpha.example\n')
    answer = marketer.post("/api/imports/accounts/", {"file": quoted}, format="multipart")
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("row 2: a quoted value starts in this row")


@pytest.mark.parametrize("opened", ["9999-12-31", "3000-01-01", "1899-12-31"])
def test_a_deal_dated_outside_the_products_range_is_a_row_error(opened: str) -> None:
    """Issue 18: a calendar date out of range is a row error; activity times
    follow the tracking API's policy instead (tests/engagement/test_extreme_times.py)."""
    data = f"external_id,name,amount,status,opened_on\nD-1,Big deal,100,open,{opened}\n"
    with pytest.raises(ImportRejected) as caught:
        csv_import(kind="opportunities", data=data)
    (error,) = caught.value.result.errors
    assert (error.row, error.column, error.value) == (2, "opened_on", opened)
    assert error.reason == "is out of range (dates from 1900-01-01 to 2999-12-31)"
    assert not Opportunity.objects.exists()
