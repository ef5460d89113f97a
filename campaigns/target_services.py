"""Writes of the campaign pages: a campaign edit that keeps a running
campaign's holdout (the API's campaign update calls it too), and, which the
API does not make, a redraw under a new seed, removing targets and adding
them from a pasted list of domains.

They build on campaigns.services (the holdout draw and the target list have
one owner there) and on the rule of campaigns.holdout.holdout_frozen.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Account
from accounts.normalise import InvalidValue, normalise_domain
from campaigns.holdout import holdout_frozen
from campaigns.models import Campaign, CampaignTarget
from campaigns.services import (
    HoldoutDrawn,
    TargetsRejected,
    TargetsSet,
    campaign_targets_set,
    campaign_update,
)
from core import bulk
from core.csvimport import RowError

HOLDOUT_FROZEN_MESSAGE = (
    "The campaign has started, so its holdout is fixed: a new fraction or seed would "
    "move accounts the campaign has already reached into the holdout."
)


@transaction.atomic
def campaign_edit(*, campaign_id: int, values: Mapping[str, Any], today: date) -> Campaign:
    """`campaign_update`, refusing a new holdout fraction or seed once the
    campaign has started (holdout_frozen): the error names the field."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if holdout_frozen(starts_on=campaign.starts_on, today=today):
        for name in ("holdout_fraction", "holdout_seed"):
            if name in values and values[name] != getattr(campaign, name):
                raise ValidationError({name: HOLDOUT_FROZEN_MESSAGE})
    return campaign_update(campaign_id=campaign_id, values=values)


@transaction.atomic
def campaign_holdout_reseed(*, campaign_id: int, today: date) -> HoldoutDrawn:
    """Draw the holdout again under a new random seed (before the campaign
    starts only); the whole target list is redrawn by `campaign_update`."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if holdout_frozen(starts_on=campaign.starts_on, today=today):
        raise ValidationError({"holdout_seed": HOLDOUT_FROZEN_MESSAGE})
    seed = campaign.holdout_seed
    while seed == campaign.holdout_seed:
        seed = secrets.randbelow(2**62)
    campaign_update(campaign_id=campaign_id, values={"holdout_seed": seed})
    targets = CampaignTarget.objects.filter(campaign_id=campaign_id)
    return HoldoutDrawn(targets=targets.count(), holdout=targets.filter(in_holdout=True).count())


@transaction.atomic
def campaign_targets_remove(*, campaign_id: int, account_ids: Sequence[int]) -> TargetsSet:
    """Take accounts off the target list; the others keep their arm."""
    Campaign.objects.select_for_update().get(pk=campaign_id)
    removed = 0
    for chunk in bulk.chunks(sorted(set(account_ids)), bulk.LOOKUP_CHUNK):
        removed += CampaignTarget.objects.filter(
            campaign_id=campaign_id, account_id__in=chunk
        ).delete()[0]
    targets = CampaignTarget.objects.filter(campaign_id=campaign_id)
    return TargetsSet(
        added=0,
        removed=removed,
        targets=targets.count(),
        holdout=targets.filter(in_holdout=True).count(),
    )


def campaign_targets_paste(*, campaign_id: int, text: str) -> TargetsSet:
    """Add the accounts of a pasted list of domains, one a line (blank lines
    skipped; `https://www.acme.com/x` reads as acme.com, as imports read it).
    All or nothing: any line that is not a domain or names no account refuses
    the whole list (TargetsRejected, each error's `row` the line number)."""
    lines: list[tuple[int, str, str | None]] = []
    errors: list[RowError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.strip()
        if not value:
            continue
        try:
            lines.append((number, value, normalise_domain(value)))
        except InvalidValue:
            errors.append(RowError(number, "domain", value, "is not a web domain"))
    by_domain = bulk.ids_by_natural_key(
        model=Account, field_name="domain", keys=[d for _, _, d in lines if d]
    )
    account_ids: list[int] = []
    for number, value, domain in lines:
        found = by_domain.get(domain) if domain else None
        if found is None:
            errors.append(RowError(number, "domain", value, "no account has this domain"))
        else:
            account_ids.append(found)
    if errors:
        raise TargetsRejected(sorted(errors, key=lambda error: error.row))
    if not account_ids:
        raise TargetsRejected([RowError(0, "domain", "", "no domain was given")])
    return campaign_targets_set(campaign_id=campaign_id, account_ids=account_ids)
