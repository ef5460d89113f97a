"""The pages benchmark (`manage.py bench --only pages`, issue 20, docs/benchmarks.md).

One module per job; callers import the module they need (nothing is
re-exported here):

- `dataset`: what the pages read, seeded set-based on top of the rollup's dataset;
- `client`: pages fetched with a session cookie, tracking calls from concurrent
  clients, percentiles and the workers' peak memory;
- `benchmark`: the options, the run and its result;
- `sizes`: several sizes in one run, each on a fresh database, on the
  PostgreSQL setups asked for (`--sizes`, `--postgres`);
- `compare`: the sizes compared: ratios and the issue's targets.
"""
