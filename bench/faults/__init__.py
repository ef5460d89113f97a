"""`manage.py faults_check`: tracking under faults (docs/operations.md, "Fault check").

- `services`: the PostgreSQL cluster, redis-server and Celery worker the check
  starts for itself, and stops, restarts or kills;
- `traffic`: the unmodified Segment Python library sending known message ids;
- `data`: the seed and the checks on the private database (stored once,
  unscored, scores against a full recompute);
- `check`: the run in order, and its report.
"""
