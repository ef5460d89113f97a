"""The marketer's workspace in the shell's navigation: each room, the page it
opens and the permission a user needs to see the link (the same permission
the room's pages check; web/permissions.py).

A room is listed once its pages exist (its URL name resolves), so the shell
never links to a page that is not there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Q
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Room:
    label: str
    url_name: str
    permission: str


WORKSPACE: tuple[Room, ...] = (
    Room("Segments", "web:segment-list", "accounts.view_icpsegment"),
    Room("Scoring", "web:scoring-list", "engagement.view_scoringmodel"),
    Room("Campaigns", "web:campaign-list", "campaigns.view_campaign"),
    Room("Imports", "web:import-list", "accounts.add_account"),
    Room("Sources", "web:source-list", "engagement.view_source"),
    Room("Junk", "web:junk-review", "accounts.change_junkrule"),
    Room("Ranking", "web:ranking-list", "campaigns.view_rankingrun"),
    Room("Readiness", "web:readiness", "readiness.view_readinessmodel"),
    Room("Reports", "web:report-overview", "campaigns.view_campaign"),
)

# The executive reports' tabs (issue 17), each shown to the users who may read it.
REPORT_TABS: tuple[Room, ...] = (
    Room("Overview", "web:report-overview", "campaigns.view_campaign"),
    Room("Campaigns", "web:report-campaigns", "campaigns.view_campaign"),
    Room("Funnel and deals", "web:report-funnel", "campaigns.view_campaign"),
    Room("What converts", "web:report-conversion", "campaigns.view_campaign"),
    Room("Program ranking", "web:ranking-list", "campaigns.view_rankingrun"),
    Room("Pipeline plans", "web:plan-list", "campaigns.view_pipelineplan"),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    url_name: str


_PERMISSIONS = {room.permission for room in (*WORKSPACE, *REPORT_TABS)}


def _held(user: Any) -> set[str]:
    """Which of the rooms' and tabs' permissions `user` holds, in one query per
    request (Django's has_perm would load every permission the user has, in two)."""
    cached: set[str] | None = getattr(user, "_navigation_held", None)
    if cached is None:
        cached = _held_read(user)
        user._navigation_held = cached
    return cached


def _held_read(user: Any) -> set[str]:
    if not user.is_active:
        return set()
    if user.is_superuser:
        return set(_PERMISSIONS)
    wanted = Q()
    for permission in sorted(_PERMISSIONS):
        app_label, _, codename = permission.partition(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    rows = (
        Permission.objects.filter(wanted)
        .filter(Q(user=user) | Q(group__user=user))
        .values_list("content_type__app_label", "codename")
        .distinct()
    )
    return {f"{app_label}.{codename}" for app_label, codename in rows}


def workspace_links(user: Any) -> list[NavLink]:
    """The rooms `user` may open, in the order above."""
    return _links(user, WORKSPACE)


def report_tabs(user: Any) -> list[NavLink]:
    """The executive reports `user` may open, as the reports' tab bar lists them."""
    return _links(user, REPORT_TABS)


def _links(user: Any, rooms: tuple[Room, ...]) -> list[NavLink]:
    held = _held(user)
    links = []
    for room in rooms:
        if room.permission not in held:
            continue
        try:
            url = reverse(room.url_name)
        except NoReverseMatch:
            continue
        links.append(NavLink(room.label, url, room.url_name.partition(":")[2]))
    return links
