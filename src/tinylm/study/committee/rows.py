"""The committee study's rows: each model's row gets its timing, and one row per committee
(every subset of two or more members and candidates, per task and seed) is added, scored by
soft vote from the members' kept test logits, or, where the store lacks the members (their rows
stand in from the committed results.csv), the committed committee rows. Where the models'
samples have a validation split (preset.committee_val_fraction), every model's and committee's
row also gets its accuracy there (`selection_accuracy`, from the kept validation logits): the
figure the best committees are chosen by (analysis.py)."""

import numpy as np
import torch

from tinylm.export.committee import combine
from tinylm.ledger import reads_so_far, record_read, sample_hash
from tinylm.study.committee.logits import kept_logits, task_sample
from tinylm.study.committee.members import NAME, member_cells, short, subsets
from tinylm.study.committee.timing import COLUMNS, timing_jobs
from tinylm.study.engine import Cell, JobFactory, Store
from tinylm.study.presets import Preset
from tinylm.train.evaluation import classification_report

# a model's or committee's accuracy on its validation split (the members' fine-tunings'), on
# which the best committees are chosen, and that split's size; empty without one. (Not
# `val_accuracy`: that is the pre-trained model's masked-LM accuracy on held-out paragraphs.)
SELECTION_COLUMNS = ("selection_accuracy", "selection_examples")


def extra_rows(
    factory: JobFactory, preset: Preset, rows: list[dict], store: Store, previous: list[dict]
) -> list[dict]:
    """The member and reference rows get their timing (and, from the store, their validation
    accuracy); one row per committee (every subset of members, per task and seed) is added,
    scored from the members' test and validation logits (or taken from `previous`, the
    existing results.csv, where they stand in for the members)."""
    timing = {job.config.task.name: store.summary(job) for job in timing_jobs(factory, preset)}
    selection: dict[tuple, dict] = {}  # (task, seed, model): its validation figures
    committees = []
    for task in preset.tasks:
        for seed in range(preset.seeds):
            cells = member_cells(factory, preset, task, seed)
            group = cells[:-1]
            names = [short(c.params["arch"]) for c in group]
            complete = all(store.done(c.job) for c in group)
            if not complete:
                recorded = _recorded(previous, task, seed, subsets(names))
                committees += [{**row, **_timing(timing[task], row["members"])} for row in recorded]
            done = [c for c in cells if store.done(c.job)]
            if not done:
                continue
            # the models' own sample: its validation split is carved from their train sample
            tokenizer, sample, tokens = task_sample(store, group[0].job.config.task)
            val_truth = sample.split("val").labels
            val_logits = {
                short(c.params["arch"]): torch.from_numpy(
                    kept_logits(store, c.job, tokens["val"], tokenizer.pad_id, "val")
                )
                for c in done
                if len(val_truth)
            }
            for c in done:
                name = short(c.params["arch"])
                selection[(task, seed, name)] = _selection(val_logits.get(name), val_truth)
            if not complete:
                continue
            truth = sample.split("test").labels
            logits = {
                n: torch.from_numpy(kept_logits(store, c.job, tokens["test"], tokenizer.pad_id))
                for n, c in zip(names, group, strict=True)
            }
            # scoring every committee is one read of the test sample (tinylm/ledger.py)
            read = {"test_sample": sample_hash(sample.test)}
            read["test_reads"] = reads_so_far(store.root, sample)
            record_read([store.path(c.job) for c in group], sample, "committee study")
            for combo in subsets(names):
                if len(combo) == 1:
                    continue  # a committee of one is its member's row
                probabilities = combine(torch.stack([logits[n] for n in combo])).numpy()
                report = classification_report(
                    probabilities.argmax(-1), truth, probabilities.shape[-1]
                )
                voted = combine(torch.stack([val_logits[n] for n in combo])) if val_logits else None
                key = "+".join(combo)
                committees.append(
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
                        **_selection(voted, val_truth),
                        **read,
                        **_timing(timing[task], key),
                        # scored by this study run from members of this precision
                        **factory.execution.to_dict(),
                        "commit": store.origin.get("commit"),
                        "command": store.origin.get("command"),
                    }
                )
    out = []
    for row in rows:
        name = short(row["arch"])
        # a model in the store gets its validation figures; a row from results.csv keeps its own
        own = selection.get((row["task"], row["seed"], name), {})
        out.append({**row, "members": name, "size": 1, **own, **_timing(timing[row["task"]], name)})
    return out + committees


def _selection(scores: torch.Tensor | None, truth: np.ndarray) -> dict:
    """The validation figures of a model's logits or a committee's probabilities (`scores`,
    None without a validation split): their accuracy, and the split's size."""
    if scores is None or not len(truth):
        return dict.fromkeys(SELECTION_COLUMNS)
    accuracy = float((scores.argmax(-1).numpy() == truth).mean())
    return {"selection_accuracy": accuracy, "selection_examples": len(truth)}


def reuse(cells: list[Cell], found: list, previous: list[dict]) -> list:
    """The rows found in results.csv that stand in for missing jobs: a committee is scored
    from every member's logits, so a task and seed's models stand in all or none, and only
    with the rows of all their committees."""

    def group(cell: Cell) -> tuple:
        return cell.params["task"], cell.params["seed"]

    members: dict[tuple, list[str]] = {}
    for cell in cells:
        if cell.params["arm"] != "reference":
            members.setdefault(group(cell), []).append(short(cell.params["arch"]))
    whole = {key for key, names in members.items() if _recorded(previous, *key, subsets(names))}
    whole -= {group(c) for c, row in zip(cells, found, strict=True) if row is None}
    return [row if group(c) in whole else None for c, row in zip(cells, found, strict=True)]


def _recorded(previous: list[dict], task: str, seed: int, combos: list[tuple]) -> list[dict]:
    """The rows of a task and seed's committees in `previous`, in subset order; [] if any is
    missing."""
    kept = {
        r["members"]: r
        for r in previous
        if r["arm"] == "committee" and r["task"] == task and r["seed"] == seed
    }
    wanted = ["+".join(combo) for combo in combos if len(combo) > 1]
    return [kept[key] for key in wanted] if all(key in kept for key in wanted) else []


def _timing(summary: dict, key: str) -> dict:
    figures = summary["figures"].get(key, {})
    machine = summary.get("machine", {})
    timed_on = f"{machine.get('cpu', 'unknown')}, {summary.get('threads')} thread(s) per model"
    return {**{k: figures.get(k) for k in COLUMNS}, "timed_on": timed_on}
