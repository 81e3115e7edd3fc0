#!/usr/bin/env python3
"""Example reader behind authorization: a sine-shaped spectral ridge.

Usage: auth_reader.py BEGIN END [OPTIONS]

Any time range works.  Writes at most 300 spectra of 100 log-spaced
frequencies (10 Hz to 10 kHz): a Gaussian ridge whose frequency follows a
sine of period one day, over a flat background.  About 5 % of the records
are left out (gaps) and about 2 % of the values are fill (-1e31).  Values
depend only on the time.  Options are ignored.
"""

import sys

import das2out
import numpy as np

CHANNELS = 100
FREQUENCIES = np.logspace(1, 4, CHANNELS)
MAX_RECORDS = 300
MIN_CADENCE_US = 1e6
FILL = -1e31

PACKET_HEADER = f"""<packet>
  <x type="little_endian_real8" units="us2000" />
  <yscan type="little_endian_real4" name="power" nitems="{CHANNELS}" yUnits="Hz"
         zUnits="V**2 m**-2 Hz**-1" yTags="{','.join(f'{f:.4e}' for f in FREQUENCIES)}">
    <properties double:zFill="{FILL:g}" />
  </yscan>
</packet>
"""


def spectra(times):
    centre = 2.5 + 1.0 * np.sin(2 * np.pi * times / 86400e6)
    ridge = np.exp(-0.5 * (np.log10(FREQUENCIES)[None, :] - centre[:, None]) ** 2 / 0.1**2)
    values = 1e-12 + 1e-9 * ridge
    keys = np.rint(times / 1e3).astype(np.int64)[:, None] * CHANNELS + np.arange(CHANNELS)
    values[das2out.hash_uniform(keys, salt=3) < 0.02] = FILL
    return values.astype("<f4")


def main(argv):
    begin, end, _options = das2out.read_range(argv, "auth_reader.py BEGIN END [OPTIONS]")
    step = das2out.nice_cadence(end - begin, MAX_RECORDS, MIN_CADENCE_US)
    times = das2out.time_grid(begin, end, step)
    keep = das2out.hash_uniform(np.rint(times / 1e3).astype(np.int64), salt=5) >= 0.05
    times = times[keep]
    out = sys.stdout.buffer
    out.write(das2out.stream_header([
        ("title", "Protected example: sine ridge spectrogram"),
        ("renderer", "spectrogram"),
        ("Datum:xTagWidth", f"{step / 1e6:g} s"),
        ("yScaleType", "log"),
        ("zScaleType", "log"),
        ("sourceId", "auth_reader.py"),
    ]))
    if times.size == 0:
        out.write(das2out.no_data(begin, end))
        return
    out.write(das2out.packet("[01]", PACKET_HEADER))
    out.write(das2out.data_packets(1, [("<f8", times), ("<f4", spectra(times))]))


if __name__ == "__main__":
    das2out.run(main)
