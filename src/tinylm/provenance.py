"""Which code produced a figure: the git commit of the tinylm checkout, when there is one."""

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
