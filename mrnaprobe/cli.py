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


def lock_models(args) -> None:
    """`mrnaprobe models lock`: the commit of every hub model of a config into a lock file."""
    from pathlib import Path

    import yaml

    from mrnaprobe.lock import write_lock
    from mrnaprobe.models import resolve_models

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load(Path(args.configfile).read_text()) or {}
    if "models" not in config:
        raise MrnaProbeError(f"{args.configfile}: no `models:` to lock")
    catalog = config.get("model_catalog") or root / "config" / "models.yaml"
    specs = resolve_models(config["models"], catalog, root / "workflow/schemas/config.schema.yaml")
    cache = args.model_cache or config.get("model_cache")
    for name, entry in write_lock(args.out, specs, cache).items():
        print(f"{name}\t{entry['source']}\t{entry['revision']}")
    print(f"wrote {args.out}; run with --config model_lock={args.out}", file=sys.stderr)


def main(argv=None) -> None:
    """`mrnaprobe --version`, `mrnaprobe models lock`; the workflow runs with `snakemake`."""
    parser = argparse.ArgumentParser(prog="mrnaprobe", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command")
    models = commands.add_parser("models", help="model catalog commands")
    lock = models.add_subparsers(dest="action", required=True).add_parser(
        "lock", help="write the commit sha of every hub model of a config to a lock file"
    )
    lock.add_argument("--configfile", default="config/config.yaml")
    lock.add_argument("--out", default="models.lock.yaml")
    lock.add_argument("--model-cache", help="Hugging Face cache (default: the config's)")
    args = parser.parse_args(argv)
    if args.command != "models":
        parser.print_help()
        return
    try:
        lock_models(args)
    except MrnaProbeError as err:
        sys.exit(f"mrnaprobe: error: {err}")
