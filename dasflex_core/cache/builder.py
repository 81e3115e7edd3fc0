"""Build one cache block: run the source's reader (and reducer) over the block, atomically.

:func:`build_block` has the block planned as an ordinary request (time range
= the block, ``bin.time.max`` = the level's resolution unless it is
intrinsic, ``read.opts`` = the level's parameters, das2 binary output) by
the plan callable it is given (a planner's
:meth:`~dasflex_core.planner.Planner.plan_block`, which leaves the cache
out; the cache never imports the planner), runs it with
:mod:`dasflex_core.runner`, writes the output to a
temporary file in the block's directory, fsyncs it and renames it into place.
Readers of the cache only ever open block names, so a half-written block is
never seen; a failed build leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from dasflex_core import keys
from dasflex_core.cache import BlockJob
from dasflex_core.cache.layout import format_iso, normalise_params
from dasflex_core.cache.store import TEMP_PREFIX, CacheIndex, LevelBlocks, block_range
from dasflex_core.errors import NoDataError, NotFoundError, QueryError, ReaderError
from dasflex_core.model import Site, SourceDef
from dasflex_core.runner import PlanLike, start_pipeline

__all__ = ["BUILT", "BUSY", "EXISTS", "BlockPlanner", "block_query", "build_block"]

#: :func:`build_block` results.
BUILT = "built"
EXISTS = "exists"
BUSY = "busy"

#: Permissions of a block file (temporary files start private).
BLOCK_MODE = 0o644

LockFactory = Callable[[BlockJob], AbstractContextManager[bool]]
#: Plans a block's flex query for a source without reading the cache:
#: ``plan(source, query) -> plan`` (e.g. :meth:`dasflex_core.planner.Planner.plan_block`).
BlockPlanner = Callable[[SourceDef, Mapping[str, str]], PlanLike]


def build_block(site: Site, cache_dir: Path, job: BlockJob, *, plan: BlockPlanner,
                lock: LockFactory | None = None, timeout: float = 3600.0) -> str:
    """Build ``job``'s block under ``cache_dir``; return ``"built"``, ``"exists"`` or ``"busy"``.

    ``plan`` plans the block's query (with the site's commands, never from
    the cache).  ``lock`` (default: :meth:`CacheIndex.lock`, a per-block file
    lock) makes sure one builder at a time works on a block; ``"busy"``
    means another holds it.

    Raises
    ------
    NotFoundError
        When the job names an unknown source or level.
    QueryError
        When the job's parameter set does not belong to its level, its
        block start is not a block boundary, or the block has not ended yet.
    ReaderError
        When the reader or reducer fails or times out (nothing is written).
    """
    source = _source(site, job)
    index = CacheIndex(cache_dir)
    index.register(source)
    level = index.level_of(job)
    _check_paramset(job, level)
    if not index.has_ended(job):
        raise QueryError(f"The {level.period} block of {job.source_id} starting "
                         f"{job.block_start} has not ended yet")
    target = index.block_file(job)
    if target.is_file():
        return EXISTS
    with (lock or index.lock)(job) as held:
        if not held:
            return BUSY
        if target.is_file():
            return EXISTS
        planned = plan(source, block_query(level, job))
        write_atomically(target, _block_chunks(planned, timeout))
    return BUILT


def block_query(level: LevelBlocks, job: BlockJob) -> dict[str, str]:
    """The flex query that reads one block: its time range, resolution and parameters."""
    start, end = block_range(job.block_start, level.period)
    query = {
        keys.READ_TIME_MIN: format_iso(start),
        keys.READ_TIME_MAX: format_iso(end),
        keys.FORMAT_TYPE: "das",
        keys.FORMAT_VERSION: "2",
        keys.FORMAT_SERIAL: "binary",
    }
    if level.level.resolution:
        query[keys.BIN_TIME_MAX] = f"{level.level.resolution:.17g}"
    if level.level.params.strip():
        query[keys.READ_OPTS] = level.level.params.strip()
    return query


def write_atomically(target: Path, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to a temporary file beside ``target``, fsync, then rename it.

    On any failure (or interruption) the temporary file is removed and the
    error re-raised; ``target`` is never left partial.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=f"-{target.name}.part",
                                             dir=target.parent)
    try:
        os.fchmod(descriptor, BLOCK_MODE)
        with os.fdopen(descriptor, "wb", buffering=0) as output:
            _copy(chunks, output)
            os.fsync(output.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(target.parent)


def _copy(chunks: Iterable[bytes], output: BinaryIO) -> None:
    """Write every chunk in full (unbuffered: the file grows as the pipeline writes)."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[output.write(view):]


def _block_chunks(plan: PlanLike, timeout: float) -> Iterable[bytes]:
    """The planned pipeline's output; a "no data" answer becomes an empty das2 stream.

    A failure at any point raises :class:`ReaderError` (no exception packet is
    appended: a block must hold only good data).
    """
    pipeline = start_pipeline(plan.stages, cwd=plan.cwd, error_format=None,
                              first_byte_timeout=timeout, total_timeout=timeout)
    try:
        yield from pipeline
    except NoDataError:
        yield empty_das2_stream()
        return
    finally:
        pipeline.close()
    failed = [result for result in pipeline.results if result.failed]
    if failed:
        raise ReaderError("A stage of the cache build pipeline failed")


def empty_das2_stream() -> bytes:
    """A das2 stream header and nothing else: a block that holds no data."""
    from dasflex_core.codecs.das2 import StreamHeader, encode_header_packet  # numpy

    return encode_header_packet(0, StreamHeader().xml_bytes())


def _source(site: Site, job: BlockJob) -> SourceDef:
    source = site.get(job.source_id)
    if source is None:
        raise NotFoundError(f"No data source '{job.source_id}'")
    return source


def _check_paramset(job: BlockJob, level: LevelBlocks) -> None:
    if normalise_params(job.paramset) != level.paramset and job.paramset != level.paramset:
        raise QueryError(
            f"Cache level '{job.level_key}' of {job.source_id} is for parameters "
            f"'{level.paramset}', not '{job.paramset}'")


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
