"""What the fuzzer counts as a success without the right (fuzzing.may_succeed)."""

from __future__ import annotations

from tests.api_fuzz.fuzzing import may_succeed

MARKETER = frozenset({"campaigns.view_spend", "campaigns.add_spend", "campaigns.view_campaign"})
SALES = frozenset({"campaigns.view_campaign"})


def test_a_write_key_succeeds_only_on_tracking_and_a_user_only_on_the_api() -> None:
    assert may_succeed("write_key", "POST", "/v1/batch", frozenset())
    assert not may_succeed("write_key", "GET", "/api/accounts/", frozenset())
    assert not may_succeed("marketer", "POST", "/v1/track", MARKETER)
    assert not may_succeed("anonymous", "POST", "/v1/track", frozenset())
    assert not may_succeed("anonymous", "GET", "/api/alerts/", frozenset())
    assert may_succeed("sales", "GET", "/api/alerts/", SALES)


def test_a_resource_read_or_write_needs_the_model_permission() -> None:
    assert may_succeed("marketer", "GET", "/api/spend/{id}/", MARKETER)
    assert may_succeed("marketer", "POST", "/api/spend/", MARKETER)
    assert not may_succeed("marketer", "DELETE", "/api/spend/{id}/", MARKETER)
    assert not may_succeed("sales", "GET", "/api/spend/", SALES)
    assert may_succeed("sales", "GET", "/api/campaigns/{id}/", SALES)
    assert not may_succeed("sales", "PATCH", "/api/campaigns/{id}/", SALES)
