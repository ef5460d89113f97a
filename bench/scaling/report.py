"""The scaling benchmark's report: the lines `manage.py bench` prints."""

from __future__ import annotations

from bench.scaling.benchmark import ScalingResult


def lines(result: ScalingResult) -> list[str]:
    """The drains (throughput, CPU, sessions), the ratio, the replica's queries
    and lag, as text lines."""
    out: list[str] = []
    sizes = result.sizes
    out.append(
        f"scaling: {sizes['accounts']:,} accounts, {sizes['contacts']:,} contacts, "
        f"{sizes['activities']:,} activities; a backlog of {sizes['backlog']:,} pending "
        f"drained by celery -Q rollup --pool prefork (seeded in {result.seed_seconds:.1f}s)"
    )
    out.append(
        f"  {'workers':<40} {'seconds':>8} {'activities/s':>13} {'CPU workers':>12} "
        f"{'CPU postgres':>13} {'machine':>8} {'lock waits':>11}"
    )
    for drain in result.drains:
        batch = f"batch {drain['max_batch']:,}" if drain["max_batch"] else "one claim"
        label = f"{drain['processes']} process(es), {batch}"
        busy = drain["cores_busy"]
        out.append(
            f"  {label:<40} {drain['seconds']:>8.2f} {drain['activities_per_second']:>13,.0f} "
            f"{busy['workers'] or 0:>11.2f}c {busy['postgres'] or 0:>12.2f}c "
            f"{busy['machine'] or 0:>7.2f}c {drain['lock_wait_share']:>11.0%}"
        )
    for drain in result.drains:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in drain["session_shares"].items())
        out.append(
            f"  {drain['processes']} process(es), batch {drain['max_batch'] or 'all'}: "
            f"{drain['busy_sessions_mean']:.2f} sessions busy on average; {shares}"
        )
    out.append(
        f"  two processes / one (same batches): {result.two_to_one:.2f}; every score equal "
        f"to the hand-written SQL after each drain "
        f"({result.drains[-1]['checked_accounts']:,} accounts)"
    )
    rep = result.replica
    out.append(
        f"  replica: {rep['sizes']['activities']:,} activities on a primary of its own, "
        f"standby by pg_basebackup -R in {rep['basebackup_seconds']:.1f}s, caught up in "
        f"{rep['catch_up_seconds']:.3f}s; in recovery {rep['standby_in_recovery']}, "
        f"refuses writes {rep['standby_refuses_writes']}"
    )
    out.append(f"  {'query':<40} {'primary p50':>12} {'p95':>8} {'standby p50':>12} {'p95':>8}")
    for name, query in rep["queries"].items():
        label = f"{name} ({query['requests']}, answers equal)"
        out.append(
            f"  {label:<40} {query['primary']['p50_ms']:>12.1f} "
            f"{query['primary']['p95_ms']:>8.1f} {query['standby']['p50_ms']:>12.1f} "
            f"{query['standby']['p95_ms']:>8.1f}"
        )
    lag = rep["lag_ms"]
    out.append(
        f"  replication lag, commit on the primary to replay on the standby "
        f"({lag['markers']} rows): p50 {lag['p50']} ms, p95 {lag['p95']} ms, "
        f"max {lag['max']} ms"
    )
    return out
