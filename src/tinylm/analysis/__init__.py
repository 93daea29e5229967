"""Analyses of corpora against tasks.

- overlap.py: token overlap between a task sample and a corpus subset (`tinylm overlap`).
"""
