"""The ``dasflex`` command.

Each subcommand lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``run`` as the
handler.  Handlers import what they need lazily so that ``dasflex`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules (in this package) that provide subcommands, in --help order.
SUBCOMMAND_MODULES = (
    "inspect_cmd",
    "time_cmd",
    "check_cmd",
    "plan_cmd",
    "serve_cmd",
    "ws_cmd",
    "passwd_cmd",
    "verify_cmd",
    "coverage_cmd",
    "import_cmd",
    "import_hapi_cmd",
    "import_das2_cmd",
    "cache_cmd",
    "worker_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="dasflex",
        description="dasflex: a das2, das3 and HAPI data server and its tools.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dasflex`` command line; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
