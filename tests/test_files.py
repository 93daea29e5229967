"""Atomic writes (tinylm/files.py): whole or absent, ordinary permissions, no leftovers."""

import os
import stat

import pytest

from tinylm.files import atomic_folder, atomic_open, is_temporary, temporary_name, write_json


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_and_folders_get_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        with atomic_folder(tmp_path / "folder") as folder:
            (folder / "inside").write_text("y")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.json") == 0o644  # mkstemp would give 0o600
    assert _mode(tmp_path / "folder") == 0o755  # mkdtemp would give 0o700
    assert (tmp_path / "folder/inside").read_text() == "y"


def test_saved_weights_and_checkpoints_are_readable_by_the_group(tmp_path):
    import torch

    from tinylm.config import TrainConfig
    from tinylm.model import BertForMaskedLM
    from tinylm.model.architectures import get_architecture
    from tinylm.train.checkpoint import save_checkpoint
    from tinylm.train.runtime import build_optimizer

    model = BertForMaskedLM(get_architecture("bert1-c2-k3-d16-a2"))
    optimizer = build_optimizer(model, TrainConfig(), torch.device("cpu"))
    old = os.umask(0o022)
    try:
        model.save_pretrained(tmp_path / "model")  # safetensors' save_file alone gives 0o600
        save_checkpoint(tmp_path / "run", 1, model, optimizer, {})
    finally:
        os.umask(old)
    written = [tmp_path / "model/model.safetensors", *(tmp_path / "run").rglob("*.safetensors")]
    assert len(written) == 3 and {_mode(path) for path in written} == {0o644}


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "table.md"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(path) as f:
        f.write("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.md"]


def test_a_folder_is_replaced_whole_or_kept(tmp_path):
    target = tmp_path / "step-1"
    with atomic_folder(target) as folder:
        (folder / "a").write_text("first")
    with pytest.raises(RuntimeError), atomic_folder(target, replace=True) as folder:
        (folder / "a").write_text("second")
        raise RuntimeError("killed")
    assert (target / "a").read_text() == "first"
    with atomic_folder(target, replace=True) as folder:
        (folder / "a").write_text("third")
    assert (target / "a").read_text() == "third"
    with atomic_folder(target) as folder:  # exists already, not replaced: the first one stays
        (folder / "a").write_text("fourth")
    assert (target / "a").read_text() == "third"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-1"]


def test_temporary_names_are_recognised_and_nothing_else(tmp_path):
    assert is_temporary(temporary_name(tmp_path / "config.yaml").name)
    assert is_temporary(".removed-step-00000004")
    for name in (".git", ".env", "config.yaml", ".config.yaml", "model.tmp"):
        assert not is_temporary(name)
