"""das2 streams of any size generated block by block, never held whole, and the
growth of peak memory the bounded-memory tests allow (tests/tools, tests/remote)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Growth of the peak allowed between the small and the big input: input
#: is read into 8 MB write-once buffers (tools/streamio.read_views), and
#: whether one more of them is alive at the peak depends on scheduling.
SLACK_BYTES = 10 << 20
#: How much bigger the big input is.
GROWTH = 8
#: Records per generated block (one yscan record is about 4 kB).
BLOCK_RECORDS = 256
_ITEMS = 1024
#: Distinct blocks of random values the generator cycles through.
_TEMPLATES = 4
_START_US2000 = 4.15e14

_STREAM_HEADER = (
    b'<stream version="2.2">\n'
    b'  <properties String:title="bounded memory" Datum:xTagWidth="1 s" />\n'
    b"</stream>\n"
)
_PACKET_HEADER = (
    b"<packet>\n"
    b'  <x type="little_endian_real8" units="us2000"></x>\n'
    b'  <yscan name="wave" type="little_endian_real4" zUnits="V/m" yUnits="s"'
    b' nitems="1024" yTagInterval="1e-5" yTagMin="0"></yscan>\n'
    b"</packet>\n"
)
RECORD = np.dtype([("tag", "S4"), ("x", "<f8"), ("y", "<f4", (_ITEMS,))])


def das2_blocks(megabytes: float, quantised: bool = False) -> Iterator[bytes]:
    """A das2 yscan stream of about ``megabytes`` MB, one ~1 MB block at a time
    (a few blocks of random values cycled, times always increasing)."""
    yield b"[00]%06d" % len(_STREAM_HEADER) + _STREAM_HEADER
    yield b"[01]%06d" % len(_PACKET_HEADER) + _PACKET_HEADER
    rng = np.random.default_rng(4)
    templates = []
    for _ in range(_TEMPLATES):
        block = np.zeros(BLOCK_RECORDS, dtype=RECORD)
        block["tag"] = b":01:"
        values = rng.standard_normal((BLOCK_RECORDS, _ITEMS), dtype=np.float32)
        block["y"] = np.rint(values * 4) if quantised else values
        templates.append(block)
    steps = np.arange(BLOCK_RECORDS)
    for number in range(max(1, round(megabytes * 1e6 / templates[0].nbytes))):
        block = templates[number % _TEMPLATES]
        block["x"] = _START_US2000 + (number * BLOCK_RECORDS + steps) * 1e6
        yield block.tobytes()
