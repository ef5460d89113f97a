"""Writes of the engagement app, one module per job; callers import the module:

- `sources`: tracking sources and their write keys;
- `segments`: segments created through the API and their default scoring model;
- `activities`: the bulk activity insert and the activities / ip_ranges imports;
- `tracking`: the tracking API's write path and identity calls;
- `tracking_postgresql`: its one-round-trip PostgreSQL statement, prepared;
- `junk`: activity exclusion following the contacts' junk flags;
- `retention`: old raw activity folded into carried sums and deleted
  (`ACTIVITY_RETENTION_MONTHS`);
- `alert_inbox`: when a user last looked at their alerts (My accounts);
- `scoring_models`: a scoring model saved from its page (a new version and its
  recompute as a core Job) and the preview of a change (the recompute, rolled back).
"""
