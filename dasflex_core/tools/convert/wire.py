"""What the das2 <-> das3 converters share: re-framing records that already
have the other version's byte layout.

A das2 data packet is a 4-byte ``:NN:`` tag and the record; a das3 one a
``|Pd|NN|LEN|`` prefix and the payload.  When both hold the same binary
values in the same order (:func:`same_wire`), a run of packets changes
version with one vectorised copy (:func:`reframe`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from dasflex_core.codecs.das2 import PacketHeader

#: Bytes of the ``:NN:`` tag in front of every das2 data packet.
DAS2_TAG_BYTES = 4

#: A numpy field's (dtype, byte offset).
FieldPlace = tuple[np.dtype, int]


def reframe(raw: bytes | memoryview, count: int, old_prefix: int, new_prefix: bytes) -> memoryview:
    """Replace the first ``old_prefix`` bytes of each of ``count`` equal packets by ``new_prefix``."""
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(count, -1)
    head = len(new_prefix)
    out = np.empty((count, head + rows.shape[1] - old_prefix), dtype=np.uint8)
    out[:, :head] = np.frombuffer(new_prefix, dtype=np.uint8)
    out[:, head:] = rows[:, old_prefix:]
    return out.data.cast("B")


def same_binary_layout(pairs: Sequence[tuple[FieldPlace, FieldPlace]],
                       sizes: tuple[int, int]) -> bool:
    """True when each (dtype, offset) pair matches and holds binary numbers only.

    ``sizes`` are the two record sizes, which must match as well.
    """
    if sizes[0] != sizes[1]:
        return False
    for (left_type, left_offset), (right_type, right_offset) in pairs:
        base = left_type.base if left_type.subdtype else left_type
        if left_type != right_type or left_offset != right_offset or base.kind not in "fiu":
            return False
    return True


def same_wire(header: PacketHeader, wire: np.dtype,
              links: Iterable[tuple[str, str, int | None]]) -> bool:
    """True when a das3 payload of dtype ``wire`` is the das2 record of ``header``, byte for byte.

    ``links`` pairs every das2 field name with its das3 field key and
    component (a component, i.e. part of a vector, never matches).
    """
    das2_layout = dict(header.dtype.fields or {})
    das3_layout = dict(wire.fields or {})
    pairs = []
    for name, key, component in links:
        if component is not None:
            return False
        dtype, offset = das2_layout[name][:2]
        pairs.append(((dtype, offset - DAS2_TAG_BYTES), das3_layout[key][:2]))
    return same_binary_layout(pairs, (header.record_size, wire.itemsize))
