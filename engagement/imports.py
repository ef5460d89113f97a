"""CSV import kinds owned by engagement: activities and IP ranges."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from accounts.imports import lookup_chunks
from accounts.models import Account
from accounts.normalise import normalise_domain, normalise_email
from core import csvimport
from core.csvimport import Column, ParsedRow, RowError
from engagement.activity_types import activity_type_for_event
from engagement.models import ActivityType
from engagement.networks import network_bounds
from engagement.tracking import TimeRefused, activity_time

IMPORT_SOURCE_NAME = "CSV import"


def _activity_type(value: str) -> tuple[str, str]:
    """(type, event name): a type's own name or label, else an event name mapping."""
    key = csvimport.header_key(value)
    by_label = {csvimport.header_key(label): t for t, label in ActivityType.choices}
    if key in ActivityType.values:
        return key, value
    if key in by_label:
        return by_label[key], value
    return activity_type_for_event(value), value


def _network(value: str) -> Any:
    return network_bounds(value)


ACTIVITY_COLUMNS = (
    Column("occurred_at", csvimport.timestamp, required=True,
           aliases=("timestamp", "date", "activity_date", "time", "created_at")),
    Column("type", _activity_type, required=True,
           aliases=("activity_type", "event", "event_name", "activity", "event_type")),
    Column("email", normalise_email, aliases=("email_address", "contact_email")),
    Column("account_domain", normalise_domain, aliases=("company_domain", "domain", "website")),
    Column("tracking_key", csvimport.text(200),
           aliases=("utm_campaign", "program_key", "campaign", "program")),
    Column("message_id", csvimport.text(200), aliases=("id", "activity_id", "event_id")),
)  # fmt: skip

IP_RANGE_COLUMNS = (
    Column("network", _network, required=True, aliases=("cidr", "ip_range", "range", "subnet")),
    Column("domain", normalise_domain, required=True,
           aliases=("account_domain", "company_domain", "website")),
)  # fmt: skip


def _derived_message_id(values: dict[str, Any]) -> str:
    """Rows without an id get one from their content, so a re-import matches them."""
    fields = ("occurred_at", "event_name", "email", "account_domain", "tracking_key")
    canonical = "|".join(str(values.get(k) or "") for k in fields)
    return "csv-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def prepare_activities(rows: Sequence[ParsedRow]) -> list[tuple[ParsedRow, dict[str, Any]]]:
    domains = sorted({d for r in rows if (d := r.values.get("account_domain"))})
    accounts: dict[str, int] = {}
    for chunk in lookup_chunks(domains):
        accounts.update(
            (d, pk)
            for d, pk in Account.objects.filter(domain__in=chunk).values_list("domain", "id")
            if d
        )
    prepared = []
    imported_at = timezone.now()
    for row in rows:
        values = dict(row.values)
        if values["type"] is not None:
            values["type"], values["event_name"] = values["type"]
        domain = values.pop("account_domain")
        values["account_domain"] = domain
        values["account_id"] = accounts.get(domain) if domain else None
        if domain and values["account_id"] is None:
            row.errors.append(
                RowError(row.row, "account_domain", domain, "no account with this domain")
            )
        if not values["email"] and not domain:
            row.errors.append(
                RowError(row.row, "email", "", "needs a contact email or an account domain")
            )
        values["tracking_key"] = (values["tracking_key"] or "").lower()
        # The id derives from the time as the file gives it, so that a re-import
        # of a clamped row matches it.
        values["message_id"] = values["message_id"] or _derived_message_id(values)
        if values["occurred_at"] is not None:
            # The tracking API's policy: refused before 1970, stored at the
            # import's time when more than a day ahead of it.
            try:
                values["occurred_at"] = activity_time(
                    values["occurred_at"], received_at=imported_at
                )
            except TimeRefused as problem:
                row.errors.append(
                    RowError(
                        row.row, "occurred_at", values["occurred_at"].isoformat(), str(problem)
                    )
                )
        prepared.append((row, values))
    csvimport.duplicate_keys_flag(((r, v["message_id"]) for r, v in prepared),
                                  column="message_id", what="activity")  # fmt: skip
    return [(row, v) for row, v in prepared if not row.errors]


def prepare_ip_ranges(rows: Sequence[ParsedRow]) -> list[tuple[ParsedRow, dict[str, Any]]]:
    prepared = []
    for row in rows:
        bounds = row.values["network"]
        if bounds is None:
            continue
        prepared.append(
            (
                row,
                {
                    "network": bounds.network,
                    "first_address": bounds.first_address,
                    "last_address": bounds.last_address,
                    "domain": row.values["domain"],
                },
            )
        )
    csvimport.duplicate_keys_flag(((r, v["network"]) for r, v in prepared), column="network",
                                  what="network")  # fmt: skip
    return [(row, v) for row, v in prepared if not row.errors]
