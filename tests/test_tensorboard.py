"""`--tensorboard DIR`: the scalars of metrics.jsonl, in TensorBoard, once per step."""

import json
import sys

import pytest
import yaml

pytest.importorskip("tensorboard")  # the `test` extra installs it
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from datagen import tiny_vocab
from tinylm.cli import main
from tinylm.train.run import RunDir

TINY_ARCH = {"layers": 1, "heads": 2, "hidden": 32, "vocab_size": len(tiny_vocab())}


def _board(folder) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series of a TensorBoard folder: tag -> [(step, value)], as TensorBoard
    shows them (purged steps left out)."""
    events = EventAccumulator(str(folder))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def _metrics(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_pretraining_writes_the_scalars_of_its_metrics(capsys, data_dir, cache_dir, tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({"arch": TINY_ARCH, "corpus": {"ws": 64}}))
    board = tmp_path / "board"
    argv = ["pretrain", "--config", config, "--epochs", 2, "--batch-size", 16, "--log-every", 1]
    argv += ["--val-paragraphs", 16, "--data-dir", data_dir, "--cache-dir", cache_dir]
    argv += ["--out", tmp_path / "runs/pre", "--tensorboard", board, "--quiet"]
    code = main([str(a) for a in argv])
    assert code == 0, capsys.readouterr().err

    records = _metrics(tmp_path / "runs/pre")
    assert [r["step"] for r in records] == list(range(1, 9))  # 4 steps an epoch, each logged
    scalars = _board(board / "pre")  # one sub-folder per run, named after its folder
    expected = {
        name
        for record in records
        for name, value in record.items()
        if name != "step" and isinstance(value, int | float)
    }
    assert {"loss", "lr", "tokens_per_s", "mfu", "epoch", "val_loss"} <= expected
    assert set(scalars) == expected
    for name in expected:
        logged = [(r["step"], float(r[name])) for r in records if name in r]
        assert [step for step, _ in scalars[name]] == [step for step, _ in logged]
        # TensorBoard keeps float32
        assert [value for _, value in scalars[name]] == pytest.approx(
            [value for _, value in logged], rel=1e-6
        )
    config_yaml = yaml.safe_load((tmp_path / "runs/pre/config.yaml").read_text())
    assert config_yaml["impl"]["tensorboard"] == str(board)


def test_a_resumed_run_shows_each_step_once(tmp_path):
    """A run killed after its checkpoint at step 3 wrote steps 4 and 5; the resume writes
    4 to 6 again: TensorBoard and metrics.jsonl hold steps 1 to 6 once, the resume's values."""
    board = tmp_path / "board"
    first = RunDir(tmp_path / "run", resume=False, tensorboard=board)
    first.open_log(0)
    for step in range(1, 6):
        first.log({"step": step, "loss": 10.0 - step, "plateau": False, "note": None})
    first.close_log()
    del first  # the kill: its lock goes with it

    again = RunDir(tmp_path / "run", resume=True, tensorboard=board)
    again.open_log(3)
    for step in range(4, 7):
        again.log({"step": step, "loss": 100.0 + step, "plateau": True, "note": None})
    again.close_log()

    want = [(1, 9.0), (2, 8.0), (3, 7.0), (4, 104.0), (5, 105.0), (6, 106.0)]
    scalars = _board(board / "run")
    assert scalars["loss"] == want
    assert [value for _, value in scalars["plateau"]] == [0, 0, 0, 1, 1, 1]  # true/false: 1/0
    assert "note" not in scalars and "step" not in scalars
    assert [(r["step"], r["loss"]) for r in _metrics(tmp_path / "run")] == want


def test_a_fresh_run_drops_the_lines_of_one_killed_before_its_first_checkpoint(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 5.0}) + "\n")
    fresh = RunDir(run, resume=False)  # no checkpoint, no summary: a new run
    fresh.open_log(0)
    fresh.log({"step": 1, "loss": 4.0})
    assert _metrics(run) == [{"step": 1, "loss": 4.0}]


def test_without_the_package_the_run_stops_before_any_work(
    capsys, data_dir, cache_dir, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    argv = ["pretrain", "--max-steps", 1, "--data-dir", data_dir, "--cache-dir", cache_dir]
    argv += ["--out", tmp_path / "run", "--tensorboard", tmp_path / "board"]
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert "pip install 'tinylm[tensorboard]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists() and not (tmp_path / "board").exists()
