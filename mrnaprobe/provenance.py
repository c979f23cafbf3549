"""Provenance: the code version and small helpers to record where numbers came from."""

import json
import subprocess
from pathlib import Path

from mrnaprobe import __version__


def code_version() -> str:
    """Package version plus the git commit of the checkout it runs from, when there is one."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return __version__
    return f"{__version__}+g{commit}"


def write_json(data: dict, path) -> None:
    """Deterministic JSON (sorted keys, trailing newline)."""
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def read_json(path) -> dict:
    """Parse a JSON file."""
    return json.loads(Path(path).read_text())
