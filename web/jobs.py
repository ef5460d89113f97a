"""The progress of long work (core.jobs) as a page fragment that polls itself."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from core.jobs import job_state
from web.permissions import ReadPage


class JobProgressView(ReadPage, View):
    """The job's progress bar and outcome. htmx asks for the fragment every
    second while the job runs (web/templates/web/job_progress.html); opened
    directly, the same fragment comes inside the shell.

    Any signed-in user may read a job: it holds a label and counts, and
    marketers follow each other's imports and recomputes."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = job_state(pk)
        if job is None:
            raise Http404("No such job")
        template = "web/job_progress.html" if request.htmx else "web/jobs/job.html"  # type: ignore[attr-defined]
        return render(request, template, {"job": job})
