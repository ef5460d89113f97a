"""Readiness (issue 19): the probability that an account opens an opportunity
within 90 days, learned per segment from point-in-time training data.

- `feature_names`: pure; the features, their order and what each means.
- `months`: pure; month ends and the windows a month end reads.
- `training_sql`: the set-based SQL of the training data.
- `training`: the selector that builds a segment's training data.
- `manage.py readiness_training_data`: builds it and prints its size and cost.

docs/readiness.md describes the data.
"""
