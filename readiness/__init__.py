"""Readiness (issue 19): the probability that an account opens an opportunity
within 90 days, learned per segment from point-in-time training data.

- `feature_names`: pure; the features, their order and what each means.
- `months`: pure; month ends and the windows a month end reads.
- `training_sql`: the set-based SQL of the training data.
- `training`: the selector that builds a segment's training data.
- `manage.py readiness_training_data`: builds it and prints its size and cost.
- `model`: fits the calibrated logistic regression (scikit-learn), the two
  baselines, the fallback rule (25 and 25 accounts).
- `scoring`: pure; a stored model's probability from its JSON parameters.
- `metrics`: pure; AUC, Brier, reliability, ECE, top-decile lift.
- `backtest`: the rolling origin (no label from after the month it predicts).
- `charts`: pure; the reliability chart as SVG.
- `models`: `ReadinessModel`, one version per (segment, training run).
- `selectors`, `services` (`readiness_models_train`), `tasks` (monthly beat
  and job); `manage.py readiness_train` and `readiness_backtest`.

docs/readiness.md describes the data, the model and the backtest's figures.
"""
