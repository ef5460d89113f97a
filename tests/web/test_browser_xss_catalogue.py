"""The bad input catalogue's XSS payloads (issue 18, proof 4), checked in Chromium.

Script and markup payloads reach the product through the public tracking key
(a group call's company name, an identify call's name and title, a page call's
name, title and URL, a track call's event) and through the people who name
campaigns, programs and segments. Every page that shows them must show them
as text: no dialog fires (page.on("dialog")), no injected element or
`javascript:` link is in the DOM, and the payload is visible literally, in
the tables, the timeline and the SVG charts alike. The CSV downloads write a
formula-like name as text (OWASP's leading apostrophe). Figures: tests/bad_input.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pypdf
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from engagement.services.sources import source_create
from tests import bad_input
from tests.factories import (
    AccountEngagementFactory,
    CampaignFactory,
    CampaignTargetFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    ProgramFactory,
    ScoringModelFactory,
    SegmentMembershipFactory,
)
from tests.tracking_client import post
from tests.web.browser import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
FORMULA = '=HYPERLINK("http://evil.example","x")'

ACCOUNT = f"Xss Co {IMG}"
CONTACT_FIRST = f"Ada {SCRIPT}"
TITLE = f"VP {IMG}"
PAGE_TITLE = f"Pricing {SCRIPT}"
EVENT = f"Demo {IMG}"
SEGMENT = f"Seg {SCRIPT}"
CAMPAIGN = f"Camp {IMG}"
PROGRAM = f"Prog {SCRIPT}"


def _tracked(client: Client, write_key: str) -> None:
    """What anyone holding the public write key may send."""
    calls: list[dict[str, Any]] = [
        {"type": "group", "userId": "u-1", "groupId": "g-1",
         "traits": {"name": ACCOUNT, "domain": "xss.example"}},
        {"type": "identify", "userId": "u-1",
         "traits": {"email": "ada@xss.example", "firstName": CONTACT_FIRST, "lastName": IMG,
                    "title": TITLE}},
        {"type": "page", "userId": "u-1", "name": PAGE_TITLE,
         "properties": {"title": PAGE_TITLE, "url": JS_URL, "path": "/pricing"}},
        {"type": "track", "userId": "u-1", "event": EVENT,
         "properties": {"url": JS_URL}},
        {"type": "group", "userId": "u-2", "groupId": "g-2",
         "traits": {"name": FORMULA, "domain": "formula.example"}},
        # Refused (a NUL), kept as a dead letter the source's page lists.
        {"type": "track", "userId": "u-1", "event": f"{SCRIPT}\x00"},
    ]  # fmt: skip
    for n, call in enumerate(calls):
        call = {**call, "messageId": f"xss-{n}", "timestamp": timezone.now().isoformat()}
        assert post(client, "/v1/batch", {"batch": [call]}, write_key).status_code == 200


@pytest.fixture
def payloads(marketer: Any) -> dict[str, Any]:
    issued = source_create(name="Website")
    _tracked(Client(), issued.write_key)
    account = Account.objects.get(domain="xss.example")
    formula = Account.objects.get(domain="formula.example")
    Account.objects.filter(pk__in=[account.pk, formula.pk]).update(owner=marketer)
    segment = ICPSegmentFactory.create(name=SEGMENT)
    ScoringModelFactory.create(segment=segment)
    for member in (account, formula):
        SegmentMembershipFactory.create(segment=segment, account=member)
        AccountEngagementFactory.create(account=member, segment=segment, score=55)
    today = timezone.now().date()
    for days in (14, 7, 0):
        EngagementSnapshotFactory.create(
            account=account, segment=segment, day=today - dt.timedelta(days=days), score=40 + days
        )
    # Running now, so the reports of the quarter to date show them.
    running = {"starts_on": today - dt.timedelta(days=20), "ends_on": today + dt.timedelta(days=20)}
    campaign = CampaignFactory.create(name=CAMPAIGN, **running)
    ProgramFactory.create(campaign=campaign, name=PROGRAM, **running)
    for member in (account, formula):
        CampaignTargetFactory.create(campaign=campaign, account=member)
    return {"account": account, "campaign": campaign, "source": issued.source}


def _pages(p: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each page, with the payloads it must show as text."""
    account, campaign = p["account"], p["campaign"]
    return [
        ("/accounts/", [ACCOUNT]),
        ("/my-accounts/", [ACCOUNT]),
        (f"/accounts/{account.pk}/", [ACCOUNT, TITLE, SEGMENT, PAGE_TITLE, EVENT]),
        ("/search/?q=xss", [ACCOUNT]),
        ("/segments/", [SEGMENT]),
        ("/scoring/", [SEGMENT]),
        ("/campaigns/", [CAMPAIGN]),
        (f"/campaigns/{campaign.pk}/", [CAMPAIGN]),
        (f"/campaigns/{campaign.pk}/targets/", [ACCOUNT]),
        (f"/campaigns/{campaign.pk}/programs/", [PROGRAM]),
        (f"/campaigns/{campaign.pk}/report/", [CAMPAIGN, PROGRAM]),
        ("/reports/campaigns/", [CAMPAIGN]),
        (f"/sources/{p['source'].pk}/", []),
    ]


INJECTED = """() => ({
  images: document.querySelectorAll('img[src="x"], img[onerror]').length,
  scripts: [...document.scripts].filter(s => s.textContent.includes('alert(1)')).length,
  handlers: document.querySelectorAll('[onerror], [onload]:not(body)').length,
  jsLinks: [...document.querySelectorAll('a[href], [hx-get], form[action]')]
    .filter(e => /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('hx-get')
      || e.getAttribute('action') || '')).length,
  text: document.body.innerText,
})"""


def test_payloads_sent_with_the_tracking_key_are_shown_as_text_on_every_page(
    payloads: dict[str, Any], live_server: Any, page: Any
) -> None:
    dialogs: list[str] = []

    def dialog_seen(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dialog_seen)
    # The watch works: a script that does run is seen.
    page.set_content(SCRIPT)
    assert dialogs == ["1"]
    dialogs.clear()
    base = live_server.url
    log_in(page, base, "marketer", PASSWORD)
    for path, shown in _pages(payloads):
        response = page.goto(base + path)
        page.wait_for_load_state("networkidle")
        found = page.evaluate(INJECTED)
        bad_input.tally("xss-browser", status=response.status if response else 0)
        assert response is not None and response.status == 200, path
        assert not dialogs, (path, dialogs)
        assert (found["images"], found["scripts"], found["handlers"], found["jsLinks"]) == (
            0, 0, 0, 0), (path, found)  # fmt: skip
        for text in shown:
            assert text in found["text"], (path, text)
    # The account page's score chart (SVG) names the segment, escaped.
    page.goto(f"{base}/accounts/{payloads['account'].pk}/")
    chart = page.locator("svg").first.inner_html()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chart and SCRIPT not in chart

    # The board pack (WeasyPrint runs no script): the names are printed as text.
    pack = page.request.get(base + "/reports/board-pack.pdf")
    bad_input.tally("xss-pdf", status=pack.status)
    assert pack.status == 200, pack.text()[:500]
    reader = pypdf.PdfReader(io.BytesIO(pack.body()))
    printed = re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in reader.pages))
    assert CAMPAIGN in printed, printed[:2000]

    # The CSV downloads: a name a spreadsheet would run is written as text.
    csvs = ("/accounts/export.csv", "/my-accounts/export.csv",
            f"/campaigns/{payloads['campaign'].pk}/audience.csv")  # fmt: skip
    for path in csvs:
        download = page.request.get(base + path)
        bad_input.tally("xss-csv", status=download.status)
        assert download.status == 200, path
        cells = [cell for row in csv.reader(io.StringIO(download.text())) for cell in row]
        assert f"'{FORMULA}" in cells and FORMULA not in cells, (path, cells)
        assert ACCOUNT in cells, path
