"""The account page (/accounts/<pk>/) and its follow button.

Every figure comes from the owning app's selectors (engagement.account_selectors,
engagement.selectors, campaigns.account_selectors, accounts.selectors,
readiness.selectors); this
module picks the segment shown, binds the timeline filters to the URL and lays
the numbers out for the template. A fixed number of queries whatever the
account's history (pinned in tests/web/test_account_page.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views import View

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Account, BuyingRole
from campaigns import account_selectors as program_selectors
from campaigns.metrics import INFLUENCE_WINDOW_DAYS
from engagement import account_selectors as account_page_selectors
from engagement import selectors as engagement_selectors
from engagement.account_selectors import SegmentStanding
from engagement.changes import what_changed
from engagement.models import ActivityType
from readiness import selectors as readiness_selectors
from web.charts import DateSeries, Threshold, date_line_chart
from web.forms import TimelineForm
from web.permissions import ReadPage

TIMELINE_PER_PAGE = 25
TYPE_LABELS = dict(ActivityType.choices)
ROLE_LABELS = dict(BuyingRole.choices)


def _standing_chosen(standings: list[SegmentStanding], raw: str | None) -> SegmentStanding | None:
    """The segment in `?segment=`, else the best (standings come best first)."""
    for standing in standings:
        if raw and str(standing.segment_id) == raw:
            return standing
    return standings[0] if standings else None


def month_ends(points: Sequence[tuple[dt.date, int | None]]) -> list[tuple[dt.date, int | None]]:
    """The trend's last day of each month (and its very last day): the numbers
    beside the chart, one row a month rather than 365."""
    ends = []
    for index, (day, score) in enumerate(points):
        last = index == len(points) - 1
        if last or points[index + 1][0].month != day.month:
            ends.append((day, score))
    return ends


def _trend_chart(standing: SegmentStanding, points: list[tuple[dt.date, int | None]]) -> str:
    thresholds = []
    if standing.engaged_min is not None:
        thresholds.append(Threshold("engaged", standing.engaged_min))
    if standing.qualified_min is not None:
        thresholds.append(Threshold("qualified", standing.qualified_min))
    return mark_safe(  # noqa: S308 - web.charts escapes every text it writes  # nosec B308 B703
        date_line_chart(
            chart_id=f"trend-{standing.segment_id}",
            title=f"Score in {standing.segment_name}, last {len(points)} days",
            series=[DateSeries(standing.segment_name, points)],
            y_low=0,
            y_high=100,
            thresholds=thresholds,
        )
    )


def _timeline(request: HttpRequest, pk: int, team: list[Any]) -> tuple[TimelineForm, Any]:
    types = account_page_selectors.account_activity_types(account_id=pk)
    form = TimelineForm(
        request.GET,
        contacts=[(member.contact_id, member.name) for member in team],
        types=[(kind, TYPE_LABELS.get(kind, kind)) for kind in types],
    )
    activity = account_page_selectors.account_timeline(account_id=pk, filters=form.filters())
    return form, Paginator(activity, TIMELINE_PER_PAGE).get_page(request.GET.get("page"))


def _user_id(request: HttpRequest) -> int:
    """The signed-in user's id (ReadPage lets no anonymous visitor through)."""
    user_id = request.user.pk
    assert user_id is not None
    return int(user_id)


class AccountPageView(ReadPage, View):
    """Where the account stands in each segment and why, who engaged, what it
    did, which programs touched it, its deals, its alerts; follow it."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = account_selectors.account_with_owner(account_id=pk)
        if account is None:
            raise Http404("No such account.")
        now = timezone.now()
        today = now.date()
        standings = account_page_selectors.account_standings(account_id=pk, today=today)
        standing = _standing_chosen(standings, request.GET.get("segment"))
        team = account_page_selectors.account_buying_team(account_id=pk, standing=standing, at=now)
        form, timeline = _timeline(request, pk, team)
        timeline_context = {"account": account, "timeline_form": form, "timeline": timeline}
        if getattr(request, "htmx", False) and request.htmx.target == "timeline":  # type: ignore[attr-defined]
            return render(request, "web/account_timeline.html", timeline_context)
        context: dict[str, Any] = {
            **timeline_context,
            "scores": standings,
            "standing": standing,
            "team": [member for member in team if not member.is_junk],
            "junk": [member for member in team if member.is_junk],
            "day_7": today - dt.timedelta(days=7),
            "may_mark_targets": request.user.has_perm("accounts.mark_target_account"),
            "following": account_selectors.account_is_followed(
                user_id=_user_id(request), account_id=pk
            ),
            "alerts": engagement_selectors.account_alerts_for(
                account_id=pk, recipient_id=_user_id(request)
            ),
        }
        # Readiness in each of its segments (issue 19): three queries.
        context["readiness"] = readiness_selectors.account_readiness(account_id=pk)
        if standing is not None:
            points = account_page_selectors.account_trend(
                account_id=pk, segment_ids=[standing.segment_id], until=today
            )[standing.segment_id]
            context["trend_chart"] = _trend_chart(standing, points)
            context["trend_month_ends"] = month_ends(points)
            context["trend_points"] = sum(1 for _day, score in points if score is not None)
        facts = account_page_selectors.account_recent_facts(
            account_id=pk, standing=standing, at=now
        )
        context["changes"] = [
            (window.days, what_changed(window, type_labels=TYPE_LABELS)) for window in facts
        ]
        explained = engagement_selectors.account_engagement_explain(account_id=pk, at=now)
        context["explained"] = next(
            (
                segment
                for segment in explained["segments"]
                if standing is not None and segment["segment"]["id"] == standing.segment_id
            ),
            None,
        )
        context["contact_names"] = {member.contact_id: member.name for member in team}
        touches = program_selectors.account_program_touches(account_id=pk)
        context["touches"] = touches
        context["campaigns"] = program_selectors.account_campaigns(account_id=pk)
        context["opportunities"] = program_selectors.account_opportunities(
            account_id=pk, window_days=INFLUENCE_WINDOW_DAYS, touches=touches
        )
        context["influence_days"] = INFLUENCE_WINDOW_DAYS
        context["type_labels"] = TYPE_LABELS
        context["role_labels"] = ROLE_LABELS
        return render(request, "web/account_detail.html", context)


class AccountFollowView(ReadPage, View):
    """Follow or unfollow the account (any role: it is the user's own list).
    htmx swaps the button; without JavaScript the page comes back."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        follow = request.POST.get("follow") == "1"
        if follow:
            try:
                account_services.account_follow(user_id=_user_id(request), account_id=pk)
            except Account.DoesNotExist:
                raise Http404("No such account.") from None
        else:
            account_services.account_unfollow(user_id=_user_id(request), account_id=pk)
        if getattr(request, "htmx", False):
            return render(
                request, "web/account_follow.html", {"account_id": pk, "following": follow}
            )
        messages.success(
            request,
            "You follow this account: its alerts reach you."
            if follow
            else "You no longer follow this account.",
        )
        return redirect("web:account-detail", pk=pk)
