"""``dasflex cache``: build cache blocks ahead of requests, and show what the cache holds."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from dasflex_core.cache.layout import BLOCK_SUFFIX, level_subdir, normalise_params, paramset_name
from dasflex_core.cache.store import CacheIndex
from dasflex_core.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    add_cache_dir_option,
    add_command,
    add_config_option,
    add_json_option,
    add_redis_option,
    add_site_option,
    add_timeout_option,
    fail,
    one_line_errors,
)
from dasflex_core.errors import NotFoundError, QueryError
from dasflex_core.jobs import make_queue
from dasflex_core.jobs.progress import ProgressBar
from dasflex_core.remote.policy import export_policy
from dasflex_core.settings import Settings, load_settings
from dasflex_core.sources.loader import load_site

#: Exit statuses: all built, some failed (EXIT_FAILED), bad usage or configuration (EXIT_USAGE).
EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``cache`` subcommand and its ``build`` and ``status`` actions."""
    parser = add_command(
        subparsers, "cache",
        description="Pre-build a source's cache blocks, or show what the cache and the job "
                    "queue hold.  The cache directory is --cache-dir, else DASFLEX_CACHE_DIR; "
                    "Redis mode is --redis, else DASFLEX_REDIS_URL.",
    )
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION")
    _register_build(actions)
    _register_status(actions)
    parser.set_defaults(run=_usage(parser))


def _common_options(parser: argparse.ArgumentParser) -> None:
    add_site_option(parser)
    add_cache_dir_option(parser)
    add_redis_option(parser, "build in this process")
    add_config_option(parser)


def _register_build(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "build",
        help="build the missing blocks of a source over a time range",
        description="Queue the missing cache blocks of SOURCE from --from to --to and wait for "
                    "them, with a progress bar on stderr.  Without Redis this command builds "
                    "them itself; with Redis, `dasflex worker` processes do.  Exit status: 0 "
                    "when every block is built, 1 when some failed (one line each), 2 for bad "
                    "usage or an unreachable queue.",
    )
    parser.add_argument("source", metavar="SOURCE", help="source id, e.g. Examples/Spectra")
    parser.add_argument("--from", dest="begin", required=True, metavar="T", help="begin time")
    parser.add_argument("--to", dest="end", required=True, metavar="T", help="end time")
    parser.add_argument("--levels", default=None, metavar="KEY,...",
                        help="cache level keys to build, comma-separated (default: all)")
    parser.add_argument("--params", default="", metavar="P",
                        help="reader parameters of the levels to build (default: none)")
    parser.add_argument("--no-wait", action="store_true",
                        help="queue the jobs and exit without waiting (Redis mode only)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="build threads without Redis (default: the job_workers setting)")
    add_timeout_option(parser, "stop waiting after this many seconds (default: no limit)")
    _common_options(parser)
    parser.set_defaults(run=run_build)


def _register_status(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "status",
        help="count the built blocks per source and level, and show the job queue",
        description="Count the block files of every cached source per level, and show the "
                    "job queue's counts (Redis mode) or that jobs run embedded.",
    )
    add_json_option(parser)
    _common_options(parser)
    parser.set_defaults(run=run_status)


def _usage(parser: argparse.ArgumentParser) -> Any:
    def run(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    return run


def _fail(message: str) -> int:
    return fail("cache", message, EXIT_USAGE)


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides: dict[str, Any] = dict(extra)
    if args.site is not None:
        overrides["site_dir"] = args.site.resolve()
    if args.cache_dir is not None:
        overrides["cache_dir"] = args.cache_dir.resolve()
    if args.redis is not None:
        overrides["redis_url"] = args.redis
    return load_settings(args.config, **overrides)


# ---------------------------------------------------------------------- build


@one_line_errors("cache", EXIT_USAGE)
def run_build(args: argparse.Namespace) -> int:
    """Queue (and wait for) the missing blocks; 0 all built, 1 failures, 2 usage."""
    extra = {} if args.workers is None else {"job_workers": args.workers}
    settings = _settings(args, **extra)
    if settings.cache_dir is None:
        return _fail("no cache directory: give --cache-dir or set DASFLEX_CACHE_DIR")
    if args.no_wait and not settings.redis_url:
        return _fail("--no-wait needs a shared queue (--redis or DASFLEX_REDIS_URL): "
                     "without one this command builds the blocks itself")
    return _build(args, settings)


def _build(args: argparse.Namespace, settings: Settings) -> int:
    _quiet_job_log()
    export_policy(settings)  # remote sources' blocks are fetched under the same limits
    site = load_site(settings.site_dir)
    source = _cached_source(site, args.source)
    index = CacheIndex(settings.cache_dir or Path(), site)
    levels = [key.strip() for key in args.levels.split(",") if key.strip()] if args.levels else None
    jobs = index.blocks_for(source, args.begin, args.end, levels=levels,
                            paramset=args.params.strip() or "_noparam")
    missing = index.missing(jobs)
    print(f"{source.id}: {len(jobs)} blocks, {len(jobs) - len(missing)} already built, "
          f"{len(missing)} to build", file=sys.stderr)
    if not missing:
        return EXIT_OK
    queue = make_queue(settings, site)
    try:
        queue.check()
        queued = queue.submit(missing, retry_failed=True)
        if args.no_wait:
            print(f"queued {queued} jobs on '{settings.job_queue}' "
                  f"({len(missing) - queued} already queued or running)", file=sys.stderr)
            return EXIT_OK
        return _wait(queue, missing, args.timeout)
    finally:
        queue.close()


def _quiet_job_log() -> None:
    """This command reports each failure itself: keep the queue's warnings off stderr."""
    logging.getLogger("dasflex.jobs").addHandler(logging.NullHandler())


def _cached_source(site: Any, source_id: str) -> Any:
    source = site.get(source_id)
    if source is None:
        raise NotFoundError(f"no data source '{source_id}' in the site")
    if not source.cache_levels:
        raise QueryError(f"source {source.id} has no cache levels")
    return source


def _wait(queue: Any, jobs: list[Any], timeout: float | None) -> int:
    bar = ProgressBar("blocks")
    try:
        result = queue.wait(jobs, progress=bar, timeout=timeout)
    finally:
        bar.finish()
    for key, message in sorted(result.failures.items()):
        print(f"dasflex cache: block {key} failed: {message}", file=sys.stderr)
    if result.pending:
        print(f"dasflex cache: {result.pending} blocks not done after {timeout:g} s",
              file=sys.stderr)
    print(f"{result.finished} built, {len(result.failures)} failed, {result.pending} pending",
          file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


# ---------------------------------------------------------------------- status


@one_line_errors("cache", EXIT_USAGE)
def run_status(args: argparse.Namespace) -> int:
    """Print the blocks per source and level and the queue's counts."""
    settings = _settings(args)
    if settings.cache_dir is None:
        return _fail("no cache directory: give --cache-dir or set DASFLEX_CACHE_DIR")
    report = _status(settings)
    if args.json:
        print(json.dumps(report, indent=1))
        return EXIT_OK
    for row in report["levels"]:
        print(f"{row['source']}  level {row['level']} ({row['resolution']}, {row['block']}): "
              f"{row['blocks']} blocks")
    queue = report["queue"]
    if queue["mode"] == "redis":
        state = "up" if queue["available"] else "unreachable"
        print(f"queue '{queue['queue']}' (Redis, {state}): {queue['queued']} queued, "
              f"{queue['running']} running, {queue['finished']} finished, {queue['failed']} "
              f"failed, {queue['workers']} workers")
    else:
        print("queue: embedded (each server process builds its own blocks)")
    return EXIT_OK


def _status(settings: Settings) -> dict[str, Any]:
    site = load_site(settings.site_dir)
    levels = [row for source in site for row in _level_rows(settings.cache_dir or Path(), source)]
    if settings.redis_url:
        queue = make_queue(settings, site)
        try:
            queue_report = queue.status(recent=0).to_json()
        finally:
            queue.close()
    else:
        queue_report = {"mode": "embedded"}
    return {"levels": levels, "queue": queue_report}


def _level_rows(cache_dir: Path, source: Any) -> list[dict[str, Any]]:
    rows = []
    for level in source.cache_levels:
        folder = (CacheIndex(cache_dir).source_dir(source.id)
                  / paramset_name(normalise_params(level.params))
                  / level_subdir(level.resolution_text))
        count = sum(1 for _ in folder.rglob(f"*{BLOCK_SUFFIX}")) if folder.is_dir() else 0
        rows.append({"source": source.id, "level": level.key,
                     "resolution": level.resolution_text, "block": level.block,
                     "params": level.params, "blocks": count})
    return rows
