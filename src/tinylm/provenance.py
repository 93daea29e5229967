"""Which code and machine produced a figure: the git commit of the tinylm checkout (when there
is one) and the CPU."""

import platform
import subprocess
from pathlib import Path


def git_commit() -> str | None:
    """The commit of the checkout tinylm runs from (with -dirty when it has uncommitted
    changes), or None outside a git checkout (an installed wheel)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=10"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def cpu_name() -> str:
    """The CPU's model name (Linux), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
