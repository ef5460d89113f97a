from django.contrib import admin

from engagement.models import (
    Activity,
    Alert,
    EventTypeMapping,
    RejectedCall,
    ScoringModel,
    Source,
)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "write_key_prefix", "is_active", "revoked_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    # The write key is shown once at creation (source_create); only its hash is stored.
    readonly_fields = [
        "write_key_hash",
        "write_key_prefix",
        "revoked_at",
        "created_by",
        "created_at",
    ]


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    list_display = [
        "segment",
        "version",
        "is_current",
        "half_life_days",
        "contact_cap",
        "scale",
        "engaged_min",
        "qualified_min",
    ]
    list_filter = ["is_current", "segment"]
    list_select_related = ["segment"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
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
    ]
    list_filter = ["segment"]
    list_select_related = ["account", "segment", "recipient"]
    raw_id_fields = ["account"]


@admin.register(RejectedCall)
class RejectedCallAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "message_id", "reason"]
    list_filter = ["source"]
    search_fields = ["message_id", "reason"]
    readonly_fields = ["source", "message_id", "reason", "payload", "received_at"]


@admin.register(EventTypeMapping)
class EventTypeMappingAdmin(admin.ModelAdmin):
    list_display = ["event_name", "activity_type"]
    search_fields = ["event_name"]
