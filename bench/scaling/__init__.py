"""The scaling benchmark (`manage.py bench --only scaling`, issue 20 part 5):
rollup throughput with one Celery worker process against two, and the report
queries on a streaming replica started for the run (docs/scaling.md).

- `benchmark`: runs both and reports;
- `throughput`: the same backlog drained by each worker setup, checked;
- `workers`: a private redis-server, real `celery worker` processes, CPU and
  lock waits of a drain;
- `clusters`: a primary and a standby of the run's own (`bench.postgres`,
  pg_basebackup);
- `replica`: seeding the primary, timing the report queries on both sides;
- `report`: the lines the command prints.
"""
