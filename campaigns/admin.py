from django.contrib import admin

from campaigns.models import Campaign, PipelinePlan, Program, RankingEntry, RankingRun, Spend


class ProgramInline(admin.TabularInline):
    model = Program
    fields = ["name", "channel", "starts_on", "ends_on", "tracking_key", "status"]
    extra = 0
    show_change_link = True


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "objective",
        "starts_on",
        "ends_on",
        "budget",
        "holdout_fraction",
        "owner",
    ]
    list_filter = ["objective"]
    search_fields = ["name"]
    list_select_related = ["owner"]
    inlines = [ProgramInline]


class SpendInline(admin.TabularInline):
    model = Spend
    fields = ["spent_on", "amount", "currency", "description"]
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "channel", "starts_on", "ends_on", "tracking_key", "status"]
    list_filter = ["channel", "status", "campaign"]
    search_fields = ["name", "tracking_key"]
    list_select_related = ["campaign"]
    inlines = [SpendInline]


@admin.register(Spend)
class SpendAdmin(admin.ModelAdmin):
    list_display = ["spent_on", "program", "amount", "currency", "description"]
    list_filter = ["program__channel"]
    list_select_related = ["program"]
    date_hierarchy = "spent_on"


class RankingEntryInline(admin.TabularInline):
    model = RankingEntry
    fields = [
        "rank",
        "program",
        "spend",
        "pipeline",
        "metric_value",
        "is_flagged",
        "decision",
        "decision_note",
    ]
    readonly_fields = ["rank", "program", "spend", "pipeline", "metric_value", "is_flagged"]
    extra = 0
    can_delete = False


@admin.register(RankingRun)
class RankingRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "period_start", "period_end", "metric", "trigger"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [RankingEntryInline]


@admin.register(PipelinePlan)
class PipelinePlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "period_start",
        "period_end",
        "revenue_target",
        "win_rate",
        "average_deal_size",
        "cycle_time_days",
    ]
