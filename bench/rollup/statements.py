"""Where the time of a timed phase goes: every statement the product runs, with
its duration, and EXPLAIN ANALYZE of the slowest where it ran."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction

from bench import RolledBack


@dataclass
class Statement:
    seconds: float
    sql: str
    params: Any

    def summary(self) -> str:
        return " ".join(self.sql.split())[:100]


@dataclass
class StatementLog:
    """Every statement the product runs while timed, with its duration: where the
    time goes, whatever the product's internals are at the time."""

    statements: list[Statement] = field(default_factory=list)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if not many:
                self.statements.append(Statement(time.perf_counter() - started, sql, params))

    def slowest(self, count: int = 3) -> list[Statement]:
        return sorted(self.statements, key=lambda s: s.seconds, reverse=True)[:count]


def breakdown(log: StatementLog, total: float) -> dict[str, Any]:
    in_sql = sum(s.seconds for s in log.statements)
    return {
        "statements": len(log.statements),
        "sql_seconds": round(in_sql, 3),
        # Python work plus the commit (deferred foreign-key checks run there).
        "other_seconds": round(total - in_sql, 3),
        "slowest": [{"seconds": round(s.seconds, 3), "sql": s.summary()} for s in log.slowest()],
    }


def explain_slowest(log: StatementLog) -> tuple[Statement, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest logged statement, run where it ran:
    the statements before it are replayed first (each in a savepoint, so one that
    cannot run twice is skipped) in the same transaction, which is then rolled
    back, so nothing changes."""
    slowest = log.slowest(1)[0]
    plan = ""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in log.statements:
                if statement is slowest:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    break
                if statement.sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                    continue
                try:
                    # A statement that made a row once (get_or_create) fails on a
                    # second run; the state it would have made is already there.
                    with transaction.atomic():
                        cursor.execute(statement.sql, statement.params)
                except DatabaseError:
                    pass
            raise RolledBack
    except RolledBack:
        pass
    return slowest, plan
