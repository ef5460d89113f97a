from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin import ContactAdmin, ICPSegmentAdmin
from accounts.models import Contact, ICPSegment
from core.admin_dates import CalendarEndDateHierarchy
from engagement.models import (
    Activity,
    ActivityRetentionRun,
    Alert,
    EventTypeMapping,
    IPRange,
    RejectedCall,
    ScoringModel,
    Source,
)
from engagement.rollup.scoring_models import TUNABLE_PARAMETERS, scoring_model_update
from engagement.services.junk import contact_junk_set, junk_rules_apply
from engagement.services.segments import scoring_models_default_ensure
from engagement.services.sources import source_create, source_revoke, source_write_key_rotate


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "write_key_prefix", "is_active", "revoked_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    fields = ["name", "write_key_prefix", "is_active", "revoked_at", "rate_limit_per_second",
              "created_by", "created_at"]  # fmt: skip
    readonly_fields = ["write_key_prefix", "is_active", "revoked_at", "created_by", "created_at"]
    actions = ["write_key_rotate", "revoke"]

    def save_model(self, request: HttpRequest, obj: Source, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The key exists in clear only now: show it once, store its hash.
        issued = source_create(name=obj.name, created_by_id=request.user.pk)
        obj.pk = issued.source.pk
        obj.refresh_from_db()
        if obj.rate_limit_per_second != form.cleaned_data.get("rate_limit_per_second"):
            obj.rate_limit_per_second = form.cleaned_data.get("rate_limit_per_second")
            obj.save(update_fields=["rate_limit_per_second"])
        self.message_user(
            request,
            f"Write key for {obj.name}: {issued.write_key} (copy it now; it is not shown again)",
            messages.WARNING,
        )

    @admin.action(description="Rotate the write key (the old key stops working)")
    def write_key_rotate(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            issued = source_write_key_rotate(source_id=source.pk)
            self.message_user(
                request,
                f"New write key for {source.name}: {issued.write_key} (shown once)",
                messages.WARNING,
            )

    @admin.action(description="Revoke (refuse the write key; keep the data)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            source_revoke(source_id=pk)
        self.message_user(request, f"Revoked {queryset.count()} source(s).")


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    list_display = ["segment", "version", "is_current", "half_life_days", "contact_cap", "scale",
                    "engaged_min", "qualified_min"]  # fmt: skip
    list_filter = ["is_current", "segment"]
    list_select_related = ["segment"]
    readonly_fields = ["version", "is_current", "created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: ScoringModel, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # A change is a new version, never an edit of the one that produced scores.
        changes = {n: form.cleaned_data[n] for n in form.changed_data if n in TUNABLE_PARAMETERS}
        new = scoring_model_update(
            segment_id=obj.segment_id, changes=changes, created_by_id=request.user.pk
        )
        obj.pk, obj.version = new.pk, new.version
        self.message_user(request, f"Saved as version {new.version}; scores are being recomputed.")


@admin.register(Activity)
class ActivityAdmin(CalendarEndDateHierarchy):
    list_display = [
        "occurred_at",
        "type",
        "account",
        "contact",
        "tracking_key",
        "source",
        "excluded_reason",
    ]
    list_filter = ["type", "source"]
    search_fields = ["message_id", "tracking_key", "anonymous_id"]
    list_select_related = ["account", "contact", "source"]
    raw_id_fields = ["account", "contact"]
    date_hierarchy = "occurred_at"
    # The admin must not count a ten-million-row table on every page.
    show_full_result_count = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "account",
        "segment",
        "score",
        "recipient",
        "emailed_at",
        "webhook_delivered_at",
        "delivery_attempts",
        "next_attempt_at",
    ]
    list_filter = ["segment"]
    search_fields = ["last_error"]
    list_select_related = ["account", "segment", "recipient"]
    raw_id_fields = ["account"]


@admin.register(RejectedCall)
class RejectedCallAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "message_id", "reason", "repeats"]
    list_filter = ["source"]
    search_fields = ["message_id", "reason"]
    readonly_fields = ["source", "message_id", "reason", "payload", "repeats", "received_at"]


@admin.register(ActivityRetentionRun)
class ActivityRetentionRunAdmin(admin.ModelAdmin):
    """What each retention run dropped (ACTIVITY_RETENTION_MONTHS): read only,
    a record of where stored activity starts."""

    list_display = ["ran_at", "cutoff", "months_kept", "activities_dropped", "carried_rows",
                    "snapshot_days_backfilled"]  # fmt: skip
    ordering = ["-cutoff"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EventTypeMapping)
class EventTypeMappingAdmin(admin.ModelAdmin):
    list_display = ["event_name", "activity_type"]
    search_fields = ["event_name"]


@admin.register(IPRange)
class IPRangeAdmin(admin.ModelAdmin):
    list_display = ["network", "domain", "created_at"]
    search_fields = ["network", "domain"]
    readonly_fields = ["first_address", "last_address"]


def _contacts_junk_set(queryset: QuerySet[Contact], *, is_junk: bool) -> int:
    """Set each selected contact's junk flag by hand; the activities whose
    exclusion changed."""
    return sum(
        contact_junk_set(contact_id=pk, is_junk=is_junk)
        for pk in queryset.values_list("pk", flat=True)
    )


# Junk actions change activities too, which only engagement may do, so the
# contact admin gains them here rather than in accounts (imports point one way).
class ContactJunkAdmin(ContactAdmin):
    actions = ["junk_flag", "junk_clear", "junk_rules_reapply"]

    @admin.action(description="Mark as junk (by hand; rules will not undo it)")
    def junk_flag(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        changed = _contacts_junk_set(queryset, is_junk=True)
        self.message_user(request, f"Marked junk; {changed} activities now count zero.")

    @admin.action(description="Not junk (by hand): count their activity again")
    def junk_clear(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        changed = _contacts_junk_set(queryset, is_junk=False)
        self.message_user(request, f"Cleared; {changed} activities count again.")

    @admin.action(description="Re-apply the junk rules")
    def junk_rules_reapply(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        result = junk_rules_apply(contact_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"{result.contacts_changed} contacts changed, {result.activities_updated} activities.",
            messages.SUCCESS,
        )


admin.site.unregister(Contact)
admin.site.register(Contact, ContactJunkAdmin)


# A new segment gets its scoring model here, since accounts cannot import
# engagement: the segment admin is accounts', with this one step added.
class ICPSegmentScoredAdmin(ICPSegmentAdmin):
    def save_model(self, request: HttpRequest, obj: ICPSegment, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            scoring_models_default_ensure(segment_ids=[obj.pk])


admin.site.unregister(ICPSegment)
admin.site.register(ICPSegment, ICPSegmentScoredAdmin)
