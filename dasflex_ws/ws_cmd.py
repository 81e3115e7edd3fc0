"""``dasflex ws`` (and ``python -m dasflex_ws``): run the websocket daemon for live streams.

Registered with the ``dasflex`` command through the ``dasflex.commands``
entry-point group (see ``pyproject.toml``).  Settings load and the site is
checked before the daemon listens, so a bad definition is one clear line
and exit status 1; a bad option is one line and exit status 2.  The daemon
runs in the foreground (systemd ``Type=exec``), logs to stderr, prints
``dasflex ws listening on ws://HOST:PORT/PREFIX/`` once ready, writes
``--pid-file`` and stops cleanly on SIGINT or SIGTERM.  ``websockets`` is
imported when the command runs (:mod:`dasflex_ws.server`), so ``dasflex``
itself starts without it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from dasflex_core.cli.common import (
    EXIT_USAGE,
    add_config_option,
    add_port_option,
    add_site_option,
    fail,
    listen_problem,
    one_line_errors,
    port_problem,
)
from dasflex_core.model import Site
from dasflex_core.settings import Settings, load_settings
from dasflex_core.sources.loader import load_site
from dasflex_ws import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_PREFIX

LOG_LEVELS = ("debug", "info", "warning", "error")
_DESCRIPTION = ("Run the websocket daemon: each connection to PREFIX/<source id>/flexRT?... "
                "streams the planned pipeline's output.")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ws`` subcommand."""
    parser = subparsers.add_parser(
        "ws", help="serve live streams over websockets (/dasws/<id>/flexRT)",
        description=_DESCRIPTION)
    add_options(parser)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``dasflex ws``, and its handler."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST})")
    add_port_option(parser, DEFAULT_PORT)
    add_site_option(parser)
    add_config_option(parser)
    parser.add_argument("--pid-file", metavar="FILE", help="write the daemon's process id here")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX,
                        help=f"path prefix of websocket URLs (default {DEFAULT_PREFIX})")
    parser.add_argument("--tls-cert", metavar="FILE",
                        help="serve wss:// with this PEM certificate (chain)")
    parser.add_argument("--tls-key", metavar="FILE",
                        help="private key of --tls-cert (default: in the same file)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                        help="messages logged to stderr (default info)")
    parser.set_defaults(run=run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dasflex_ws [options]``: the same as ``dasflex ws [options]``."""
    parser = argparse.ArgumentParser(prog="python -m dasflex_ws", description=_DESCRIPTION)
    add_options(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


def run(args: argparse.Namespace) -> int:
    """Load settings and the site, then serve until SIGINT or SIGTERM."""
    problem = _option_problem(args)
    if problem:
        return fail("ws", problem, EXIT_USAGE)
    _configure_logging(args.log_level)
    return _serve(args)


def _option_problem(args: argparse.Namespace) -> str | None:
    if not args.prefix.startswith("/"):
        return "--prefix must start with '/'"
    if args.tls_key and not args.tls_cert:
        return "--tls-key needs --tls-cert"
    return port_problem(args.port)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    # websockets logs every connection at INFO; dasflex.ws logs them with more context.
    logging.getLogger("websockets").setLevel(max(logging.WARNING, logging.root.level))


@one_line_errors("ws")
def _serve(args: argparse.Namespace) -> int:
    settings, site = _load(args)
    try:
        from dasflex_ws.server import Listener, run_daemon
    except ImportError as error:
        return fail("ws", f"the websockets package is needed ({error.name} is missing);"
                          " install dasflex[ws]")
    listener = Listener(args.host, args.port, args.prefix, _path(args.pid_file),
                        _path(args.tls_cert), _path(args.tls_key))
    try:
        return run_daemon(settings, site, listener, ready=_print_url)
    except OSError as error:
        return fail("ws", listen_problem(args.host, args.port, error))


def _load(args: argparse.Namespace) -> tuple[Settings, Site]:
    if args.site:
        settings = load_settings(args.config, site_dir=Path(args.site).resolve())
    else:
        settings = load_settings(args.config)
    return settings, load_site(settings.site_dir)


def _path(text: str | None) -> Path | None:
    return Path(text).resolve() if text else None


def _print_url(url: str) -> None:
    print(f"dasflex ws listening on {url}", flush=True)
