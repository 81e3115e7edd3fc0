"""Which cache level a request may read: the cache's part of planning.

A planner made with a :class:`~dasflex_core.cache.store.CacheIndex` asks a
:class:`CachePolicy` two things and never looks inside the cache itself:

* :meth:`CachePolicy.reader_command`: the cheap cache reader a source with
  cache levels gets, as one more reader of its command graph;
* :meth:`CachePolicy.choose`: for a request (its ``flex`` values), the
  coarsest level no coarser than the asked resolution whose blocks are all
  built, with the reader's argv, and the blocks the preferred level lacks.

The planner then searches its graph with that reader and argv.  Blocks
ending in the future are never read (they are still growing).  This module
knows nothing of the planner (see ``docs/cache.md``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dasflex_core import keys
from dasflex_core.cache import BlockJob
from dasflex_core.cache.layout import normalise_params
from dasflex_core.cache.store import CacheIndex, block_range_us2000, unix_to_us2000, valid_bounds
from dasflex_core.dastime import parse_us2000
from dasflex_core.errors import DasFlexError
from dasflex_core.model import DAS2_BINARY, CacheLevel, CommandDef, CommandRole, SourceDef
from dasflex_core.templates import PREDEFINED_KEYS

__all__ = [
    "CACHE_COMMAND_NAME",
    "CacheChoice",
    "CachePolicy",
    "requested_resolution",
]

#: The name of the cache reader command a source with cache levels gets.
CACHE_COMMAND_NAME = "cache_reader"
#: The cache reader's cost as a fraction of the reader's.
CACHE_COST_FACTOR = 0.01
#: Most missing blocks one choice reports in :attr:`CacheChoice.gaps`.
MAX_CACHE_GAPS = 2000
#: Levels needing more blocks than this for one request are not read from the cache.
MAX_CACHE_BLOCKS = 20000
#: Reader template keys a cache block's time range and parameter set describe.
DESCRIBED_KEYS = frozenset({keys.READ_TIME_MIN, keys.READ_TIME_MAX, keys.READ_OPTS}) | PREDEFINED_KEYS
#: Relative tolerance when comparing resolutions.
_RESOLUTION_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class CacheChoice:
    """How a request may use the cache.

    ``level`` is the level to read (None: read the source's reader), with
    ``argv`` the cache reader's command line for it; ``reduced`` says the
    level is already as coarse as asked, so no reducer need run after it.
    ``gaps`` are the preferred level's missing blocks (to queue for building).
    """

    level: CacheLevel | None
    paramset: str
    gaps: tuple[BlockJob, ...]
    argv: tuple[str, ...] = ()
    reduced: bool = False


class CachePolicy:
    """The planner's view of a :class:`CacheIndex`: which level serves a request.

    ``now`` gives the current time (Unix seconds) for the rule that blocks
    ending in the future are never used.
    """

    def __init__(self, index: CacheIndex, now: Callable[[], float] = time.time) -> None:
        self.index = index
        self._now = now

    def reader_command(self, source: SourceDef) -> CommandDef | None:
        """The cache reader of a source with cache levels and a reader (registered), else None.

        Its template is a placeholder: :meth:`choose` gives the argv per request.
        """
        reader = source.reader
        if not source.cache_levels or reader is None:
            return None
        self.index.register(source)
        return CommandDef(
            name=CACHE_COMMAND_NAME, role=CommandRole.CACHE_READER, template=("das2_cache_rdr",),
            output=DAS2_BINARY, label="Cache", title="Reads pre-reduced cache blocks",
            cost=reader.cost * CACHE_COST_FACTOR, cwd=reader.cwd,
        )

    def choose(self, source: SourceDef, values: Mapping[str, str], *, transform: bool,
               reader_keys: frozenset[str]) -> CacheChoice | None:
        """The cache level that covers this request, and the preferred level's gaps.

        ``values`` are the checked ``flex`` values; ``transform`` says a
        transform (PSD) must run first; ``reader_keys`` are the keys the
        source's reader templates read.  None when the request cannot use the
        cache at all: no cache levels, no time range or resolution, a
        transform, or reader values that no parameter set describes.
        """
        resolution = requested_resolution(values)
        if resolution is None or transform or not source.cache_levels:
            return None
        if any(key in values for key in reader_keys - DESCRIBED_KEYS):
            return None
        span = _cache_span(source, values)
        if span is None:
            return None
        paramset = normalise_params(values.get(keys.READ_OPTS, ""))
        levels = _usable_levels(source, paramset, resolution)
        if not levels:
            return None
        gaps: tuple[BlockJob, ...] = ()
        for rank, level in enumerate(levels):
            found = self._level_jobs(source, level, paramset, *span)
            if found is None:
                continue
            jobs, complete = found
            if rank == 0:
                gaps = tuple(self.index.missing(jobs)[:MAX_CACHE_GAPS])
                covered = not gaps
            else:
                covered = all(self.index.is_built(job) for job in jobs)
            if complete and covered:
                coarse_enough = (level.resolution or 0.0) >= resolution * (1.0 - _RESOLUTION_SLACK)
                return CacheChoice(level, paramset, gaps,
                                   self._argv(source, level, paramset, values), coarse_enough)
        return CacheChoice(None, paramset, gaps)

    def _level_jobs(self, source: SourceDef, level: CacheLevel, paramset: str, begin: float,
                    end: float) -> tuple[list[BlockJob], bool] | None:
        """The blocks of ``level`` for [begin, end) that have ended, and whether that is all.

        Blocks ending after now are never listed (they are still growing);
        None when the level needs too many blocks to check.
        """
        now = unix_to_us2000(self._now())
        jobs: list[BlockJob] = []
        for job in self.index.jobs_between(source, level, begin, end, paramset):
            if len(jobs) >= MAX_CACHE_BLOCKS:
                return None
            if block_range_us2000(job.block_start, level.block)[1] > now:
                return jobs, False
            jobs.append(job)
        return jobs, True

    def _argv(self, source: SourceDef, level: CacheLevel, paramset: str,
              values: Mapping[str, str]) -> tuple[str, ...]:
        """``das2_cache_rdr -l KEY DEFINITION CACHE_DIR PARAMSET RES BEGIN END``."""
        return (
            "das2_cache_rdr", "-l", level.key, source.definition_path,
            str(self.index.source_dir(source.id)), paramset,
            f"{level.resolution or 0.0:.17g}", values[keys.READ_TIME_MIN],
            values[keys.READ_TIME_MAX],
        )


def requested_resolution(values: Mapping[str, str]) -> float | None:
    """The asked resolution in seconds, or None when no reduction is asked for.

    Examples
    --------
    >>> requested_resolution({"bin.time.max": "60"}), requested_resolution({})
    (60.0, None)
    """
    try:
        seconds = float(values.get(keys.BIN_TIME_MAX, "0"))
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _cache_span(source: SourceDef, values: Mapping[str, str]) -> tuple[float, float] | None:
    """The request's time range clipped to the source's valid range (us2000)."""
    try:
        begin = float(parse_us2000(values[keys.READ_TIME_MIN]))
        end = float(parse_us2000(values[keys.READ_TIME_MAX]))
    except (KeyError, DasFlexError):
        return None
    low, high = valid_bounds(source)
    begin, end = max(begin, low), min(end, high)
    if not end > begin:
        return None
    return begin, end


def _usable_levels(source: SourceDef, paramset: str, resolution: float) -> list[CacheLevel]:
    """Levels for ``paramset`` no coarser than ``resolution``, coarsest first."""
    levels = [level for level in source.cache_levels
              if normalise_params(level.params) == paramset
              and (level.resolution or 0.0) <= resolution * (1.0 + _RESOLUTION_SLACK)]
    return sorted(levels, key=lambda level: level.resolution or 0.0, reverse=True)
