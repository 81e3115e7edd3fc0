#!/usr/bin/env python3
"""Example reader: electric field waveform bursts (synthetic, deterministic).

Usage: waveform_reader.py BEGIN END [OPTIONS]

Data exist from 1979-03-01 to 1979-03-05.  Each record is one burst of 1024
samples taken at 20 kHz, as a ``<yscan>`` whose y tags are time offsets
(``renderer=waveform``), so das2_psd can turn it into spectra.  Bursts start
every second, or less often for long ranges (at most 20000 records).  The
signal is a tone drifting between 1 and 3 kHz, a 6 kHz tone that fades in
and out, and noise; it depends only on the burst time.
"""

import sys

import das2out
import numpy as np

SAMPLES = 1024
SAMPLE_INTERVAL_S = 5e-5
MAX_RECORDS = 20000
MIN_CADENCE_US = 1e6
DATA_BEGIN = "1979-03-01"
DATA_END = "1979-03-05"

PACKET_HEADER = f"""<packet>
  <x type="little_endian_real8" units="us2000" />
  <yscan type="little_endian_real4" name="efield" nitems="{SAMPLES}" yUnits="s"
         zUnits="V/m" yTagInterval="{SAMPLE_INTERVAL_S:g}" yTagMin="0">
    <properties zLabel="E (V m!a-1!n)" />
  </yscan>
</packet>
"""


def bursts(times):
    """One row of samples per burst start time (us2000)."""
    seconds = times[:, None] / 1e6 + np.arange(SAMPLES)[None, :] * SAMPLE_INTERVAL_S
    drift = 2000.0 + 1000.0 * np.sin(2 * np.pi * times / 1e6 / 600.0)
    tone = np.sin(2 * np.pi * drift[:, None] * (seconds - seconds[:, :1]))
    fade = 0.5 * (1 + np.sin(2 * np.pi * times / 1e6 / 97.0))
    high = fade[:, None] * 0.3 * np.sin(2 * np.pi * 6000.0 * seconds)
    keys = np.rint(times / 1e3).astype(np.int64)[:, None] * SAMPLES + np.arange(SAMPLES)
    noise = (das2out.hash_uniform(keys, salt=7) - 0.5) * 0.2
    return (1e-3 * (tone + high + noise)).astype("<f4")


def main(argv):
    begin, end, _options = das2out.read_range(argv, "waveform_reader.py BEGIN END [OPTIONS]")
    first, last = max(begin, das2out.parse_time(DATA_BEGIN)), min(end, das2out.parse_time(DATA_END))
    step = das2out.nice_cadence(max(last - first, 0), MAX_RECORDS, MIN_CADENCE_US)
    times = das2out.time_grid(first, last, step) if last > first else np.empty(0)
    out = sys.stdout.buffer
    out.write(das2out.stream_header([
        ("title", "Synthetic electric field waveform"),
        ("renderer", "waveform"),
        ("Datum:xTagWidth", f"{step / 1e6:g} s"),
        ("DatumRange:xCacheRange", f"{das2out.format_time(begin)} to {das2out.format_time(end)} UTC"),
        ("sourceId", "waveform_reader.py"),
    ]))
    if times.size == 0:
        out.write(das2out.no_data(begin, end))
        return
    out.write(das2out.packet("[01]", PACKET_HEADER))
    chunk = 2000
    for start in range(0, times.size, chunk):
        part = times[start:start + chunk]
        out.write(das2out.data_packets(1, [("<f8", part), ("<f4", bursts(part))]))


if __name__ == "__main__":
    das2out.run(main)
