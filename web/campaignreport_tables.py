"""The executive campaign report's tables and charts: the rows of
`campaigns.reports.programs.pipeline_report` (views "campaigns", "programs"
and "channels", the REST API's `/api/reports/programs/?view=...`, same code,
same numbers) laid out as `web.report_tables.Table`s, with the lift error bars
and the spend-against-pipeline scatter drawn from the same figures.

Each campaign is followed by its programs; the "influenced by no program" line
and the period's total close the pipeline tables, so the campaigns' (or the
channels') attributed figures plus that line add up to the total. No ORM and
no arithmetic beyond rounding for display: every number is the report's.

The scatter: one point per program with spend recorded in the period (spend
across, attributed pipeline up), its area proportional to the program's lift.
A lift at or below 0, or a lift that cannot be measured, is drawn at the
smallest size (the chart cannot draw a negative area, and a missing lift must
not look like a large or a small one); the table beside says which it is. A
program without spend in the period is not drawn (its spend is not a 0): the
table lists it and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from campaigns.models import Channel
from campaigns.reports.attribution import PERIOD_TOTAL
from campaigns.reports.measurement import MeasurementData
from web.charts import Interval, ScatterPoint, interval_chart, scatter_chart
from web.report_figures import (
    LINE_KEYS,
    LINE_LABELS,
    NO_SPEND,
    PIPELINE_COLUMNS,
    lift_figures,
    pipeline_figures,
    spend_figures,
)
from web.report_tables import Column, Figure, Row, Table, count, text

LIFT_TABLE_COLUMNS = (
    Column("lift", "Lift", "mean score change of treated minus held-out accounts"),
    Column("lift_interval", "95% interval", "Welch's interval"),
    Column("lift_kind", "Against", "a holdout, or the treated accounts' own change", False),
    Column("lift_treated", "Treated n", "treated accounts measured"),
    Column("lift_holdout", "Holdout n", "held-out accounts measured"),
    Column("lift_not_measured", "Not measured", "targets without a score on a day"),
)
# The interval is one column on the page and its two bounds in the CSV.
LIFT_CSV_COLUMNS = {
    "lift_interval": (
        Column("lift_low", "95% interval, low"),
        Column("lift_high", "95% interval, high"),
    )
}
ACCOUNT_COLUMNS = (
    Column("accounts_touched", "Touched", "accounts the programs touched in the period"),
    Column("accounts_engaged", "Engaged", "touched accounts that reached the engaged band"),
    Column("accounts_qualified", "Qualified", "touched accounts that reached the qualified band"),
)
PIPELINE_TABLE_COLUMNS = (
    *ACCOUNT_COLUMNS,
    *PIPELINE_COLUMNS,
    Column("won_revenue_influenced", "Won revenue influenced"),
    Column("won_revenue_attributed", "Won revenue attributed"),
)
SPEND_TABLE_COLUMNS = (
    Column("spend", "Spend"),
    Column("cost_per_engaged_account", "Cost per engaged account", "spend / engaged accounts"),
    Column("cost_per_opportunity", "Cost per opportunity", "spend / opportunities attributed"),
    Column("pipeline_per_spend", "Pipeline per unit of spend", "pipeline attributed / spend"),
    Column(
        "won_revenue_per_spend",
        "Won revenue per unit of spend",
        "won revenue attributed / spend",
    ),
)
SPEND_RATIOS = [column.key for column in SPEND_TABLE_COLUMNS[1:]]
SCATTER_COLUMNS = (
    Column("campaign", "Campaign", numeric=False),
    Column("spend", "Spend"),
    Column("pipeline_attributed", "Pipeline attributed"),
    Column("lift", "Lift"),
    Column("point", "Point drawn", "how the chart draws the program", numeric=False),
)


class LiftTable(Table):
    """A table with the lift interval: one column on the page, its low and
    high bounds as two columns of the CSV (plain numbers a spreadsheet reads)."""

    def csv_rows(self) -> list[list[str]]:
        columns = [split for c in self.columns for split in LIFT_CSV_COLUMNS.get(c.key, (c,))]
        flat = Table(self.id, self.caption, columns, self.rows, self.label_heading, self.note)
        return flat.csv_rows()


def _measured_figures(
    row: Mapping[str, Any], *, spend_recorded: bool, spend_shown: bool
) -> dict[str, Figure]:
    figures = {column.key: count(row[column.key]) for column in ACCOUNT_COLUMNS}
    figures.update(lift_figures(row["lift"]))
    figures.update(pipeline_figures(row))
    if spend_shown:
        figures.update(spend_figures(row, recorded=spend_recorded, ratios=SPEND_RATIOS))
    return figures


def _lines(rows: Iterable[Mapping[str, Any]], *, label: str) -> list[Row]:
    """The reconciling lines (influenced by no program, the period total)."""
    lines = []
    for row in rows:
        name = row[label]
        kind = "total" if name == PERIOD_TOTAL else "line"
        lines.append(
            Row(LINE_LABELS.get(name, name), pipeline_figures(row), kind, LINE_KEYS.get(name, name))
        )
    return lines


@dataclass
class Hierarchy:
    """Measured rows (campaigns and their programs, or channels) and the lines
    that close them to the period's total."""

    measured: list[Row]
    lines: list[Row]
    # key -> the program's campaign name (the scatter's table names it)
    campaign_of: dict[str, str] = field(default_factory=dict)


def campaign_rows(
    data: MeasurementData,
    *,
    campaigns: Sequence[Mapping[str, Any]],
    programs: Sequence[Mapping[str, Any]],
    spend_shown: bool,
) -> Hierarchy:
    """Each campaign (its whole-campaign figures: every treated target against
    its holdout) followed by its programs (the treated targets each touched)."""
    measured: list[Row] = []
    campaign_of: dict[str, str] = {}
    recorded = set(data.spend)
    for campaign in (r for r in campaigns if "campaign_id" in r):
        own = [p for p in programs if p.get("campaign_id") == campaign["campaign_id"]]
        measured.append(
            Row(
                f"{campaign['campaign']} (whole campaign)",
                _measured_figures(
                    campaign,
                    spend_recorded=any(p["program_id"] in recorded for p in own),
                    spend_shown=spend_shown,
                ),
                "campaign",
                f"campaign-{campaign['campaign_id']}",
            )
        )
        for program in own:
            key = f"program-{program['program_id']}"
            campaign_of[key] = str(campaign["campaign"])
            figures = _measured_figures(
                program, spend_recorded=program["program_id"] in recorded, spend_shown=spend_shown
            )
            measured.append(Row(str(program["program"]), figures, "program", key))
    lines = _lines((r for r in campaigns if "campaign_id" not in r), label="campaign")
    return Hierarchy(measured, lines, campaign_of)


def channel_rows(
    data: MeasurementData, *, channels: Sequence[Mapping[str, Any]], spend_shown: bool
) -> Hierarchy:
    """Each channel: its programs' figures together, their touched treated
    targets against the holdouts of the campaigns involved."""
    labels = dict(Channel.choices)
    measured = []
    for row in channels:
        if row["channel"] not in labels:
            continue
        recorded = any(
            p["channel"] == row["channel"] for pk, p in data.programs.items() if pk in data.spend
        )
        figures = _measured_figures(row, spend_recorded=recorded, spend_shown=spend_shown)
        measured.append(
            Row(str(labels[row["channel"]]), figures, "row", f"channel-{row['channel']}")
        )
    lines = _lines((r for r in channels if r["channel"] not in labels), label="channel")
    return Hierarchy(measured, lines)


@dataclass(frozen=True)
class Tables:
    lift: LiftTable
    pipeline: Table
    spend: Table | None


def hierarchy_tables(
    rows: Hierarchy, *, prefix: str, subject: str, label_heading: str, spend_shown: bool
) -> Tables:
    """The lift, the accounts and pipeline, and (when shown) the spend table."""
    lift = LiftTable(
        f"{prefix}lift",
        f"Lift against the holdout, per {subject}",
        LIFT_TABLE_COLUMNS,
        rows.measured,
        label_heading,
    )
    pipeline = Table(
        f"{prefix}pipeline",
        f"Accounts, opportunities, pipeline and won revenue, per {subject}",
        PIPELINE_TABLE_COLUMNS,
        [*rows.measured, *rows.lines],
        label_heading,
        note=(
            "The attributed figures of the "
            + ("campaigns" if prefix == "" else "channels")
            + " plus the line influenced by no program add up to the period total"
            + (" (a campaign's row is the sum of its programs')." if prefix == "" else ".")
        ),
    )
    spend = (
        Table(
            f"{prefix}spend",
            f"Spend and what it bought, per {subject}",
            SPEND_TABLE_COLUMNS,
            rows.measured,
            label_heading,
        )
        if spend_shown
        else None
    )
    return Tables(lift, pipeline, spend)


# --- Charts, each beside the table of its numbers -----------------------------------


def lift_intervals(rows: Sequence[Row]) -> list[tuple[Row, Interval]]:
    """The rows whose lift has an interval, in the table's order, each with the
    error bar the chart draws for it."""
    drawn = []
    for row in rows:
        figures = row.figures
        if figures["lift_interval"].why is not None:
            continue
        pre_post = figures["lift_kind"].value == "pre_post"
        interval = Interval(
            row.label + (" (pre/post)" if pre_post else ""),
            float(figures["lift"].value),
            float(figures["lift_low"].value),
            float(figures["lift_high"].value),
        )
        drawn.append((row, interval))
    return drawn


def lift_chart(*, chart_id: str, subject: str, drawn: Sequence[tuple[Row, Interval]]) -> SafeString:
    return mark_safe(  # noqa: S308 - web.charts escapes every text it writes  # nosec B308 B703
        interval_chart(
            chart_id=chart_id,
            title=f"Lift with its 95% interval, per {subject}",
            rows=[interval for _, interval in drawn],
        )
    )


def _point_figure(lift: Figure) -> Figure:
    """How the scatter draws a program with spend, by its lift."""
    if lift.why is not None:
        return text("smallest: no lift")
    if float(lift.value) <= 0:
        return text("smallest: lift at or below 0")
    return text("sized by lift")


def scatter(rows: Hierarchy) -> tuple[Table, list[ScatterPoint]]:
    """Spend against attributed pipeline per program, sized by lift, and the
    table of its numbers (every program, drawn or not, and how)."""
    table_rows, points = [], []
    for row in rows.measured:
        if row.kind != "program":
            continue
        spend, pipeline, lift = (row.figures[k] for k in ("spend", "pipeline_attributed", "lift"))
        if spend.why == NO_SPEND:
            point = text("not drawn: no spend recorded")
        else:
            point = _point_figure(lift)
            size = 0.0 if lift.why is not None else max(0.0, float(lift.value))
            points.append(ScatterPoint(row.label, float(spend.value), float(pipeline.value), size))
        figures = {
            "campaign": text(rows.campaign_of[row.key]),
            "spend": spend,
            "pipeline_attributed": pipeline,
            "lift": lift,
            "point": point,
        }
        table_rows.append(Row(row.label, figures, "program", row.key))
    table = Table(
        "scatter",
        "Spend against attributed pipeline, per program (the scatter's figures)",
        SCATTER_COLUMNS,
        table_rows,
        "Program",
    )
    return table, points


def scatter_svg(points: Sequence[ScatterPoint]) -> SafeString:
    return mark_safe(  # noqa: S308 - web.charts escapes every text it writes  # nosec B308 B703
        scatter_chart(
            chart_id="spend-pipeline-scatter",
            title="Spend against attributed pipeline per program, sized by lift",
            x_name="spend",
            y_name="pipeline attributed",
            points=points,
        )
    )
