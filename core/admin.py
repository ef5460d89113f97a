from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.models import Job, WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "seen_at"]
    readonly_fields = ["hostname", "seen_at"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Long work started from the pages; read-only (the tasks write it)."""

    list_display = ("label", "kind", "status", "done", "total", "created_by", "created_at")
    list_filter = ("kind", "status")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False
