"""Committees of classifiers: the combiners by hand, parallel against sequential, and the
`tinylm committee` command's output and refusals, on tiny random classifiers."""

import dataclasses
import json

import numpy as np
import pytest
import sklearn.metrics
import torch
import yaml

from studykit import count_executions, run, tiny_preset
from tinylm.bench.latency import committee_figures
from tinylm.cli import main
from tinylm.config import ModelConfig, TaskConfig
from tinylm.data.sampling import sample_task, tokenize_sample
from tinylm.data.tasks import load_task
from tinylm.data.token_cache import TokenizedTexts
from tinylm.export.committee import combine, evaluate_committee, member_logits
from tinylm.ledger import read_ledger
from tinylm.model.bert import BertForSequenceClassification
from tinylm.study import baseline
from tinylm.study.committee.logits import LOGITS_FILE, VAL_LOGITS_FILE
from tinylm.study.engine import JobFactory, Store
from tinylm.study.registry import STUDIES
from tinylm.study.results import read_rows
from tinylm.study.runner import recorded_rows
from tinylm.study.stats import estimate, fmt_mean_std
from tinylm.tokenizer import load_tokenizer
from tinylm.train.batches import pad

AGNEWS = ["World", "Sports", "Business", "Sci/Tech"]
TASK = {"name": "agnews", "train_per_label": 6, "test_per_label": 10, "seed": 0}


def make_member(folder, data_dir, seed, *, labels=AGNEWS, task=TASK, hidden=32):
    """A randomly initialised classifier saved as a fine-tuning run folder."""
    torch.manual_seed(seed)
    vocab = load_tokenizer(data_dir).vocab_size
    config = ModelConfig(layers=1, heads=2, hidden=hidden, intermediate=64, vocab_size=vocab)
    model = BertForSequenceClassification(config, len(labels), labels)
    model.save_pretrained(folder / "model")
    if task is not None:
        (folder / "config.yaml").write_text(yaml.safe_dump({"task": task}))
    return folder


@pytest.fixture
def members(tmp_path, data_dir):
    return [make_member(tmp_path / f"m{seed}", data_dir, seed) for seed in range(3)]


def cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def committee(capsys, *argv):
    return cli(capsys, "committee", *argv)


def test_combiners_by_hand():
    logits = torch.tensor(
        [
            [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            [[0.0, 3.0, 0.0], [0.0, 2.0, 0.0]],
            [[1.0, 0.0, 0.5], [4.0, 0.0, 0.0]],
        ]
    )  # 3 members, 2 texts, 3 labels
    soft = combine(logits, "soft")
    expected = (logits.softmax(-1)[0] + logits.softmax(-1)[1] + logits.softmax(-1)[2]) / 3
    torch.testing.assert_close(soft, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(combine(logits, "logit"), logits.mean(0))
    # text 0: votes 0, 1, 0 -> label 0; text 1: votes 1, 1, 0 -> label 1
    assert combine(logits, "hard").argmax(-1).tolist() == [0, 1]
    # a 1-1-1 tie goes to the label of larger mean probability
    tie = torch.tensor([[[5.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]]])
    assert combine(tie, "hard").argmax(-1).item() == combine(tie, "soft").argmax(-1).item() == 0
    with pytest.raises(ValueError, match="unknown combiner"):
        combine(logits, "median")


def test_committee_probabilities_are_the_mean_of_the_members(members, data_dir):
    models = [BertForSequenceClassification.from_pretrained(m / "model") for m in members]
    tokenizer = load_tokenizer(data_dir)
    texts = ["the war minister", "goal in the league match", "stock profit", "a chip"]
    tokens = TokenizedTexts.from_lists([tokenizer.encode(t) for t in texts])
    logits = member_logits(models, tokens, pad_id=tokenizer.pad_id)
    with torch.no_grad():
        ids, mask = pad([tokens[i] for i in range(len(tokens))], tokenizer.pad_id)
        each = [m.eval()(ids, mask).logits.softmax(-1) for m in models]
    torch.testing.assert_close(combine(logits, "soft"), sum(each) / 3, atol=1e-6, rtol=0)
    parallel = member_logits(models, tokens, pad_id=tokenizer.pad_id, parallel=True)
    assert torch.equal(parallel.argmax(-1), logits.argmax(-1))
    torch.testing.assert_close(parallel, logits, atol=1e-6, rtol=0)

    labels = np.array([0, 2, 2, 3])
    report = evaluate_committee(
        dict(zip("abc", models, strict=True)), tokens, labels, pad_id=tokenizer.pad_id
    )
    assert report["member_accuracies"] == [
        float((logit.argmax(-1).numpy() == labels).mean()) for logit in logits
    ]
    assert report["accuracy"] == report["accuracy_soft"]
    timing = committee_figures(models, tokens, tokenizer.pad_id, examples=3, batches=1)
    assert timing["latency_ms"] > 0 and timing["latency_ms_sequential"] > 0


def test_cli_committee_json(members, data_dir, capsys):
    code, out, _ = committee(
        capsys,
        "--members",
        *map(str, members),
        "--data-dir",
        str(data_dir),
        "--json",
        "--examples",
        "3",
        "--quiet",
    )
    assert code == 0
    report = json.loads(out)
    for key in (
        "accuracy",
        "member_accuracies",
        "latency_ms",
        "latency_ms_sequential",
        "flops_per_example",
        "accuracy_hard",
        "accuracy_logit",
        "throughput_per_s",
    ):
        assert key in report
    assert report["task"] == "agnews" and report["n"] == 40  # 10 test texts per label
    assert len(report["member_accuracies"]) == 3
    one = members[:1]
    code, out, _ = committee(
        capsys,
        "--members",
        str(one[0]),
        "--data-dir",
        str(data_dir),
        "--json",
        "--quiet",
        "--no-latency",
    )
    single = json.loads(out)
    # a committee of one is its member, and scores what `tinylm evaluate` scores
    assert single["accuracy"] == single["member_accuracies"][0] == report["member_accuracies"][0]
    assert single["flops_per_example"] == pytest.approx(report["flops_per_example"] / 3)
    assert main(["evaluate", str(one[0]), "--data-dir", str(data_dir), "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == single["accuracy"]


def test_cli_committee_with_a_linear_member(tmp_path, data_dir, capsys):
    task = {**TASK, "val_fraction": 0.5}  # 3 of each label's 6 train texts validate
    members = [make_member(tmp_path / f"v{seed}", data_dir, seed, task=task) for seed in (0, 1)]
    base = ["--members", *map(str, members), "--data-dir", str(data_dir), "--quiet"]
    code, out, err = committee(
        capsys, *base, "--linear", "--split", "val", "--json", "--no-latency"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["split"] == "val" and report["n"] == 12
    assert report["members"][-1] == "tfidf+logreg" and len(report["member_accuracies"]) == 3
    # the linear member is TF-IDF + LR fitted on the runs' train split, scored on validation
    sample = sample_task(
        load_task(TaskConfig.from_dict(task), data_dir), TaskConfig.from_dict(task)
    )
    fitted = baseline.fit_tfidf(sample.train.texts, sample.train.labels)
    alone = float((fitted.predict(sample.val.texts) == sample.val.labels).mean())
    assert report["member_accuracies"][-1] == pytest.approx(alone)
    # the soft vote averages the networks' probabilities with its
    logits = member_logits(
        [BertForSequenceClassification.from_pretrained(m / "model") for m in members],
        tokenize_sample(sample, load_tokenizer(data_dir), tmp_path / "cache", progress=False)[
            "val"
        ],
        pad_id=load_tokenizer(data_dir).pad_id,
    )
    linear = torch.from_numpy(fitted.predict_proba(sample.val.texts)).float()
    soft = (logits.softmax(-1).sum(0) + linear) / 3
    assert report["accuracy_soft"] == pytest.approx(
        float((soft.argmax(-1).numpy() == sample.val.labels).mean())
    )
    # validation is no test read; the test split is, and says so
    assert not read_ledger(tmp_path)
    code, out, err = committee(capsys, *base, "--linear", "--no-latency", "--json")
    assert code == 0, err
    assert json.loads(out)["split"] == "test" and len(read_ledger(tmp_path)) == 1
    # outside the runs' sample there is nothing to fit on, and no validation split
    code, _, err = committee(capsys, *base, "--linear", "--test-per-label", "4")
    assert code == 2 and "own sample" in err
    code, _, err = committee(capsys, "--members", str(make_member(tmp_path / "nv", data_dir, 3)),
                             "--data-dir", str(data_dir), "--quiet", "--split", "val")  # fmt: skip
    assert code == 2 and "no validation split" in err


def test_cli_committee_refuses_bad_member_lists(members, tmp_path, data_dir, capsys):
    base = ["--data-dir", str(data_dir), "--no-latency", "--quiet"]
    code, _, err = committee(capsys, "--members", str(members[0]), str(tmp_path / "nope"), *base)
    assert code == 2 and "nope does not exist" in err

    other = make_member(
        tmp_path / "db",
        data_dir,
        5,
        labels=["Company", "Artist", "Film"],
        task={**TASK, "name": "dbpedia"},
    )
    code, _, err = committee(capsys, "--members", str(members[0]), str(other), *base)
    assert code == 2 and "different tasks" in err

    relabelled = make_member(tmp_path / "rl", data_dir, 6, labels=["a", "b", "c", "d"])
    code, _, err = committee(capsys, "--members", str(members[0]), str(relabelled), *base)
    assert code == 2 and "different label sets" in err

    code, _, err = committee(capsys, "--members", str(members[0]), "--task", "dbpedia", *base)
    assert code == 2 and "not dbpedia" in err

    bare = make_member(tmp_path / "bare", data_dir, 7, task=None)
    code, _, err = committee(capsys, "--members", str(bare), *base)
    assert code == 2 and "--task is required" in err
    code, _, err = committee(capsys, "--members", str(members[0]), str(members[0]), *base)
    assert code == 2 and "listed twice" in err


def test_committee_study_on_tiny_data(tmp_path, store, monkeypatch):
    preset = tiny_preset(
        tasks=("agnews",),
        committee_members=("bert1-a3", "bert1-c2-k3-d16-a2"),
        committee_candidates=("bert1-c3-k3-d8-a3",),
        committee_reference="bert6-a3",
        committee_val_fraction=0.2,  # 1 of each label's 6 train examples validates
    )
    run("committee", preset, tmp_path, store)
    folder = tmp_path / "results" / "committee" / "tiny"
    rows = read_rows(folder / "results.csv")
    # per seed: 2 members, a candidate, the reference, the committees of 2 and 3 of them (4)
    assert len(rows) == 2 * (3 + 1 + 4)
    by = {(r["seed"], r["members"]): r for r in rows}
    # table names: the architecture without its family (bert1-)
    names = ("a3", "c2-k3-d16-a2", "c3-k3-d8-a3")
    for seed in (0, 1):
        config = TaskConfig(
            name="agnews", train_per_label=6, test_per_label=5, seed=seed, val_fraction=0.2
        )
        sample = sample_task(load_task(config, store.data_dir), config)
        truth, val_truth = sample.split("test").labels, sample.split("val").labels
        assert len(val_truth) == 4 and len(sample.train) == 20  # carved from the train sample
        logits = {n: np.load(store.root / by[(seed, n)]["job"] / LOGITS_FILE) for n in names}
        kept = {n: np.load(store.root / by[(seed, n)]["job"] / VAL_LOGITS_FILE) for n in names}
        for name in names:  # the kept logits score what the fine-tuning reported
            row = by[(seed, name)]
            assert row["size"] == 1 and row["arm"] == ("candidate" if "c3" in name else "member")
            assert row["timed_on"].endswith("thread(s) per model")
            accuracy = (logits[name].argmax(-1) == truth).mean()
            assert row["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
            # its accuracy on the validation split, on which committees are chosen
            assert row["train_examples"] == 20 and row["selection_examples"] == 4
            chosen = (kept[name].argmax(-1) == val_truth).mean()
            assert row["selection_accuracy"] == pytest.approx(chosen, abs=1e-6)
        assert by[(seed, "bert6-a3")]["selection_examples"] == 4  # the reference's too
        for combo in ((names[0], names[1]), names):
            row = by[(seed, "+".join(combo))]
            assert row["size"] == len(combo) and row["arm"] == "committee"
            mean = torch.stack([torch.tensor(logits[n]).softmax(-1) for n in combo]).mean(0)
            predicted = mean.argmax(-1).numpy()
            assert row["test_accuracy"] == pytest.approx((predicted == truth).mean(), abs=1e-6)
            voted = torch.stack([torch.tensor(kept[n]).softmax(-1) for n in combo]).mean(0)
            chosen = (voted.argmax(-1).numpy() == val_truth).mean()
            assert row["selection_accuracy"] == pytest.approx(chosen, abs=1e-6)
            f1 = sklearn.metrics.f1_score(truth, predicted, average="macro")
            assert row["test_macro_f1"] == pytest.approx(f1, abs=1e-6)
            flops = sum(by[(seed, n)]["flops_per_example"] for n in combo)
            assert row["flops_per_example"] == pytest.approx(flops, rel=1e-6)
            assert row["latency_ms"] > 0 and row["latency_ms_sequential"] > 0
    # scoring a seed's committees is one read of its test sample, after its 4 fine-tunings'
    scorings = [line for line in read_ledger(store.root) if line["reader"] == "committee study"]
    assert [len(line["run"]) for line in scorings] == [3, 3]  # the members and the candidate
    for row in rows:
        assert row["test_sample"] in {line["sample"] for line in scorings}
        if row["arm"] == "committee":
            assert row["test_reads"] == 4
    table = (folder / "table.md").read_text()
    assert "bert6-a3 (reference)" in table and "Pareto" in table and "| macro-F1 |" in table
    assert "c3-k3-d8-a3 (candidate)" in table and "a3+c2-k3-d16-a2 (the paper's)" in table
    assert "of the reference's mean validation accuracy" in table and "Timed on " in table
    assert "| best committee (chosen on validation) |" in table
    assert "Chosen on test: rows predate" not in table
    # each model's validation MLM loss over seeds, beside the plateau's (the rows' figures)
    losses = estimate(by[(seed, "bert6-a3")]["val_loss"] for seed in (0, 1))
    assert f"| bert6-a3 (reference) | {fmt_mean_std(losses)} (2) |" in table
    assert f"ignores context scores {rows[0]['plateau_loss']:.2f}" in table
    assert (folder / "committee.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "results" / "report.md").read_text()
    assert "A soft committee of 2 BERT-1 variants matches BERT-6 (agnews)" in report
    assert "keeps BERT-6's accuracy at lower latency (agnews)" in report

    # a fresh clone with one more seed: seeds 0 and 1 stand in from results.csv, their
    # committees included; only seed 2's models run, and the timing (on this machine)
    fresh = Store(tmp_path / "fresh", data_dir=store.data_dir, cache_dir=store.cache_dir)
    calls = count_executions(monkeypatch)
    run("committee", dataclasses.replace(preset, seeds=3), tmp_path, fresh)
    seeds = {
        "pretrain": lambda job: job.config.train.seed,
        "finetune": lambda job: job.config.task.seed,
        "timing": lambda job: "timing",
    }
    assert sorted(str(seeds[job.kind](job)) for job in calls) == ["2"] * 8 + ["timing"]
    again = read_rows(folder / "results.csv")
    assert len(again) == 3 * (3 + 1 + 4)
    for key, row in by.items():
        kept = next(r for r in again if (r["seed"], r["members"]) == key)
        assert kept["test_accuracy"] == row["test_accuracy"] and kept["job"] == row["job"]
        assert kept["selection_accuracy"] == row["selection_accuracy"]  # kept, not recomputed
        assert kept["latency_ms"] > 0
    assert {r["seed"] for r in again if r["arm"] == "committee"} == {0, 1, 2}

    # a task and seed's models stand in all or none, and only with all their committees
    study = STUDIES["committee"]
    factory = JobFactory(preset, load_tokenizer(store.data_dir).vocab_size)
    cells = study.cells(factory, preset)
    empty = Store(tmp_path / "empty", data_dir=store.data_dir, cache_dir=store.cache_dir)
    assert all(recorded_rows(study, cells, rows, empty))
    assert not any(recorded_rows(study, cells, rows, store))  # the store's own rows win
    found = recorded_rows(study, cells, rows, empty)
    found[0] = None  # seed 0's first member is missing: all of seed 0 runs again
    kept = study.reuse(cells, found, rows)
    assert [bool(row) for row in kept] == [c.params["seed"] == 1 for c in cells]
    lacking = [r for r in rows if not (r["seed"] == 1 and r["members"] == "a3+c3-k3-d8-a3")]
    kept = recorded_rows(study, cells, lacking, empty)
    assert [bool(row) for row in kept] == [c.params["seed"] == 0 for c in cells]


def test_a_preset_without_members_has_no_committee_study(data_dir, tmp_path, capsys):
    argv = ["study", "committee", "--preset", "demo", "--data-dir", str(data_dir)]
    code, _, err = cli(capsys, *argv, "--out", str(tmp_path / "r"))
    assert code == 2 and "defines no committee study" in err
    assert not (tmp_path / "r").exists()


def test_the_search_picks_the_fastest_of_those_within_the_margin():
    from tinylm.study.committee.analysis import MARGIN, cheapest_match
    from tinylm.study.stats import estimate

    def entry(name, accuracy, latency):
        return {"name": name, "accuracy": estimate([accuracy]), "latency_ms": latency}

    reference = entry("bert6", 0.80, 10.0)
    entries = [
        entry("a", 0.80 - MARGIN / 2, 4.0),  # within the margin
        entry("b", 0.70, 1.0),  # faster, too inaccurate
        entry("c", 0.85, 6.0),  # more accurate, slower than a
        entry("d", 0.90, None),  # not timed
    ]
    assert cheapest_match(entries, reference)["name"] == "a"
    assert cheapest_match(entries[1:2], reference) is None


def test_rows_written_before_macro_f1_existed_still_make_a_table():
    from tinylm.study.committee.analysis import summarise
    from tinylm.study.committee.table import table

    rows = [
        {"task": "agnews", "members": name, "arm": arm, "size": size, "seed": seed}
        | {"test_accuracy": 0.5 + 0.1 * size + 0.01 * seed, "latency_ms": 1.0 * size}
        | {"flops_per_example": 1e6 * size}
        for seed in (0, 1)
        for name, arm, size in (
            ("bert6-a3", "reference", 1),
            ("a3", "member", 1),
            ("c2", "member", 1),
            ("a3+c2", "committee", 2),
        )
    ]
    assert summarise(rows)["agnews"]["entries"]["a3"]["macro_f1"] is None
    assert "| a3 | 1 | 0.605 ± 0.007 | n/a |" in table(rows)
    rows = [r | {"test_macro_f1": 0.25 + r["seed"] / 10} for r in rows]
    assert summarise(rows)["agnews"]["entries"]["a3"]["macro_f1"] == pytest.approx(0.3)


def committee_rows(selection: dict | None) -> list[dict]:
    """Two seeds' rows of a reference, three members and their committees, by hand: `a+b` is
    the best pair on test, `a+c` on validation (`selection`: each one's validation accuracy
    over its test accuracy, None: rows without it)."""
    test = {"bert6": 0.60, "a": 0.50, "b": 0.55, "c": 0.52, "a+b": 0.70, "a+c": 0.66}
    test |= {"b+c": 0.58, "a+b+c": 0.68}
    latency = {"bert6": 10.0, "a": 1.0, "b": 2.0, "c": 3.0}
    rows = []
    for seed in (0, 1):
        for name, accuracy in test.items():
            arm = "reference" if name == "bert6" else "member" if len(name) == 1 else "committee"
            parts = name.split("+")
            row = {"task": "agnews", "members": name, "arm": arm, "size": len(parts)}
            row |= {"seed": seed, "test_accuracy": accuracy + 0.01 * seed}
            speed = sum(latency[p] for p in parts)
            row |= {"latency_ms": speed, "latency_ms_sequential": speed}
            row |= {"flops_per_example": 1e6}
            if selection is not None:
                row["selection_accuracy"] = selection[name] - 0.01 * seed
            rows.append(row)
    return rows


VALIDATION = {"bert6": 0.62, "a": 0.55, "b": 0.50, "c": 0.52, "a+b": 0.60, "a+c": 0.65}
VALIDATION |= {"b+c": 0.58, "a+b+c": 0.63}


def test_the_best_committees_are_chosen_on_validation_and_reported_on_test():
    from tinylm.study.committee.analysis import summarise
    from tinylm.study.committee.table import table

    data = summarise(committee_rows(VALIDATION))["agnews"]
    assert data["chosen_on"] == "validation"
    pair = data["sizes"][2]
    # a+b is the best pair on test, but not on validation: a+c is chosen, read on test
    assert pair["best"]["name"] == "a+c" and pair["on_test"]["name"] == "a+b"
    assert pair["best"]["accuracy"].mean == pytest.approx(0.665)
    assert pair["best"]["selection"].mean == pytest.approx(0.645)
    assert data["sizes"][1]["best"]["name"] == "a" and data["sizes"][1]["on_test"]["name"] == "b"
    assert data["sizes"][3]["on_test"] is None  # one subset: both choose it
    assert data["best"]["name"] == "a+c"  # of two models or more, on validation too
    # the search: within 0.01 of the reference's validation accuracy (0.615), the fastest;
    # on test (0.605) it would have been a+b
    assert data["cheapest"]["name"] == "a+c" and data["cheapest_on_test"]["name"] == "a+b"
    text = table(committee_rows(VALIDATION))
    assert "| best committee (chosen on validation) |" in text
    assert "Chosen on test: rows predate" not in text
    # the chosen pair with its validation and test accuracy, beside test's pick
    assert "| 2 | a+c | 0.645 ± 0.007 | 0.665 ± 0.007 |" in text
    assert "| a+b, 0.595 ± 0.007, 0.705 ± 0.007 |" in text
    assert "**a+c**, 0.665 ± 0.007 on test" in text
    assert "Chosen on test, the match would have been a+b, 0.705 ± 0.007" in text
    assert "| validation accuracy |" in text


def test_rows_without_validation_figures_are_chosen_on_test_and_say_so():
    from tinylm.study.committee.analysis import summarise
    from tinylm.study.committee.claims import claims
    from tinylm.study.committee.table import table

    rows = committee_rows(None)  # committed rows made before the study kept validation logits
    data = summarise(rows)["agnews"]
    assert data["chosen_on"] == "test"
    assert data["sizes"][2]["best"]["name"] == "a+b" and data["sizes"][2]["on_test"] is None
    text = table(rows)
    assert "Chosen on test: rows predate validation selection" in text
    assert "| validation accuracy |" not in text and "| 2 | a+b | 0.705 ± 0.007 |" in text
    search = next(c for c in claims(rows) if "keeps BERT-6's accuracy" in c.claim)
    assert "(chosen on test: rows predate validation selection)" in search.ours
    search = next(c for c in claims(committee_rows(VALIDATION)) if "keeps BERT" in c.claim)
    assert search.ours.startswith("a+c: 0.665 ± 0.007") and "(chosen on validation)" in search.ours
    # one row without its figure is enough: a task is chosen on one split
    mixed = committee_rows(VALIDATION)
    del mixed[-1]["selection_accuracy"]
    assert summarise(mixed)["agnews"]["chosen_on"] == "test"


def test_the_committee_validation_split_reaches_its_models_alone():
    from tinylm.errors import ConfigError
    from tinylm.study import gap
    from tinylm.study.committee import members
    from tinylm.study.committee.timing import timing_jobs

    shapes = {"committee_members": ("bert1-a3",), "committee_reference": "bert6-a3"}
    plain, carved = tiny_preset(**shapes), tiny_preset(**shapes, committee_val_fraction=0.2)

    def jobs(study, preset):
        return [c.job for c in study.cells(JobFactory(preset, vocab_size=100), preset)]

    # every model of the committee study, the reference included, fine-tunes without its
    # validation split; its pre-training and test sample are unchanged
    assert {job.config.task.val_fraction for job in jobs(members, carved)} == {0.2}
    assert {job.config.task.val_fraction for job in jobs(members, plain)} == {0.0}
    assert [j.init.key for j in jobs(members, carved)] == [j.init.key for j in jobs(members, plain)]
    assert {job.config.select for job in jobs(members, carved)} == {"last"}
    # other studies' jobs keep their keys, and so do the timing jobs (seed 0's test sample)
    assert [j.key for j in jobs(gap, carved)] == [j.key for j in jobs(gap, plain)]
    factory = JobFactory(carved, vocab_size=100)
    assert [j.key for j in timing_jobs(factory, carved)] == [
        j.key for j in timing_jobs(JobFactory(plain, vocab_size=100), plain)
    ]
    lines = members.preset_lines(carved)
    assert "validation: 20% of each train sample" in lines[0]
    with pytest.raises(ConfigError, match="committee_val_fraction"):
        tiny_preset(**shapes, committee_val_fraction=1.0)
