#!/usr/bin/env python3
"""Example reader writing a das3 (das-basic-stream v3.0) binary stream directly.

Usage: das3native_reader.py BEGIN END [OPTIONS]

Writes at most 2000 records of a synthetic magnetic field vector (Bx, By, Bz
in nT) and its magnitude on a regular time grid.  Values depend only on each
record's time.  No options are defined; any given are ignored.

das3 framing: every packet is ``|TYPE|ID|LENGTH|`` then LENGTH bytes.  ``Sx``
is the stream header, ``Hx`` a dataset header, ``Pd`` one record of data and
``Ex`` an exception (here ``NoMatchingData`` when the range holds no record).
"""

import sys
from xml.sax.saxutils import escape

import das2out
import numpy as np

MAX_RECORDS = 2000
MIN_CADENCE_US = 1e6
DATASET_ID = 1
PERIOD_US = 3600e6

DATASET_HEADER = """<dataset name="mag" rank="1" index="*">
  <properties>
    <p name="title">Synthetic magnetic field</p>
  </properties>
  <coord physDim="time" axis="t">
    <scalar use="center" semantic="datetime" units="us2000" index="*">
      <packet numItems="1" itemBytes="8" encoding="LEreal"/>
    </scalar>
  </coord>
  <data physDim="B" name="b_field" frame="GSE">
    <vector use="center" semantic="real" storage="float" units="nT" index="*" components="3">
      <packet numItems="3" itemBytes="4" encoding="LEreal"/>
    </vector>
  </data>
  <data physDim="B" name="b_magnitude">
    <scalar use="center" semantic="real" storage="float" units="nT" index="*">
      <packet numItems="1" itemBytes="4" encoding="LEreal"/>
    </scalar>
  </data>
</dataset>
"""


def frame(kind, packet_id, payload):
    """One das3 packet: ``|kind|id|length|`` followed by the payload bytes."""
    return b"|%s|%s|%d|" % (kind.encode("ascii"), packet_id.encode("ascii"), len(payload)) + payload


def stream_header(begin, end):
    """The ``|Sx|`` packet: stream type, version and a few properties."""
    span = f"{das2out.format_time(begin)} to {das2out.format_time(end)}"
    xml = ('\n<stream type="das-basic-stream" version="3.0">\n  <properties>\n'
           '    <p name="title">Synthetic magnetic field (das3 native)</p>\n'
           f'    <p name="xRange" type="datetimeRange">{escape(span)}</p>\n'
           '    <p name="sourceId">das3native_reader.py</p>\n'
           '  </properties>\n  <frame name="GSE" body="EARTH"/>\n</stream>\n')
    return frame("Sx", "", xml.encode("utf-8"))


def no_data(begin, end):
    """An ``|Ex|`` packet saying the range holds no data."""
    message = f"No data in the interval {das2out.format_time(begin)} to {das2out.format_time(end)}"
    xml = f'<exception type="NoMatchingData">{escape(message)}</exception>\n'
    return frame("Ex", "", xml.encode("utf-8"))


def field_values(times):
    """(N, 3) field components and the (N,) magnitude for the record times."""
    phase = 2.0 * np.pi * (times % PERIOD_US) / PERIOD_US
    noise = das2out.hash_uniform(np.rint(times).astype(np.int64)) - 0.5
    vectors = np.stack([20.0 * np.cos(phase), 20.0 * np.sin(phase), 5.0 + noise], axis=1)
    return vectors.astype("<f4"), np.sqrt((vectors ** 2).sum(axis=1)).astype("<f4")


def data_packets(times):
    """All records as ``|Pd|1|24|`` packets (8 + 3*4 + 4 bytes each), built with one structured array."""
    vectors, magnitude = field_values(times)
    values = np.dtype([("time", "<f8"), ("b", "<f4", (3,)), ("mag", "<f4")])
    prefix = b"|Pd|%d|%d|" % (DATASET_ID, values.itemsize)
    records = np.empty(times.size, dtype=[("tag", f"S{len(prefix)}")] + values.descr)
    records["tag"] = prefix
    records["time"] = times
    records["b"] = vectors
    records["mag"] = magnitude
    return records.tobytes()


def main(argv):
    begin, end, _options = das2out.read_range(argv, "das3native_reader.py BEGIN END [OPTIONS]")
    step = das2out.nice_cadence(end - begin, MAX_RECORDS, MIN_CADENCE_US)
    times = das2out.time_grid(begin, end, step)
    out = sys.stdout.buffer
    out.write(stream_header(begin, end))
    if times.size == 0:
        out.write(no_data(begin, end))
        return
    out.write(frame("Hx", str(DATASET_ID), DATASET_HEADER.encode("utf-8")))
    out.write(data_packets(times))


if __name__ == "__main__":
    das2out.run(main)
