"""Run configs (nested from_dict, defaults held once) and the command line generated from them."""

import argparse
import dataclasses
import json

import pytest
import yaml

from datagen import tiny_vocab
from tinylm.cli import build_parser, main
from tinylm.cli.options import ConfigFlags, overlay
from tinylm.cli.train import FINETUNE_FLAGS, PRETRAIN_FLAGS
from tinylm.config import (
    CORPUS_SEED,
    MASK_RATE,
    PRETRAIN_WARMUP_EPOCHS,
    VAL_FRACTION,
    Config,
    ImplConfig,
    TrainConfig,
)
from tinylm.errors import ConfigError
from tinylm.train.config import (
    RECIPES,
    FinetuneConfig,
    PretrainConfig,
    recipe_train,
    with_recipe,
)

TINY_ARCH = {"layers": 1, "heads": 2, "hidden": 64, "vocab_size": len(tiny_vocab())}


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- nested from_dict ---------------------------------------------------------------------------


@dataclasses.dataclass
class Inner(Config):
    size: int = 1


@dataclasses.dataclass
class Middle(Config):
    inner: Inner = dataclasses.field(default_factory=lambda: Inner(size=5))
    name: str = "m"


@dataclasses.dataclass
class Outer(Config):
    middle: Middle = dataclasses.field(default_factory=Middle)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"midle": {}}, "midle: unknown field (known: middle)"),
        ({"middle": {"nmae": "x"}}, "middle.nmae: unknown field (known: inner, name)"),
        ({"middle": {"inner": {"sise": 2}}}, "middle.inner.sise: unknown field (known: size)"),
        ({"middle": {"inner": {"size": "2"}}}, "middle.inner.size: expected int, got '2'"),
        ({"middle": 3}, "middle: expected Middle, got 3"),
    ],
)
def test_from_dict_names_the_full_path_of_a_bad_key(values, message):
    with pytest.raises(ConfigError) as error:
        Outer.from_dict(values)
    assert str(error.value) == message


def test_a_section_overlays_its_default_and_an_empty_one_is_the_default():
    assert Outer.from_dict({"middle": {"name": "x"}}).middle == Middle(Inner(5), "x")
    assert Outer.from_dict({"middle": {"inner": {}}}).middle.inner.size == 5
    assert Outer.from_dict({"middle": None}) == Outer()


@pytest.mark.parametrize(
    "values, message",
    [
        ({"mask_rat": 0.4}, "mask_rat: unknown field"),
        ({"train": {"lr_x": 1}}, "train.lr_x: unknown field"),
        ({"corpus": {"sed": 1}}, "corpus.sed: unknown field"),
        ({"impl": {"device": "tpu"}}, "impl.device: expected auto, cpu or cuda"),
        ({"arch": {**TINY_ARCH, "headz": 2}}, "arch.headz: unknown field"),
        ({"arch": {**TINY_ARCH, "heads": 3}}, "arch.heads: 3 heads do not divide"),
        ({"mask_rate": 1.0}, "mask_rate: must be in (0, 1), got 1.0"),
        ({"mask_rate": 0}, "mask_rate: must be in (0, 1), got 0"),
    ],
)
def test_pretrain_config_refuses(values, message):
    with pytest.raises(ConfigError) as error:
        PretrainConfig.from_dict(values)
    assert str(error.value).startswith(message), error.value


@pytest.mark.parametrize(
    "values, message",
    [
        ({"task": {"name": "agnews", "sed": 1}, "init": "x"}, "task.sed: unknown field"),
        ({"task": {"name": "agnews"}, "init": "x", "select": "best"}, "select: expected val"),
        ({"task": {"name": "agnews"}}, "arch: a model from scratch needs an architecture"),
        (
            {"task": {"val_fraction": 0.0}, "init": "x"},
            "task.val_fraction: selecting on validation needs a validation split",
        ),
    ],
)
def test_finetune_config_refuses(values, message):
    with pytest.raises(ConfigError) as error:
        FinetuneConfig.from_dict(values)
    assert str(error.value).startswith(message), error.value


def test_run_config_defaults_are_the_tinylm_recipe_and_held_once():
    config = PretrainConfig.from_dict({"arch": "bert1-cpu", "train": {"epochs": 3}})
    assert config.train.epochs == 3 and config.train.lr == RECIPES["tinylm"]["pretrain"]["lr"]
    assert config.train.warmup_fraction == 0.05 and config.train.warmup_epochs == 0
    assert config.mask_rate == MASK_RATE == 0.15 and config.corpus.seed == CORPUS_SEED == 42
    assert config.arch.layers == 1  # a named architecture
    assert PretrainConfig.from_dict({}) == PretrainConfig()  # the recipe's model and training
    assert PretrainConfig().arch.conv_layers == 2  # the conv twin of BERT-1 (docs/recipe.md)
    tuned = FinetuneConfig.from_dict(
        {"task": {"name": "agnews"}, "train": {"seed": 3}, "init": "x"}
    )
    assert tuned.task.val_fraction == VAL_FRACTION == 0.1
    assert tuned.train == dataclasses.replace(recipe_train("tinylm", "finetune"), seed=3)
    assert tuned.train.lr == RECIPES["tinylm"]["finetune"]["lr"]
    assert tuned.task.seed == 3  # a sample without its own seed takes the training seed
    assert (
        FinetuneConfig.from_dict(
            {"task": {"name": "agnews", "seed": 5}, "train": {"seed": 3}, "arch": "bert1-cpu"}
        ).task.seed
        == 5
    )


def test_to_dict_is_the_nested_mapping_study_keys_hash():
    """study/engine.py hashes result_dict(): to_dict (dataclasses.asdict, sections as
    mappings) without the fields that only measure a run."""
    config = PretrainConfig.from_dict({"arch": "bert1-cpu"})
    values = config.to_dict()
    assert list(values) == [
        "arch", "corpus", "train", "impl", "mask_rate", "pack", "mask_span", "dropout", "vocab",
        "val_paragraphs", "val_every", "snapshots",
    ]  # fmt: skip
    assert values == dataclasses.asdict(config) and values["train"]["warmup_fraction"] == 0.05
    assert PretrainConfig.from_dict(values) == config  # and reads back as the same config
    measured = {"val_paragraphs", "val_every", "snapshots"}
    expected = {k: v for k, v in values.items() if k not in measured}
    # fields added after studies ran (KEYED_WHEN_SET) stay out of keys at their defaults
    later = {"batch_ramp_steps", "batch_ramp_start", "layer_lr_decay"}
    expected["train"] = {k: v for k, v in expected["train"].items() if k not in later}
    expected["arch"] = {
        k: v
        for k, v in expected["arch"].items()
        if k not in ("positions", "feed_forward", "tie_word_embeddings", "causal")
    }
    expected["corpus"] = {
        k: v for k, v in expected["corpus"].items() if k not in ("mix", "mix_ws", "repeat")
    }
    del expected["vocab"], expected["mask_span"]
    assert config.result_dict() == expected
    ramp = {"batch_ramp_steps": 5, "batch_ramp_start": 4}
    ramped = PretrainConfig.from_dict({"arch": "bert1-cpu", "train": ramp})
    assert ramp.items() <= ramped.result_dict()["train"].items()  # set: keyed
    finetune = FinetuneConfig.from_dict({"arch": "bert1-cpu"})
    assert not {"pooling", "vocab", "reinit_layers"} & finetune.result_dict().keys()
    assert (
        FinetuneConfig.from_dict({"arch": "bert1-cpu", "pooling": "mean"}).result_dict()["pooling"]
        == "mean"
    )


# --- generated flags ----------------------------------------------------------------------------


def _parse(flags: ConfigFlags, *argv) -> dict:
    parser = argparse.ArgumentParser()
    flags.add_to(parser)
    return flags.values(parser.parse_args(list(argv)))


@pytest.mark.parametrize("flags", [PRETRAIN_FLAGS, FINETUNE_FLAGS])
@pytest.mark.parametrize("section", [TrainConfig, ImplConfig])
def test_every_train_and_impl_field_has_a_flag(flags, section):
    name = {TrainConfig: "train", ImplConfig: "impl"}[section]
    paths = {option.path: option for option in flags.options}
    for field in dataclasses.fields(section):
        option = paths[f"{name}.{field.name}"]  # KeyError: a field without a flag
        assert option.flag.removeprefix("no-") == field.name.replace("_", "-")


def test_a_section_alone_gives_flat_flags_for_another_command():
    """What `tinylm study` needs: the impl flags, read back into an ImplConfig."""
    flags = ConfigFlags(ImplConfig)
    assert [option.flag for option in flags.options] == [
        "device",
        "precision",
        "compile",
        "threads",
        "no-checkpoints",
        "tensorboard",
    ]
    values = _parse(flags, "--precision", "fp32", "--compile", "--threads", "2")
    assert ImplConfig.from_dict(values) == ImplConfig(precision="fp32", compile=True, threads=2)
    values = _parse(flags, "--no-checkpoints")
    assert ImplConfig.from_dict(values) == ImplConfig(checkpoints=False)
    values = _parse(flags, "--tensorboard", "tb")
    assert ImplConfig.from_dict(values) == ImplConfig(tensorboard="tb")
    assert ImplConfig.from_dict(_parse(flags)) == ImplConfig()


def test_a_new_field_is_a_new_flag_with_its_comment_as_help():
    @dataclasses.dataclass
    class Extended(TrainConfig):
        label_smoothing: float = 0.0  # share of the target spread over the other labels
        tied: bool = True  # tie the input and output embeddings

    flags = ConfigFlags(Extended)
    parser = argparse.ArgumentParser()
    flags.add_to(parser)
    assert "share of the target spread over the other labels" in parser.format_help()
    values = flags.values(parser.parse_args(["--label-smoothing", "0.1", "--no-tied"]))
    assert values == {"label_smoothing": 0.1, "tied": False}
    assert Extended.from_dict(values).label_smoothing == 0.1


def test_flags_give_only_what_was_given_as_nested_fields():
    assert _parse(PRETRAIN_FLAGS) == {}
    values = _parse(
        PRETRAIN_FLAGS, "--lr", "0.1", "--corpus-seed", "7", "--compile", "--no-group-by-length"
    )
    assert values == {
        "train": {"lr": 0.1, "group_by_length": False},
        "corpus": {"seed": 7},
        "impl": {"compile": True},
    }
    values = _parse(FINETUNE_FLAGS, "--task", "agnews", "--sample-seed", "4", "--seed", "2")
    assert values == {"task": {"name": "agnews", "seed": 4}, "train": {"seed": 2}}


def test_optional_and_tuple_fields_take_their_item_types():
    from tinylm.config import ModelConfig

    values = _parse(ConfigFlags(ModelConfig), "--conv-kernel", "3", "5", "--intermediate", "96")
    assert values == {"conv_kernel": [3, 5], "intermediate": 96}
    assert ModelConfig.from_dict(values).conv_kernel == (3, 5)
    with pytest.raises(SystemExit):
        _parse(ConfigFlags(ModelConfig), "--conv-kernel", "3")  # two sizes, not one


def test_a_flag_name_two_sections_share_is_refused():
    with pytest.raises(ValueError, match="--seed is both corpus.seed and train.seed"):
        ConfigFlags(PretrainConfig)  # without renaming corpus.seed to --corpus-seed


def test_flags_override_the_file_section_by_section():
    file = {"train": {"lr": 0.5, "epochs": 3}, "arch": {"layers": 1}}
    flags = {"train": {"lr": 0.1}, "arch": "bert1-cpu"}
    assert overlay(file, flags) == {"train": {"lr": 0.1, "epochs": 3}, "arch": "bert1-cpu"}
    assert overlay({"train": None}, {"train": {"lr": 0.1}}) == {"train": {"lr": 0.1}}


def test_pretrain_flags_override_the_config_file(capsys, data_dir, cache_dir, tmp_path):
    path = tmp_path / "c.yaml"
    train = {"lr": 0.5, "epochs": 3, "max_steps": 1, "batch_size": 8}
    path.write_text(yaml.safe_dump({"arch": TINY_ARCH, "corpus": {"ws": 96}, "train": train}))
    out = tmp_path / "r"
    code, _, err = cli(
        capsys,
        "pretrain",
        "--config",
        path,
        "--lr",
        "0.01",
        "--corpus-seed",
        "7",
        "--mask-rate",
        "0.2",
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    written = yaml.safe_load((out / "config.yaml").read_text())
    assert written["train"]["lr"] == 0.01 and written["train"]["epochs"] == 3  # flag, file
    assert written["train"]["warmup_fraction"] == 0.05  # the tinylm recipe's
    assert written["corpus"] == {
        "name": "wikipedia", "ws": 96, "seed": 7, "lead_only": False,
        "mix": None, "mix_ws": None, "repeat": 1,
    }  # fmt: skip
    assert written["mask_rate"] == 0.2 and written["arch"]["layers"] == 1


def test_a_given_warmup_replaces_the_recipes():
    """One warm-up length is allowed; the recipe's gives way to the one a user gives."""
    train = with_recipe({"train": {"warmup_epochs": 1}}, "tinylm", "pretrain")["train"]
    assert (train.warmup_epochs, train.warmup_fraction) == (1, 0.0) and train.lr == 1e-3
    assert isinstance(train.warmup_fraction, float)  # 0.0, not 0: study keys hash the value
    paper = with_recipe({"train": {"warmup_steps": 10}}, "paper", "pretrain")["train"]
    assert (paper.warmup_steps, paper.warmup_epochs, paper.lr) == (10, 0.0, 5e-5)
    assert with_recipe({}, "paper", "pretrain")["arch"] == "bert6"  # the recipe's model
    assert with_recipe({"arch": "bert1-a3"}, "paper", "pretrain")["arch"] == "bert1-a3"
    assert "arch" not in with_recipe({}, "paper", "finetune")  # that of --init
    with pytest.raises(ConfigError, match="give one warm-up length"):
        with_recipe({"train": {"warmup_steps": 10, "warmup_epochs": 1}}, "tinylm", "pretrain")


def test_the_recipe_chooses_the_pooling_unless_the_run_does():
    """tinylm's recipe pools by the mean, the paper's by [CLS]; a run's own choice wins, and the
    recipe's TrainConfig never sees the field."""

    def pooling(values, recipe):
        return FinetuneConfig.from_dict(with_recipe(values, recipe, "finetune")).pooling

    assert pooling({"arch": "bert1-cpu"}, "tinylm") == "mean"
    assert pooling({"arch": "bert1-cpu"}, "paper") == "cls"
    assert pooling({"arch": "bert1-cpu", "pooling": "cls"}, "tinylm") == "cls"
    assert pooling({"arch": "bert1-cpu", "pooling": "mean"}, "paper") == "mean"
    # the field's own default stays BERT's, so every job key written before is unchanged
    assert FinetuneConfig.from_dict({"arch": "bert1-cpu"}).pooling == "cls"


def test_the_recipe_rates_each_arm_unless_the_run_does():
    """tinylm's recipe fine-tunes a pre-trained model at 3e-3 and one from scratch at 1e-3 (each
    arm's best on validation, docs/recipe.md stage 7); the paper's both at 5e-5; --lr wins."""

    def lr(values, recipe="tinylm"):
        return with_recipe({"task": {"name": "agnews"}, **values}, recipe, "finetune")["train"].lr

    assert lr({"init": "runs/pre"}) == 3e-3
    assert lr({"init": None, "arch": "bert1-cpu"}) == lr({"arch": "bert1-cpu"}) == 1e-3
    assert lr({"init": "runs/pre"}, "paper") == lr({"arch": "bert1-cpu"}, "paper") == 5e-5
    assert lr({"arch": "bert1-cpu", "train": {"lr": 2e-4}}) == 2e-4
    assert lr({"init": "runs/pre", "train": {"lr": 2e-4}}) == 2e-4


def test_the_recipe_chooses_the_mask_rate_unless_the_run_does():
    """tinylm's recipe masks 30% of the tokens (stage 7), the paper's BERT's 15%."""

    def masking(values, recipe):
        config = PretrainConfig.from_dict(with_recipe(values, recipe, "pretrain"))
        return config.mask_rate, config.train.batch_size

    assert masking({}, "tinylm") == (0.3, 16)
    assert masking({}, "paper") == (MASK_RATE, 32)
    assert masking({"mask_rate": 0.2}, "tinylm") == (0.2, 16)
    assert masking({"mask_rate": 0.2}, "paper") == (0.2, 32)


@pytest.mark.parametrize(
    "argv, lr, epochs, warmup",
    [
        ([], 1e-3, 50, {"warmup_fraction": 0.05}),
        (["--recipe", "paper"], 5e-5, 50, {"warmup_epochs": PRETRAIN_WARMUP_EPOCHS}),
        (["--recipe", "paper", "--lr", "0.01"], 0.01, 50, {"schedule": "paper"}),
    ],
)
def test_recipe_chooses_the_defaults_the_flags_change(
    capsys, data_dir, cache_dir, tmp_path, argv, lr, epochs, warmup
):
    out = tmp_path / "r"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"arch": TINY_ARCH, "corpus": {"ws": 96}}))
    code, _, err = cli(
        capsys, "pretrain", "--config", path, "--max-steps", "1", *argv,
        "--data-dir", data_dir, "--cache-dir", cache_dir, "--out", out, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    written = yaml.safe_load((out / "config.yaml").read_text())
    train = written["train"]
    assert (train["lr"], train["epochs"]) == (lr, epochs)
    assert {key: train[key] for key in warmup} == warmup
    assert written["mask_rate"] == (0.15 if "paper" in argv else 0.3)  # the recipe's


def test_finetune_takes_the_recipe_the_flags_change(capsys, data_dir, cache_dir, tmp_path):
    argv = ["finetune", "--task", "agnews", "--train-per-label", "4", "--test-per-label", "2"]
    argv += ["--max-steps", "1", "--data-dir", data_dir, "--cache-dir", cache_dir, "--quiet"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"arch": TINY_ARCH}))
    code, _, err = cli(capsys, *argv, "--scratch", "--config", path, "--out", tmp_path / "s")
    assert code == 0, err
    train = yaml.safe_load((tmp_path / "s" / "config.yaml").read_text())["train"]
    assert (train["lr"], train["batch_size"], train["epochs"]) == (1e-3, 16, 20)
    code, _, err = cli(
        capsys, *argv, "--scratch", "--config", path, "--recipe", "paper", "--batch-size", "8",
        "--out", tmp_path / "p",
    )  # fmt: skip
    assert code == 0, err
    train = yaml.safe_load((tmp_path / "p" / "config.yaml").read_text())["train"]
    assert (train["lr"], train["batch_size"], train["schedule"]) == (5e-5, 8, "paper")


# --- config-file typos exit 2 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, content, key",
    [
        ("pretrain", {"mask_rat": 0.4}, "mask_rat: unknown field"),
        ("pretrain", {"train": {"lr_x": 1}}, "train.lr_x: unknown field"),
        ("pretrain", {"impl": {"compiled": True}}, "impl.compiled: unknown field"),
        ("pretrain", {"task": {"name": "agnews"}}, "task: unknown field"),
        ("finetune", {"selct": "last"}, "selct: unknown field"),
        ("finetune", {"task": {"name": "agnews", "sampl_seed": 1}}, "task.sampl_seed: unknown"),
        ("finetune", {"train": {"epoch": 3}}, "train.epoch: unknown field"),
        ("finetune", {"corpus": {"ws": 96}}, "corpus: unknown field"),
    ],
)
def test_a_config_file_typo_exits_2_naming_the_key(
    capsys, data_dir, cache_dir, tmp_path, command, content, key
):
    fields = {"arch": TINY_ARCH, **({"corpus": {"ws": 96}} if command == "pretrain" else {})}
    if command == "finetune":
        fields.update(scratch=True, task={"name": "agnews"})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(overlay(fields, content)))
    argv = [command, "--config", path, "--data-dir", data_dir, "--cache-dir", cache_dir]
    code, _, err = cli(capsys, *argv, "--out", tmp_path / "r")
    assert code == 2 and err.startswith(f"tinylm: error: {key}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "known:" in err and not (tmp_path / "r").exists()  # refused before any work


def test_the_command_keys_are_allowed_and_checked(capsys, data_dir, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"arch": TINY_ARCH, "out": str(tmp_path / "r"), "resume": 3}))
    code, _, err = cli(capsys, "pretrain", "--config", path, "--data-dir", data_dir)
    assert code == 2 and "resume: expected auto, true or false, got 3" in err
    path.write_text(yaml.safe_dump({"arch": TINY_ARCH, "scratch": True}))  # finetune's only
    code, _, err = cli(capsys, "pretrain", "--config", path, "--data-dir", data_dir)
    assert code == 2 and "scratch: unknown field (known: arch, corpus, dropout, impl" in err


# --- options anywhere, one spelling per seed ----------------------------------------------------


def test_predict_takes_options_among_its_texts(capsys, tmp_path):
    from tinylm.config import ModelConfig
    from tinylm.model.bert import BertForSequenceClassification

    folder = tmp_path / "model"
    model = BertForSequenceClassification(ModelConfig.from_dict(TINY_ARCH), 2, ["no", "yes"])
    model.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(tiny_vocab()) + "\n")
    code, out, err = cli(capsys, "predict", folder, "--json", "the river", "a bank")
    assert code == 0, err
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["the river", "a bank"]
    code, out, err = cli(capsys, "predict", folder, "the river", "--json", "a bank")
    assert code == 0 and len(out.splitlines()) == 2 and json.loads(out.splitlines()[1])


def test_tokenize_takes_options_among_its_texts(capsys, data_dir):
    code, out, err = cli(capsys, "tokenize", "--json", "the river", "--data-dir", data_dir, "river")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["tokens"] for r in records] == [
        ["[CLS]", "the", "river", "[SEP]"],
        ["[CLS]", "river", "[SEP]"],
    ]


@pytest.mark.parametrize(
    "argv, dest, value",
    [
        (["data", "corpus", "--corpus-seed", "7"], "corpus_seed", 7),
        (["data", "corpus"], "corpus_seed", CORPUS_SEED),
        (["data", "task", "agnews", "--sample-seed", "3"], "seed", 3),
        (["overlap", "--task", "agnews", "--ws", "10", "--sample-seed", "3"], "sample_seed", 3),
        (["overlap", "--task", "agnews", "--ws", "10"], "corpus_seed", CORPUS_SEED),
        (
            ["corpus", "select", "--task", "t", "--size", "5", "--out", "o", "--sample-seed", "2"],
            "sample_seed",
            2,
        ),
        (["evaluate", "run", "--sample-seed", "2"], "sample_seed", 2),
        (["finetune", "--sample-seed", "2"], "task.seed", 2),
        (["finetune", "--seed", "2"], "train.seed", 2),
        (["pretrain", "--corpus-seed", "2"], "corpus.seed", 2),
        (["pretrain", "--seed", "2"], "train.seed", 2),
    ],
)
def test_one_spelling_per_seed(argv, dest, value):
    assert getattr(build_parser().parse_args(argv), dest) == value


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "corpus", "--seed", "7"],
        ["data", "task", "agnews", "--seed", "3"],
        ["overlap", "--task", "agnews", "--ws", "10", "--seed", "3"],
    ],
)
def test_seed_is_only_the_training_seed(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2 and "unrecognized arguments: --seed" in capsys.readouterr().err


def test_yaml_reads_scientific_notation_as_numbers(tmp_path):
    """`lr: 1e-3` is a float, as YAML 1.2 and every user reads it (PyYAML's YAML 1.1 alone
    would read a string and the run would be refused)."""
    from tinylm.data.io import load_yaml

    values = load_yaml("train: {lr: 1e-3, weight_decay: 1E-2, epochs: 3}\nmask_rate: .2\n")
    config = PretrainConfig.from_dict(values)
    assert config.train.lr == 1e-3 and config.train.weight_decay == 0.01
    assert config.train.epochs == 3 and config.mask_rate == 0.2
    assert load_yaml("name: 1e3x\nversion: 1.2.3") == {"name": "1e3x", "version": "1.2.3"}


@pytest.mark.parametrize("command", ["pretrain", "finetune"])
def test_a_config_file_that_is_not_yaml_is_one_line_and_exit_2(tmp_path, capsys, command):
    from tinylm.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("arch: [bert1\n  lr: :\n")
    argv = [command, "--task", "agnews", "--scratch"] if command == "finetune" else [command]
    code = main([*argv, "--config", str(bad), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and f"{bad} is not valid YAML" in err and "(line 2, column" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()
