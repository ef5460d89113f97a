"""One ranking run as the executives read it (issue 17, page 3): its programs
in rank order with lift beside the metric, the bottom 10% marked, the too-early
ones apart, the cut-or-keep decisions with their reasons and what the cuts
save; as the review page's rows (`run_review`), as report tables that download
as CSV, and as the board pack's section (`ranking_section`).

The numbers are the run's stored entries (`campaigns.services.ranking_run`, the
figures `/api/rankings/<id>/` answers); the run-rate, the judgeable date and
the saving come from `campaigns.ranking`. No query here but the run's own
(`selectors.ranking_run_get` / `ranking_runs`, two queries)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import mark_safe

from campaigns import ranking, selectors
from campaigns.models import RankingDecision, RankingEntry, RankingMetric, RankingRun
from campaigns.spend_visibility import SPEND_HIDDEN, spend_visible
from web.charts import BarGroup, bar_chart
from web.report_tables import (
    Column,
    Figure,
    ReportSection,
    Row,
    Table,
    count,
    decimal,
    missing,
    money,
    text,
)

VIEW_PERMISSION = "campaigns.view_rankingrun"
SECTION_TEMPLATE = "web/ranking/section.html"


@dataclass(frozen=True)
class JudgedProgram:
    """A ranked program, with the days it ran in the period and its monthly
    run-rate (what a cut saves per 30 days)."""

    entry: RankingEntry
    days_running: int
    run_rate: Decimal | None


@dataclass(frozen=True)
class TooEarlyProgram:
    entry: RankingEntry
    judgeable_from: dt.date


@dataclass(frozen=True)
class RunReview:
    """A run's entries sorted as the review shows them, with its counts and
    the saving of its cuts."""

    run: RankingRun
    metric_label: str
    ranked: list[JudgedProgram]
    flagged: list[JudgedProgram]
    too_early: list[TooEarlyProgram]
    without_spend: list[RankingEntry]
    flag_percent: str
    pending: int
    decided: int
    # Cutting every flagged program, and the ones already marked cut.
    saving_flagged: ranking.CutSaving
    saving_cut: ranking.CutSaving


def run_review(run: RankingRun) -> RunReview:
    """`run` (its entries prefetched, rank order) sorted into ranked, too early
    and without spend, with the run-rate of each ranked program."""
    ranked: list[JudgedProgram] = []
    too_early: list[TooEarlyProgram] = []
    without_spend: list[RankingEntry] = []
    for entry in run.entries.all():
        if entry.too_early:
            judgeable = ranking.judgeable_from(
                program_ends_on=entry.program.ends_on, window_days=run.window_days
            )
            too_early.append(TooEarlyProgram(entry, judgeable))
        elif entry.rank is None:
            without_spend.append(entry)
        else:
            days = ranking.days_running_in(
                starts_on=entry.program.starts_on,
                ends_on=entry.program.ends_on,
                period_start=run.period_start,
                period_end=run.period_end,
            )
            rate = ranking.monthly_run_rate(spend=entry.spend, days_running=days)
            ranked.append(JudgedProgram(entry, days, rate))
    flagged = [row for row in ranked if row.entry.is_flagged]
    pending = sum(1 for row in flagged if row.entry.decision == RankingDecision.PENDING)
    cut = [row for row in flagged if row.entry.decision == RankingDecision.CUT]
    return RunReview(
        run=run,
        metric_label=RankingMetric(run.metric).label,
        ranked=ranked,
        flagged=flagged,
        too_early=too_early,
        without_spend=without_spend,
        flag_percent=f"{float(run.flag_fraction) * 100:g}",
        pending=pending,
        decided=len(flagged) - pending,
        saving_flagged=ranking.cut_saving([(r.entry.spend, r.run_rate) for r in flagged]),
        saving_cut=ranking.cut_saving([(r.entry.spend, r.run_rate) for r in cut]),
    )


def metric_chart(review: RunReview) -> str:
    """The ranked metric per program, rank order, flagged bars in their own
    series (and labelled "flag" under the axis, so not by colour alone)."""
    groups = [
        BarGroup(
            label=f"#{row.entry.rank}{' flag' if row.entry.is_flagged else ''}",
            values=[None, row.entry.metric_value]
            if row.entry.is_flagged
            else [row.entry.metric_value, None],
        )
        for row in review.ranked
    ]
    return mark_safe(  # noqa: S308 - web.charts escapes every text it writes  # nosec B308 B703
        bar_chart(
            chart_id=f"ranking-{review.run.pk}",
            title=f"{review.metric_label}, by program in rank order",
            series_names=["Judged", "Bottom (flagged)"],
            groups=groups,
        )
    )


# --- The tables (page CSV and board pack) ----------------------------------------------


def _lift(lift: dict[str, Any] | None) -> dict[str, Figure]:
    """A stored lift as its estimate, interval and counts, or why there is
    none (said once, in the lift column; the interval's columns stay blank)."""
    blank = Figure("—", "")
    if lift is None:
        return {"lift": missing("not stored in this run"), "lift_low": blank,
                "lift_high": blank, "treated": blank, "holdout": blank}  # fmt: skip
    if lift.get("estimate") is None:
        figures = {
            "lift": missing(lift.get("reason") or "no lift measured"),
            "lift_low": blank,
            "lift_high": blank,
        }
    else:
        no_interval = "too few accounts for an interval"
        figures = {
            "lift": decimal(lift["estimate"]),
            "lift_low": decimal(lift.get("low"), why=no_interval),
            "lift_high": decimal(lift.get("high"), why=no_interval),
        }
    # Before/after (no usable holdout): the holdout count has no meaning.
    holdout = count(lift.get("holdout")) if lift.get("kind") == "holdout" else Figure("none", "")
    return {**figures, "treated": count(lift.get("treated")), "holdout": holdout}


def _who(entry: RankingEntry) -> str:
    user = entry.decided_by
    if user is None:
        return "" if entry.decision == RankingDecision.PENDING else "a user since removed"
    return user.get_full_name() or user.username


def _when(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""


class _Spend:
    """The spend figures as the user may see them (campaigns.spend_visibility):
    every ranking metric is per unit of spend, so it hides with the spend."""

    def __init__(self, user: Any) -> None:
        self.visible = spend_visible(user)

    def money(self, value: Decimal | float | None, *, why: str = "no figure") -> Figure:
        return money(value, why=why) if self.visible else missing(SPEND_HIDDEN)


def _ranked_table(review: RunReview, spend: _Spend) -> Table:
    label = review.metric_label
    columns = [
        Column("rank", "Rank"),
        Column("channel", "Channel", numeric=False),
        Column("metric_value", label, help="The run's ranking metric"),
        Column("lift", "Lift", help="Engagement score points against the holdout"),
        Column("lift_low", "Lift 95% low"),
        Column("lift_high", "Lift 95% high"),
        Column("treated", "Treated"),
        Column("holdout", "Holdout"),
        Column("pipeline", "Pipeline", help="Attributed pipeline"),
        Column("spend", "Spend"),
        Column("flag", "Flag", numeric=False),
        Column("decision", "Decision", numeric=False),
    ]
    rows = []
    for row in review.ranked:
        entry = row.entry
        figures = {
            "rank": count(entry.rank),
            "channel": text(entry.program.get_channel_display()),
            "metric_value": spend.money(entry.metric_value, why="no figure: no lift measured"),
            **_lift(entry.lift),
            "pipeline": money(entry.pipeline),
            "spend": spend.money(entry.spend),
            "flag": text(f"Bottom {review.flag_percent}%" if entry.is_flagged else ""),
            "decision": text(entry.get_decision_display() if entry.is_flagged else ""),
        }
        rows.append(
            Row(
                entry.program.name,
                figures,
                key=str(entry.program_id),
                mark="bottom" if entry.is_flagged else "",
            )
        )
    return Table(
        id="ranked",
        caption=f"Judged programs, best first by {label.lower()}",
        columns=columns,
        rows=rows,
        label_heading="Program",
        note=(
            f'The bottom {review.flag_percent}% are flagged to be cut (marked "Bottom '
            f'{review.flag_percent}%"). Lift is in engagement score points with its 95% '
            "interval and the accounts measured."
        ),
    )


def _decisions_table(review: RunReview, spend: _Spend) -> Table:
    columns = [
        Column("rank", "Rank"),
        Column("spend", "Spend in the period"),
        Column("days_running", "Days run in the period"),
        Column("run_rate", f"Run-rate per {ranking.RUN_RATE_DAYS} days"),
        Column("decision", "Decision", numeric=False),
        Column("reason", "Reason", numeric=False),
        Column("decided_by", "Decided by", numeric=False),
        Column("decided_at", "Decided at", numeric=False),
    ]
    rows = []
    for row in review.flagged:
        entry = row.entry
        figures = {
            "rank": count(entry.rank),
            "spend": spend.money(entry.spend),
            "days_running": count(row.days_running),
            "run_rate": spend.money(
                row.run_rate, why="the program's dates do not overlap the period"
            ),
            "decision": text(entry.get_decision_display()),
            "reason": text(entry.decision_note),
            "decided_by": text(_who(entry)),
            "decided_at": text(_when(entry.decided_at)),
        }
        rows.append(Row(entry.program.name, figures, key=str(entry.program_id), mark="bottom"))
    for label, saving, key in (
        ("Saving if every flagged program is cut", review.saving_flagged, "saving-flagged"),
        ("Saving of the programs marked cut", review.saving_cut, "saving-cut"),
    ):
        rate_why = "a program ran no day of the period: no run-rate"
        figures = {
            "spend": spend.money(saving.spend),
            "run_rate": spend.money(saving.run_rate, why=rate_why),
            "decision": text(f"{saving.programs} program{'s' if saving.programs != 1 else ''}"),
        }
        rows.append(Row(label, figures, kind="total", key=key))
    return Table(
        id="decisions",
        caption="Flagged programs: cut or keep, and what a cut saves",
        columns=columns,
        rows=rows,
        label_heading="Program",
        note=(
            "What a cut saves: the program's spend in the period (what running it again for "
            f"as long would cost) and its run-rate, that spend per {ranking.RUN_RATE_DAYS} "
            "days over the days it ran in the period."
        ),
    )


def _too_early_table(review: RunReview, spend: _Spend) -> Table:
    columns = [
        Column("channel", "Channel", numeric=False),
        Column("ends_on", "Ends", numeric=False),
        Column("judgeable_from", "Judgeable from", numeric=False),
        Column("metric_value", f"{review.metric_label} so far"),
        Column("lift", "Lift so far"),
        Column("lift_low", "Lift 95% low"),
        Column("lift_high", "Lift 95% high"),
        Column("treated", "Treated"),
        Column("holdout", "Holdout"),
        Column("pipeline", "Pipeline so far"),
        Column("spend", "Spend"),
    ]
    rows = [
        Row(
            row.entry.program.name,
            {
                "channel": text(row.entry.program.get_channel_display()),
                "ends_on": text(row.entry.program.ends_on.isoformat()),
                "judgeable_from": text(row.judgeable_from.isoformat()),
                "metric_value": spend.money(row.entry.metric_value),
                **_lift(row.entry.lift),
                "pipeline": money(row.entry.pipeline),
                "spend": spend.money(row.entry.spend),
            },
            key=str(row.entry.program_id),
        )
        for row in review.too_early
    ]
    return Table(
        id="too-early",
        caption="Too early to judge: not ranked, never flagged",
        columns=columns,
        rows=rows,
        label_heading="Program",
        note=(
            f"Spend in the period but the {review.run.window_days}-day influence window had "
            f"not closed by its end ({review.run.period_end:%d %b %Y}); their figures so far."
        ),
    )


def review_tables(review: RunReview, *, user: Any) -> list[Table]:
    """The run's tables, as the page's CSV and the board pack show them."""
    spend = _Spend(user)
    return [
        _ranked_table(review, spend),
        _decisions_table(review, spend),
        _too_early_table(review, spend),
    ]


def runs_table(runs: QuerySet[RankingRun]) -> Table:
    """The history of runs (`selectors.ranking_run_summaries`, newest first)."""
    columns = [
        Column("period_start", "From", numeric=False),
        Column("period_end", "To", numeric=False),
        Column("metric", "Metric", numeric=False),
        Column("run_at", "Run at", numeric=False),
        Column("trigger", "Trigger", numeric=False),
        Column("judged", "Judged"),
        Column("flagged", "Flagged"),
        Column("too_early", "Too early"),
        Column("decided", "Decided"),
        Column("pending", "Pending"),
    ]
    rows = [
        Row(
            f"Run {run.pk}",
            {
                "period_start": text(run.period_start.isoformat()),
                "period_end": text(run.period_end.isoformat()),
                "metric": text(run.get_metric_display()),
                "run_at": text(_when(run.created_at)),
                "trigger": text(run.get_trigger_display()),
                "judged": count(run.judged),  # type: ignore[attr-defined]
                "flagged": count(run.flagged),  # type: ignore[attr-defined]
                "too_early": count(run.too_early_count),  # type: ignore[attr-defined]
                "decided": count(run.decided),  # type: ignore[attr-defined]
                "pending": count(run.pending),  # type: ignore[attr-defined]
            },
            key=str(run.pk),
        )
        for run in runs
    ]
    return Table(
        id="runs", caption="Ranking runs, newest first", columns=columns, rows=rows,
        label_heading="run",
    )  # fmt: skip


# --- The board pack's section -------------------------------------------------------------


def ranking_section(*, user: Any, run: RankingRun | None = None) -> ReportSection:
    """The latest run (or `run`) as the board pack prints it: its facts, the
    saving of its cuts, the chart and its tables. Refused (PermissionDenied)
    to a user without `campaigns.view_rankingrun`; spend figures hidden for a
    user who may not see spend."""
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("the ranking needs campaigns.view_rankingrun")
    if run is None:
        run = selectors.ranking_runs().first()
    title = "Program ranking"
    if run is None:
        return ReportSection(title, SECTION_TEMPLATE, {"review": None, "tables": []}, [])
    review = run_review(run)
    tables = review_tables(review, user=user)
    context = {
        "review": review,
        "tables": tables,
        "chart": metric_chart(review) if review.ranked else None,
        "spend_visible": spend_visible(user),
        "spend_hidden": SPEND_HIDDEN,
        "run_rate_days": ranking.RUN_RATE_DAYS,
    }
    return ReportSection(title, SECTION_TEMPLATE, context, tables)
