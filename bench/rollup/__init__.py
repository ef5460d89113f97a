"""The rollup benchmark (`manage.py bench --only rollup`, docs/benchmarks.md).

One module per job; callers import the module they need (nothing is
re-exported here):

- `copy_rows`: COPY of generated text lines, streamed;
- `dataset`: the seeded dataset (emptied tables, accounts, contacts, segment,
  activities) and the late-arriving activities;
- `reference`: `REFERENCE_SQL`, the hand-written statement, and the agreement
  check of the product's scores against it;
- `naive`: the naive per-account ORM loop;
- `statements`: the statement log of a timed phase, EXPLAIN of the slowest;
- `benchmark`: the options, the run (rounds, medians, targets) and its result.
"""
