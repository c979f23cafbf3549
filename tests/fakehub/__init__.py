"""An offline Hugging Face hub of tiny real models: one builder per catalog family.

Each builder writes a random-init model of the family's real architecture (its real config
class and modelling code, shrunk to a few layers), its real tokenizer files and, where the
hub repository runs remote code, that code (vendored under `code/<family>/`, see its
README) into a snapshot folder. `build_hub` lays these out as a Hugging Face cache
(`models--ORG--NAME/snapshots/<sha>/` + `refs/main`) under the catalog's hub ids, so that
models load through the real `from_pretrained(hub_id, revision=...)` path with
`HF_HUB_OFFLINE=1`. Tests use the `fakehub` fixture (tests/conftest.py); benchmarks and the
GPU check use `python -m tests.fakehub CACHE_DIR [FAMILY ...]`.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "config" / "models.yaml"
SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Family:
    """A catalog family: its hub ids, the builder of one snapshot, and the GPU kernel (if
    any) that stops it on CPU."""

    name: str
    hub_ids: tuple[str, ...]
    builder: Callable[[Path, str], None]
    gpu_kernel: str | None = None


FAMILIES: dict[str, Family] = {}


def family(name: str, *hub_ids: str, gpu_kernel: str | None = None):
    """Decorator registering builder(folder: Path, hub_id: str) -> None, which writes a tiny
    random-init model of the real architecture (config, weights as safetensors, tokenizer
    files, remote code files) into `folder` (a snapshot dir). gpu_kernel: why it only runs
    up to a GPU kernel on CPU (e.g. 'mamba-ssm selective scan'), None when it runs on CPU."""

    def wrap(builder):
        if name in FAMILIES:
            raise ValueError(f"fakehub family {name!r} registered twice")
        FAMILIES[name] = Family(name, tuple(hub_ids), builder, gpu_kernel)
        return builder

    return wrap


def pinned_revisions(catalog: Path = CATALOG) -> dict[str, set[str]]:
    """hub id -> the commit shas that catalog entries pin for it."""
    models = yaml.safe_load(catalog.read_text())["models"]
    pins: dict[str, set[str]] = {}
    for entry in models.values():
        revision = str(entry.get("revision", "main"))
        if entry.get("source") and SHA.match(revision):
            pins.setdefault(entry["source"], set()).add(revision)
    return pins


def content_sha(folder: Path) -> str:
    """sha1 of a folder's relative paths and file contents (stands in for a commit sha)."""
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_snapshot(builder, hub_id: str, folder: Path) -> None:
    """Run one builder with torch seeded from the hub id (same weights on every build, in
    whatever order and company the families are built)."""
    import torch
    from transformers.utils import logging as hf_logging

    # multimolecule's first import draws from torch's global generator: imported inside the
    # seeded block, it gave the first multimolecule family of a process other weights
    with contextlib.suppress(ImportError):
        import multimolecule  # noqa: F401

    hf_logging.disable_progress_bar()
    folder.mkdir(parents=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(zlib.crc32(hub_id.encode()))
        builder(folder, hub_id)


def build_hub(cache: Path, families=None) -> dict[str, str]:
    """Write a Hugging Face hub cache (models--ORG--NAME/snapshots/<sha>/ + refs/main, and
    refs for the catalog's pinned revision where one is set) for every hub id of the given
    families; deterministic content and sha (e.g. sha1 of the files); returns hub_id -> sha.

    A hub id whose catalog entry pins a commit gets its snapshot under that sha (what
    `from_pretrained(revision=<sha>)` looks up offline), and refs/main points to it too.
    """
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    pins = pinned_revisions()
    shas = {}
    for name in FAMILIES if families is None else families:
        fam = FAMILIES[name]
        for hub_id in fam.hub_ids:
            repo = cache / ("models--" + hub_id.replace("/", "--"))
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                staged = Path(tmp) / "snapshot"
                build_snapshot(fam.builder, hub_id, staged)
                sha = content_sha(staged)
                revisions = sorted(pins.get(hub_id, ())) or [sha]
                for revision in revisions:
                    target = repo / "snapshots" / revision
                    if target.exists():
                        shutil.rmtree(target)
                    shutil.copytree(staged, target)
            (repo / "refs").mkdir(parents=True, exist_ok=True)
            (repo / "refs" / "main").write_text(revisions[0])
            shas[hub_id] = revisions[0]
    return shas


from tests.fakehub import native, remote  # noqa: E402,F401  (register their families)
