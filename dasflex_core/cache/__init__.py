"""The multi-resolution cache: pre-reduced das2 blocks per source, level and time.

Layout (shared with ``das2_cache_rdr``, see ``docs/cache.md``)::

    CACHE_DIR/<source id>/<paramset>/<level subdir>/<dirs>/<stamp>_<level subdir>.d2s

A block file exists only once complete: builders write a temporary file in
the same directory and rename it (:mod:`dasflex_core.cache.store`).  The
planner asks a :class:`~dasflex_core.cache.choice.CachePolicy` which level
covers a request; a covered coarse request is read from the cache, a gap is
read from the reader and its missing blocks come back in
:attr:`dasflex_core.planner.Plan.cache_gaps` as :class:`BlockJob` values,
which a job queue (:mod:`dasflex_core.jobs`) builds with
:func:`dasflex_core.cache.builder.build_block`.  Nothing here imports the
planner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

__all__ = ["BlockJob"]


@dataclass(frozen=True, slots=True, order=True)
class BlockJob:
    """One cache block to build: a source, a level, a parameter set and a block start.

    ``block_start`` is ISO 8601 UTC (``1979-03-01T00:00:00``); ``level_key``
    is the level's :attr:`~dasflex_core.model.CacheLevel.key`;
    ``paramset`` the normalised reader parameters (``_noparam`` for none).
    Plain strings only, so a job crosses process and Redis boundaries as JSON.
    """

    source_id: str
    level_key: str
    paramset: str
    block_start: str

    @property
    def key(self) -> str:
        """A stable unique name (queue de-duplication, locks, job ids)."""
        return f"{self.source_id}|{self.level_key}|{self.paramset}|{self.block_start}"

    def to_dict(self) -> dict[str, str]:
        """JSON-ready fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> BlockJob:
        """The job these :meth:`to_dict` fields describe."""
        return cls(str(data["source_id"]), str(data["level_key"]), str(data["paramset"]),
                   str(data["block_start"]))
