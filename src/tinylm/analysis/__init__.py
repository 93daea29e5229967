"""Analyses of corpora against tasks.

- overlap.py: token overlap between a task sample and a corpus subset (`tinylm overlap`);
- select.py: a task-aware corpus, chosen to cover the task's tokens;
- ablation.py: missing-token ablation corpora (the paper's Table 4);
- reverse.py: reverse-overlap corpora (more or fewer tokens the task never uses).
"""
