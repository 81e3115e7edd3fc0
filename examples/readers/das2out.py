"""Small helpers shared by the example readers: times, args and das2 packets.

The example readers are standalone programs (Python 3 + numpy, nothing from
dasflex): they show what a reader in any language must do.  A reader is run as
``READER BEGIN END [OPTIONS...]`` and writes a das2.2 binary stream to stdout.
Errors go to stderr with a non-zero exit status; a range without data gives a
stream header plus a ``NoDataInInterval`` exception, and exit status 0.

Times are held as ``us2000``: microseconds since 2000-01-01T00:00:00, without
leap seconds, as das2 defines it.
"""

import re
import sys
from datetime import datetime, timedelta
from xml.sax.saxutils import quoteattr

import numpy as np

EPOCH_2000 = datetime(2000, 1, 1)
USAGE_ERROR = 2

_TIME_PATTERN = re.compile(
    r"(?P<year>\d{4})-(?:(?P<doy>\d{3})|(?P<month>\d{1,2})-(?P<day>\d{1,2}))"
    r"(?:[T ](?P<hour>\d{1,2})(?::(?P<minute>\d{1,2})(?::(?P<second>\d{1,2}(?:\.\d*)?))?)?)?Z?"
)


class UsageError(Exception):
    """A bad command line: reported on stderr with exit status 2."""


def parse_time(text):
    """An ISO 8601 time (calendar or day-of-year form) as us2000."""
    match = _TIME_PATTERN.fullmatch(text.strip())
    if not match:
        raise UsageError(f"cannot read time {text!r} (expected e.g. 2017-01-01T12:00:00)")
    parts = match.groupdict()
    try:
        if parts["doy"]:
            day = datetime(int(parts["year"]), 1, 1) + timedelta(days=int(parts["doy"]) - 1)
        else:
            day = datetime(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError as exc:
        raise UsageError(f"bad date in {text!r}: {exc}") from None
    seconds = (int(parts["hour"] or 0) * 3600 + int(parts["minute"] or 0) * 60
               + float(parts["second"] or 0))
    if seconds >= 86401:
        raise UsageError(f"bad time of day in {text!r}")
    return (day - EPOCH_2000).total_seconds() * 1e6 + seconds * 1e6


def format_time(us2000):
    """us2000 as ``YYYY-MM-DDTHH:MM:SS.mmm``."""
    moment = EPOCH_2000 + timedelta(microseconds=float(us2000))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def split_options(args):
    """Reader options may arrive as one argument ("a b") or several: split on blanks."""
    return [word for arg in args for word in arg.split()]


def read_range(argv, usage):
    """``BEGIN END [OPTIONS...]`` -> (begin, end, options); raise UsageError when wrong."""
    if len(argv) < 2:
        raise UsageError(f"usage: {usage}")
    begin, end = parse_time(argv[0]), parse_time(argv[1])
    if end < begin:
        raise UsageError(f"end {argv[1]} is before begin {argv[0]}")
    return begin, end, split_options(argv[2:])


def nice_cadence(span_us, max_records, minimum_us):
    """The smallest 1-2-5 step (at least ``minimum_us``) giving <= max_records."""
    wanted = max(span_us / max_records, minimum_us)
    exponent = 10.0 ** np.floor(np.log10(wanted))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * exponent >= wanted * (1 - 1e-9):
            return factor * exponent
    return 10.0 * exponent


def time_grid(begin, end, step):
    """Times k*step (k integer) with begin <= t < end: the same for every request."""
    first = np.ceil(begin / step)
    last = np.ceil(end / step)
    return np.arange(first, last) * step


def hash_uniform(keys, salt=0):
    """Deterministic uniform [0, 1) numbers from integer keys (vectorised splitmix64)."""
    state = np.asarray(keys, dtype=np.int64).astype(np.uint64) + np.uint64(salt * 0x9E3779B97F4A7C15 % 2**64)
    with np.errstate(over="ignore"):
        state = state + np.uint64(0x9E3779B97F4A7C15)
        state = (state ^ (state >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        state = (state ^ (state >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        state = state ^ (state >> np.uint64(31))
    return (state >> np.uint64(11)).astype(np.float64) / float(2**53)


def properties_xml(props):
    """``<properties a="b" .../>`` from (name, value) pairs."""
    attributes = "".join(f"\n    {name}={quoteattr(str(value))}" for name, value in props)
    return f"<properties{attributes}\n  />"


def packet(tag, xml):
    """A header or out-of-band packet: tag, 6-digit byte length, XML."""
    body = xml.encode("utf-8")
    return tag.encode("ascii") + b"%06d" % len(body) + body


def stream_header(props):
    """The ``[00]`` stream header packet."""
    return packet("[00]", f'<stream version="2.2">\n  {properties_xml(props)}\n</stream>\n')


def no_data(begin, end):
    """A ``NoDataInInterval`` exception packet for the range."""
    message = f"No data in the interval {format_time(begin)} to {format_time(end)}"
    return packet("[xx]", f"<exception type=\"NoDataInInterval\" message={quoteattr(message)} />\n")


def data_packets(packet_id, columns):
    """Binary ``:NN:`` packets from (dtype, array) columns, one record per row."""
    count = len(columns[0][1])
    fields = [("tag", "S4")] + [(f"c{i}", dtype, np.shape(values)[1:])
                                 for i, (dtype, values) in enumerate(columns)]
    records = np.empty(count, dtype=fields)
    records["tag"] = b":%02d:" % packet_id
    for i, (_dtype, values) in enumerate(columns):
        records[f"c{i}"] = values
    return records.tobytes()


def run(main):
    """Call ``main(argv)``; turn UsageError into stderr + exit 2."""
    try:
        main(sys.argv[1:])
        sys.stdout.flush()
    except UsageError as exc:
        print(f"{sys.argv[0]}: {exc}", file=sys.stderr)
        sys.exit(USAGE_ERROR)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
