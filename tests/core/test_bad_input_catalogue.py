"""The bad input catalogue (issue 18, proof 4): the tracking endpoints, the REST
API and the pages' forms, fed what the open internet and a careless client send.

Each case is a row of a table: its id, the surface, the input and the expected
answer. Refused input is a clear 4xx naming what was wrong (the field, the
value, the limit) and changes no table (row counts of every product table,
before and after), except the dead letter a refused tracking call is kept in
by design; accepted input is stored safely. Never a 5xx. The CSV imports have
their own table (tests/imports/test_bad_input_csv_catalogue.py), the XSS
payloads theirs in the browser (tests/web/test_browser_xss_catalogue.py); the
figures of all three are printed at the end of the run (tests/bad_input.py).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from engagement.models import Activity, RejectedCall, Source
from engagement.services.sources import source_create
from tests import bad_input
from tests.factories import CampaignFactory, ProgramFactory, UserFactory
from tests.tracking_client import basic_auth

pytestmark = pytest.mark.django_db

DEAD_LETTER = frozenset({"engagement.RejectedCall"})
# What a stored call may add: the activity, the people and companies it names.
STORED = frozenset({
    "engagement.Activity", "engagement.AnonymousIdentity", "accounts.Contact", "accounts.Account",
    "engagement.RejectedCall",
})  # fmt: skip


@dataclass(frozen=True)
class Case:
    id: str
    path: str
    body: bytes
    status: int
    says: str  # what the answer names: the field, the value or the limit
    headers: dict[str, str] = field(default_factory=dict)
    may_change: frozenset[str] = frozenset()  # the tables a refusal may still write to
    method: str = "post"


def call(**fields: Any) -> dict[str, Any]:
    """A track call that is valid but for the fields given."""
    base = {"type": "track", "messageId": "m-1", "userId": "u-1", "event": "Demo Requested",
            "timestamp": "2026-11-20T10:00:00Z"}  # fmt: skip
    return {**base, **fields}


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


LIMIT = settings.TRACKING_MAX_REQUEST_BYTES
CALL_LIMIT = settings.TRACKING_MAX_CALL_BYTES
MAX_CALLS = settings.TRACKING_MAX_BATCH_CALLS
DEEP = b"[" * 100_000 + b"]" * 100_000
GZIP = {"Content-Encoding": "gzip"}

# --- The tracking endpoints (/v1/...), with a valid write key ----------------------

TRACKING = [
    Case("T01 oversized body", "/v1/batch",
         b'{"batch":[],"pad":"' + b"x" * LIMIT + b'"}', 413, f"over the limit of {LIMIT} bytes"),
    Case("T02 oversized single call", "/v1/track", raw(call(properties={"pad": "x" * CALL_LIMIT})),
         400, f"the limit is {CALL_LIMIT} bytes per call", may_change=DEAD_LETTER),
    Case("T03 too many calls", "/v1/batch", raw({"batch": [{}] * (MAX_CALLS + 1)}), 413,
         f"at most {MAX_CALLS:,} calls and this one has {MAX_CALLS + 1:,}"),
    Case("T04 100k nested arrays", "/v1/batch", DEEP, 400, "not valid JSON"),
    Case("T05 deeply nested properties", "/v1/track",
         raw(call())[:-1] + b',"properties":{"a":' + DEEP + b"}}", 400, "not valid JSON"),
    Case("T06 invalid UTF-8", "/v1/track", raw(call()).replace(b"Demo", b"D\xff\xfemo"), 400,
         "not valid JSON"),
    Case("T07 gzip bomb", "/v1/batch", gzip.compress(b" " * (20 * LIMIT)), 413,
         f"over the limit of {LIMIT} bytes", headers=GZIP),
    Case("T08 bad gzip", "/v1/batch", b"this is not gzip", 400, "not valid gzip", headers=GZIP),
    Case("T09 unsupported Content-Encoding", "/v1/batch", b"{}", 415,
         "Content-Encoding 'br' is not supported", headers={"Content-Encoding": "br"}),
    Case("T10 messageId a list", "/v1/track", raw(call(messageId=[1])), 400,
         "messageId must be a string, got list", may_change=DEAD_LETTER),
    Case("T11 timestamp garbage", "/v1/track", raw(call(timestamp="yesterday-ish")), 400,
         "timestamp 'yesterday-ish' is not an ISO 8601 date-time",
         may_change=DEAD_LETTER),
    Case("T12 properties a list", "/v1/track", raw(call(properties=[1, 2])), 400,
         "properties must be an object, got list", may_change=DEAD_LETTER),
    Case("T13 batch not a list", "/v1/batch", raw({"batch": {"type": "track"}}), 400,
         "batch must be a JSON array of calls"),
    Case("T14 NUL in a string", "/v1/track", raw(call(event="Demo\x00")), 400,
         "event contains a NUL character", may_change=DEAD_LETTER),
    Case("T15 NUL in a key", "/v1/track", raw(call(properties={"k\x00": 1})), 400,
         r"properties.k\\u0000 contains a NUL character", may_change=DEAD_LETTER),
    Case("T16 number beyond a double", "/v1/track",
         raw(call())[:-1] + b',"properties":{"n":1e400}}', 400,
         "properties.n is a number too large to store", may_change=DEAD_LETTER),
    Case("T17 integer of 400 digits", "/v1/track",
         raw(call())[:-1] + b',"properties":{"n":' + b"9" * 400 + b"}}", 400,
         "properties.n is a number too large to store", may_change=DEAD_LETTER),
    Case("T18 NaN", "/v1/track", raw(call())[:-1] + b',"properties":{"n":NaN}}', 400,
         "not valid JSON"),
    Case("T19 before 1970", "/v1/track", raw(call(timestamp="1969-12-31T23:59:59Z")), 400,
         "before 1970-01-01, the earliest time accepted", may_change=DEAD_LETTER),
    Case("T20 year 10000", "/v1/track", raw(call(timestamp="10000-01-01T00:00:00Z")), 400,
         "timestamp '10000-01-01T00:00:00Z' is not an ISO 8601 date-time",
         may_change=DEAD_LETTER),
    Case("T21 empty body", "/v1/track", b"", 400, "not valid JSON"),
    Case("T22 body not an object", "/v1/batch", b"[]", 400, "body must be a JSON object"),
    Case("T23 body a string", "/v1/track", b'"track"', 400, "body must be a JSON object"),
    Case("T24 unknown call type", "/v1/batch", raw({"batch": [call(type="purchase")]}), 200,
         "type must be one of", may_change=DEAD_LETTER),
    Case("T25 userId too long", "/v1/track", raw(call(userId="u" * 101)), 400,
         "userId", may_change=DEAD_LETTER),
    Case("T26 call not an object", "/v1/batch", raw({"batch": ["track"]}), 200,
         "each call must be a JSON object, got str", may_change=DEAD_LETTER),
]  # fmt: skip

# Stored, safely: what the answer says, then what is stored.
TRACKING_STORED = [
    # JSON's duplicate keys: the last one wins, as in every JSON reader a client uses.
    Case("S01 duplicate JSON keys", "/v1/track",
         raw(call())[:-1] + b', "event": "Pricing Viewed", "event": "Trial Started"}', 200,
         '"success":true'),
    # A clock set years ahead: stored at the time it was received, and said so.
    Case("S02 far-future timestamp", "/v1/track", raw(call(timestamp="9999-12-31T23:59:59Z")),
         200, '"adjusted"'),
    Case("S03 one bad call in a batch", "/v1/batch",
         raw({"batch": [call(), call(messageId="m-2", timestamp="garbage")]}), 200,
         '"refused":[{"index":1,"messageId":"m-2"'),
    # An id sent as a number (some clients do): kept as its digits.
    Case("S04 messageId a number", "/v1/track", raw(call(messageId=12345)), 200,
         '"success":true'),
]  # fmt: skip


@pytest.fixture
def write_key() -> str:
    issued = source_create(name="Catalogue")
    Source.objects.filter(pk=issued.source.pk).update(rate_limit_per_second=None)
    return issued.write_key


def answered(client: Client, case: Case, extra_headers: dict[str, str]) -> Any:
    send = getattr(client, case.method)
    return send(case.path, case.body, content_type="application/json",
                headers={**extra_headers, **case.headers})  # fmt: skip


def check_refused(client: Client, case: Case, surface: str, headers: dict[str, str]) -> Any:
    """Send a case that must be refused: its status, its words, no table changed
    but the ones it may change; tallied."""
    before = bad_input.row_counts()
    response = answered(client, case, headers)
    changed = bad_input.changed_tables(before, bad_input.row_counts()) - case.may_change
    bad_input.tally(surface, status=response.status_code, half_written=bool(changed))
    text = response.content.decode(errors="replace")
    assert response.status_code == case.status, text[:500]
    assert case.says in text, text[:500]
    assert not changed, f"{case.id} changed {changed}"
    return response


@pytest.mark.parametrize("case", TRACKING, ids=lambda c: c.id)
def test_tracking_refuses_bad_input_with_a_4xx_naming_it(
    client: Client, write_key: str, case: Case
) -> None:
    check_refused(client, case, "tracking", basic_auth(write_key))


@pytest.mark.parametrize("case", TRACKING_STORED, ids=lambda c: c.id)
def test_tracking_stores_odd_but_valid_input_safely(
    client: Client, write_key: str, case: Case
) -> None:
    response = answered(client, case, basic_auth(write_key))
    bad_input.tally("tracking", status=response.status_code)
    assert response.status_code == case.status
    assert case.says in response.content.decode()
    stored = Activity.objects.get(message_id="12345" if case.id.startswith("S04") else "m-1")
    if case.id.startswith("S01"):
        assert stored.event_name == "Trial Started"
    if case.id.startswith("S02"):
        assert stored.occurred_at.year != 9999  # at receipt
    if case.id.startswith("S03"):
        assert RejectedCall.objects.get().message_id == "m-2"


# --- The REST API (/api/...), signed in as a marketer ------------------------------

API_LIMIT = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
HUGE = "9" * 30


def api(id: str, path: str, body: Any, status: int, says: str, method: str = "post") -> Case:
    data = body if isinstance(body, bytes) else raw(body)
    return Case(id, path, data, status, says, method=method)


CAMPAIGN = {"name": "Launch", "starts_on": "2026-01-01", "ends_on": "2026-03-31"}

REST = [
    api("A01 wrong type: name a list", "/api/campaigns/", {**CAMPAIGN, "name": ["x"]}, 400,
        '"name":["Not a valid string."]'),
    api("A02 wrong type: amount an object", "/api/spend/",
        {"program": 1, "spent_on": "2026-01-05", "amount": {"a": 1}}, 400, '"amount"'),
    api("A03 missing required fields", "/api/campaigns/", {}, 400,
        '"starts_on":["This field is required."]'),
    api("A04 opportunity without status", "/api/opportunities/",
        {"external_id": "D-1", "name": "Deal", "opened_on": "2026-01-05"}, 400,
        '"status":["This field is required."]'),
    api("A05 unknown ordering", "/api/accounts/?ordering=shoe_size", b"", 400, '"ordering"',
        method="get"),
    api("A06 ordering by score without a segment", "/api/accounts/?ordering=-score", b"", 400,
        "ordering by score needs ?segment=<id>", method="get"),
    api("A07 bad filter choice", "/api/accounts/?stage=sleepy", b"", 400, '"stage"',
        method="get"),
    api("A08 segment not an id", "/api/accounts/?segment=abc", b"", 400,
        "'abc' is not a segment id", method="get"),
    api("A09 segment id beyond bigint", f"/api/accounts/?segment={HUGE}", b"", 400,
        f"'{HUGE}' is not a segment id", method="get"),
    api("A10 segment a superscript digit", "/api/accounts/?segment=%C2%B2", b"", 400,
        "is not a segment id", method="get"),
    api("A11 campaign filter beyond bigint", f"/api/spend/?campaign={HUGE}", b"", 400,
        '"campaign"', method="get"),
    api("A12 bad date", "/api/campaigns/", {**CAMPAIGN, "starts_on": "2026-02-30"}, 400,
        '"starts_on":["Date has wrong format.'),
    api("A13 year 10000", "/api/campaigns/", {**CAMPAIGN, "ends_on": "10000-01-01"}, 400,
        '"ends_on"'),
    api("A14 report period in year 1", "/api/reports/programs/?start=0001-01-01&end=0001-01-31",
        b"", 400, '"start":["must be between 1900-01-01 and 2999-12-31"]', method="get"),
    api("A15 report period in year 9999", "/api/reports/deals/?start=9999-12-01&end=9999-12-31",
        b"", 400, '"start":["must be between 1900-01-01 and 2999-12-31"]', method="get"),
    api("A16 report period reversed", "/api/reports/funnel/?start=2026-02-01&end=2026-01-01",
        b"", 400, '"end":["must not be before start"]', method="get"),
    api("A17 huge int: program id", "/api/spend/",
        {"program": int(HUGE), "spent_on": "2026-01-05", "amount": "5"}, 400, '"program"'),
    api("A18 huge amount", "/api/spend/", {"program": 1, "spent_on": "2026-01-05",
        "amount": "1e100"}, 400, '"amount"'),
    api("A19 huge holdout seed", "/api/campaigns/", {**CAMPAIGN, "holdout_seed": int(HUGE)},
        400, '"holdout_seed"'),
    api("A20 invalid JSON", "/api/campaigns/", b'{"name": ', 400, "JSON parse error"),
    api("A21 100k nested arrays", "/api/campaigns/", DEEP, 400, "nested too deeply"),
    api("A22 100k nested objects", "/api/segments/",
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400, "nested too deeply"),
    api("A23 invalid UTF-8", "/api/campaigns/", b'{"name": "\xff\xfe"}', 400,
        "JSON parse error"),
    api("A24 oversized body", "/api/campaigns/",
        raw({**CAMPAIGN, "description": "x" * API_LIMIT}), 413,
        f"over the limit of {API_LIMIT:,} bytes"),
    api("A25 body a list", "/api/campaigns/", [CAMPAIGN], 400, "Invalid data"),
    api("A26 NUL in a name", "/api/campaigns/", {**CAMPAIGN, "name": "La\x00unch"}, 400,
        '"name":["Null characters are not allowed."]'),
    api("A27 ends before it starts", "/api/campaigns/", {**CAMPAIGN, "ends_on": "2025-01-01"},
        400, "campaign_ends_after_start"),
    api("A28 id in the path beyond bigint", f"/api/campaigns/{HUGE}/", b"", 404,
        "No Campaign matches", method="get"),
    api("A29 id in the path not a number", "/api/programs/1e5/", b"", 404, "Not found",
        method="get"),
    api("A31 a campaign in year 1", "/api/campaigns/",
        {**CAMPAIGN, "starts_on": "0001-01-01", "ends_on": "0001-12-31"}, 400,
        '"starts_on":["Out of range (dates from 1900-01-01 to 2999-12-31)"]'),
    api("A32 a program in year 9999", "/api/programs/",
        {"campaign": 1, "name": "P", "channel": "webinar", "starts_on": "9999-01-01",
         "ends_on": "9999-12-31", "tracking_key": "p-9999"}, 400, '"starts_on":["Out of range'),
    api("A33 spend in year 1", "/api/spend/",
        {"program": 1, "spent_on": "0001-01-05", "amount": "5"}, 400, '"spent_on":["Out of range'),
    api("A34 a deal closed in year 9999", "/api/opportunities/",
        {"external_id": "D-1", "name": "Deal", "status": "won", "opened_on": "2026-01-05",
         "close_on": "9999-12-31"}, 400, '"close_on":["Out of range'),
    # Duplicate keys: the last one is read (as by every JSON reader), here a bad date.
    api("A35 duplicate JSON keys", "/api/campaigns/",
        b'{"name": "X", "starts_on": "2026-01-01", "starts_on": "2026-02-30",'
        b' "ends_on": "2026-03-31"}', 400, '"starts_on":["Date has wrong format.'),
    api("A36 a plan for year 9999", "/api/pipeline-plans/",
        {"name": "Far", "period_start": "9999-01-01", "period_end": "9999-12-31",
         "revenue_target": "100000", "currency": "USD", "win_rate": "0.2",
         "average_deal_size": "10000", "cycle_time_days": 60}, 400,
        '"period_start":["Out of range'),
    api("A30 criteria of a wrong type", "/api/segments/", {"name": "S", "criteria": "all"},
        400, "criteria: must be a JSON object of criteria, got str"),
]  # fmt: skip


@pytest.fixture
def marketer_client(client: Client) -> Client:
    # Fixed ids the cases name (no case creates a row: every one is refused).
    ProgramFactory.create(pk=1, campaign=CampaignFactory.create(pk=1))
    client.force_login(UserFactory.create(username="maya", groups=["Marketer"]))
    return client


@pytest.mark.parametrize("case", REST, ids=lambda c: c.id)
def test_the_api_refuses_bad_input_with_a_4xx_naming_it(
    marketer_client: Client, case: Case
) -> None:
    check_refused(marketer_client, case, "rest-api", {})


# --- The pages' forms: periods and ids in the URL ----------------------------------

PERIOD_ERROR = "The date must be between 1900-01-01 and 2999-12-31."

PAGES = [
    Case("P01 overview period in year 1", "/reports/?start=0001-01-01&end=0001-01-31", b"",
         200, PERIOD_ERROR, method="get"),
    Case("P02 funnel period in year 9999", "/reports/funnel/?start=9999-12-01&end=9999-12-31",
         b"", 400, PERIOD_ERROR, method="get"),
    Case("P03 campaign report from year 1", "/campaigns/1/report/?start=0001-01-01", b"", 400,
         PERIOD_ERROR, method="get"),
    Case("P04 campaign report CSV from year 1", "/campaigns/1/report.csv?start=0001-01-01", b"",
         400, "start", method="get"),
    Case("P05 campaigns report, not a date", "/reports/campaigns/?start=2026-02-30&end=x", b"",
         200, "Enter a valid date.", method="get"),
    Case("P06 ranking run in year 1", "/ranking/run/", b"start=0001-01-01&end=0001-06-30"
         b"&metric=pipeline_per_spend", 400, PERIOD_ERROR),
    Case("P11 a campaign from year 1", "/campaigns/new/",
         b"name=Old&objective=pipeline&starts_on=0001-01-01&ends_on=0001-12-31"
         b"&holdout_percent=10&currency=USD", 200,
         "Out of range (dates from 1900-01-01 to 2999-12-31)"),
    # A `next` that is no path of the site: back to the default page, not a 500.
    Case("P13 mark a target, next not a path", "/accounts/1/target/", b"is_target=1&next=1",
         302, ""),
    Case("P14 a junk decision, next not a path", "/junk/contacts/1/decision/",
         b"is_junk=1&reason=bot&next=abc", 302, ""),
    Case("P15 a plan for year 1", "/reports/plans/new/",
         b"name=Old&period_start=0001-01-01&period_end=0001-12-31&revenue_target=100000"
         b"&currency=USD&win_rate=20&average_deal_size=10000&cycle_time_days=60"
         b"&lookback_days=365", 400, "Out of range (dates from 1900-01-01 to 2999-12-31)"),
    Case("P07 job id a superscript digit", "/junk/rules/?job=%C2%B2", b"", 200, "Junk rules",
         method="get"),
    Case("P08 job id beyond bigint", f"/segments/?job={HUGE}", b"", 200, "Segments",
         method="get"),
    Case("P09 timeline since a bad date", "/accounts/1/?since=2026-13-01", b"", 200,
         "Enter a valid date.", method="get"),
    Case("P12 timeline until the calendar's last day", "/accounts/1/?until=9999-12-31", b"",
         200, "Out of range (dates from 1900-01-01 to 2999-12-31).", method="get"),
    Case("P10 account list score not a number", "/accounts/?score_min=lots", b"", 200,
         "Enter a whole number.", method="get"),
]  # fmt: skip


@pytest.fixture
def marketer_pages(client: Client) -> Client:
    from tests.factories import AccountFactory, ContactFactory

    CampaignFactory.create(pk=1)
    ContactFactory.create(pk=1, account=AccountFactory.create(pk=1))
    client.force_login(UserFactory.create(username="maya", groups=["Marketer"]))
    return client


@pytest.mark.parametrize("case", PAGES, ids=lambda c: c.id)
def test_the_pages_answer_bad_form_input_beside_the_field(
    marketer_pages: Client, case: Case
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if case.method == "get":
        before = bad_input.row_counts()
        response = marketer_pages.get(case.path)
        changed = bad_input.changed_tables(before, bad_input.row_counts())
        bad_input.tally("pages", status=response.status_code, half_written=bool(changed))
        text = response.content.decode()
        assert response.status_code == case.status
        assert case.says in text
        assert not changed
        return
    before = bad_input.row_counts()
    response = marketer_pages.post(
        case.path, case.body, content_type="application/x-www-form-urlencoded"
    )
    del headers
    changed = bad_input.changed_tables(before, bad_input.row_counts())
    bad_input.tally("pages", status=response.status_code, half_written=bool(changed))
    assert response.status_code == case.status
    assert case.says in response.content.decode()
    if case.status == 302:  # saved, and back to the page it belongs to
        assert response["Location"].startswith("/") and not changed
        return
    assert not changed


# --- The SVG charts: every text they draw, escaped ----------------------------------

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def _charts() -> dict[str, str]:
    import datetime as dt

    from web import charts

    day = dt.date(2026, 1, 1)
    return {
        "date line": charts.date_line_chart(
            chart_id=XSS, title=XSS, series=[charts.DateSeries(XSS, [(day, 1.0)])],
            thresholds=[charts.Threshold(XSS, 0.5)],
        ),
        "bar": charts.bar_chart(chart_id=XSS, title=XSS, series_names=[XSS],
                                groups=[charts.BarGroup(XSS, [1.0])]),
        "interval": charts.interval_chart(chart_id=XSS, title=XSS,
                                          rows=[charts.Interval(XSS, 0.1, 0.0, 0.2)]),
        "scatter": charts.scatter_chart(chart_id=XSS, title=XSS, x_name=XSS, y_name=XSS,
                                        points=[charts.ScatterPoint(XSS, 1.0, 2.0)]),
    }  # fmt: skip


@pytest.mark.parametrize("name", ["date line", "bar", "interval", "scatter"])
def test_the_charts_draw_names_as_text(name: str) -> None:
    import xml.etree.ElementTree as ET

    svg = _charts()[name]
    bad_input.tally("charts", status=200)
    tags = {element.tag.rsplit("}", 1)[-1] for element in ET.fromstring(svg).iter()}  # noqa: S314
    assert not tags & {"script", "img"}, tags
    assert "<script>" not in svg and "&lt;script&gt;" in svg
