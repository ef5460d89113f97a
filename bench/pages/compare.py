"""The pages benchmark at several sizes compared (issue 20's targets): every
figure at each size, the ratio of the largest size's to the smallest's, and
the verdict where the issue sets a target:

- every page's p95 at the largest size within 1.5 times its p95 at the smallest;
- the incremental rollup of the same new activities within 1.2 times;
- /v1/batch at full history at least 1/1.2 of its rate on the empty table,
  at the largest size (a ratio within each size, not between sizes);
- the peak memory of every step under 500 MB at the largest size (the larger
  of this process's and the gunicorn workers' peak).

It reads the results' `as_dict()` (what the JSON holds), so that a comparison
can be made again from a saved file. A figure a result lacks is said to be
missing, never taken as 0, and a verdict that needs it is "missing", neither
PASS nor FAIL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

TARGET_PAGE_P95_RATIO = 1.5
TARGET_ROLLUP_RATIO = 1.2
TARGET_INGEST_TO_EMPTY = 1 / 1.2
TARGET_MEMORY_MB = 500.0
PASS, FAIL, MISSING = "PASS", "FAIL", "missing"


@dataclass(frozen=True)
class Row:
    figure: str
    unit: str
    values: list[float | None]  # one per size, smallest first; None where missing
    ratio: float | None  # largest size's value / smallest's; None where missing or 0
    target: str  # "" when the issue sets none
    verdict: str  # PASS, FAIL, MISSING, or "" without a target


def figure(result: Mapping[str, Any], *path: str) -> float | None:
    """The number at `path` in a result, None where any part is absent (or is
    not a number)."""
    value: Any = result
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ratio(values: Sequence[float | None]) -> float | None:
    first, last = values[0], values[-1]
    if first is None or last is None or first == 0 or len(values) < 2:
        return None
    return round(last / first, 3)


def _row(figure_name: str, unit: str, values: list[float | None], *,
         ratio_at_most: float | None = None,
         largest: tuple[str, float, Callable[[float], bool]] | None = None) -> Row:  # fmt: skip
    """A row; its verdict from the ratio (`ratio_at_most`) or from the value at
    the largest size (`largest`: what the target says, the limit, the check)."""
    ratio = _ratio(values)
    target, verdict = "", ""
    if ratio_at_most is not None:
        target = f"ratio <= {ratio_at_most:g}"
        verdict = MISSING if ratio is None else (PASS if ratio <= ratio_at_most else FAIL)
    elif largest is not None:
        relation, limit, check = largest
        target = f"{relation} {limit:.3g} at the largest"
        last = values[-1]
        verdict = MISSING if last is None else (PASS if check(last) else FAIL)
    return Row(figure_name, unit, values, ratio, target, verdict)


def _peak(memory: Any) -> float | None:
    """The larger of the step's peaks that were measured."""
    if not isinstance(memory, Mapping):
        return None
    peaks = [figure(memory, key) for key in ("process_peak_mb", "workers_peak_mb")]
    known = [peak for peak in peaks if peak is not None]
    return max(known) if known else None


def _ordered_keys(results: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """The names under `key` in any result, in the order they first appear."""
    names: dict[str, None] = {}
    for result in results:
        names.update(dict.fromkeys(result.get(key) or {}))
    return list(names)


def rows(results: Sequence[Mapping[str, Any]]) -> list[Row]:
    """The comparison's rows for results ordered by size, smallest first."""
    out: list[Row] = []
    for name in _ordered_keys(results, "pages"):
        label = next(str(r["pages"][name].get("label", name)) for r in results
                     if name in (r.get("pages") or {}))  # fmt: skip
        out.append(
            _row(f"{label}, p50", "ms", [figure(r, "pages", name, "p50_ms") for r in results])
        )
        p95 = [figure(r, "pages", name, "p95_ms") for r in results]
        out.append(_row(f"{label}, p95", "ms", p95, ratio_at_most=TARGET_PAGE_P95_RATIO))
    new = {figure(r, "sizes", "new_activities") for r in results}
    same = f"{next(iter(new)):,.0f}" if len(new) == 1 and None not in new else "(different)"
    out += [
        _row("ranking run of the year (in process)", "s",
             [figure(r, "ranking_run_seconds") for r in results]),
        _row("full recompute", "s", [figure(r, "recompute_seconds") for r in results]),
        _row(f"incremental rollup of {same} activities", "s",
             [figure(r, "rollup_seconds") for r in results], ratio_at_most=TARGET_ROLLUP_RATIO),
        _row("/v1/batch, empty activity table", "events/s",
             [figure(r, "tracking_empty", "events_per_second") for r in results]),
        _row("/v1/batch, at the size's history", "events/s",
             [figure(r, "tracking", "batch", "events_per_second") for r in results]),
    ]  # fmt: skip
    to_empty: list[float | None] = []
    for result in results:
        full = figure(result, "tracking", "batch", "events_per_second")
        empty = figure(result, "tracking_empty", "events_per_second")
        to_empty.append(None if full is None or not empty else round(full / empty, 3))
    out += [
        _row("/v1/batch, history / empty table", "", to_empty,
             largest=(">=", TARGET_INGEST_TO_EMPTY, lambda v: v >= TARGET_INGEST_TO_EMPTY)),
        _row("/v1/track", "requests/s",
             [figure(r, "tracking", "track", "requests_per_second") for r in results]),
    ]  # fmt: skip
    for step in _ordered_keys(results, "memory_mb"):
        peaks = [_peak((r.get("memory_mb") or {}).get(step)) for r in results]
        under = ("<", TARGET_MEMORY_MB, lambda v: v < TARGET_MEMORY_MB)
        out.append(_row(f"peak memory, {step}", "MB", peaks, largest=under))
    return out


def comparison(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every row, and the count of targets met, missed and missing; `verdict`
    PASS only when every target is met, FAIL when one is missed, else missing."""
    ordered = sorted(results, key=lambda r: figure(r, "sizes", "activities") or 0)
    table = rows(ordered)
    verdicts = [row.verdict for row in table if row.verdict]
    counts = {v: verdicts.count(v) for v in (PASS, FAIL, MISSING)}
    overall = FAIL if counts[FAIL] else (MISSING if counts[MISSING] else PASS)
    return {
        "sizes": [figure(r, "sizes", "activities") for r in ordered],
        "rows": [asdict(row) for row in table],
        "targets": {"met": counts[PASS], "missed": counts[FAIL], "missing": counts[MISSING]},
        "verdict": overall,
    }


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return MISSING
    if unit == "s" or not unit:
        return f"{value:,.3f}"
    return f"{value:,.1f}"


def between_setups(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """What the PostgreSQL setup changes (`--postgres tuned,defaults`): for each
    size run on every setup, each figure on each setup, in the order given,
    and the ratio of the last setup's value to the first's. No targets: the
    issue sets none between setups."""
    names = list(runs)
    by_size = [
        {size: r for r in runs[name] if (size := figure(r, "sizes", "activities")) is not None}
        for name in names
    ]
    common = sorted(set.intersection(*(set(sized) for sized in by_size))) if names else []
    out = []
    for size in common:
        table = rows([sized[size] for sized in by_size])
        out.append({
            "activities": size,
            "columns": names,
            "rows": [asdict(row) | {"target": "", "verdict": ""} for row in table],
        })  # fmt: skip
    return out


def lines(compared: Mapping[str, Any]) -> list[str]:
    """The comparison as a table, one row a line (the verdicts' count where
    there are targets)."""
    sizes = compared.get("columns") or [
        f"{size:,.0f}" if size is not None else MISSING for size in compared["sizes"]
    ]
    head = f"  {'figure':<52} {'unit':<10}" + "".join(f" {s:>12}" for s in sizes)
    out = [head + f" {'ratio':>8}  {'target':<24} verdict"]
    for row in compared["rows"]:
        values = "".join(f" {_shown(v, row['unit']):>12}" for v in row["values"])
        ratio = MISSING if row["ratio"] is None else f"{row['ratio']:.3f}"
        out.append(f"  {row['figure']:<52} {row['unit']:<10}{values} {ratio:>8}  "
                   f"{row['target']:<24} {row['verdict']}".rstrip())  # fmt: skip
    targets = compared.get("targets")
    if targets is None:
        return out
    out.append(
        f"  targets: {targets['met']} met, {targets['missed']} missed, {targets['missing']} "
        f"without a figure: {compared['verdict']}"
    )
    return out
