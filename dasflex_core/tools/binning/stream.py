"""The das2 stream side of the binning tools (das2_bin_avgsec & co).

:class:`StreamBinner` reads das2 events, keeps one
:class:`~dasflex_core.tools.binning.core.BinAccumulator` per packet ID and writes
the binned stream.  The three binning programs differ only in their
:class:`BinnerConfig`.  Header edits follow das2C (``research/das2c.md`` §4.1):
x units become us2000, waveform yscans may collapse to a ``<y>``, statistics
planes are appended, and the stream header gets xTagWidth/xCacheResolution/
xCacheResInfo.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from dasflex_core.codecs import das2_style
from dasflex_core.codecs.das2_headers import PacketHeader, Plane, StreamHeader, plane_fill
from dasflex_core.codecs.das2_props import Properties, Property, cascade, number_of
from dasflex_core.codecs.das2_writer import encode_comment, encode_exception, encode_records
from dasflex_core.codecs.events import Comment, DataRun, HeaderDefined, StreamException, StreamStart
from dasflex_core.dastime import parse_us2000, us2000_from_das2
from dasflex_core.errors import StreamError
from dasflex_core.tools.binning.core import (
    BinAccumulator,
    BinBatch,
    BinOptions,
    PlaneSpec,
    PlaneStats,
    bin_numbers,
)
from dasflex_core.tools.binning.props import SlotProperties
from dasflex_core.tools.streamio import ToolStream, run_pipelined
from dasflex_core.units import seconds_per_unit

#: Comment types that ``-p`` drops.
PROGRESS_TYPES = frozenset({"taskProgress", "taskSize"})


@dataclass(frozen=True, slots=True)
class BinnerConfig:
    """What one binning program does.

    ``width`` is in microseconds (time binners) or raw x units (``raw_x``).
    ``origin`` fixes bin 0 (us2000, or raw x units), else the first x value.
    """

    program: str
    width: float
    origin: float | None = None
    options: BinOptions = BinOptions()
    raw_x: bool = False
    drop_progress: bool = False
    pass_oob: bool = True
    max_input_planes: int = 99
    edit_stream_header: bool = True
    reemit_progress: bool = False


@dataclass(slots=True)
class _PacketState:
    """Per packet ID: the output header and the accumulator."""

    header_in: PacketHeader
    header_out: PacketHeader | None
    accumulator: BinAccumulator | None
    x_index: int
    data_indexes: list[int]
    x_to_us2000: Callable[[np.ndarray], np.ndarray] | None
    groups: list[_Group]


class StreamBinner(ToolStream):
    """Turns das2 events into the binned das2 stream written through ``writer``."""

    def __init__(self, config: BinnerConfig, emit: Callable[[bytes], object]) -> None:
        self.config = config
        self.emit = emit
        self.stream_in: StreamHeader | None = None
        self.origin = config.origin
        self.packets: dict[int, _PacketState] = {}
        self.progress = ProgressLimiter()

    # -- events -------------------------------------------------------------
    def finish(self) -> None:
        """Flush every open bin, in packet ID order."""
        for packet_id in sorted(self.packets):
            self._flush(packet_id)

    # -- stream header ------------------------------------------------------
    def on_stream_start(self, event: StreamStart) -> None:
        header: StreamHeader = event.header
        self.stream_in = header
        props = header.properties.copy()
        if self.config.edit_stream_header:
            props = edit_binned_stream_properties(props, self.config.width * 1e-6)
        out = StreamHeader(version="2.2", compression="none", properties=props)
        self.emit(das2_style.stream_header_packet(out, self.config.program))

    # -- packet headers -----------------------------------------------------
    def on_packet_header(self, event: HeaderDefined) -> None:
        packet_id = event.packet_id
        if packet_id in self.packets:
            self._flush(packet_id)
        header: PacketHeader = event.header
        x_indexes = [i for i, plane in enumerate(header.planes) if plane.kind == "x"]
        if len(x_indexes) != 1:
            problem = "has no <x> plane to bin on" if not x_indexes else "has more than one <x> plane"
            raise StreamError(f"packet {packet_id:02d} {problem}", event.offset)
        if len(header.planes) >= self.config.max_input_planes:
            self.packets[packet_id] = _PacketState(header, None, None, 0, [], None, [])
            self.emit(encode_exception(
                "ServerError",
                f"Only 99 output planes supported. Due to requested extra planes (if any) "
                f"only {self.config.max_input_planes} input planes are supported.",
            ))
            return
        x_index = x_indexes[0]
        x_plane = header.planes[x_index]
        converter = None if self.config.raw_x else _time_converter(x_plane, packet_id, event.offset)
        data_indexes = [i for i in range(len(header.planes)) if i != x_index]
        out_header, specs = self._output_header(header, x_index)
        groups = _group_planes(specs, data_indexes, merge=not self.config.options.stddev)
        accumulator = BinAccumulator([group.spec for group in groups], self.config.options)
        self.packets[packet_id] = _PacketState(
            header, out_header, accumulator, x_index, data_indexes, converter, groups
        )
        self.emit(das2_style.packet_header_packet(out_header))

    def _output_header(self, header: PacketHeader, x_index: int) -> tuple[PacketHeader, list[PlaneSpec]]:
        """The binned packet header and the binning spec of each data plane."""
        stream_props = self.stream_in.properties if self.stream_in else None
        planes: list[Plane] = []
        extra: list[Plane] = []
        specs: list[PlaneSpec] = []
        options = self.config.options
        for index, plane in enumerate(header.planes):
            out = dataclasses.replace(plane, properties=plane.properties.copy())
            if index == x_index:
                if not self.config.raw_x and out.encoding.kind != "time":
                    out.units = "us2000"
                planes.append(out)
                continue
            fill = plane_fill(plane, header, self.stream_in)
            fill = -1e31 if fill is None else fill
            collapse = self._should_collapse(plane, header, stream_props)
            if collapse:
                out = _collapsed_plane(plane, fill)
            specs.append(PlaneSpec(plane.nitems, fill, collapse))
            extra.extend(_statistics_planes(out, options))
            planes.append(out)
        out_header = PacketHeader(
            header.packet_id, tuple(planes + extra), header.properties.copy(), header.group
        )
        return out_header, specs

    def _should_collapse(self, plane: Plane, header: PacketHeader, stream_props: Properties | None) -> bool:
        """das2C's waveform rule: renderer=waveform, time offsets, span <= bin width."""
        if plane.kind != "yscan" or self.config.raw_x:
            return False
        renderer = cascade("renderer", plane.properties, header.properties, stream_props)
        if renderer is None or renderer.text != "waveform":
            return False
        scale = seconds_per_unit(plane.yunits)
        if scale is None:
            return False
        tags = plane.ytag_values()
        span_us = (float(tags.max()) - float(tags.min())) * scale * 1e6
        return span_us <= self.config.width

    # -- data ---------------------------------------------------------------
    def on_data(self, run: DataRun) -> None:
        state = self.packets.get(run.packet_id)
        if state is None or state.accumulator is None:
            return
        header = state.header_in
        records = run.records
        x = np.asarray(records[header.fields[state.x_index]], dtype=np.float64)
        if state.x_to_us2000 is not None:
            x = state.x_to_us2000(x)
        if self.origin is None:
            self.origin = float(x[0])
        bins = bin_numbers(x, self.origin, self.config.width)
        values = [_group_block(records, header, group) for group in state.groups]
        batch = state.accumulator.add(bins, values)
        if batch is not None:
            self._write_batch(state, batch)

    def _flush(self, packet_id: int) -> None:
        state = self.packets.get(packet_id)
        if state is None or state.accumulator is None:
            return
        batch = state.accumulator.flush()
        if batch is not None:
            self._write_batch(state, batch)

    def _write_batch(self, state: _PacketState, batch: BinBatch) -> None:
        header = state.header_out
        assert header is not None and self.origin is not None
        records = np.zeros(len(batch), dtype=header.record_dtype)
        fields = header.fields
        records[fields[state.x_index]] = self.config.width * (batch.bins + 0.5) + self.origin
        data_fields = [f for i, f in enumerate(fields[: len(state.header_in.planes)]) if i != state.x_index]
        extra = iter(fields[len(state.header_in.planes):])
        options = self.config.options
        for name, stats in zip(data_fields, _split_groups(batch, state.groups), strict=True):
            _store(records, name, stats.mean)
            if options.minmax:
                _store(records, next(extra), stats.minimum)
                _store(records, next(extra), stats.maximum)
            if options.stddev:
                _store(records, next(extra), stats.stddev)
            if options.peak:
                _store(records, next(extra), stats.peak)
        self.emit(encode_records(header, records))

    # -- out of band --------------------------------------------------------
    def on_exception(self, event: StreamException) -> None:
        if self.config.pass_oob:
            self.emit(encode_exception(event.type, event.message))

    def on_comment(self, event: Comment) -> None:
        if not self.config.pass_oob:
            return
        if self.config.drop_progress and event.type in PROGRESS_TYPES:
            return
        if self.config.reemit_progress and event.type == "taskProgress":
            if self.progress.should_emit():
                value = str(_c_atoi(event.value))
                self.emit(encode_comment("taskProgress", self.config.program, value))
            return
        self.emit(encode_comment(event.type, event.source, event.value))


def _store(records: np.ndarray, name: str, values: np.ndarray | None) -> None:
    """Assign a ``(bins, items)`` statistic to a record field (1-item planes flatten)."""
    assert values is not None
    target = records[name]
    records[name] = values.reshape(target.shape)


def _as_2d(column: np.ndarray) -> np.ndarray:
    """A record field as a ``(records, items)`` array (its own dtype, no copy)."""
    values = np.asarray(column)
    return values.reshape(len(values), -1)


@dataclass(frozen=True, slots=True)
class _Group:
    """Consecutive data planes binned as one block of columns."""

    spec: PlaneSpec
    planes: tuple[int, ...]       # indexes in the packet header
    widths: tuple[int, ...]       # output items of each member


def _group_planes(specs: list[PlaneSpec], indexes: list[int], merge: bool) -> list[_Group]:
    """Merge runs of non-collapsed planes into column blocks (one numpy pass each)."""
    groups: list[_Group] = []
    pending: list[tuple[int, PlaneSpec]] = []

    def close() -> None:
        if not pending:
            return
        fills = np.concatenate([np.full(spec.items, spec.fill, dtype=np.float64) for _, spec in pending])
        items = int(sum(spec.items for _, spec in pending))
        fill: float | np.ndarray = fills if len(pending) > 1 else pending[0][1].fill
        groups.append(_Group(
            PlaneSpec(items, fill),  # type: ignore[arg-type]
            tuple(index for index, _ in pending),
            tuple(spec.items for _, spec in pending),
        ))
        pending.clear()

    for index, spec in zip(indexes, specs, strict=True):
        if spec.collapse or not merge:
            close()
            groups.append(_Group(spec, (index,), (spec.out_items,)))
        else:
            pending.append((index, spec))
    close()
    return groups


def _group_block(records: np.ndarray, header: PacketHeader, group: _Group) -> np.ndarray:
    """The ``(records, columns)`` block of a group, a strided view when possible."""
    fields = [header.fields[index] for index in group.planes]
    if len(fields) == 1:
        return _as_2d(records[fields[0]])
    layout = records.dtype.fields
    assert layout is not None
    first_dtype, first_offset = layout[fields[0]][0], layout[fields[0]][1]
    base = first_dtype.base
    offset = first_offset
    contiguous = True
    for name in fields:
        dtype, field_offset = layout[name][0], layout[name][1]
        if dtype.base != base or field_offset != offset:
            contiguous = False
            break
        offset += dtype.itemsize
    if contiguous and records.ndim == 1:
        start = _as_2d(records[fields[0]])
        return np.lib.stride_tricks.as_strided(
            start, shape=(len(records), group.spec.items),
            strides=(start.strides[0], base.itemsize), writeable=False,
        )
    return np.hstack([_as_2d(records[name]) for name in fields])


def _split_groups(batch: BinBatch, groups: list[_Group]) -> list[PlaneStats]:
    """Per-plane statistics from per-group statistics."""
    out: list[PlaneStats] = []
    for group, stats in zip(groups, batch.planes, strict=True):
        if len(group.planes) == 1:
            out.append(stats)
            continue
        start = 0
        for width in group.widths:
            part = slice(start, start + width)
            out.append(PlaneStats.from_parts(
                None if value is None else value[:, part] for value in stats.parts()
            ))
            start += width
    return out


def _time_converter(plane: Plane, packet_id: int, offset: int) -> Callable[[np.ndarray], np.ndarray]:
    """Function converting this x plane's values to us2000."""
    if plane.encoding.kind == "time":
        return lambda values: values
    units = plane.units
    try:
        us2000_from_das2(np.zeros(1), units)
    except ValueError:
        raise StreamError(
            f"packet {packet_id:02d}: <x> units {units!r} are not time units", offset
        ) from None
    return lambda values: us2000_from_das2(values, units)


def _collapsed_plane(plane: Plane, fill: float) -> Plane:
    """The single ``<y>`` that replaces a collapsed waveform ``<yscan>``."""
    props = Properties([Property("yFill", "double", f"{fill:e}")])
    for item in plane.properties:
        if item.name not in props:
            props.add(item)
    return Plane("y", plane.encoding, name=plane.name, units=plane.zunits, properties=props)


def _statistics_planes(plane: Plane, options: BinOptions) -> list[Plane]:
    """The ``.min``/``.max``/``.stddev`` (or peak ``.max``) planes of ``plane``.

    Property edits replay das2C's order so that headers come out the same.
    """
    extra: list[Plane] = []
    name = plane.name
    if options.minmax:
        low = _derived(plane, f"{name}.min", "BIN_MIN")
        das2c_set(plane.properties, "source", name)
        das2c_set(plane.properties, "operation", "BIN_AVG")
        high = _derived(plane, f"{name}.max", "BIN_MAX")
        extra += [low, high]
    if options.stddev:
        extra.append(_derived(plane, f"{name}.stddev", "BIN_STDDEV"))
    if options.peak:
        peak = _derived(plane, f"{name}.max", "BIN_MAX")
        das2c_set(plane.properties, "source", name)
        das2c_set(plane.properties, "operation", "BIN_AVG")
        extra.append(peak)
    return extra


def _derived(plane: Plane, name: str, operation: str) -> Plane:
    copy = dataclasses.replace(plane, name=name, properties=plane.properties.copy())
    das2c_set(copy.properties, "source", plane.name)
    das2c_set(copy.properties, "operation", operation)
    return copy


def das2c_set(props: Properties, name: str, text: str, kind: str = "") -> None:
    """Set a property in place the way das2C does (see :mod:`.props`)."""
    slots = SlotProperties(props)
    slots.set(name, text, kind)
    edited = slots.to_properties()
    for item in list(props):
        props.remove(item.name)
    for item in edited:
        props.add(item)


def resolution_info(seconds: float) -> str:
    """das2C's xCacheResInfo text for a resolution (with its leading blank)."""
    if seconds < 1.0:
        return f" ({_c_round(seconds * 1000, 0)} ms Averages)"
    if seconds < 60.0:
        return f" ({seconds:.1f} s Averages)"
    if seconds < 3600.0:
        return f" ({seconds / 60.0:.1f} minute Averages)"
    if seconds < 86400.0:
        return f" ({seconds / 3600.0:.1f} hour Averages)"
    return f" ({_c_general(seconds / 86400)} day Averages)"


def _c_round(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def _c_general(value: float) -> str:
    """C's ``%.3g``."""
    return f"{value:.3g}"


def edit_binned_stream_properties(props: Properties, bin_seconds: float) -> Properties:
    """das2_bin_avgsec's stream header changes; returns the edited properties."""
    slots = SlotProperties(props)
    cache_res = bin_seconds
    width = slots.get("xTagWidth")
    width_seconds = _datum_seconds(width) if width is not None else None
    if width_seconds is not None and width_seconds >= bin_seconds:
        cache_res = width_seconds
    else:
        slots.set_datum("xTagWidth", bin_seconds, "s")
    slots.set_datum("xCacheResolution", cache_res, "s")
    info = resolution_info(cache_res)
    slots.set("xCacheResInfo", info.strip(), stored=info)
    if slots.has("Data_type"):
        slots.set("Data_type", "K0>Key Parameter")
    return slots.to_properties()


def _datum_seconds(item: Property) -> float | None:
    """A Datum property's value in seconds (None if it has no time units)."""
    number = number_of(item)
    if number is None:
        return None
    parts = item.text.split(None, 1)
    units = parts[1].strip() if len(parts) > 1 else ""
    scale = seconds_per_unit(units) if units else 1.0
    return None if scale is None else number * scale


def _c_atoi(text: str) -> int:
    """C's ``atoi``: leading blanks, optional sign, digits; 0 if none."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


class ProgressLimiter:
    """das2C's rate limiter for re-emitted ``taskProgress`` comments.

    Aims at one message per 100 ms by decimation: after each emitted
    message the next ``decimate - 1`` calls are skipped, ``decimate`` being
    adapted to the time elapsed since the previous message (the first call
    always emits, as in das2C where the previous time is unset).
    """

    TARGET_MS = 100

    def __init__(self) -> None:
        self._countdown = 1
        self._size = 1
        self._last_ms: float | None = None

    def should_emit(self) -> bool:
        """Count one call; True when this one should be written."""
        self._countdown -= 1
        if self._countdown != 0:
            return False
        now = time.monotonic() * 1000.0
        if self._last_ms is None:
            wanted = 1
        else:
            elapsed = int(now - self._last_ms)
            wanted = self._size * self.TARGET_MS // (elapsed + 1) + 1
        self._size = int(0.5 * self._size + 0.5 * wanted)
        self._countdown = self._size
        self._last_ms = now
        return True


def time_binner(program: str, bin_seconds: float, begin: str | None,
                **settings: Any) -> BinnerConfig:
    """The config of a time binner: ``bin_seconds`` wide bins from ``begin`` (a time)."""
    origin = None if begin is None else parse_us2000(begin)
    return BinnerConfig(program=program, width=bin_seconds * 1.0e6, origin=origin, **settings)


def bin_stdin(config: BinnerConfig, source: BinaryIO | None = None,
              sink: BinaryIO | None = None) -> int:
    """Bin the das2 stream on ``source`` (stdin) to ``sink`` (stdout); return 0.

    Input is parsed on this thread while the binner works on another.
    """
    return run_pipelined(lambda write: StreamBinner(config, write), source, sink)
