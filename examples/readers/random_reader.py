#!/usr/bin/env python3
"""Example reader: random values (deterministic per time) over any time range.

Usage: random_reader.py BEGIN END [OPTIONS]

Writes at most 1000 records of ``radius`` (a uniform value in [-10, 10] Re)
on a regular time grid whose values depend only on each record's time, so
that the same time always gives the same value.  No options are defined;
any given are ignored.
"""

import sys

import das2out
import numpy as np

MAX_RECORDS = 1000
MIN_CADENCE_US = 1e6

PACKET_HEADER = """<packet>
  <x type="little_endian_real8" units="us2000" />
  <y type="little_endian_real4" name="radius" units="Re">
    <properties yLabel="Radius (R!dE!n)" />
  </y>
</packet>
"""


def main(argv):
    begin, end, _options = das2out.read_range(argv, "random_reader.py BEGIN END [OPTIONS]")
    step = das2out.nice_cadence(end - begin, MAX_RECORDS, MIN_CADENCE_US)
    times = das2out.time_grid(begin, end, step)
    out = sys.stdout.buffer
    out.write(das2out.stream_header([
        ("title", "Random values (seeded by time)"),
        ("Datum:xTagWidth", f"{step / 1e6:g} s"),
        ("DatumRange:xRange", f"{das2out.format_time(begin)} to {das2out.format_time(end)} UTC"),
        ("sourceId", "random_reader.py"),
    ]))
    if times.size == 0:
        out.write(das2out.no_data(begin, end))
        return
    values = das2out.hash_uniform(np.rint(times).astype(np.int64)) * 20.0 - 10.0
    out.write(das2out.packet("[01]", PACKET_HEADER))
    out.write(das2out.data_packets(1, [("<f8", times), ("<f4", values)]))


if __name__ == "__main__":
    das2out.run(main)
