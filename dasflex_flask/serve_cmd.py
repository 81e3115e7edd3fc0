"""``dasflex serve``: run the Flask app under gunicorn and print its URL.

Registered with the ``dasflex`` command through the ``dasflex.commands``
entry-point group (see ``pyproject.toml``).  Every problem found before
gunicorn runs is one line on stderr: a bad option (exit status 2), a port in
use or a bad definition (exit status 1).  The work is done by
:mod:`dasflex_flask.master`, imported when the command runs, so that
``dasflex`` itself starts without Flask or gunicorn.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dasflex_core.cli.common import (
    EXIT_USAGE,
    add_cache_dir_option,
    add_config_option,
    add_port_option,
    add_redis_option,
    add_site_option,
    at_least_one_problem,
    fail,
    listen_problem,
    port_problem,
)
from dasflex_core.errors import DasFlexError

if TYPE_CHECKING:
    from flask import Flask

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve", help="serve das2, das3 and HAPI over HTTP (gunicorn)",
        description="Serve a site over HTTP with gunicorn.")
    add_site_option(parser)
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    add_port_option(parser, DEFAULT_PORT)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    add_config_option(parser)
    add_redis_option(parser)
    add_cache_dir_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load settings and the site, then run gunicorn until it is stopped."""
    problem = (port_problem(args.port) or at_least_one_problem("--workers", args.workers)
               or at_least_one_problem("--threads", args.threads))
    if problem:
        return fail("serve", problem, EXIT_USAGE)
    from dasflex_flask import master

    try:
        app = build_app(args)
    except DasFlexError as error:
        return fail("serve", error)
    try:
        listener = master.bind_listener(args.host, args.port)
    except OSError as error:
        return fail("serve", listen_problem(args.host, args.port, error))
    master.serve(app, listener, workers=args.workers, threads=args.threads)
    return 0


def build_app(args: argparse.Namespace) -> Flask:
    """The app ``dasflex serve ARGS`` serves (settings and site loaded and checked)."""
    from dasflex_flask import master

    return master.build_app(_path(args.config), settings_overrides(args),
                            f"http://{args.host}:{args.port}")


def settings_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Settings given on the command line (only those given)."""
    overrides: dict[str, Any] = {}
    if args.site:
        overrides["site_dir"] = Path(args.site).resolve()
    if args.redis is not None:
        overrides["redis_url"] = args.redis
    if args.cache_dir is not None:
        overrides["cache_dir"] = Path(args.cache_dir).resolve()
    return overrides


def _path(text: str | Path | None) -> Path | None:
    return Path(text) if text else None
