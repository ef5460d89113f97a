"""Tracking sources as the demo marketer sees them in Chromium: create a source,
copy its key (shown once: a reload hides it), send calls with it as a site
would, and read the call the API refused."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.web.browser import check_page, log_in

pytestmark = [
    pytest.mark.browser,
    # The live server reads what the test writes, so each test commits its rows.
    pytest.mark.django_db(transaction=True),
]


def send(base: str, write_key: str, call: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST one call to /v1/track as the tracking libraries do."""
    token = base64.b64encode(f"{write_key}:".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the live server, over http
        f"{base}/v1/track",
        data=json.dumps(call).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_marketer_creates_a_source_sees_its_key_once_and_reads_a_refused_call(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "marketer", "demo-marketer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sources").click()
    page.wait_for_url(f"{base}/sources/")
    demo_row = page.locator("table.sources-table tbody tr", has_text="Demo data")
    assert demo_row.locator("td[data-label=Status]").inner_text() == "active"
    check_page(page, "sources-list-demo")

    page.get_by_role("link", name="New source").click()
    page.wait_for_url(f"{base}/sources/new/")
    check_page(page, "source-new")
    page.get_by_label("Name").fill("Website")
    page.get_by_role("button", name="Create source").click()
    page.wait_for_url(f"{base}/sources/*/")
    detail_url = page.url
    assert page.get_by_role("heading", name="Write key, shown once").is_visible()
    key = page.get_by_label("Write key", exact=True).input_value()
    assert len(key) >= 30
    page.locator("#snippet-curl summary").click()
    curl = page.locator("#snippet-curl pre").inner_text()
    assert f"-u '{key}:'" in curl and f"'{base}/v1/track'" in curl
    check_page(page, "source-key-once")

    # The site sends one good call and one without an event name.
    assert send(base, key, {"userId": "visitor-1", "event": "Pricing Viewed"}) == (
        200,
        {"success": True},
    )
    status, body = send(base, key, {"userId": "visitor-1", "messageId": "no-event-1"})
    assert (status, body["code"]) == (400, "invalid_call")

    # A reload: the key is gone, only its first characters stay.
    page.reload()
    assert page.get_by_label("Write key", exact=True).count() == 0
    assert key not in page.content()
    assert page.locator(".facts").get_by_text(f"{key[:8]}…").is_visible()

    # The list counts them; the refused count opens the source's refused calls.
    page.goto(f"{base}/sources/")
    row = page.locator("table.sources-table tbody tr", has_text="Website")
    assert row.locator("td[data-label='Events today']").inner_text() == "1"
    assert row.locator("td[data-label='Refused this week']").inner_text() == "1"
    row.locator("td[data-label='Refused this week'] a").click()
    page.wait_for_url(f"{detail_url}?received_from=*")
    refused = page.locator("#refused table tbody tr")
    assert refused.count() == 1
    assert refused.locator("td.reason").inner_text() == "a track call needs an event name"
    raw = refused.locator("pre")
    assert not raw.is_visible()
    refused.get_by_text("View call").click()
    assert raw.is_visible()
    shown = json.loads(raw.inner_text())
    assert shown["messageId"] == "no-event-1" and shown["userId"] == "visitor-1"
    check_page(page, "source-refused-calls")

    # Filter by a reason that no refused call has: the table says so.
    page.get_by_label("Reason contains").fill("timestamp")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**reason=timestamp**")
    assert page.get_by_text("No refused call matches these filters").is_visible()


def test_a_marketer_rotates_and_revokes_the_demo_source(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "marketer", "demo-marketer")
    page.goto(f"{base}/sources/")
    page.get_by_role("link", name="Demo data").click()
    page.get_by_role("link", name="New write key").click()
    check_page(page, "source-rotate-confirm")
    page.get_by_role("button", name="Make a new key").click()
    new_key = page.get_by_label("Write key", exact=True).input_value()
    assert send(base, new_key, {"userId": "visitor-2", "event": "Webinar"})[0] == 200
    page.get_by_role("link", name="Revoke").click()
    check_page(page, "source-revoke-confirm")
    page.get_by_role("button", name="Revoke the source").click()
    assert page.get_by_role("heading", level=1).inner_text().endswith("revoked")
    assert send(base, new_key, {"userId": "visitor-2", "event": "Webinar"})[0] == 401
    check_page(page, "source-revoked")


@pytest.fixture
def website_key() -> str:
    from engagement.services.sources import source_create

    return source_create(name="Website").write_key


# A page on another origin (the live server by its address, 127.0.0.1, calling
# it by its name, localhost) sending as the
# snippets' browser libraries do: analytics.js 2.0 posts a text/plain body with
# the key inside to a one-letter path; RudderStack's SDK sends JSON with HTTP
# Basic, which Chromium preflights.
CROSS_ORIGIN_SENDS = """async ([base, key]) => {
  const asAnalyticsJs = await fetch(base + "/v1/t", {
    method: "POST", headers: {"Content-Type": "text/plain"},
    body: JSON.stringify({type: "track", event: "Pricing Viewed", userId: "u-1",
                          messageId: "ajs-1", writeKey: key}),
  });
  const asRudderStack = await fetch(base + "/v1/track", {
    method: "POST",
    headers: {"Content-Type": "application/json;charset=UTF-8",
              "Authorization": "Basic " + btoa(key + ":")},
    body: JSON.stringify({type: "track", event: "Demo Requested", userId: "u-1",
                          messageId: "rs-1"}),
  });
  return [asAnalyticsJs.status, await asAnalyticsJs.json(),
          asRudderStack.status, await asRudderStack.json()];
}"""


def test_browser_libraries_on_another_site_may_send_calls(
    website_key: str, settings: Any, live_server: Any, page: Any
) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1", "localhost"]
    assert live_server.url.startswith("http://localhost:")
    other_site = live_server.url.replace("localhost", "127.0.0.1")
    page.goto(f"{other_site}/login/")
    answers = page.evaluate(CROSS_ORIGIN_SENDS, [live_server.url, website_key])
    assert answers == [200, {"success": True}, 200, {"success": True}]
