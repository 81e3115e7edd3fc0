"""Python modules that commands need (a command table's ``requires`` field).

A command whose modules are not installed gets no edge in the planner's
graph, so a server without pyarrow simply does not offer Parquet; ``dasflex
check`` lists such outputs (:func:`unavailable_outputs`) with the reason
and the install command.  Availability is looked up once per module
with :func:`importlib.util.find_spec`, which does not import the module.

Examples
--------
>>> module_available("json"), module_available("no_such_module_here")
(True, False)
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dasflex_core.model import CommandDef, CommandTable

__all__ = ["UnavailableOutput", "command_available", "missing_modules", "module_available",
           "unavailable_outputs"]


@cache
def module_available(name: str) -> bool:
    """True when the top-level Python module ``name`` can be imported (it is not imported)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def missing_modules(command: CommandDef) -> tuple[str, ...]:
    """The modules ``command`` requires that are not installed."""
    return tuple(module for module in command.requires if not module_available(module))


def command_available(command: CommandDef) -> bool:
    """True when every module ``command`` requires is installed."""
    return not missing_modules(command)


@dataclass(frozen=True, slots=True)
class UnavailableOutput:
    """An output no command can make here (``format``), its commands and the missing modules.

    ``dasflex check`` says so, with the install command
    (:func:`dasflex_core.cli.check_cmd.off_message`).
    """

    format: str
    commands: tuple[str, ...]
    missing: tuple[str, ...]


def unavailable_outputs(table: CommandTable) -> list[UnavailableOutput]:
    """Outputs of ``table`` whose every producing command lacks a module, in table order."""
    found = []
    for stream, stream_format in table.streams.items():
        makers = [command for command in table.commands if command.output == stream]
        if not makers or any(command_available(command) for command in makers):
            continue
        missing = tuple(dict.fromkeys(m for command in makers for m in missing_modules(command)))
        keys = [stream_format.format, stream_format.version, stream_format.style]
        label = "/".join(part for part in keys if part) or str(stream)
        found.append(UnavailableOutput(label, tuple(dict.fromkeys(c.name for c in makers)),
                                       missing))
    return found
