"""The model card (README.md) of an exported model: what it is, what it learnt from, how well it
does and the run config that made it, read from the run folder's summary.json and config.yaml
(train/run.py). A model folder outside its run gets a card of what the model itself holds."""

import dataclasses
from pathlib import Path

import yaml

from tinylm.config import TaskConfig
from tinylm.data.io import read_json, read_yaml
from tinylm.model.bert import BertForSequenceClassification
from tinylm.train.config import FinetuneConfig, PretrainConfig

# The config file each job takes back (`tinylm JOB --config FILE`): its fields only, so the
# card's config runs as it stands (config.yaml also records tinylm's version and the job).
JOB_CONFIGS = {"finetune": FinetuneConfig, "pretrain": PretrainConfig}


def run_folder(source: str | Path) -> Path | None:
    """The run that made the model in `source` (a run folder, or the model/ inside one)."""
    source = Path(source)
    if (source / "summary.json").is_file():
        return source
    if source.name == "model" and (source.parent / "summary.json").is_file():
        return source.parent
    return None


def _run_record(run: Path | None) -> tuple[dict, dict]:
    """(summary.json, config.yaml) of the run; empty outside one."""
    if run is None:
        return {}, {}
    summary = read_json(run / "summary.json")
    config_path = run / "config.yaml"
    config = read_yaml(config_path) if config_path.is_file() else {}
    return summary, config or {}


def model_card(model, run: Path | None, *, name: str, location: str) -> str:
    """The card's Markdown; `location` is where the exported folder is (for the usage lines)."""
    summary, config = _run_record(run)
    classifier = isinstance(model, BertForSequenceClassification)
    version = config.get("tinylm_version")
    made_with = f"tinylm {version}" if version else "tinylm"
    parts = [
        _front_matter(classifier),
        f"# {name}\n",
        _classifier_intro(model, summary, made_with)
        if classifier
        else f"A tiny BERT masked language model pre-trained with {made_with}.\n",
    ]
    if classifier:
        parts.append(_labels(model))
    if summary and classifier:
        parts += [_task_data(summary, config), _classifier_results(summary)]
    elif summary:
        parts.append(_corpus_data(summary, config))
    parts.append(_architecture(model))
    if config.get("train"):
        parts.append(_training(summary, config))
    if config.get("job") in JOB_CONFIGS:
        parts.append(_how_made(config))
    parts.append(_usage(model, location, classifier))
    return "\n".join(parts)


def _front_matter(classifier: bool) -> str:
    tag = "text-classification" if classifier else "fill-mask"
    return (
        f"---\nlibrary_name: transformers\npipeline_tag: {tag}\ntags:\n- tinylm\n- bert\n"
        f"- {tag}\n---\n"
    )


def _classifier_intro(model, summary: dict, made_with: str) -> str:
    if not summary:
        return f"A tiny BERT text classifier ({model.num_labels} labels) made with {made_with}.\n"
    start = summary.get("init", "scratch")
    origin = "from scratch" if start == "scratch" else f"from the pre-trained model `{start}`"
    return (
        f"A tiny BERT text classifier for the task `{summary['task']}` ({model.num_labels} "
        f"labels), fine-tuned {origin} with {made_with}.\n"
    )


def _labels(model) -> str:
    rows = "".join(f"| {i} | {label} |\n" for i, label in enumerate(model.label_names))
    return f"## Labels\n\n| id | label |\n|---:|---|\n{rows}"


def _task_data(summary: dict, config: dict) -> str:
    task = dict(config.get("task") or {})
    sizes = summary.get("sizes") or {}
    splits = {"train": "train", "val": "validation", "test": "test"}
    counts = ", ".join(f"{sizes[s]:,} {word}" for s, word in splits.items() if s in sizes)
    lines = [f"## Data\n\nTask `{summary['task']}`"]
    if "seed" in task:
        lines[0] += f", sampled with seed {task.pop('seed')}"
    lines[0] += f": {counts} examples." if counts else "."
    defaults = TaskConfig().to_dict()  # settings left at their defaults go unsaid
    settings = ", ".join(
        f"{key} {value}"
        for key, value in task.items()
        if key != "name" and value is not None and value != defaults.get(key)
    )
    if settings:
        lines.append(f"Sample settings: {settings}.")
    lines += [f"- {notice}" for notice in summary.get("notices") or []]
    return "\n".join(lines) + "\n"


def _classifier_results(summary: dict) -> str:
    n = (summary.get("sizes") or {}).get("test")
    rows = [
        "| split | accuracy | macro-F1 |",
        "|---|---:|---:|",
        f"| test{f' ({n:,} examples)' if n else ''} | {_figure(summary.get('test_accuracy'))} | "
        f"{_figure(summary.get('test_macro_f1'))} |",
    ]
    if summary.get("val_accuracy") is not None:
        rows.append(f"| validation | {summary['val_accuracy']:.4f} | - |")
    text = "## Results\n\n" + "\n".join(rows) + "\n"
    if summary.get("selected_epoch") is not None:
        how = "best on validation" if summary.get("select") == "val" else "the last"
        text += f"\nThe weights are those of epoch {summary['selected_epoch']} ({how}).\n"
    return text


def _corpus_data(summary: dict, config: dict) -> str:
    corpus = config.get("corpus") or {}
    name = corpus.get("name", "wikipedia")
    ws = summary.get("ws", corpus.get("ws"))
    text = f"## Data\n\nCorpus `{name}`"
    if ws is not None:
        text += f": the first {ws:,} paragraphs (Ws) of its permutation with seed "
        text += f"{corpus.get('seed', '?')}"
    if summary.get("tokens") is not None:
        text += f", {summary['tokens']:,} tokens"
    text += "."
    if summary.get("tokens_read") is not None:
        text += f" Training read {summary['tokens_read']:,} tokens in {summary['steps']:,} steps."
    text += "\n"
    if summary.get("val_loss") is not None:
        text += (
            f"\nValidation MLM loss {summary['val_loss']:.4f} (accuracy "
            f"{_figure(summary.get('val_accuracy'))}) on held-out paragraphs"
        )
        if summary.get("plateau_loss") is not None:
            state = "it has not left" if summary.get("plateau") else "it has left"
            text += (
                f"; {state} the unigram plateau (a model that ignores context scores "
                f"{summary['plateau_loss']:.4f})"
            )
        text += ".\n"
    return text


def _architecture(model) -> str:
    c = model.config
    parameters = sum(p.numel() for p in model.parameters())
    layers = f"{c.layers} layer{'s' if c.layers != 1 else ''}"
    return (
        f"## Architecture\n\nBERT ({'post' if c.norm == 'post' else 'pre'}-LN): {layers}, "
        f"{c.heads} attention heads, hidden size {c.hidden}, feed-forward {c.intermediate}, "
        f"a {c.vocab_size:,}-token WordPiece vocabulary, up to {c.max_length} tokens; "
        f"{parameters:,} parameters.\n"
    )


def _training(summary: dict, config: dict) -> str:
    train = config["train"]
    precision = (config.get("impl") or {}).get("precision")
    steps = f" ({summary['steps']:,} steps)" if summary.get("steps") is not None else ""
    if train.get("max_tokens"):  # a token budget or a step cap ends training before the epochs
        length = f"{train['max_tokens']:,} tokens"
    elif train.get("max_steps"):
        length = f"at most {train['max_steps']:,} steps"
    else:
        length = f"{train.get('epochs')} epoch{'' if train.get('epochs') == 1 else 's'}"
    return (
        f"## Training\n\nTrained for {length}{steps} with AdamW at a peak learning rate of "
        f"{train.get('lr')} ({train.get('schedule')} schedule), batch {train.get('batch_size')}, "
        f"weight decay {train.get('weight_decay')}, seed {train.get('seed')}"
        + (f", {precision} precision" if precision else "")
        + ".\n"
    )


def _how_made(config: dict) -> str:
    job = config["job"]
    fields = {f.name for f in dataclasses.fields(JOB_CONFIGS[job])}
    runnable = {key: value for key, value in config.items() if key in fields}
    scratch = " --scratch" if job == "finetune" and runnable.get("init") is None else ""
    return (
        f"## How it was made\n\n`tinylm {job} --config run.yaml{scratch} --out RUN "
        "--data-dir DATA` with this `run.yaml` (the run's resolved config, every field set) "
        "makes it again:\n\n"
        f"```yaml\n{yaml.safe_dump(runnable, sort_keys=False)}```\n"
    )


def _usage(model, location: str, classifier: bool) -> str:
    if classifier:
        return (
            "## Use\n\n```python\nfrom transformers import pipeline\n\n"
            f'classifier = pipeline("text-classification", model="{location}")\n'
            'classifier(["A text to classify."], top_k=None)  # every label\'s probability\n'
            "```\n\n"
            f"Texts longer than {model.config.max_length} tokens need `truncation=True` in the "
            "call (tinylm truncates them the same way).\n"
        )
    return (
        "## Use\n\n```python\nfrom transformers import pipeline\n\n"
        f'fill = pipeline("fill-mask", model="{location}")\n'
        'fill("The river runs under the [MASK].")\n```\n'
    )


def _figure(value) -> str:
    return "-" if value is None else f"{value:.4f}"
