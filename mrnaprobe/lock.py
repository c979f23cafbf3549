"""Model lock: the commit sha each hub model of a config resolves to, written once
(`mrnaprobe models lock`) and honoured by later runs (config `model_lock:`), so that a sweep
months later loads the same weights even where the catalog says `revision: main`.

Plain Python and huggingface_hub: no torch, nothing loaded (Snakemake reads the lock while
planning).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mrnaprobe import MrnaProbeError
from mrnaprobe.models import BUILT_KINDS, FEATURE_KINDS

COMMIT = re.compile(r"^[0-9a-f]{40}$")


def hub_models(specs: dict[str, dict]) -> dict[str, dict]:
    """The specs whose weights come from the Hugging Face hub (not baselines, not built by
    the workflow, not a local folder)."""
    return {
        name: spec
        for name, spec in specs.items()
        if spec["kind"] not in FEATURE_KINDS + BUILT_KINDS and not Path(spec["source"]).exists()
    }


def resolve_revision(source: str, revision: str | None, cache_dir=None) -> str:
    """The commit sha `revision` of hub repo `source` points to: itself when a sha; offline
    (HF_HUB_OFFLINE) the cache's refs; else the hub's answer."""
    from huggingface_hub import HfApi, constants

    revision = revision or "main"
    if COMMIT.match(revision):
        return revision
    if constants.HF_HUB_OFFLINE:
        cache = Path(cache_dir or constants.HF_HUB_CACHE)
        ref = cache / f"models--{source.replace('/', '--')}" / "refs" / revision
        if not ref.is_file():
            raise MrnaProbeError(
                f"model {source}: revision {revision!r} is not in the hub cache {cache} "
                "(offline); download it first or lock online"
            )
        return ref.read_text().strip()
    try:
        return HfApi().model_info(source, revision=revision).sha
    except Exception as err:  # noqa: BLE001 (network, auth, missing repo: one line)
        raise MrnaProbeError(
            f"model {source}: cannot resolve revision {revision!r}: {err}"
        ) from err


def lock_entries(specs: dict[str, dict], cache_dir=None) -> dict[str, dict]:
    """name -> {source, revision: commit sha} for every hub model of `specs`."""
    return {
        name: {"source": spec["source"],
               "revision": resolve_revision(spec["source"], spec.get("revision"), cache_dir)}
        for name, spec in hub_models(specs).items()
    }  # fmt: skip


def write_lock(path, specs: dict[str, dict], cache_dir=None) -> dict[str, dict]:
    """Write the lock file of `specs` (YAML `models: {name: {source, revision}}`)."""
    entries = lock_entries(specs, cache_dir)
    header = (
        "# mrnaprobe model lock: the commit each hub model resolved to (mrnaprobe models lock)\n"
    )
    Path(path).write_text(header + yaml.safe_dump({"models": entries}, sort_keys=True))
    return entries


def apply_lock(specs: dict[str, dict], path) -> dict[str, dict]:
    """Specs with the locked commit as `revision` for every hub model the lock names. A
    locked model whose source changed, or a hub model the lock lacks, stops in one line."""
    path = Path(path)
    if not path.is_file():
        raise MrnaProbeError(f"config key model_lock: {path} not found")
    locked = (yaml.safe_load(path.read_text()) or {}).get("models") or {}
    out = dict(specs)
    for name, spec in hub_models(specs).items():
        entry = locked.get(name)
        if entry is None:
            raise MrnaProbeError(
                f"config key model_lock: {path} has no entry for model {name} "
                "(run `mrnaprobe models lock` again)"
            )
        if entry.get("source") != spec["source"] or not COMMIT.match(str(entry.get("revision"))):
            raise MrnaProbeError(
                f"config key model_lock: {path}: model {name} is locked to "
                f"{entry.get('source')}@{entry.get('revision')}, the config names {spec['source']}"
            )
        out[name] = {**spec, "revision": entry["revision"]}
    return out
