"""How a planned output is labelled: its file name and Content-Disposition.

A file name says what the file holds: the source, the time range, the
resolution, the reader options and the format's extension
(``random_2001-01-01_bin-5min.d2s``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from dasflex_core import keys
from dasflex_core.model import StreamFormat

__all__ = [
    "content_disposition",
    "iso_range",
    "normalised_options",
    "output_filename",
    "time_resolution",
]

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.+-]+")


def content_disposition(mime: str, filename: str) -> str:
    """``inline`` for text (but CSV), ``attachment`` otherwise.

    Examples
    --------
    >>> content_disposition("text/csv", "a.csv")
    'attachment; filename="a.csv"'
    """
    kind = "inline" if mime.startswith("text/") and mime != "text/csv" else "attachment"
    return f'{kind}; filename="{filename}"'


def output_filename(source_id: str, values: Mapping[str, str],
                    stream_format: StreamFormat | None) -> str:
    """A meaningful file name: source, time range, resolution, options, extension.

    Examples
    --------
    >>> output_filename("Examples/Random", {"read.time.min": "2001-01-01T00:00:00",
    ...     "read.time.max": "2001-01-01T12:30:00", "bin.time.max": "300"}, None)
    'random_2001-01-01_2001-01-01T12-30_bin-5min.bin'
    """
    parts = [source_id.rstrip("/").rsplit("/", 1)[-1].lower() or "data"]
    if keys.READ_TIME_MIN in values:
        parts.append(iso_range(values[keys.READ_TIME_MIN], values.get(keys.READ_TIME_MAX)))
    if keys.DFT_LENGTH in values:
        parts.append(f"psd-{values[keys.DFT_LENGTH]}")
    resolution = values.get(keys.BIN_TIME_MAX)
    if resolution and float(resolution) > 0:
        parts.append(time_resolution(float(resolution)))
    options = normalised_options(values.get(keys.READ_OPTS, ""))
    if options:
        parts.append(options)
    extension = stream_format.extension if stream_format else "bin"
    stem = _UNSAFE_FILENAME.sub("-", "_".join(parts))[:200]
    return f"{stem}.{extension}"


def iso_range(begin: str, end: str | None) -> str:
    """``YYYY-MM-DD[THH-MM[-SS]]``, then ``_`` and the end unless the span is one day.

    Examples
    --------
    >>> iso_range("2001-01-01T00:00:00", "2001-01-02T00:00:00")
    '2001-01-01'
    """
    start = _parse_iso(begin)
    stop = _parse_iso(end) if end else None
    text = _iso_label(begin, start)
    if stop is None:
        return text
    if start is not None and _is_midnight(start) and (stop - start).total_seconds() == 86400:
        return text
    return f"{text}_{_iso_label(end or '', stop)}"


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text[:26])
    except ValueError:
        return None


def _is_midnight(moment: datetime) -> bool:
    return moment.hour == moment.minute == moment.second == moment.microsecond == 0


def _iso_label(text: str, moment: datetime | None) -> str:
    """A time as a file-name label (seconds only when non-zero)."""
    if moment is None:
        return text.replace(":", "-")
    if _is_midnight(moment):
        return moment.strftime("%Y-%m-%d")
    if moment.second == 0 and moment.microsecond == 0:
        return moment.strftime("%Y-%m-%dT%H-%M")
    return moment.strftime("%Y-%m-%dT%H-%M-%S")


def time_resolution(seconds: float) -> str:
    """``bin-N{s,min,hr,day}``, in minutes above 2 min, hours above 2 h, days above 2 d.

    Examples
    --------
    >>> time_resolution(60), time_resolution(7200.0), time_resolution(0.5)
    ('bin-60s', 'bin-2hr', 'bin-0.5s')
    """
    for limit, size, unit in ((172800, 86400, "day"), (7200, 3600, "hr"), (120, 60, "min")):
        if seconds >= limit:
            return f"bin-{seconds / size:g}{unit}"
    return f"bin-{seconds:g}s"


def normalised_options(options: str) -> str:
    """Reader options as a name part: ``-opt value`` pairs joined, sorted, ``_``-joined.

    Examples
    --------
    >>> normalised_options("-b 5 -a")
    '-a_-b-5'
    """
    words = options.split()
    merged: list[str] = []
    for word in words:
        if merged and merged[-1].startswith("-") and not word.startswith("-") \
                and "-" not in merged[-1][1:]:
            merged[-1] = f"{merged[-1]}-{word}"
        else:
            merged.append(word)
    return "_".join(sorted(merged))
