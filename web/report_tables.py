"""The executive reports' tables: figures with their text, their plain value
for the CSV, and why one could not be computed; a table that renders on the
page and downloads as CSV from the same rows (so the two cannot disagree).

Every report page builds `Table`s from a selector's rows, renders each with
`web/reports/table.html` (a caption, the figures, a "Download CSV" link) and
answers `?csv=<table id>` with `table_csv_response`. No ORM and no arithmetic
beyond rounding for display: every number comes from the report it shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse

from core.csvimport import csv_cell_neutralise


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    help: str = ""
    # Text columns (names, labels) are neutralised against CSV injection in the
    # download; numeric ones are written as plain numbers (a "-12.50" stays one).
    numeric: bool = True


@dataclass(frozen=True)
class Figure:
    """One cell: `text` as shown, `value` as the CSV writes it ("" when there
    is none), and `why` when it cannot be computed."""

    text: str
    value: str
    why: str | None = None


def missing(why: str) -> Figure:
    """A figure that cannot be computed: shown as "not computed" with the reason."""
    return Figure("", "", why)


def text(value: str) -> Figure:
    return Figure(value, value)


def count(value: int | None, *, why: str = "no figure") -> Figure:
    if value is None:
        return missing(why)
    return Figure(f"{value:,}", str(value))


def money(value: float | Decimal | None, *, why: str = "no figure") -> Figure:
    """Money and ratios to the cent, as the API's figures round."""
    if value is None:
        return missing(why)
    return Figure(f"{value:,.2f}", f"{value:.2f}")


def decimal(value: float | Decimal | None, *, places: int = 1, why: str = "no figure") -> Figure:
    if value is None:
        return missing(why)
    return Figure(f"{value:,.{places}f}", f"{value:.{places}f}")


def percent(value: float | None, *, why: str = "no figure") -> Figure:
    """A rate in [0, 1] shown as a percentage; the CSV keeps the rate itself."""
    if value is None:
        return missing(why)
    return Figure(f"{value * 100:.1f}%", f"{value:.4f}")


@dataclass
class Row:
    label: str
    figures: dict[str, Figure] = field(default_factory=dict)
    # "total" and "line" rows (a closing or reconciling line) are styled apart.
    kind: str = "row"
    key: str = ""
    # Marks a row for a person: "bottom" (flagged to cut), "holdout", ...
    mark: str = ""


@dataclass
class Table:
    """A table of a report page; `id` names it in the page and in `?csv=`."""

    id: str
    caption: str
    columns: Sequence[Column]
    rows: list[Row]
    label_heading: str = ""
    note: str = ""

    def cells(self) -> list[tuple[Row, list[tuple[Column, Figure | None]]]]:
        """Rows with their figures in the columns' order, as a template walks them."""
        return [(row, [(c, row.figures.get(c.key)) for c in self.columns]) for row in self.rows]

    def csv_rows(self) -> list[list[str]]:
        """The table as the CSV writes it: the row label, each figure's plain
        value, and what could not be computed and why, per row."""
        keys = [c.key for c in self.columns]
        header = [self.label_heading or "row", *keys, "not_computed"]
        out = [header]
        for row in self.rows:
            figures = [row.figures.get(key) for key in keys]
            why: dict[str, list[str]] = {}
            for key, figure in zip(keys, figures, strict=True):
                if figure is not None and figure.why and not figure.value:
                    why.setdefault(figure.why, []).append(key)
            notes = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in why.items())
            cells = [
                "" if f is None else (f.value if c.numeric else csv_cell_neutralise(f.value))
                for c, f in zip(self.columns, figures, strict=True)
            ]
            out.append([csv_cell_neutralise(row.label), *cells, notes])
        return out


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def table_csv_response(tables: Sequence[Table], request: HttpRequest, *, name: str) -> HttpResponse:
    """`?csv=<id>`: that table of the page as a CSV download (404 for an unknown id)."""
    wanted = request.GET.get("csv", "")
    for table in tables:
        if table.id == wanted:
            response = HttpResponse(
                csv_text(table.csv_rows()), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}-{table.id}.csv"'
            return response
    raise Http404(f"No table {wanted!r} on this page")


@dataclass
class ReportSection:
    """One report as its page and the board pack PDF both render it: the title,
    the template of its body (no shell, no forms; it reads `report`, which is
    `context`, and `printing`, true in the PDF) and the tables it holds, which
    the page serves as CSV (`?csv=<table id>`)."""

    title: str
    template_name: str
    context: dict[str, Any]
    tables: list[Table] = field(default_factory=list)
