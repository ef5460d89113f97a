"""The campaign report page's table: the rows of `campaigns.reports.campaign.
campaign_report` (the REST API's campaign report, same code, same numbers)
laid out as figures with their text, their plain value for the CSV, and, where
a figure cannot be computed, why. No ORM and no arithmetic of its own beyond
rounding for display: every number comes from the report.

Where a figure is missing the page says why rather than showing 0: no lift
when no treated target was measured or the period is outside the data; no
interval with fewer than two measured accounts in an arm; pre/post (labelled)
when the holdout has fewer than two measured accounts; no efficiency figure
without spend recorded in the period, engaged accounts or opportunities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from web.charts import BarGroup, Interval, bar_chart, interval_chart
from web.report_figures import (
    LIFT_COLUMNS,
    LINE_KEYS,
    LINE_LABELS,
    PIPELINE_COLUMNS,
    REACH_COLUMNS,
    SPEND_HIDDEN,
    lift_figures,
    pipeline_figures,
    spend_figures,
)
from web.report_tables import Column, Figure, count

# The page reads these from here too; web.report_figures defines them.
__all__ = ["LIFT_COLUMNS", "PIPELINE_COLUMNS", "REACH_COLUMNS", "SPEND_HIDDEN"]

SPEND_COLUMNS = (
    Column("spend", "Spend"),
    Column("cost_per_engaged_account", "Cost per engaged account"),
    Column("cost_per_opportunity", "Cost per opportunity", "spend / opportunities attributed"),
    Column("pipeline_per_spend", "Pipeline per unit of spend", "pipeline attributed / spend"),
)
SPEND_RATIOS = [column.key for column in SPEND_COLUMNS[1:]]


@dataclass
class ReportRow:
    key: str  # "campaign", "program-<id>" or a reconciling line's key
    label: str
    kind: str  # "campaign", "program" or "line"
    program_id: int | None = None
    figures: dict[str, Figure] = field(default_factory=dict)


def _measured_row(
    row: Mapping[str, Any],
    *,
    key: str,
    label: str,
    kind: str,
    program_id: int | None,
    spend_recorded: bool,
    spend_shown: bool,
) -> ReportRow:
    figures = {column.key: count(row[column.key]) for column in REACH_COLUMNS}
    figures.update(lift_figures(row["lift"]))
    figures.update(pipeline_figures(row))
    if spend_shown:
        figures.update(spend_figures(row, recorded=spend_recorded, ratios=SPEND_RATIOS))
    return ReportRow(key, label, kind, program_id, figures)


@dataclass
class ReportTable:
    campaign: ReportRow
    programs: list[ReportRow]
    lines: list[ReportRow]
    spend_shown: bool

    @property
    def measured(self) -> list[ReportRow]:
        """The campaign, then its programs: the rows with every figure."""
        return [self.campaign, *self.programs]

    @property
    def every_row(self) -> list[ReportRow]:
        return [*self.measured, *self.lines]

    def columns(self) -> list[Column]:
        spend = list(SPEND_COLUMNS) if self.spend_shown else []
        return [*REACH_COLUMNS, *LIFT_COLUMNS, *PIPELINE_COLUMNS, *spend]


def report_table(
    report: Mapping[str, Any], *, spend_recorded: set[int], spend_shown: bool
) -> ReportTable:
    """`report` is `campaign_report(...)`; `spend_recorded` the programs with a
    spend line in the period (keys of `MeasurementData.spend`)."""
    rows = report["rows"]
    programs = [r for r in rows if "program_id" in r]
    campaign = report["campaign"]
    campaign_row = _measured_row(
        campaign,
        key="campaign",
        label="Whole campaign",
        kind="campaign",
        program_id=None,
        spend_recorded=any(r["program_id"] in spend_recorded for r in programs),
        spend_shown=spend_shown,
    )
    program_rows = [
        _measured_row(
            r,
            key=f"program-{r['program_id']}",
            label=r["program"],
            kind="program",
            program_id=r["program_id"],
            spend_recorded=r["program_id"] in spend_recorded,
            spend_shown=spend_shown,
        )
        for r in programs
    ]
    lines = []
    for r in rows:
        if "program_id" in r:
            continue
        name = r["program"]
        lines.append(
            ReportRow(
                LINE_KEYS.get(name, name),
                LINE_LABELS.get(name, name),
                "line",
                None,
                pipeline_figures(r),
            )
        )
    return ReportTable(campaign_row, program_rows, lines, spend_shown)


# --- Charts, each with the numbers of its table beside it -----------------------------


def lift_intervals(table: ReportTable) -> list[tuple[ReportRow, Interval]]:
    """The rows whose lift has an interval, as the chart draws them."""
    drawn = []
    for row in table.measured:
        interval = row.figures["lift_interval"]
        if interval.why is not None:
            continue
        low, high = (float(row.figures[k].value) for k in ("lift_low", "lift_high"))
        label = row.label + (" (pre/post)" if row.figures["lift_kind"].value == "pre_post" else "")
        drawn.append((row, Interval(label, float(row.figures["lift"].value), low, high)))
    return drawn


def lift_chart(drawn: Sequence[tuple[ReportRow, Interval]]) -> SafeString:
    return mark_safe(  # noqa: S308 - web.charts escapes every text it writes  # nosec B308 B703
        interval_chart(
            chart_id="lift-intervals",
            title="Lift with its 95% interval, per program and for the campaign",
            rows=[interval for _, interval in drawn],
        )
    )


def spend_pipeline_chart(table: ReportTable) -> SafeString:
    # Numbered bars (the table beside names them): program names are too long
    # for the chart's axis.
    groups = [
        BarGroup(
            str(number),
            [
                None if row.figures["spend"].why else float(row.figures["spend"].value),
                float(row.figures["pipeline_attributed"].value),
            ],
        )
        for number, row in enumerate(table.programs, start=1)
    ]
    return mark_safe(  # noqa: S308 - web.charts escapes every text it writes  # nosec B308 B703
        bar_chart(
            chart_id="spend-pipeline",
            title="Spend and attributed pipeline per program",
            series_names=["spend", "pipeline attributed"],
            groups=groups,
        )
    )


# The interval is one column on the page and its two bounds in the CSV.
CSV_KEYS = {"lift_interval": ("lift_low", "lift_high")}


def csv_rows(table: ReportTable) -> list[list[str]]:
    """The report table as the CSV download writes it: a row per line of the
    page, each figure's plain value, and what could not be computed, and why."""
    keys = [k for c in table.columns() for k in CSV_KEYS.get(c.key, (c.key,))]
    out = [["row", "kind", "program_id", *keys, "not_computed"]]
    for row in table.every_row:
        cells = [row.figures.get(key) for key in keys]
        missing: dict[str, list[str]] = {}
        for key, figure in zip(keys, cells, strict=True):
            if figure is not None and figure.why and not figure.value:
                missing.setdefault(figure.why, []).append(key)
        notes = "; ".join(f"{', '.join(names)}: {why}" for why, names in missing.items())
        out.append(
            [
                row.label,
                row.kind,
                "" if row.program_id is None else str(row.program_id),
                *("" if figure is None else figure.value for figure in cells),
                notes,
            ]
        )
    return out


Cells = list[tuple[ReportRow, list[tuple[Column, Figure | None]]]]


def table_cells(rows: Sequence[ReportRow], columns: Sequence[Column]) -> Cells:
    """Rows with their figures in the columns' order, as a template walks them."""
    return [(row, [(column, row.figures.get(column.key)) for column in columns]) for row in rows]
