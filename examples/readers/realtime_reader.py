#!/usr/bin/env python3
"""Example reader: a live magnetometer-like signal, one packet every 100 ms.

Usage: realtime_reader.py BEGIN END [OPTIONS]

Records lie on a 100 ms grid of wall-clock time.  The part of the range that
is already past (at most the last 600 records of it) is written at once, as
history; then, while END is still in the future, one data packet is written
and flushed each time the clock reaches the next grid time, until END or
until the reader is killed.  A request with END far in the future is
therefore a live stream that never ends by itself.  The value is a slow sine
plus noise that depends only on the record's time.  No options are defined;
any given are ignored.
"""

import sys
import time

import das2out
import numpy as np

STEP_US = 100_000
MAX_HISTORY = 600
#: Seconds between 1970-01-01 and 2000-01-01 (us2000 ignores leap seconds).
UNIX_2000 = 946_684_800

PACKET_HEADER = """<packet>
  <x type="little_endian_real8" units="us2000" />
  <y type="little_endian_real4" name="bfield" units="nT">
    <properties yLabel="B (nT)" />
  </y>
</packet>
"""


def now_us2000():
    """The wall clock as us2000."""
    return (time.time() - UNIX_2000) * 1e6


def values(times):
    """The signal at ``times`` (us2000): a 60 s sine plus deterministic noise."""
    noise = das2out.hash_uniform(np.rint(times / 1e3).astype(np.int64), salt=11) - 0.5
    return (20.0 * np.sin(2 * np.pi * times / 60e6) + noise).astype("<f4")


def records(times):
    """Data packets for ``times``."""
    return das2out.data_packets(1, [("<f8", times), ("<f4", values(times))])


def write_history(out, begin, end):
    """Write the records of [begin, min(end, now)); return the next grid time."""
    past_end = min(end, now_us2000())
    times = das2out.time_grid(begin, past_end, STEP_US)[-MAX_HISTORY:]
    if times.size:
        out.write(records(times))
        out.flush()
        return times[-1] + STEP_US
    return np.ceil(max(begin, past_end) / STEP_US) * STEP_US


def write_live(out, moment, end):
    """Write one packet per grid time as the clock reaches it, until ``end``."""
    while moment < end:
        delay = (moment - now_us2000()) / 1e6
        if delay > 0:
            time.sleep(delay)
        out.write(records(np.array([moment])))
        out.flush()
        moment += STEP_US


def main(argv):
    begin, end, _options = das2out.read_range(argv, "realtime_reader.py BEGIN END [OPTIONS]")
    out = sys.stdout.buffer
    out.write(das2out.stream_header([
        ("title", "Live example signal (one record every 100 ms)"),
        ("Datum:xTagWidth", f"{STEP_US / 1e6:g} s"),
        ("DatumRange:xRange", f"{das2out.format_time(begin)} to {das2out.format_time(end)} UTC"),
        ("sourceId", "realtime_reader.py"),
    ]))
    first = np.ceil(begin / STEP_US) * STEP_US
    if first >= end:
        out.write(das2out.no_data(begin, end))
        return
    out.write(das2out.packet("[01]", PACKET_HEADER))
    out.flush()
    write_live(out, write_history(out, begin, end), end)


if __name__ == "__main__":
    das2out.run(main)
