"""Which code and machine produced a figure: the git commit of the tinylm checkout (when there
is one), the CPU or GPU, and the PyTorch version."""

import platform
import subprocess
from pathlib import Path

PACKAGE = Path(__file__).parent


def git_commit(package: Path = PACKAGE) -> str | None:
    """The commit of the checkout tinylm runs from, with -dirty when the package's own source
    has uncommitted changes, or None outside a git checkout (an installed wheel).

    Only the package counts: a study writes its tables into the checkout's results/ and a
    session edits docs/ beside a running study, and neither changes what produced a figure."""
    try:
        commit = _git(package, "rev-parse", "--short=10", "HEAD")
        changes = _git(package, "status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return None
    if commit is None or changes is None:
        return None
    return f"{commit}-dirty" if changes else commit


def _git(cwd: Path, *args: str) -> str | None:
    out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=cwd, timeout=10)
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_name() -> str:
    """The CPU's model name (Linux), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_name(device_type: str = "cpu") -> str:
    """The processor a run computes on: the GPU's name for `cuda`, else the CPU's."""
    if device_type == "cuda":
        import torch

        return torch.cuda.get_device_name()
    return cpu_name()


def torch_version() -> str:
    import torch

    return torch.__version__


def in_checkout(path: Path, package: Path = PACKAGE) -> bool:
    """Whether `path` lies in the git checkout tinylm runs from and git does not ignore it:
    where results are committed beside the code that made them."""
    try:
        top = _git(package, "rev-parse", "--show-toplevel")
        if top is None:
            return False
        Path(path).resolve().relative_to(Path(top).resolve())
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(Path(path).resolve())],
            cwd=top,
            capture_output=True,
            timeout=10,
        )
    except (OSError, ValueError, subprocess.SubprocessError):
        return False
    return ignored.returncode == 1  # 0: ignored, 1: not ignored, 128: an error
