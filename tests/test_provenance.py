"""Which commit a figure names: -dirty only for uncommitted changes to the package itself."""

import shutil
import subprocess

import pytest

from tinylm.provenance import git_commit, in_checkout

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def checkout(tmp_path):
    """A checkout shaped like tinylm's: the package under src/, tables under results/."""
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "code.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.md").write_text("| a |\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path, package, git(tmp_path, "rev-parse", "--short=10", "HEAD")


def test_a_clean_checkout_names_its_commit(checkout):
    _, package, head = checkout
    assert git_commit(package) == head


def test_changes_outside_the_package_leave_the_commit_clean(checkout):
    root, package, head = checkout
    (root / "results" / "table.md").write_text("| b |\n")  # a study rewrote its table
    (root / "notes.md").write_text("new\n")  # an untracked file beside the package
    assert git_commit(package) == head


@pytest.mark.parametrize("change", ["edit", "new file"])
def test_changes_to_the_package_mark_it_dirty(checkout, change):
    _, package, head = checkout
    if change == "edit":
        (package / "code.py").write_text("x = 2\n")
    else:
        (package / "more.py").write_text("y = 1\n")
    assert git_commit(package) == f"{head}-dirty"


def test_outside_a_checkout_there_is_no_commit(tmp_path):
    assert git_commit(tmp_path) is None


def test_results_in_the_checkout_are_committed_ones(checkout, tmp_path_factory):
    root, package, _ = checkout
    (root / ".gitignore").write_text("/demo/\n")
    assert in_checkout(root / "results", package)
    assert in_checkout(root / "results" / "gap" / "new", package)  # not there yet: still
    assert not in_checkout(root / "demo" / "results", package)  # ignored by git
    assert not in_checkout(tmp_path_factory.mktemp("elsewhere"), package)


def test_a_study_refuses_to_write_committed_results_from_a_dirty_tree(
    capsys, monkeypatch, tmp_path, data_dir
):
    from tinylm.cli import main, study
    from tinylm.study import results

    dirty = results.Provenance("tinylm study gap", "abc1234567-dirty", "2026-12-07")
    monkeypatch.setattr(results, "provenance", lambda command: dirty)
    monkeypatch.setattr(study, "in_checkout", lambda path: True)
    argv = ["study", "gap", "--preset", "smoke", "--data-dir", str(data_dir)]
    code = main([*argv, "--out", str(tmp_path / "results"), "--runs", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "uncommitted changes: commit them first" in err
    assert "Traceback" not in err and not (tmp_path / "results").exists()
    assert not (tmp_path / "runs").exists()  # refused before any job
