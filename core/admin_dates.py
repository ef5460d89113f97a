"""The admin's date hierarchy, down to the last day of the calendar.

Django bounds a selected year, month or day by the start of the next one,
which does not exist after 9999-12-31: selecting the year of an activity
stored as 9999-12-31 raised a ValueError (a 500). Here such a selection is
bounded below only, which selects the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.http import HttpRequest
from django.utils.timezone import make_aware


class CalendarEndChangeList(ChangeList):
    def get_filters_params(self, params: Any = None) -> Any:
        lookup = super().get_filters_params(params)
        field = self.date_hierarchy
        if not field or f"{field}__year" not in lookup:
            return lookup
        parts = [lookup.get(f"{field}__{part}") for part in ("year", "month", "day")]
        try:
            year, month, day = (int(p[-1]) if p else None for p in parts)
            start = dt.datetime(year or 1, month or 1, day or 1)
        except (TypeError, ValueError):
            return lookup  # Django refuses it as usual
        try:
            if day:
                start + dt.timedelta(days=1)
            elif month:
                start + dt.timedelta(days=32)
            else:
                start.replace(year=start.year + 1)
        except (OverflowError, ValueError):
            for part in ("year", "month", "day"):
                lookup.pop(f"{field}__{part}", None)
            column = self.model._meta.get_field(field)
            if isinstance(column, models.DateTimeField):
                lookup[f"{field}__gte"] = [make_aware(start) if settings.USE_TZ else start]
            else:
                lookup[f"{field}__gte"] = [start.date()]
        return lookup


class CalendarEndDateHierarchy(admin.ModelAdmin):
    """A ModelAdmin base whose date hierarchy reaches 9999-12-31."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CalendarEndChangeList
