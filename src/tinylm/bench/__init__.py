"""Benchmarks: tinylm against the reference procedure, latency, jobs or threads, and how cost
scales.

common.py     device peaks, peak memory, the machine's load, alternating A/B timing
components.py where a pre-training step's time goes, part by part
reference.py  the reference code's procedure, built with `transformers` as it does
training.py   `tinylm bench pretrain` and `tinylm bench finetune`
latency.py    `tinylm bench latency`
jobs.py       `tinylm bench jobs`: one job on every core, or one per core
scaling.py    `tinylm bench scaling`
"""
