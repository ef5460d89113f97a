"""Proof 1 of issue 18: every operation of the OpenAPI schema fuzzed against a live
server once per principal, with 0 server errors, 0 answers that differ from the
schema and 0 successes without the right (tests/api_fuzz/fuzzing.py says what is
counted). The figures are printed at the end of the run (conftest.py).

A larger run: `FUZZ_EXAMPLES=200 .venv/bin/pytest tests/api_fuzz/test_fuzz.py`;
FUZZ_LOG=<file> appends every problem found to that file.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Any

import pytest
import requests

from accounts.api_tokens import api_token_create
from campaigns.models import PipelinePlan
from engagement.models import Source
from engagement.services.sources import source_create
from tests.api_fuzz.fuzzing import PRINCIPALS, USERS, examples_per_operation, fuzz
from tests.api_fuzz.fuzzing import principal_headers as headers_for
from tests.factories import (
    AccountEngagementFactory,
    AlertFactory,
    CampaignTargetFactory,
    OpportunityFactory,
    SegmentMembershipFactory,
    SpendFactory,
    UserFactory,
)
from tests.proof_figures import record

# Transactional (the live server reads from another thread); the migrations' role
# groups and their permissions are put back after another test's flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROLES = {"marketer": "Marketer", "sales": "Sales", "executive": "Executive"}


def _seed() -> dict[str, int]:
    """A few rows of each kind, so that detail operations sometimes find one;
    the ids by the first segment of their /api/ path."""
    spend = SpendFactory.create()
    target = CampaignTargetFactory.create(campaign=spend.program.campaign)
    engagement = AccountEngagementFactory.create(account=target.account)
    SegmentMembershipFactory.create(account=target.account, segment=engagement.segment)
    AlertFactory.create(account=target.account, segment=engagement.segment)
    opportunity = OpportunityFactory.create(account=target.account)
    plan = PipelinePlan.objects.create(
        name="FY26 Q1", period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 3, 31),
        revenue_target=Decimal("100000"), win_rate=Decimal("0.25"),
        average_deal_size=Decimal("25000"), cycle_time_days=60,
    )  # fmt: skip
    return {
        "pipeline-plans": plan.pk,
        "campaigns": spend.program.campaign_id,
        "programs": spend.program_id,
        "spend": spend.pk,
        "accounts": target.account_id,
        "opportunities": opportunity.pk,
        "reports": spend.program.campaign_id,
    }


@pytest.fixture
def principals() -> dict[str, tuple[dict[str, str], frozenset[str]]]:
    """Each principal's headers and permissions (a user's, from its role group:
    the migrations' grants; none for a write key or nobody)."""
    tokens, permissions = {}, {}
    for principal in USERS:
        user = UserFactory.create(username=f"fuzz-{principal}", groups=[ROLES[principal]])
        tokens[principal] = api_token_create(user_id=user.pk, name="fuzz")[1]
        permissions[principal] = frozenset(user.get_all_permissions())
    issued = source_create(name="Fuzzed website")
    # The fuzzer may send faster than a source's default limit; 429 is documented
    # and seen by tests/engagement, but here every call should reach the parser.
    Source.objects.filter(pk=issued.source.pk).update(rate_limit_per_second=1_000_000)
    return {
        principal: (
            headers_for(principal, tokens=tokens, write_key=issued.write_key),
            permissions.get(principal, frozenset()),
        )
        for principal in PRINCIPALS
    }


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_operation_answers_as_documented_and_only_to_the_right_principal(
    live_server: Any, principals: dict[str, tuple[dict[str, str], frozenset[str]]], principal: str
) -> None:
    real_ids = _seed()
    schema_answer = requests.get(
        f"{live_server.url}/api/schema/?format=json", headers=principals["marketer"][0], timeout=30
    )
    assert schema_answer.status_code == 200
    schema = schema_answer.json()

    result = fuzz(
        schema=schema,
        base_url=live_server.url,
        principal=principal,
        headers=principals[principal][0],
        real_ids=real_ids,
        examples=examples_per_operation(),
        permissions=principals[principal][1],
    )
    record(
        "fuzz",
        f"{result.principal:<10} {result.operations} operations, {result.requests} requests "
        f"({examples_per_operation()} examples each): {len(result.server_errors)} server errors, "
        f"{len(result.violations)} schema violations, "
        f"{len(result.unauthorised)} unauthorised 2xx",
    )
    if log := os.environ.get("FUZZ_LOG"):
        with open(log, "a") as out:
            out.writelines(f"[{principal}] {problem}\n" for problem in result.problems())

    assert result.operations == sum(len(item) for item in schema["paths"].values())
    assert result.requests >= result.operations
    assert result.problems() == [], "\n".join(result.problems()[:30])
