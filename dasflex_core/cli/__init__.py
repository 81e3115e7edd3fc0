"""The ``dasflex`` command.

Each subcommand NAME lives in its own module ``NAME_cmd`` in this package
and exposes ``register(subparsers)``, which adds its parser and sets ``run``
as the handler; :data:`~dasflex_core.cli.common.COMMANDS` lists them with
their one-line help.  ``dasflex`` imports only the module of the subcommand
it runs (the others are listed by name and help), so each command starts
without the imports of the others; this is the command line's one deliberate
lazy load.  Other packages add subcommands through the entry-point group
:data:`COMMAND_GROUP`: each entry point names a ``register`` function (the
front ends' ``serve`` and ``ws`` come this way, so the core never names a
front end).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Container, Sequence
from importlib.metadata import entry_points

from dasflex_core.cli.common import COMMANDS, command_module

#: Modules (in this package) that provide subcommands, in --help order.
SUBCOMMAND_MODULES = tuple(command_module(name) for name in COMMANDS)

#: Entry-point group of the subcommands other installed packages add.
COMMAND_GROUP = "dasflex.commands"

#: ``register(subparsers)``: adds one subcommand's parser.
Register = Callable[[argparse._SubParsersAction], None]


def build_parser(loaded: Container[str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand.

    The core subcommands named in ``loaded`` (default: all) get their full
    parsers; the others are listed by name and one-line help only, without
    importing their modules.
    """
    parser = argparse.ArgumentParser(
        prog="dasflex",
        description="dasflex: a das2, das3 and HAPI data server and its tools.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if loaded is None or name in loaded:
            importlib.import_module(f"{__name__}.{command_module(name)}").register(subparsers)
        else:
            subparsers.add_parser(name, help=summary)
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
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(loaded=words[:1])
    args = parser.parse_args(words)
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
