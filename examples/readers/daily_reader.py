#!/usr/bin/env python3
"""Example reader over real files, one CSV file per day found by a time template.

Usage: daily_reader.py BEGIN END [OPTIONS]

Opens ``../data/daily/YYYY/YYYY-MM-DD.csv`` (relative to this program) for
every day overlapping [BEGIN, END), keeps the rows with BEGIN <= time < END
and writes them as a das2.2 binary stream (temperature in deg C and pressure
in hPa).  Missing days are gaps, not errors.  No options are defined.
"""

import sys
from pathlib import Path

import das2out
import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "daily"
FILE_TEMPLATE = "{year:04d}/{year:04d}-{month:02d}-{day:02d}.csv"
DAY_US = 86400e6
EPOCH_2000 = np.datetime64("2000-01-01T00:00:00", "us")

PACKET_HEADER = """<packet>
  <x type="little_endian_real8" units="us2000" />
  <y type="little_endian_real4" name="temperature" units="deg C">
    <properties yLabel="Temperature (!Uo!NC)" />
  </y>
  <y type="little_endian_real4" name="pressure" units="hPa">
    <properties yLabel="Pressure (hPa)" />
  </y>
</packet>
"""


def day_files(begin, end):
    """The existing daily files whose day overlaps [begin, end), in time order."""
    first = int(np.floor(begin / DAY_US))
    last = int(np.ceil(end / DAY_US))
    days = EPOCH_2000 + (np.arange(first, last) * 86400).astype("timedelta64[s]")
    paths = []
    for day in days.astype("datetime64[D]").tolist():
        path = DATA_DIR / FILE_TEMPLATE.format(year=day.year, month=day.month, day=day.day)
        if path.is_file():
            paths.append(path)
    return paths


def read_day(path):
    """(times us2000, temperature, pressure) from one daily CSV file."""
    rows = np.loadtxt(path, delimiter=",", skiprows=1, dtype=str, ndmin=2)
    stamps = np.char.rstrip(rows[:, 0], "Z").astype("datetime64[us]")
    times = (stamps - EPOCH_2000).astype(np.int64).astype(np.float64)
    return times, rows[:, 1].astype(np.float32), rows[:, 2].astype(np.float32)


def read_range(begin, end):
    """Every row with begin <= time < end from the files overlapping the range."""
    parts = [read_day(path) for path in day_files(begin, end)]
    if not parts:
        return np.empty(0), np.empty(0, np.float32), np.empty(0, np.float32)
    times, temperature, pressure = (np.concatenate(column) for column in zip(*parts, strict=True))
    keep = (times >= begin) & (times < end)
    return times[keep], temperature[keep], pressure[keep]


def main(argv):
    begin, end, _options = das2out.read_range(argv, "daily_reader.py BEGIN END [OPTIONS]")
    times, temperature, pressure = read_range(begin, end)
    out = sys.stdout.buffer
    out.write(das2out.stream_header([
        ("title", "Weather station, one CSV file per day"),
        ("Datum:xTagWidth", "1200 s"),
        ("DatumRange:xRange", f"{das2out.format_time(begin)} to {das2out.format_time(end)} UTC"),
        ("sourceId", "daily_reader.py"),
    ]))
    if times.size == 0:
        out.write(das2out.no_data(begin, end))
        return
    out.write(das2out.packet("[01]", PACKET_HEADER))
    out.write(das2out.data_packets(1, [("<f8", times), ("<f4", temperature), ("<f4", pressure)]))


if __name__ == "__main__":
    das2out.run(main)
