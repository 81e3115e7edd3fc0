"""The das2 stream side of das2_psd (``research/das2c.md`` §4.5).

Two kinds of input packets:

* ``<x><yscan>...`` (waveform blocks): each packet is transformed on its
  own, at item offsets 0, shift, 2 shift...  All windows of a run of packets
  go through one batched FFT (:class:`PsdCalculator`).
* ``<x><y>...`` (time series): samples accumulate across packets until
  LENGTH points with a steady cadence are held (the 3-point jitter test);
  the bookkeeping jumps from event to event, and the spectra of a run are
  again computed in one batch.

Output packet IDs are numbered from 1; identical output layouts share an ID.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import BinaryIO

import numpy as np

from dasflex_core.codecs import das2_style
from dasflex_core.codecs.das2_headers import PacketHeader, Plane, StreamHeader, plane_fill
from dasflex_core.codecs.das2_writer import encode_exception, encode_records
from dasflex_core.codecs.events import DataRun, HeaderDefined, StreamException, StreamStart
from dasflex_core.errors import StreamError
from dasflex_core.tools.binning.core import is_fill
from dasflex_core.tools.binning.props import SlotProperties
from dasflex_core.tools.psd import units
from dasflex_core.tools.psd.core import PsdCalculator, jitter_breaks
from dasflex_core.tools.streamio import ToolStream, run_pipelined
from dasflex_core.units import seconds_per_unit

PROGRAM = "das2_psd"
_DFT_PROPERTIES = ("DFT_freqTagMin", "DFT_freqTrimMin", "DFT_freqTrimMax")


@dataclass(frozen=True, slots=True)
class PsdConfig:
    """das2_psd's options."""

    length: int
    slide: int
    keep_dc: bool = False
    cadence: tuple[float, str] | None = None
    no_skip: bool = False
    jitter: float = 0.01

    @property
    def shift(self) -> int:
        """Points the window advances by (LENGTH // SLIDE_DENOMINATOR)."""
        return self.length // self.slide


@dataclass(slots=True)
class _Spectrum:
    """Output plane bookkeeping: the DFT index range and the z scale."""

    first: int
    stop: int
    z_scale: float


@dataclass(slots=True)
class _YTransform:
    """An ``<x><yscan>`` input packet type and its output."""

    header_in: PacketHeader
    header_out: PacketHeader
    out_id: int
    sources: list[tuple[int, int | None]]   # per output plane: input index, yscan spectrum slot
    spectra: list[_Spectrum]
    fills: list[float]
    dt_x: float                              # sample interval in x interval units


@dataclass(slots=True)
class _XTransform:
    """An ``<x><y>`` input packet type: the accumulator and its output."""

    header_in: PacketHeader
    planes_out: list[Plane]
    out_id: int | None = None
    fills: list[float] = field(default_factory=list)
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    tau: float | None = None                 # set when the header is (re)sent
    header_sent: bool = False
    header_out: PacketHeader | None = None
    z_scale: float = 1.0


class PsdStream(ToolStream):
    """das2 events in, the spectral stream out through ``emit``."""

    def __init__(self, config: PsdConfig, emit: Callable[[bytes], object]) -> None:
        self.config = config
        self.emit = emit
        self.calculator = PsdCalculator(config.length, keep_dc=config.keep_dc)
        self.stream_in: StreamHeader | None = None
        self.inputs: dict[int, _YTransform | _XTransform | None] = {}
        self.layouts: dict[str, int] = {}
        self.next_id = 1
        self.packets_out = 0
        self.done = False

    # -- events -------------------------------------------------------------
    def on_exception(self, event: StreamException) -> None:
        """Passed on; it ends the stream (as in das2C)."""
        self.emit(encode_exception(event.type, event.message))
        self.done = True

    def finish(self) -> None:
        """Say so when nothing could be transformed."""
        if self.packets_out == 0 and not self.done:
            self.emit(encode_exception(
                "NoDataInInterval",
                "All input data segments were too short for the requested DFT size",
            ))

    # -- stream header ------------------------------------------------------
    def on_stream_start(self, event: StreamStart) -> None:
        header: StreamHeader = event.header
        self.stream_in = header
        config = self.config
        props = SlotProperties(header.properties)
        props.remove("yLabel")
        props.remove("zLabel")
        props.set("yScaleType", "linear")
        props.set("zScaleType", "log")
        props.set("renderer", "spectrum")
        props.set("sourceId", f"{PROGRAM} {config.length} {config.slide}")
        title = props.get("title")
        suffix = "!c%{DFT_length} point DFT, %{xDftOverlapInfo}"
        props.set("title", (title.text if title is not None else "") + suffix)
        if config.cadence is not None:
            props.set_datum("xTagWidth", config.cadence[0], config.cadence[1])
        overlap = "No Overlap" if config.slide == 1 else f"{config.slide - 1}/{config.slide} Overlap"
        props.set("xDftOverlapInfo", overlap)
        props.set("DFT_length", str(config.length), "int")
        props.set("DFT_slide_denominator", str(config.slide), "int")
        props.set("DFT_window", "hann")
        out = StreamHeader(properties=props.to_properties())
        self.emit(das2_style.stream_header_packet(out, PROGRAM))

    # -- packet headers -----------------------------------------------------
    def on_packet_header(self, event: HeaderDefined) -> None:
        header: PacketHeader = event.header
        kinds = [plane.kind for plane in header.planes]
        if "z" in kinds:
            raise StreamError(
                f"packet {event.packet_id:02d}: das2_psd cannot transform <x><y><z> scatter data",
                event.offset,
            )
        if kinds.count("x") != 1:
            raise StreamError(
                f"packet {event.packet_id:02d}: das2_psd needs exactly one <x> plane", event.offset
            )
        if "yscan" in kinds:
            self.inputs[event.packet_id] = self._y_transform(header, event.offset)
        else:
            self.inputs[event.packet_id] = self._x_transform(header)

    def _skip(self, message: str, offset: int) -> None:
        if self.config.no_skip:
            raise StreamError(message, offset)
        sys.stderr.write(f"{PROGRAM}: warning: {message}\n")

    def _y_transform(self, header: PacketHeader, offset: int) -> _YTransform | None:
        planes: list[Plane] = []
        sources: list[tuple[int, int | None]] = []
        spectra: list[_Spectrum] = []
        fills: list[float] = []
        intervals: list[float] = []
        for index, plane in enumerate(header.planes):
            if plane.kind in ("x", "y"):
                planes.append(_copy_plane(plane))
                sources.append((index, None))
                continue
            built = self._yscan_from_yscan(header, plane, offset)
            if built is None:
                continue
            out, spectrum, interval = built
            sources.append((index, len(spectra)))
            spectra.append(spectrum)
            fills.append(_fill_of(plane, header, self.stream_in))
            intervals.append(interval)
            planes.append(out)
        if not spectra:
            self._skip(f"no transformable planes in packet ID {header.packet_id}, dropping its packets", offset)
            return None
        if any(value != intervals[0] for value in intervals):
            raise StreamError("inconsistent yTag intervals in two yscan planes of the same packet", offset)
        x_plane = header.x_plane
        assert x_plane is not None
        dt_x = _convert_interval(intervals[0], header.planes_of("yscan")[0].yunits, _x_interval_units(x_plane))
        out_id, header_out, new = self._register(planes)
        if new:
            self.emit(das2_style.packet_header_packet(header_out))
        return _YTransform(header, header_out, out_id, sources, spectra, fills, dt_x)

    def _yscan_from_yscan(
        self, header: PacketHeader, plane: Plane, offset: int
    ) -> tuple[Plane, _Spectrum, float] | None:
        length = self.config.length
        if plane.nitems < length:
            self._skip(
                f"packet type {header.packet_id:02d} plane '{plane.name}' has only {plane.nitems} "
                f"items but {length} point DFTs were requested; dropping the plane",
                offset,
            )
            return None
        interval = _sample_interval(plane)
        if interval is None:
            self._skip(
                f"yTags of plane '{plane.name}' in packet type {header.packet_id:02d} are not "
                "evenly spaced; dropping the plane",
                offset,
            )
            return None
        freq_units = units.invert(plane.yunits)
        freq_interval = 1.0 / (interval * length)
        scale = units.hertz_scale(freq_units)
        if scale is not None:
            z_scale = length * interval / scale
            freq_units = "Hz"
            freq_interval *= scale
        else:
            z_scale = length * interval
        z_units = units.density_units(plane.zunits, freq_units)
        first, count, tag_min = _frequency_range(plane, freq_interval, length)
        if count < 1:
            return None
        props = SlotProperties(plane.properties)
        for name in _DFT_PROPERTIES:
            props.remove(name)
        _label_planes(props, freq_units, z_units)
        fill = _fill_of(plane, header, self.stream_in)
        props.set("zFill", f"{fill:e}", "double")
        out = Plane(
            "yscan", plane.encoding, name=plane.name, nitems=count, ytag_interval=freq_interval,
            ytag_min=tag_min, yunits=freq_units, zunits=z_units, properties=props.to_properties(),
        )
        return out, _Spectrum(first, first + count, z_scale), interval

    def _x_transform(self, header: PacketHeader) -> _XTransform | None:
        x_plane = header.x_plane
        assert x_plane is not None
        freq_units = units.invert(_x_interval_units(x_plane))
        planes = [_copy_plane(x_plane)]
        fills = []
        for plane in header.planes:
            if plane.kind != "y":
                continue
            z_units = units.density_units(plane.units, freq_units)
            props = SlotProperties(plane.properties)
            _label_planes(props, freq_units, z_units)
            fill = _fill_of(plane, header, self.stream_in)
            props.set("zFill", f"{fill:e}", "double")
            for name in _DFT_PROPERTIES:
                props.remove(name)
            planes.append(Plane(
                "yscan", plane.encoding, name=plane.name, nitems=self.config.length // 2 + 1,
                ytag_interval=1.0, ytag_min=0.0, yunits=freq_units, zunits=z_units,
                properties=props.to_properties(),
            ))
            fills.append(fill)
        if len(planes) < 2:
            return None
        out_id, _, _ = self._register(planes)
        return _XTransform(header, planes, out_id=out_id, fills=fills, values=np.zeros((0, len(fills))))

    def _register(self, planes: list[Plane]) -> tuple[int, PacketHeader, bool]:
        """The output ID for a layout (re-used when identical); True when new."""
        probe = das2_style.packet_header_xml(PacketHeader(1, tuple(planes)))
        if probe in self.layouts:
            out_id = self.layouts[probe]
            return out_id, PacketHeader(out_id, tuple(planes)), False
        out_id = self.next_id
        if out_id > 99:
            raise StreamError("das2_psd ran out of output packet IDs (more than 99 layouts)")
        self.next_id += 1
        self.layouts[probe] = out_id
        return out_id, PacketHeader(out_id, tuple(planes)), True

    # -- data ---------------------------------------------------------------
    def on_data(self, run: DataRun) -> None:
        target = self.inputs.get(run.packet_id)
        if target is None:
            return
        if isinstance(target, _YTransform):
            self._y_data(target, run.records)
        else:
            self._x_data(target, run.records)

    def _y_data(self, state: _YTransform, records: np.ndarray) -> None:
        config = self.config
        header = state.header_in
        length, shift = config.length, config.shift
        scans = [(index, slot) for index, slot in state.sources if slot is not None]
        max_items = max(header.planes[index].nitems for index, _ in scans)
        offsets = np.arange(0, max_items, shift)
        count = len(records)
        valid = np.zeros((len(scans), count, len(offsets)), dtype=bool)
        blocks = []
        for number, (index, slot) in enumerate(scans):
            data = np.asarray(records[header.fields[index]])
            usable = int(np.count_nonzero(offsets + length <= data.shape[1]))
            windows = np.lib.stride_tricks.sliding_window_view(data, length, axis=1)
            view = windows[:, : usable * shift : shift]      # strided view, no copy
            good = ~_window_has_fill(data, view, state.fills[slot])
            valid[number, :, :usable] = good
            blocks.append(view)
        any_valid = valid.any(axis=0)
        rows, columns = np.nonzero(any_valid)
        if len(rows) == 0:
            return
        out = np.zeros(len(rows), dtype=state.header_out.record_dtype)
        keep = np.ones(len(rows), dtype=bool)
        x_index = next(i for i, plane in enumerate(header.planes) if plane.kind == "x")
        x_values = np.asarray(records[header.fields[x_index]], dtype=np.float64)
        out_fields = state.header_out.fields
        for out_index, (index, source_slot) in enumerate(state.sources):
            name = out_fields[out_index]
            if index == x_index:
                out[name] = x_values[rows] + (offsets[columns] + length // 2) * state.dt_x
            elif source_slot is None:
                out[name] = np.asarray(records[header.fields[index]])[rows]
        for number, (index, slot) in enumerate(scans):
            spectrum = state.spectra[slot]
            name = out_fields[[i for i, (src, _) in enumerate(state.sources) if src == index][0]]
            good = valid[number, rows, columns]
            everything = bool(good.all())
            if everything:
                windows = blocks[number][rows, columns] if len(offsets) > 1 else blocks[number][:, 0]
            else:
                windows = blocks[number][rows[good], columns[good]]
            power = self.calculator.compute(windows)
            if spectrum.first != 0 or spectrum.stop != power.shape[1]:
                power = power[:, spectrum.first : spectrum.stop]
            silent = ~power.any(axis=1)
            power *= spectrum.z_scale
            if silent.any():
                if len(scans) == 1:
                    keep[np.flatnonzero(good)[silent]] = False
                power[silent] = state.fills[slot]
            if everything:
                out[name] = power
            else:
                result = np.full((len(rows), power.shape[1]), state.fills[slot])
                result[good] = power
                out[name] = result
        out = out[keep]
        if len(out):
            self.packets_out += len(out)
            self.emit(encode_records(state.header_out, out))

    def _x_data(self, state: _XTransform, records: np.ndarray) -> None:
        header = state.header_in
        x_plane = header.x_plane
        assert x_plane is not None
        times = np.asarray(records[header.field(x_plane)], dtype=np.float64)
        columns = [np.asarray(records[header.field(p)], dtype=np.float64) for p in header.planes if p.kind == "y"]
        values = np.column_stack(columns)
        times = np.concatenate((state.times, times))
        values = np.concatenate((state.values, values))
        events, keep_from = _x_schedule(times, self.config, len(state.times))
        self._emit_x_events(state, times, values, events)
        state.times = times[keep_from:].copy()
        state.values = values[keep_from:].copy()

    def _emit_x_events(self, state: _XTransform, times: np.ndarray, values: np.ndarray, events: list) -> None:
        """Write headers and spectra in order; spectra of one header epoch in one batch."""
        length = self.config.length
        pending: list[int] = []
        for kind, start in events:
            if kind == "break":
                self._flush_x(state, times, values, pending)
                pending = []
                state.header_sent = False
                continue
            if not state.header_sent:
                self._flush_x(state, times, values, pending)
                pending = []
                window = times[start : start + length]
                state.tau = (window[-1] - window[0]) / length
                self._send_x_header(state)
            pending.append(start)
        self._flush_x(state, times, values, pending)

    def _send_x_header(self, state: _XTransform) -> None:
        length = self.config.length
        tau = state.tau
        assert tau is not None
        x_plane = state.header_in.x_plane
        assert x_plane is not None
        freq_units = units.invert(_x_interval_units(x_plane))
        freq_interval = 1.0 / (tau * length)
        scale = units.hertz_scale(freq_units)
        z_scale = length * tau / scale if scale is not None else length * tau
        if scale is not None:
            freq_units, freq_interval = "Hz", freq_interval * scale
        planes = [state.planes_out[0]]
        for plane in state.planes_out[1:]:
            planes.append(Plane(
                "yscan", plane.encoding, name=plane.name, nitems=length // 2 + 1,
                ytag_interval=freq_interval, ytag_min=0.0, yunits=freq_units, zunits=plane.zunits,
                properties=plane.properties,
            ))
        assert state.out_id is not None
        state.header_out = PacketHeader(state.out_id, tuple(planes))
        state.header_sent = True
        state.z_scale = z_scale
        self.emit(das2_style.packet_header_packet(state.header_out))

    def _flush_x(self, state: _XTransform, times: np.ndarray, values: np.ndarray, starts: list[int]) -> None:
        if not starts:
            return
        length = self.config.length
        header = state.header_out
        assert header is not None
        index = np.asarray(starts)[:, None] + np.arange(length)
        windows = values[index]                      # (spectra, length, planes)
        last_times = times[np.asarray(starts) + length - 1]
        out = np.zeros(len(starts), dtype=header.record_dtype)
        assert state.tau is not None
        out[header.fields[0]] = last_times - (length / 2.0) * state.tau
        for plane_number, fill in enumerate(state.fills):
            block = windows[:, :, plane_number]
            bad = is_fill(block, fill).any(axis=1)
            power = self.calculator.compute(block) * state.z_scale
            power[bad] = fill
            out[header.fields[plane_number + 1]] = power
        self.packets_out += len(out)
        self.emit(encode_records(header, out))


def _x_schedule(times: np.ndarray, config: PsdConfig, held: int) -> tuple[list, int]:
    """Replay das2_psd's accumulator over ``times`` (the first ``held`` already held).

    Returns the events ``('spectrum', start)`` / ``('break', index)`` in order
    and the index from which samples stay held for the next run.
    """
    length, shift = config.length, config.shift
    failures = jitter_breaks(times, config.jitter)
    events: list[tuple[str, int]] = []
    start = 0
    position = held            # next sample to add
    total = len(times)
    checked_from = 0           # triples ending before this index are not re-checked
    while True:
        size = position - start
        # samples up to a full window, checking every triple once 3 are held
        need = length - size
        if need <= 0:
            events.append(("spectrum", start))
            start += shift
            continue
        end = min(total, position + need)
        first_check = max(position, start + 2, checked_from)
        hits = failures[(failures >= first_check) & (failures < end)]
        if len(hits):
            failure = int(hits[0])
            events.append(("break", failure))
            start = failure - 1
            position = failure + 1
            checked_from = position
            continue
        position = end
        checked_from = position
        if position - start < length:
            break
    return events, start


def _copy_plane(plane: Plane) -> Plane:
    return replace(plane, properties=plane.properties.copy())


def _fill_of(plane: Plane, header: PacketHeader, stream: StreamHeader | None) -> float:
    fill = plane_fill(plane, header, stream)
    return -1e31 if fill is None else fill


def _label_planes(props: SlotProperties, freq_units: str, z_units: str) -> None:
    """yLabel, zLabel and operation as das2_psd sets them on a new yscan."""
    props.set("yLabel", f"Frequency ({units.label(freq_units)})")
    props.set("zLabel", f"Spectral Density ({units.label(z_units)})")
    prior = props.get("operation")
    props.set("operation", f"{prior.text}, DFT" if prior is not None else "DFT")


def _x_interval_units(x_plane: Plane) -> str:
    if x_plane.encoding.kind == "time":
        return units.interval_of("us2000")
    return units.interval_of(x_plane.units)


def _convert_interval(value: float, from_units: str, to_units: str) -> float:
    """An interval in ``from_units`` expressed in ``to_units`` (both time intervals)."""
    source = seconds_per_unit(from_units)
    target = seconds_per_unit(to_units)
    if source is None or target is None:
        return value
    return value * source / target


def _sample_interval(plane: Plane) -> float | None:
    """The yscan's item spacing: yTagInterval, or the mean of evenly spaced yTags."""
    if plane.ytags is None:
        return plane.ytag_interval if plane.ytag_interval is not None else 1.0
    tags = plane.ytags
    steps = np.diff(tags)
    mean = float(np.sum(steps)) / (len(tags) - 1)
    off = np.abs(steps / mean - 1.0) > 0.01
    return None if int(off.sum()) > 2 else mean


def _frequency_range(plane: Plane, interval: float, length: int) -> tuple[int, int, float]:
    """(first DFT index, count, first frequency) after DFT_freqTagMin/Trim properties."""
    total = length // 2 + 1
    shift = _datum_value(plane, "DFT_freqTagMin") or 0.0
    low = _datum_value(plane, "DFT_freqTrimMin")
    high = _datum_value(plane, "DFT_freqTrimMax")
    if low is None and high is None:
        return 0, total, shift
    frequencies = interval * np.arange(total) + shift
    keep = np.ones(total, dtype=bool)
    if low is not None:
        keep &= frequencies >= low
    if high is not None:
        keep &= frequencies < high
    chosen = np.flatnonzero(keep)
    if len(chosen) == 0:
        return 0, 0, shift
    first = int(chosen[0])
    return first, len(chosen), first * interval + shift


def _datum_value(plane: Plane, name: str) -> float | None:
    item = plane.properties.raw(name)
    if item is None:
        return None
    try:
        return float(item.text.split()[0])
    except (ValueError, IndexError):
        return None


def _window_has_fill(data: np.ndarray, view: np.ndarray, fill: float) -> np.ndarray:
    """Which ``(records, offsets)`` windows of ``data`` hold at least one fill value."""
    if view.size == 0:
        return np.zeros(view.shape[:2], dtype=bool)
    base = data
    reach = abs(fill) * 1.001e-5
    with np.errstate(invalid="ignore"):
        if fill < 0 and bool(np.min(base) > fill + reach):
            return np.zeros(view.shape[:2], dtype=bool)
        if fill > 0 and bool(np.max(base) < fill - reach):
            return np.zeros(view.shape[:2], dtype=bool)
    data = view.reshape(view.shape[0], view.shape[1], -1)
    smallest = data.min(axis=2)
    largest = data.max(axis=2)
    maybe = (largest >= fill - reach) & (smallest <= fill + reach) if fill != 0 else (smallest <= 0) & (largest >= 0)
    if not maybe.any():
        return maybe
    result = np.zeros(maybe.shape, dtype=bool)
    rows, columns = np.nonzero(maybe)
    result[rows, columns] = is_fill(data[rows, columns], fill).any(axis=1)
    return result


def psd_stdin(config: PsdConfig, source: BinaryIO | None = None,
              sink: BinaryIO | None = None) -> int:
    """Transform the das2 stream on ``source`` (stdin) to ``sink`` (stdout); return 0.

    Input is parsed on this thread while the spectra are computed on another;
    an exception packet in the input ends the stream (as in das2C).
    """
    return run_pipelined(lambda write: PsdStream(config, write), source, sink)
