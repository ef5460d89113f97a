"""Tracking sources (/sources/): the list with each source's traffic, a new
source and its write key shown once with snippets for this server, and a
source's page (rotate, revoke, its refused calls).

Marketers only: reading needs `engagement.view_source`, creating
`add_source`, rotating and revoking `change_source` (the role grants of
engagement's roles migration). Reads come from engagement.source_selectors,
writes from engagement.services.sources.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views import View

from engagement import source_selectors
from engagement.models import Source
from engagement.services import sources as source_services
from web.permissions import WritePage
from web.sources_forms import RefusedCallFilterForm, SourceCreateForm
from web.sources_snippets import snippets

REFUSED_PER_PAGE = 25
# The session entry holding a write key until the page that shows it once.
KEY_ONCE_SESSION = "sources_write_key_once"


class SourceRead(WritePage):
    """Sources are read by marketers only: their keys and refused payloads are
    configuration, not a sales or executive view."""

    permission_required = "engagement.view_source"


def _key_keep_for_one_display(request: HttpRequest, *, source_id: int, write_key: str) -> None:
    request.session[KEY_ONCE_SESSION] = {"source_id": source_id, "write_key": write_key}


def _key_take(request: HttpRequest, *, source_id: int) -> str | None:
    """The key kept for this source, removed from the session: shown once."""
    kept = request.session.get(KEY_ONCE_SESSION)
    if not isinstance(kept, dict) or kept.get("source_id") != source_id:
        return None
    del request.session[KEY_ONCE_SESSION]
    key = kept.get("write_key")
    return key if isinstance(key, str) else None


def _base_url(request: HttpRequest) -> str:
    """This server as its clients reach it: scheme and host of this request."""
    return request.build_absolute_uri("/").rstrip("/")


def _source_or_404(pk: int) -> Any:
    source = source_selectors.sources_with_traffic(now=timezone.now(), source_id=pk).first()
    if source is None:
        raise Http404("No such source")
    return source


class SourceListView(SourceRead, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        return render(
            request,
            "web/sources/list.html",
            {
                "sources": list(source_selectors.sources_with_traffic(now=now)),
                "periods": source_selectors.traffic_periods(now=now),
                "may_add": request.user.has_perm("engagement.add_source"),
            },
        )


class SourceCreateView(WritePage, View):
    permission_required = "engagement.add_source"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "web/sources/new.html", {"form": SourceCreateForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SourceCreateForm(request.POST)
        if form.is_valid():
            try:
                issued = source_services.source_create(
                    name=form.cleaned_data["name"], created_by_id=request.user.pk
                )
            except ValueError as problem:
                form.add_error("name", str(problem))
            else:
                _key_keep_for_one_display(
                    request, source_id=issued.source.pk, write_key=issued.write_key
                )
                messages.success(request, f"Source “{issued.source.name}” created.")
                return redirect("web:source-detail", pk=issued.source.pk)
        return render(request, "web/sources/new.html", {"form": form}, status=400)


def _pretty_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)


class SourceDetailView(SourceRead, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = _source_or_404(pk)
        write_key = _key_take(request, source_id=source.pk)
        form = RefusedCallFilterForm(request.GET)
        filters = form.filters()
        calls = source_selectors.refused_calls(source_id=source.pk, filters=filters)
        page = Paginator(calls, REFUSED_PER_PAGE).get_page(request.GET.get("page"))
        refused = [(call, _pretty_json(call.payload)) for call in page.object_list]
        response = render(
            request,
            "web/sources/detail.html",
            {
                "source": source,
                "periods": source_selectors.traffic_periods(now=timezone.now()),
                "write_key": write_key,
                "snippets": snippets(
                    base_url=_base_url(request), write_key=write_key, source_name=source.name
                ),
                "form": form,
                "filtered": filters.is_filtered(),
                "page_obj": page,
                "refused": refused,
                "reasons": source_selectors.refused_call_reasons(source_id=source.pk),
                "may_change": request.user.has_perm("engagement.change_source"),
            },
        )
        # The key must not come back from the browser's cache either.
        add_never_cache_headers(response)
        return response


class _SourceChange(WritePage, View):
    """A confirmation page (GET) and the change itself (POST)."""

    permission_required = "engagement.change_source"
    action = ""

    def _source(self, pk: int) -> Source:
        source = source_selectors.source_get(source_id=pk)
        if source is None:
            raise Http404("No such source")
        return source

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = self._source(pk)
        if not source.is_active:
            messages.info(request, f"“{source.name}” is revoked: its key is refused already.")
            return redirect("web:source-detail", pk=pk)
        return render(
            request,
            "web/sources/confirm.html",
            {
                "source": source,
                "action": self.action,
                "delay_seconds": settings.TRACKING_CONFIG_CACHE_SECONDS,
            },
        )


class SourceRotateView(_SourceChange):
    action = "rotate"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = self._source(pk)
        if not source.is_active:
            # A new key for a revoked source would be refused all the same.
            messages.info(request, f"“{source.name}” is revoked: it gets no new key.")
            return redirect("web:source-detail", pk=pk)
        issued = source_services.source_write_key_rotate(source_id=pk)
        _key_keep_for_one_display(request, source_id=pk, write_key=issued.write_key)
        messages.success(request, f"“{source.name}” has a new write key; the old one is refused.")
        return redirect("web:source-detail", pk=pk)


class SourceRevokeView(_SourceChange):
    action = "revoke"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        source = self._source(pk)
        source_services.source_revoke(source_id=pk)
        messages.success(
            request, f"“{source.name}” is revoked: its calls are refused, its activity is kept."
        )
        return redirect("web:source-detail", pk=pk)


urlpatterns = [
    path("sources/", SourceListView.as_view(), name="source-list"),
    path("sources/new/", SourceCreateView.as_view(), name="source-new"),
    path("sources/<int:pk>/", SourceDetailView.as_view(), name="source-detail"),
    path("sources/<int:pk>/rotate/", SourceRotateView.as_view(), name="source-rotate"),
    path("sources/<int:pk>/revoke/", SourceRevokeView.as_view(), name="source-revoke"),
]
