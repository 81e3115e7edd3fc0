"""Whole-stream das2 <-> das3 converters, built on the model mapping of :mod:`.das2to3`.

:func:`convert_das2_to_das3` and :func:`convert_das3_to_das2` turn the events
of one stream version into the bytes of the other, a packet at a time, with
no fast paths: the reference the stream tools (``das2_to_das3``,
``das3_to_das2``) are tested against.  This module loads the das3 codec
(with its XML escaping), which the mapping alone does not need.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import das2_exception_type, das3_exception_type
from . import das2 as d2
from .das2to3 import (
    Das2Mapping,
    Das3Mapping,
    das2_records,
    das3_records,
    map_das2_packet,
    map_das3_dataset,
    stream_header_from_das2,
    stream_header_to_das2,
)
from .das3 import encode_comment, encode_exception, encode_header, encode_packet
from .das3_encode import encode_records
from .das3_fields import packet_fields
from .das3_model import Dataset
from .das3_xml import dataset_xml, stream_header_xml
from .events import (
    Comment,
    DataRun,
    Event,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)


def convert_das2_to_das3(events: Iterable[Event]) -> Iterator[bytes]:
    """das3 bytes for das2 events (binary values kept, text values as text)."""
    converter = _Das2ToDas3Packets()
    for event in events:
        packet = converter.dispatch(event)
        if packet is not None:
            yield packet


class _Das2ToDas3Packets(EventStream[bytes]):
    """The das3 packets for each das2 event."""

    def __init__(self) -> None:
        self.stream: d2.StreamHeader | None = None
        self.mappings: dict[int, Das2Mapping] = {}

    def on_stream_start(self, event: StreamStart) -> bytes:
        self.stream = event.header
        return encode_packet("Sx", None, stream_header_xml(stream_header_from_das2(event.header)))

    def on_packet_header(self, event: HeaderDefined) -> bytes:
        mapping = map_das2_packet(event.header, self.stream)
        self.mappings[event.packet_id] = mapping
        return encode_header(event.packet_id, dataset_xml(mapping.dataset))

    def on_data(self, run: DataRun) -> bytes:
        mapping = self.mappings[run.packet_id]
        fields = packet_fields(mapping.dataset)
        return encode_records(run.packet_id, mapping.dataset,
                              das3_records(fields, mapping.sources, run.records))

    def on_comment(self, event: Comment) -> bytes:
        return encode_comment(event.type, event.source, event.value)

    def on_exception(self, event: StreamException) -> bytes:
        return encode_exception(das3_exception_type(event.type), event.message)


def convert_das3_to_das2(events: Iterable[Event]) -> Iterator[bytes]:
    """das2 bytes for das3 events (raises StreamError for datasets without a das2 form)."""
    converter = _Das3ToDas2Packets()
    for event in events:
        packet = converter.dispatch(event)
        if packet is not None:
            yield packet


class _Das3ToDas2Packets(EventStream[bytes]):
    """The das2 packets for each das3 event."""

    def __init__(self) -> None:
        self.mappings: dict[int, Das3Mapping] = {}

    def on_stream_start(self, event: StreamStart) -> bytes:
        header = stream_header_to_das2(event.header)
        return d2.encode_header_packet(0, header.to_xml())

    def on_packet_header(self, event: HeaderDefined) -> bytes:
        if isinstance(event.header, Dataset):
            mapping = map_das3_dataset(event.header, event.packet_id)
        else:  # a das2 <packet> already, in das3 framing
            mapping = Das3Mapping(event.header, {name: (name, None)
                                                 for name in event.header.fields})
        self.mappings[event.packet_id] = mapping
        return d2.encode_header_packet(event.packet_id, mapping.header.to_xml())

    def on_data(self, run: DataRun) -> bytes:
        mapping = self.mappings[run.packet_id]
        return d2.encode_records(mapping.header, das2_records(mapping, run.records))

    def on_comment(self, event: Comment) -> bytes:
        return d2.encode_comment(event.type, event.source, event.value)

    def on_exception(self, event: StreamException) -> bytes:
        return d2.encode_exception(das2_exception_type(event.type), event.message)
