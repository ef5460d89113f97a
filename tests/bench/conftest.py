"""Figures the bench tests print at the end of the run, in CI's log (pytest -s
is off): a test hands its lines to `figures_printed`, the terminal summary
prints them in a section of their own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

FIGURES = pytest.StashKey[list[tuple[str, list[str]]]]()


@pytest.fixture
def figures_printed(request: pytest.FixtureRequest) -> Callable[[str, list[str]], None]:
    """`figures_printed(title, lines)`: print `lines` under `title` after the run."""
    printed = request.config.stash.setdefault(FIGURES, [])
    return lambda title, lines: printed.append((title, list(lines)))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for title, lines in config.stash.get(FIGURES, []):
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
