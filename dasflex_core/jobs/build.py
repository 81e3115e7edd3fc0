"""Running one block build for a queue: the default builder, waiting out busy blocks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from dasflex_core.cache.builder import build_block
from dasflex_core.errors import PipelineTimeoutError
from dasflex_core.planner import Planner, planner_for_site

if TYPE_CHECKING:
    from dasflex_core.cache import BlockJob
    from dasflex_core.cache.store import CacheIndex
    from dasflex_core.jobs.base import Builder
    from dasflex_core.model import Site

#: Seconds between two looks at a block another process is building.
BUSY_POLL = 0.2


def default_builder() -> Builder:
    """:func:`dasflex_core.cache.builder.build_block`."""
    return build_block


def site_planner(site: Site, cache_dir: Path | None = None) -> Planner:
    """A planner for builds: the site's command table, no server URL."""
    return planner_for_site(site, "", cache_dir)


def is_built(index: CacheIndex, job: BlockJob) -> bool:
    """Whether ``job``'s block exists; an unreadable cache or unknown level counts as not."""
    try:
        return bool(index.is_built(job))
    except Exception:  # noqa: BLE001 - a status check never fails its caller
        return False


def build_until_done(builder: Builder, site: Site, cache_dir: Path, job: BlockJob, *,
                     planner: Planner | None = None, timeout: float = 3600.0) -> str:
    """Build ``job``'s block; while another process holds it ("busy"), wait for that build.

    ``planner`` plans the block (:meth:`~dasflex_core.planner.Planner.plan_block`;
    default: a planner over the site's commands).

    Returns "built" or "exists"; raises the builder's DasFlexError on failure
    and :class:`PipelineTimeoutError` when the other build outlasts ``timeout``.
    """
    plan = (planner if planner is not None else site_planner(site)).plan_block
    deadline = time.monotonic() + timeout
    while True:
        outcome = builder(site, cache_dir, job, plan=plan, timeout=timeout)
        if outcome != "busy":
            return str(outcome)
        if time.monotonic() >= deadline:
            raise PipelineTimeoutError(f"block {job.block_start} of {job.source_id} "
                                       f"({job.level_key}) stayed busy for {timeout:g} s")
        time.sleep(BUSY_POLL)
