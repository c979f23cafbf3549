"""Shared fixtures: the real data mirror (../shared/data) and the repository root."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("MRNAPROBE_MIRROR", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    """Folder with the real public datasets (set MRNAPROBE_MIRROR to move it)."""
    if not (MIRROR / "SHA256SUMS").exists():
        pytest.fail(f"real data mirror not found at {MIRROR}; set MRNAPROBE_MIRROR")
    return MIRROR


@pytest.fixture(scope="session")
def default_config() -> dict:
    """The default config, validated with its schema defaults filled in."""
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    return config
