"""Where cache blocks live: the layout contract shared by builders and ``das2_cache_rdr``.

A source's cache is ``CACHE_DIR/<source id>/``; below it::

    <paramset>/<level subdir>/<dirs>/<stamp>_<level subdir>.d2s

``<paramset>`` is the normalised reader parameters (:func:`normalise_params`,
``_noparam`` for none), ``<level subdir>`` is ``intrinsic`` or ``bin-<RES>``
(:func:`level_subdir`), and ``<dirs>/<stamp>`` follow the level's block
period (:func:`block_path`).  Blocks start on UTC calendar boundaries.

Examples
--------
>>> from pathlib import Path
>>> block_path(Path("c"), "bin-60s", "daily", datetime(2020, 1, 2)).as_posix()
'c/2020/01/2020-01-02_bin-60s.d2s'
>>> normalise_params("-b 5 -a"), level_subdir("1 h")
('-a_-b_5', 'bin-1h')
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from dasflex_core.errors import QueryError

__all__ = [
    "BLOCK_SUFFIX",
    "NO_PARAMS",
    "block_path",
    "block_start",
    "blocks_between",
    "format_iso",
    "from_us2000",
    "level_subdir",
    "next_block",
    "normalise_params",
    "paramset_name",
    "to_us2000",
]

#: The paramset of a reader run without parameters.
NO_PARAMS = "_noparam"
#: The file name ending of a block.
BLOCK_SUFFIX = ".d2s"
#: The das2 time origin; block periods are enumerated on this calendar.
EPOCH_2000 = datetime(2000, 1, 1)

#: File name stamp format of a block, by period.
_STAMP_FORMATS = {
    "yearly": "%Y",
    "monthly": "%Y-%m",
    "daily": "%Y-%m-%d",
    "hourly": "%Y-%m-%dT%H",
    "perminute": "%Y-%m-%dT%H-%M",
    "persecond": "%Y-%m-%dT%H-%M-%S",
}
#: Directory levels above a block file, by period.
_DIR_FORMATS = {
    "yearly": (),
    "monthly": ("%Y",),
    "daily": ("%Y", "%m"),
    "hourly": ("%Y", "%m", "%d"),
    "perminute": ("%Y", "%m", "%d", "%H"),
    "persecond": ("%Y", "%m", "%d", "%H", "%M"),
}
_FIXED_STEPS = {
    "daily": timedelta(days=1),
    "hourly": timedelta(hours=1),
    "perminute": timedelta(minutes=1),
    "persecond": timedelta(seconds=1),
}


def normalise_params(text: str) -> str:
    """das2C's parameter normal form: ``-opt value`` pairs merged, sorted, joined by ``_``."""
    words = text.split()
    merged: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        follows = words[index + 1] if index + 1 < len(words) else None
        if word.startswith("-") and follows is not None and not follows.startswith("-"):
            merged.append(f"{word}_{follows}")
            index += 2
        else:
            merged.append(word)
            index += 1
    return "_".join(sorted(merged)) if merged else NO_PARAMS


def paramset_name(paramset: str) -> str:
    """The directory name of PARAMSET: kept when already one word, else normalised."""
    return paramset if paramset.split() == [paramset] else normalise_params(paramset)


def level_subdir(resolution_text: str) -> str:
    """``intrinsic`` or ``bin-<N><units>`` (spaces dropped) for a level's resolution."""
    compact = "".join(resolution_text.split())
    return "intrinsic" if compact.lower() == "intrinsic" else f"bin-{compact}"


def block_start(moment: datetime, period: str) -> datetime:
    """The start of the ``period`` block holding ``moment``."""
    if period == "yearly":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "monthly":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "hourly":
        return moment.replace(minute=0, second=0, microsecond=0)
    if period == "perminute":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def next_block(start: datetime, period: str) -> datetime:
    """The start of the block after the one starting at ``start``."""
    try:
        if period == "yearly":
            return start.replace(year=start.year + 1)
        if period == "monthly":
            return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        return start + _FIXED_STEPS[period]
    except (OverflowError, ValueError):
        raise QueryError("time out of the supported range") from None


def block_path(level_dir: Path, subdir: str, period: str, start: datetime) -> Path:
    """The file of the ``period`` block starting at ``start`` under ``level_dir``.

    ``level_dir`` is ``<source cache>/<paramset>/<subdir>``; e.g. a daily
    block: ``level_dir/2020/01/2020-01-02_bin-60s.d2s``.
    """
    folders = [start.strftime(part) for part in _DIR_FORMATS[period]]
    name = f"{start.strftime(_STAMP_FORMATS[period])}_{subdir}{BLOCK_SUFFIX}"
    return level_dir.joinpath(*folders, name)


def blocks_between(begin: float, end: float, period: str) -> Iterator[datetime]:
    """Start times of the ``period`` blocks overlapping [begin, end) (us2000)."""
    first = from_us2000(begin)
    last = from_us2000(end)
    start = block_start(first, period)
    first_start = start
    while start < last or start == first_start:
        yield start
        start = next_block(start, period)


def from_us2000(us2000: float) -> datetime:
    """The naive UTC datetime of a us2000 value (leap seconds ignored, as block stamps are)."""
    try:
        return EPOCH_2000 + timedelta(microseconds=us2000)
    except OverflowError:
        raise QueryError("time out of the supported range") from None


def to_us2000(moment: datetime) -> float:
    """The us2000 value of a naive UTC datetime (the inverse of :func:`from_us2000`)."""
    return (moment - EPOCH_2000) / timedelta(microseconds=1)


def format_iso(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` (the form of :attr:`BlockJob.block_start`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
