"""The cache on disk: which blocks a request needs, which exist, and per-block locks.

A :class:`CacheIndex` maps :class:`~dasflex_core.cache.BlockJob` values to
block files (:mod:`dasflex_core.cache.layout`).  A block file exists only
once complete (builders rename a finished temporary file into place), so
"built" is simply "the file exists".  The index resolves a job's level from
the sources it was told about: the ``site`` given to the constructor, and
every source passed to :meth:`CacheIndex.blocks_for` or
:meth:`CacheIndex.register`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dasflex_core.cache import BlockJob
from dasflex_core.cache.layout import (
    block_path,
    block_start,
    blocks_between,
    format_iso,
    level_subdir,
    next_block,
    normalise_params,
    paramset_name,
    to_us2000,
)
from dasflex_core.dastime import SECONDS_1970_TO_2000, parse_us2000
from dasflex_core.errors import DasFlexError, NotFoundError, QueryError

if TYPE_CHECKING:
    from dasflex_core.model import CacheLevel, Site, SourceDef

__all__ = ["LOCK_SUFFIX", "TEMP_PREFIX", "CacheIndex", "LevelBlocks", "source_dir_name"]

#: Appended to a block's file name to name its lock file.
LOCK_SUFFIX = ".lock"
#: Prefix of builders' temporary files (never read: readers open block names only).
TEMP_PREFIX = ".tmp-"


def source_dir_name(source_id: str) -> str:
    """The folder of a source below the cache root (its id, slashes kept as folders)."""
    parts = [part for part in source_id.strip("/").split("/") if part]
    if not parts or any(part in (".", "..") for part in parts):
        raise QueryError(f"bad source id for the cache: {source_id!r}")
    return "/".join(parts)


@dataclass(frozen=True, slots=True)
class LevelBlocks:
    """One level of one source, as the layout needs it."""

    source_id: str
    level: CacheLevel

    @property
    def subdir(self) -> str:
        """``intrinsic`` or ``bin-<RES>``."""
        return level_subdir(self.level.resolution_text)

    @property
    def period(self) -> str:
        """The block period (``daily``, ...)."""
        return self.level.block

    @property
    def paramset(self) -> str:
        """The level's normalised reader parameters."""
        return normalise_params(self.level.params)


class CacheIndex:
    """The cache under ``cache_dir``: block files, coverage and locks.

    Parameters
    ----------
    cache_dir
        The cache root; each source's blocks live in ``cache_dir/<source id>``.
    site
        Optional: the sources whose levels jobs may name (more can be added
        with :meth:`register`).
    """

    def __init__(self, cache_dir: Path, site: Site | None = None, *,
                 now: Callable[[], float] = time.time) -> None:
        self.cache_dir = Path(cache_dir)
        self._now = now
        self._levels: dict[tuple[str, str], LevelBlocks] = {}
        for source in site or ():
            self.register(source)

    # -- levels --------------------------------------------------------------

    def register(self, source: SourceDef) -> None:
        """Learn ``source``'s cache levels, so its jobs can be resolved."""
        for level in source.cache_levels:
            self._levels[(source.id.lower(), level.key)] = LevelBlocks(source.id, level)

    def level_of(self, job: BlockJob) -> LevelBlocks:
        """The level a job names.

        Raises
        ------
        NotFoundError
            When the job's source or level is not known to this index.
        """
        found = self._levels.get((job.source_id.lower(), job.level_key))
        if found is None:
            raise NotFoundError(
                f"No cache level '{job.level_key}' known for source '{job.source_id}'")
        return found

    def source_dir(self, source_id: str) -> Path:
        """``cache_dir/<source id>``: the CACHE_DIR argument of ``das2_cache_rdr``."""
        return self.cache_dir / source_dir_name(source_id)

    # -- blocks --------------------------------------------------------------

    def block_file(self, job: BlockJob) -> Path:
        """The file of the block ``job`` builds (whether or not it exists)."""
        level = self.level_of(job)
        start = _parse_block_start(job.block_start)
        if block_start(start, level.period) != start:
            raise QueryError(f"{job.block_start} is not the start of a {level.period} block")
        level_dir = self.source_dir(job.source_id) / paramset_name(job.paramset) / level.subdir
        return block_path(level_dir, level.subdir, level.period, start)

    def is_built(self, job: BlockJob) -> bool:
        """True when the block file exists (it only ever appears complete)."""
        return self.block_file(job).is_file()

    def missing(self, jobs: Iterable[BlockJob]) -> list[BlockJob]:
        """The jobs whose blocks are not built, in the given order."""
        return [job for job in jobs if not self.is_built(job)]

    def has_ended(self, job: BlockJob) -> bool:
        """True when the job's block lies wholly in the past (only such blocks are built)."""
        end = block_range_us2000(job.block_start, self.level_of(job).period)[1]
        return end <= unix_to_us2000(self._now())

    def jobs_between(self, source: SourceDef, level: CacheLevel, begin: float, end: float,
                     paramset: str = "_noparam") -> Iterator[BlockJob]:
        """The jobs of ``level``'s blocks overlapping [begin, end) (us2000)."""
        self.register(source)
        for start in blocks_between(begin, end, level.block):
            yield BlockJob(source.id, level.key, paramset, format_iso(start))

    def blocks_for(self, source: SourceDef, begin: str, end: str, *,
                   levels: Sequence[str] | None = None,
                   paramset: str = "_noparam") -> list[BlockJob]:
        """Every block of ``levels`` (keys; default all) covering [begin, end).

        Only levels whose parameters normalise to ``paramset`` are listed.
        The range is clipped to the source's valid range, and blocks that
        end after the current time are left out (they cannot be built yet).

        Raises
        ------
        QueryError
            For bad times, an empty range or an unknown level key.
        """
        start, stop = float(parse_us2000(begin)), float(parse_us2000(end))
        if not stop > start:
            raise QueryError(f"The time range is empty: {end} is not after {begin}")
        chosen = _chosen_levels(source, levels)
        low, high = valid_bounds(source)
        start, stop = max(start, low), min(stop, high)
        wanted = paramset_name(paramset)
        jobs: list[BlockJob] = []
        for level in chosen:
            if normalise_params(level.params) == wanted and stop > start:
                listed = self.jobs_between(source, level, start, stop, wanted)
                jobs.extend(job for job in listed if self.has_ended(job))
        return jobs

    def remove_stale_temporaries(self, older_than: float = 86400.0) -> list[Path]:
        """Delete builders' temporary files older than ``older_than`` seconds; return them.

        Only a builder that was killed leaves one behind; readers never open them.
        """
        limit = self._now() - older_than
        removed = []
        for path in self.cache_dir.rglob(f"{TEMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()
                    removed.append(path)
        return removed

    # -- locks ---------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, job: BlockJob) -> Iterator[bool]:
        """A non-blocking exclusive lock on ``job``'s block; yields False if held elsewhere.

        The lock is ``fcntl.flock`` on ``<block file>.lock`` beside the block;
        it is released (and its file left for reuse) when the context exits.
        """
        block = self.block_file(job)
        path = block.with_name(block.name + LOCK_SUFFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


def _chosen_levels(source: SourceDef, keys: Sequence[str] | None) -> list[CacheLevel]:
    """The source's levels named by ``keys`` (all when None)."""
    if keys is None:
        return list(source.cache_levels)
    by_key = {level.key: level for level in source.cache_levels}
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        known = ", ".join(by_key) or "none"
        raise QueryError(f"Source {source.id} has no cache level '{unknown[0]}' (levels: {known})")
    return [by_key[key] for key in keys]


def _parse_block_start(text: str) -> datetime:
    """A job's ``block_start`` (ISO 8601, UTC, naive) as a datetime."""
    try:
        moment = datetime.fromisoformat(text.strip().rstrip("Zz"))
    except ValueError:
        raise QueryError(f"bad block start {text!r} (expected YYYY-MM-DDTHH:MM:SS)") from None
    if moment.tzinfo is not None:
        raise QueryError(f"bad block start {text!r} (expected UTC without an offset)")
    return moment


def block_range(job_start: str, period: str) -> tuple[datetime, datetime]:
    """[start, end) of the ``period`` block starting at ``job_start``."""
    start = _parse_block_start(job_start)
    return start, next_block(start, period)


def block_range_us2000(job_start: str, period: str) -> tuple[float, float]:
    """:func:`block_range` in us2000."""
    start, end = block_range(job_start, period)
    return to_us2000(start), to_us2000(end)


def unix_to_us2000(seconds: float) -> float:
    """Unix seconds as us2000 (the block calendar ignores leap seconds)."""
    return (seconds - SECONDS_1970_TO_2000) * 1.0e6


def valid_bounds(source: SourceDef) -> tuple[float, float]:
    """The source's valid range in us2000 (unbounded ends when absent or unreadable)."""
    bounds = [float("-inf"), float("inf")]
    for index, text in enumerate(source.valid_range or ()):
        try:
            bounds[index] = float(parse_us2000(text))
        except DasFlexError:
            continue
    return bounds[0], bounds[1]
