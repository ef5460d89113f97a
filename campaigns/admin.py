from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from campaigns import services
from campaigns.models import (
    Campaign,
    PipelinePlan,
    Program,
    RankingDecision,
    RankingEntry,
    RankingRun,
    RankingTrigger,
    Spend,
)
from core.admin_dates import CalendarEndDateHierarchy


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

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        """Through the services, as the API: a new campaign gets a drawn seed unless
        one was typed; a changed fraction or seed redraws the holdout."""
        if change:
            super().save_model(request, obj, form, change)
            if {"holdout_fraction", "holdout_seed"} & set(form.changed_data):
                services.campaign_holdout_draw(campaign_id=obj.pk)
            return
        values = dict(form.cleaned_data)
        if "holdout_seed" not in form.changed_data:
            values["holdout_seed"] = None
        obj.pk = services.campaign_create(values=values).pk
        obj.refresh_from_db()


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
class SpendAdmin(CalendarEndDateHierarchy):
    list_display = ["spent_on", "program", "amount", "currency", "description"]
    list_filter = ["program__channel"]
    list_select_related = ["program"]
    date_hierarchy = "spent_on"


class RankingEntryInline(admin.TabularInline):
    """A stored run's entries, read only: decisions are taken on an entry's own
    page (RankingEntryAdmin), through the same service as the API."""

    model = RankingEntry
    fields = readonly_fields = (
        "rank", "program", "too_early", "spend", "pipeline", "metric_value", "is_flagged",
        "decision", "decision_note", "decided_by", "decided_at",
    )  # fmt: skip
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RankingRunForm(forms.ModelForm):
    """What a run needs; the admin computes it with services.ranking_run."""

    class Meta:
        model = RankingRun
        fields = ["period_start", "period_end", "metric", "flag_fraction", "window_days"]


@admin.register(RankingRun)
class RankingRunAdmin(admin.ModelAdmin):
    """ "Add ranking run" ranks the programs of the period now, as the API and the
    schedule do; a stored run is a record and is not edited."""

    list_display = ["created_at", "period_start", "period_end", "metric", "window_days",
                    "trigger", "created_by"]  # fmt: skip
    list_select_related = ["created_by"]
    form = RankingRunForm
    inlines = [RankingEntryInline]

    def get_inlines(self, request: HttpRequest, obj: RankingRun | None) -> list[Any]:
        return [] if obj is None else list(self.inlines)

    def get_readonly_fields(self, request: HttpRequest, obj: RankingRun | None = None) -> Any:
        if obj is None:
            return []
        return ["period_start", "period_end", "metric", "flag_fraction", "window_days", "trigger",
                "created_by", "created_at"]  # fmt: skip

    def has_change_permission(self, request: HttpRequest, obj: RankingRun | None = None) -> bool:
        return False  # view only: a run is recomputed by adding a new one

    def save_model(self, request: HttpRequest, obj: RankingRun, form: Any, change: bool) -> None:
        data = form.cleaned_data
        run = services.ranking_run(
            start=data["period_start"], end=data["period_end"], metric=data["metric"],
            flag_fraction=data["flag_fraction"], window_days=data["window_days"],
            trigger=RankingTrigger.MANUAL, user_id=request.user.pk,
        )  # fmt: skip
        # The admin goes on with `obj` (message, log, redirect): make it the stored run.
        obj.pk, obj.trigger, obj.created_by_id = run.pk, run.trigger, run.created_by_id
        obj.created_at = run.created_at
        obj._state.adding = False


class RankingDecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(choices=[(RankingDecision.CUT, "Cut"),
                                          (RankingDecision.KEPT, "Kept")])  # fmt: skip

    class Meta:
        model = RankingEntry
        fields = ["decision", "decision_note"]


@admin.register(RankingEntry)
class RankingEntryAdmin(admin.ModelAdmin):
    """A marketer's cut/kept decision on a flagged program, taken with
    services.ranking_entry_decide as the API does: it records who decided and
    when, and "cut" sets the program's status to cut. Only flagged entries can
    be changed; entries are created by runs only."""

    list_display = ["run", "rank", "program", "is_flagged", "too_early", "decision",
                    "decided_by", "decided_at"]  # fmt: skip
    list_filter = ["is_flagged", "too_early", "decision"]
    list_select_related = ["run", "program", "decided_by"]
    form = RankingDecisionForm
    readonly_fields = ["run", "program", "rank", "too_early", "spend", "pipeline",
                       "metric_value", "is_flagged", "decided_by", "decided_at"]  # fmt: skip
    fields = [*readonly_fields, "decision", "decision_note"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RankingEntry | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.is_flagged)

    def save_model(self, request: HttpRequest, obj: RankingEntry, form: Any, change: bool) -> None:
        try:
            decided = services.ranking_entry_decide(
                entry_id=obj.pk, decision=form.cleaned_data["decision"],
                note=form.cleaned_data["decision_note"], user_id=request.user.pk,
            )  # fmt: skip
        except services.DecisionRefused as refused:
            raise PermissionDenied(str(refused)) from None
        obj.decided_by_id, obj.decided_at = decided.decided_by_id, decided.decided_at


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
