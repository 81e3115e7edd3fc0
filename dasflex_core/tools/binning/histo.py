"""Histogram accumulation for das2_histo.

Per data plane the distinct values are kept sorted with a ``(values, items)``
count matrix; each data run is merged with one ``np.unique`` and a
``np.add.at``, so the cost is per run, not per value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import BinaryIO

import numpy as np

from dasflex_core.codecs import das2_style
from dasflex_core.codecs.das2_headers import PacketHeader, Plane, StreamHeader, parse_encoding
from dasflex_core.codecs.das2_props import Properties, Property, cascade
from dasflex_core.codecs.das2_writer import encode_records
from dasflex_core.codecs.events import DataRun, HeaderDefined, StreamStart
from dasflex_core.errors import StreamError
from dasflex_core.tools.binning.props import SlotProperties
from dasflex_core.tools.streamio import ToolStream, run_stream

PROGRAM = "das2_histo"
#: Largest count a float32 holds exactly (das2C switches to real8 beyond it).
_FLOAT32_EXACT = 16_777_217
_LABELS = {"counts": "Value Count", "below": "Fraction at or below", "above": "Fraction at or above"}
_TITLES = {"counts": "", "below": "Normalized Cumulative ", "above": "Normalized Reverse Cumulative "}


@dataclass(frozen=True, slots=True)
class HistoConfig:
    """``mode``: 'counts', 'below' (cumulative) or 'above' (reverse cumulative)."""

    mode: str = "counts"


@dataclass(slots=True)
class Histogram:
    """Sorted distinct values and their counts per item."""

    items: int
    fill: float = 0.0
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    counts: np.ndarray | None = None

    def add(self, data: np.ndarray) -> None:
        """Count the non-fill values of a ``(records, items)`` block."""
        data = np.asarray(data, dtype=np.float64).reshape(len(data), self.items)
        rows, columns = np.nonzero(data != self.fill)
        if len(rows) == 0:
            return
        seen = data[rows, columns]
        merged, inverse = np.unique(np.concatenate((self.values, seen)), return_inverse=True)
        counts = np.zeros((len(merged), self.items))
        if self.counts is not None and len(self.values):
            counts[inverse[: len(self.values)]] = self.counts
        np.add.at(counts, (inverse[len(self.values):], columns), 1.0)
        self.values, self.counts = merged, counts

    def result(self, mode: str) -> np.ndarray:
        """Counts, or cumulative fractions (das2C's definitions)."""
        counts = self.counts if self.counts is not None else np.zeros((0, self.items))
        if mode == "below" and len(counts):
            counts = np.cumsum(counts, axis=0)
            total = counts[-1]
            counts = np.where(total > 0, counts / np.where(total > 0, total, 1.0), counts)
        elif mode == "above" and len(counts):
            counts = np.cumsum(counts[::-1], axis=0)[::-1]
            total = counts[0]
            counts = np.where(total > 0, counts / np.where(total > 0, total, 1.0), counts)
        return counts


@dataclass(slots=True)
class _Output:
    """One output packet type: its header and histogram."""

    header: PacketHeader
    histogram: Histogram


class HistoStream(ToolStream):
    """das2 events in, histogram stream out through ``emit``."""

    def __init__(self, config: HistoConfig, emit: Callable[[bytes], object]) -> None:
        self.config = config
        self.emit = emit
        self.stream_props: Properties | None = None
        self.input_props: Properties | None = None
        self.inputs: dict[int, tuple[PacketHeader, list[tuple[int, _Output]]]] = {}
        self.next_id = 1

    def finish(self) -> None:
        """Write the histograms of every packet type still defined, in ID order."""
        for packet_id in sorted(self.inputs):
            self._write(packet_id)

    def on_stream_start(self, event: StreamStart) -> None:
        header: StreamHeader = event.header
        mode = self.config.mode
        self.input_props = header.properties
        props = SlotProperties(Properties())
        title = header.properties.raw("title")
        prefix = f"{title.text} - " if title is not None else ""
        props.set("title", f"{prefix}{_TITLES[mode]}Histogram")
        summary = header.properties.raw("summary")
        if summary is not None:
            props.set("summary", summary.text)
        props.set("yFill", "0.000000", "double")
        props.set("zFill", "0.000000", "double")
        self.stream_props = props.to_properties()
        out = StreamHeader(properties=self.stream_props)
        self.emit(das2_style.stream_header_packet(out, PROGRAM))

    def on_packet_header(self, event: HeaderDefined) -> None:
        if event.packet_id in self.inputs:
            self._write(event.packet_id)
        header: PacketHeader = event.header
        outputs = []
        for index, plane in enumerate(header.planes):
            if plane.kind == "x":
                continue
            if self.next_id > 99:
                raise StreamError("das2_histo ran out of output packet IDs", event.offset)
            outputs.append((index, self._output_for(header, plane)))
        self.inputs[event.packet_id] = (header, outputs)

    def _output_for(self, header: PacketHeader, plane: Plane) -> _Output:
        label = _LABELS[self.config.mode]
        levels = (plane.properties, header.properties, self.input_props)
        props = SlotProperties(plane.properties)
        if plane.kind == "yscan":
            y_label = cascade("yLabel", *levels)
            if y_label is not None:
                props.set("yLabel", y_label.text)
            props.set("zLabel", label)
            x_label = cascade("zLabel", *levels)
        else:
            props.set("yLabel", label)
            x_label = cascade("yLabel", *levels)
        x_props = Properties([Property("xLabel", "", x_label.text)]) if x_label is not None else Properties()
        value_units = plane.zunits if plane.kind == "yscan" else plane.units
        x_plane = Plane("x", parse_encoding("little_endian_real8"), units=value_units, properties=x_props)
        out_plane = replace(
            plane, encoding=parse_encoding("little_endian_real4"), name=f"{plane.name}_hist",
            units="" if plane.kind != "yscan" else plane.units,
            zunits="" if plane.kind == "yscan" else plane.zunits,
            properties=props.to_properties(),
        )
        packet = PacketHeader(self.next_id, (x_plane, out_plane))
        self.next_id += 1
        fill_name = "zFill" if plane.kind in ("yscan", "z") else "yFill"
        fill_item = cascade(fill_name, out_plane.properties, packet.properties, self.stream_props)
        fill = float(fill_item.value()) if fill_item is not None else 0.0
        return _Output(packet, Histogram(plane.nitems, fill))

    def on_data(self, run: DataRun) -> None:
        entry = self.inputs.get(run.packet_id)
        if entry is None:
            return
        header, outputs = entry
        for index, output in outputs:
            output.histogram.add(run.records[header.fields[index]])

    def _write(self, packet_id: int) -> None:
        _, outputs = self.inputs.pop(packet_id)
        for _, output in outputs:
            self._write_histogram(output)

    def _write_histogram(self, output: _Output) -> None:
        histogram = output.histogram
        header = output.header
        result = histogram.result(self.config.mode)
        if self.config.mode == "counts" and len(result) and result.max() >= _FLOAT32_EXACT:
            wide = replace(header.planes[1], encoding=parse_encoding("little_endian_real8"))
            header = PacketHeader(header.packet_id, (header.planes[0], wide))
        self.emit(das2_style.packet_header_packet(header))
        records = np.zeros(len(histogram.values), dtype=header.record_dtype)
        records[header.fields[0]] = histogram.values
        records[header.fields[1]] = result.reshape(records[header.fields[1]].shape)
        self.emit(encode_records(header, records))


def histo_stdin(config: HistoConfig, source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Histogram the das2 stream on ``source`` (stdin) into ``sink`` (stdout); return 0."""
    return run_stream(lambda write: HistoStream(config, write), source, sink)
