"""One campaign's report (`/api/reports/campaigns/{id}/`): its numbers, its
programs with the lines that reconcile them to the period's pipeline, and its
funnel, over the rows `measurement_load` read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from campaigns.reports.attribution import pipeline_lines
from campaigns.reports.funnel import funnel_report
from campaigns.reports.measurement import MeasurementData
from campaigns.reports.programs import campaign_rows, program_rows


def campaign_report_period(*, starts_on: dt.date, ends_on: dt.date) -> tuple[dt.date, dt.date]:
    """A campaign report's default period: the campaign's own dates, up to today
    for a campaign still running."""
    return starts_on, max(starts_on, min(ends_on, timezone.now().date()))


def campaign_report(data: MeasurementData, *, campaign_id: int) -> dict[str, Any]:
    program_ids = sorted(p for p, row in data.programs.items() if row["campaign_id"] == campaign_id)
    # Its programs, then what reconciles them to the period's pipeline.
    rows = program_rows(data, program_ids=program_ids) + pipeline_lines(
        data, label="program", listed_program_ids=set(program_ids)
    )
    return {
        "campaign": campaign_rows(data, campaign_ids=[campaign_id])[0],
        "rows": rows,
        "funnel": funnel_report(data, campaign_ids={campaign_id}),
    }
