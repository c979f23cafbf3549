"""python -m tests.fakehub CACHE_DIR [FAMILY ...]: write the offline hub of tiny models.

Then run with HF_HUB_CACHE=CACHE_DIR HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1.
"""

import argparse
from pathlib import Path

from tests.fakehub import FAMILIES, build_hub


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakehub", description=__doc__)
    parser.add_argument("cache", type=Path, help="hub cache folder to write (HF_HUB_CACHE)")
    parser.add_argument("families", nargs="*", help=f"default: all of {', '.join(FAMILIES)}")
    args = parser.parse_args()
    unknown = sorted(set(args.families) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {unknown}")
    for hub_id, sha in build_hub(args.cache, args.families or None).items():
        print(f"{hub_id}\t{sha}")


if __name__ == "__main__":
    main()
