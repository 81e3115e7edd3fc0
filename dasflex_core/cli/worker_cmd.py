"""``dasflex worker``: build cache blocks from the shared Redis job queue."""

from __future__ import annotations

import argparse

from dasflex_core.cli.common import (
    EXIT_USAGE,
    add_cache_dir_option,
    add_command,
    add_config_option,
    add_redis_option,
    add_site_option,
    fail,
)
from dasflex_core.errors import DasFlexError
from dasflex_core.jobs import public_error
from dasflex_core.jobs.worker import run_worker
from dasflex_core.remote.policy import export_policy
from dasflex_core.settings import load_settings

#: Exit statuses: stopped normally, lost Redis, bad usage or configuration (EXIT_USAGE).
EXIT_OK, EXIT_LOST = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``worker`` subcommand."""
    parser = add_command(
        subparsers, "worker",
        description="Run an RQ worker on the job queue that front ends and `dasflex cache "
                    "build` fill, building each block into the shared cache directory.  Needs "
                    "Redis (--redis or DASFLEX_REDIS_URL).  Jobs carry the submitter's site and "
                    "cache paths; --site and --cache-dir replace them on machines that mount "
                    "those elsewhere.  Exit status: 0 when stopped (or done with --burst), 1 "
                    "when Redis is lost, 2 for bad usage.",
    )
    add_redis_option(parser)
    parser.add_argument("--queue", default=None, metavar="NAME",
                        help="queue name (default: the job_queue setting, 'dasflex')")
    add_site_option(parser, "site directory on this machine (default: the path in each job)")
    add_cache_dir_option(parser, "cache directory on this machine (default: the path in each job)")
    parser.add_argument("--burst", action="store_true",
                        help="exit when the queue is empty instead of waiting for jobs")
    parser.add_argument("--outage", type=float, default=60.0, metavar="SECONDS",
                        help="stop (exit 1) after Redis has been unreachable this long "
                             "(default 60)")
    parser.add_argument("--name", default=None, metavar="NAME",
                        help="worker name shown in the queue status (default: RQ's)")
    add_config_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Work until stopped; 1 when Redis is lost, 2 without Redis or with bad settings."""
    try:
        overrides = {} if args.redis is None else {"redis_url": args.redis}
        settings = load_settings(args.config, **overrides)
    except DasFlexError as error:
        return fail("worker", str(error), EXIT_USAGE)
    if not settings.redis_url:
        return fail("worker", "needs a Redis server: give --redis URL or set DASFLEX_REDIS_URL "
                     "(without Redis, servers build their blocks themselves)", EXIT_USAGE)
    if args.outage <= 0:
        return fail("worker", "--outage must be positive", EXIT_USAGE)
    for option, path in (("--site", args.site), ("--cache-dir", args.cache_dir)):
        if path is not None and not path.is_dir():
            return fail("worker", f"{option} {path}: no such directory", EXIT_USAGE)

    export_policy(settings)  # remote sources' blocks are fetched under the same limits

    try:
        return run_worker(settings.redis_url, args.queue or settings.job_queue, burst=args.burst,
                          site_dir=args.site.resolve() if args.site else None,
                          cache_dir=args.cache_dir.resolve() if args.cache_dir else None,
                          outage_limit=args.outage, name=args.name)
    except DasFlexError as error:
        return fail("worker", str(error), EXIT_LOST)
    except Exception as error:  # noqa: BLE001 - one line, never a traceback
        return fail("worker", f"stopped: {public_error(error)}", EXIT_LOST)
