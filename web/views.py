"""The pages: validate the request, call a selector or a service, render.

No queries here: reads come from the owning app's selectors, writes from its
services; the shell's data comes from web.context_processors.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Account
from accounts.roles import SALES
from core.csvimport import csv_cell_neutralise
from core.paging import KeysFirst
from engagement import list_selectors
from engagement import selectors as engagement_selectors
from engagement.services import alert_inbox as alert_inbox_services
from web.forms import AccountListForm
from web.permissions import ReadPage, WritePage
from web.readiness_text import readiness_missing_reason

ACCOUNTS_PER_PAGE = 50

# The account list's columns: (sort key, heading). The table and its CSV show
# these, in this order.
ACCOUNT_COLUMNS = (
    ("name", "Account"),
    ("score", "Score"),
    ("readiness", "Readiness"),
    ("stage", "Stage"),
    ("change_7d", "7 days"),
    ("change_30d", "30 days"),
    ("fit", "Fit"),
    ("engaged", "Buying team"),
    ("owner", "Owner"),
    ("open_deals", "Open deals"),
    ("tier", "Tier"),
)


def _account_list_form(request: HttpRequest) -> AccountListForm:
    """The account list's filter form bound to the URL."""
    return AccountListForm(request.GET, segments=account_selectors.segment_choices())


def _account_list_query(request: HttpRequest, form: AccountListForm) -> dict[str, Any]:
    """What the form selects, as the account list's selectors take it."""
    return {
        "segment_id": form.segment_id(),
        "today": timezone.now().date(),
        "filters": form.filters(user_id=request.user.pk),
        "ordering": form.ordering(),
    }


class AccountListView(ReadPage, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        form = _account_list_form(request)
        accounts = list_selectors.account_list_pages(**_account_list_query(request, form))
        page = Paginator(accounts, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
        today = timezone.now().date()
        return render(
            request,
            "web/account_list.html",
            {
                "form": form,
                "page_obj": page,
                "accounts": page.object_list,
                "columns": ACCOUNT_COLUMNS,
                "sort": form.ordering(),
                "filtered": form.is_filtered(),
                "segment_chosen": form.segment_id() is not None,
                "day_7": today - dt.timedelta(days=7),
                "day_30": today - dt.timedelta(days=30),
                "may_mark_targets": request.user.has_perm("accounts.mark_target_account"),
            },
        )


def _user_id(request: HttpRequest) -> int:
    """The signed-in user's id (a ReadPage lets no anonymous visitor in)."""
    return cast(int, request.user.pk)


class HomeView(ReadPage, View):
    """Where `/` and a login without `?next=` land: sales reps on My accounts,
    everyone else (marketers, executives) on the account list."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if SALES in account_selectors.user_roles(user_id=_user_id(request)):
            return redirect("web:my-accounts")
        return redirect("web:account-list")


class MyAccountsView(ReadPage, View):
    """The accounts I own or follow by this week's score change, and my alerts,
    those new since my last visit marked. Opening it records the visit."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user_id = _user_id(request)
        now = timezone.now()
        today = now.date()
        accounts = list_selectors.my_accounts(user_id=user_id, today=today)
        page = Paginator(KeysFirst(accounts), ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        inbox = engagement_selectors.alert_inbox(user_id=user_id, now=now)
        # After the reads, at the time they were made: an alert created while
        # this page renders is still new next time.
        alert_inbox_services.alert_inbox_visit_record(user_id=user_id, at=now)
        return render(
            request,
            "web/my_accounts.html",
            {
                "page_obj": page,
                "accounts": rows,
                "alerts": inbox.alerts,
                "new_alerts": inbox.new,
                "alert_days": engagement_selectors.ALERT_INBOX_DEFAULT_DAYS,
                "day_7": today - dt.timedelta(days=7),
                "day_30": today - dt.timedelta(days=30),
            },
        )


class _Echo:
    """A file whose write returns the line, for csv.writer into a streamed response."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(accounts: Any) -> Iterator[list[Any]]:
    yield [
        "Account", "Domain", "Segment", "Score", "Stage", "Score change 7 days",
        "Score change 30 days", "Fit grade", "Engaged contacts", "Required roles covered",
        "Required roles", "Owner", "Open deals", "Tier", "Target",
        "Readiness", "Readiness band low", "Readiness band high", "Readiness note",
    ]  # fmt: skip
    # Names reach this file from the public tracking key (a group call's
    # company name): text a spreadsheet would run is neutralised (OWASP, issue 18).
    text = csv_cell_neutralise
    for account in accounts.iterator(chunk_size=2000):
        owner = account.owner
        yield [
            text(account.name),
            account.domain or "",
            text(account.scored_segment_name or ""),
            account.score,
            account.stage or "",
            account.score_change_7d,
            account.score_change_30d,
            account.fit_grade or "",
            account.engaged_contacts,
            len(account.roles_covered) if account.roles_covered is not None else "",
            len(account.required_roles) if account.required_roles is not None else "",
            text(owner.get_full_name() or owner.username) if owner else "",
            account.open_opportunity_count,
            account.tier,
            "yes" if account.is_target else "no",
            *_readiness_cells(account),
        ]


def _readiness_cells(account: Any) -> list[Any]:
    """The readiness probability and its band (0-1, four places), or empty
    cells and, in the note, why there is none."""
    if account.readiness_probability is None:
        return ["", "", "", readiness_missing_reason(account)]
    low, high = account.readiness_band_low, account.readiness_band_high
    return [
        round(account.readiness_probability, 4),
        round(low, 4) if low is not None else "",
        round(high, 4) if high is not None else "",
        "",
    ]


class AccountListCsvView(ReadPage, View):
    """Exactly what the list shows for the same URL parameters: same filters, same
    order, every page. Unknown values are empty cells."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        form = _account_list_form(request)
        accounts = list_selectors.account_list_scored(**_account_list_query(request, form))
        return _csv_response(accounts, name="accounts")


class MyAccountsCsvView(ReadPage, View):
    """My accounts as the page lists them (same order, every page), with the
    account list's columns. Reading it does not mark alerts as seen."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        accounts = list_selectors.my_accounts(
            user_id=_user_id(request), today=timezone.now().date()
        )
        return _csv_response(accounts, name="my-accounts")


def _csv_response(accounts: Any, *, name: str) -> StreamingHttpResponse:
    """The accounts as a streamed CSV download, dated today."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _csv_rows(accounts)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


class AccountTargetView(WritePage, View):
    """Mark an account as a target, or not (marketers)."""

    permission_required = "accounts.mark_target_account"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        is_target = request.POST.get("is_target") == "1"
        try:
            account_services.account_target_set(account_id=pk, is_target=is_target)
        except Account.DoesNotExist:
            raise Http404("No such account.") from None
        messages.success(
            request, "Marked as a target account." if is_target else "No longer a target account."
        )
        back = request.POST.get("next", "")
        # A path of this site only: `redirect` reads anything else ("1") as a
        # view name and fails, after the change is saved (issue 18: a 500).
        if back.startswith("/") and url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}
        ):
            return redirect(back)
        return redirect("web:account-detail", pk=pk)


class SearchView(ReadPage, View):
    """Accounts by name or domain, contacts by name or email. As you type, htmx
    asks for the results alone; without JavaScript it is a full page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.get("q", "").strip()[:200]
        context = {
            "q": query,
            "search_q": query,
            "accounts": account_selectors.accounts_search(query=query) if query else [],
            "contacts": account_selectors.contacts_search(query=query) if query else [],
        }
        partial = bool(getattr(request, "htmx", False))  # django_htmx.middleware sets it
        if partial and not query:
            return HttpResponse("")  # an emptied box closes the results
        template = "web/search_results.html" if partial else "web/search.html"
        return render(request, template, context)
