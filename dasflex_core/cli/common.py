"""What the ``dasflex`` subcommands share: their common options, site and one-line errors.

Subcommands of this package and of the front ends (``serve``, ``ws``) add
``--site``, ``--config``, ``--json``, ``--timeout``... with these helpers, so
each option reads the same in every ``--help``; a handler decorated with
:func:`one_line_errors` turns a :class:`~dasflex_core.errors.DasFlexError`
into one line on stderr and an exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from dasflex_core.errors import DasFlexError, DefinitionError, QueryError
from dasflex_core.settings import load_settings

#: A subcommand's handler: parsed arguments in, exit status out.
Handler = Callable[[argparse.Namespace], int]

#: Exit status of a command that failed, and of bad usage (argparse's status too).
EXIT_FAILED, EXIT_USAGE = 1, 2

#: The core's subcommands in ``dasflex --help`` order, each with its one-line help.  Subcommand
#: NAME lives in the module :func:`command_module` names (``dasflex_core.cli.NAME_cmd``, hyphens
#: as underscores), which ``dasflex`` imports only when NAME runs (or shows its own --help), so
#: every command starts without the others' imports.
COMMANDS = {
    "inspect": "summarise a das2 or das3 stream as JSON",
    "time": "parse time strings and print ISO, us2000 and TT2000",
    "check": "validate a site's source definitions",
    "plan": "print the pipeline (argv stages, MIME type, file name) a request would run",
    "passwd": "manage the users and groups of protected sources",
    "verify": "run every example range through every output and validate the streams",
    "coverage": "find the intervals where a source has data",
    "import": "import a predecessor dasFlex site",
    "import-hapi": "relay the datasets of a HAPI server",
    "import-das2": "relay the sources of a das2 server",
    "cache": "build cache blocks and show the cache",
    "worker": "build cache blocks from the shared Redis job queue",
}

#: ``--site`` of every subcommand that works on the configured site.
SITE_HELP = "site directory (default: the site_dir setting, else the bundled examples)"
#: ``--config`` of every subcommand that reads the settings file.
CONFIG_HELP = "settings file (TOML; default: DASFLEX_CONFIG)"
#: ``--cache-dir`` of every subcommand that reads or writes the configured cache.
CACHE_DIR_HELP = "directory of cache blocks (default: the cache_dir setting, DASFLEX_CACHE_DIR)"


def command_module(name: str) -> str:
    """The module in ``dasflex_core.cli`` of subcommand ``name`` (``import-hapi``: ``import_hapi_cmd``)."""
    return f"{name.replace('-', '_')}_cmd"


def add_command(subparsers: argparse._SubParsersAction, name: str,
                description: str) -> argparse.ArgumentParser:
    """The parser of the core subcommand ``name``, with its one-line help from COMMANDS."""
    parser: argparse.ArgumentParser = subparsers.add_parser(name, help=COMMANDS[name],
                                                            description=description)
    return parser


def add_site_option(parser: argparse.ArgumentParser, help: str = SITE_HELP,
                    required: bool = False) -> None:
    """``--site DIR`` (a Path, None when not given, unless ``required``)."""
    parser.add_argument("--site", type=Path, default=None, metavar="DIR", help=help,
                        required=required)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` (a Path, None when not given)."""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE", help=CONFIG_HELP)


def add_redis_option(parser: argparse.ArgumentParser, when_unset: str = "") -> None:
    """``--redis URL`` (None when not given); ``when_unset`` says what happens without Redis."""
    default = "the redis_url setting, DASFLEX_REDIS_URL" + (f"; none: {when_unset}"
                                                             if when_unset else "")
    parser.add_argument("--redis", default=None, metavar="URL",
                        help=f"Redis server of the shared job queue, e.g. redis://host:6379/0 "
                             f"(default: {default})")


def add_cache_dir_option(parser: argparse.ArgumentParser, help: str = CACHE_DIR_HELP) -> None:
    """``--cache-dir DIR`` (a Path, None when not given)."""
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR", help=help)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: print the result as JSON."""
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_timeout_option(parser: argparse.ArgumentParser, help: str,
                       default: float | None = None) -> None:
    """``--timeout SECONDS`` (a float; ``help`` says what it bounds and its default)."""
    parser.add_argument("--timeout", type=float, default=default, metavar="SECONDS", help=help)


def add_port_option(parser: argparse.ArgumentParser, default: int) -> None:
    """``--port N`` of a server (checked by :func:`port_problem`)."""
    parser.add_argument("--port", type=int, default=default,
                        help=f"port to bind, 0 for any free one (default {default})")


# ---------------------------------------------------------------- checks


def port_problem(port: int) -> str | None:
    """What is wrong with ``--port``, or None when it is a port number."""
    return None if 0 <= port <= 65535 else f"--port must be in 0..65535, not {port}"


def at_least_one_problem(option: str, value: int) -> str | None:
    """What is wrong with a count option that must be >= 1, or None."""
    return None if value >= 1 else f"{option} must be at least 1, not {value}"


def positive_timeout(timeout: float) -> float:
    """``timeout`` when positive; QueryError naming ``--timeout`` otherwise."""
    if timeout <= 0:
        raise QueryError("--timeout must be positive")
    return timeout


def listen_problem(host: str, port: int, error: OSError) -> str:
    """One line on why a server cannot listen on ``host:port``."""
    if error.errno == errno.EADDRINUSE:
        return f"port {port} is in use; pass --port"
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


# ---------------------------------------------------------------- site


def configured_site_dir() -> Path:
    """The site of the settings (``DASFLEX_SITE_DIR``, the config file, else the examples)."""
    return load_settings().site_dir


def existing_site_dir(site: Path | None) -> Path:
    """``site`` or the configured site; DefinitionError when it is not a directory."""
    site_dir = site if site is not None else configured_site_dir()
    if not Path(site_dir).is_dir():
        raise DefinitionError(str(site_dir), None, "no such site directory")
    return Path(site_dir)


# ---------------------------------------------------------------- errors


def fail(command: str, message: object, status: int = EXIT_FAILED) -> int:
    """Print ``dasflex COMMAND: MESSAGE`` on stderr; return ``status``."""
    print(f"dasflex {command}: {message}", file=sys.stderr)
    return status


def one_line_errors(command: str, status: int = EXIT_FAILED) -> Callable[[Handler], Handler]:
    """Decorate a handler: a DasFlexError it raises is one line on stderr and ``status``."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(args: argparse.Namespace) -> int:
            try:
                return handler(args)
            except DasFlexError as error:
                return fail(command, error, status)

        return run

    return decorate
