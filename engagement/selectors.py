"""Reads for the engagement app."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.fit import criteria_explain
from accounts.models import Account, ICPSegment, SegmentMembership
from accounts.selectors import FIRMOGRAPHIC_FIELDS, firmographics_of
from core import bulk
from core.ttlcache import TtlCache
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityMessage,
    ActivityPending,
    Alert,
    AlertInboxVisit,
    EngagementSnapshot,
    EventTypeMapping,
    ScoringModel,
    Source,
)
from engagement.networks import address_key, innermost_range_domain_sql
from engagement.rollup.scoring_models import scoring_of
from engagement.scoring import (
    activity_points,
    anonymous_counted,
    contact_counted,
    roles_covered,
    within_lookback,
)


def write_key_digest(write_key: str) -> str:
    """What is stored for a write key: its SHA-256, never the key itself."""
    return hashlib.sha256(write_key.encode()).hexdigest()


def _tracking_cache_seconds() -> float:
    return float(settings.TRACKING_CONFIG_CACHE_SECONDS)


# The tracking API reads these on every request; they change rarely (docs: a
# revoked key or an edited event mapping takes effect within the setting's seconds).
_sources_by_digest: TtlCache[str, Source | None] = TtlCache(_tracking_cache_seconds)
_event_mappings: TtlCache[str, dict[str, str]] = TtlCache(_tracking_cache_seconds)


def source_for_write_key(write_key: str) -> Source | None:
    """The active source a write key belongs to, or None (unknown or revoked)."""
    if not write_key:
        return None
    digest = write_key_digest(write_key)
    return _sources_by_digest.get(
        digest,
        lambda: Source.objects.filter(write_key_hash=digest, is_active=True).first(),
    )


def event_type_mapping() -> dict[str, str]:
    """The marketer-configured event names, over the built-in defaults."""
    return _event_mappings.get(
        "all", lambda: dict(EventTypeMapping.objects.values_list("event_name", "activity_type"))
    )


def tracking_config_forget() -> None:
    """Drop this process's cached sources and event mapping (after a change made here)."""
    _sources_by_digest.clear()
    _event_mappings.clear()


# Each address key with the account owning its innermost IP range.
_ACCOUNTS_FOR_ADDRESS_KEYS = f"""
SELECT held.address_key, account.id
FROM (
    SELECT keys.address_key, {innermost_range_domain_sql("keys.address_key")} AS domain
    FROM ({{keys}}) AS keys
) AS held
JOIN accounts_account AS account ON account.domain = held.domain
"""  # noqa: S608 - constant text of ours; the keys are a parameter  # nosec B608
# The JSON array of keys as a one-column table.
_ADDRESS_KEYS_FROM_JSON = {
    "postgresql": "SELECT value AS address_key FROM json_array_elements_text(%s::json)",
    "sqlite": "SELECT value AS address_key FROM json_each(%s)",
}


def account_ids_for_addresses(addresses: set[str]) -> dict[str, int]:
    """address -> id of the account whose IP range holds it (the narrowest range wins).

    One query whatever the number of addresses.
    """
    if not addresses:
        return {}
    by_key = {address_key(address): address for address in addresses}
    sql = _ACCOUNTS_FOR_ADDRESS_KEYS.format(keys=_ADDRESS_KEYS_FROM_JSON[connection.vendor])
    with connection.cursor() as cursor:
        cursor.execute(sql, [orjson.dumps(sorted(by_key)).decode()])
        return {by_key[key]: account_id for key, account_id in cursor.fetchall()}


def messages_stored(*, source_id: int, message_ids: Sequence[str]) -> set[str]:
    """Which of `message_ids` the source has stored as activity: read from the
    idempotency keys (ActivityMessage), one primary-key probe each, in chunks."""
    stored: set[str] = set()
    in_source = ActivityMessage.objects.filter(source_id=source_id)
    for chunk in bulk.chunks(list(message_ids), bulk.LOOKUP_CHUNK):
        stored.update(in_source.filter(message_id__in=chunk).values_list("message_id", flat=True))
    return stored


# --- Engagement reads for the API ---------------------------------------------------


def segment_list_counted() -> QuerySet[ICPSegment]:
    """Segments by name, each with its member count. One query."""
    return ICPSegment.objects.annotate(member_count=Count("memberships")).order_by("name")


def scoring_model_list(*, all_versions: bool) -> QuerySet[ScoringModel]:
    """The current scoring models (every version with `all_versions`), by segment
    name and newest version first, each with its segment. One query."""
    models = ScoringModel.objects.select_related("segment").order_by("segment__name", "-version")
    return models if all_versions else models.filter(is_current=True)


def alert_list(*, recipient_id: int | None) -> QuerySet[Alert]:
    """Alerts newest first, each with its account, segment and recipient: the
    recipient's, or everyone's when `recipient_id` is None. One query."""
    alerts = Alert.objects.select_related("account", "segment", "recipient")
    if recipient_id is not None:
        alerts = alerts.filter(recipient_id=recipient_id)
    return alerts.order_by("-created_at", "-id")


TOP_ACTIVITIES = 10


def account_engagement_explain(
    *, account_id: int, at: dt.datetime, history_days: int = 90
) -> dict[str, Any]:
    """Why each of the account's scores is what it is: points by activity type and
    by contact (before and after the cap), the top activities, fit criteria met
    and missed, the model version, and the daily history. Five queries."""
    account = Account.objects.get(pk=account_id)
    engagements = list(
        AccountEngagement.objects.filter(account_id=account_id).select_related(
            "segment", "scoring_model"
        )
    )
    memberships = {m.segment_id: m for m in SegmentMembership.objects.filter(account_id=account_id)}
    longest = max((e.scoring_model.lookback_days for e in engagements), default=0)
    activities: list[dict[str, Any]] = [
        dict(row)
        for row in (
            Activity.objects.filter(
                account_id=account_id,
                excluded_reason="",
                occurred_at__gte=at - dt.timedelta(days=longest),
            )
            .order_by("-occurred_at")
            .values(
                "id",
                "type",
                "occurred_at",
                "event_name",
                "tracking_key",
                "contact_id",
                "contact__first_name",
                "contact__last_name",
                "contact__email",
                "contact__seniority",
                "contact__buying_role",
            )
        )
    ]
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for snap in (
        EngagementSnapshot.objects.filter(
            account_id=account_id, day__gte=at.date() - dt.timedelta(days=history_days)
        )
        .order_by("day")
        .values("segment_id", "day", "score", "stage", "engaged_contacts")
    ):
        history[snap["segment_id"]].append({k: v for k, v in snap.items() if k != "segment_id"})
    firmographics = firmographics_of({name: getattr(account, name) for name in FIRMOGRAPHIC_FIELDS})
    segments = []
    for engagement in engagements:
        model = engagement.scoring_model
        # The rollup's own parameters, terms and cap (engagement.scoring), so
        # that any stored time (year 1, 9999) is explained as it was scored.
        params = scoring_of(model).params
        by_type: dict[str, float] = defaultdict(float)
        by_contact: dict[int | None, dict[str, Any]] = {}
        contributions = []
        for row in activities:
            if not within_lookback(row["occurred_at"], at=at, lookback_days=params.lookback_days):
                continue
            anonymous = row["contact_id"] is None
            points = activity_points(
                weight=params.weight(row["type"]),
                multiplier=1.0 if anonymous else params.multiplier(row["contact__seniority"]),
                occurred_at=row["occurred_at"],
                landmark=engagement.landmark,
                at=at,
                rate=params.decay_rate,
            )
            if points == 0:
                continue
            by_type[row["type"]] += points
            person = by_contact.setdefault(
                row["contact_id"],
                {
                    "contact_id": row["contact_id"],
                    "name": "anonymous visitors" if anonymous else
                    f"{row['contact__first_name']} {row['contact__last_name']}".strip()
                    or row["contact__email"],
                    "buying_role": None if anonymous else row["contact__buying_role"],
                    "points": 0.0,
                },
            )  # fmt: skip
            person["points"] += points
            contributions.append((points, row))
        for person in by_contact.values():
            person["counted"] = (
                anonymous_counted(person["points"], anonymous_factor=params.anonymous_factor)
                if person["contact_id"] is None
                else contact_counted(person["points"], cap=params.contact_cap)
            )
        membership = memberships.get(engagement.segment_id)
        contributions.sort(key=lambda item: -abs(item[0]))
        segments.append(
            {
                "segment": {"id": engagement.segment_id, "name": engagement.segment.name},
                "score": engagement.score,
                "raw_score": engagement.raw_score,
                "stage": engagement.stage,
                "model_version": model.version,
                "computed_at": engagement.computed_at,
                "engaged_contacts": engagement.engaged_contacts,
                "roles_covered": engagement.roles_covered,
                "roles_missing": roles_covered(
                    engaged_roles=engagement.roles_covered, required_roles=params.required_roles
                )[1],
                "fit": {
                    "score": membership.fit_score if membership else None,
                    "grade": membership.fit_grade if membership else None,
                    "criteria": criteria_explain(
                        criteria=engagement.segment.criteria, firmographics=firmographics
                    ),
                },
                "by_activity_type": dict(sorted(by_type.items(), key=lambda kv: -abs(kv[1]))),
                "by_contact": sorted(by_contact.values(), key=lambda p: -p["counted"]),
                "top_activities": [
                    {
                        "id": row["id"],
                        "type": row["type"],
                        "occurred_at": row["occurred_at"],
                        "event_name": row["event_name"],
                        "tracking_key": row["tracking_key"],
                        "contact_id": row["contact_id"],
                        "points": points,
                    }
                    for points, row in contributions[:TOP_ACTIVITIES]
                ],
                "history": history.get(engagement.segment_id, []),
            }
        )
    return {"account": {"id": account.pk, "name": account.name, "domain": account.domain},
            "segments": segments}  # fmt: skip


def rollup_health(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """/healthz: the activity waiting for the score rollup, in one statement over
    the pending table (ActivityPending: only the rows not rolled up yet), joined
    to their activity for the oldest receipt.

    Not ok when the oldest pending activity was received more than
    SCORES_ROLLUP_STALE_SECONDS ago while some segment has a current scoring
    model: rollups claim every pending row within a minute while workers and
    beat run. Without any scoring model nothing claims activity, which is not a
    fault of the rollup, so that backlog is reported but does not degrade.
    """
    now = now or timezone.now()
    scorable = Exists(ScoringModel.objects.filter(is_current=True))
    backlog = ActivityPending.objects.filter(batch__isnull=True).aggregate(
        pending=Count("pk"),
        scorable=Count("pk", filter=Q(scorable)),
        oldest=Min("activity__received_at"),
    )
    stale_after = settings.SCORES_ROLLUP_STALE_SECONDS
    oldest: dt.datetime | None = backlog["oldest"]
    age = round((now - oldest).total_seconds()) if oldest is not None else None
    health: dict[str, Any] = {
        "ok": True,
        "pending": backlog["pending"],
        "oldest_received_at": oldest.isoformat() if oldest is not None else None,
        "oldest_seconds_ago": age,
        "stale_after_seconds": stale_after,
    }
    if age is not None and age > stale_after:
        if backlog["scorable"]:
            health["ok"] = False
            health["detail"] = (
                f"{backlog['pending']} activities wait for the score rollup, the oldest "
                f"for {age} s (more than {stale_after} s): are a worker and beat running?"
            )
        else:
            health["detail"] = "no segment has a scoring model, so no rollup claims activity"
    return health


# --- The shell's alert count and My accounts' alerts ---------------------------------


# Without a record of when the user last looked at their alerts (their last
# visit to My accounts), alerts of this many days count as new.
ALERT_INBOX_DEFAULT_DAYS = 7
# My accounts lists at most this many alerts (the API's /api/alerts/ has them all).
ALERT_INBOX_LIMIT = 50


def _alerts_new_after(*, user_id: int, now: dt.datetime) -> Coalesce:
    """The time after which the user's alerts are new to them: their recorded
    visit (AlertInboxVisit), or else ALERT_INBOX_DEFAULT_DAYS before `now`. The
    one owner of that rule, for the shell's count and My accounts' list."""
    visit = AlertInboxVisit.objects.filter(user_id=user_id).values("seen_at")[:1]
    return Coalesce(
        Subquery(visit),
        Value(now - dt.timedelta(days=ALERT_INBOX_DEFAULT_DAYS), output_field=DateTimeField()),
        output_field=DateTimeField(),
    )


def alert_inbox_count(*, user_id: int, now: dt.datetime) -> int:
    """Alerts addressed to the user (as the account's owner or a follower, at the
    time the account qualified) that are new to them. One query over
    alert_recipient_idx."""
    return Alert.objects.filter(
        recipient_id=user_id, created_at__gt=_alerts_new_after(user_id=user_id, now=now)
    ).count()


ACCOUNT_ALERTS_SHOWN = 10


def account_alerts_for(
    *, account_id: int, recipient_id: int, limit: int = ACCOUNT_ALERTS_SHOWN
) -> list[Alert]:
    """The account's alerts addressed to the user (as its owner or a follower),
    newest first, each with its segment; at most `limit`. One query over
    alert_account_idx."""
    return list(
        Alert.objects.filter(account_id=account_id, recipient_id=recipient_id)
        .select_related("segment")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class AlertInbox:
    """A user's alerts as My accounts lists them, and how many of those are new."""

    alerts: Sequence[Alert]
    new: int


def alert_inbox(*, user_id: int, now: dt.datetime, limit: int = ALERT_INBOX_LIMIT) -> AlertInbox:
    """The user's alerts that are new to them (`is_new`) and, already seen, those
    of the last ALERT_INBOX_DEFAULT_DAYS days, newest first, each with its
    account and segment; at most `limit`. One query."""
    recent = now - dt.timedelta(days=ALERT_INBOX_DEFAULT_DAYS)
    alerts = (
        Alert.objects.filter(recipient_id=user_id)
        .select_related("account", "segment")
        .annotate(new_after=_alerts_new_after(user_id=user_id, now=now))
        .annotate(is_new=ExpressionWrapper(Q(created_at__gt=F("new_after")), BooleanField()))
        .filter(Q(is_new=True) | Q(created_at__gte=recent))
        .order_by("-created_at", "-id")
    )
    listed = list(alerts[:limit])
    return AlertInbox(alerts=listed, new=sum(alert.is_new for alert in listed))
