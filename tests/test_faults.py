"""Kill tests (issue 9): SIGKILL pre-training, fine-tuning and a study grid at random moments
and inside checkpoint writes, resume each time, and compare with an uninterrupted run.

Each process is a real `tinylm` (tests/fault_entry.py), killed from outside at a random step
plus a random delay, or killing itself halfway through a safetensors write. After every kill
each complete checkpoint must load; at the end the weights and results must equal the
uninterrupted run's. The fast suite injects a few faults; `pytest -m slow` runs the full set
(at least 20), and docs/reliability.md records its counts.
"""

import csv
import errno
import json
import random
import time
from pathlib import Path

import pytest
import yaml

from datagen import tiny_vocab
from faults import (
    Kill,
    check_checkpoints,
    finished_jobs,
    last_step,
    run_once,
    run_with_kills,
    same_weights,
    tinylm,
)
from studykit import TINY_ARCH, count_executions
from tinylm.cli import main
from tinylm.train.checkpoint import list_checkpoints

SEED = 20261121
PRETRAIN_STEPS = 96  # 96 paragraphs, batch 8, 8 epochs
SAVE_EVERY = 4


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    arch = {**TINY_ARCH, "vocab_size": len(tiny_vocab())}
    path.write_text(yaml.safe_dump({"arch": arch, "corpus": {"ws": 96}}))
    return path


def _common(data_dir, cache_dir, out):
    return ["--data-dir", data_dir, "--cache-dir", cache_dir, "--out", out, "--quiet"]


def _pretrain_argv(data_dir, cache_dir, config_file, out, epochs=2):
    argv = ["pretrain", "--config", config_file, "--epochs", epochs, "--batch-size", 8]
    return [*argv, "--save-every", SAVE_EVERY, *_common(data_dir, cache_dir, out)]


def pretrain_command(data_dir, cache_dir, config_file, out):
    argv = _pretrain_argv(data_dir, cache_dir, config_file, out, epochs=8)
    return tinylm(*argv, "--log-every", 1, "--threads", 1)


def finetune_command(data_dir, cache_dir, init, out):
    return tinylm(
        "finetune",
        "--task",
        "agnews",
        "--init",
        init,
        "--train-per-label",
        25,
        "--test-per-label",
        15,
        "--epochs",
        12,
        "--batch-size",
        8,
        "--threads",
        1,
        *_common(data_dir, cache_dir, out),
    )


def step_kills(rng, count: int, steps: int, in_writes=()) -> list[Kill]:
    """`count` kills at distinct random steps, each a random fraction of a step later (steps
    last ~10 ms here, so some land inside checkpoint writes), and torn writes mixed in."""
    targets = sorted(rng.sample(range(2, steps - 1), count))
    kills = [Kill(after=t, seconds=rng.uniform(0, 0.05)) for t in targets]
    for in_write in in_writes:
        kills.insert(rng.randrange(len(kills) + 1), Kill(in_write=in_write))
    return kills


def report(name, tally):
    print(
        f"\nfaults {name}: {tally.kills} kills, {tally.resumes} resumes succeeded, "
        f"{tally.checkpoints_checked} checkpoints checked whole, {tally.redone_steps} steps "
        f"redone (since the last checkpoint), {tally.finished_redone} finished runs redone"
    )


def _kill_and_resume(command, kills, out):
    return run_with_kills(
        command,
        kills,
        watch=lambda: [out],
        progress=lambda: last_step(out / "metrics.jsonl"),
        resume_argv=[*command, "--resume"],
    )


def _pretrain_faults(data_dir, cache_dir, config_file, tmp_path, kills):
    reference = tmp_path / "whole"
    run_once(pretrain_command(data_dir, cache_dir, config_file, reference))
    out = tmp_path / "killed"
    command = pretrain_command(data_dir, cache_dir, config_file, out)
    tally = _kill_and_resume(command, kills, out)
    assert tally.kills == len(kills) and tally.resumes == len(kills)
    assert tally.redone_steps <= tally.kills * SAVE_EVERY
    assert same_weights(reference / "model/model.safetensors", out / "model/model.safetensors")
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, PRETRAIN_STEPS + 1))  # every step logged once
    leftovers = [p.name for p in out.rglob(".*") if p.name != ".lock"]
    assert leftovers == []  # the torn writes' temporary files were removed on resume
    return tally


def test_pretraining_survives_a_torn_checkpoint_write_and_a_kill(
    data_dir, cache_dir, config_file, tmp_path
):
    rng = random.Random(SEED)
    kills = step_kills(rng, 1, PRETRAIN_STEPS, in_writes=[3])
    report("pretrain (fast)", _pretrain_faults(data_dir, cache_dir, config_file, tmp_path, kills))


@pytest.mark.slow
def test_pretraining_survives_many_kills(data_dir, cache_dir, config_file, tmp_path):
    rng = random.Random(SEED + 1)
    kills = step_kills(rng, 8, PRETRAIN_STEPS, in_writes=[2, 3])  # an optimizer and a model
    report("pretrain", _pretrain_faults(data_dir, cache_dir, config_file, tmp_path, kills))


def _finetune_faults(data_dir, cache_dir, config_file, tmp_path, make_kills):
    init = tmp_path / "pretrained"
    run_once(pretrain_command(data_dir, cache_dir, config_file, init))
    reference = tmp_path / "whole"
    run_once(finetune_command(data_dir, cache_dir, init, reference))
    kills = make_kills(last_step(reference / "metrics.jsonl"))
    out = tmp_path / "killed"
    command = finetune_command(data_dir, cache_dir, init, out)
    tally = _kill_and_resume(command, kills, out)
    assert tally.kills == len(kills) and tally.resumes == len(kills)
    assert same_weights(reference / "model/model.safetensors", out / "model/model.safetensors")
    a, b = (json.loads((p / "summary.json").read_text()) for p in (reference, out))
    for key in ("test_accuracy", "test_macro_f1", "selected_epoch", "val_accuracy"):
        assert a.get(key) == b.get(key), key
    return tally


def test_finetuning_survives_a_torn_write_and_a_kill(data_dir, cache_dir, config_file, tmp_path):
    rng = random.Random(SEED + 2)
    tally = _finetune_faults(  # a write per epoch (best/), then the checkpoint's two
        data_dir, cache_dir, config_file, tmp_path, lambda n: step_kills(rng, 1, n, [5])
    )
    report("finetune (fast)", tally)


@pytest.mark.slow
def test_finetuning_survives_many_kills(data_dir, cache_dir, config_file, tmp_path):
    rng = random.Random(SEED + 3)
    tally = _finetune_faults(
        data_dir, cache_dir, config_file, tmp_path, lambda n: step_kills(rng, 5, n, [1, 3])
    )
    report("finetune", tally)


STUDY_PRESET = {
    "name": "faults",
    "arch": TINY_ARCH,
    "tasks": ["agnews", "fewrel-val"],
    "seeds": 2,
    "gap_ws": 40,
    "ws_grid": [20, 40],
    "pretrain": {"epochs": 3, "lr": 1e-3, "batch_size": 8},
    "finetune": {"epochs": 3, "lr": 1e-3, "batch_size": 8},
    "sizes": {"agnews": [6, 5], "fewrel-val": [5, 4]},
}
# Wall times differ between runs, and the commands name their folders.
# what differs between an interrupted and a whole run: times, the command, and the test reads
# the ledger counts (a fine-tuning killed after scoring its test split has read it: a line)
UNEQUAL = {"seconds", "pretrain_seconds", "command", "test_reads"}


def _study_faults(data_dir, cache_dir, tmp_path, count, jobs):
    preset = tmp_path / "faults.yaml"
    preset.write_text(yaml.safe_dump(STUDY_PRESET))

    def command(name):
        return tinylm(
            "study",
            "gap",
            "--preset",
            preset,
            "--runs",
            tmp_path / name / "runs",
            "--out",
            tmp_path / name / "results",
            "--data-dir",
            data_dir,
            "--cache-dir",
            cache_dir,
            "--jobs",
            jobs,
            "--threads",
            1,
        )

    run_once(command("whole"))
    total = finished_jobs(tmp_path / "whole" / "runs")
    rng = random.Random(SEED + 4 + jobs)
    # after a random number of finished jobs, a random moment later (jobs take ~0.3 s here):
    # inside the next jobs, their checkpoint writes included
    targets = sorted(rng.sample(range(1, total), count))
    kills = [Kill(after=t, seconds=rng.uniform(0, 0.3)) for t in targets]
    runs = tmp_path / "killed" / "runs"
    tally = run_with_kills(
        command("killed"),
        kills,
        watch=lambda: sorted(p for p in runs.glob("*-*") if p.is_dir()),
        progress=lambda: finished_jobs(runs),
    )
    assert tally.kills == count and tally.finished_redone == 0

    def rows(name):
        path = tmp_path / name / "results" / "gap" / "faults" / "results.csv"
        with open(path, newline="") as f:
            return [{k: v for k, v in r.items() if k not in UNEQUAL} for r in csv.DictReader(f)]

    assert rows("killed") == rows("whole")
    for folder in (tmp_path / "whole" / "runs").glob("*-*"):
        weights = folder / "model" / "model.safetensors"
        if weights.is_file():
            assert same_weights(weights, runs / folder.name / "model" / "model.safetensors")
    return tally


def test_a_parallel_study_survives_a_kill(data_dir, cache_dir, tmp_path):
    report("study --jobs 2 (fast)", _study_faults(data_dir, cache_dir, tmp_path, 1, jobs=2))


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_study_survives_many_kills(data_dir, cache_dir, tmp_path, jobs):
    start = time.perf_counter()
    tally = _study_faults(data_dir, cache_dir, tmp_path, 4, jobs=jobs)
    report(f"study --jobs {jobs} ({time.perf_counter() - start:.0f} s)", tally)


# --- write failures (in this process: the write is made to fail) -----------------------------


def _cli(capsys, argv):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_a_full_disk_stops_the_run_and_keeps_the_last_checkpoint(
    capsys, monkeypatch, data_dir, cache_dir, config_file, tmp_path
):
    import tinylm.train.checkpoint as checkpoint

    whole = tmp_path / "whole"
    assert _cli(capsys, _pretrain_argv(data_dir, cache_dir, config_file, whole))[0] == 0
    original, writes = checkpoint.save_file, []

    def full_disk(tensors, path, *args, **kwargs):
        writes.append(path)
        if len(writes) == 2:  # the second checkpoint's optimizer file: half written, then full
            Path(path).write_bytes(b"\0" * 100)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        original(tensors, path, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "save_file", full_disk)
    out = tmp_path / "run"
    code, err = _cli(capsys, _pretrain_argv(data_dir, cache_dir, config_file, out))
    assert code == 2 and "Traceback" not in err
    assert "cannot write checkpoint" in err and "step-00000008: No space left on device" in err
    assert "step-00000004 is intact and --resume goes on from it" in err
    assert [p.name for p in list_checkpoints(out)] == ["step-00000004"]
    assert check_checkpoints(out) == 1  # and it loads
    assert not (out / "model").exists() and not (out / "summary.json").exists()
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-00000004"]  # no temp

    monkeypatch.setattr(checkpoint, "save_file", original)  # space was freed
    code, err = _cli(capsys, [*_pretrain_argv(data_dir, cache_dir, config_file, out), "--resume"])
    assert code == 0, err
    assert same_weights(whole / "model/model.safetensors", out / "model/model.safetensors")


def test_a_read_only_folder_stops_the_final_write_with_a_message(
    capsys, monkeypatch, data_dir, cache_dir, config_file, tmp_path
):
    import tinylm.model.bert as bert

    original, out = bert.save_file, tmp_path / "run"

    def read_only(tensors, path, *args, **kwargs):
        if Path(path).parent == out / "model":  # the final model, not a checkpoint's
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        original(tensors, path, *args, **kwargs)

    monkeypatch.setattr(bert, "save_file", read_only)
    code, err = _cli(capsys, _pretrain_argv(data_dir, cache_dir, config_file, out))
    assert code == 2 and "Traceback" not in err
    assert f"cannot write {out / 'model'}" in err and "Read-only file system" in err
    assert [p.name for p in list_checkpoints(out)] == ["step-00000020", "step-00000024"]
    assert check_checkpoints(out) == 2 and not (out / "summary.json").exists()

    monkeypatch.setattr(bert, "save_file", original)
    code, err = _cli(capsys, [*_pretrain_argv(data_dir, cache_dir, config_file, out), "--resume"])
    assert code == 0, err
    assert (out / "summary.json").is_file() and (out / "model/model.safetensors").is_file()


def test_a_failed_results_write_loses_no_job(capsys, monkeypatch, data_dir, cache_dir, tmp_path):
    import tinylm.study.runner as runner

    preset = tmp_path / "faults.yaml"
    preset.write_text(yaml.safe_dump({**STUDY_PRESET, "tasks": ["agnews"], "seeds": 1}))
    argv = ["study", "gap", "--preset", preset, "--runs", tmp_path / "runs"]
    argv += ["--out", tmp_path / "results", "--data-dir", data_dir, "--cache-dir", cache_dir]
    original = runner.write_rows

    def full_disk(path, *_):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(runner, "write_rows", full_disk)
    code, err = _cli(capsys, argv)
    assert code == 2 and "Traceback" not in err
    assert "results.csv: No space left on device" in err
    done = finished_jobs(tmp_path / "runs")
    assert done == 4  # pre-training, two fine-tunings and the tf-idf baseline, all kept

    monkeypatch.setattr(runner, "write_rows", original)
    calls = count_executions(monkeypatch)
    assert _cli(capsys, argv)[0] == 0
    assert calls == [] and (tmp_path / "results/gap/faults/results.csv").is_file()


def test_only_tinylm_temporaries_are_removed(tmp_path):
    from tinylm.train.checkpoint import remove_temporaries

    run = tmp_path / "run"
    for name in (".git/HEAD", ".env", "checkpoints/.step-00000004.77.0a1b2c3d.tmp/state.json"):
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("x")
    (run / ".config.yaml.123.ab12cd34.tmp").write_text("half")
    (run / "model").mkdir()
    (run / "model/.model.safetensors.9.cd34ef56.tmp").write_text("half")
    (run / "checkpoints/.removed-step-00000002").mkdir()
    remove_temporaries(run)
    left = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    assert left == [".env", ".git", ".git/HEAD", "checkpoints", "model"]
