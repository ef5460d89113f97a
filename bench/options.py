"""What every benchmark's options share: the random seed and whether to say
progress; and, for those that seed the rollup's dataset, its sizes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class BenchOptions:
    seed: int = 42
    progress: bool = False


@dataclass(frozen=True, kw_only=True)
class DatasetOptions(BenchOptions):
    """The rollup benchmark's dataset (`bench.rollup.dataset`): 10,000 accounts
    and 80,000 contacts per 1,000,000 activities over 18 months by default."""

    accounts: int = 10_000
    contacts: int = 80_000
    activities: int = 1_000_000
