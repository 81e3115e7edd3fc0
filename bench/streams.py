"""Deterministic das2 benchmark streams (binary, little-endian real8 us2000 ``<x>``).

* :func:`write_yscan_stream` - waveform/spectrogram-like: one ``<yscan>`` of
  ``nitems`` little-endian float32 per packet, one packet per second.
* :func:`write_y_stream` - small packets: ``ny`` float32 ``<y>`` planes,
  ten packets per second.

Both write at least ``megabytes`` (10^6 bytes) and return the byte count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dasflex_core.codecs.das2 import (
    Das2Writer,
    PacketHeader,
    Properties,
    StreamHeader,
    parse_packet_header,
)

_START_US2000 = 4.15e14  # 2013-02-24
_BLOCK_BYTES = 8 << 20


def _stream_header(title: str) -> StreamHeader:
    properties = Properties()
    properties.set("title", title)
    properties.set("xTagWidth", 1.0, units="s")
    return StreamHeader(properties=properties)


def _write_stream(path: Path, megabytes: float, title: str, header_xml: str, fill_block) -> int:
    parsed = parse_packet_header(header_xml.encode(), 1)
    header = PacketHeader(1, parsed.planes, parsed.properties)  # written das2C style
    target = int(megabytes * 1_000_000)
    with open(path, "wb") as out:
        writer = Das2Writer(out.write)
        writer.write_stream_header(_stream_header(title))
        writer.write_packet_header(header)
        written = out.tell()
        per_block = max(1, _BLOCK_BYTES // header.dtype.itemsize)
        first = 0
        rng = np.random.default_rng(2026)
        while written < target:
            count = min(per_block, -(-(target - written) // header.dtype.itemsize))
            records = np.zeros(count, dtype=header.record_dtype)
            fill_block(records, first, rng)
            writer.write_records(header, records)
            written = out.tell()
            first += count
    return written


def write_yscan_stream(path: str | Path, megabytes: float, nitems: int = 1024) -> int:
    """Write a ``<x>`` + ``<yscan nitems>`` float32 stream of about ``megabytes`` MB."""
    xml = (
        "<packet>\n"
        '  <x type="little_endian_real8" units="us2000"></x>\n'
        f'  <yscan name="wave" type="little_endian_real4" units="" zUnits="V/m" yUnits="s"'
        f' nitems="{nitems}" yTagInterval="1e-5" yTagMin="0"></yscan>\n'
        "</packet>\n"
    )

    def fill(records: np.ndarray, first: int, rng: np.random.Generator) -> None:
        records["x0"] = _START_US2000 + (first + np.arange(len(records))) * 1e6
        records["yscan1"] = rng.standard_normal((len(records), nitems), dtype=np.float32)

    return _write_stream(Path(path), megabytes, "bench yscan stream", xml, fill)


def write_y_stream(path: str | Path, megabytes: float, ny: int = 4) -> int:
    """Write a ``<x>`` + ``ny`` float32 ``<y>`` stream of about ``megabytes`` MB."""
    planes = "".join(
        f'  <y name="y{index}" type="little_endian_real4" units="nT"></y>\n' for index in range(ny)
    )
    xml = f'<packet>\n  <x type="little_endian_real8" units="us2000"></x>\n{planes}</packet>\n'

    def fill(records: np.ndarray, first: int, rng: np.random.Generator) -> None:
        records["x0"] = _START_US2000 + (first + np.arange(len(records))) * 1e5
        for index in range(ny):
            records[f"y{index + 1}"] = rng.standard_normal(len(records), dtype=np.float32)

    return _write_stream(Path(path), megabytes, "bench y stream", xml, fill)
