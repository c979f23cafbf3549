from snakemake.utils import min_version

from mrnaprobe import MrnaProbeError
from mrnaprobe.config import check_config

min_version("9.0")


# The default run; a --configfile given on the command line replaces it rather than extending it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


try:
    check_config(config, workflow.source_path("workflow/schemas/config.schema.yaml"))
except MrnaProbeError as err:
    sys.exit(f"mrnaprobe: error: {err}")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/homology.smk"
include: "workflow/rules/splits.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/probe.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        REPORT_TARGETS,
