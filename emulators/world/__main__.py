"""``python -m emulators.world --path dealer.duckdb --seed 1 --scale small``: write a world and
print its row counts and how long it took."""

import argparse
from pathlib import Path

from . import SCALES, generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.world", description=__doc__)
    parser.add_argument("--path", type=Path, required=True, help="DuckDB file to (re)write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    args = parser.parse_args(argv)
    print(generate(args.path, seed=args.seed, scale=args.scale))


if __name__ == "__main__":
    main()
