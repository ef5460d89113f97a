"""Readiness training data (issue 19, part 1): every feature and label of a known
history worked out by hand, no feature seeing anything after its month end,
labels looking at exactly the 90 days after it, and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import io
import math
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from readiness.feature_names import FEATURE_NAMES
from readiness.training import TrainingData, training_data
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    OpportunityFactory,
    segment_member,
)
from tests.readiness.history import (
    FEBRUARY,
    JANUARY,
    MARCH,
    MONTH_ENDS,
    TODAY,
    History,
    at,
    history_build,
    snapshot,
)

pytestmark = pytest.mark.django_db

NAN = math.nan

# What every row holds unless the expectation says otherwise.
_NOTHING_KNOWN = {
    "score": NAN, "raw_score": NAN, "engaged_contacts": NAN, "roles_covered": NAN,
    "score_missing": 1.0,
    "score_change_7d": NAN, "score_change_7d_missing": 1.0,
    "score_change_30d": NAN, "score_change_30d_missing": 1.0,
    "score_change_90d": NAN, "score_change_90d_missing": 1.0,
    "days_since_last_activity": NAN, "no_activity_yet": 1.0,
}  # fmt: skip


def _expected(**values: float) -> dict[str, float]:
    row = dict.fromkeys(FEATURE_NAMES, 0.0)
    row.update(_NOTHING_KNOWN)
    row.update(values)
    return row


def _row(data: TrainingData, account_id: int, month_end: dt.date) -> dict[str, float]:
    (index,) = [
        i
        for i, (account, day) in enumerate(zip(data.account_ids, data.month_ends, strict=True))
        if account == account_id and day == month_end
    ]
    return dict(zip(data.feature_names, data.features[index], strict=True))


def _label(data: TrainingData, account_id: int, month_end: dt.date) -> tuple[int | None, bool]:
    for i, (account, day) in enumerate(zip(data.account_ids, data.month_ends, strict=True)):
        if account == account_id and day == month_end:
            return data.labels[i], data.label_known[i]
    raise AssertionError(f"no row for account {account_id} at {month_end}")


def _same(actual: dict[str, float], expected: dict[str, float]) -> dict[str, Any]:
    """The features that differ (NaN equals NaN), as {name: (actual, expected)}."""
    return {
        name: (actual[name], expected[name])
        for name in FEATURE_NAMES
        if not (
            (math.isnan(actual[name]) and math.isnan(expected[name]))
            or math.isclose(actual[name], expected[name], abs_tol=1e-9)
        )
    }


@pytest.fixture
def history() -> History:
    return history_build()


def _build(history: History, month_ends: tuple[dt.date, ...] = MONTH_ENDS) -> TrainingData:
    return training_data(segment_id=history.segment.pk, month_ends=month_ends, today=TODAY)


def test_a_segment_has_one_row_per_member_and_month_end_and_none_for_outsiders(
    history: History,
) -> None:
    data = _build(history)
    assert sorted(zip(data.month_ends, data.account_ids, strict=True)) == sorted(
        (day, account.pk) for day in MONTH_ENDS for account in (history.busy, history.quiet)
    )
    assert all(len(row) == len(FEATURE_NAMES) for row in data.features)


def test_the_busy_account_in_january_is_worked_out_by_hand(history: History) -> None:
    # January 31 ends at 1 February 00:00; 30 days from 2 January, 90 from 3 November.
    # Counted: demo request 15 Nov (ads-1, paid social; 90 days only), anonymous page
    # view 10 Jan, pricing 20 Jan (vp), webinar 31 Jan 23:30 (director, web-1). Not:
    # the excluded form fill, the page view at 1 Feb 00:00, the outsider's demo.
    expected = _expected(
        score=55, raw_score=40.0, engaged_contacts=2, roles_covered=1, score_missing=0,
        score_change_7d=55 - 50, score_change_7d_missing=0,
        score_change_30d=55 - 30, score_change_30d_missing=0,
        # No snapshot on 2 November: the 90-day change stays unknown.
        days_since_last_activity=0.5 / 24, no_activity_yet=0,
        contacts_vp_90d=1, contacts_director_90d=1,
        activity_page_view_30d=1, activity_page_view_90d=1,
        activity_pricing_page_view_30d=1, activity_pricing_page_view_90d=1,
        activity_webinar_attended_30d=1, activity_webinar_attended_90d=1,
        activity_demo_request_90d=1,
        channel_no_program_30d=2, channel_no_program_90d=2,
        channel_webinar_30d=1, channel_webinar_90d=1, channel_paid_social_90d=1,
        pricing_interest_30d=1, pricing_interest_90d=1, demo_interest_90d=1,
        programs_webinar_90d=1, programs_paid_social_90d=1,
        fit_score=85, tier_1=1,
        # The won deal closes on 15 February: not yet a customer, a deal open.
        open_opportunity_as_of=1,
    )  # fmt: skip
    data = _build(history)
    assert _same(_row(data, history.busy.pk, JANUARY), expected) == {}
    assert _label(data, history.busy.pk, JANUARY) == (1, True)  # opened 1 May, day 90


def test_the_busy_account_in_february_has_no_snapshot_so_its_score_is_missing(
    history: History,
) -> None:
    # 28 February ends at 1 March 00:00; 30 days from 30 January, 90 from 1 December.
    expected = _expected(
        days_since_last_activity=28.0, no_activity_yet=0,  # the page view of 1 Feb 00:00
        contacts_vp_90d=1, contacts_director_90d=1,
        activity_page_view_30d=1, activity_page_view_90d=2,
        activity_pricing_page_view_90d=1,
        activity_webinar_attended_30d=1, activity_webinar_attended_90d=1,
        channel_no_program_30d=1, channel_no_program_90d=3,
        channel_webinar_30d=1, channel_webinar_90d=1,
        pricing_interest_90d=1, programs_webinar_90d=1,
        fit_score=85, tier_1=1,
        customer_as_of=1,  # won, closed 15 February
    )  # fmt: skip
    data = _build(history)
    assert _same(_row(data, history.busy.pk, FEBRUARY), expected) == {}
    assert _label(data, history.busy.pk, FEBRUARY) == (1, True)


def test_the_busy_account_in_march_has_every_change_and_an_unknown_label(
    history: History,
) -> None:
    # 31 March ends at 1 April 00:00; 30 days from 2 March, 90 from 1 January.
    expected = _expected(
        score=70, raw_score=60.5, engaged_contacts=3, roles_covered=2, score_missing=0,
        score_change_7d=70 - 65, score_change_7d_missing=0,
        score_change_30d=70 - 60, score_change_30d_missing=0,
        score_change_90d=70 - 10, score_change_90d_missing=0,
        days_since_last_activity=59.0, no_activity_yet=0,
        contacts_vp_90d=1, contacts_director_90d=1,
        activity_page_view_90d=2, activity_pricing_page_view_90d=1,
        activity_webinar_attended_90d=1,
        channel_no_program_90d=3, channel_webinar_90d=1,
        pricing_interest_90d=1, programs_webinar_90d=1,
        fit_score=85, tier_1=1, customer_as_of=1,
    )  # fmt: skip
    data = _build(history)
    assert _same(_row(data, history.busy.pk, MARCH), expected) == {}
    # 31 March + 90 days is 29 June, after today (15 June): unknown, not 0.
    assert _label(data, history.busy.pk, MARCH) == (None, False)


def test_an_account_without_activity_or_snapshots_has_nan_with_indicators_never_zero(
    history: History,
) -> None:
    data = _build(history)
    for month_end in MONTH_ENDS:
        assert _same(_row(data, history.quiet.pk, month_end),
                     _expected(fit_score=40, tier_unknown=1)) == {}  # fmt: skip
    # Its deal opened on 2 May: 91 days after January, 63 after February.
    assert _label(data, history.quiet.pk, JANUARY) == (0, True)
    assert _label(data, history.quiet.pk, FEBRUARY) == (1, True)
    assert _label(data, history.quiet.pk, MARCH) == (None, False)


def test_labelled_rows_leave_out_the_unknown_labels(history: History) -> None:
    features, labels = _build(history).labelled()
    assert len(features) == len(labels) == 4  # two accounts, January and February
    assert sorted(labels) == [0, 1, 1, 1]


def test_nothing_dated_after_a_month_end_changes_its_features(history: History) -> None:
    before = _build(history, (JANUARY,))
    cut = at(dt.date(2026, 2, 1), 0)  # midnight after 31 January
    ceo = ContactFactory.create(account=history.busy, seniority="c_level")
    for moment in (cut, cut + dt.timedelta(days=3), at(dt.date(2026, 7, 1))):
        for contact in (ceo, ContactFactory.create(account=history.quiet, seniority="vp")):
            ActivityFactory.create(contact=contact, type="demo_request", occurred_at=moment,
                                   tracking_key=history.webinar_key)  # fmt: skip
            ActivityFactory.create(contact=contact, type="pricing_page_view",
                                   occurred_at=moment, tracking_key=history.ads_key)  # fmt: skip
    for account in (history.busy, history.quiet):
        for day in (dt.date(2026, 2, 1), dt.date(2026, 2, 20), dt.date(2026, 5, 1)):
            snapshot(history, account, day, 99, raw_score=500.0, engaged_contacts=9)
        # Opened and won after the month end: no customer, no open deal as of it.
        OpportunityFactory.create(account=account, opened_on=dt.date(2026, 2, 1), status="won",
                                  close_on=dt.date(2026, 2, 2))  # fmt: skip
        # Today's flag, set after the month end, is not the customer feature.
        account.is_customer = True
        account.save(update_fields=["is_customer"])
    after = _build(history, (JANUARY,))
    for account in (history.busy, history.quiet):
        assert _same(_row(after, account.pk, JANUARY), _row(before, account.pk, JANUARY)) == {}


def test_the_label_looks_at_exactly_the_90_days_after_the_month_end(history: History) -> None:
    def quiet_label() -> int | None:
        return _label(_build(history, (JANUARY,)), history.quiet.pk, JANUARY)[0]

    assert quiet_label() == 0
    # Opened on the month end itself: before the window (an open deal as of it instead).
    OpportunityFactory.create(account=history.quiet, opened_on=JANUARY)
    # Opened 91 days after and later: after the window.
    OpportunityFactory.create(account=history.quiet, opened_on=dt.date(2026, 5, 2))
    OpportunityFactory.create(account=history.quiet, opened_on=dt.date(2026, 6, 1))
    assert quiet_label() == 0
    assert (
        _row(_build(history, (JANUARY,)), history.quiet.pk, JANUARY)["open_opportunity_as_of"] == 1
    )
    OpportunityFactory.create(account=history.quiet, opened_on=dt.date(2026, 5, 1))  # day 90
    assert quiet_label() == 1


def test_the_training_data_takes_five_queries_whatever_the_accounts_and_months(
    history: History, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(5):
        small = _build(history, (JANUARY,))
    for number in range(5):
        account = segment_member(history.segment)
        contact = ContactFactory.create(account=account)
        ActivityFactory.create(contact=contact, occurred_at=at(dt.date(2025, 12, number + 1)))
        OpportunityFactory.create(account=account, opened_on=dt.date(2026, 3, number + 1))
    ends = (dt.date(2025, 10, 31), dt.date(2025, 11, 30), dt.date(2025, 12, 31), *MONTH_ENDS)
    with django_assert_num_queries(5):
        large = _build(history, ends)
    assert (len(small), len(large)) == (2, 7 * 6)


def test_a_month_end_that_is_not_past_is_refused(history: History) -> None:
    with pytest.raises(ValueError, match="not in the past"):
        training_data(segment_id=history.segment.pk, month_ends=[TODAY], today=TODAY)


def test_the_command_prints_each_segments_rows_labels_and_queries(history: History) -> None:
    out = io.StringIO()
    call_command("readiness_training_data", "--since", "2026-01-01", "--until", "2026-03-31",
                 "--today", TODAY.isoformat(), "--segment", str(history.segment.pk),
                 stdout=out)  # fmt: skip
    assert (
        f"6 rows x {len(FEATURE_NAMES)} features, 4 labelled (3 positive), 2 unknown; "
        "5 queries" in out.getvalue()
    )


def test_the_command_refuses_a_month_end_that_is_not_past(history: History) -> None:
    with pytest.raises(CommandError, match="must be before today"):
        call_command("readiness_training_data", "--until", TODAY.isoformat(),
                     "--today", TODAY.isoformat())  # fmt: skip
