"""mRNABench's whole model list is in the catalog: every mrna-bench 1.3.2 model version
(recorded from its MODEL_VERSION_MAP by scripts/mrnabench/record_model_catalog.py into
tests/fixtures/mrnabench/model_catalog.json) maps, in config/mrnabench_models.yaml, to a
catalog entry that config/paper.yaml embeds, or is left out with its reason in the README."""

import json
import re

import pytest
import yaml

from mrnaprobe.models import BUILT_KINDS, FEATURE_KINDS, resolve_models
from mrnaprobe.tracks import needed_tracks
from tests.conftest import ROOT

RECORDED = json.loads((ROOT / "tests/fixtures/mrnabench/model_catalog.json").read_text())
MAPPING = yaml.safe_load((ROOT / "config/mrnabench_models.yaml").read_text())
CATALOG = ROOT / "config/models.yaml"
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def recorded_versions() -> set[tuple[str, str]]:
    return {(family, version) for family, info in RECORDED["families"].items()
            for version in info["versions"]}  # fmt: skip


def mapped() -> dict[tuple[str, str], str]:
    return {(family, version): entry for family, versions in MAPPING["versions"].items()
            for version, entry in versions.items()}  # fmt: skip


def excluded() -> set[tuple[str, str]]:
    return {(family, version) for family, versions in MAPPING["excluded"].items()
            for version in versions}  # fmt: skip


def test_every_mrnabench_version_has_an_entry_or_an_exclusion():
    assert RECORDED["mrna_bench"] == "1.3.2" and RECORDED["n_versions"] == 68
    entries, left_out = set(mapped()), excluded()
    assert not entries & left_out, sorted(entries & left_out)
    assert entries | left_out == recorded_versions(), (
        f"not mapped: {sorted(recorded_versions() - entries - left_out)}; "
        f"not in mrna-bench: {sorted((entries | left_out) - recorded_versions())}"
    )
    assert len(set(mapped().values())) == len(mapped()), "two versions share one entry"


def test_mapped_entries_resolve_with_parameter_counts_and_are_in_the_paper_config():
    names = sorted(set(mapped().values()))
    specs = resolve_models(names, CATALOG, SCHEMA)
    weighted = [n for n, s in specs.items() if s["kind"] not in FEATURE_KINDS + BUILT_KINDS]
    assert [n for n in weighted if not specs[n].get("params")] == []
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())["models"]
    assert sorted(set(names) - set(paper)) == []


def test_the_track_readers_read_what_mrnabench_gives_them():
    """mRNABench's six-track wrappers: Orthrus large-6-track and naive-6-track stack both
    tracks; mRNA-FM embeds the CDS, the -utronly versions the 5' or 3'UTR."""
    specs = resolve_models(sorted(set(mapped().values())), CATALOG, SCHEMA)
    by_version = {version: specs[entry] for (_, version), entry in mapped().items()}
    for version in ("orthrus-large-6-track", "naive-6-track"):
        assert by_version[version]["tracks"] == ["cds", "splice"]
    assert by_version["mrna-fm"]["input_region"] == "cds"
    for version, spec in by_version.items():
        if version.endswith("-utronly"):
            region = "utr5" if version.startswith("utrlm") else "utr3"
            assert spec["input_region"] == region, version
        elif version not in ("orthrus-large-6-track", "naive-6-track", "mrna-fm"):
            assert needed_tracks(spec) == [], version


@pytest.mark.parametrize("family", sorted(MAPPING["excluded"]))
def test_each_exclusion_has_a_readme_line(family):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### mRNABench's model list", 1)[-1].split("\n## ", 1)[0]
    line = next((row for row in section.splitlines() if row.startswith(f"| {family} |")), None)
    assert line is not None, f"README: no line for {family} under mRNABench's model list"
    assert re.search(r"\|\s*\w.{20,}\|\s*$", line), line  # a reason, not an empty cell
