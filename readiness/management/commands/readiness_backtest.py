"""The rolling-origin backtest of the readiness model against the rule-based
score and the MQL rule (readiness.backtest explains the rule that keeps
labels from the future out):

    manage.py readiness_backtest [--segment ID] [--today YYYY-MM-DD]
                                 [--json FILE] [--svg DIR] [--boosting]

Prints, per segment, the test months, then AUC, Brier, expected calibration
error and top-decile lift of each method, and the reliability table by
decile. `--json` writes every figure; `--svg` a reliability chart per
segment; `--boosting` measures gradient boosting beside them. Stores nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import ICPSegment
from readiness.backtest import METHOD_LABELS
from readiness.charts import reliability_svg
from readiness.comparison import Comparison, better_than_every_baseline
from readiness.management.arguments import day
from readiness.metrics import Metrics
from readiness.months import history_month_ends
from readiness.selectors import history_backtest, labelled_history


def _figure(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = "Backtest each segment's readiness model against the score and the MQL rule."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--segment", type=int, help="One segment's id (default: all active).")
        parser.add_argument("--today", type=day, help="Today (default: today, UTC).")
        parser.add_argument("--json", type=Path, help="Write every figure to this JSON file.")
        parser.add_argument("--svg", type=Path, help="Write reliability charts to this folder.")
        parser.add_argument(
            "--boosting", action="store_true", help="Measure gradient boosting too (slower)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = options["today"] or timezone.now().date()
        segments = ICPSegment.objects.filter(is_active=True).order_by("pk")
        if options["segment"] is not None:
            segments = segments.filter(pk=options["segment"])
            if not segments.exists():
                raise CommandError(f"no active segment with id {options['segment']}")
        if options["svg"] is not None and not options["svg"].is_dir():
            raise CommandError(f"--svg {options['svg']} is not a folder")
        month_ends = history_month_ends(today)
        self.stdout.write(
            f"history: month ends {month_ends[0]} .. {month_ends[-1]} that the stored activity "
            f"covers, labels known as of {today}"
        )
        report: dict[str, Any] = {"today": today.isoformat(), "segments": []}
        for segment in segments:
            started = time.perf_counter()
            history = labelled_history(segment_id=segment.pk, month_ends=month_ends, today=today)
            result = history_backtest(history, boosting=options["boosting"])
            seconds = time.perf_counter() - started
            counts = history.counts
            figures = result.metrics()
            self.stdout.write(
                f"\n== {segment.name} (id {segment.pk}): {counts.rows} labelled rows, "
                f"{counts.accounts} accounts ({counts.positive_accounts} opened an opportunity, "
                f"{counts.negative_accounts} did not); {seconds:.1f} s"
            )
            for origin in result.origins:
                status = origin.skipped or f"{origin.test_positives} of {origin.test_rows} opened"
                self.stdout.write(
                    f"  {origin.month_end}: trained on {origin.train_rows} rows; {status}"
                )
            comparisons = result.comparisons()
            if figures:
                self._table(figures)
                self._comparisons(comparisons)
            if options["svg"] is not None and figures:
                path = options["svg"] / f"reliability-segment-{segment.pk}.svg"
                path.write_text(
                    reliability_svg(
                        title=f"Reliability, {segment.name} (backtest, pooled)",
                        tables={METHOD_LABELS[m]: figures[m].reliability for m in result.methods},
                    )
                )
                self.stdout.write(f"  wrote {path}")
            report["segments"].append(
                {
                    "id": segment.pk,
                    "name": segment.name,
                    "rows": counts.rows,
                    "accounts": counts.accounts,
                    "positive_accounts": counts.positive_accounts,
                    "negative_accounts": counts.negative_accounts,
                    "seconds": round(seconds, 2),
                    "origins": result.origins_as_dicts(),
                    "metrics": {name: m.as_dict() for name, m in figures.items()},
                    "comparisons": [comparison.as_dict() for comparison in comparisons],
                }
            )
        if options["json"] is not None:
            options["json"].write_text(json.dumps(report, indent=2, default=str))
            self.stdout.write(f"\nwrote {options['json']}")

    def _comparisons(self, comparisons: list[Comparison]) -> None:
        if not comparisons:
            self.stdout.write(
                "  model against the baselines: not computed (the pooled rows hold one "
                "outcome only, so AUC is not defined)"
            )
            return
        self.stdout.write(
            "  model minus baseline, paired bootstrap over accounts "
            "(difference, standard error, 95% interval):"
        )
        for comparison in comparisons:
            auc, brier = comparison.auc, comparison.brier
            self.stdout.write(
                f"  vs {METHOD_LABELS[comparison.baseline]:31} "
                f"AUC {auc.value:+.3f} ± {auc.standard_error:.3f} "
                f"[{auc.low:+.3f}, {auc.high:+.3f}]  "
                f"Brier {brier.value:+.4f} ± {brier.standard_error:.4f} "
                f"[{brier.low:+.4f}, {brier.high:+.4f}]  -> {comparison.verdict}"
            )
        verdicts = [comparison.verdict for comparison in comparisons]
        both = "yes" if better_than_every_baseline(verdicts) else "no"
        self.stdout.write(f"  better than both baselines: {both}")

    def _table(self, figures: dict[str, Metrics]) -> None:
        methods = list(figures)
        first = figures[methods[0]]
        self.stdout.write(
            f"  pooled: {first.rows} predictions, {first.positives} opened "
            f"(base rate {first.base_rate:.3f})"
        )
        self.stdout.write(
            f"  {'method':34} {'AUC':>6} {'Brier':>7} {'ECE':>6} {'top10%':>7} {'lift':>5}"
        )
        for name in methods:
            m = figures[name]
            self.stdout.write(
                f"  {METHOD_LABELS[name]:34} {_figure(m.auc):>6} {_figure(m.brier, 4):>7} "
                f"{_figure(m.ece):>6} {_figure(m.top_decile_rate):>7} "
                f"{_figure(m.top_decile_lift, 2):>5}"
            )
        self.stdout.write("  reliability by decile: mean predicted / observed (count)")
        for number, row in enumerate(first.reliability):
            cells = [
                f"{figures[name].reliability[number].mean_predicted:.3f} / "
                f"{figures[name].reliability[number].observed_rate:.3f}"
                for name in methods
            ]
            self.stdout.write(
                f"  {row.bin:>3} ({row.count:>4})  "
                + "   ".join(f"{name} {cell}" for name, cell in zip(methods, cells, strict=True))
            )
