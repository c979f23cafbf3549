"""Entry points: the wrapper every workflow script runs under, and the `mrnaprobe` command."""

import argparse
import logging
import sys

from threadpoolctl import threadpool_limits

from mrnaprobe import MrnaProbeError, __version__


def run_step(step, snakemake) -> None:
    """Run `step(snakemake)` with logging to the rule's log; user errors end in one line, exit 1.

    That line, `mrnaprobe: error: [<job wildcards>] <message>`, goes to stderr once and to the log.
    """
    log_file = snakemake.log[0] if snakemake.log else None
    stderr = logging.StreamHandler(sys.stderr)
    handlers = [stderr, *([logging.FileHandler(log_file, mode="w")] if log_file else [])]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        handlers=handlers, force=True)  # fmt: skip
    try:
        with threadpool_limits(snakemake.threads):  # BLAS threads = the job's threads
            step(snakemake)
    except MrnaProbeError as err:
        job = " ".join(f"{name}={value}" for name, value in snakemake.wildcards.items())
        message = f"[{job}] {err}" if job else str(err)
        logging.getLogger().removeHandler(stderr)  # stderr gets the plain line below
        if log_file:
            logging.getLogger("mrnaprobe").error("error: %s", message)
        sys.exit(f"mrnaprobe: error: {message}")


def main(argv=None) -> None:
    """`mrnaprobe --version`; the workflow itself runs with `snakemake`."""
    parser = argparse.ArgumentParser(prog="mrnaprobe", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    parser.parse_args(argv)
    parser.print_help()
