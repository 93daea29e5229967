"""The study engine and the `gap` and `ws` studies, on tiny data and a tiny model."""

import csv
import dataclasses
import json
import math
import shutil

import pytest
import yaml

from studykit import PROVENANCE, count_executions, run, tiny_preset
from tinylm.cli import main
from tinylm.config import ImplConfig
from tinylm.errors import ConfigError, TinylmError
from tinylm.study import engine
from tinylm.study.engine import JobFactory, Store, unique_jobs
from tinylm.study.presets import PRESETS, get_preset
from tinylm.study.results import read_rows, write_rows
from tinylm.study.runner import run_study
from tinylm.study.stats import estimate, paired


def test_gap_study_writes_every_output(tmp_path, store):
    preset = tiny_preset()
    run("gap", preset, tmp_path, store)
    folder = tmp_path / "results" / "gap" / "tiny"
    rows = read_rows(folder / "results.csv")
    assert len(rows) == 2 * 2 * 3  # tasks x seeds x (pre-trained, scratch, tfidf)
    assert {r["arm"] for r in rows} == {"pretrained", "scratch", "tfidf"}
    for row in rows:
        assert 0.0 <= row["test_accuracy"] <= 1.0
        assert 0.0 <= row["test_macro_f1"] <= 1.0
        assert row["commit"] == "test" and row["command"] == "pytest"
        assert (store.root / row["job"] / "summary.json").is_file()  # its readable folder
        kind = "baseline-tfidf" if row["arm"] == "tfidf" else "finetune"
        assert row["job"].startswith(f"{kind}-{row['task']}-" if kind == "finetune" else kind)
        if row["arm"] == "pretrained":
            assert row["ws"] == 40 and row["pretrain_steps"] == 5  # 40 paragraphs / batch 8
            assert math.isfinite(row["pretrain_loss"])
            # every study's pre-trained row says whether its model left the plateau
            summary = json.loads((store.root / row["pretrain_job"] / "summary.json").read_text())
            assert row["val_loss"] == pytest.approx(summary["val_loss"], rel=1e-5)
            assert row["plateau_loss"] == pytest.approx(summary["plateau_loss"], rel=1e-5)
        else:
            assert row["ws"] is None and row["pretrain_job"] is None
            assert row["val_loss"] is None
    sizes = {(r["task"], r["train_examples"], r["test_examples"], r["labels"]) for r in rows}
    assert sizes == {("agnews", 24, 20, 4), ("fewrel-val", 15, 12, 3)}

    table = (folder / "table.md").read_text()
    assert "abc123" in table and "`tinylm study (test)`" in table
    assert table.count("\n| agnews |") == 1 and table.count("\n| fewrel-val |") == 1
    assert "macro-F1: pre-trained / scratch / TF-IDF" in table
    assert (folder / "gap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report = (tmp_path / "results" / "report.md").read_text()
    assert "Pre-training gives a positive gap on agnews" in report
    assert "Preset `tiny`" in report and "gap/tiny/table.md" in report


def test_ws_study_reuses_the_gap_studys_models(tmp_path, store, monkeypatch):
    preset = tiny_preset(tasks=("agnews",))
    run("gap", preset, tmp_path, store)
    calls = count_executions(monkeypatch)
    run("ws", preset, tmp_path, store)
    # new: the Ws = 20 models and their fine-tuning; the Ws = 40 ones and scratch are cached
    assert [(job.kind, job.config.corpus.ws) for job in calls if job.kind == "pretrain"] == [
        ("pretrain", 20),
        ("pretrain", 20),
    ]
    assert [job.init.config.corpus.ws for job in calls if job.kind == "finetune"] == [20, 20]
    assert len(calls) == 4
    rows = read_rows(tmp_path / "results" / "ws" / "tiny" / "results.csv")
    assert sorted({r["ws"] for r in rows if r["arm"] == "pretrained"}) == [20, 40]
    for row in rows:  # the validation MLM loss of each model, beside its gap
        pretrained = row["arm"] == "pretrained"
        assert (row["val_loss"] is not None) == pretrained
        if pretrained:
            summary = json.loads((store.root / row["pretrain_job"] / "summary.json").read_text())
            assert row["val_loss"] == pytest.approx(summary["val_loss"], rel=1e-5)
            assert row["val_loss"] > 0 and math.isfinite(row["plateau_loss"])
    table = (tmp_path / "results" / "ws" / "tiny" / "table.md").read_text()
    assert "| Ws | validation MLM loss | last training loss |" in table
    assert "| 0 (from scratch) |" in table and "| 20 |" in table and "| 40 |" in table
    assert table.count("| 0 (from scratch) |") == 2  # accuracy, then macro-F1
    assert "Test macro-F1 (mean over seeds)" in table
    assert (tmp_path / "results" / "ws" / "tiny" / "ws.png").is_file()
    report = (tmp_path / "results" / "report.md").read_text()
    assert "The gap grows with Ws on agnews" in report
    assert "Pre-training gives a positive gap on agnews" in report  # the gap study stays


def test_a_fresh_store_reuses_the_committed_rows_and_runs_only_new_seeds(
    tmp_path, store, monkeypatch
):
    preset = tiny_preset(tasks=("agnews",))
    run("gap", preset, tmp_path, store)
    path = tmp_path / "results" / "gap" / "tiny" / "results.csv"
    first = path.read_text().splitlines()

    # a fresh clone: the committed results.csv, an empty store, one more seed
    fresh = Store(tmp_path / "fresh", data_dir=store.data_dir, cache_dir=store.cache_dir)
    calls = count_executions(monkeypatch)
    run("gap", dataclasses.replace(preset, seeds=3), tmp_path, fresh)
    seeds = {
        "pretrain": lambda config: config.train.seed,
        "finetune": lambda config: config.task.seed,
        "baseline": lambda config: config.seed,
    }
    assert {seeds[job.kind](job.config) for job in calls} == {2}
    assert sorted(job.kind for job in calls) == ["baseline", "finetune", "finetune", "pretrain"]
    lines = path.read_text().splitlines()
    assert [line for line in lines if line in first] == first  # header and the 6 old rows
    rows = read_rows(path)
    assert len(rows) == 9 and sorted({r["seed"] for r in rows}) == [0, 1, 2]

    from tinylm.study.registry import STUDIES
    from tinylm.study.runner import recorded_rows
    from tinylm.tokenizer import load_tokenizer

    gap = STUDIES["gap"]
    cells = gap.cells(JobFactory(preset, load_tokenizer(store.data_dir).vocab_size), preset)
    empty = Store(tmp_path / "empty", data_dir=store.data_dir, cache_dir=store.cache_dir)
    assert all(recorded_rows(gap, cells, rows, empty))
    assert not any(recorded_rows(gap, cells, rows, store))  # the store's own rows win


def test_a_rebuild_that_changes_committed_figures_warns(tmp_path, store):
    preset = tiny_preset(tasks=("agnews",))

    def warnings() -> list[str]:
        lines = []
        out = tmp_path / "results"
        run_study("gap", preset, out=out, store=store, provenance=PROVENANCE, echo=lines.append)
        return [line for line in lines if line.startswith("warning:")]

    assert not warnings()
    path = tmp_path / "results" / "gap" / "tiny" / "results.csv"
    rows = read_rows(path)
    # a committed row measured elsewhere: same job, other figures
    scratch = next(r for r in rows if r["arm"] == "scratch")
    scratch["test_accuracy"] = 0.123
    write_rows(path, rows, tuple(rows[0]))
    found = warnings()
    assert len(found) == 1 and scratch["job"] in found[0]
    assert "other figures for 1 job(s)" in found[0]
    assert not warnings()  # the store's figures are now the file's: nothing changes


def test_an_interrupted_study_resumes_without_rerunning_finished_jobs(tmp_path, store, monkeypatch):
    preset = tiny_preset(tasks=("agnews",))
    calls = count_executions(monkeypatch, fail_at=4)
    with pytest.raises(KeyboardInterrupt):
        run("gap", preset, tmp_path, store)
    finished = [job for job in calls[:3]]
    assert all(store.done(job) for job in finished)
    stamps = {job.key: (store.path(job) / "summary.json").stat().st_mtime_ns for job in finished}

    calls = count_executions(monkeypatch)
    run("gap", preset, tmp_path, store)
    assert not {job.key for job in calls} & set(stamps)  # nothing finished ran again
    assert len(calls) == len(unique_jobs(_cells(preset, store))) - 3
    for job in finished:
        assert (store.path(job) / "summary.json").stat().st_mtime_ns == stamps[job.key]

    calls = count_executions(monkeypatch)
    run("gap", preset, tmp_path, store)  # a third run: everything cached
    assert calls == []


def _cells(preset, store):
    from tinylm.study import gap
    from tinylm.tokenizer import load_tokenizer

    factory = JobFactory(preset, load_tokenizer(store.data_dir).vocab_size)
    return [cell.job for cell in gap.cells(factory, preset)]


def test_a_finished_job_keeps_its_model_and_not_its_checkpoints(store):
    from datagen import tiny_vocab

    preset = tiny_preset(pretrain={"epochs": 2, "lr": 1e-3, "batch_size": 8})
    job = JobFactory(preset, len(tiny_vocab())).pretrain(40, 0)
    store.run(job)
    left = sorted(p.name for p in store.path(job).iterdir())
    assert left == [".lock", "config.yaml", "job.json", "metrics.jsonl", "model", "summary.json"]


def test_a_partial_pretraining_job_continues_from_its_checkpoint(tmp_path, store, monkeypatch):
    from datagen import tiny_vocab
    from tinylm.train.checkpoint import list_checkpoints

    preset = tiny_preset(pretrain={"epochs": 2, "lr": 1e-3, "batch_size": 8})
    factory = JobFactory(preset, len(tiny_vocab()))
    job = factory.pretrain(40, 0)
    assert store.status(job) == "to run"
    # a finished job's checkpoints are removed; kept here to make a partial run of them
    monkeypatch.setattr(engine, "remove_checkpoints", lambda path: None)
    store.run(job)
    assert store.status(job) == "cached"
    # a run killed after its first epoch: the summary and final checkpoint gone
    (store.path(job) / "summary.json").unlink()
    checkpoints = list_checkpoints(store.path(job))
    for extra in checkpoints[1:]:
        shutil.rmtree(extra)
    assert store.status(job) == "partial (step-00000005)"
    summary = store.run(job)
    assert summary["steps"] == 10 and store.done(job)


def test_job_keys_follow_what_determines_the_result(monkeypatch):
    preset = tiny_preset()
    factory = JobFactory(preset, 200)
    base = factory.pretrain(40, 0)
    assert base.key == JobFactory(tiny_preset(), 200).pretrain(40, 0).key
    assert base.key != factory.pretrain(20, 0).key
    assert base.key != factory.pretrain(40, 1).key
    other_lr = tiny_preset(pretrain={"epochs": 1, "lr": 5e-4, "batch_size": 8})
    assert base.key != JobFactory(other_lr, 200).pretrain(40, 0).key
    assert base.key != JobFactory(preset, 201).pretrain(40, 0).key  # another vocabulary
    # of the implementation section, only the precision and device type (its Execution,
    # test_job_precision.py) change what a job computes: threads do not
    threaded = dataclasses.replace(base.config, impl=ImplConfig(threads=1))
    assert engine.Job("pretrain", threaded, execution=factory.execution).key == base.key
    # a fine-tuning job names its pre-trained model by key
    assert factory.finetune("agnews", 0, base).key != factory.finetune("agnews", 0, None).key
    assert (
        factory.finetune("agnews", 0, base).key
        != factory.finetune("agnews", 0, factory.pretrain(20, 0)).key
    )
    # the scratch arm may fine-tune at its own rate (finetune_scratch over finetune)
    own = JobFactory(tiny_preset(finetune_scratch={"lr": 3e-3}), 200)
    scratch, pretrained = own.finetune("agnews", 0, None), own.finetune("agnews", 0, base)
    assert scratch.config.train.lr == 3e-3 != preset.finetune["lr"]
    assert scratch.key != factory.finetune("agnews", 0, None).key
    assert pretrained.config.train.lr == preset.finetune["lr"]
    assert pretrained.key == factory.finetune("agnews", 0, base).key
    assert scratch.config.train.epochs == preset.finetune["epochs"]  # the rest is finetune's
    # ... or its own pooling, a FinetuneConfig field beside the TrainConfig ones
    pooled = JobFactory(tiny_preset(finetune_scratch={"pooling": "mean"}), 200)
    assert pooled.finetune("agnews", 0, None).config.pooling == "mean"
    assert pooled.finetune("agnews", 0, None).key != factory.finetune("agnews", 0, None).key
    assert pooled.finetune("agnews", 0, base).config.pooling == "cls"
    assert pooled.finetune("agnews", 0, base).key == factory.finetune("agnews", 0, base).key
    # the baseline's key holds its hyper-parameters
    from tinylm.study import baseline

    before = factory.baseline("agnews", 0).key
    monkeypatch.setitem(baseline.CLASSIFIER, "C", 1.0)
    assert factory.baseline("agnews", 0).key != before
    # studies that need the same job share it
    jobs = unique_jobs([factory.finetune("agnews", 0, base), factory.finetune("agnews", 1, base)])
    assert [j.kind for j in jobs] == ["pretrain", "finetune", "finetune"]


def test_job_folders_are_named_for_people_and_old_folders_are_found(store, monkeypatch):
    from datagen import tiny_vocab

    factory = JobFactory(tiny_preset(), len(tiny_vocab()))
    pretrain = factory.pretrain(40, 0)
    finetune = factory.finetune("agnews", 0, pretrain)
    assert pretrain.folder == f"pretrain-l1-h32-ws40-s0-{pretrain.key[:8]}"  # an unnamed arch
    assert finetune.folder == f"finetune-agnews-l1-h32-ws40-s0-{finetune.key[:8]}"
    # an old name: the folder says the new one
    named = factory.finetune("fewrel-val", 1, None, "bert1-cpu")
    assert named.folder == f"finetune-fewrel-val-bert1-a3-scratch-s1-{named.key[:8]}"
    assert factory.baseline("agnews", 2).folder.startswith("baseline-tfidf-agnews-s2-")
    built = factory.pretrain_on(factory.corpus("ablation", "agnews", 0, 40, removed=5), 0)
    assert built.folder.startswith("pretrain-l1-h32-ablation5-agnews-ws40-s0-")
    assert built.init.folder.startswith("corpus-ablation5-agnews-ws40-s0-")

    # a store made before readable names: its `<kind>-<key>` folder is found and used there
    store.run(pretrain)
    store.path(pretrain).rename(store.root / pretrain.name)
    assert store.path(pretrain) == store.root / pretrain.name and store.done(pretrain)
    calls = count_executions(monkeypatch)
    store.run(finetune)  # starts from the model in the old folder
    assert [job.kind for job in calls] == ["finetune"]
    assert store.path(finetune) == store.root / finetune.folder
    # a readable name of another rule (an architecture renamed) is found by its key's start
    store.path(finetune).rename(store.root / f"finetune-agnews-tiny-{finetune.key[:8]}")
    assert store.path(finetune).name == f"finetune-agnews-tiny-{finetune.key[:8]}"
    store.run(finetune)
    assert len(calls) == 1 and store.find(finetune.name) == store.path(finetune)
    assert store.find(factory.finetune("agnews", 1, pretrain).name) is None


def test_paired_gap_interval():
    # differences 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.3027
    gap = paired({0: 0.6, 1: 0.7, 2: 0.8}, {0: -0.4, 1: -1.3, 2: -2.2})
    assert gap.mean == pytest.approx(2.0) and gap.std == pytest.approx(1.0)
    assert gap.high - gap.mean == pytest.approx(4.302653 / 3**0.5, rel=1e-6)
    assert gap.sign() == 0  # the interval [-0.48, 4.48] holds zero
    assert estimate([0.5]).n == 1 and math.isnan(estimate([0.5]).low)
    assert paired({0: 1.0, 1: 2.0}, {1: 1.5, 2: 0.0}).n == 1  # only shared seeds pair


def test_presets_validate_themselves():
    assert set(PRESETS) >= {"smoke", "cpu", "paper"}
    assert PRESETS["paper"].ws_grid == (2_000, 5_000, 10_000, 20_000, 40_000, 90_000)
    assert PRESETS["cpu"].seeds >= 3
    with pytest.raises(ConfigError, match="ws_grid"):
        tiny_preset(ws_grid=(40, 20))
    with pytest.raises(ConfigError, match="pretrain.lr"):
        tiny_preset(pretrain={"lr": -1.0})
    with pytest.raises(ConfigError, match="finetune_scratch.lr_x"):
        tiny_preset(finetune_scratch={"lr_x": 1.0})
    with pytest.raises(ConfigError, match="finetune.pooling"):
        tiny_preset(finetune={"epochs": 2, "pooling": "max"})
    with pytest.raises(ConfigError, match="sizes.agnews"):
        tiny_preset(sizes={"agnews": [5]})
    with pytest.raises(TinylmError, match="unknown preset"):
        get_preset("laptop")


def test_the_plan_lines_up_however_long_the_job_names(monkeypatch):
    from tinylm.study import runner

    monkeypatch.setattr(runner, "describe", lambda job: job)
    names = ["short", "finetune fewrel-val seed=2 from the Ws=2,000 1L H192 conv 2x16x3 d16 model"]
    rows = [
        {"job": n, "status": "to run", "tokens": 10, "flops": 1e12, "seconds": 60} for n in names
    ]
    plan = {"rows": rows, "to_run": 2, "flops": 2e12, "seconds": 120}
    header, *lines = runner.format_plan("gap", tiny_preset(), plan).splitlines()[1:4]
    assert [line[header.index("status") :][:6] for line in lines] == ["to run", "to run"]


def test_cli_dry_run_then_run_then_report(tmp_path, data_dir, cache_dir, capsys):
    preset_file = tmp_path / "tiny.yaml"
    fields = tiny_preset(tasks=("agnews",), seeds=1).to_dict()
    fields.pop("name")
    preset_file.write_text(yaml.safe_dump(fields))
    common = [
        "--preset",
        str(preset_file),
        "--data-dir",
        str(data_dir),
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(tmp_path / "res"),
        "--runs",
        str(tmp_path / "runs"),
        "--quiet",
    ]
    assert main(["study", "gap", *common, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "study gap, preset tiny: 4 jobs, 4 to run" in out
    assert out.count("to run") >= 4 and "TFLOP" in out
    header, *rows = out.splitlines()[1:5]
    assert all(row[header.index("status") :].startswith("to run") for row in rows)  # aligned
    assert not (tmp_path / "res").exists() and not (tmp_path / "runs").exists()

    assert main(["study", "all", *common]) == 0
    out = capsys.readouterr().out
    assert "full outputs:" in out and "| agnews |" in out
    with open(tmp_path / "res" / "ws" / "tiny" / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 1 + 2  # scratch + Ws 20 and 40, one seed

    assert main(["study", "gap", *common, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 jobs, 0 to run" in out and out.count("cached") == 4

    (tmp_path / "res" / "report.md").unlink()
    assert main(["study", "report", "--out", str(tmp_path / "res")]) == 0
    assert "The gap grows with Ws" in (tmp_path / "res" / "report.md").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["study", "gap", "--preset", "laptop"], "unknown preset 'laptop'"),
        (["study", "gap", "--seeds", "0"], "--seeds must be positive"),
        (["study", "gap", "--preset", "missing.yaml"], "preset file missing.yaml does not exist"),
        (["study", "report", "--out", "nowhere"], "nowhere does not exist"),
    ],
)
def test_cli_refuses_bad_options(argv, message, data_dir, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--data-dir", str(data_dir)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tasks": ("agnewz",)}, "unknown task 'agnewz'"),
        ({"sizes": {"agnews": [500, 5]}}, "lower the per-label sizes"),
        ({"ws_grid": (20, 100_000)}, "Ws = 100,000 is larger than the pool"),
    ],
)
def test_bad_inputs_are_refused_before_any_job_runs(tmp_path, store, changes, message):
    with pytest.raises(TinylmError, match=message):
        run("ws", tiny_preset(**changes), tmp_path, store)
    assert not store.root.exists() or not any(store.root.iterdir())


def test_cli_lists_the_registries_and_passes_impl_flags(data_dir, monkeypatch, capsys):
    from tinylm.study import runner
    from tinylm.study.registry import STUDIES

    with pytest.raises(SystemExit):
        main(["study", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(name in help_text for name in [*STUDIES, *PRESETS])
    stores = []
    monkeypatch.setattr(runner, "run_study", lambda *a, store, **kw: stores.append(store))
    argv = ["study", "gap", "--dry-run", "--compile", "--threads", "1", "--data-dir", data_dir]
    assert main([str(a) for a in argv]) == 0
    assert stores[0].impl.compile and stores[0].impl.threads == 1


def test_cli_refuses_an_unknown_study(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["study", "laptop"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'laptop'" in capsys.readouterr().err


@pytest.mark.realdata
def test_smoke_studies_on_real_data(tmp_path, real_data_dir, real_cache_dir, capsys):
    out = tmp_path / "results"
    argv = [
        "--preset",
        "smoke",
        "--data-dir",
        str(real_data_dir),
        "--cache-dir",
        str(real_cache_dir),
        "--out",
        str(out),
        "--runs",
        str(tmp_path / "runs"),
        "--quiet",
        # one seed: the real-data path of every study at half the cost (the suite's longest
        # test); more seeds, intervals and verdicts are tested on the tiny data
        "--seeds",
        "1",
    ]
    assert main(["study", "all", *argv]) == 0
    smoke, seeds = PRESETS["smoke"], 1
    # the gap study's three arms on the development and the confirmation split
    for study, runs in (("gap", 3 * 2), ("ws", 1 + len(smoke.ws_grid))):
        rows = read_rows(out / study / "smoke" / "results.csv")
        assert len(rows) == len(smoke.tasks) * seeds * runs
        for row in rows:
            assert 0.0 <= row["test_accuracy"] <= 1.0
            if row["arm"] == "pretrained":
                # below the loss of a uniform guess over 30,522 tokens, above zero
                assert 0.0 < row["pretrain_loss"] < math.log(30_522)
        assert (out / study / "smoke" / "table.md").is_file()
        assert (out / study / "smoke" / f"{study}.png").stat().st_size > 10_000
    built = 1 + len(smoke.ablation_removed) + len(smoke.reverse)  # custom, ablations, swaps
    rows = read_rows(out / "overlap" / "smoke" / "results.csv")
    assert len(rows) == len(smoke.tasks) * seeds * (1 + len(smoke.ws_grid) + built)
    by = {(r["seed"], r["corpus"], r["ws"]): r for r in rows if r["arm"] == "pretrained"}
    for seed in range(seeds):
        random = by[(seed, "random", smoke.fixed_ws)]
        assert random["missing_types"] > 0 and 0.5 < random["weighted_overlap"] < 1
        ablation = by[(seed, "ablation", smoke.fixed_ws)]
        assert ablation["missing_types"] > random["missing_types"]
        assert ablation["corpus_tokens"] == pytest.approx(random["corpus_tokens"], rel=0.02)
        assert by[(seed, "custom", smoke.fixed_ws)]["missing_types"] < random["missing_types"]
        swapped = by[(seed, "reverse-more", smoke.fixed_ws)]
        assert swapped["missing_types"] == random["missing_types"]
        assert swapped["reverse_missing_share"] > random["reverse_missing_share"]
    assert (out / "overlap" / "smoke" / "overlap.png").stat().st_size > 10_000
    members = len(smoke.committee_members)
    rows = read_rows(out / "committee" / "smoke" / "results.csv")
    committees = 2**members - 1 - members  # subsets of two members or more
    assert len(rows) == len(smoke.tasks) * seeds * (members + 1 + committees)
    assert all(r["latency_ms"] > 0 and r["flops_per_example"] > 0 for r in rows)
    rows = read_rows(out / "budget" / "smoke" / "results.csv")
    assert len(rows) == len(smoke.tasks) * seeds * (len(smoke.budget_tokens) + 1)
    for row in (r for r in rows if r["arm"] == "pretrained"):
        assert row["tokens_read"] >= row["budget"]
        assert 0 < row["val_loss"] < math.log(30_522) and 0 < row["plateau_loss"] < 12
    assert (out / "budget" / "smoke" / "budget.png").stat().st_size > 10_000
    # the source study: Wikipedia, the task's text and their mixture, each for the same budget
    rows = read_rows(out / "source" / "smoke" / "results.csv")
    assert len(rows) == len(smoke.tasks) * seeds * 4
    pretrained = [r for r in rows if r["arm"] == "pretrained"]
    assert {r["corpus"] for r in pretrained} == {"wikipedia", "task_text", "mix"}
    assert all(r["tokens_read"] >= smoke.source_tokens for r in pretrained)
    report = (out / "report.md").read_text()
    verdicts = [line.rsplit("**", 2)[-2] for line in report.splitlines() if line.endswith("** |")]
    assert len(verdicts) >= 6
    assert set(verdicts) <= {"holds", "does not hold", "inconclusive", "not tested"}


def test_parallel_jobs_give_the_results_of_a_sequential_run(tmp_path, data_dir, cache_dir):
    preset = tiny_preset(tasks=("agnews",))
    results = {}
    for workers in (1, 2):
        store = Store(
            tmp_path / f"runs{workers}",
            data_dir=data_dir,
            cache_dir=cache_dir,
            impl=ImplConfig(device="cpu", threads=1),
            progress=False,
        )
        lines = []
        run_study(
            "ws",
            preset,
            out=tmp_path / f"results{workers}",
            store=store,
            provenance=PROVENANCE,
            workers=workers,
            echo=lines.append,
        )
        rows = read_rows(tmp_path / f"results{workers}" / "ws" / "tiny" / "results.csv")
        results[workers] = [
            (r["seed"], r["arm"], r["ws"], r["test_accuracy"], r["pretrain_loss"]) for r in rows
        ]
        if workers == 2:
            assert "2 at a time" in lines[1] and len(lines) == 2 + 10  # header, pool, 10 jobs
    assert results[1] == results[2]


def test_a_job_another_process_is_running_is_refused(tmp_path, store):
    from processes import lock_held_by_another_process
    from tinylm.tokenizer import load_tokenizer

    preset = tiny_preset(tasks=("agnews",), seeds=1)
    job = JobFactory(preset, load_tokenizer(store.data_dir).vocab_size).pretrain(40, 0)
    with (
        lock_held_by_another_process(store.path(job)) as pid,
        pytest.raises(TinylmError, match=rf"in use by another run \(process {pid}\)"),
    ):
        run("gap", preset, tmp_path, store)
    run("gap", preset, tmp_path, store)  # the holder was killed: nothing stays stuck
    assert store.done(job)


def test_devices_hold_one_job_each_and_cpu_jobs_run_beside(tmp_path, store):
    from fakejobs import fake_jobs
    from tinylm.study.runner import run_parallel

    board = tmp_path / "board"
    board.mkdir()
    jobs = fake_jobs(board, devices=3, cpus=1)
    lines = []
    run_parallel(jobs, store, 3, lines.append, devices=("cpu", "cpu"))
    assert "one per device on cpu, cpu" in lines[0]
    device_jobs = [job for job in jobs if job.kind == "fake-device"]
    for job in device_jobs:
        summary = store.summary(job)
        assert summary["device"] == "cpu" and summary["slot"] in (0, 1)
        assert not summary["slot_shared"]  # never two jobs on one slot at once
        assert summary["most_device_jobs_beside"] <= 1  # two slots: at most one other
        assert summary["saw_cpu_job"]  # the CPU job ran while device jobs waited for slots
        (attempt,) = json.loads((store.path(job) / "job.json").read_text())["attempts"]
        assert attempt["slot"] == summary["slot"] and attempt["finished"]
    cpu_job = next(job for job in jobs if job.kind == "fake-cpu")
    assert store.summary(cpu_job)["slot"] is None  # it took no device
    assert {store.summary(job)["slot"] for job in device_jobs} == {0, 1}
    assert sum(" on cpu: " in line for line in lines) == 3


def test_cli_places_training_jobs_on_the_devices(tmp_path, data_dir, cache_dir, capsys):
    preset = tmp_path / "tiny.yaml"
    fields = tiny_preset(tasks=("agnews",), seeds=1).to_dict()
    fields.pop("name")
    preset.write_text(yaml.safe_dump(fields))
    argv = ["study", "gap", "--preset", str(preset), "--devices", "cpu,cpu", "--quiet"]
    argv += ["--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]
    argv += ["--out", str(tmp_path / "results"), "--runs", str(tmp_path / "runs")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "3 at a time" in out and "one per device on cpu, cpu" in out
    trained = sorted((tmp_path / "runs").glob("*tune*")) + sorted(
        (tmp_path / "runs").glob("pretrain*")
    )
    assert len(trained) == 3  # pre-training, and fine-tuning from it and from scratch
    for folder in trained:
        assert yaml.safe_load((folder / "config.yaml").read_text())["impl"]["device"] == "cpu"
    baseline = next((tmp_path / "runs").glob("baseline*"))
    assert "slot" not in json.loads((baseline / "job.json").read_text())["attempts"][0]


@pytest.mark.parametrize(
    "devices, message",
    [("gpu0", "'gpu0' is not a device"), ("cuda:0,cuda:7", "this machine has")],
)
def test_cli_refuses_devices_it_cannot_use(devices, message, data_dir, capsys):
    import torch

    if torch.cuda.device_count() >= 8:
        pytest.skip("this machine has 8 CUDA devices")
    assert main(["study", "gap", "--devices", devices, "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def ws_rows(task: str, gaps: dict[int, list[float]]) -> list[dict]:
    """A ws study's rows: scratch at 0.5 on three seeds, and each Ws's gaps by seed."""
    out = [{"task": task, "seed": s, "arm": "scratch", "test_accuracy": 0.5} for s in range(3)]
    for size, values in gaps.items():
        out += [
            {"task": task, "seed": s, "arm": "pretrained", "ws": size, "test_accuracy": 0.5 + v}
            for s, v in enumerate(values)
        ]
    return out


def test_the_share_of_the_largest_gap_needs_a_gap_that_clears_zero():
    from tinylm.study import ws

    clear = ws.summarise(ws_rows("t", {10: [0.02, 0.03, 0.04], 20: [0.05, 0.06, 0.07]}))["t"]
    assert [round(p["fraction"], 3) for p in clear["points"]] == [0.5, 1.0]
    # the largest mean gap is positive but its interval holds zero: a share of it means nothing
    noisy = ws.summarise(ws_rows("t", {10: [-0.01, 0.0, -0.02], 20: [0.1, -0.1, 0.01]}))["t"]
    assert all(math.isnan(p["fraction"]) for p in noisy["points"])


def test_the_ws_table_shows_each_sizes_losses_where_the_rows_have_them():
    from tinylm.study import ws

    rows = [{"task": "t", "seed": s, "arm": "scratch", "test_accuracy": 0.5} for s in range(2)]
    rows += [
        {"task": "t", "seed": s, "arm": "pretrained", "ws": size, "test_accuracy": 0.6}
        for size in (10, 20)
        for s in range(2)
    ]
    header = "| Ws | validation MLM loss | last training loss |"
    assert header not in ws.table(rows)  # results of older versions: no losses, no section
    for row in rows[2:]:
        # the plateau's unigram is counted on each subset: a smaller one's level is higher
        plateau = 6.77 if row["ws"] == 10 else 6.69
        row.update(val_loss=6.0 + row["seed"], pretrain_loss=2.0, plateau_loss=plateau)
    table = ws.table(rows)
    assert header in table and "| plateau (ignoring context) |" in table
    assert "| 10 | 6.500 ± 0.707 | 2.000 ± 0.000 | 6.77 |" in table
    assert "| 20 | 6.500 ± 0.707 | 2.000 ± 0.000 | 6.69 |" in table


def test_the_ws_plot_sets_tasks_side_by_side_and_shares_only_clear_gaps(monkeypatch, tmp_path):
    from tinylm.study import ws

    figures = []
    monkeypatch.setattr(ws, "save_figure", lambda fig, path, caption: figures.append(fig))
    clear = ws_rows("clear", {10: [0.02, 0.03, 0.04], 20: [0.05, 0.06, 0.07]})
    noisy = ws_rows("noisy", {10: [-0.01, 0.0, -0.02], 20: [0.1, -0.1, 0.01]})
    ws.plot(clear + noisy, tmp_path / "ws.png", "caption")
    left, right = figures[0].axes
    # one errorbar per task, the two at each Ws a little apart around it
    xs = {bars.get_label(): bars.lines[0].get_xdata() for bars in left.containers}
    assert set(xs) == {"clear", "noisy"}
    for size, a, b in zip((10, 20), xs["clear"], xs["noisy"], strict=True):
        assert a < size < b and a * b == pytest.approx(size**2)
    # the noisy task has no share to show: no line of it, nor in the legend
    assert [line.get_label() for line in right.lines] == ["clear"]
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["clear"]


def test_a_pretraining_job_line_says_when_its_model_is_still_on_the_plateau():
    from tinylm.study.kinds import PRETRAIN

    on = {"final_loss": 7.07, "val_loss": 6.779, "plateau": True, "plateau_loss": 6.72}
    line = (
        "loss 7.0700, validation 6.779 (not past the unigram plateau: ignoring context scores 6.72)"
    )
    assert PRETRAIN.outcome(on) == line
    assert PRETRAIN.outcome({**on, "val_loss": 5.2, "plateau": False}) == (
        "loss 7.0700, validation 5.200"
    )
    assert PRETRAIN.outcome({"final_loss": 7.07, "val_loss": None}) == "loss 7.0700"


def test_jobs_default_to_one_per_core_on_a_cpu(monkeypatch):
    """`tinylm bench jobs` measured one one-thread job per core ahead of one job on all of
    them: that is a CPU study's default; with --devices, one per device and one beside."""
    from tinylm.cli.study import default_jobs

    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert default_jobs((), "cpu") == 6
    assert default_jobs(("cpu", "cpu"), "cpu") == 3
