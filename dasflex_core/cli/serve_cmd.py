"""``dasflex serve``: run the Flask app under gunicorn and print its URL.

Settings load and the site is checked before any worker starts, so a bad
definition is one clear line and exit status 1.  Workers are gunicorn
``gthread`` workers: long streams do not trip the worker timeout, and
HTTP/1.0 clients (das2) get close-delimited bodies, never chunked ones.
Pass-through streams are relayed with splice(2) (``dasflex_flask/splice.py``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve", help="serve das2, das3 and HAPI over HTTP (gunicorn)",
        description="Serve a site over HTTP with gunicorn (default: the bundled examples).")
    parser.add_argument("--site", metavar="DIR", help="site directory (default: bundled examples)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to bind, 0 for any free one (default {DEFAULT_PORT})")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--config", metavar="FILE", help="settings file (TOML)")
    parser.add_argument("--redis", metavar="URL",
                        help="Redis server of the shared job queue, e.g. redis://host:6379/0 "
                             "(overrides the redis_url setting)")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="directory of pre-reduced cache blocks (overrides the cache_dir "
                             "setting)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load settings and the site, then run gunicorn until it is stopped."""
    from dasflex_core.errors import DasFlexError

    if args.workers < 1 or args.threads < 1 or not 0 <= args.port <= 65535:
        print("dasflex serve: --workers and --threads must be >= 1 and --port in 0..65535",
              file=sys.stderr)
        return 2
    try:
        app = _build_app(args)
    except DasFlexError as error:
        print(f"dasflex serve: {error}", file=sys.stderr)
        return 1
    _freeze_heap()
    _gunicorn_application(app, _options(args)).run()
    return 0


def _freeze_heap() -> None:
    """Move the loaded app's objects out of the collector's reach before workers fork.

    A collection in a worker would otherwise write to every inherited
    object's header and copy its page, so each worker would soon own a
    private copy of what the master loaded.
    """
    import gc

    gc.collect()
    gc.freeze()


def _build_app(args: argparse.Namespace) -> Any:
    from dasflex_core.settings import load_settings
    from dasflex_core.sources.loader import load_site
    from dasflex_flask import create_app

    checks = _checked_in_child(args)
    settings = load_settings(args.config, checks=checks, **_overrides(args))
    app = create_app(settings, site=load_site(settings.site_dir, checks=checks))
    if settings.hapi_enabled:
        _warm_hapi(app, settings.server_url or f"http://{args.host}:{args.port}")
    return app


def _checked_in_child(args: argparse.Namespace) -> Any:
    """The schema checks of the settings file and the site, done in a forked child.

    The master then loads both trusting those digests, so it never imports
    jsonschema (whose modules every forked worker would carry).  When the
    child fails (a bad file, no fork), the master checks everything itself
    and reports the problem.
    """
    from dasflex_core.settings import load_settings
    from dasflex_core.sources.checks import SchemaChecks
    from dasflex_core.sources.loader import check_schemas

    def check() -> list[str]:
        checks = SchemaChecks()
        settings = load_settings(args.config, checks=checks, **_overrides(args))
        check_schemas(settings.site_dir, checks)
        return sorted(checks.known)

    return SchemaChecks(_built_in_child(check) or ())


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Settings given on the command line (only those given)."""
    from pathlib import Path

    overrides: dict[str, Any] = {}
    if args.site:
        overrides["site_dir"] = Path(args.site).resolve()
    if args.redis is not None:
        overrides["redis_url"] = args.redis
    if args.cache_dir is not None:
        overrides["cache_dir"] = Path(args.cache_dir).resolve()
    return overrides


def _warm_hapi(app: Any, base_url: str) -> None:
    """Build the HAPI infos once, before the workers fork, so that each inherits them.

    They are built in a child process that hands them back as JSON: probing
    a reader's stream imports numpy and the planner imports networkx, and
    neither should stay in the master (every worker would carry its pages).
    Where fork is not available they are built here.
    """
    from dasflex_core.http import Request
    from dasflex_core.protocols import hapi

    server = app.extensions["dasflex"]
    request = Request(base_url=base_url)
    infos = _built_in_child(lambda: hapi.built_infos(server, request))
    if infos is None:
        hapi.warm(server, request)
    else:
        hapi.seed_infos(server, infos)


def _built_in_child(build: Any) -> Any:
    """``build()`` run in a forked child, its JSON result read back; None if that failed."""
    import json
    import os

    if not hasattr(os, "fork"):
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: build, write, leave without running the parent's clean-up
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as out:
                out.write(json.dumps(build()).encode("utf-8"))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    return json.loads(data)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    host = f"[{args.host}]" if ":" in args.host else args.host
    return {
        "bind": f"{host}:{args.port}",
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": args.threads,
        "timeout": 60,
        "graceful_timeout": 5,
        "preload_app": True,
        "control_socket_disable": True,
        "when_ready": _print_url,
    }


def _print_url(arbiter: Any) -> None:
    for listener in arbiter.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"dasflex serving on http://{shown}:{port}/", flush=True)


def _gunicorn_application(app: Any, options: dict[str, Any]) -> Any:
    """A gunicorn application object serving the already-built ``app``."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    return Application()
