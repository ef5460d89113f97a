"""The access matrix (issue 18, proof 2): every principal by every operation
of the API, the tracking endpoints and the pages, with the answer the
product's rules give, checked cell by cell.

Principals (column heads): `anon` (no credentials); `mkt`, `sales`, `exec`
(a user of the Marketer, Sales or Executive group) and `none` (a signed-in
user in no group): on /api/ each of their cells is asked twice, with the
session and with the user's real hashed token in `Authorization: Token
<key>`, and both answers must be the expected one; on /v1/ they send their
token; `key` (a tracking source's write key, HTTP Basic with the key as user,
as the Segment libraries send it); `staff` (a staff superuser, only on the
admin rows). The sales column also checks that no answer shows spend.

Answers: a status code; `login` is a 302 to the sign-in page, `admin` a 302
to the admin's sign-in page, `302` any other redirect (a form saved); `-` is
not asked. Writes send a valid body to every principal: the allowed ones
prove the write works (the row they write is there), the refused ones that
nothing was written (tests/access_cells.py holds the bodies and the checks).

The rules behind the columns (the role grants of the `0002_roles`
migrations, read by web/permissions.py and the API's permission classes):
every signed-in role reads accounts, campaigns and their reports; spend,
rankings and pipeline plans need view_spend / view_rankingrun /
view_pipelineplan, which sales lacks; plans are the executive's and the
marketer's to write; every other write is the marketer's (sales adds
contacts and opportunities, executives write only plans); a user in no group
has what DESIGN 9 gives everyone (the account list, account pages, search,
following) and nothing else; a write key only sends tracking data; a token
only opens the API; the API schema is public.

The route check fails when a route exists that no row names, when a row
names a route that does not exist, and when a route answers a method no row
lists with anything but 405 (asked as the superuser, who passes every
permission, and as an anonymous visitor: a method is not served if either
hears 405)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from tests.access_cells import (
    ACCESS_MATRIX_KEY,
    Cell,
    cell_check,
    csrf_check,
    missing_check,
    probe_methods,
    spend_shown,
)
from tests.access_world import PRINCIPALS, World, world_build
from web import board_pack

MATRIX = """
method  path                                              anon  mkt   sales exec  none  key   staff
# --- health and the API's description: public
GET     /healthz                                          200   200   200   200   200   200   -
GET     /api/schema/                                      200   200   200   200   200   200   -
GET     /api/docs/                                        200   200   200   200   200   200   -
# --- tracking: the write key only; a user's token is refused
POST    /v1/batch                                         401   401   401   401   401   200   -
POST    /v1/identify                                      401   401   401   401   401   200   -
POST    /v1/group                                         401   401   401   401   401   200   -
POST    /v1/track                                         401   401   401   401   401   200   -
POST    /v1/page                                          401   401   401   401   401   200   -
POST    /v1/screen                                        401   401   401   401   401   200   -
POST    /v1/alias                                         401   401   401   401   401   200   -
POST    /v1/b                                             401   401   401   401   401   200   -
POST    /v1/i                                             401   401   401   401   401   200   -
POST    /v1/g                                             401   401   401   401   401   200   -
POST    /v1/t                                             401   401   401   401   401   200   -
POST    /v1/p                                             401   401   401   401   401   200   -
POST    /v1/s                                             401   401   401   401   401   200   -
POST    /v1/a                                             401   401   401   401   401   200   -
OPTIONS /v1/batch                                         204   204   204   204   204   204   -
OPTIONS /v1/t                                             204   204   204   204   204   204   -
# --- API: accounts, engagement, segments, alerts, imports
GET     /api/accounts/                                    403   200   200   200   200   403   -
GET     /api/accounts/{account}/engagement/               403   200   200   200   200   403   -
GET     /api/accounts/{missing}/engagement/               403   404   404   404   404   403   -
GET     /api/accounts/{account}/readiness/                403   200   200   200   403   403   -
GET     /api/accounts/{missing}/readiness/                403   404   404   404   403   403   -
POST    /api/accounts/{fresh_account}/follow/             403   201   201   201   201   403   -
DELETE  /api/accounts/{followed_account}/follow/          403   204   204   204   204   403   -
GET     /api/my-accounts/                                 403   200   200   200   200   403   -
GET     /api/segments/                                    403   200   200   200   403   403   -
POST    /api/segments/                                    403   201   403   403   403   403   -
GET     /api/scoring-models/                              403   200   200   200   403   403   -
GET     /api/alerts/                                      403   200   200   200   200   403   -
GET     /api/alerts/?all=1                                403   200   403   403   403   403   -
POST    /api/imports/accounts/                            403   200   403   403   403   403   -
POST    /api/imports/contacts/                            403   200   200   403   403   403   -
POST    /api/imports/nonsense/                            403   404   404   404   404   403   -
# --- API: campaigns, programs, spend
GET     /api/campaigns/                                   403   200   200   200   403   403   -
POST    /api/campaigns/                                   403   201   403   403   403   403   -
GET     /api/campaigns/{campaign}/                        403   200   200   200   403   403   -
PUT     /api/campaigns/{campaign}/                        403   200   403   403   403   403   -
PATCH   /api/campaigns/{campaign}/                        403   200   403   403   403   403   -
DELETE  /api/campaigns/{fresh_campaign}/                  403   204   403   403   403   403   -
GET     /api/campaigns/{campaign}/audience/               403   200   200   200   403   403   -
POST    /api/campaigns/{fresh_campaign}/targets/          403   200   403   403   403   403   -
GET     /api/programs/                                    403   200   200   200   403   403   -
POST    /api/programs/                                    403   201   403   403   403   403   -
GET     /api/programs/{program}/                          403   200   200   200   403   403   -
PUT     /api/programs/{program}/                          403   200   403   403   403   403   -
PATCH   /api/programs/{program}/                          403   200   403   403   403   403   -
DELETE  /api/programs/{fresh_program}/                    403   204   403   403   403   403   -
GET     /api/spend/                                       403   200   403   200   403   403   -
POST    /api/spend/                                       403   201   403   403   403   403   -
GET     /api/spend/{spend}/                               403   200   403   200   403   403   -
PUT     /api/spend/{fresh_spend}/                         403   200   403   403   403   403   -
PATCH   /api/spend/{fresh_spend}/                         403   200   403   403   403   403   -
DELETE  /api/spend/{fresh_spend}/                         403   204   403   403   403   403   -
# --- API: rankings, plans, opportunities, reports
GET     /api/rankings/                                    403   200   403   200   403   403   -
POST    /api/rankings/                                    403   201   403   403   403   403   -
GET     /api/rankings/{run}/                              403   200   403   200   403   403   -
POST    /api/rankings/{run}/decide/                       403   200   403   403   403   403   -
GET     /api/pipeline-plans/                              403   200   403   200   403   403   -
POST    /api/pipeline-plans/                              403   201   403   201   403   403   -
GET     /api/pipeline-plans/{plan}/                       403   200   403   200   403   403   -
PUT     /api/pipeline-plans/{plan}/                       403   200   403   200   403   403   -
PATCH   /api/pipeline-plans/{plan}/                       403   200   403   200   403   403   -
DELETE  /api/pipeline-plans/{fresh_plan}/                 403   204   403   204   403   403   -
POST    /api/pipeline-plans/{plan}/fill_from_history/     403   200   403   200   403   403   -
GET     /api/opportunities/                               403   200   200   200   403   403   -
POST    /api/opportunities/                               403   201   201   403   403   403   -
GET     /api/opportunities/{opportunity}/                 403   200   200   200   403   403   -
GET     /api/reports/programs/?{period}                   403   200   200   200   403   403   -
GET     /api/reports/programs/?{period}&format=csv        403   200   200   200   403   403   -
GET     /api/reports/campaigns/{campaign}/                403   200   200   200   403   403   -
GET     /api/reports/funnel/?{period}                     403   200   200   200   403   403   -
GET     /api/reports/deals/?{period}                      403   200   200   200   403   403   -
GET     /api/reports/overview/?{period}                   403   200   200   200   403   403   -
GET     /api/reports/conversion/?{period}                 403   200   200   200   403   403   -
GET     /api/reports/conversion/?{period}&format=csv      403   200   200   200   403   403   -
GET     /api/readiness/models/                            403   200   200   200   403   403   -
GET     /api/readiness/models/?all=1                      403   200   200   200   403   403   -
POST    /api/readiness/models/train/                      403   202   403   403   403   403   -
# --- pages: sign-in, accounts, search, jobs
GET     /                                                 login 302   302   302   302   login -
GET     /login/                                           200   302   302   302   302   200   -
POST    /login/                                           302   302   302   302   302   302   -
PUT     /login/                                           200   302   302   302   302   200   -
POST    /logout/                                          login login login login login login -
GET     /my-accounts/                                     login 200   200   200   200   login -
GET     /my-accounts/export.csv                           login 200   200   200   200   login -
GET     /accounts/                                        login 200   200   200   200   login -
GET     /accounts/export.csv                              login 200   200   200   200   login -
GET     /accounts/{account}/                              login 200   200   200   200   login -
GET     /accounts/{missing}/                              login 404   404   404   404   login -
POST    /accounts/{fresh_account}/follow/                 login 302   302   302   302   login -
POST    /accounts/{account}/target/                       login 302   403   403   403   login -
GET     /search/?q=matrix                                 login 200   200   200   200   login -
GET     /jobs/{job}/                                      login 200   200   200   200   login -
# --- pages: segments, scoring
GET     /segments/                                        login 200   200   200   403   login -
GET     /segments/new/                                    login 200   403   403   403   login -
POST    /segments/new/                                    login 302   403   403   403   login -
GET     /segments/{segment}/                              login 200   403   403   403   login -
POST    /segments/{segment}/                              login 302   403   403   403   login -
POST    /segments/preview/                                login 200   403   403   403   login -
GET     /scoring/                                         login 200   200   200   403   login -
GET     /scoring/{segment}/                               login 200   403   403   403   login -
POST    /scoring/{segment}/                               login 302   403   403   403   login -
GET     /scoring/{segment}/history/                       login 200   200   200   403   login -
# --- pages: campaigns, targets, programs
GET     /campaigns/                                       login 200   200   200   403   login -
GET     /campaigns/new/                                   login 200   403   403   403   login -
POST    /campaigns/new/                                   login 302   403   403   403   login -
GET     /campaigns/{campaign}/                            login 200   200   200   403   login -
GET     /campaigns/{campaign}/edit/                       login 200   403   403   403   login -
POST    /campaigns/{campaign}/edit/                       login 302   403   403   403   login -
GET     /campaigns/{campaign}/targets/                    login 200   200   200   403   login -
POST    /campaigns/{campaign}/targets/from-filters/       login 302   403   403   403   login -
POST    /campaigns/{campaign}/targets/paste/              login 302   403   403   403   login -
POST    /campaigns/{campaign}/targets/upload/             login 302   403   403   403   login -
POST    /campaigns/{targeted_campaign}/targets/remove/    login 302   403   403   403   login -
POST    /campaigns/{campaign}/holdout/redraw/             login 302   403   403   403   login -
GET     /campaigns/{campaign}/audience.csv                login 200   200   200   403   login -
GET     /campaigns/{campaign}/programs/                   login 200   200   200   403   login -
GET     /campaigns/{campaign}/programs/new/               login 200   403   403   403   login -
POST    /campaigns/{campaign}/programs/new/               login 302   403   403   403   login -
GET     /campaigns/{campaign}/programs/{program}/edit/    login 200   403   403   403   login -
POST    /campaigns/{campaign}/programs/{program}/edit/    login 302   403   403   403   login -
# --- pages: spend and the campaign report
GET     /campaigns/{campaign}/spend/                      login 200   403   200   403   login -
POST    /campaigns/{campaign}/spend/                      login 302   403   403   403   login -
GET     /campaigns/{campaign}/spend/{spend}/edit/         login 200   403   403   403   login -
POST    /campaigns/{campaign}/spend/{fresh_spend}/edit/   login 302   403   403   403   login -
GET     /campaigns/{campaign}/spend/{spend}/delete/       login 200   403   403   403   login -
POST    /campaigns/{campaign}/spend/{fresh_spend}/delete/ login 302   403   403   403   login -
GET     /campaigns/{campaign}/report/                     login 200   200   200   403   login -
GET     /campaigns/{campaign}/report.csv                  login 200   200   200   403   login -
# --- pages: imports (by the kinds a role may import), sources, junk
GET     /imports/                                         login 200   200   403   403   login -
GET     /imports/new/                                     login 200   200   403   403   login -
POST    /imports/new/                                     login 302   302   403   403   login -
GET     /imports/{import_accounts}/                       login 200   403   403   403   login -
GET     /imports/{import_contacts}/                       login 200   200   403   403   login -
POST    /imports/{import_accounts}/                       login 302   403   403   403   login -
POST    /imports/{import_accounts}/run/                   login 302   403   403   403   login -
GET     /imports/{import_accounts}/poll/                  login 302   403   403   403   login -
GET     /imports/{import_accounts}/rejects.csv            login 200   403   403   403   login -
GET     /sources/                                         login 200   403   403   403   login -
GET     /sources/new/                                     login 200   403   403   403   login -
POST    /sources/new/                                     login 302   403   403   403   login -
GET     /sources/{source}/                                login 200   403   403   403   login -
GET     /sources/{source}/rotate/                         login 200   403   403   403   login -
POST    /sources/{fresh_source}/rotate/                   login 302   403   403   403   login -
GET     /sources/{source}/revoke/                         login 200   403   403   403   login -
POST    /sources/{fresh_source}/revoke/                   login 302   403   403   403   login -
GET     /junk/                                            login 200   200   403   403   login -
POST    /junk/contacts/{contact}/decision/                login 302   403   403   403   login -
GET     /junk/rules/                                      login 200   200   403   403   login -
POST    /junk/rules/                                      login 302   403   403   403   login -
POST    /junk/rules/preview/                              login 200   403   403   403   login -
# --- pages: ranking
GET     /ranking/                                         login 200   403   200   403   login -
GET     /ranking/{run}/?csv=ranked                        login 200   403   200   403   login -
POST    /ranking/run/                                     login 302   403   403   403   login -
GET     /ranking/{run}/                                   login 200   403   200   403   login -
POST    /ranking/{run}/entries/{entry}/decide/            login 302   403   403   403   login -
# --- pages: readiness models
GET     /readiness/                                       login 200   200   200   403   login -
POST    /readiness/train/                                 login 302   403   403   403   login -
POST    /readiness/segments/{segment}/alert/              login 302   403   403   403   login -
# --- pages: the executive reports, plans and the board pack
GET     /reports/                                         login 200   200   200   403   login -
GET     /reports/?csv=overview-figures                    login 200   200   200   403   login -
GET     /reports/campaigns/                               login 200   200   200   403   login -
GET     /reports/funnel/                                  login 200   200   200   403   login -
GET     /reports/conversion/                              login 200   200   200   403   login -
GET     /reports/conversion/?csv=conversion               login 200   200   200   403   login -
GET     /reports/plans/                                   login 200   403   200   403   login -
GET     /reports/plans/new/                               login 200   403   200   403   login -
POST    /reports/plans/new/                               login 302   403   302   403   login -
GET     /reports/plans/{plan}/                            login 200   403   200   403   login -
POST    /reports/plans/{plan}/fill/                       login 302   403   302   403   login -
GET     /reports/plans/{plan}/edit/                       login 200   403   200   403   login -
POST    /reports/plans/{plan}/edit/                       login 302   403   302   403   login -
GET     /reports/board-pack.pdf                           login 200   403   200   403   login -
# --- the admin: staff only
GET     /admin/                                           admin admin admin admin admin admin 200
GET     /admin/login/                                     200   200   200   200   200   200   302
GET     /admin/auth/group/                                admin admin admin admin admin admin 200
GET     /admin/auth/user/                                 admin admin admin admin admin admin 200
GET     /admin/django_celery_beat/periodictask/           admin admin admin admin admin admin 200
GET     /admin/django_celery_beat/clockedschedule/        admin admin admin admin admin admin 200
GET     /admin/django_celery_beat/crontabschedule/        admin admin admin admin admin admin 200
GET     /admin/django_celery_beat/solarschedule/          admin admin admin admin admin admin 200
GET     /admin/django_celery_beat/intervalschedule/       admin admin admin admin admin admin 200
GET     /admin/core/workerheartbeat/                      admin admin admin admin admin admin 200
GET     /admin/core/job/                                  admin admin admin admin admin admin 200
GET     /admin/accounts/account/                          admin admin admin admin admin admin 200
GET     /admin/accounts/contact/                          admin admin admin admin admin admin 200
GET     /admin/accounts/icpsegment/                       admin admin admin admin admin admin 200
GET     /admin/accounts/opportunity/                      admin admin admin admin admin admin 200
GET     /admin/accounts/junkrule/                         admin admin admin admin admin admin 200
GET     /admin/accounts/apitoken/                         admin admin admin admin admin admin 200
GET     /admin/engagement/source/                         admin admin admin admin admin admin 200
GET     /admin/engagement/scoringmodel/                   admin admin admin admin admin admin 200
GET     /admin/engagement/activity/                       admin admin admin admin admin admin 200
GET     /admin/engagement/alert/                          admin admin admin admin admin admin 200
GET     /admin/engagement/rejectedcall/                   admin admin admin admin admin admin 200
GET     /admin/engagement/activityretentionrun/           admin admin admin admin admin admin 200
GET     /admin/engagement/eventtypemapping/               admin admin admin admin admin admin 200
GET     /admin/engagement/iprange/                        admin admin admin admin admin admin 200
GET     /admin/campaigns/campaign/                        admin admin admin admin admin admin 200
GET     /admin/campaigns/program/                         admin admin admin admin admin admin 200
GET     /admin/campaigns/spend/                           admin admin admin admin admin admin 200
GET     /admin/campaigns/rankingrun/                      admin admin admin admin admin admin 200
GET     /admin/campaigns/rankingentry/                    admin admin admin admin admin admin 200
GET     /admin/campaigns/pipelineplan/                    admin admin admin admin admin admin 200
"""


# The table's column heads: short, so that a row fits on a line.
COLUMNS = {"anon": "anon", "mkt": "marketer", "sales": "sales", "exec": "exec",
           "none": "norole", "key": "key", "staff": "staff"}  # fmt: skip


def matrix_rows(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, {principal: answer}) per line of the table."""
    rows = []
    lines = [line for line in text.strip().splitlines() if line and not line.startswith("#")]
    header = lines[0].split()
    assert tuple(COLUMNS.get(name) for name in header[2:]) == PRINCIPALS, header
    for line in lines[1:]:
        method, path, *answers = line.split()
        assert len(answers) == len(PRINCIPALS), f"{line!r}: one answer per principal"
        rows.append((method, path, dict(zip(PRINCIPALS, answers, strict=True))))
    return rows


ROWS = matrix_rows(MATRIX)


def _route_names(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    """Every named route of the project, `namespace:name`."""
    names: set[str] = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _route_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            if namespace == "admin:" and not pattern.name:
                continue  # the admin's redirect of an old change URL to the new one
            assert pattern.name, f"{pattern.pattern} has no name: name it, and list it here"
            names.add(namespace + pattern.name)
    return names


def _route_of(path: str) -> str:
    try:
        return resolve(path.split("?")[0]).view_name
    except Resolver404:
        return f"(nothing at {path})"


def _admin_changelists() -> set[str]:
    return {
        f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        for model in admin.site._registry
    }


def test_the_matrix_lists_every_route_and_each_method_it_serves(db: None, client: Client) -> None:
    world = world_build()
    listed = {_route_of(World.fill(world, path)[0]) for _, path, _ in ROWS}
    routes = {
        name for name in _route_names() if not name.startswith("admin:")
    } | _admin_changelists()
    listed_admin = {name for name in listed if name.startswith("admin:")}
    # The admin's own pages (index, login) and each model's changelist are rows;
    # its add/change/delete/history pages pass the same staff check.
    routes |= {"admin:index", "admin:login"}
    assert (routes - listed, listed - routes) == (set(), set()), (
        f"routes the access matrix does not list: {sorted(routes - listed)}; "
        f"rows naming no route: {sorted(listed - routes)}"
    )
    assert listed_admin >= _admin_changelists()
    unlisted = probe_methods(world, client, ROWS)
    assert not unlisted, "methods served but not in the matrix (add rows): " + "; ".join(unlisted)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_cell_of_the_principals_column_is_the_expected_answer(
    db: None, principal: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The board pack prints one section, not three: who may download it is the
    # question here (tests/web/test_board_pack.py reads the whole pack).
    monkeypatch.setattr(board_pack, "SECTIONS", [board_pack.ranking_for_pack])
    world = world_build()
    cells: list[Cell] = []
    for method, path, answers in ROWS:
        expected = answers[principal]
        if expected == "-":
            continue
        cells.append(cell_check(world, principal, method, path, expected))
    wrong = [cell for cell in cells if not cell.ok]
    _record(request, principal, cells)
    assert not wrong, f"{len(wrong)} of {len(cells)} cells wrong for {principal}:\n" + "\n".join(
        f"  {cell.method} {cell.path} as {principal}: expected {cell.expected}, got {cell.got}"
        + (f"\n      {cell.detail!r}" if cell.detail else "")
        for cell in wrong
    )


def test_no_write_is_taken_from_a_session_without_its_csrf_token(
    db: None, request: pytest.FixtureRequest
) -> None:
    """Every write row but tracking's (which takes no session), sent with the
    marketer's session and no CSRF token, as another site's form would: 403,
    nothing written. Tokens need no CSRF token: they are not sent by a browser."""
    world = world_build()
    writes = [
        (method, path)
        for method, path, _ in ROWS
        if method in ("POST", "PUT", "PATCH", "DELETE") and not path.startswith("/v1/")
    ]
    wrong = [
        f"{method} {path}: {got}"
        for method, path in writes
        if (got := csrf_check(world, method, path)) != "403"
    ]
    assert len(writes) > 60
    request.config.stash.setdefault(ACCESS_MATRIX_KEY, {})["no CSRF token"] = {
        "cells": len(writes), "allowed": 0, "refused": len(writes), "wrong": len(wrong),
        "rows": len(ROWS),
    }  # fmt: skip
    assert not wrong, "writes taken without a CSRF token:\n" + "\n".join(wrong)


def test_every_route_with_an_id_answers_404_for_an_id_of_nothing(
    db: None, request: pytest.FixtureRequest
) -> None:
    """Each row whose path takes ids, with ids of nothing, asked by the
    superuser: 404, never a 500 or an answer about something else."""
    world = world_build()
    rows = [
        (method, path) for method, path, _ in ROWS
        if "{" in path.replace("{period}", "") and not path.startswith("/admin/")
    ]  # fmt: skip
    # Stopping to follow is 204 either way (engagement.api.AccountFollowApi).
    expected = {("DELETE", "/api/accounts/{followed_account}/follow/"): "204"}
    wrong = [
        f"{method} {path}: {got}"
        for method, path in rows
        if (got := missing_check(world, method, path)) != expected.get((method, path), "404")
    ]
    assert len(rows) > 70
    request.config.stash.setdefault(ACCESS_MATRIX_KEY, {})["ids of nothing"] = {
        "cells": len(rows), "allowed": 0, "refused": len(rows), "wrong": len(wrong),
        "rows": len(ROWS),
    }  # fmt: skip
    assert not wrong, "ids of nothing not answered 404:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "path",
    [
        "/api/campaigns/{campaign}/",
        "/api/programs/",
        "/api/spend/{spend}/",
        "/campaigns/{campaign}/",
        "/campaigns/{campaign}/spend/",
        "/ranking/{run}/?csv=ranked",
    ],
)
def test_the_spend_check_finds_spend_where_a_marketer_reads_it(
    db: None, client: Client, path: str
) -> None:
    """The sales column's cells also check that no answer shows spend
    (access_cells.spend_shown); here the check finds it in the marketer's."""
    world = world_build()
    client.force_login(world.users["marketer"])
    response = client.get(world.fill(path)[0])
    assert response.status_code == 200
    assert spend_shown(response)


def _record(request: pytest.FixtureRequest, principal: str, cells: list[Cell]) -> None:
    """Kept for the summary the run prints (tests/conftest.py)."""
    store = request.config.stash.setdefault(ACCESS_MATRIX_KEY, {})
    store[principal] = {
        "cells": len(cells),
        "allowed": sum(1 for cell in cells if cell.allowed),
        "refused": sum(1 for cell in cells if not cell.allowed),
        "wrong": sum(1 for cell in cells if not cell.ok),
        "rows": len(ROWS),
    }
