"""Template helpers of the pages: links that keep the current filters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from web import readiness_text

register = template.Library()


@register.simple_tag(takes_context=True)
def url_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with `changes` applied (None or "" drops a key).
    A change of anything but the page goes back to the first page."""
    params = context["request"].GET.copy()
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def sort_link_value(current: str, key: str) -> str:
    """Clicking a column heading sorts by it, descending first for numbers and
    ascending for names; clicking the sorted column again reverses it."""
    if current == key:
        return f"-{key}"
    if current == f"-{key}":
        return key
    return key if key in ("name", "owner") else f"-{key}"


@register.simple_tag
def aria_sort(current: str, key: str) -> str:
    if current == key:
        return "ascending"
    if current == f"-{key}":
        return "descending"
    return "none"


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """mapping[key], or the key itself when it is missing (a label lookup)."""
    return mapping.get(key, key) if hasattr(mapping, "get") else key


@register.filter
def starts_with(text: str, prefix: str) -> bool:
    """Whether `text` begins with `prefix` (the shell marks the room a page is in)."""
    return str(text).startswith(str(prefix))


@register.filter
def percent(fraction: Any) -> str:
    """A share in [0, 1] as a percentage without trailing zeros: 0.125 -> "12.5%"."""
    if fraction is None:
        return ""
    value = (Decimal(str(fraction)) * 100).quantize(Decimal("0.1"))
    return f"{value.normalize():f}%"


@register.inclusion_tag("web/reports/table.html", takes_context=True)
def report_table(context: dict[str, Any], table: Any) -> dict[str, Any]:
    """A web.report_tables.Table with its caption and its "Download CSV" link
    (the page's own URL and period, `?csv=<table id>`)."""
    request = context["request"]
    query = request.GET.copy()
    query["csv"] = table.id
    return {"table": table, "csv_url": f"{request.path}?{query.urlencode()}",
            "printing": context.get("printing", False)}  # fmt: skip


@register.filter
def period_query(report_period: Any, period: Any) -> str:
    """`?start=&end=` of one of a report page's presets."""
    return str(report_period.query(period))


@register.filter
def alert_text(alert: Any) -> str:
    """An alert in words (web.readiness_text.alert_text)."""
    return readiness_text.alert_text(alert)


@register.filter
def readiness_missing(account: Any) -> str:
    """Why an account list row has no readiness (web.readiness_text)."""
    return readiness_text.readiness_missing_reason(account)


@register.filter
def readiness_missing_short(account: Any) -> str:
    """ "fallback" or "not scored", beside an account list row's dash."""
    return readiness_text.readiness_missing_short(account)


@register.filter
def as_percent(probability: Any) -> str:
    """A probability (0-1) as a whole percent, "—" when unknown."""
    return readiness_text.percent_text(probability)


@register.filter
def readiness_reasons(served: Any) -> list[tuple[str, Any]]:
    """A served readiness's reasons as (caption, reasons): up, then down."""
    return [
        ("What raised the probability", served.reasons_up),
        ("What lowered it", served.reasons_down),
    ]


@register.filter
def reason_value(reason: Any) -> str:
    """A readiness reason's value in words (web.readiness_text.reason_value_text)."""
    return readiness_text.reason_value_text(reason["feature"], reason["value"])


@register.filter
def absolute(number: Any) -> Any:
    """abs(number); None stays None."""
    return abs(number) if number is not None else None
