"""What every campaigns endpoint shares: the role permissions, a service's
refusal as a 400, a CSV upload's row errors, the end-not-before-start check
of a period, and the `?format=csv` renderer of reports and lists."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.renderers import BaseRenderer

from campaigns.periods import period_range_problem
from campaigns.selectors import campaign_audience
from campaigns.spend_visibility import spend_visible
from core.csvimport import RowError, csv_cell_neutralise


def row_errors_json(errors: list[RowError]) -> list[dict[str, Any]]:
    """Row errors of a CSV upload as the API returns them (targets here; imports.api)."""
    return [
        {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason} for e in errors
    ]


@contextmanager
def refusals_as_400() -> Iterator[None]:
    """A service's validation error becomes a 400 naming the field (or `__all__`)."""
    try:
        yield
    except DjangoValidationError as problem:
        raise ValidationError(problem.message_dict) from None


class ModelPermissionsWithView(DjangoModelPermissions):
    """The role grants of the `0002_roles` migrations: reading needs `view_<model>`,
    writing needs add/change/delete as in Django's model permissions."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class SpendTotalField(serializers.DecimalField):
    """A campaign's or program's spend total on a list: null for a user who may
    not see spend (campaigns.spend_visibility), like the reports."""

    def __init__(self) -> None:
        super().__init__(max_digits=16, decimal_places=2, read_only=True, default=None,
                         allow_null=True,
                         help_text="Null without campaigns.view_spend (sales).")  # fmt: skip

    def get_attribute(self, instance: Any) -> Any:
        request = self.context.get("request")
        if request is not None and not spend_visible(request.user):
            return None
        return super().get_attribute(instance)


# A serializer writes decimals as text ("-3.20"): a plain number runs nothing.
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_cell(value: Any) -> Any:
    """A CSV download's cell: None as empty; text that a spreadsheet would run
    as a formula neutralised (OWASP; account and program names reach these
    files from the public tracking key); numbers, and text that is a plain
    number, as they are."""
    if value is None:
        return ""
    if not isinstance(value, str) or _PLAIN_NUMBER.fullmatch(value):
        return value
    return csv_cell_neutralise(value)


def csv_line(values: Sequence[Any]) -> str:
    """One line of a streamed CSV download."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(v) for v in values])
    return buffer.getvalue()


def audience_csv_response(*, campaign_id: int) -> StreamingHttpResponse:
    """A campaign's audience export, streamed: the treated targets only (the
    holdout left out), for the API's `audience` action and the campaign page."""
    header = ["account_id", "name", "domain", "external_id"]
    rows = campaign_audience(campaign_id=campaign_id)
    response = StreamingHttpResponse(
        itertools.chain([csv_line(header)], (csv_line(row) for row in rows)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="audience-{campaign_id}.csv"'
    return response


def period_checked(attrs: dict[str, Any]) -> dict[str, Any]:
    """A period request's `validate`: its end must not be before its start, and
    both lie in the days a report covers (campaigns.periods)."""
    if attrs["end"] < attrs["start"]:
        raise ValidationError({"end": "must not be before start"})
    problem = period_range_problem(attrs["start"], attrs["end"])
    if problem is not None:
        raise ValidationError({"start": problem})
    return attrs


def _flat(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested report rows as CSV columns: {"lift": {"low": 1}} -> {"lift_low": 1}."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}_"))
        elif isinstance(value, list):
            continue  # nested tables have their own report
        else:
            out[f"{prefix}{key}"] = value
    return out


# Where a response keeps its table, in order of preference: report rows, funnel
# steps, a ranking run's entries (programs too early to judge, then those
# without spend, after the ranked ones), a plan's months against actual, a list page's results.
_CSV_TABLES = (("rows",), ("steps",), ("ranked", "too_early", "without_spend"), ("by_month",),
               ("results",))  # fmt: skip


def _csv_rows(data: Any) -> list[Any]:
    if not isinstance(data, dict):
        return list(data or [])
    for keys in _CSV_TABLES:
        if keys[0] in data:
            return [row for key in keys for row in data.get(key) or []]
    return [data]


class CsvRenderer(BaseRenderer):
    """`?format=csv`: a response's table (see _CSV_TABLES) as one CSV table."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:  # fmt: skip
        flat = [{k: csv_cell(v) for k, v in _flat(row).items()} for row in _csv_rows(data)]
        headers = list(dict.fromkeys(key for row in flat for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=headers)
        writer.writeheader()
        writer.writerows(flat)
        return buffer.getvalue().encode()
