"""The import pages (issue 16): every uploaded file, upload one, and one file's
column mapping, dry run, import and rejected rows.

Who: a user needs the permission of a kind (imports.services.IMPORT_PERMISSIONS)
to upload, see or run a file of that kind; the list needs at least one. The
dry run and the import run as jobs (imports.tasks) the page polls.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views import View

from core.csvimport import rejects_csv
from core.jobs import job_state
from imports import selectors
from imports.models import ImportFile
from imports.services import (
    IMPORT_KINDS,
    IMPORT_PERMISSIONS,
    ImportFileRefused,
    import_file_columns,
    import_file_create,
    import_file_map,
    import_file_run_start,
    import_kinds_allowed,
)
from web.imports_forms import KIND_LABELS, ColumnMapForm, ImportRunForm, ImportUploadForm
from web.permissions import ReadPage

FILES_PER_PAGE = 25
ERRORS_PER_PAGE = 50


class ImportPage(ReadPage):
    """Logged in (else to the login page) and allowed to import some kind (else 403)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.user.is_authenticated:
            self.kinds = import_kinds_allowed(request.user)
            if not self.kinds:
                raise PermissionDenied("Importing needs a marketer's permissions.")
        return super().dispatch(request, *args, **kwargs)

    def import_file(self, pk: int) -> ImportFile:
        """The file for its page, if the user may import its kind (else 403)."""
        import_file = selectors.import_file_for_page(import_file_id=pk)
        if import_file is None:
            raise Http404("No such import")
        if import_file.kind not in self.kinds:
            raise PermissionDenied(f"This file needs {IMPORT_PERMISSIONS[import_file.kind]}.")
        return import_file


class ImportListView(ImportPage, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        files = selectors.import_files_recent(kinds=self.kinds)
        page = Paginator(files, FILES_PER_PAGE).get_page(request.GET.get("page"))
        return render(
            request,
            "web/imports/list.html",
            {"page_obj": page, "files": page.object_list, "kind_labels": KIND_LABELS},
        )


class ImportNewView(ImportPage, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        kind = request.GET.get("kind")
        initial = {"kind": kind} if kind in self.kinds else {}
        form = ImportUploadForm(initial=initial, kinds=self.kinds)
        return render(request, "web/imports/new.html", {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES, kinds=self.kinds)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                import_file = import_file_create(
                    kind=form.cleaned_data["kind"],
                    file_name=upload.name or "upload.csv",
                    data=upload.read(),
                    created_by_id=request.user.pk,
                )
            except ImportFileRefused as refused:
                form.add_error("file", f"This file cannot be imported: {refused}.")
            else:
                messages.success(request, "File uploaded. Check the columns, then run a dry run.")
                return redirect("web:import-detail", pk=import_file.pk)
        return render(request, "web/imports/new.html", {"form": form}, status=400)


def _detail(
    request: HttpRequest, import_file: ImportFile, form: ColumnMapForm | None
) -> dict[str, Any]:
    matches = import_file_columns(import_file)
    if form is None:
        form = ColumnMapForm(matches=matches, columns=IMPORT_KINDS[import_file.kind].columns)
    errors = Paginator(import_file.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    status = import_file.status_shown
    return {
        "file": import_file,
        "kind_label": KIND_LABELS.get(import_file.kind, import_file.kind),
        "form": form,
        "rows": zip(matches, form, strict=True),
        "editable": status not in (*ImportFile.RUNNING, ImportFile.Status.IMPORTED),
        "may_import": status in (ImportFile.Status.CHECKED, ImportFile.Status.REJECTED),
        "has_counts": import_file.created is not None,
        "errors_page": errors,
        "job": job_state(import_file.job_id) if import_file.job_id else None,
        "Mode": ImportFile.Mode,
    }


class ImportDetailView(ImportPage, View):
    """The file's columns (a form: what each is read as), its latest run's
    counts and row errors, and the buttons that start a run."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        import_file = self.import_file(pk)
        return render(request, "web/imports/detail.html", _detail(request, import_file, None))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        import_file = self.import_file(pk)
        form = ColumnMapForm(
            request.POST,
            matches=import_file_columns(import_file),
            columns=IMPORT_KINDS[import_file.kind].columns,
        )
        if form.is_valid():
            try:
                import_file_map(import_file_id=import_file.pk, fields=form.chosen_fields())
            except ImportFileRefused as refused:
                form.refusal_show(str(refused), refused.field_errors)
            else:
                messages.success(request, "Column mapping saved. Run a dry run to check it.")
                return redirect("web:import-detail", pk=import_file.pk)
        context = _detail(request, import_file, form)
        return render(request, "web/imports/detail.html", context, status=400)


class ImportRunView(ImportPage, View):
    """Start a dry run or an import (POST); the detail page shows its progress."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        import_file = self.import_file(pk)
        form = ImportRunForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a dry run or an import.")
        else:
            try:
                import_file_run_start(
                    import_file_id=import_file.pk,
                    mode=form.cleaned_data["mode"],
                    started_by_id=request.user.pk,
                )
            except ImportFileRefused as refused:
                messages.error(request, f"Not started: {refused}.")
        return redirect(reverse("web:import-detail", kwargs={"pk": import_file.pk}) + "#run")


class ImportPollView(ImportPage, View):
    """Asked every second by the detail page while a run is under way: nothing
    (204) until the run has finished, then htmx reloads the page to show it."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        import_file = self.import_file(pk)
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect("web:import-detail", pk=import_file.pk)
        response = HttpResponse(status=204)
        if not import_file.running:
            response["HX-Refresh"] = "true"
        return response


class ImportRejectsView(ImportPage, View):
    """The rejected rows as uploaded, with an `errors` column, as a CSV whose
    cells a spreadsheet will not run as formulas."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.import_file(pk)  # the permission check
        import_file = selectors.import_file_rejects(import_file_id=pk)
        assert import_file is not None
        body = rejects_csv(
            import_file.headers,
            ((reject["cells"], reject["errors"]) for reject in import_file.rejects),
            neutralise=True,
        )
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        stem = import_file.file_name.rsplit(".", 1)[0] or "import"
        safe_stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)[:80]
        response["Content-Disposition"] = f'attachment; filename="{safe_stem}-rejects.csv"'
        return response


urlpatterns = [
    path("imports/", ImportListView.as_view(), name="import-list"),
    path("imports/new/", ImportNewView.as_view(), name="import-new"),
    path("imports/<int:pk>/", ImportDetailView.as_view(), name="import-detail"),
    path("imports/<int:pk>/run/", ImportRunView.as_view(), name="import-run"),
    path("imports/<int:pk>/poll/", ImportPollView.as_view(), name="import-poll"),
    path("imports/<int:pk>/rejects.csv", ImportRejectsView.as_view(), name="import-rejects"),
]
