"""The `greet` console script."""

from __future__ import annotations

import argparse

from greet import greeting


def main(argv: list[str] | None = None) -> int:
    """Prints a greeting; `greet --name Ada`."""
    parser = argparse.ArgumentParser(prog="greet", description="Print a greeting.")
    parser.add_argument("--name", default="world", help="who to greet")
    args = parser.parse_args(argv)
    print(greeting(args.name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
