"""`tinylm committee --members DIR... --task T`: a committee of fine-tuned classifiers on a
task's test sample: each member's accuracy, the committee's by soft vote (the paper's),
logit average and majority vote, latency and throughput with the members run one after
another and in parallel, and FLOPs per example (src/tinylm/export/committee.py).

`--linear` adds a TF-IDF + logistic-regression member fitted on the runs' own train sample
(study/baseline.py): a bag of words beside the networks, reported as its own member. `--split
val` scores the runs' validation split instead, for choosing a committee without a test read."""

import json
from pathlib import Path

from tinylm.cli.options import add_threads_flag, apply_threads
from tinylm.config import TaskConfig
from tinylm.data.io import read_yaml
from tinylm.errors import TinylmError

LINEAR = "tfidf+logreg"  # the linear member's name in the report


def add_parser(commands, parent) -> None:
    p = commands.add_parser(
        "committee",
        parents=[parent],
        help="evaluate a committee of fine-tuned classifiers",
        description="Scores each member and the committee (soft vote, logit average, majority "
        "vote) on a task's test sample, and times it at batch 1 and 32 with the members run "
        "sequentially and in parallel.",
    )
    p.add_argument("--members", nargs="+", required=True, metavar="DIR", help="run or model dirs")
    p.add_argument("--task", help="default: the task the member runs were fine-tuned on")
    p.add_argument("--test-per-label", type=int, help="outside a run: the test sample's size")
    p.add_argument("--sample-seed", type=int, default=0, help="outside a run: its seed")
    p.add_argument(
        "--linear",
        action="store_true",
        help="add a TF-IDF + logistic-regression member fitted on the member runs' train sample "
        "(scored and voting; not timed, no FLOPs counted)",
    )
    p.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="the split scored: val (the runs' validation split, no test read) or test "
        "(default: test)",
    )
    p.add_argument("--no-latency", action="store_true", help="accuracy and FLOPs only")
    p.add_argument("--examples", type=int, default=50, help="batch-1 timings (default 50)")
    add_threads_flag(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_committee)


def run_committee(args) -> int:
    import torch

    from tinylm.bench.latency import committee_figures
    from tinylm.export.committee import check_members, evaluate_committee
    from tinylm.ledger import record_read
    from tinylm.train.evaluation import load_classifier, sample_for

    if args.examples <= 0:
        raise TinylmError(f"--examples must be positive, got {args.examples}")
    apply_threads(args.threads)
    folders = member_folders(args.members)
    config, own = _task_config(folders, args)
    if (args.linear or args.split == "val") and not own:
        raise TinylmError(
            "--linear and --split val need the members' own sample: give fine-tuning run "
            "folders, without --test-per-label"
        )
    loaded = {str(f): load_classifier(str(f), args.data_dir) for f in folders}
    members = {name: model for name, (model, _) in loaded.items()}
    check_members(members)
    if len({model.config.vocab_size for model in members.values()}) > 1:
        raise TinylmError("members have different vocabularies; they cannot share the input")
    # one tokenization serves every member: at the shortest maximum length among them
    shortest = min(members, key=lambda name: members[name].config.max_length)
    tokenizer = loaded[shortest][1]

    labels = next(iter(members.values())).label_names
    task, sample, tokens = sample_for(
        config,
        labels,
        tokenizer,
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        progress=not args.quiet,
    )
    scored = sample.split(args.split)
    if args.split == "val" and not len(scored):
        raise TinylmError(
            "the member runs hold out no validation split (fine-tune with --val-fraction)"
        )
    given = {}
    if args.linear:
        given[LINEAR] = linear_member_logits(sample, args.split)
    report = evaluate_committee(
        members, tokens[args.split], scored.labels, pad_id=tokenizer.pad_id, given=given
    )
    if not args.no_latency:
        timing = committee_figures(
            list(members.values()), tokens[args.split], tokenizer.pad_id, args.examples
        )
        report.update(timing, threads=torch.get_num_threads())
    if args.split == "test":
        record_read(folders, sample, "committee")
    report = {"task": task.name, "split": args.split, **report}
    if args.json:
        print(json.dumps(report))
    else:
        print(format_report(report))
    return 0


def linear_member_logits(sample, split: str):
    """TF-IDF + logistic regression fitted on the sample's train split: its log-probabilities on
    `split`, which serve as logits (their softmax is its probabilities)."""
    import torch

    from tinylm.study.baseline import fit_tfidf

    missing = sorted(set(range(sample.num_labels)) - set(sample.train.labels.tolist()))
    if missing:
        names = [sample.label_names[label] for label in missing]
        raise TinylmError(f"--linear: the train sample has no example of {_listing(names)}")
    pipeline = fit_tfidf(sample.train.texts, sample.train.labels)
    return torch.from_numpy(pipeline.predict_log_proba(sample.split(split).texts)).float()


def _listing(names: list[str]) -> str:
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def member_folders(members: list[str]) -> list[Path]:
    """The committee's member folders, each existing and listed once."""
    folders = [Path(m) for m in members]
    for folder in folders:
        if not folder.is_dir():
            raise TinylmError(f"member folder {folder} does not exist")
    if len({f.resolve() for f in folders}) < len(folders):
        raise TinylmError("a member is listed twice")
    return folders


def _task_config(folders: list[Path], args) -> tuple[TaskConfig, bool]:
    """The sample: that of the member runs (they must agree on the task), else a test sample of
    --task with --test-per-label and --sample-seed; and whether it is the runs' own."""
    runs = {}
    for folder in folders:
        run_config = folder / "config.yaml"
        if run_config.is_file():
            fields = (read_yaml(run_config) or {}).get("task") or {}
            if fields.get("name"):
                runs[folder] = fields
    tasks = {fields["name"] for fields in runs.values()}
    if len(tasks) > 1:
        listing = ", ".join(f"{f} ({fields['name']})" for f, fields in runs.items())
        raise TinylmError(f"members were fine-tuned on different tasks: {listing}")
    if args.task and tasks and args.task not in tasks:
        raise TinylmError(f"the members were fine-tuned on {tasks.pop()}, not {args.task}")
    if runs and args.test_per_label is None:
        return TaskConfig.from_dict(next(iter(runs.values()))), True
    if not args.task and not tasks:
        raise TinylmError("--task is required when no member is a fine-tuning run folder")
    # A test sample does not depend on the train sample's size (data/sampling.py).
    config = TaskConfig(
        name=args.task or tasks.pop(),
        train_per_label=1,
        test_per_label=args.test_per_label,
        seed=args.sample_seed,
    )
    return config, False


def format_report(report: dict) -> str:
    lines = [f"{report['task']}: {report['n']} {report['split']} texts"]
    for name, accuracy in zip(report["members"], report["member_accuracies"], strict=True):
        lines.append(f"  member {name}: accuracy {accuracy:.4f}")
    lines.append(
        f"  committee: soft {report['accuracy_soft']:.4f}, logit {report['accuracy_logit']:.4f}"
        f", hard {report['accuracy_hard']:.4f}"
    )
    networks = " of the networks" if LINEAR in report["members"] else ""
    lines.append(
        f"  forward FLOPs per example{networks}: {report['flops_per_example'] / 1e6:,.1f} M"
    )
    if "latency_ms" in report:
        lines.append(
            f"  batch 1{networks}: {report['latency_ms']:.2f} ms parallel "
            f"(p90 {report['latency_ms_p90']:.2f}), "
            f"{report['latency_ms_sequential']:.2f} ms sequential "
            f"(p90 {report['latency_ms_sequential_p90']:.2f})"
        )
        lines.append(
            f"  batch 32: {report['throughput_per_s']:,.0f} texts/s parallel, "
            f"{report['throughput_per_s_sequential']:,.0f} sequential "
            f"({report['threads']} threads)"
        )
    return "\n".join(lines)
