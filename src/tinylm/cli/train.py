"""`tinylm pretrain`, `finetune`, `evaluate`, `predict`.

`--config FILE` (YAML) gives any field of PretrainConfig / FinetuneConfig (tinylm/config.py):
sections arch / corpus / task / train / impl and top-level mask_rate, pack, init, select,
test_every_epoch, score_test, plus the command's own `out`, `resume`, `recipe` and (fine-tuning)
`scratch`; an unknown key at any level is refused. The file and the flags are laid over the
chosen recipe's defaults (train/config.py RECIPES: tinylm's, or the paper's); the flags are
generated from the same fields (cli/options.py) and override the file. Run folders:
config.yaml, metrics.jsonl, summary.json, model/.
"""

import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import torch

from tinylm.cli.options import ConfigFlags, Flag, overlay
from tinylm.config import TaskConfig, check_keys
from tinylm.data.io import read_text, read_yaml, split_lines
from tinylm.data.needs import require_data
from tinylm.data.tasks import TASK_HELP, is_user_task
from tinylm.errors import TinylmError
from tinylm.paths import resolve_cache_dir
from tinylm.train.config import DEFAULT_RECIPE, RECIPES, FinetuneConfig, PretrainConfig, with_recipe

PRETRAIN_FLAGS = ConfigFlags(
    PretrainConfig,
    {
        "arch": Flag(
            whole=True,
            help="a named architecture (tinylm arch list; default: the recipe's, "
            + ", ".join(f"{name}: {recipe['arch']}" for name, recipe in RECIPES.items())
            + ")",
        ),
        "corpus.name": Flag(
            "corpus",
            help="'wikipedia' (default), task:NAME (the task's train texts, labels dropped, no "
            "text a test sample can hold) or a .txt/.jsonl(.gz) file",
        ),
        "corpus.seed": Flag("corpus-seed"),
    },
)
FINETUNE_FLAGS = ConfigFlags(
    FinetuneConfig,
    {
        "arch": Flag(whole=True, help="the architecture (from scratch; default: that of --init)"),
        "task.name": Flag(
            "task",
            help=TASK_HELP,
        ),
        "task.seed": Flag("sample-seed", help="the task sample's seed (default: --seed)"),
        "init": Flag(help="a pre-training run (or model folder) to start from", metavar="DIR"),
        "pooling": Flag(
            help="what the classifier reads: the mean of the tokens (default, the tinylm "
            "recipe's) or the [CLS] position (BERT's and the paper recipe's; the one `export "
            "--hf` takes)"
        ),
    },
)
# Top-level keys of a config file that are the command's, not the run config's.
PRETRAIN_KEYS = ("out", "resume", "recipe")
FINETUNE_KEYS = ("out", "resume", "scratch", "recipe")


def add_parser(commands, parent) -> None:
    p = commands.add_parser(
        "pretrain", parents=[parent], help="MLM pre-training on a corpus subset"
    )
    _run_options(p)
    PRETRAIN_FLAGS.add_to(p)
    p.set_defaults(run=run_pretrain)

    p = commands.add_parser("finetune", parents=[parent], help="fine-tune a classifier on a task")
    _run_options(p)
    start = p.add_mutually_exclusive_group()
    start.add_argument("--scratch", action="store_true", help="random initialisation")
    FINETUNE_FLAGS.add_to(p, into={"init": start})
    p.add_argument(
        "--train-file", metavar="FILE", help="your train file: --task FILE, named for --test-file"
    )
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
    p.add_argument(
        "--engine",
        choices=["torch", "onnx"],
        help="torch: a run or model folder; onnx: an .onnx file of `tinylm export --onnx`, in "
        "ONNX Runtime (default: onnx for an .onnx file, else torch)",
    )
    p.set_defaults(run=run_predict)


def _run_options(p) -> None:
    """The command's own options (not fields of the run config)."""
    p.add_argument("--config", metavar="FILE", help="a YAML file with any of the fields")
    p.add_argument("--out", metavar="DIR", help="the run folder")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    p.add_argument(
        "--recipe",
        choices=list(RECIPES),
        help=f"the training defaults the other flags change (default: {DEFAULT_RECIPE}, found "
        "by measurement for CPU budgets; paper: the paper's GPU settings; docs/training.md)",
    )


def _file_config(args, config: type, command_keys: tuple[str, ...]) -> tuple[dict, dict]:
    """(the config file's run-config fields, its command keys); {} without --config. An
    unknown top-level key is refused here, naming the command keys among the known."""
    if not getattr(args, "config", None):
        return {}, {}
    loaded = read_yaml(args.config)
    if not isinstance(loaded, dict):
        raise TinylmError(f"{args.config} must hold a YAML mapping of sections")
    check_keys(loaded, [*(f.name for f in dataclasses.fields(config)), *command_keys])
    command = {key: loaded.pop(key) for key in command_keys if key in loaded}
    return loaded, command


def _resume(args, command: dict) -> bool:
    """--resume, or `resume: auto` (or true) in the config file: continue from the latest
    checkpoint when the run folder has one, start afresh when it has none."""
    value = command.get("resume", False)
    if value not in (False, True, "auto"):
        raise TinylmError(f"resume: expected auto, true or false, got {value!r}")
    return bool(args.resume or value)


def _recipe(args, command: dict) -> str:
    """--recipe, else the file's `recipe:` (with_recipe refuses an unknown one)."""
    return args.recipe or command.get("recipe", DEFAULT_RECIPE)


def _out(args, command: dict) -> str:
    out = args.out or command.get("out")
    if not out:
        raise TinylmError("--out DIR is required (the run folder)")
    return out


def run_pretrain(args) -> int:
    from tinylm.train.pretrain import pretrain

    file, command = _file_config(args, PretrainConfig, PRETRAIN_KEYS)
    values = overlay(file, PRETRAIN_FLAGS.values(args))
    config = PretrainConfig.from_dict(with_recipe(values, _recipe(args, command), "pretrain"))
    corpora = [config.corpus.name, *([config.corpus.mix] if config.corpus.mix else [])]
    data_dir = require_data(args.data_dir, corpora=corpora)
    summary = pretrain(
        config,
        out=_out(args, command),
        data_dir=data_dir,
        cache_dir=resolve_cache_dir(args.cache_dir),
        resume=_resume(args, command),
        progress=not args.quiet,
    )
    keys = ("steps", "final_loss", "val_loss", "val_accuracy", "plateau", "ws", "seed")
    print(json.dumps({k: summary[k] for k in keys}))
    if summary["plateau"]:
        print(
            f"tinylm: note: the validation MLM loss {summary['val_loss']:.2f} has not left the "
            "unigram plateau (a model that ignores context scores "
            f"{summary['plateau_loss']:.2f}): this model has not learnt to use context yet, "
            "and fine-tuning from it usually does "
            "worse than from scratch; train longer or at a higher learning rate",
            file=sys.stderr,
        )
    return 0


def run_finetune(args) -> int:
    from tinylm.train.finetune import finetune

    file, command = _file_config(args, FinetuneConfig, FINETUNE_KEYS)
    values = overlay(file, FINETUNE_FLAGS.values(args))
    if args.train_file:
        if getattr(args, "task.name"):
            raise TinylmError("give --task or --train-file, not both")
        values.setdefault("task", {})["name"] = args.train_file
    task = values.get("task")
    if not (isinstance(task, Mapping) and task.get("name")):
        raise TinylmError("--task is required")
    if args.scratch:
        values["init"] = None  # --scratch wins over the file's init
    if values.get("init") is None and not (args.scratch or command.get("scratch")):
        raise TinylmError("give --init DIR (a pre-trained model) or --scratch")
    config = FinetuneConfig.from_dict(with_recipe(values, _recipe(args, command), "finetune"))
    # the tokenizer lives there, even for user files
    data_dir = require_data(args.data_dir, tasks=[config.task.name])
    summary = finetune(
        config,
        out=_out(args, command),
        data_dir=data_dir,
        cache_dir=resolve_cache_dir(args.cache_dir),
        resume=_resume(args, command),
        progress=not args.quiet,
    )
    keys = ("task", "test_accuracy", "test_macro_f1", "val_accuracy", "selected_epoch", "seed")
    keys += ("init",)
    for notice in summary["notices"]:
        print(f"note: {notice}", file=sys.stderr)
    print(json.dumps({k: summary[k] for k in keys}))
    return 0


def run_evaluate(args) -> int:
    from tinylm.train.evaluation import evaluate, load_classifier, sample_for

    model, tokenizer = load_classifier(args.model, args.data_dir)
    run_config = Path(args.model) / "config.yaml"
    task_fields = {}
    if run_config.is_file():  # a run folder: the same sample it was trained and tested on
        task_fields = (read_yaml(run_config) or {}).get("task") or {}
    if args.task and args.task != task_fields.get("name"):
        task_fields = {"name": args.task, "seed": args.sample_seed}
        if args.test_per_label is not None or not is_user_task(args.task):
            # A balanced test sample does not depend on the train sample's size (see
            # data/sampling.py): draw one train example per label, and the test split is any
            # run's with this seed. Your own data's test split is used whole.
            task_fields.update(train_per_label=1, test_per_label=args.test_per_label)
    if not task_fields:
        raise TinylmError("--task is required for a model folder outside its run")
    config = TaskConfig.from_dict(task_fields)
    task, sample, tokens = sample_for(
        config,
        model.label_names,
        tokenizer,
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        progress=not args.quiet,
    )
    report = evaluate(
        model,
        tokens[args.split],
        sample.split(args.split).labels,
        pad_id=tokenizer.pad_id,
        device=torch.device("cpu"),
    )
    if args.split == "test":
        from tinylm.ledger import record_read

        record_read(args.model, sample, "evaluate")
    # rows and columns of `confusion` (true label, predicted label) are in this order
    report = {"task": task.name, "split": args.split, "labels": model.label_names, **report}
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
    from tinylm.train.evaluation import load_classifier, predict_logits

    texts = list(args.texts)
    if args.file:
        content = sys.stdin.read() if args.file == "-" else read_text(Path(args.file))
        texts += [line for line in split_lines(content) if line.strip()]
    if not texts:
        raise TinylmError("no text to classify: give TEXT arguments or --file")
    is_onnx = Path(args.model).suffix == ".onnx" and Path(args.model).is_file()
    engine = args.engine or ("onnx" if is_onnx else "torch")
    if engine == "onnx":
        label_names, probabilities = _onnx_probabilities(args.model, texts, args.data_dir)
    elif is_onnx:
        raise TinylmError(f"{args.model} is an ONNX export: --engine torch reads run folders")
    else:
        model, tokenizer = load_classifier(args.model, args.data_dir)
        tokens = TokenizedTexts.from_lists(tokenizer.encode_batch(texts))
        probabilities = predict_logits(
            model, tokens, pad_id=tokenizer.pad_id, device=torch.device("cpu")
        ).softmax(-1)
        label_names = model.label_names
    for text, row in zip(texts, probabilities, strict=True):
        best = int(row.argmax())
        if args.json:
            print(
                json.dumps(
                    {
                        "text": text,
                        "label": label_names[best],
                        "probabilities": dict(zip(label_names, row.tolist(), strict=True)),
                    }
                )
            )
        else:
            print(f"{label_names[best]}\t{float(row[best]):.3f}\t{text}")
    return 0


def _onnx_probabilities(path: str, texts: list[str], data_dir_arg):
    """(label names, probabilities) of an ONNX export: its graph already ends in the
    probabilities, tokenized by the tokenizer it carries (else the data directory's)."""
    from tinylm.data.token_cache import TokenizedTexts
    from tinylm.export.onnx import OnnxClassifier
    from tinylm.tokenizer import load_tokenizer

    model = OnnxClassifier(path)
    tokenizer = model.tokenizer(
        lambda max_length: load_tokenizer(require_data(data_dir_arg), max_length=max_length)
    )
    tokens = TokenizedTexts.from_lists(tokenizer.encode_batch(texts))
    return model.label_names, model.probabilities(tokens, tokenizer.pad_id)
