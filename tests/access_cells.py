"""Asking one cell of the access matrix (tests/test_access_matrix.py): the
request each principal sends, the body of each write and what the write
changes, and the answer read back as the table spells it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve

from accounts.models import Account, AccountFollow, Contact, ICPSegment, JunkRule, Opportunity
from campaigns.models import (
    Campaign,
    CampaignTarget,
    PipelinePlan,
    Program,
    RankingEntry,
    RankingRun,
    Spend,
)
from campaigns.spend_visibility import SPEND_KEYS
from core.models import Job
from engagement.models import (
    Activity,
    AnonymousIdentity,
    IdentityCall,
    RejectedCall,
    ScoringModel,
    Source,
)
from imports.models import ImportFile
from tests.access_world import PASSWORD, World, message_id
from web.scoring_forms import ScoringModelForm

# The run's summary (tests/conftest.py) reads what each principal's test stored.
ACCESS_MATRIX_KEY = pytest.StashKey[dict[str, dict[str, int]]]()
USER_PRINCIPALS = ("marketer", "sales", "exec", "norole")
ALLOWED = {"200", "201", "202", "204", "302"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Cell:
    method: str
    path: str
    expected: str
    got: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.got == self.expected

    @property
    def allowed(self) -> bool:
        return self.expected in ALLOWED


def answer_of(response: Any) -> str:
    """The answer as the table writes it."""
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return "admin"
        if location.startswith("/login/"):
            return "login"
    return str(response.status_code)


# --- bodies --------------------------------------------------------------------------------------
# (method, path as in the table) -> the body; "json" bodies go as JSON, the
# others as a form (multipart, files allowed).

Body = Callable[[World], dict[str, Any]]


def _track(kind: str) -> Body:
    def body(world: World) -> dict[str, Any]:
        call: dict[str, Any] = {"type": kind, "messageId": message_id(), "userId": "matrix-user",
                                "timestamp": "2026-11-20T10:00:00Z"}  # fmt: skip
        extra: dict[str, dict[str, Any]] = {
            "track": {"event": "Demo Requested"},
            "page": {"name": "Pricing", "properties": {"url": "https://matrix.example/pricing"}},
            "screen": {"name": "Home"},
            "identify": {"traits": {"email": "someone@matrix.example"}},
            "group": {"groupId": "matrix.example", "traits": {"name": "Matrix"}},
            "alias": {"previousId": "anon-1"},
        }
        return {**call, **extra[kind]}

    return body


def _batch(world: World) -> dict[str, Any]:
    return {"batch": [_track("track")(world), _track("identify")(world)]}


def _csv(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def _campaign_json(world: World) -> dict[str, Any]:
    return {"name": f"API campaign {world.n()}", "objective": "pipeline",
            "starts_on": "2027-01-01", "ends_on": "2027-03-31"}  # fmt: skip


def _program_json(world: World) -> dict[str, Any]:
    n = world.n()
    return {"campaign": world.ids["campaign"], "name": f"API program {n}", "channel": "webinar",
            "starts_on": "2026-01-01", "ends_on": "2026-03-31",
            "tracking_key": f"api-program-{n}"}  # fmt: skip


def _spend_json(world: World) -> dict[str, Any]:
    return {"program": world.ids["program"], "spent_on": "2026-02-01",
            "amount": f"{100 + world.n()}.00"}  # fmt: skip


def _plan_json(world: World) -> dict[str, Any]:
    return {"name": f"API plan {world.n()}", "period_start": "2026-01-01",
            "period_end": "2026-03-31", "revenue_target": "100000", "win_rate": "0.25",
            "average_deal_size": "20000", "cycle_time_days": 60}  # fmt: skip


def _plan_form(world: World) -> dict[str, Any]:
    return {**_plan_json(world), "currency": "USD", "name": f"Page plan {world.n()}",
            "lookback_days": 365}  # fmt: skip


def _campaign_form(world: World) -> dict[str, Any]:
    return {"name": f"Page campaign {world.n()}", "objective": "pipeline",
            "starts_on": "2027-01-01", "ends_on": "2027-03-31", "currency": "USD",
            "holdout_percent": "10"}  # fmt: skip


def _program_form(world: World) -> dict[str, Any]:
    n = world.n()
    return {"name": f"Page program {n}", "channel": "webinar", "starts_on": "2027-01-01",
            "ends_on": "2027-02-01", "tracking_key": f"page-program-{n}",
            "status": "planned"}  # fmt: skip


def _spend_form(world: World) -> dict[str, Any]:
    return {"program": world.ids["program"], "spent_on": "2026-02-01",
            "amount": f"{200 + world.n()}", "currency": "USD"}  # fmt: skip


def _scoring_form(world: World) -> dict[str, Any]:
    """The edit form as the page fills it, with a new half-life: a new version."""
    model = ScoringModel.objects.get(segment_id=world.ids["segment"], is_current=True)
    form = ScoringModelForm(model=model)
    data = {name: form[name].value() for name in form.fields if name != "required_roles"}
    return {**data, "action": "save", "half_life_days": 20 + world.n(),
            "required_roles": list(form["required_roles"].value() or [])}  # fmt: skip


def _segment_form(world: World) -> dict[str, Any]:
    return {"name": f"Page segment {world.n()}", "description": "", "is_active": "on",
            "min_fit": "50", "criteria-TOTAL_FORMS": "1", "criteria-INITIAL_FORMS": "0",
            "criteria-MIN_NUM_FORMS": "0", "criteria-MAX_NUM_FORMS": "50",
            "criteria-0-field": "industry", "criteria-0-op": "in",
            "criteria-0-value": "Software", "criteria-0-weight": "1"}  # fmt: skip


JSON_BODIES: dict[tuple[str, str], Body] = {
    **{("POST", f"/v1/{kind}"): _track(kind)
       for kind in ("identify", "group", "track", "page", "screen", "alias")},
    **{("POST", f"/v1/{kind[0]}"): _track(kind)
       for kind in ("identify", "group", "track", "page", "screen", "alias")},
    ("POST", "/v1/batch"): _batch,
    ("POST", "/v1/b"): _batch,
    ("POST", "/api/segments/"): lambda w: {"name": f"API segment {w.n()}"},
    ("POST", "/api/campaigns/"): _campaign_json,
    ("PUT", "/api/campaigns/{campaign}/"): _campaign_json,
    ("PATCH", "/api/campaigns/{campaign}/"): lambda w: {"description": f"Patched {w.n()}"},
    ("POST", "/api/campaigns/{fresh_campaign}/targets/"): lambda w: {"tiers": [2]},
    ("POST", "/api/programs/"): _program_json,
    ("PUT", "/api/programs/{program}/"): _program_json,
    ("PATCH", "/api/programs/{program}/"): lambda w: {"name": f"Patched program {w.n()}"},
    ("POST", "/api/spend/"): _spend_json,
    ("PUT", "/api/spend/{fresh_spend}/"): _spend_json,
    ("PATCH", "/api/spend/{fresh_spend}/"): lambda w: {"amount": f"{300 + w.n()}.00"},
    ("POST", "/api/rankings/"): lambda w: {"start": "2026-01-01", "end": "2026-06-30"},
    ("POST", "/api/rankings/{run}/decide/"): lambda w: {
        "entry": w.ids["entry"], "decision": "kept", "note": f"Kept {w.n()}"},
    ("POST", "/api/pipeline-plans/"): _plan_json,
    ("PUT", "/api/pipeline-plans/{plan}/"): _plan_json,
    ("PATCH", "/api/pipeline-plans/{plan}/"): lambda w: {"name": f"Patched plan {w.n()}"},
    ("POST", "/api/pipeline-plans/{plan}/fill_from_history/"): lambda w: {"lookback_days": 365},
    ("POST", "/api/opportunities/"): lambda w: {
        "external_id": f"api-deal-{w.n()}", "account": w.ids["account"],
        "name": f"API deal {w.n()}", "amount": "1000.00",
        "opened_on": "2026-03-01", "status": "open"},
}  # fmt: skip

FORM_BODIES: dict[tuple[str, str], Body] = {
    ("POST", "/api/imports/accounts/"): lambda w: {
        "file": _csv("a.csv", f"name,domain\nAPI import {w.n()},api{w.n()}.example\n")},
    ("POST", "/api/imports/contacts/"): lambda w: {
        "file": _csv("c.csv", f"email,first_name\napi{w.n()}@matrix.example,Ann\n")},
    ("POST", "/api/imports/nonsense/"): lambda w: {"file": _csv("x.csv", "a\n1\n")},
    ("POST", "/login/"): lambda w: {"username": "matrix-visitor", "password": PASSWORD},
    ("POST", "/accounts/{fresh_account}/follow/"): lambda w: {"follow": "1"},
    ("POST", "/accounts/{account}/target/"): lambda w: {"is_target": "1"},
    ("POST", "/segments/new/"): _segment_form,
    ("POST", "/segments/{segment}/"): _segment_form,
    ("POST", "/segments/preview/"): _segment_form,
    ("POST", "/scoring/{segment}/"): _scoring_form,
    ("POST", "/campaigns/new/"): _campaign_form,
    ("POST", "/campaigns/{campaign}/edit/"): lambda w: {**_campaign_form(w),
                                                        "name": f"Edited {w.n()}"},
    ("POST", "/campaigns/{campaign}/targets/from-filters/"): lambda w: {"filters": "tier=2"},
    ("POST", "/campaigns/{campaign}/targets/paste/"): lambda w: {
        "domains": "paste.example"},
    ("POST", "/campaigns/{campaign}/targets/upload/"): lambda w: {
        "file": _csv("t.csv", "domain\nupload.example\n")},
    ("POST", "/campaigns/{targeted_campaign}/targets/remove/"): lambda w: {
        "account": w.ids["account"]},
    ("POST", "/campaigns/{campaign}/programs/new/"): _program_form,
    ("POST", "/campaigns/{campaign}/programs/{program}/edit/"): _program_form,
    ("POST", "/campaigns/{campaign}/spend/"): _spend_form,
    ("POST", "/campaigns/{campaign}/spend/{fresh_spend}/edit/"): _spend_form,
    ("POST", "/imports/new/"): lambda w: {
        "kind": "contacts", "file": _csv("c.csv", f"email\npage{w.n()}@matrix.example\n")},
    ("POST", "/imports/{import_accounts}/"): lambda w: {"column_0": "name", "column_1": "domain"},
    ("POST", "/imports/{import_accounts}/run/"): lambda w: {"mode": "all_or_nothing"},
    ("POST", "/sources/new/"): lambda w: {"name": f"Page source {w.n()}"},
    ("POST", "/junk/contacts/{contact}/decision/"): lambda w: {
        "is_junk": "1", "reason": f"Matrix {w.n()}"},
    ("POST", "/junk/rules/"): lambda w: {"competitor_domain": f"rival{w.n()}.example"},
    ("POST", "/junk/rules/preview/"): lambda w: {"competitor_domain": "rival.example"},
    ("POST", "/ranking/run/"): lambda w: {"start": "2026-01-01", "end": "2026-06-30",
                                          "metric": "pipeline_per_spend"},
    ("POST", "/readiness/segments/{segment}/alert/"): lambda w: {
        f"segment-{w.ids['segment']}-percent": str(1 + w.n() % 98)},
    ("POST", "/ranking/{run}/entries/{entry}/decide/"): lambda w: {
        f"entry-{w.ids['entry']}-decision": "kept",
        f"entry-{w.ids['entry']}-reason": f"Kept {w.n()}"},
    ("POST", "/reports/plans/new/"): _plan_form,
    ("POST", "/reports/plans/{plan}/fill/"): lambda w: {"lookback_days": 365},
    ("POST", "/reports/plans/{plan}/edit/"): _plan_form,
}  # fmt: skip


# --- what a write changes ------------------------------------------------------------------------
# (method, path as in the table) -> a reading taken before and after the
# request: it must change when the answer allows the write, and not otherwise.

Probe = Callable[[World, dict[str, int]], Any]


def _count(model: Any, **filters: Any) -> Probe:
    return lambda world, ids: model.objects.filter(**filters).count()


def _tracked(world: World, ids: dict[str, int]) -> int:
    return sum(
        model.objects.count() for model in (Activity, IdentityCall, AnonymousIdentity, RejectedCall)
    )


def _field(model: Any, placeholder: str, *names: str) -> Probe:
    def probe(world: World, ids: dict[str, int]) -> Any:
        pk = ids.get(placeholder, world.ids.get(placeholder))
        return model.objects.filter(pk=pk).values_list(*names).first()

    return probe


def _exists(model: Any, placeholder: str) -> Probe:
    return lambda world, ids: model.objects.filter(pk=ids[placeholder]).exists()


PROBES: dict[tuple[str, str], Probe] = {
    **{("POST", f"/v1/{kind}"): _tracked
       for kind in ("batch", "identify", "group", "track", "page", "screen", "alias",
                    "b", "i", "g", "t", "p", "s", "a")},
    ("POST", "/api/accounts/{fresh_account}/follow/"): _count(AccountFollow),
    ("DELETE", "/api/accounts/{followed_account}/follow/"): _count(AccountFollow),
    ("POST", "/api/segments/"): _count(ICPSegment),
    ("POST", "/api/imports/accounts/"): _count(Account),
    ("POST", "/api/imports/contacts/"): _count(Contact),
    ("POST", "/api/campaigns/"): _count(Campaign),
    ("PUT", "/api/campaigns/{campaign}/"): _field(Campaign, "campaign", "name"),
    ("PATCH", "/api/campaigns/{campaign}/"): _field(Campaign, "campaign", "description"),
    ("DELETE", "/api/campaigns/{fresh_campaign}/"): _exists(Campaign, "fresh_campaign"),
    ("POST", "/api/campaigns/{fresh_campaign}/targets/"): _count(CampaignTarget),
    ("POST", "/api/programs/"): _count(Program),
    ("PUT", "/api/programs/{program}/"): _field(Program, "program", "name"),
    ("PATCH", "/api/programs/{program}/"): _field(Program, "program", "name"),
    ("DELETE", "/api/programs/{fresh_program}/"): _exists(Program, "fresh_program"),
    ("POST", "/api/spend/"): _count(Spend),
    ("PUT", "/api/spend/{fresh_spend}/"): _field(Spend, "fresh_spend", "amount"),
    ("PATCH", "/api/spend/{fresh_spend}/"): _field(Spend, "fresh_spend", "amount"),
    ("DELETE", "/api/spend/{fresh_spend}/"): _exists(Spend, "fresh_spend"),
    ("POST", "/api/rankings/"): _count(RankingRun),
    ("POST", "/api/readiness/models/train/"): _count(Job),
    ("POST", "/api/rankings/{run}/decide/"): _field(RankingEntry, "entry", "decision_note"),
    ("POST", "/api/pipeline-plans/"): _count(PipelinePlan),
    ("PUT", "/api/pipeline-plans/{plan}/"): _field(PipelinePlan, "plan", "name"),
    ("PATCH", "/api/pipeline-plans/{plan}/"): _field(PipelinePlan, "plan", "name"),
    ("DELETE", "/api/pipeline-plans/{fresh_plan}/"): _exists(PipelinePlan, "fresh_plan"),
    ("POST", "/api/pipeline-plans/{plan}/fill_from_history/"): _field(
        PipelinePlan, "plan", "updated_at"),
    ("POST", "/api/opportunities/"): _count(Opportunity),
    ("POST", "/accounts/{fresh_account}/follow/"): _count(AccountFollow),
    ("POST", "/accounts/{account}/target/"): _field(Account, "account", "is_target"),
    ("POST", "/segments/new/"): _count(ICPSegment),
    ("POST", "/segments/{segment}/"): _field(ICPSegment, "segment", "name"),
    ("POST", "/scoring/{segment}/"): _count(ScoringModel),
    ("POST", "/campaigns/new/"): _count(Campaign),
    ("POST", "/campaigns/{campaign}/edit/"): _field(Campaign, "campaign", "name"),
    ("POST", "/campaigns/{campaign}/targets/from-filters/"): _count(CampaignTarget),
    ("POST", "/campaigns/{campaign}/targets/upload/"): _count(CampaignTarget),
    ("POST", "/campaigns/{targeted_campaign}/targets/remove/"): _count(CampaignTarget),
    ("POST", "/campaigns/{campaign}/holdout/redraw/"): _field(Campaign, "campaign",
                                                               "holdout_seed"),
    ("POST", "/campaigns/{campaign}/programs/new/"): _count(Program),
    ("POST", "/campaigns/{campaign}/programs/{program}/edit/"): _field(Program, "program",
                                                                        "name"),
    ("POST", "/campaigns/{campaign}/spend/"): _count(Spend),
    ("POST", "/campaigns/{campaign}/spend/{fresh_spend}/edit/"): _field(Spend, "fresh_spend",
                                                                         "amount"),
    ("POST", "/campaigns/{campaign}/spend/{fresh_spend}/delete/"): _exists(Spend, "fresh_spend"),
    ("POST", "/imports/new/"): _count(ImportFile),
    ("POST", "/sources/new/"): _count(Source),
    ("POST", "/sources/{fresh_source}/rotate/"): _field(Source, "fresh_source",
                                                        "write_key_hash"),
    ("POST", "/sources/{fresh_source}/revoke/"): _field(Source, "fresh_source", "is_active"),
    ("POST", "/junk/contacts/{contact}/decision/"): _field(Contact, "contact", "junk_reason"),
    ("POST", "/junk/rules/"): _count(JunkRule),
    ("POST", "/ranking/run/"): _count(Job),
    ("POST", "/readiness/train/"): _count(Job),
    ("POST", "/readiness/segments/{segment}/alert/"): _field(ICPSegment, "segment",
                                                              "readiness_alert_percent"),
    ("POST", "/ranking/{run}/entries/{entry}/decide/"): _field(RankingEntry, "entry",
                                                                "decision_note"),
    ("POST", "/reports/plans/new/"): _count(PipelinePlan),
    ("POST", "/reports/plans/{plan}/fill/"): _field(PipelinePlan, "plan", "updated_at"),
    ("POST", "/reports/plans/{plan}/edit/"): _field(PipelinePlan, "plan", "name"),
}  # fmt: skip


# --- asking ------------------------------------------------------------------------------------


def _client(world: World, principal: str, *, token: bool) -> tuple[Client, dict[str, str]]:
    """A client as the principal, and the headers it sends."""
    client = Client()
    headers: dict[str, str] = {}
    if principal in USER_PRINCIPALS:
        if token:
            headers["Authorization"] = f"Token {world.tokens[principal]}"
        else:
            client.force_login(world.users[principal])
    elif principal == "staff":
        client.force_login(world.users["staff"])
    elif principal == "key":
        basic = base64.b64encode(f"{world.write_key}:".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    return client, headers


def send(
    world: World,
    client: Client,
    headers: dict[str, str],
    method: str,
    template: str,
    path: str,
) -> Any:
    """One request of a row, with the row's body."""
    key = (method, template)
    if key in JSON_BODIES:
        data: Any = orjson.dumps(JSON_BODIES[key](world))
        return client.generic(method, path, data, content_type="application/json",
                              headers=headers)  # fmt: skip
    if key in FORM_BODIES:
        return client.post(path, FORM_BODIES[key](world), headers=headers)
    return client.generic(method, path, headers=headers)


SPEND_TEXTS = ("48213.57", "48,213.57", "48,214", "48214")


def spend_shown(response: Any) -> str:
    """Where an answer shows spend: a figure drawn from spend that is not null
    in a JSON answer, or the world's one distinctive spend amount in a page or
    a CSV file (the rule: campaigns.spend_visibility)."""
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    if response.get("Content-Type", "").startswith("application/json"):
        shown = _spend_keys_shown(orjson.loads(body))
        if shown:
            return shown
    text = body.decode(errors="replace")
    return next((amount for amount in SPEND_TEXTS if amount in text), "")


def _spend_keys_shown(value: Any) -> str:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SPEND_KEYS and item is not None:
                return f"{key}={item}"
            found = _spend_keys_shown(item)
            if found:
                return found
    if isinstance(value, list):
        return next((found for item in value if (found := _spend_keys_shown(item))), "")
    return ""


def _detail(response: Any) -> str:
    """What a wrong answer said: a form's errors, the redirect, or the body's start."""
    if response.status_code == 302:
        return f"to {response['Location']}"
    for context in getattr(response, "context", None) or []:
        for name in ("form", "row_errors"):
            if context.get(name):
                found = context[name]
                return str(getattr(found, "errors", found))[:300]
    if getattr(response, "streaming", False):
        return ""
    return response.content[:300].decode(errors="replace")


def cell_check(world: World, principal: str, method: str, template: str, expected: str) -> Cell:
    """Ask the cell: on /api/ a user asks with the session and with the token;
    on /v1/ a user sends the token. A write's reading must move only when the
    answer allows it."""
    ways: tuple[bool, ...]
    if principal in USER_PRINCIPALS and template.startswith("/api/"):
        ways = (False, True)
    elif principal in USER_PRINCIPALS and template.startswith("/v1/"):
        ways = (True,)
    else:
        ways = (False,)
    answers, detail = [], ""
    for token in ways:
        client, headers = _client(world, principal, token=token)
        path, ids = world.fill(template)
        probe = PROBES.get((method, template))
        before = probe(world, ids) if probe else None
        response = send(world, client, headers, method, template, path)
        got = answer_of(response)
        if principal == "sales" and got == "200":
            leak = spend_shown(response)
            got += f" (but it showed spend: {leak})" if leak else ""
        if got != expected:
            detail = _detail(response)
        if probe is not None:
            changed = probe(world, ids) != before
            if changed and got not in ALLOWED:
                got += " (but it wrote)"
            elif not changed and got in ALLOWED:
                got += " (but nothing was written)"
        answers.append(got if len(ways) == 1 else f"{'token' if token else 'session'} {got}")
    if len(ways) == 2 and all(a.split(" ", 1)[1] == expected for a in answers):
        return Cell(method, template, expected, expected)
    got = answers[0] if len(ways) == 1 else ", ".join(answers)
    return Cell(method, template, expected, got, detail)


def csrf_check(world: World, method: str, template: str) -> str:
    """A write sent with the marketer's session but without the CSRF token, as
    another site's form would send it: "403" when refused and nothing written."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["marketer"])
    path, ids = world.fill(template)
    probe = PROBES.get((method, template))
    before = probe(world, ids) if probe else None
    got = answer_of(send(world, client, {}, method, template, path))
    if probe is not None and probe(world, ids) != before:
        got += " (and it wrote)"
    return got


def missing_check(world: World, method: str, template: str) -> str:
    """The row with every id in its path pointing at nothing, asked by the
    superuser (who passes every permission): the answer, which must be 404."""
    client = Client()
    client.force_login(world.users["staff"])
    nothing = dict.fromkeys([*world.ids, *world.fresh], world.ids["missing"])
    missing = World(users=world.users, tokens=world.tokens, write_key=world.write_key, ids=nothing)
    path, _ = missing.fill(template)
    return answer_of(send(world, client, {}, method, template, path))


def probe_methods(world: World, client: Client, rows: list[tuple[str, str, Any]]) -> list[str]:
    """The (method, route) pairs no row lists that answer the superuser
    anything but 405 (admin rows aside: the admin's pages are Django's)."""
    client.force_login(world.users["staff"])
    listed: dict[str, tuple[str, set[str]]] = {}
    for method, template, _ in rows:
        route = resolve(world.fill(template)[0].split("?")[0]).view_name
        listed.setdefault(route, (template, set()))[1].add(method)
    served = []
    for template, methods in listed.values():
        if template.startswith("/admin/"):
            continue
        path, _ = world.fill(template)
        for method in METHODS:
            if method in methods:
                continue
            # Not served if one of them hears 405: a signed-in user may be sent
            # on before the method is looked at (the login page), an anonymous
            # one to sign in (every other page).
            status = client.generic(method, path).status_code
            if status != 405 and Client().generic(method, path).status_code != 405:
                served.append(f"{method} {template} answered {status}")
    return served


def access_matrix_lines(columns: dict[str, dict[str, int]]) -> list[str]:
    """The matrix's figures as printed in the CI log: each column, then the total."""
    lines = [
        f"{principal:>14}: {figures['cells']} cells, {figures['allowed']} allowed, "
        f"{figures['refused']} refused, {figures['wrong']} wrong"
        for principal, figures in columns.items()
    ]
    total = sum(figures["cells"] for figures in columns.values())
    wrong = sum(figures["wrong"] for figures in columns.values())
    rows = next(iter(columns.values()))["rows"]
    lines.append(
        f"{rows} rows (method, route), {len(columns)} columns: "
        f"{total} cells checked, {wrong} mismatches"
    )
    return lines
