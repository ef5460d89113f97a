"""Prints proof 1's figures (tests/api_fuzz/fuzzing.py) at the end of the run."""

from __future__ import annotations

from typing import Any

from tests.api_fuzz.fuzzing import RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("API fuzzing (schemathesis, issue 18 proof 1)")
    write(
        f"{'principal':<10} {'operations':>10} {'requests':>9} {'server errors':>14} "
        f"{'schema violations':>18} {'unauthorised 2xx':>17}"
    )
    for result in RESULTS:
        write(
            f"{result.principal:<10} {result.operations:>10} {result.requests:>9} "
            f"{len(result.server_errors):>14} {len(result.violations):>18} "
            f"{len(result.unauthorised):>17}"
        )
