"""The SQL dialect helpers of the score SQL: what differs between PostgreSQL and
SQLite in the terms, placeholders, timestamps and JSON row sources, each
written once here for every module of engagement.rollup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from engagement.scoring import (
    MAX_EXPONENT,
    MIN_EXPONENT,
)


def days_since_sql(column: str) -> str:
    """SQL for the days from the landmark parameter (`landmark_param`) to a
    timestamp column. On PostgreSQL `date_part` gives float8 directly, where
    `EXTRACT(EPOCH FROM interval)` would compute in numeric for every row."""
    if connection.vendor == "postgresql":
        return f"((date_part('epoch', {column}) - %s::float8) / 86400.0::float8)"
    return f"(julianday({column}) - julianday(%s))"


def month_of_sql(column: str) -> str:
    """SQL for the first day of a timestamp column's month in UTC, as a date:
    the month of an activity's message key (ActivityMessage; migration 0030's
    triggers write the same) and of its partition (engagement.partitions)."""
    if connection.vendor == "postgresql":
        return f"date_trunc('month', {column} AT TIME ZONE 'UTC')::date"
    return f"substr({column}, 1, 7) || '-01'"


def landmark_param(landmark: dt.datetime) -> Any:
    if connection.vendor == "postgresql":
        return landmark.timestamp()
    return connection.ops.adapt_datetimefield_value(landmark)


def decay_exp_sql(days_since: str) -> str:
    """SQL for exp(lambda * days) with the exponent held within the bounds of
    engagement.scoring (MIN_EXPONENT, MAX_EXPONENT): the one place the SQL
    terms take their exponential, so that no stored time overflows a sum.
    `days_since` is `days_since_sql(column)`; lambda is the one parameter added."""
    exponent = f"{float_placeholder()} * {days_since}"
    if connection.vendor == "postgresql":
        least, greatest, number = "LEAST", "GREATEST", "::float8"
    else:
        least, greatest, number = "MIN", "MAX", ""
        # SQLite's julianday() reads no time after 9999-12-31 23:59:59.999 (it
        # gives NULL, and MIN of a NULL is NULL): such a time is the furthest
        # ahead of all, so it takes the upper bound.
        exponent = f"COALESCE({exponent}, {MAX_EXPONENT!r})"
    return (
        f"EXP({greatest}({least}({exponent}, {MAX_EXPONENT!r}{number}), {MIN_EXPONENT!r}{number}))"
    )


def float_placeholder() -> str:
    """A float parameter's placeholder. On PostgreSQL a bare `0.5` is `numeric`,
    and numeric arithmetic made the recompute's sums several times slower
    (docs/benchmarks.md): every number in the term is double precision."""
    return "%s::float8" if connection.vendor == "postgresql" else "%s"


def case_sql(column: str, values: dict[str, float], default: float) -> tuple[str, list[Any]]:
    number = float_placeholder()
    if not values:
        return number, [float(default)]
    whens = " ".join(f"WHEN %s THEN {number}" for _ in values)
    params: list[Any] = []
    for key, value in values.items():
        params += [key, float(value)]
    return f"(CASE {column} {whens} ELSE {number} END)", [*params, float(default)]


def aware(value: Any) -> dt.datetime | None:
    """A timestamp from raw SQL: a datetime on PostgreSQL, text on SQLite."""
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"unreadable timestamp {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def json_rows_source(columns: Sequence[tuple[str, str]]) -> str:
    """A SELECT of rows that travel as one JSON array parameter (`%s`), one
    column per (name, PostgreSQL type): the score and snapshot upserts' source."""
    if connection.vendor == "postgresql":
        typed = ", ".join(f"{name} {kind}" for name, kind in columns)
        return f"SELECT * FROM json_to_recordset(%s::json) AS r({typed})"  # noqa: S608  # nosec B608
    picked = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name, _ in columns)
    return f"SELECT {picked} FROM json_each(%s)"  # noqa: S608 - constant names  # nosec B608
