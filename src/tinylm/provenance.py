"""Which code and machine produced a figure: the git commit of the tinylm checkout (when there
is one) and the CPU."""

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
