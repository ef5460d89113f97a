"""The campaign pages (workspace room "campaigns"): the list, a campaign's
form and overview, its targets and holdout, its programs and their UTM links.

Reads come from campaigns.selectors (and the account list's own selector for
targets chosen by filters), writes from campaigns.services and
campaigns.target_services; every page names the permission it needs (the
role grants of campaigns/migrations/0002_roles.py: every role reads,
marketers write)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views import View

from accounts import selectors as account_selectors
from campaigns import selectors, services, target_services
from campaigns.api.shared import audience_csv_response
from campaigns.holdout import holdout_frozen
from campaigns.models import Campaign, Program
from campaigns.utm import InvalidDestination, utm_link
from core.csvimport import FileRefused, RowError
from engagement import list_selectors
from web.campaigns_forms import (
    CampaignForm,
    ProgramForm,
    TargetPasteForm,
    TargetUploadForm,
    UtmForm,
    refusal_show,
)
from web.forms import AccountListForm
from web.permissions import WritePage

TARGETS_PER_PAGE = 50
# The account list's filter fields a target list can be chosen by (sorting and
# paging do not change which accounts match).
_FILTER_FIELDS = ("q", "segment", "stage", "score_min", "score_max", "change", "fit", "tier",
                  "target", "mine")  # fmt: skip


class _Needs(WritePage):
    """A page that needs `permission_required` (reads too: `view_` rights)."""


def _campaign(pk: int) -> Campaign:
    try:
        return selectors.campaign_get(campaign_id=pk)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign.") from None


def _today() -> Any:
    return timezone.localdate()


def _arms(campaign: Campaign) -> dict[str, Any]:
    """The treated count and the holdout's realised share (None without targets)."""
    # Annotated by campaigns.selectors.campaign_list.
    targets, holdout = campaign.target_count, campaign.holdout_count  # type: ignore[attr-defined]
    return {
        "treated_count": targets - holdout,
        "holdout_share": Decimal(holdout) / Decimal(targets) if targets else None,
    }


def _may(request: HttpRequest, *codenames: str) -> dict[str, bool]:
    """`may_<codename>` for the template: which buttons to show."""
    return {f"may_{name}": request.user.has_perm(f"campaigns.{name}") for name in codenames}


# --- The list ----------------------------------------------------------------------


class CampaignListView(_Needs, View):
    permission_required = "campaigns.view_campaign"

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(selectors.campaign_list(), TARGETS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "web/campaigns/list.html",
            {"page_obj": page, "campaigns": page.object_list, "today": _today(),
             **_may(request, "add_campaign")},
        )  # fmt: skip


# --- A campaign's form and overview ------------------------------------------------


def _campaign_initial(campaign: Campaign) -> dict[str, Any]:
    return {
        "name": campaign.name, "objective": campaign.objective,
        "description": campaign.description, "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on, "budget": campaign.budget, "currency": campaign.currency,
        "segment": campaign.segment_id,
        "holdout_percent": (campaign.holdout_fraction * 100).quantize(Decimal("0.1")),
    }  # fmt: skip


def _campaign_form_save(
    request: HttpRequest, form: CampaignForm, campaign: Campaign | None
) -> Campaign | None:
    """Save through the services, or put their refusal beside the field."""
    if not form.is_valid():
        return None
    values = form.values()
    if selectors.campaign_name_taken(
        name=values["name"], except_id=campaign.pk if campaign else None
    ):
        form.add_error("name", "Another campaign has this name.")
        return None
    try:
        if campaign is None:
            return services.campaign_create(values={**values, "owner_id": request.user.pk})
        return target_services.campaign_edit(campaign_id=campaign.pk, values=values, today=_today())
    except ValidationError as problem:
        refusal_show(form, problem)
    except IntegrityError:  # a campaign of that name saved meanwhile
        form.add_error("name", "Another campaign has this name.")
    return None


class CampaignNewView(_Needs, View):
    permission_required = "campaigns.add_campaign"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = CampaignForm(segments=account_selectors.segment_choices())
        return render(request, "web/campaigns/form.html", {"form": form, "campaign": None})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CampaignForm(request.POST, segments=account_selectors.segment_choices())
        campaign = _campaign_form_save(request, form, None)
        if campaign is None:
            return render(request, "web/campaigns/form.html", {"form": form, "campaign": None})
        messages.success(request, f"Campaign “{campaign.name}” created. Add its targets next.")
        return redirect("web:campaign-targets", pk=campaign.pk)


class CampaignEditView(_Needs, View):
    permission_required = "campaigns.change_campaign"

    def _form(self, request: HttpRequest, campaign: Campaign, data: Any = None) -> CampaignForm:
        return CampaignForm(
            data, initial=_campaign_initial(campaign),
            segments=account_selectors.segment_choices(),
            holdout_frozen=holdout_frozen(starts_on=campaign.starts_on, today=_today()),
        )  # fmt: skip

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        form = self._form(request, campaign)
        return render(request, "web/campaigns/form.html", {"form": form, "campaign": campaign})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        form = self._form(request, campaign, request.POST)
        saved = _campaign_form_save(request, form, campaign)
        if saved is None:
            return render(request, "web/campaigns/form.html", {"form": form, "campaign": campaign})
        messages.success(request, "Campaign saved.")
        return redirect("web:campaign-detail", pk=pk)


class CampaignDetailView(_Needs, View):
    permission_required = "campaigns.view_campaign"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        return render(
            request,
            "web/campaigns/detail.html",
            {"campaign": campaign, "tab": "overview", "today": _today(),
             "holdout_frozen": holdout_frozen(starts_on=campaign.starts_on, today=_today()),
             **_arms(campaign), **_may(request, "change_campaign")},
        )  # fmt: skip


# --- Targets and the holdout --------------------------------------------------------


def _filter_form(data: QueryDict) -> AccountListForm:
    return AccountListForm(data, segments=account_selectors.segment_choices())


def _filtered_accounts(request: HttpRequest, form: AccountListForm) -> Any:
    """The account list's accounts for these filters (its selector, the one owner)."""
    return list_selectors.account_list_scored(
        segment_id=form.segment_id(),
        today=_today(),
        filters=form.filters(user_id=request.user.pk),
    )


def _filter_query(data: QueryDict) -> str:
    """The filter fields of `data` alone, as a query string."""
    kept = QueryDict(mutable=True)
    for name in _FILTER_FIELDS:
        values = [v for v in data.getlist(name) if v != ""]
        if values:
            kept.setlist(name, values)
    return kept.urlencode()


def _targets_page(
    request: HttpRequest,
    campaign: Campaign,
    *,
    paste_form: TargetPasteForm | None = None,
    upload_form: TargetUploadForm | None = None,
    row_errors: list[RowError] | None = None,
    row_errors_of: str = "",
    status: int = 200,
) -> HttpResponse:
    filter_form = _filter_form(request.GET)
    filter_query = _filter_query(request.GET)
    preview = None
    if filter_query:
        preview = selectors.targets_preview(
            campaign_id=campaign.pk, accounts=_filtered_accounts(request, filter_form)
        )
    page = Paginator(selectors.campaign_targets(campaign_id=campaign.pk), TARGETS_PER_PAGE)
    targets = page.get_page(request.GET.get("page"))
    context = {
        "campaign": campaign,
        "tab": "targets",
        "page_obj": targets,
        "targets": targets.object_list,
        **_arms(campaign),
        "filter_form": filter_form,
        "filter_query": filter_query,
        "preview": preview,
        "paste_form": paste_form or TargetPasteForm(),
        "upload_form": upload_form or TargetUploadForm(),
        "row_errors": row_errors or [],
        "row_errors_of": row_errors_of,
        "holdout_frozen": holdout_frozen(starts_on=campaign.starts_on, today=_today()),
        **_may(request, "add_campaigntarget", "delete_campaigntarget", "change_campaign"),
    }
    return render(request, "web/campaigns/targets.html", context, status=status)


class CampaignTargetsView(_Needs, View):
    permission_required = "campaigns.view_campaigntarget"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _targets_page(request, _campaign(pk))


def _added_message(request: HttpRequest, result: services.TargetsSet, how: str) -> None:
    messages.success(
        request,
        f"{result.added} account{'s' if result.added != 1 else ''} added {how}"
        f" (already targets: left as they were). The list has {result.targets} targets, "
        f"{result.holdout} in the holdout.",
    )


def _back_to_targets(pk: int, query: str = "") -> HttpResponse:
    url = reverse("web:campaign-targets", args=[pk])
    return redirect(f"{url}?{query}" if query else url)


class CampaignTargetsFromFilterView(_Needs, View):
    """Add the accounts the account list's filters select (carried in `filters`)."""

    permission_required = "campaigns.add_campaigntarget"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        data = QueryDict(request.POST.get("filters", ""))
        if not _filter_query(data):
            messages.error(request, "Choose at least one filter: nothing was added.")
            return _back_to_targets(pk)
        accounts = _filtered_accounts(request, _filter_form(data))
        result = services.campaign_targets_set(
            campaign_id=campaign.pk, account_ids=list(accounts.values_list("pk", flat=True))
        )
        _added_message(request, result, "from the filters")
        return _back_to_targets(pk)


class CampaignTargetsPasteView(_Needs, View):
    permission_required = "campaigns.add_campaigntarget"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        form = TargetPasteForm(request.POST)
        if not form.is_valid():
            return _targets_page(request, campaign, paste_form=form, status=400)
        try:
            result = target_services.campaign_targets_paste(
                campaign_id=campaign.pk, text=form.cleaned_data["domains"]
            )
        except services.TargetsRejected as rejected:
            form.add_error("domains", "Nothing was added: fix the lines listed below.")
            return _targets_page(request, campaign, paste_form=form, row_errors=rejected.errors,
                                 row_errors_of="line", status=400)  # fmt: skip
        _added_message(request, result, "from the pasted domains")
        return _back_to_targets(pk)


class CampaignTargetsUploadView(_Needs, View):
    permission_required = "campaigns.add_campaigntarget"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        form = TargetUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return _targets_page(request, campaign, upload_form=form, status=400)
        try:
            result = services.campaign_targets_import(
                campaign_id=campaign.pk, data=form.cleaned_data["file"].read()
            )
        except FileRefused as problem:
            form.add_error("file", f"The file cannot be read: {problem}.")
            return _targets_page(request, campaign, upload_form=form, status=400)
        except services.TargetsRejected as rejected:
            form.add_error("file", "Nothing was added: fix the rows listed below.")
            return _targets_page(request, campaign, upload_form=form, row_errors=rejected.errors,
                                 row_errors_of="row", status=400)  # fmt: skip
        _added_message(request, result, "from the file")
        return _back_to_targets(pk)


class CampaignTargetsRemoveView(_Needs, View):
    permission_required = "campaigns.delete_campaigntarget"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        try:
            account_ids = [int(v) for v in request.POST.getlist("account")]
        except ValueError:
            account_ids = []
        if not account_ids:
            messages.error(request, "No account was chosen: nothing was removed.")
            return _back_to_targets(pk)
        result = target_services.campaign_targets_remove(
            campaign_id=campaign.pk, account_ids=account_ids
        )
        messages.success(
            request,
            f"{result.removed} target{'s' if result.removed != 1 else ''} removed. The list has "
            f"{result.targets} targets, {result.holdout} in the holdout.",
        )
        # Back to the same page of the list: the query string, parsed and re-encoded.
        return _back_to_targets(pk, QueryDict(request.POST.get("query", "")[:2000]).urlencode())


class CampaignHoldoutRedrawView(_Needs, View):
    """A new random seed, redrawing the whole list: before the campaign starts only."""

    permission_required = "campaigns.change_campaign"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        try:
            drawn = target_services.campaign_holdout_reseed(campaign_id=campaign.pk, today=_today())
        except ValidationError as problem:
            messages.error(request, " ".join(problem.messages))
        else:
            messages.success(
                request, f"Holdout drawn again: {drawn.holdout} of {drawn.targets} targets."
            )
        return _back_to_targets(pk)


class CampaignAudienceCsvView(_Needs, View):
    """The treated targets (the holdout left out): what an ad platform or an
    email tool may reach. The API's audience export, the same selector."""

    permission_required = "campaigns.view_campaigntarget"

    def get(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        return audience_csv_response(campaign_id=_campaign(pk).pk)


# --- Programs and their links -------------------------------------------------------


class CampaignProgramsView(_Needs, View):
    """The programs, and the UTM link builder (a GET form: a link can be bookmarked)."""

    permission_required = "campaigns.view_program"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        programs = list(selectors.campaign_programs(campaign_id=campaign.pk))
        keys = {p.pk: p.tracking_key for p in programs}
        utm = UtmForm(
            request.GET if "destination" in request.GET else None,
            programs=[(p.pk, f"{p.name} ({p.tracking_key})") for p in programs],
            initial={"program": request.GET.get("program")},
        )
        link = ""
        if utm.is_bound and utm.is_valid():
            data = utm.cleaned_data
            try:
                link = utm_link(
                    destination=data["destination"], tracking_key=keys[data["program"]],
                    source=data["source"], medium=data["medium"], content=data["content"],
                    term=data["term"],
                )  # fmt: skip
            except InvalidDestination as problem:
                utm.add_error("destination", f"{str(problem).capitalize()}.")
        return render(
            request,
            "web/campaigns/programs.html",
            {"campaign": campaign, "tab": "programs", "programs": programs, "utm": utm,
             "link": link,
             **_may(request, "add_program", "change_program")},
        )  # fmt: skip


def _program_values(form: ProgramForm, campaign: Campaign) -> dict[str, Any]:
    return {**form.cleaned_data, "campaign_id": campaign.pk}


class _ProgramFormView(_Needs, View):
    def _render(self, request: HttpRequest, campaign: Campaign, form: ProgramForm,
                program: Program | None) -> HttpResponse:  # fmt: skip
        return render(request, "web/campaigns/program_form.html",
                      {"campaign": campaign, "tab": "programs", "form": form,
                       "program": program})  # fmt: skip

    def _save(self, request: HttpRequest, campaign: Campaign, program: Program | None) -> Any:
        form = ProgramForm(request.POST)
        if form.is_valid():
            values = _program_values(form, campaign)
            clash = selectors.program_clash(
                campaign_id=campaign.pk, name=values["name"],
                tracking_key=values["tracking_key"], except_id=program.pk if program else None,
            )  # fmt: skip
            if "name" in clash:
                form.add_error("name", "This campaign already has a program of this name.")
            if "tracking_key" in clash:
                form.add_error("tracking_key", "Another program has this tracking key.")
            if not clash:
                try:
                    saved = services.program_save(
                        program_id=program.pk if program else None, values=values
                    )
                except ValidationError as problem:
                    refusal_show(form, problem)
                except IntegrityError:
                    form.add_error("tracking_key", "Another program has this tracking key.")
                else:
                    messages.success(request, f"Program “{saved.name}” saved.")
                    url = reverse("web:campaign-programs", args=[campaign.pk])
                    return redirect(f"{url}?program={saved.pk}#utm")
        return self._render(request, campaign, form, program)


class ProgramNewView(_ProgramFormView):
    permission_required = "campaigns.add_program"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        form = ProgramForm(initial={"starts_on": campaign.starts_on, "ends_on": campaign.ends_on})
        return self._render(request, campaign, form, None)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._save(request, _campaign(pk), None)


class ProgramEditView(_ProgramFormView):
    permission_required = "campaigns.change_program"

    def _program(self, campaign: Campaign, program_pk: int) -> Program:
        try:
            return selectors.campaign_program_get(campaign_id=campaign.pk, program_id=program_pk)
        except Program.DoesNotExist:
            raise Http404("No such program in this campaign.") from None

    def get(self, request: HttpRequest, pk: int, program_pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        program = self._program(campaign, program_pk)
        form = ProgramForm(
            initial={name: getattr(program, name) for name in ProgramForm.base_fields}
        )
        return self._render(request, campaign, form, program)

    def post(self, request: HttpRequest, pk: int, program_pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        return self._save(request, campaign, self._program(campaign, program_pk))


urlpatterns = [
    path("campaigns/", CampaignListView.as_view(), name="campaign-list"),
    path("campaigns/new/", CampaignNewView.as_view(), name="campaign-new"),
    path("campaigns/<int:pk>/", CampaignDetailView.as_view(), name="campaign-detail"),
    path("campaigns/<int:pk>/edit/", CampaignEditView.as_view(), name="campaign-edit"),
    path("campaigns/<int:pk>/targets/", CampaignTargetsView.as_view(), name="campaign-targets"),
    path("campaigns/<int:pk>/targets/from-filters/", CampaignTargetsFromFilterView.as_view(),
         name="campaign-targets-from-filters"),
    path("campaigns/<int:pk>/targets/paste/", CampaignTargetsPasteView.as_view(),
         name="campaign-targets-paste"),
    path("campaigns/<int:pk>/targets/upload/", CampaignTargetsUploadView.as_view(),
         name="campaign-targets-upload"),
    path("campaigns/<int:pk>/targets/remove/", CampaignTargetsRemoveView.as_view(),
         name="campaign-targets-remove"),
    path("campaigns/<int:pk>/holdout/redraw/", CampaignHoldoutRedrawView.as_view(),
         name="campaign-holdout-redraw"),
    path("campaigns/<int:pk>/audience.csv", CampaignAudienceCsvView.as_view(),
         name="campaign-audience-csv"),
    path("campaigns/<int:pk>/programs/", CampaignProgramsView.as_view(),
         name="campaign-programs"),
    path("campaigns/<int:pk>/programs/new/", ProgramNewView.as_view(),
         name="campaign-program-new"),
    path("campaigns/<int:pk>/programs/<int:program_pk>/edit/", ProgramEditView.as_view(),
         name="campaign-program-edit"),
]  # fmt: skip
