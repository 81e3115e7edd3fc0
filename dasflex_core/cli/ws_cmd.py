"""``dasflex ws``: run the websocket daemon for live streams (``dasflex_ws``).

Settings load and the site is checked before the daemon listens, so a bad
definition is one clear line and exit status 1.  The daemon runs in the
foreground (systemd ``Type=exec``), logs to stderr, prints ``dasflex ws
listening on ws://HOST:PORT/PREFIX/`` once ready, writes ``--pid-file`` and
stops cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 52242
DEFAULT_PREFIX = "/dasws"
LOG_LEVELS = ("debug", "info", "warning", "error")


def register(subparsers: Any) -> None:
    """Add the ``ws`` subcommand."""
    parser = subparsers.add_parser(
        "ws", help="serve live streams over websockets (/dasws/<id>/flexRT)",
        description="Run the websocket daemon: each connection to "
                    "PREFIX/<source id>/flexRT?... streams the planned pipeline's output.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to bind, 0 for any free one (default {DEFAULT_PORT})")
    parser.add_argument("--site", metavar="DIR", help="site directory (default: from settings)")
    parser.add_argument("--config", metavar="FILE", help="settings file (TOML)")
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


def run(args: argparse.Namespace) -> int:
    """Load settings and the site, then serve until SIGINT or SIGTERM."""
    import logging

    from dasflex_core.errors import DasFlexError

    if not 0 <= args.port <= 65535 or not args.prefix.startswith("/"):
        print("dasflex ws: --port must be in 0..65535 and --prefix start with '/'",
              file=sys.stderr)
        return 2
    if args.tls_key and not args.tls_cert:
        print("dasflex ws: --tls-key needs --tls-cert", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    # websockets logs every connection at INFO; dasflex.ws logs them with more context.
    logging.getLogger("websockets").setLevel(max(logging.WARNING, logging.root.level))
    try:
        settings, site = _load(args)
        from dasflex_ws.server import Listener, run_daemon
    except DasFlexError as error:
        print(f"dasflex ws: {error}", file=sys.stderr)
        return 1
    except ImportError as error:
        print(f"dasflex ws: the websockets package is needed ({error.name} is missing);"
              " install dasflex[ws]", file=sys.stderr)
        return 1
    listener = Listener(args.host, args.port, args.prefix, _path(args.pid_file),
                        _path(args.tls_cert), _path(args.tls_key))
    try:
        return run_daemon(settings, site, listener, ready=_print_url)
    except DasFlexError as error:
        print(f"dasflex ws: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"dasflex ws: cannot listen on {args.host}:{args.port}: {error.strerror}",
              file=sys.stderr)
        return 1


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from pathlib import Path

    from dasflex_core.settings import load_settings
    from dasflex_core.sources.loader import load_site

    if args.site:
        settings = load_settings(args.config, site_dir=Path(args.site).resolve())
    else:
        settings = load_settings(args.config)
    return settings, load_site(settings.site_dir)


def _path(text: str | None) -> Any:
    from pathlib import Path

    return Path(text).resolve() if text else None


def _print_url(url: str) -> None:
    print(f"dasflex ws listening on {url}", flush=True)
