"""Entry points: the wrapper every workflow script runs under, and the `mrnaprobe` command."""

import argparse
import logging
import sys

from mrnaprobe import MrnaProbeError, __version__


def run_step(step, snakemake) -> None:
    """Run `step(snakemake)` with logging to the rule's log; user errors end in one line, exit 1."""
    log_file = snakemake.log[0] if snakemake.log else None
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        handlers=handlers, force=True)  # fmt: skip
    try:
        step(snakemake)
    except MrnaProbeError as err:
        logging.getLogger("mrnaprobe").error("error: %s", err)
        print(f"mrnaprobe: error: {err}", file=sys.stderr)
        sys.exit(1)


def main(argv=None) -> None:
    """`mrnaprobe --version`; the workflow itself runs with `snakemake`."""
    parser = argparse.ArgumentParser(prog="mrnaprobe", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    parser.parse_args(argv)
    parser.print_help()
