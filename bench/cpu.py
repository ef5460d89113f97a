"""CPU time spent by the parts of a benchmark, read from /proc (Linux).

Throughput depends on whatever else the machine runs; CPU time per event does
much less, and it says where the time goes: the server, PostgreSQL or the client.
Elsewhere than Linux every figure is None.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def _ticks_per_second() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process, or None if it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _ticks_per_second()


def _pids() -> list[int]:
    try:
        return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]
    except OSError:
        return []


def process_tree_seconds(root: int) -> float | None:
    """CPU seconds of a process and its children (gunicorn's master and workers)."""
    stats = {pid: stat for pid in _pids() if (stat := _stat(pid)) is not None}
    if root not in stats:
        return None
    return stats[root][1] + sum(
        seconds for pid, (parent, seconds) in stats.items() if parent == root and pid != root
    )


def _postgres_process_counts(title: str, database: str) -> bool:
    """Whether a PostgreSQL process title is a backend of `database` or a shared
    background process. Titles: "postgres: [CLUSTER: ]USER DATABASE HOST(PORT) ..."
    for backends, "postgres: [CLUSTER: ]walwriter" and the like for the others."""
    words = title.split()[1:]
    if words and words[0].endswith(":"):
        words = words[1:]  # the cluster name, as Debian sets it
    is_backend = len(words) >= 3 and ("(" in words[2] or words[2] == "[local]")
    return words[1] == database if is_backend else bool(words)


def postgres_backends_seconds(database: str) -> float | None:
    """CPU seconds of the local PostgreSQL backends connected to `database`, and of
    the shared background processes (WAL writer, checkpointer ...)."""
    if not PROC.exists():
        return None
    total = 0.0
    for pid in _pids():
        try:
            title = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if title.startswith("postgres: ") and _postgres_process_counts(title, database):
            stat = _stat(pid)
            if stat is not None:
                total += stat[1]
    return total


@dataclass(frozen=True)
class CpuSample:
    at: float
    client: float
    server: float | None
    database: float | None
    machine_busy: float | None


def _machine_busy_seconds() -> float | None:
    """CPU seconds every core of the machine has spent busy since boot."""
    try:
        fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / _ticks_per_second()


def sample(*, server_pid: int, database: str) -> CpuSample:
    return CpuSample(
        at=time.perf_counter(),
        client=time.process_time(),
        server=process_tree_seconds(server_pid),
        database=postgres_backends_seconds(database),
        machine_busy=_machine_busy_seconds(),
    )


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def cpu_per_batch(before: CpuSample, after: CpuSample, *, batches: int) -> dict[str, float | None]:
    """Milliseconds of CPU per batch: client, server, database, and everything else
    the machine did meanwhile (other programs), with the wall time for scale."""

    def per_batch(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds * 1000 / max(batches, 1), 2)

    client = after.client - before.client
    server = _difference(after.server, before.server)
    database = _difference(after.database, before.database)
    busy = _difference(after.machine_busy, before.machine_busy)
    other = (
        None
        if busy is None or server is None or database is None
        else max(busy - client - server - database, 0.0)
    )
    return {
        "wall": per_batch(after.at - before.at),
        "client": per_batch(client),
        "server": per_batch(server),
        "database": per_batch(database),
        "other": per_batch(other),
    }


def cpu_by_process(*, root: int, database: str) -> dict[tuple[str, int], float]:
    """CPU seconds so far of each process of a drain: ("workers", pid) for `root`
    and its children, ("postgres", pid) for the backends of `database` and the
    shared background processes. Sampled repeatedly (bench.scaling), so that a
    backend that exits between two samples keeps what it was last seen using."""
    out: dict[tuple[str, int], float] = {}
    for pid in _pids():
        stat = _stat(pid)
        if stat is None:
            continue
        if pid == root or stat[0] == root:
            out[("workers", pid)] = stat[1]
            continue
        try:
            title = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if title.startswith("postgres: ") and _postgres_process_counts(title, database):
            out[("postgres", pid)] = stat[1]
    return out
