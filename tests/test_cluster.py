"""`tinylm study --ray`: a real Ray cluster of two nodes on 127.0.0.1 (a head and a worker node,
one CPU each, no dashboard), against local runs of the same study."""

import json
import os
import signal
import threading
import time

import pytest

from studykit import PROVENANCE, tiny_preset
from tinylm.cli import main
from tinylm.config import ImplConfig
from tinylm.lock import LOCK_FILE, in_use
from tinylm.study.engine import Store
from tinylm.study.results import read_rows
from tinylm.study.runner import run_study

# what follows the order jobs finish in: their times, and how many of a sample's test reads the
# ledger holds before each job's own (the arms of one seed read one sample)
TIME_COLUMNS = {"seconds", "pretrain_seconds", "test_reads"}


@pytest.fixture(scope="module")
def ray_cluster():
    """A head node and a worker node, every address 127.0.0.1; yields the head's address."""
    patch = pytest.MonkeyPatch()
    # Ray would swap 127.0.0.1 for this machine's outward address; with "clusters" off it
    # keeps the loopback (set before Ray is imported: its constants are read at import)
    patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    patch.setenv("RAY_AUTH_MODE", "disabled")  # one machine, loopback only
    ray = pytest.importorskip("ray")
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    local = {"node_ip_address": "127.0.0.1", "num_cpus": 1}
    cluster = Cluster(initialize_head=True, head_node_args={**local, "include_dashboard": False})
    worker = cluster.add_node(**local)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        assert [n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]] == ["127.0.0.1"] * 2
        yield {"address": cluster.address, "cluster": cluster, "worker": worker}
    finally:
        ray.shutdown()
        cluster.shutdown()
        patch.undo()


def _rows(path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in read_rows(path)]


@pytest.mark.realdata
def test_smoke_gap_study_on_ray_writes_the_local_results(
    ray_cluster, tmp_path, real_data_dir, real_cache_dir, capsys
):
    common = ["study", "gap", "--preset", "smoke", "--quiet", "--threads", "1"]
    common += ["--data-dir", str(real_data_dir), "--cache-dir", str(real_cache_dir)]
    for name, extra in (("local", []), ("ray", ["--ray", ray_cluster["address"]])):
        argv = [*common, "--out", str(tmp_path / name), "--runs", str(tmp_path / f"runs-{name}")]
        assert main([*argv, *extra]) == 0
    out = capsys.readouterr().out
    # 2 pre-trainings, then 4 fine-tunings and 2 TF-IDF fits on each split (dev, confirm)
    assert "on the Ray cluster" in out and "ray: done 14, running 0, queued 0, failed 0" in out, out
    local = _rows(tmp_path / "local" / "gap" / "smoke" / "results.csv")
    assert local == _rows(tmp_path / "ray" / "gap" / "smoke" / "results.csv")
    workers = set()
    for info in (tmp_path / "runs-ray").glob("*/job.json"):
        (attempt,) = json.loads(info.read_text())["attempts"]
        assert attempt["finished"] and attempt["pid"] != os.getpid()  # on a Ray worker
        workers.add(attempt["pid"])
    assert len(workers) >= 2  # both nodes took jobs


def _store(root, data_dir, cache_dir) -> Store:
    impl = ImplConfig(device="cpu", threads=1)
    return Store(root, data_dir=data_dir, cache_dir=cache_dir, impl=impl, progress=False)


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_resumes_its_pretraining(
    ray_cluster, tmp_path, data_dir, cache_dir
):
    """SIGKILL to the worker process in the middle of a pre-training (after its first
    checkpoint): Ray runs the task again, the job goes on from its checkpoint, and the study
    ends with the results of an uninterrupted local run, no job run twice to the end."""
    preset = tiny_preset(
        tasks=("agnews",), seeds=1, pretrain={"epochs": 40, "lr": 1e-3, "batch_size": 8}
    )
    results = {}
    for name in ("local", "ray"):
        store = _store(tmp_path / f"runs-{name}", data_dir, cache_dir)
        kill = threading.Thread(target=_kill_pretraining_worker, args=(store,), daemon=True)
        if name == "ray":
            kill.start()
        run_study(
            "gap",
            preset,
            out=tmp_path / name,
            store=store,
            provenance=PROVENANCE,
            ray=ray_cluster["address"] if name == "ray" else None,
            echo=lambda *_: None,
        )
        results[name] = _rows(tmp_path / name / "gap" / "tiny" / "results.csv")
    assert results["ray"] == results["local"]
    killed = None
    for info in (tmp_path / "runs-ray").glob("*/job.json"):
        attempts = json.loads(info.read_text())["attempts"]
        assert [a["finished"] for a in attempts].count(True) == 1  # run to the end once
        if len(attempts) > 1:
            killed = info.parent.name
            assert [a["finished"] for a in attempts] == [False, True]
    assert killed is not None and killed.startswith("pretrain-")


def _kill_pretraining_worker(store: Store) -> None:
    """Waits for a pre-training with a checkpoint whose folder a worker holds, then kills
    that worker (its pid is in the lock file)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for folder in store.root.glob("pretrain-*"):
            owner = (folder / LOCK_FILE).read_text().strip() if in_use(folder) else ""
            if owner and list(folder.glob("checkpoints/step-*/state.json")):
                os.kill(int(owner), signal.SIGKILL)
                return
        time.sleep(0.05)
