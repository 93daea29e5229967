"""Studies: the paper's questions asked of any model and data, one command each.

- presets.py: the sizes and hyper-parameters of `smoke`, `cpu` and `paper`;
- engine.py: jobs and their keys, the run store, running with resume;
- estimate.py: `--dry-run`: tokens, FLOPs and time of every job;
- baseline.py: the TF-IDF + logistic-regression reference row;
- stats.py: means, spreads, paired gaps and their confidence intervals;
- results.py: results.csv, provenance, claims; tables.py: shared table and plot helpers;
- gap.py, ws.py: the studies;
- runner.py: a study from its jobs to results.csv, table.md, the plot and report.md.
"""
