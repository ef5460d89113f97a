"""The scoring pages as the server renders them: who may do what, the form's
errors beside their fields, the preview's figures against the hand-computed
segment of tests/scoring_scenario.py, a save as a new version with its diff,
author and recompute job, and each page's query count."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from core.models import Job
from engagement.models import AccountEngagement, Activity, ScoringModel
from tests.factories import (
    ContactFactory,
    ICPSegmentFactory,
    ScoringModelFactory,
    SegmentMembershipFactory,
    SourceFactory,
    UserFactory,
    segment_member,
)
from tests.scoring_scenario import AFTER, BEFORE, EXAMPLE_ORDER, scored_segment

pytestmark = pytest.mark.django_db


def form_data(client: Client, segment_id: int, **changes: Any) -> dict[str, Any]:
    """The edit form's fields as the page fills them, with `changes`."""
    response = client.get(f"/scoring/{segment_id}/")
    assert response.status_code == 200
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = list(value or []) if name == "required_roles" else value
    return data | changes


@pytest.fixture
def segment() -> Any:
    return scored_segment(at=timezone.now())


# --- Who may do what ---


@pytest.mark.parametrize(
    ("who", "reads", "changes"),
    [
        ("marketer", 200, 200),
        ("rep", 200, 403),
        ("executive", 200, 403),
        ("nobody", 403, 403),  # logged in, in no role
    ],
)
def test_every_role_reads_and_only_marketers_change(
    client: Client, personas: dict[str, Any], segment: Any, who: str, reads: int, changes: int
) -> None:
    client.force_login(personas.get(who) or UserFactory.create(username="nobody"))
    assert client.get("/scoring/").status_code == reads
    assert client.get(f"/scoring/{segment.pk}/history/").status_code == reads
    response = client.get(f"/scoring/{segment.pk}/")
    assert response.status_code == changes
    if changes == 403:
        assert "You may not do this" in response.content.decode()
        for action in ("preview", "save"):
            data = {"action": action, "version": 1, "weight_demo_request": 50}
            response = client.post(f"/scoring/{segment.pk}/", data)
            assert response.status_code == 403
            assert "You may not do this" in response.content.decode()
    assert ScoringModel.objects.filter(segment=segment).count() == 1


def test_anonymous_visitors_log_in_first(client: Client, segment: Any) -> None:
    for url in ("/scoring/", f"/scoring/{segment.pk}/", f"/scoring/{segment.pk}/history/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    assert client.post(f"/scoring/{segment.pk}/", {"action": "save"}).status_code == 302
    assert ScoringModel.objects.filter(segment=segment).count() == 1


def test_a_segment_without_a_model_is_not_found(client: Client, marketer: Any) -> None:
    lonely = ICPSegmentFactory.create(name="Lonely")
    client.force_login(marketer)
    assert client.get(f"/scoring/{lonely.pk}/").status_code == 404
    assert client.get(f"/scoring/{lonely.pk}/history/").status_code == 404
    response = client.get("/scoring/")
    assert "Lonely" in response.content.decode()
    assert "No scoring model yet" in response.content.decode()


# --- The list ---


def test_the_list_shows_each_segments_current_version_and_its_parameters(
    client: Client, rep: Any, marketer: Any
) -> None:
    fintech = ScoringModelFactory.create(
        segment__name="Fintech", half_life_days=45, engaged_min=35, qualified_min=70,
        required_roles=["champion", "decision_maker"],
    ).segment  # fmt: skip
    segment_member(fintech)
    segment_member(fintech)
    client.force_login(rep)
    html = client.get("/scoring/").content.decode()
    assert "Fintech" in html and "2 members" in html
    assert "45 days" in html
    assert "<dd>35</dd>" in html and "<dd>70</dd>" in html
    assert "Champion, Decision maker" in html
    assert "Version <strong>1</strong>" in html and "the defaults" in html
    # Sales read but do not see the edit link; marketers do.
    assert f'href="/scoring/{fintech.pk}/"' not in html
    assert f'href="/scoring/{fintech.pk}/history/"' in html
    client.force_login(marketer)
    assert f'href="/scoring/{fintech.pk}/"' in client.get("/scoring/").content.decode()


# --- The form's errors, beside their fields; nothing saved ---


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"engaged_min": 70, "qualified_min": 60},
            "engaged_min",
            "The engaged band must start below the qualified band (70 is not below 60).",
        ),
        ({"half_life_days": 0}, "half_life_days", "Must be above 0, got 0."),
        ({"half_life_days": "soon"}, "half_life_days", "Enter a number."),
        ({"weight_demo_request": 500}, "weight_demo_request", "Must be at most 100, got 500."),
        ({"multiplier_vp": -1}, "multiplier_vp", "Must be at least 0, got -1."),
        ({"anonymous_factor": 2}, "anonymous_factor", "Must be at most 1, got 2."),
        ({"lookback_days": 0}, "lookback_days", "Must be at least 1, got 0."),
        ({"qualified_min": 101}, "qualified_min", "Must be at most 100, got 101."),
        ({"scale": ""}, "scale", "This field is required."),
        ({"required_roles": ["mascot"]}, "required_roles", "Select a valid choice."),
    ],
)
def test_a_bad_value_is_refused_beside_its_field_and_nothing_is_saved(
    client: Client, marketer: Any, segment: Any, changes: dict[str, Any], field: str,
    message: str,
) -> None:  # fmt: skip
    client.force_login(marketer)
    for action in ("preview", "save"):
        data = form_data(client, segment.pk, action=action, **changes)
        response = client.post(f"/scoring/{segment.pk}/", data)
        assert response.status_code == 200
        errors = response.context["form"].errors[field]
        assert any(error.startswith(message) for error in errors), errors
        html = response.content.decode()
        assert f'id="id_{field}_error_1"' in html or field == "required_roles"
        assert "preview" not in response.context
    assert ScoringModel.objects.filter(segment=segment).count() == 1


def test_nothing_changed_and_a_stale_form_are_refused(
    client: Client, marketer: Any, segment: Any
) -> None:
    client.force_login(marketer)
    unchanged = form_data(client, segment.pk, action="save")
    response = client.post(f"/scoring/{segment.pk}/", unchanged)
    assert response.context["form"].non_field_errors() == [
        "Nothing differs from version 1: change a number first."
    ]
    stale = unchanged | {"version": 0, "weight_demo_request": 50}
    response = client.post(f"/scoring/{segment.pk}/", stale)
    assert "was saved since you opened this form" in response.context["form"].non_field_errors()[0]
    assert ScoringModel.objects.filter(segment=segment).count() == 1


# --- The preview ---


def test_the_preview_shows_the_hand_computed_band_moves(
    client: Client, marketer: Any, segment: Any
) -> None:
    client.force_login(marketer)
    data = form_data(
        client, segment.pk, weight_demo_request=50, weight_meeting_held=5, action="preview"
    )
    response = client.post(f"/scoring/{segment.pk}/", data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    # htmx gets the editor alone (form and preview), not the shell.
    assert response.templates[0].name == "web/scoring/editor.html"
    html = response.content.decode()
    assert '<dd class="up" id="preview-up">1</dd>' in html
    assert '<dd class="down" id="preview-down">1</dd>' in html
    assert '<dd id="preview-changed">4</dd>' in html
    preview = response.context["preview"]
    assert [e.name for e in preview.examples] == EXAMPLE_ORDER
    assert [(e.score_before, e.stage_before) for e in preview.examples] == [
        BEFORE[name] for name in EXAMPLE_ORDER
    ]
    assert [(e.score_after, e.stage_after) for e in preview.examples] == [
        AFTER[name] for name in EXAMPLE_ORDER
    ]
    assert "50 → <strong>26</strong>" in html  # Delta
    # Histogram rows: 50-59 held Delta and Alpha before, Foxtrot after.
    row = '<tr><th scope="row">50 to 59</th><td class="num">2</td><td class="num">1</td></tr>'
    assert row in html
    # Nothing saved.
    assert ScoringModel.objects.filter(segment=segment).count() == 1
    assert not AccountEngagement.objects.exists()


def test_without_javascript_the_preview_comes_back_in_the_whole_page(
    client: Client, marketer: Any, segment: Any
) -> None:
    client.force_login(marketer)
    data = form_data(client, segment.pk, weight_demo_request=50, action="preview")
    response = client.post(f"/scoring/{segment.pk}/", data)
    assert response.templates[0].name == "web/scoring/edit.html"
    assert 'id="preview-up">1<' in response.content.decode()


# --- Saving: a new version, its diff and author, the recompute job ---


def test_saving_makes_a_new_version_shown_with_its_diff_author_and_job(
    client: Client, marketer: Any, segment: Any, django_capture_on_commit_callbacks: Any,
    eager_tasks: None,
) -> None:  # fmt: skip
    client.force_login(marketer)
    data = form_data(
        client, segment.pk, weight_demo_request=50, weight_meeting_held=5, half_life_days=45,
        required_roles=["champion"], action="save",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/scoring/{segment.pk}/", data)
    assert response.status_code == 302
    assert response["Location"] == f"/scoring/{segment.pk}/history/"
    old, new = ScoringModel.objects.filter(segment=segment).order_by("version")
    assert (old.version, old.is_current, new.version, new.is_current) == (1, False, 2, True)
    assert new.created_by == marketer
    assert (new.activity_weights["demo_request"], new.activity_weights["meeting_held"]) == (50, 5)
    assert old.activity_weights["demo_request"] == 30
    assert (new.half_life_days, new.required_roles) == (45, ["champion"])

    job = Job.objects.get()
    assert (job.status, job.done, job.total, job.created_by_id) == (
        Job.Status.DONE, 6, 6, marketer.pk,
    )  # fmt: skip
    assert AccountEngagement.objects.filter(segment=segment, scoring_model=new).count() == 6

    response = client.get(response["Location"])
    html = response.content.decode()
    assert "Saved version 2" in html
    rows = [(c["label"], c["old"], c["new"]) for c in response.context["versions"][0]["changes"]]
    assert rows == [
        ("Weight: Demo request", "30", "50"),
        ("Weight: Meeting held", "25", "5"),
        ("Half-life (days)", "30", "45"),
        ("Required buying roles", "none", "Champion"),
    ]
    assert "Maya Persona" in html  # the author
    assert "6 accounts scored with version 2." in html
    assert 'id="job-' in html and "hx-get" not in html.split('id="job-')[1].split(">")[0]


# --- Query counts ---


def _more_segments(count: int) -> None:
    for index in range(count):
        segment = ScoringModelFactory.create(segment__name=f"Segment {index}").segment
        SegmentMembershipFactory.create(segment=segment)


@pytest.mark.parametrize("segments", [1, 5])
def test_the_list_renders_in_a_fixed_number_of_queries(
    client: Client, rep: Any, django_assert_num_queries: Any, segments: int
) -> None:
    _more_segments(segments)
    client.force_login(rep)
    # session, user, the permission check (user's, groups'), segments with
    # their member counts, current models with their authors, the template's
    # permission check (the Edit link), the shell's alert count and roles
    with django_assert_num_queries(9):
        response = client.get("/scoring/")
    assert len(response.context["segments"]) == segments


@pytest.mark.parametrize("versions", [1, 6])
def test_the_history_renders_in_a_fixed_number_of_queries(
    client: Client, rep: Any, django_assert_num_queries: Any, versions: int
) -> None:
    segment = ScoringModelFactory.create(segment__name="Fintech").segment
    for version in range(2, versions + 1):
        ScoringModel.objects.filter(segment=segment).update(is_current=False)
        ScoringModelFactory.create(segment=segment, version=version, half_life_days=version)
    client.force_login(rep)
    # session, user, the permission check (user's, groups'), the versions with
    # their authors, the latest recompute job, the Edit link's permission
    # check, the shell's alert count and roles
    with django_assert_num_queries(9):
        response = client.get(f"/scoring/{segment.pk}/history/")
    assert len(response.context["versions"]) == versions


def _more_members(segment: Any, count: int) -> None:
    source = SourceFactory.create()
    for index in range(count):
        account = segment_member(segment, name=f"More {index}")
        Activity.objects.create(
            source=source, message_id=f"more-{index}", type="page_view",
            occurred_at=timezone.now() - dt.timedelta(days=index),
            account=account, contact=ContactFactory.create(account=account),
        )  # fmt: skip


@pytest.mark.parametrize("extra", [0, 20])
def test_the_preview_runs_in_a_fixed_number_of_queries(
    client: Client, marketer: Any, segment: Any, django_assert_max_num_queries: Any, extra: int
) -> None:
    _more_members(segment, extra)
    client.force_login(marketer)
    data = form_data(client, segment.pk, weight_demo_request=50, action="preview")
    # As the edit page (8), the running-recompute check, and two full
    # recomputes in the rolled-back savepoint, each a fixed number of
    # statements for a segment of one chunk (demo size), whatever its accounts
    # (PostgreSQL's adds its work_mem setting and a row estimate to each).
    # PostgreSQL may ask its statistics for up to two more (sizing the chunks).
    # The first recompute's claim of pending activity closes its batch with two
    # statements (its id range, its pending rows deleted; issue 20), and each
    # recompute's range reads the retention cutoff.
    with django_assert_max_num_queries(106 if connection.vendor == "postgresql" else 104):
        response = client.post(f"/scoring/{segment.pk}/", data, headers={"HX-Request": "true"})
    assert response.context["preview"].accounts == 6 + extra


def test_the_edit_form_renders_in_a_fixed_number_of_queries(
    client: Client, marketer: Any, segment: Any, django_assert_num_queries: Any
) -> None:
    client.force_login(marketer)
    # session, user, the permission check (user's, groups'), the current model
    # with its segment, the shell's (workspace links, alert count, roles)
    with django_assert_num_queries(8):
        client.get(f"/scoring/{segment.pk}/")
