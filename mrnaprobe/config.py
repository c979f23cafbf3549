"""Config validation against the workflow's JSON schema, with one-line errors."""

from pathlib import Path

import jsonschema
import yaml
from snakemake.utils import validate

from mrnaprobe import MrnaProbeError


def check_config(config: dict, schema_path) -> None:
    """Validate in place (schema defaults filled in); raise one line naming the bad key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(config)
    )
    if error is not None:
        key = ".".join(str(part) for part in error.absolute_path) or "<top level>"
        raise MrnaProbeError(f"config key {key}: {error.message}")
    validate(config, schema_path, set_default=True)
