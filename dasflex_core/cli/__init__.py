"""The ``dasflex`` command.

Each subcommand lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``run`` as the
handler.  Other packages add subcommands through the entry-point group
:data:`COMMAND_GROUP`: each entry point names a ``register`` function (the
front ends' ``serve`` and ``ws`` come this way, so the core never names a
front end).  Handlers import what they need lazily so that ``dasflex`` starts
fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

#: Modules (in this package) that provide subcommands, in --help order.
SUBCOMMAND_MODULES = (
    "inspect_cmd",
    "time_cmd",
    "check_cmd",
    "plan_cmd",
    "passwd_cmd",
    "verify_cmd",
    "coverage_cmd",
    "import_cmd",
    "cache_cmd",
    "worker_cmd",
)

#: Entry-point group of the subcommands other installed packages add.
COMMAND_GROUP = "dasflex.commands"

#: ``register(subparsers)``: adds one subcommand's parser.
Register = Callable[[argparse._SubParsersAction], None]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="dasflex",
        description="dasflex: a das2, das3 and HAPI data server and its tools.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    for register in installed_commands().values():
        register(subparsers)
    return parser


def installed_commands() -> dict[str, Register]:
    """``{name: register}`` of the :data:`COMMAND_GROUP` entry points, by name.

    An entry point whose package cannot be imported (not installed beside
    its metadata) is left out; ``dasflex`` still runs every other command.
    """
    found: dict[str, Register] = {}
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda entry: entry.name):
        if entry.name in found:
            continue
        try:
            found[entry.name] = entry.load()
        except ModuleNotFoundError:
            continue
    return found


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
