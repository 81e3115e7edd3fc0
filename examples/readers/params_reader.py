#!/usr/bin/env python3
"""Example reader: auto- and cross-spectra of B and E chosen by flags.

Usage: params_reader.py BEGIN END [FLAG ...]

Data exist on 2008-06-29.  FLAGs choose spectra among the components Bx By
Bz Ex Ey Ez: ``BxBx`` is the auto-spectrum of Bx, ``BxEy`` the cross-spectrum
of Bx and Ey (any pair, in that component order).  Cross-spectra are written
as magnitude and phase, or as real and imaginary parts with the flag
``complex``.  Without flags the six auto-spectra are written.  Each spectrum
has 32 log-spaced frequencies from 1 Hz to 4 kHz; records come every 0.25 s
or less often (at most 5000 records).  Values depend only on the time.
"""

import sys
from itertools import combinations

import das2out
import numpy as np

COMPONENTS = ("Bx", "By", "Bz", "Ex", "Ey", "Ez")
AUTOS = tuple(c + c for c in COMPONENTS)
CROSSES = tuple(a + b for a, b in combinations(COMPONENTS, 2))
CHANNELS = 32
FREQUENCIES = np.logspace(0, np.log10(4000.0), CHANNELS)
MAX_RECORDS = 5000
MIN_CADENCE_US = 2.5e5
DATA_BEGIN = "2008-06-29"
DATA_END = "2008-06-30"
UNITS = {"B": "nT", "E": "V m**-1"}


def choose(options):
    """The spectra asked for, and whether cross-spectra are complex."""
    known = set(AUTOS) | set(CROSSES) | {"complex"}
    unknown = [o for o in options if o not in known]
    if unknown:
        raise das2out.UsageError(f"unknown flag {unknown[0]!r} (use e.g. BxBx, BxEy, complex)")
    chosen = [o for o in AUTOS + CROSSES if o in options] or list(AUTOS)
    return chosen, "complex" in options


def plane_names(spectrum, complex_parts):
    if spectrum in AUTOS:
        return [spectrum]
    suffixes = ("re", "im") if complex_parts else ("mag", "phase")
    return [f"{spectrum}_{s}" for s in suffixes]


def plane_units(name):
    first, second = UNITS[name[0]], UNITS[name[2]]
    if name.endswith("_phase"):
        return "deg"
    if first == second:
        return f"{first}**2 Hz**-1".replace("V m**-1**2", "V**2 m**-2")
    return f"{first} {second} Hz**-1"


def packet_header(names):
    tags = ",".join(f"{f:.4e}" for f in FREQUENCIES)
    planes = "".join(
        f'  <yscan type="little_endian_real4" name="{name}" nitems="{CHANNELS}" yUnits="Hz"\n'
        f'         zUnits="{plane_units(name)}" yTags="{tags}" />\n' for name in names)
    return f'<packet>\n  <x type="little_endian_real8" units="us2000" />\n{planes}</packet>\n'


def auto_spectrum(times, index):
    keys = np.rint(times / 1e3).astype(np.int64)[:, None] * CHANNELS + np.arange(CHANNELS)
    noise = 1.0 + 0.5 * das2out.hash_uniform(keys, salt=100 + index)
    level = 10.0 ** (-index % 3) * (1e-2 if index < 3 else 1e-8)
    return level * (FREQUENCIES[None, :] ** -2.0) * noise


def planes(times, spectrum, complex_parts):
    first, second = COMPONENTS.index(spectrum[:2]), COMPONENTS.index(spectrum[2:])
    power_a = auto_spectrum(times, first)
    if first == second:
        return [power_a]
    power_b = auto_spectrum(times, second)
    keys = np.rint(times / 1e3).astype(np.int64)[:, None] * CHANNELS + np.arange(CHANNELS)
    phase = 2 * np.pi * das2out.hash_uniform(keys, salt=7 * first + second)
    coherence = 0.5 + 0.4 * np.sin(2 * np.pi * times / 1e6 / 300.0)[:, None]
    magnitude = np.sqrt(power_a * power_b) * coherence
    if complex_parts:
        return [magnitude * np.cos(phase), magnitude * np.sin(phase)]
    return [magnitude, np.degrees(phase) - 180.0]


def main(argv):
    begin, end, options = das2out.read_range(argv, "params_reader.py BEGIN END [FLAG ...]")
    chosen, complex_parts = choose(options)
    first, last = max(begin, das2out.parse_time(DATA_BEGIN)), min(end, das2out.parse_time(DATA_END))
    step = das2out.nice_cadence(max(last - first, 0), MAX_RECORDS, MIN_CADENCE_US)
    times = das2out.time_grid(first, last, step) if last > first else np.empty(0)
    out = sys.stdout.buffer
    out.write(das2out.stream_header([
        ("title", "Synthetic B and E field spectral matrix"),
        ("renderer", "spectrogram"),
        ("Datum:xTagWidth", f"{step / 1e6:g} s"),
        ("sourceId", "params_reader.py"),
    ]))
    if times.size == 0:
        out.write(das2out.no_data(begin, end))
        return
    names = [name for s in chosen for name in plane_names(s, complex_parts)]
    out.write(das2out.packet("[01]", packet_header(names)))
    values = [plane.astype("<f4") for s in chosen for plane in planes(times, s, complex_parts)]
    out.write(das2out.data_packets(1, [("<f8", times)] + [("<f4", v) for v in values]))


if __name__ == "__main__":
    das2out.run(main)
