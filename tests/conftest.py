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


@pytest.fixture(scope="session")
def fakehub(tmp_path_factory) -> Path:
    """An offline hub cache of tiny real models (tests/fakehub), built once per session;
    HF_HUB_CACHE/HF_HOME point at it and the hub is offline for the rest of the session
    (environment for subprocesses, huggingface_hub's constants for this process)."""
    import huggingface_hub.constants as hub_constants

    from tests.fakehub import build_hub

    home = tmp_path_factory.mktemp("fakehub")
    cache = home / "hub"
    build_hub(cache)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "HF_HOME": str(home),
            "HF_HUB_CACHE": str(cache),
            "HF_MODULES_CACHE": str(home / "modules"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }.items():
            patch.setenv(name, value)
        patch.setattr(hub_constants, "HF_HOME", str(home))
        patch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
        patch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
        yield cache
