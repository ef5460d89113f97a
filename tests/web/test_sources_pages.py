"""The tracking sources pages as the server renders them: the key shown once,
its snippets run against the tracking API, rotate and revoke as the API sees
them, the counts worked out by hand from planted activity, the refused calls'
filters, permissions and query counts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import shlex
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from engagement.models import RejectedCall, Source
from tests.factories import ActivityFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def basic(write_key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def track(client: Client, write_key: str, body: dict[str, Any] | None = None) -> Any:
    call = body or {"userId": "u-1", "event": "Demo Requested"}
    return client.post(
        "/v1/track", orjson.dumps(call), content_type="application/json", headers=basic(write_key)
    )


def activity_count(source_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM engagement_activity WHERE source_id = %s", [source_id])
        return int(cursor.fetchone()[0])


def create(client: Client, name: str = "Website") -> tuple[Source, str]:
    """Create a source through the page; its key as the page shows it once."""
    response = client.post("/sources/new/", {"name": name})
    assert response.status_code == 302
    source = Source.objects.get(name=name)
    assert response["Location"] == f"/sources/{source.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    key = page.context["write_key"]
    assert key and f'value="{key}"' in page.content.decode()
    return source, key


# --- Permissions ----------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    source = SourceFactory.create()
    for url in (
        "/sources/", "/sources/new/", f"/sources/{source.pk}/",
        f"/sources/{source.pk}/rotate/", f"/sources/{source.pk}/revoke/",
    ):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    assert client.post(f"/sources/{source.pk}/revoke/").status_code == 302
    assert Source.objects.get(pk=source.pk).is_active


@pytest.mark.parametrize("persona", ["rep", "executive"])
def test_sales_and_executives_get_the_403_page_everywhere(
    client: Client, persona: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(persona))
    source = SourceFactory.create()
    for url in (
        "/sources/", "/sources/new/", f"/sources/{source.pk}/",
        f"/sources/{source.pk}/rotate/", f"/sources/{source.pk}/revoke/",
    ):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 403, url
        assert "You may not do this" in response.content.decode()
    for url in ("/sources/new/", f"/sources/{source.pk}/rotate/", f"/sources/{source.pk}/revoke/"):
        assert client.post(url, {"name": "Sneaky"}).status_code == 403
    assert Source.objects.count() == 1 and Source.objects.get(pk=source.pk).is_active
    # The shell does not offer the room either.
    assert 'href="/sources/"' not in client.get("/accounts/").content.decode()


def test_a_marketer_reaches_every_page_and_the_shell_links_the_room(
    client: Client, marketer: Any
) -> None:
    client.force_login(marketer)
    source = SourceFactory.create()
    for url in (
        "/sources/", "/sources/new/", f"/sources/{source.pk}/",
        f"/sources/{source.pk}/rotate/", f"/sources/{source.pk}/revoke/",
    ):  # fmt: skip
        assert client.get(url).status_code == 200, url
    assert 'href="/sources/"' in client.get("/accounts/").content.decode()
    assert client.get("/sources/999999/").status_code == 404
    assert client.get("/sources/999999/rotate/").status_code == 404


def test_a_user_without_a_role_gets_the_403_page(client: Client) -> None:
    client.force_login(UserFactory.create())
    assert client.get("/sources/").status_code == 403


# --- The key, shown once, and the snippets -----------------------------------------


def test_a_new_sources_key_is_shown_once_and_is_the_stored_one(
    client: Client, marketer: Any
) -> None:
    client.force_login(marketer)
    source, key = create(client)
    # Stored only as its SHA-256 and its first 8 characters.
    assert source.write_key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert source.write_key_prefix == key[:8] and source.created_by_id == marketer.pk
    again = client.get(f"/sources/{source.pk}/")
    html = again.content.decode()
    assert again.context["write_key"] is None
    assert key not in html and "Write key, shown once" not in html
    assert f"{key[:8]}…" in html and "YOUR_WRITE_KEY" in html
    assert "no-store" in again["Cache-Control"]


def test_the_curl_snippet_sends_a_call_that_is_stored(client: Client, marketer: Any) -> None:
    client.force_login(marketer)
    response = client.post("/sources/new/", {"name": "Website"}, follow=True)
    source = Source.objects.get(name="Website")
    curl = next(s for s in response.context["snippets"] if s.slug == "curl")
    assert curl.code in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    # Run the snippet's request as curl would send it.
    words = shlex.split(curl.code.replace("\\\n", " "))
    assert words[:3] == ["curl", "-X", "POST"]
    url = words[3]
    user = words[words.index("-u") + 1]
    body = words[words.index("-d") + 1]
    header = words[words.index("-H") + 1]
    assert url == "http://testserver/v1/track" and header == "Content-Type: application/json"
    assert user.endswith(":")
    sent = client.post(
        "/v1/track",
        body,
        content_type="application/json",
        headers={"Authorization": "Basic " + base64.b64encode(user.encode()).decode()},
    )
    assert sent.status_code == 200, sent.content
    assert sent.json() == {"success": True}
    assert activity_count(source.pk) == 1


def test_the_snippets_name_this_server_and_the_libraries_options(
    client: Client, marketer: Any, settings: Any
) -> None:
    settings.ALLOWED_HOSTS = ["engage.example"]
    client.force_login(marketer)
    response = client.post(
        "/sources/new/", {"name": "App"}, follow=True, HTTP_HOST="engage.example:8443"
    )
    key = response.context["write_key"]
    code = {s.slug: s.code for s in response.context["snippets"]}
    assert '"Segment.io"' in code["analytics-js"]
    assert 'apiHost: "engage.example:8443/v1"' in code["analytics-js"]
    assert f'writeKey: "{key}"' in code["analytics-js"]
    assert f'rudderanalytics.load("{key}", "http://engage.example:8443"' in code["rudderstack"]
    assert f'analytics.write_key = "{key}"' in code["python"]
    assert 'analytics.host = "http://engage.example:8443"' in code["python"]
    assert "http://engage.example:8443/v1/track" in code["curl"]


def test_a_duplicate_or_blank_name_is_refused_beside_the_field(
    client: Client, marketer: Any
) -> None:
    client.force_login(marketer)
    SourceFactory.create(name="Website")
    response = client.post("/sources/new/", {"name": "Website"})
    assert response.status_code == 400
    assert "already exists" in " ".join(response.context["form"].errors["name"])
    assert 'class="error"' in response.content.decode()
    response = client.post("/sources/new/", {"name": "   "})
    assert response.status_code == 400 and response.context["form"].errors["name"]
    assert response.context.get("write_key") is None
    assert Source.objects.count() == 1


# --- Rotate and revoke, as the tracking API sees them -----------------------------------


def test_rotating_shows_a_new_key_once_and_refuses_the_old_one(
    client: Client, marketer: Any
) -> None:
    client.force_login(marketer)
    source, old_key = create(client)
    assert track(client, old_key).status_code == 200
    confirm = client.get(f"/sources/{source.pk}/rotate/")
    assert "stops working" in confirm.content.decode()
    assert Source.objects.get(pk=source.pk).write_key_prefix == old_key[:8]  # GET changes nothing
    response = client.post(f"/sources/{source.pk}/rotate/")
    assert response.status_code == 302 and response["Location"] == f"/sources/{source.pk}/"
    page = client.get(f"/sources/{source.pk}/")
    new_key = page.context["write_key"]
    assert new_key and new_key != old_key
    assert client.get(f"/sources/{source.pk}/").context["write_key"] is None
    refused = track(client, old_key, {"userId": "u-2", "event": "After", "messageId": "m-old"})
    assert refused.status_code == 401
    assert track(client, new_key, {"userId": "u-2", "event": "After"}).status_code == 200
    assert activity_count(source.pk) == 2


def test_revoking_refuses_the_key_and_keeps_the_activity(client: Client, marketer: Any) -> None:
    client.force_login(marketer)
    source, key = create(client)
    assert track(client, key).status_code == 200
    assert "Revoke “Website”?" in client.get(f"/sources/{source.pk}/revoke/").content.decode()
    assert client.post(f"/sources/{source.pk}/revoke/").status_code == 302
    assert track(client, key, {"userId": "u-3", "event": "Later"}).status_code == 401
    assert activity_count(source.pk) == 1
    revoked = Source.objects.get(pk=source.pk)
    assert not revoked.is_active and revoked.revoked_at is not None
    page = client.get(f"/sources/{source.pk}/").content.decode()
    assert "revoked" in page and "New write key" not in page
    # A revoked source gets no new key.
    client.post(f"/sources/{source.pk}/rotate/")
    assert Source.objects.get(pk=source.pk).write_key_hash == revoked.write_key_hash
    assert client.get(f"/sources/{source.pk}/").context["write_key"] is None
    assert track(client, key).status_code == 401


# --- The counts, by hand ---------------------------------------------------------


# Wednesday 25 November 2026, 15:00 in New York (20:00 UTC). In New York today
# starts at 05:00 UTC on the 25th and the week on Monday the 23rd at 05:00 UTC.
NOW = dt.datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


def _received(source: Source, at: dt.datetime, n: int = 1) -> None:
    for _ in range(n):
        activity = ActivityFactory.create(source=source)
        type(activity).objects.filter(pk=activity.pk).update(received_at=at)


def _refused(source: Source, at: dt.datetime, reason: str = "a track call needs an event name",
             payload: dict[str, Any] | None = None) -> RejectedCall:  # fmt: skip
    call = RejectedCall.objects.create(
        source=source, message_id="m", reason=reason, payload=payload or {"type": "track"}
    )
    RejectedCall.objects.filter(pk=call.pk).update(received_at=at)
    return call


@pytest.fixture
def new_york_wednesday(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.TIME_ZONE = "America/New_York"
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def test_today_and_this_week_are_counted_in_the_sites_time_zone(
    client: Client, marketer: Any, new_york_wednesday: None
) -> None:
    site = SourceFactory.create(name="Website")
    other = SourceFactory.create(name="App")
    quiet = SourceFactory.create(name="Quiet")
    _received(site, dt.datetime(2026, 11, 25, 19, 0, tzinfo=UTC))  # Wed 14:00 NY: today
    _received(site, dt.datetime(2026, 11, 25, 5, 30, tzinfo=UTC), 2)  # Wed 00:30 NY: today
    _received(site, dt.datetime(2026, 11, 25, 4, 30, tzinfo=UTC))  # Tue 23:30 NY: week
    _received(site, dt.datetime(2026, 11, 23, 5, 10, tzinfo=UTC))  # Mon 00:10 NY: week
    _received(site, dt.datetime(2026, 11, 23, 4, 50, tzinfo=UTC))  # Sun 23:50 NY: neither
    _received(other, dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC))  # last Friday
    _refused(site, dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC))  # this week
    _refused(site, dt.datetime(2026, 11, 23, 4, 59, tzinfo=UTC))  # Sunday in New York
    _refused(other, dt.datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    client.force_login(marketer)
    response = client.get("/sources/")
    rows = {s.name: s for s in response.context["sources"]}
    assert (rows["Website"].received_today, rows["Website"].received_week) == (3, 5)
    assert rows["Website"].last_received_at == dt.datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
    assert rows["Website"].refused_week == 1
    assert (rows["App"].received_today, rows["App"].received_week, rows["App"].refused_week) == (
        0, 0, 1,
    )  # fmt: skip
    assert rows["App"].last_received_at == dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert rows["Quiet"].last_received_at is None
    html = response.content.decode()
    assert "America/New_York" in html and "Mon 23 Nov" in html
    assert re.search(r'data-label="Last event received"><span class="muted">never', html)
    assert quiet.pk in {s.pk for s in response.context["sources"]}
    detail = client.get(f"/sources/{site.pk}/")
    assert detail.context["source"].received_week == 5
    assert detail.context["page_obj"].paginator.count == 2


def test_revoked_sources_are_listed_after_the_active_ones(client: Client, marketer: Any) -> None:
    SourceFactory.create(name="Alpha", is_active=False, revoked_at=timezone.now())
    SourceFactory.create(name="Zulu")
    client.force_login(marketer)
    response = client.get("/sources/")
    assert [s.name for s in response.context["sources"]] == ["Zulu", "Alpha"]
    assert 'class="badge missing">revoked' in response.content.decode()


# --- Refused calls ---------------------------------------------------------------


def test_refused_calls_filter_by_reason_and_local_day(
    client: Client, marketer: Any, new_york_wednesday: None
) -> None:
    site = SourceFactory.create(name="Website")
    tue = _refused(
        site, dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC), "a track call needs an event name"
    )
    late_mon = _refused(  # Monday 23:30 in New York, Tuesday in UTC
        site,
        dt.datetime(2026, 11, 24, 4, 30, tzinfo=UTC),
        "timestamp 'soon' is not an ISO 8601 date-time",
    )
    wed = _refused(
        site,
        dt.datetime(2026, 11, 25, 14, 0, tzinfo=UTC),
        "a call needs a userId or an anonymousId",
    )
    _refused(SourceFactory.create(name="Other"), dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    client.force_login(marketer)

    def listed(query: str) -> list[int]:
        response = client.get(f"/sources/{site.pk}/{query}")
        assert response.status_code == 200
        return [call.pk for call, _ in response.context["refused"]]

    assert listed("") == [wed.pk, tue.pk, late_mon.pk]
    assert listed("?reason=TIMESTAMP") == [late_mon.pk]
    assert listed("?reason=needs") == [wed.pk, tue.pk]
    assert listed("?received_from=2026-11-24&received_to=2026-11-24") == [tue.pk]
    assert listed("?received_to=2026-11-23") == [late_mon.pk]
    assert listed("?received_from=2026-11-25&reason=needs") == [wed.pk]
    assert listed("?reason=nothing+like+this") == []
    # Bad input is shown beside its field and ignored, never a 500.
    response = client.get(f"/sources/{site.pk}/?received_from=yesterday")
    assert response.status_code == 200 and response.context["form"].errors["received_from"]
    assert len(response.context["refused"]) == 3
    response = client.get(f"/sources/{site.pk}/?received_from=2026-11-25&received_to=2026-11-24")
    assert "Must not be before the start." in response.content.decode()
    assert [c.pk for c, _ in response.context["refused"]] == [wed.pk]
    # The filter suggests the source's reasons, most frequent first.
    assert len(response.context["reasons"]) == 3
    html = client.get(f"/sources/{site.pk}/?reason=nothing").content.decode()
    assert "No refused call matches these filters" in html


def test_a_raw_call_is_shown_pretty_printed_and_escaped(client: Client, marketer: Any) -> None:
    site = SourceFactory.create(name="Website")
    _refused(
        site,
        timezone.now(),
        "a track call needs an event name",
        {"type": "track", "userId": "<script>alert(1)</script>", "properties": {"plan": "pro"}},
    )
    client.force_login(marketer)
    html = client.get(f"/sources/{site.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{\n  &quot;properties&quot;: {\n    &quot;plan&quot;: &quot;pro&quot;\n  }," in html
    assert "<summary>View call</summary>" in html


def test_refused_calls_come_25_a_page(client: Client, marketer: Any) -> None:
    site = SourceFactory.create(name="Website")
    now = timezone.now()
    for minute in range(30):
        _refused(site, now - dt.timedelta(minutes=minute), f"reason {minute}")
    client.force_login(marketer)
    first = client.get(f"/sources/{site.pk}/")
    assert [c.reason for c, _ in first.context["refused"]][:2] == ["reason 0", "reason 1"]
    assert len(first.context["refused"]) == 25
    second = client.get(f"/sources/{site.pk}/?page=2")
    assert [c.reason for c, _ in second.context["refused"]] == [
        f"reason {m}" for m in range(25, 30)
    ]
    assert client.get(f"/sources/{site.pk}/?page=zzz").status_code == 200


def test_a_refused_call_sent_to_the_api_is_listed(client: Client, marketer: Any) -> None:
    client.force_login(marketer)
    source, key = create(client)
    assert track(client, key, {"userId": "u-1", "messageId": "no-event"}).status_code == 400
    response = client.get(f"/sources/{source.pk}/")
    [(call, pretty)] = response.context["refused"]
    assert call.reason == "a track call needs an event name" and call.message_id == "no-event"
    assert '"messageId": "no-event"' in pretty


# --- Query counts ------------------------------------------------------------------


def test_the_list_takes_the_same_queries_for_two_or_eight_sources(
    client: Client, marketer: Any, django_assert_num_queries: Any
) -> None:
    client.force_login(marketer)
    client.get("/sources/")  # the session and permission caches warm up
    for _ in range(2):
        source = SourceFactory.create()
        _received(source, timezone.now(), 2)
        _refused(source, timezone.now())
    # Session, user, the user's and their groups' permissions, the list's one
    # query, and the shell's three (workspace links, alert count, roles).
    with django_assert_num_queries(8):
        assert client.get("/sources/").status_code == 200
    for _ in range(6):
        source = SourceFactory.create()
        _received(source, timezone.now(), 3)
        _refused(source, timezone.now())
    with django_assert_num_queries(8):
        response = client.get("/sources/")
    assert len(response.context["sources"]) == 8


def test_a_source_page_takes_the_same_queries_for_two_or_forty_refused_calls(
    client: Client, marketer: Any, django_assert_num_queries: Any
) -> None:
    source = SourceFactory.create()
    for minute in range(2):
        _refused(source, timezone.now() - dt.timedelta(minutes=minute))
    client.force_login(marketer)
    # Session, user, permissions (2), the source with its counts, the refused
    # calls' count and page, the reasons, and the shell's three.
    with django_assert_num_queries(11):
        assert client.get(f"/sources/{source.pk}/").status_code == 200
    for minute in range(38):
        _refused(source, timezone.now() - dt.timedelta(minutes=minute), f"reason {minute}")
    _received(source, timezone.now(), 5)
    with django_assert_num_queries(11):
        response = client.get(f"/sources/{source.pk}/?page=2")
    assert len(response.context["refused"]) == 15


@pytest.mark.django_db(transaction=True)
def test_the_python_snippet_sends_through_segments_library(live_server: Any) -> None:
    """The snippet as shown, run with segment-analytics-python against a live server."""
    import segment.analytics as analytics

    from engagement.services.sources import source_create
    from web.sources_snippets import snippets

    issued = source_create(name="Backend")
    code = next(
        s.code
        for s in snippets(base_url=live_server.url, write_key=issued.write_key, source_name="x")
        if s.slug == "python"
    )
    saved = (analytics.write_key, analytics.host, analytics.default_client)
    try:
        exec(code, {})  # noqa: S102 - the snippet shown to marketers, ours
        assert analytics.default_client is not None
        analytics.default_client.shutdown()
    finally:
        analytics.write_key, analytics.host, analytics.default_client = saved
        # The library keeps its HTTP connection alive in a module-wide session:
        # close it, or the live server's request thread outlives the test and
        # closes the shared SQLite connection from the wrong thread at exit.
        from segment.analytics import request as segment_request

        segment_request._session.close()
    assert activity_count(issued.source.pk) == 1


def test_a_dead_letter_standing_for_repeated_calls_counts_each_call(
    client: Client, marketer: Any, new_york_wednesday: None
) -> None:
    """One row with repeats=40 is 40 refused calls this week, in the reason
    suggestions, and says so beside its reason."""
    site = SourceFactory.create(name="Website")
    repeated = _refused(site, dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC), "messageId is missing")
    RejectedCall.objects.filter(pk=repeated.pk).update(repeats=40)
    _refused(site, dt.datetime(2026, 11, 24, 13, 0, tzinfo=UTC), "a track call needs an event name")
    client.force_login(marketer)
    listing = client.get("/sources/")
    assert {s.name: s.refused_week for s in listing.context["sources"]} == {"Website": 41}
    detail = client.get(f"/sources/{site.pk}/")
    assert detail.context["reasons"] == [
        ("messageId is missing", 40),
        ("a track call needs an event name", 1),
    ]
    html = detail.content.decode()
    assert html.count("identical</span>") == 1 and "\u00d7 40 identical" in html
