"""Campaign measurement reports (DESIGN 5), one module per report kind; each
says which numbers it computes:

- `measurement`: the rows every report reads (`measurement_load`: programs,
  spend, touches, engaged and qualified accounts against the scoring bands,
  targets' score changes, opportunities and their influencing programs);
- `programs`: per program, campaign and channel, every number (spend, reach,
  lift, pipeline credit, efficiency): the programs report;
- `attribution`: influenced and attributed credit, and the lines that
  reconcile a report to the period's pipeline;
- `funnel`: targeted -> engaged -> qualified -> opportunity -> won;
- `sources`: marketing-sourced opportunities against the rest;
- `campaign`: one campaign's report (its numbers, programs and funnel);
- `deals`: deal metrics over all opportunities, targeted or not;
- `plans`: a pipeline plan's history and its plan against actual.

The math on plain values is `campaigns.metrics`.
"""
