"""`tinylm pretrain`, `finetune`, `evaluate`, `predict`.

`--config FILE` (YAML) gives any field, in sections arch / corpus / task / train / impl (and
top-level mask_rate, pack, init, select, test_every_epoch); flags given on the command line
override the file. Run folders: config.yaml, metrics.jsonl, summary.json, model/.
"""

import json
import sys
from pathlib import Path

import torch
import yaml

from tinylm.config import CorpusConfig, ImplConfig, TaskConfig, TrainConfig
from tinylm.data.io import read_text, split_lines
from tinylm.errors import TinylmError
from tinylm.paths import resolve_cache_dir, resolve_data_dir

TRAIN_FLAGS = {  # TrainConfig field -> flag type (--max-steps sets max_steps)
    "epochs": int,
    "max_steps": int,
    "batch_size": int,
    "lr": float,
    "weight_decay": float,
    "schedule": str,
    "warmup_epochs": float,
    "grad_clip": float,
    "seed": int,
    "save_every": int,
    "log_every": int,
}
IMPL_FLAGS = {"device": str, "precision": str, "threads": int}  # ImplConfig fields


def add_parser(commands, parent) -> None:
    p = commands.add_parser(
        "pretrain", parents=[parent], help="MLM pre-training on a corpus subset"
    )
    p.add_argument("--arch", help="a named architecture (tinylm arch list)")
    p.add_argument("--corpus", help="'wikipedia' (default) or a .txt/.jsonl(.gz) file")
    p.add_argument("--ws", type=int, help="paragraphs in the corpus subset")
    p.add_argument("--corpus-seed", type=int, help="the subset's permutation seed (default 42)")
    p.add_argument("--lead-only", action="store_true", default=None)
    p.add_argument("--mask-rate", type=float)
    p.add_argument(
        "--pack",
        action="store_true",
        default=None,
        help="join paragraphs into full-length sequences",
    )
    _training_options(p)
    p.set_defaults(run=run_pretrain)

    p = commands.add_parser("finetune", parents=[parent], help="fine-tune a classifier on a task")
    p.add_argument("--task", help="agnews, dbpedia, fewrel, fewrel-val, or a .csv/.jsonl file")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--init", metavar="DIR", help="a pre-training run (or model folder)")
    start.add_argument("--scratch", action="store_true", help="random initialisation")
    p.add_argument("--arch", help="the architecture (from scratch; default: that of --init)")
    p.add_argument("--train-per-label", type=int)
    p.add_argument("--test-per-label", type=int)
    p.add_argument("--val-fraction", type=float, help="validation share of the train sample (0.1)")
    p.add_argument("--sample-seed", type=int, help="the task sample's seed (default: --seed)")
    p.add_argument("--entity-markers", action="store_true", default=None)
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument(
        "--select",
        choices=["val", "last"],
        help="report the test accuracy of the best validation epoch (val) or the last",
    )
    p.add_argument(
        "--test-every-epoch",
        action="store_true",
        default=None,
        help="also score the test split after every epoch (a curve; not for selection)",
    )
    _training_options(p)
    p.set_defaults(run=run_finetune)

    p = commands.add_parser("evaluate", parents=[parent], help="score a classifier on a task")
    p.add_argument("model", metavar="RUN_OR_MODEL_DIR")
    p.add_argument("--task", help="default: the task of the run")
    p.add_argument("--split", choices=["test", "val", "train"], default="test")
    p.add_argument("--test-per-label", type=int, help="outside a run: the test sample's size")
    p.add_argument("--sample-seed", type=int, default=0, help="outside a run: its seed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_evaluate)

    p = commands.add_parser("predict", parents=[parent], help="labels and probabilities for texts")
    p.add_argument("model", metavar="RUN_OR_MODEL_DIR")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--file", help="one text per line ('-' reads standard input)")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.set_defaults(run=run_predict)


def _training_options(p) -> None:
    p.add_argument("--config", metavar="FILE", help="a YAML file with any of the fields")
    p.add_argument("--out", metavar="DIR", help="the run folder")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    for flag, kind in TRAIN_FLAGS.items():
        p.add_argument("--" + flag.replace("_", "-"), type=kind)
    for flag, kind in IMPL_FLAGS.items():
        p.add_argument("--" + flag, type=kind)
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")


def _file_config(args) -> dict:
    if not getattr(args, "config", None):
        return {}
    loaded = yaml.safe_load(read_text(Path(args.config)))
    if not isinstance(loaded, dict):
        raise TinylmError(f"{args.config} must hold a YAML mapping of sections")
    return loaded


def _overlay(section: dict | None, values: dict) -> dict:
    """The section's fields, with the flags that were given on top."""
    return {**(section or {}), **{k: v for k, v in values.items() if v is not None}}


def _train_impl(args, file: dict, train_defaults: dict) -> tuple[TrainConfig, ImplConfig]:
    train = _overlay(
        {**train_defaults, **(file.get("train") or {})}, {k: getattr(args, k) for k in TRAIN_FLAGS}
    )
    impl = _overlay(
        file.get("impl"), {**{k: getattr(args, k) for k in IMPL_FLAGS}, "compile": args.compile}
    )
    return TrainConfig.from_dict(train), ImplConfig.from_dict(impl)


def _resume(args, file: dict) -> bool:
    """--resume, or `resume: auto` (or true) in the config file: continue from the latest
    checkpoint when the run folder has one, start afresh when it has none."""
    value = file.get("resume", False)
    if value not in (False, True, "auto"):
        raise TinylmError(f"resume: expected auto, true or false, got {value!r}")
    return bool(args.resume or value)


def _out(args, file: dict) -> str:
    out = args.out or file.get("out")
    if not out:
        raise TinylmError("--out DIR is required (the run folder)")
    return out


def run_pretrain(args) -> int:
    from tinylm.model.architectures import resolve_architecture
    from tinylm.train.pretrain import PretrainConfig, pretrain

    file = _file_config(args)
    arch = resolve_architecture(args.arch or file.get("arch") or "bert6")
    corpus = CorpusConfig.from_dict(
        _overlay(
            file.get("corpus"),
            {
                "name": args.corpus,
                "ws": args.ws,
                "seed": args.corpus_seed,
                "lead_only": args.lead_only,
            },
        )
    )
    train, impl = _train_impl(args, file, {"warmup_epochs": 1.0})
    config = PretrainConfig(
        arch=arch,
        corpus=corpus,
        train=train,
        impl=impl,
        mask_rate=args.mask_rate if args.mask_rate is not None else file.get("mask_rate", 0.15),
        pack=bool(args.pack if args.pack is not None else file.get("pack", False)),
    )
    if not 0 < config.mask_rate < 1:
        raise TinylmError(f"mask_rate must be in (0, 1), got {config.mask_rate}")
    data_dir = resolve_data_dir(args.data_dir)
    summary = pretrain(
        config,
        out=_out(args, file),
        data_dir=data_dir,
        cache_dir=resolve_cache_dir(args.cache_dir),
        resume=_resume(args, file),
        progress=not args.quiet,
    )
    print(json.dumps({k: summary[k] for k in ("steps", "final_loss", "ws", "seed")}))
    return 0


def run_finetune(args) -> int:
    from tinylm.model.architectures import resolve_architecture
    from tinylm.train.finetune import FinetuneConfig, finetune

    file = _file_config(args)
    train, impl = _train_impl(args, file, {})
    task = TaskConfig.from_dict(
        _overlay(
            {"val_fraction": 0.1, "seed": train.seed, **(file.get("task") or {})},
            {
                "name": args.task,
                "train_per_label": args.train_per_label,
                "test_per_label": args.test_per_label,
                "val_fraction": args.val_fraction,
                "seed": args.sample_seed,
                "entity_markers": args.entity_markers,
                "text_column": args.text_column,
                "label_column": args.label_column,
            },
        )
    )
    if not (args.task or (file.get("task") or {}).get("name")):
        raise TinylmError("--task is required")
    init = None if args.scratch else (args.init or file.get("init"))
    if init is None and not args.scratch and not file.get("scratch"):
        raise TinylmError("give --init DIR (a pre-trained model) or --scratch")
    arch_spec = args.arch or file.get("arch")
    config = FinetuneConfig(
        task=task,
        train=train,
        impl=impl,
        init=init,
        arch=resolve_architecture(arch_spec) if arch_spec else None,
        select=args.select or file.get("select", "val"),
        test_every_epoch=bool(args.test_every_epoch or file.get("test_every_epoch", False)),
    )
    data_dir = resolve_data_dir(args.data_dir)  # the tokenizer lives there, even for user files
    summary = finetune(
        config,
        out=_out(args, file),
        data_dir=data_dir,
        cache_dir=resolve_cache_dir(args.cache_dir),
        resume=_resume(args, file),
        progress=not args.quiet,
    )
    keys = ("task", "test_accuracy", "val_accuracy", "selected_epoch", "seed", "init")
    print(json.dumps({k: summary[k] for k in keys}))
    return 0


def load_classifier(path: str, data_dir_arg):
    from tinylm.model.bert import BertForSequenceClassification, load_pretrained
    from tinylm.tokenizer import load_tokenizer

    model = load_pretrained(path)
    if not isinstance(model, BertForSequenceClassification):
        raise TinylmError(f"{path} holds a {model.kind} model, not a classifier")
    folder = Path(path) / "model" if (Path(path) / "model").is_dir() else Path(path)
    vocab = folder / "vocab.txt"
    if vocab.is_file():
        tokenizer = load_tokenizer(vocab_file=vocab, max_length=model.config.max_length)
    else:
        tokenizer = load_tokenizer(
            resolve_data_dir(data_dir_arg), max_length=model.config.max_length
        )
    return model.eval(), tokenizer


def sample_for(config: TaskConfig, label_names: list[str], tokenizer, args):
    """(task, sample, tokens) of a task sample for a model that predicts `label_names`;
    refuses a task whose labels differ."""
    from tinylm.data.sampling import sample_task, tokenize_sample
    from tinylm.data.tasks import is_task_file, load_task

    data_dir = (
        None if is_task_file(config.name) and not args.data_dir else resolve_data_dir(args.data_dir)
    )
    task = load_task(config, data_dir)
    if task.label_names != label_names:
        raise TinylmError(
            f"the model's labels {label_names[:4]}... are not those of task {task.name} "
            f"{task.label_names[:4]}..."
        )
    sample = sample_task(task, config)
    tokens = tokenize_sample(
        sample, tokenizer, resolve_cache_dir(args.cache_dir), progress=not args.quiet
    )
    return task, sample, tokens


def run_evaluate(args) -> int:
    from tinylm.train.evaluation import evaluate

    model, tokenizer = load_classifier(args.model, args.data_dir)
    run_config = Path(args.model) / "config.yaml"
    task_fields = {}
    if run_config.is_file():  # a run folder: the same sample it was trained and tested on
        task_fields = (yaml.safe_load(run_config.read_text()) or {}).get("task") or {}
    if args.task and args.task != task_fields.get("name"):
        # A test sample does not depend on the train sample's size (see data/sampling.py):
        # draw one train example per label, and the test split is any run's with this seed.
        task_fields = {
            "name": args.task,
            "train_per_label": 1,
            "seed": args.sample_seed,
            "test_per_label": args.test_per_label,
        }
    if not task_fields:
        raise TinylmError("--task is required for a model folder outside its run")
    config = TaskConfig.from_dict(task_fields)
    task, sample, tokens = sample_for(config, model.label_names, tokenizer, args)
    report = evaluate(
        model,
        tokens[args.split],
        sample.split(args.split).labels,
        pad_id=tokenizer.pad_id,
        device=torch.device("cpu"),
    )
    report = {"task": task.name, "split": args.split, **report}
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{task.name} {args.split}: accuracy {report['accuracy']:.4f}, "
            f"macro-F1 {report['macro_f1']:.4f}, n {report['n']}"
        )
    return 0


def run_predict(args) -> int:
    from tinylm.data.token_cache import TokenizedTexts
    from tinylm.train.evaluation import predict_logits

    texts = list(args.texts)
    if args.file:
        content = sys.stdin.read() if args.file == "-" else read_text(Path(args.file))
        texts += [line for line in split_lines(content) if line.strip()]
    if not texts:
        raise TinylmError("no text to classify: give TEXT arguments or --file")
    model, tokenizer = load_classifier(args.model, args.data_dir)
    tokens = TokenizedTexts.from_lists(tokenizer.encode_batch(texts))
    probabilities = predict_logits(
        model, tokens, pad_id=tokenizer.pad_id, device=torch.device("cpu")
    ).softmax(-1)
    for text, row in zip(texts, probabilities, strict=True):
        best = int(row.argmax())
        if args.json:
            print(
                json.dumps(
                    {
                        "text": text,
                        "label": model.label_names[best],
                        "probabilities": dict(zip(model.label_names, row.tolist(), strict=True)),
                    }
                )
            )
        else:
            print(f"{model.label_names[best]}\t{float(row[best]):.3f}\t{text}")
    return 0
