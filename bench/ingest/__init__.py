"""The ingest benchmark (`manage.py bench --only ingest`, docs/benchmarks.md).

One module per job; callers import the module they need (nothing is
re-exported here):

- `workload`: the deterministic events, in batches of 100, and their checksum;
- `client`: the keep-alive HTTP/1.1 client and the threads that send the batches;
- `rows`: the benchmark's sources, the exactly-once count, the raw COPY, cleanup;
- `benchmark`: the options, the run (gunicorn, send, check, COPY) and its result.
"""
