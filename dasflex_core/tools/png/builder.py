"""A quick-look PNG of a das2 (or das3) stream (``das2_png``).

``<y>`` and ``<z>`` planes are drawn as lines (planes of one packet type that
share units share a panel), each ``<yscan>`` as a spectrogram with a colour
bar (log colours when every value is positive, log y for ``yScaleType=log``
or yTags spanning two decades).  x is a UTC time axis when it holds times.
Labels carry units; the title is the stream's ``title`` property (``--title``
overrides it).

Memory is bounded by the image, not the stream: while reading, values are
binned into one column per output pixel (:mod:`.bins`): minimum and
maximum per column for lines, the mean per column and item for spectra.
Fill values and NaN are left out.  A stream without data (or with only a
``NoDataInInterval`` exception) gives a "No data" image; empty input is an
error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from dasflex_core.codecs.das2 import PacketHeader, Plane, StreamHeader, plane_fill
from dasflex_core.codecs.events import (
    DataRun,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.dastime import convert_times
from dasflex_core.errors import StreamError
from dasflex_core.tools.cdf.istp import EPOCH_UNITS, plain_text
from dasflex_core.tools.convert.to_das2 import AsDas2
from dasflex_core.tools.png.bins import LineBins, MeanBins
from dasflex_core.tools.png.plot import LinePanel, Plot, SpectrumPanel, render_png
from dasflex_core.tools.streamio import binary_stdout, located, stream_events


def draw_png(width: int, height: int, title: str | None = None,
             source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Draw the stream on ``source`` (stdin) as a ``width`` x ``height`` PNG on ``sink``
    (stdout), titled ``title`` (default: the stream's title); return 0."""
    builder = PlotBuilder(width)
    builder.handle(AsDas2(encode=False).events(stream_events(source)))
    plot = builder.plot()
    if title:
        plot.title = title
    out = sink if sink is not None else binary_stdout()
    out.write(render_png(plot, width, height))
    out.flush()
    return 0


@dataclass(frozen=True, slots=True)
class _Feed:
    """One plane feeding binned values: its record field, fill and target bins."""

    field: str
    fill: float | None
    bins: LineBins | MeanBins


@dataclass(frozen=True, slots=True)
class _PacketPlan:
    """How one packet type's records reach the panels."""

    x_field: str
    x_units: str | None
    feeds: tuple[_Feed, ...]


class PlotBuilder(EventStream[None]):
    """Bins das2 events into plot panels (one column per pixel)."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self._stream: StreamHeader | None = None
        self._panels: list[LinePanel | SpectrumPanel] = []
        self._plans: dict[int, _PacketPlan] = {}
        self._known: dict[tuple[int, str], _PacketPlan] = {}
        self._x_time: bool | None = None
        self._x_label = ""
        self._notes: list[str] = []

    def on_packet_header(self, event: HeaderDefined) -> None:
        with located(event.offset):
            self._define(event.packet_id, event.header)

    def on_stream_start(self, event: StreamStart) -> None:
        self._stream = event.header

    def on_exception(self, event: StreamException) -> None:
        self._notes.append(f"{event.type}: {' '.join(event.message.split())}"[:200])

    def plot(self) -> Plot:
        """What to draw from everything seen so far."""
        title = ""
        if self._stream is not None:
            title = plain_text(str(self._stream.properties.get("title") or ""))
        return Plot(title or "das2 stream", self._panels, bool(self._x_time),
                    self._x_label or ("Time (UTC)" if self._x_time else "x"), self._notes)

    def _define(self, packet_id: int, header: PacketHeader) -> None:
        key = (packet_id, header.to_xml())
        plan = self._known.get(key)
        if plan is None:
            plan = self._plan(header)
            self._known[key] = plan
        self._plans[packet_id] = plan

    def _plan(self, header: PacketHeader) -> _PacketPlan:
        x_plane = header.x_plane
        if x_plane is None:
            raise StreamError(f"das2 packet {header.packet_id:02d} has no <x> plane to plot")
        x_units = EPOCH_UNITS.get(x_plane.value_units.strip().lower())
        if self._x_time is None:
            self._x_time = x_units is not None
            self._x_label = "Time (UTC)" if x_units else _axis_label(
                _prop(header, x_plane, "xLabel", self._stream) or x_plane.name or "x", x_plane.units)
        if (x_units is not None) != self._x_time:
            self._notes.append(f"packet {header.packet_id:02d} not drawn: its x axis differs")
            return _PacketPlan(header.field(x_plane), x_units, ())
        feeds = []
        line_panels: dict[str, LinePanel] = {}
        for index, plane in enumerate(header.planes):
            if plane is x_plane:
                continue
            fill = plane_fill(plane, header, self._stream)
            bins = self._panel_bins(header, plane, line_panels)
            feeds.append(_Feed(header.fields[index], fill, bins))
        return _PacketPlan(header.field(x_plane), x_units, tuple(feeds))

    def _panel_bins(self, header: PacketHeader, plane: Plane,
                    line_panels: dict[str, LinePanel]) -> LineBins | MeanBins:
        if plane.kind == "yscan":
            spectrum = MeanBins(self.columns, plane.nitems)
            label = _axis_label(_prop(header, plane, "yLabel", self._stream) or "", plane.yunits)
            colour = _axis_label(_prop(header, plane, "zLabel", self._stream) or plane.name, plane.zunits)
            self._panels.append(SpectrumPanel(label, spectrum, np.asarray(plane.ytag_values()),
                                              colour, _log_scale(header, plane, "y", self._stream),
                                              _log_scale(header, plane, "z", self._stream)))
            return spectrum
        units = plane.value_units.strip()
        panel = line_panels.get(units)
        if panel is None:
            axis = "z" if plane.kind == "z" else "y"
            label = _axis_label(_prop(header, plane, f"{axis}Label", self._stream) or plane.name, units)
            panel = LinePanel(label, log=bool(_log_scale(header, plane, axis, self._stream)),
                              units=units)
            line_panels[units] = panel
            self._panels.append(panel)
        bins = LineBins(self.columns)
        panel.series.append((plane.name or plane.kind, bins))
        return bins

    def on_data(self, run: DataRun) -> None:
        plan = self._plans[run.packet_id]
        if not plan.feeds or not run.count:
            return
        x = np.asarray(run.records[plan.x_field], dtype=np.float64)
        if plan.x_units is not None and plan.x_units != "us2000":
            x = np.asarray(convert_times(x, plan.x_units, "us2000"), dtype=np.float64)
        for feed in plan.feeds:
            values = np.asarray(run.records[feed.field], dtype=np.float64)
            valid = np.isfinite(values)
            if feed.fill is not None:
                spread = abs(feed.fill) * 1e-5  # das2C's relative fill tolerance
                valid &= ((values <= feed.fill - spread) | (values >= feed.fill + spread)
                          if spread else values != 0)
            feed.bins.add(x, values, valid)


def _prop(header: PacketHeader, plane: Plane, name: str,
          stream: StreamHeader | None = None) -> str | None:
    levels = [plane.properties, header.properties]
    if stream is not None:
        levels.append(stream.properties)
    for props in levels:
        value = props.get(name)
        if value:
            return str(value)
    return None


def _log_scale(header: PacketHeader, plane: Plane, axis: str,
               stream: StreamHeader | None = None) -> bool | None:
    value = _prop(header, plane, f"{axis}ScaleType", stream)
    return None if value is None else "log" in value.lower()


def _axis_label(label: str, units: str) -> str:
    text = plain_text(label)
    units = units.strip()
    if units and units not in text:
        return f"{text} ({units})" if text else units
    return text
