"""The import pages in Chromium: the demo marketer uploads a CSV of accounts
with one bad row, sees the row's error, imports the valid rows and finds the
file, with its counts, in the list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Two new accounts (domains the demo does not use) and, on row 4, a website
# that is not a domain.
UPLOAD = (
    "Company name,Website,Number of Employees\n"
    "Quokka Labs,quokka-labs.example,40\n"
    "Wombat Freight,wombat-freight.example,1200\n"
    "Numbat Bank,not a domain,300\n"
)


def test_the_demo_marketer_imports_the_valid_rows_of_a_file_with_one_bad_row(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "marketer", "demo-marketer")
    page.get_by_role("link", name="Imports").first.click()
    page.wait_for_url(f"{base}/imports/")
    check_page(page, "import-list-empty")
    page.get_by_role("link", name="Upload a CSV file").first.click()
    page.get_by_label("What the file holds").select_option("accounts")
    page.get_by_label("CSV file").set_input_files(
        {"name": "new-accounts.csv", "mimeType": "text/csv", "buffer": UPLOAD.encode()}
    )
    check_page(page, "import-new")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"{base}/imports/*/")
    assert page.get_by_role("heading", name="new-accounts.csv", level=1).is_visible()
    # Each column with what it is read as, and how.
    assert page.get_by_label("Company name").input_value() == "name"
    assert page.get_by_label("Website").input_value() == "domain"
    assert page.get_by_label("Number of Employees").input_value() == "employees"
    assert page.get_by_text("Recognised by an alias of domain").is_visible()
    check_page(page, "import-detail-columns")

    page.get_by_role("button", name="Run a dry run").click()
    page.wait_for_selector("dd[data-count=rejected]")
    assert page.locator("dd[data-count=created]").inner_text() == "2"
    assert page.locator("dd[data-count=rejected]").inner_text() == "1"
    error = page.locator("table.import-errors tbody tr")
    assert error.count() == 1
    assert error.locator("td").all_inner_texts() == [
        "4", "Website", "not a domain", "'not a domain' is not a web domain",
    ]  # fmt: skip
    assert page.get_by_role("button", name="Import all").is_disabled()
    check_page(page, "import-detail-dry-run")

    page.get_by_role("button", name="Import only the valid rows").click()
    page.wait_for_selector("text=Imported. To import it again")
    assert page.locator("dd[data-count=created]").inner_text() == "2"
    assert page.locator("dd[data-count=rejected]").inner_text() == "1"
    assert page.get_by_role("link", name="Download the rejected rows (CSV)").is_visible()
    check_page(page, "import-detail-imported")

    page.get_by_role("link", name="Imports", exact=True).first.click()
    page.wait_for_url(f"{base}/imports/")
    row = page.locator("table.imports-list tbody tr").first
    assert row.locator("td[data-label=File]").inner_text().startswith("new-accounts.csv")
    cells = {
        label: row.locator(f"td[data-label='{label}']").inner_text()
        for label in ("Kind", "Status", "Created", "Updated", "Unchanged", "Rejected")
    }
    assert cells == {
        "Kind": "Accounts", "Status": "Imported", "Created": "2", "Updated": "0",
        "Unchanged": "0", "Rejected": "1",
    }  # fmt: skip
    check_page(page, "import-list")
    # The accounts are there for everyone: the account list finds them.
    page.goto(f"{base}/accounts/?q=wombat")
    assert page.locator("a.account-link", has_text="Wombat Freight").is_visible()
