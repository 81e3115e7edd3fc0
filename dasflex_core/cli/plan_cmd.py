"""``dasflex plan``: show the pipeline a request would run, as JSON.

``dasflex plan [--site DIR] [--cache-dir DIR] SOURCE_ID key=value ...
[--convention das2|flex|hapi]`` prints ``{"stages": [[argv...], ...], "mime": ...,
"disposition": ..., "filename": ...}``, plus ``"cache": {"level": KEY|null,
"gaps": N}`` when the request could be served from a cache level (the level
read, and how many blocks of the preferred level are missing).  Nothing is
run.  A ``_commands.json`` at the root of the site adds to (or replaces) the
built-in commands.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dasflex_core import keys
from dasflex_core.cli.common import (
    add_cache_dir_option,
    add_command,
    add_site_option,
    configured_site_dir,
    one_line_errors,
)
from dasflex_core.errors import QueryError
from dasflex_core.planner import plan, planner_for_site
from dasflex_core.settings import load_settings
from dasflex_core.sources.loader import load_site


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``plan`` subcommand."""
    parser = add_command(
        subparsers, "plan",
        description="Plan a request without running it and print the plan as JSON.",
    )
    parser.add_argument("source_id", metavar="SOURCE_ID", help="e.g. Examples/Random")
    parser.add_argument("settings", nargs="*", metavar="KEY=VALUE",
                        help="query parameters, e.g. read.time.min=2017-01-01")
    add_site_option(parser)
    parser.add_argument("--convention", choices=keys.CONVENTIONS, default=keys.FLEX,
                        help="query convention of the keys (default: flex)")
    add_cache_dir_option(parser)
    parser.set_defaults(run=run)


@one_line_errors("plan")
def run(args: argparse.Namespace) -> int:
    """Plan and print; problems go to stderr as one line, exit status 1."""
    query = _parse_settings(args.settings)
    cache_dir = args.cache_dir if args.cache_dir is not None else _settings_cache_dir()
    result = plan_request(args.site, args.source_id, query, args.convention, cache_dir)
    print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    return 0


def plan_request(site_dir: Path | None, source_id: str, query: dict[str, str],
                 convention: str, cache_dir: Path | None = None):  # noqa: ANN201 - Plan
    """Load the site (and its command table) and plan one request."""
    site = load_site(site_dir if site_dir is not None else configured_site_dir())
    planner = planner_for_site(site, cache_dir=cache_dir)
    return plan(site, query, convention, source_id=source_id, planner=planner)


def _settings_cache_dir() -> Path | None:
    """The ``cache_dir`` setting, when the settings have one."""
    value = getattr(load_settings(), "cache_dir", None)
    return Path(value) if value else None


def _parse_settings(settings: list[str]) -> dict[str, str]:
    """``key=value`` words into a dict (a repeated key is an error)."""
    query: dict[str, str] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key:
            raise QueryError(f"expected KEY=VALUE, got {setting!r}")
        if key in query:
            raise QueryError(f"query parameter '{key}' given twice")
        query[key] = value
    return query
