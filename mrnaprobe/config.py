"""Config validation against the workflow's JSON schema, with one-line errors."""

from pathlib import Path

import jsonschema
import yaml
from snakemake.utils import validate
from snakemake_interface_common.exceptions import WorkflowError

from mrnaprobe import MrnaProbeError
from mrnaprobe.data import config_sources, resolve_source


def check_config(config: dict, schema_path) -> None:
    """Validate in place (schema defaults filled in); raise one line naming the bad key."""
    try:
        validate(config, schema_path, set_default=True)
    except WorkflowError as err:  # re-run the schema only to name the most relevant key
        schema = yaml.safe_load(Path(schema_path).read_text())
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(schema).iter_errors(config)
        )
        key = ".".join(str(part) for part in error.absolute_path) or "<top level>"
        raise MrnaProbeError(f"config key {key}: {error.message}") from err
    check_consistency(config)


def check_consistency(config: dict) -> None:
    """Rules across keys that the schema cannot state, each failure one line naming the key."""
    fractions = config["split_fractions"]
    if abs(sum(fractions) - 1) > 1e-6:
        raise MrnaProbeError(
            f"config key split_fractions: {fractions} sum to {sum(fractions):g}, not 1"
        )
    for name, entry in config["datasets"].items():
        check_homologene(config, name, entry)
        if "given" in entry.get("splits", config["splits"]) and "given_split" not in entry:
            raise MrnaProbeError(
                f"config key datasets.{name}.given_split: the given split needs the column "
                "holding the dataset's own folds and its map to train/val/test"
            )
    for key, source in config_sources(config):
        try:
            resolve_source(source, config["mirror"], config["download_cache"])
        except MrnaProbeError as err:
            raise MrnaProbeError(f"config key {key}: {err}") from err


def check_homologene(config: dict, name: str, entry: dict) -> None:
    """A homologene split needs the dataset's gene column and a gene-group map of its species."""
    if "homologene" not in entry.get("splits", config["splits"]):
        return
    if "gene" not in entry.get("columns", {}):
        raise MrnaProbeError(
            f"config key datasets.{name}.columns.gene: the homologene split needs the gene names"
        )
    species = entry.get("species", "human")
    if species not in (config.get("gene_group_maps") or {}):
        raise MrnaProbeError(
            f"config key gene_group_maps: no map for species {species!r} "
            f"(dataset {name}'s homologene split)"
        )
