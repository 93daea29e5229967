"""The committee study's rows: each model's row gets its timing, and one row per committee
(every subset of two or more members and candidates, per task and seed) is added, scored by
soft vote from the members' kept test logits."""

import torch

from tinylm.committee import combine
from tinylm.study.committee.logits import test_logits, test_sample
from tinylm.study.committee.members import NAME, member_cells, short, subsets
from tinylm.study.committee.timing import COLUMNS, timing_jobs
from tinylm.study.engine import JobFactory, Store
from tinylm.study.presets import Preset
from tinylm.train.evaluation import classification_report


def extra_rows(factory: JobFactory, preset: Preset, rows: list[dict], store: Store) -> list[dict]:
    """The member and reference rows get their timing; one row per committee (every subset of
    members, per task and seed) is added, scored from the members' test logits."""
    timing = {job.config.task.name: store.summary(job) for job in timing_jobs(factory, preset)}
    out = []
    for row in rows:
        name = short(row["arch"])
        out.append({**row, "members": name, "size": 1, **_timing(timing[row["task"]], name)})
    for task in preset.tasks:
        for seed in range(preset.seeds):
            group = member_cells(factory, preset, task, seed)[:-1]
            names = [short(c.params["arch"]) for c in group]
            tokenizer, sample, tokens = test_sample(store, factory.task(task, seed))
            truth = sample.split("test").labels
            logits = {
                n: torch.from_numpy(test_logits(store, c.job, tokens, tokenizer.pad_id))
                for n, c in zip(names, group, strict=True)
            }
            for combo in subsets(names):
                if len(combo) == 1:
                    continue  # a committee of one is its member's row
                probabilities = combine(torch.stack([logits[n] for n in combo])).numpy()
                report = classification_report(
                    probabilities.argmax(-1), truth, probabilities.shape[-1]
                )
                key = "+".join(combo)
                out.append(
                    {
                        "study": NAME,
                        "preset": preset.name,
                        "task": task,
                        "arm": "committee",
                        "arch": "committee",
                        "ws": group[0].params["ws"],
                        "seed": seed,
                        "members": key,
                        "size": len(combo),
                        "test_accuracy": report["accuracy"],
                        "test_macro_f1": report["macro_f1"],
                        "test_examples": len(truth),
                        **_timing(timing[task], key),
                    }
                )
    return out


def _timing(summary: dict, key: str) -> dict:
    figures = summary["figures"].get(key, {})
    machine = summary.get("machine", {})
    timed_on = f"{machine.get('cpu', 'unknown')}, {summary.get('threads')} thread(s) per model"
    return {**{k: figures.get(k) for k in COLUMNS}, "timed_on": timed_on}
