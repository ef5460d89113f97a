"""Writes of the marketer's junk lists (JunkRule rows), as the rules page saves them.

Flagging contacts by hand and re-applying the rules are elsewhere, one owner
each: accounts.services.contact_junk_review and contacts_junk_evaluate, called
by engagement.services.junk (which makes the contacts' activity follow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from accounts.junk import junk_rule_lines_parse
from accounts.models import JunkRule, JunkRuleKind


class JunkRulesInvalid(ValueError):
    """Rule values that cannot be saved: the errors of each kind, line by line."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(e for kind_errors in errors.values() for e in kind_errors))
        self.errors = errors


@dataclass(frozen=True)
class JunkRulesReplaced:
    added: int
    removed: int


@transaction.atomic
def junk_rules_replace(*, lists: Mapping[str, str]) -> JunkRulesReplaced:
    """Replace the marketer's junk lists (JunkRule rows) by the ones typed, one
    value a line, kind by kind; a kind missing from `lists` is emptied. All or
    nothing: one invalid line saves nothing (JunkRulesInvalid names each line).

    The contacts are not re-evaluated here (it reads every contact):
    engagement.services.junk.junk_rules_apply does it, as a job."""
    wanted: set[tuple[str, str]] = set()
    errors: dict[str, list[str]] = {}
    for kind in JunkRuleKind.values:
        values, kind_errors = junk_rule_lines_parse(kind, lists.get(kind, ""))
        if kind_errors:
            errors[kind] = kind_errors
        wanted.update((kind, value) for value in values)
    unknown = set(lists) - set(JunkRuleKind.values)
    if unknown:
        errors["__all__"] = [f"Unknown kind of rule: {kind}." for kind in sorted(unknown)]
    if errors:
        raise JunkRulesInvalid(errors)
    stored = {(rule.kind, rule.value): rule.pk for rule in JunkRule.objects.all()}
    gone = [pk for key, pk in stored.items() if key not in wanted]
    JunkRule.objects.filter(pk__in=gone).delete()
    JunkRule.objects.bulk_create(
        [JunkRule(kind=kind, value=value) for kind, value in sorted(wanted - set(stored))]
    )
    return JunkRulesReplaced(added=len(wanted - set(stored)), removed=len(gone))
