"""Studies: the paper's questions asked of any model and data, one command each.

- presets.py: the sizes and hyper-parameters of `smoke`, `demo`, `cpu`, `cpu-short` and `paper`;
- engine.py: jobs and their keys, the run store, running with resume;
- kinds.py: the kinds of job (corpus, pretrain, finetune, baseline; a study may add its own):
  how each runs, is named, described and costed; naming.py: names of jobs for people;
- corpora.py, baseline.py: the built corpora and the TF-IDF + logistic-regression reference;
- estimate.py: `--dry-run`: tokens, FLOPs and time of every job;
- stats.py: means, spreads, paired gaps and their confidence intervals;
- results.py: results.csv, provenance, claims; tables.py: shared table and plot helpers;
- protocol.py: what a study is (`Study`); registry.py: every study, by name;
- gap.py, ws.py, overlap.py, committee/, budget.py, source.py: the studies;
- runner.py: a study from its jobs to results.csv, table.md, the plot and report.md;
  devices.py and cluster.py: its jobs on several devices, or as Ray tasks over machines;
- figures.py, quoted.py: the figures README.md and docs/findings.md quote, generated.
"""
