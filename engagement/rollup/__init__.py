"""Writes of engagement scores: activity rolled up into contact and account scores.

The score services live here, apart from services.py (ingest, sources, junk),
because they are their own concern: set-based SQL over the activity table.

- `scores_rollup` claims the activity committed since the last claim (one
  UPDATE of the narrow pending table, `ActivityPending`, whose rows it deletes
  before committing; the activity rows are not written) and adds that batch
  to every scored segment in the same transaction: forward decay (DESIGN 4)
  makes each new term a plain addition, so the cost is O(new activities) and
  the result equals a full recompute. A claimed row is in every segment's sums exactly once.
- `scores_recompute` rebuilds a segment from all claimed activity (claiming the
  pending first), by ranges of accounts, one transaction each, resumable.
Both refresh the touched accounts' scores, stages and breadth with a fixed
number of reads and one bulk upsert.

One module per job; callers import the module they need (nothing is
re-exported here). Each imports only the ones listed before it:

- `dialect`: the PostgreSQL / SQLite differences of the score SQL.
- `scoring_models`: a segment's current model, the scored segments, versions.
- `sums`: the forward-decay term and the contact and anonymous sums in SQL.
- `refresh`: an account's score from its sums; re-score and upsert accounts.
- `claims`: claim pending activity as a batch, add it to every segment.
- `recompute`: the chunked, resumable recompute; the daily refresh.
- `incremental`: `scores_rollup` and its debounced scheduling after ingest.
- `snapshots`: daily snapshots, history backfill, the score as of a past day.
"""
