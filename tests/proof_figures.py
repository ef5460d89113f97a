"""The figures issue 18's proofs print in the CI log: each proof's test calls
`record`, and tests/conftest.py's `pytest_terminal_summary` prints every line
under "proof figures" at the end of the run, whether the tests passed or not
(pytest shows no test's own output unless it fails)."""

from __future__ import annotations

_LINES: list[tuple[str, str]] = []


def record(proof: str, line: str) -> None:
    """Keep one line of a proof's figures, e.g. record("backup", "42 tables ...")."""
    _LINES.append((proof, line))


def recorded() -> list[tuple[str, str]]:
    return list(_LINES)
