#!/usr/bin/env python3
"""Example reader: an electric field spectrogram (synthetic, deterministic).

Usage: spectra_reader.py BEGIN END [smooth]

Data exist from 1979-03-01 to 1979-03-05.  Each record is one spectrum of
100 log-spaced frequencies from 10 Hz to 10 kHz, as a ``<yscan>``: a power-law
background, a ridge drifting between 1 and 3 kHz, and noise, all depending
only on the record time.  Records come every second (full resolution: the
server reduces long ranges, or reads them from its cache), written an hour at a
time so memory stays small.  The option ``smooth`` averages over 5 neighbouring
frequencies.
"""

import sys

import das2out
import numpy as np

CHANNELS = 100
FREQUENCIES = np.logspace(1, 4, CHANNELS)
CADENCE_US = 1e6
RECORDS_PER_WRITE = 3600
DATA_BEGIN = "1979-03-01"
DATA_END = "1979-03-05"
OPTIONS = ("smooth",)

PACKET_HEADER = f"""<packet>
  <x type="little_endian_real8" units="us2000" />
  <yscan type="little_endian_real4" name="spec_dens" nitems="{CHANNELS}" yUnits="Hz"
         zUnits="V**2 m**-2 Hz**-1"
         yTags="{','.join(f'{f:.4e}' for f in FREQUENCIES)}">
    <properties zLabel="Spectral density" />
  </yscan>
</packet>
"""


def spectra(times, smooth):
    """One spectrum per record time (us2000)."""
    drift = 2000.0 + 1000.0 * np.sin(2 * np.pi * times / 1e6 / 600.0)
    ridge = np.exp(-0.5 * (np.log10(FREQUENCIES)[None, :] - np.log10(drift)[:, None]) ** 2 / 0.02**2)
    background = 1e-12 * (FREQUENCIES / 10.0) ** -1.5
    keys = np.rint(times / 1e3).astype(np.int64)[:, None] * CHANNELS + np.arange(CHANNELS)
    noise = 1.0 + 0.5 * das2out.hash_uniform(keys, salt=11)
    values = (background[None, :] + 1e-11 * ridge) * noise
    if smooth:
        values = running_mean(values, 5)
    return values.astype("<f4")


def running_mean(values, width):
    """Mean over ``width`` neighbouring channels (edges repeated), for every row."""
    half = width // 2
    padded = np.pad(values, ((0, 0), (half, half)), mode="edge")
    cumulative = np.pad(np.cumsum(padded, axis=1), ((0, 0), (1, 0)))
    return (cumulative[:, width:] - cumulative[:, :-width]) / width


def main(argv):
    begin, end, options = das2out.read_range(argv, "spectra_reader.py BEGIN END [smooth]")
    unknown = [o for o in options if o not in OPTIONS]
    if unknown:
        raise das2out.UsageError(f"unknown option {unknown[0]!r} (known: {', '.join(OPTIONS)})")
    first, last = max(begin, das2out.parse_time(DATA_BEGIN)), min(end, das2out.parse_time(DATA_END))
    times = das2out.time_grid(first, last, CADENCE_US) if last > first else np.empty(0)
    out = sys.stdout.buffer
    out.write(das2out.stream_header([
        ("title", "Synthetic electric field spectral density"),
        ("renderer", "spectrogram"),
        ("Datum:xTagWidth", f"{CADENCE_US / 1e6:g} s"),
        ("yScaleType", "log"),
        ("zScaleType", "log"),
        ("sourceId", "spectra_reader.py"),
    ]))
    if times.size == 0:
        out.write(das2out.no_data(begin, end))
        return
    out.write(das2out.packet("[01]", PACKET_HEADER))
    smooth = "smooth" in options
    for start in range(0, times.size, RECORDS_PER_WRITE):
        chunk = times[start:start + RECORDS_PER_WRITE]
        out.write(das2out.data_packets(1, [("<f8", chunk), ("<f4", spectra(chunk, smooth))]))


if __name__ == "__main__":
    das2out.run(main)
