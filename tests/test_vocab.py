"""Corpus vocabularies (`tinylm vocab build`, the `vocab` field) and the task's own text as a
corpus (`--corpus task:NAME`): a built vocabulary travels through pre-training, fine-tuning,
the token cache, the exports and `predict`; a task corpus never holds a test text."""

import json

import pytest
import yaml

from datagen import make_data_dir, tiny_vocab
from tinylm.cli import main
from tinylm.config import TaskConfig
from tinylm.data.corpus import TASK_HELD_OUT, load_corpus, task_texts
from tinylm.data.sampling import sample_task
from tinylm.data.tasks import load_task
from tinylm.tokenizer import SPECIAL_TOKENS, build_vocabulary, load_tokenizer

ARCH = {"layers": 1, "heads": 2, "hidden": 32, "intermediate": 64, "max_length": 64}


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def arch_file(tmp_path):
    """A fine-tuning config naming the tiny architecture (its vocabulary size is bert-base's
    default, which --vocab replaces)."""
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump({"arch": ARCH}))
    return path


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"arch": ARCH, "corpus": {"ws": 60}}))
    return path


@pytest.fixture
def built(tmp_path, data_dir, cache_dir, capsys):
    """A 70-token vocabulary built on the tiny Wikipedia's first 100 paragraphs."""
    out = tmp_path / "vocab" / "vocab.txt"
    code, stdout, err = cli(
        capsys, "vocab", "build", "wikipedia", "--size", 70, "--ws", 100, "--out", out,
        "--data-dir", data_dir, "--cache-dir", cache_dir, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(stdout)
    assert report["paragraphs"] == 100 and report["size"] == 70 and report["out"] == str(out)
    return out


def test_a_built_vocabulary_has_the_specials_first_and_reads_back():
    texts = ["the river crosses the city", "a bridge over the river", "the city market"] * 5
    tokens = build_vocabulary(texts, 60)
    assert tokens[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert len(tokens) <= 60 and len(set(tokens)) == len(tokens)
    assert "river" in tokens and "city" in tokens  # frequent words are pieces of their own


def test_vocab_build_refuses_bad_sizes_in_one_line(tmp_path, data_dir, capsys):
    for size in (3, 0):
        code, _, err = cli(
            capsys, "vocab", "build", "wikipedia", "--size", size, "--out", tmp_path / "v.txt",
            "--data-dir", data_dir, "--quiet",
        )  # fmt: skip
        assert code == 2 and "at least 6 tokens" in err and "Traceback" not in err
    assert not (tmp_path / "v.txt").exists()


def test_a_built_vocabulary_travels_with_every_model(
    tmp_path, data_dir, cache_dir, config, built, capsys
):
    vocab = built.read_text().splitlines()
    common = ["--data-dir", data_dir, "--cache-dir", cache_dir, "--quiet", "--precision", "fp32"]
    code, _, err = cli(
        capsys, "pretrain", "--config", config, "--vocab", built, "--epochs", 1,
        "--batch-size", 16, "--out", tmp_path / "pre", *common,
    )  # fmt: skip
    assert code == 0, err
    # the architecture follows the vocabulary; the model keeps a copy beside its weights
    resolved = yaml.safe_load((tmp_path / "pre/config.yaml").read_text())
    assert resolved["arch"]["vocab_size"] == len(vocab) == 70
    assert (tmp_path / "pre/model/vocab.txt").read_text().splitlines() == vocab
    # the token cache keys the corpus by the vocabulary: a second entry, not bert-base's ids
    other = load_tokenizer(data_dir, max_length=64)
    ours = load_tokenizer(vocab_file=built, max_length=64)  # as the run read it
    assert ours.fingerprint != other.fingerprint
    a = load_corpus("wikipedia", data_dir=data_dir, tokenizer=ours, cache_dir=cache_dir)
    b = load_corpus("wikipedia", data_dir=data_dir, tokenizer=other, cache_dir=cache_dir)
    assert a.cache.key != b.cache.key and a.cache.hit

    task = ["--task", "agnews", "--train-per-label", 10, "--test-per-label", 5, "--epochs", 2]
    code, _, err = cli(
        capsys, "finetune", "--init", tmp_path / "pre", *task, "--val-fraction", 0.2,
        "--out", tmp_path / "ft", *common,
    )  # fmt: skip
    assert code == 0, err
    for folder in ("model", "best"):  # best/: the best epoch's weights, a model folder too
        assert (tmp_path / "ft" / folder / "vocab.txt").read_text().splitlines() == vocab

    # a pre-trained model brings its vocabulary: naming another one is refused
    code, _, err = cli(
        capsys, "finetune", "--init", tmp_path / "pre", "--vocab", built, *task,
        "--out", tmp_path / "ft2", *common,
    )  # fmt: skip
    assert code == 2 and "own vocabulary" in err
    # from scratch the vocabulary is the run's choice, and the architecture follows it
    code, _, err = cli(
        capsys, "finetune", "--scratch", "--config", arch_file(tmp_path), "--vocab", built, *task,
        "--out", tmp_path / "scratch", *common,
    )  # fmt: skip
    assert code == 0, err
    resolved = yaml.safe_load((tmp_path / "scratch/config.yaml").read_text())
    assert resolved["arch"]["vocab_size"] == 70

    # export and predict read the model's own vocabulary (no data directory given)
    texts = ["the war minister won the election", "a goal in the league match"]
    code, stdout, err = cli(capsys, "predict", tmp_path / "ft", *texts, "--json")
    assert code == 0, err
    by_torch = [json.loads(line) for line in stdout.splitlines()]
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    onnx_file = tmp_path / "ft.onnx"
    code, _, err = cli(capsys, "export", tmp_path / "ft", "--onnx", onnx_file)
    assert code == 0, err
    code, stdout, err = cli(capsys, "predict", onnx_file, "--engine", "onnx", *texts, "--json")
    assert code == 0, err
    by_onnx = [json.loads(line) for line in stdout.splitlines()]
    assert [r["label"] for r in by_onnx] == [r["label"] for r in by_torch]
    for ours_row, torch_row in zip(by_onnx, by_torch, strict=True):
        for label, p in torch_row["probabilities"].items():
            assert ours_row["probabilities"][label] == pytest.approx(p, abs=1e-4)


def test_a_built_vocabulary_exports_to_hugging_face(tmp_path, data_dir, cache_dir, built, capsys):
    code, _, err = cli(
        capsys, "finetune", "--scratch", "--config", arch_file(tmp_path), "--vocab", built,
        "--task", "agnews", "--train-per-label", 10, "--test-per-label", 5, "--epochs", 1,
        "--pooling", "cls", "--out", tmp_path / "ft", "--data-dir", data_dir,
        "--cache-dir", cache_dir, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli(capsys, "export", tmp_path / "ft", "--hf", tmp_path / "hf")
    assert code == 0, err
    assert (tmp_path / "hf/vocab.txt").read_text() == built.read_text()
    exported = json.loads((tmp_path / "hf/tokenizer.json").read_text())
    assert len(exported["model"]["vocab"]) == 70


def test_a_task_corpus_never_holds_a_test_text(data_dir):
    # two pools: the train texts, none of which is a test text (the tiny data repeats one)
    texts = task_texts("task:agnews", data_dir)
    task = load_task(TaskConfig(name="agnews"), data_dir)
    assert len(texts) == len(task.train_pool) and not set(texts) & set(task.test_pool.texts)
    # one pool: every text a test sample of seeds 0-4 can hold is left out
    roomy = make_data_dir(data_dir.parent / "roomy", fewrel_per_relation=400)
    texts = set(task_texts("task:fewrel-val", roomy))
    task = load_task(TaskConfig(name="fewrel-val"), roomy)
    assert 0 < len(texts) < len(task.train_pool)
    for seed in range(5):
        for split in ("dev", "confirm"):
            config = TaskConfig(
                name="fewrel-val", seed=seed, split=split, train_per_label=40, test_per_label=60
            )
            assert not texts & set(sample_task(task, config).test.texts)


def test_a_task_corpus_cache_follows_the_rule_of_what_it_leaves_out(
    data_dir, cache_dir, monkeypatch
):
    # one pool: other development seeds change which texts a test sample can hold (here: more
    # development seeds, too few fresh texts left for confirmation samples), so a cached corpus
    # of the old rule must not be read back
    from tinylm.data import sampling

    roomy = make_data_dir(data_dir.parent / "roomy-cache", fewrel_per_relation=400)
    tokenizer = load_tokenizer(roomy)
    before = load_corpus(
        "task:fewrel-val", data_dir=roomy, tokenizer=tokenizer, cache_dir=cache_dir
    )
    monkeypatch.setattr(sampling, "DEV_SEEDS", sampling.DEV_SEEDS + 2)
    after = load_corpus("task:fewrel-val", data_dir=roomy, tokenizer=tokenizer, cache_dir=cache_dir)
    assert before.cache.key != after.cache.key and not after.cache.hit
    assert len(after) != len(before)


def test_a_task_corpus_holds_out_its_own_validation(tmp_path, data_dir, cache_dir, capsys):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"arch": {**ARCH, "vocab_size": len(tiny_vocab())}}))
    code, _, err = cli(
        capsys, "pretrain", "--config", path, "--corpus", "task:agnews", "--epochs", 1,
        "--batch-size", 16, "--out", tmp_path / "pre", "--data-dir", data_dir,
        "--cache-dir", cache_dir, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads((tmp_path / "pre/summary.json").read_text())
    assert summary["val_corpus"] == "task:agnews" and summary["val_loss"] is not None
    corpus = load_corpus(
        "task:agnews", data_dir=data_dir, tokenizer=load_tokenizer(data_dir), cache_dir=cache_dir
    )
    held = corpus.held_out()
    assert len(held) == min(TASK_HELD_OUT, int(len(corpus) * 0.05)) > 0
    assert summary["ws"] == len(corpus) - len(held)  # the whole pool but the held-out texts
    assert not set(held) & set(corpus.pool())


def test_a_fine_tuning_whose_test_sample_meets_the_task_corpus_is_refused(
    tmp_path, cache_dir, capsys
):
    roomy = make_data_dir(tmp_path / "roomy", fewrel_per_relation=400)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"arch": {**ARCH, "vocab_size": len(tiny_vocab())}}))
    common = ["--data-dir", roomy, "--cache-dir", cache_dir, "--quiet"]
    code, _, err = cli(
        capsys, "pretrain", "--config", path, "--corpus", "task:fewrel-val", "--ws", 32,
        "--epochs", 1, "--batch-size", 16, "--out", tmp_path / "pre", *common,
    )  # fmt: skip
    assert code == 0, err
    task = ["--task", "fewrel-val", "--train-per-label", 5, "--test-per-label", 60, "--epochs", 1]
    # seed 0's test sample was left out of the corpus; seed 9's was not
    code, _, err = cli(
        capsys, "finetune", "--init", tmp_path / "pre", *task, "--seed", 0,
        "--out", tmp_path / "ok", *common,
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli(
        capsys, "finetune", "--init", tmp_path / "pre", *task, "--seed", 9,
        "--out", tmp_path / "refused", *common,
    )  # fmt: skip
    assert code == 2 and "task:fewrel-val" in err and "not be a test" in err
    # mixed in beside Wikipedia, the task's text is looked for all the same
    code, _, err = cli(
        capsys, "pretrain", "--config", path, "--ws", 32, "--mix", "task:fewrel-val",
        "--mix-ws", 32, "--epochs", 1, "--batch-size", 16, "--out", tmp_path / "mixed", *common,
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli(
        capsys, "finetune", "--init", tmp_path / "mixed" / "model", *task, "--seed", 9,
        "--out", tmp_path / "refused-mixed", *common,
    )  # fmt: skip
    assert code == 2 and "task:fewrel-val" in err


def test_a_mixture_reads_the_task_text_repeated_and_the_wikipedia_subset(
    tmp_path, data_dir, cache_dir, capsys
):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"arch": {**ARCH, "vocab_size": len(tiny_vocab())}}))
    common = ["--data-dir", data_dir, "--cache-dir", cache_dir, "--quiet"]
    code, _, err = cli(
        capsys, "pretrain", "--config", path, "--corpus", "task:agnews", "--repeat", 2,
        "--mix", "wikipedia", "--mix-ws", 50, "--epochs", 1, "--batch-size", 16,
        "--out", tmp_path / "pre", *common,
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads((tmp_path / "pre/summary.json").read_text())
    tokenizer = load_tokenizer(data_dir, max_length=64)
    task = load_corpus("task:agnews", data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir)
    wiki = load_corpus("wikipedia", data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir)
    own = task.subset().tokens.num_tokens
    assert summary["tokens"] == 2 * own + wiki.subset(50).tokens.num_tokens
    assert 0.9 * summary["tokens"] <= summary["tokens_read"] <= summary["tokens"]  # one epoch
    assert summary["val_corpus"] == "task:agnews"
    code, _, err = cli(
        capsys, "pretrain", "--config", path, "--mix-ws", 50, "--out", tmp_path / "bad", *common
    )
    assert code == 2 and "mix_ws" in err and not (tmp_path / "bad").exists()
