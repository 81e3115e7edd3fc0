"""``das2_png``: a quick-look PNG of the das2 (or das3) stream on stdin.

``<y>`` and ``<z>`` planes are drawn as lines (planes of one packet type that
share units share a panel), each ``<yscan>`` as a spectrogram with a colour
bar (log colours when every value is positive, log y for ``yScaleType=log``
or yTags spanning two decades).  x is a UTC time axis when it holds times.
Labels carry units; the title is the stream's ``title`` property (``--title``
overrides it).

Memory is bounded by the image, not the stream: while reading, values are
binned into one column per output pixel (:mod:`._pngbin`): minimum and
maximum per column for lines, the mean per column and item for spectra.
Fill values and NaN are left out.  A stream without data (or with only a
``NoDataInInterval`` exception) gives a "No data" image and exit status 0;
empty input is an error.  Options ``-w``/``--width`` and ``-H``/``--height``
(also ``-h``, as the command table passes it; ``--help`` is help) set the
size in pixels.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dasflex_core.tools._common import ToolParser, int_in_range, run_tool

if TYPE_CHECKING:
    from dasflex_core.codecs.events import DataRun, Event
    from dasflex_core.tools._pngplot import Plot

PROGRAM = "das2_png"
DESCRIPTION = """\
Draw a quick-look PNG of the das2 (or das3) stream on stdin: line plots for
<y> planes, spectrograms for <yscan> planes, a UTC time axis.  Memory stays
bounded: values are binned to one column per pixel while reading."""
DEFAULT_WIDTH = 800
DEFAULT_HEIGHT = 600
SMALLEST_SIDE = 64
LARGEST_SIDE = 8192


class _PngParser(ToolParser):
    """A ToolParser without ``-h`` for help: here ``-h`` is the height."""

    def __init__(self) -> None:
        argparse.ArgumentParser.__init__(
            self, prog=PROGRAM, description=DESCRIPTION, add_help=False,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        self.add_argument("--help", action="help", help="show this help message and exit")


def build_parser() -> ToolParser:
    """The ``das2_png`` command line (``-h`` is the height; ``--help`` is help)."""
    parser = _PngParser()
    side = int_in_range(SMALLEST_SIDE, LARGEST_SIDE)
    parser.add_argument("-w", "--width", type=side, default=DEFAULT_WIDTH, metavar="PIXELS",
                        help=f"image width (default {DEFAULT_WIDTH})")
    parser.add_argument("-H", "-h", "--height", dest="height", type=side,
                        default=DEFAULT_HEIGHT, metavar="PIXELS",
                        help=f"image height (default {DEFAULT_HEIGHT})")
    parser.add_argument("--title", help="title (default: the stream's title property)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_png``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    from dasflex_core.tools._common import binary_stdout
    from dasflex_core.tools._pngplot import render_png
    from dasflex_core.tools.das2_to_das3 import stream_events
    from dasflex_core.tools.das3_to_das2 import AsDas2

    builder = PlotBuilder(args.width)
    for event in AsDas2(encode=False).events(stream_events()):
        builder.handle(event)
    plot = builder.plot()
    if args.title:
        plot.title = args.title
    sink = binary_stdout()
    sink.write(render_png(plot, args.width, args.height))
    sink.flush()
    return 0


@dataclass(frozen=True, slots=True)
class _Feed:
    """One plane feeding binned values: its record field, fill and target bins."""

    field: str
    fill: float | None
    bins: Any


@dataclass(frozen=True, slots=True)
class _PacketPlan:
    """How one packet type's records reach the panels."""

    x_field: str
    x_units: str | None
    feeds: tuple[_Feed, ...]


class PlotBuilder:
    """Bins das2 events into plot panels (one column per pixel)."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self._stream: Any = None
        self._panels: list[Any] = []
        self._plans: dict[int, _PacketPlan] = {}
        self._known: dict[tuple[int, str], _PacketPlan] = {}
        self._x_time: bool | None = None
        self._x_label = ""
        self._notes: list[str] = []

    def handle(self, event: Event) -> None:
        """Take one das2 event."""
        from dasflex_core.codecs.events import DataRun, HeaderDefined, StreamException, StreamStart

        if isinstance(event, DataRun):
            self._data(event)
        elif isinstance(event, HeaderDefined):
            from dasflex_core.tools._common import located

            with located(event.offset):
                self._define(event.packet_id, event.header)
        elif isinstance(event, StreamStart):
            self._stream = event.header
        elif isinstance(event, StreamException):
            self._notes.append(f"{event.type}: {' '.join(event.message.split())}"[:200])

    def plot(self) -> Plot:
        """What to draw from everything seen so far."""
        from dasflex_core.tools._cdfistp import plain_text
        from dasflex_core.tools._pngplot import Plot

        title = ""
        if self._stream is not None:
            title = plain_text(str(self._stream.properties.get("title") or ""))
        return Plot(title or "das2 stream", self._panels, bool(self._x_time),
                    self._x_label or ("Time (UTC)" if self._x_time else "x"), self._notes)

    def _define(self, packet_id: int, header: Any) -> None:
        key = (packet_id, header.to_xml())
        plan = self._known.get(key)
        if plan is None:
            plan = self._plan(header)
            self._known[key] = plan
        self._plans[packet_id] = plan

    def _plan(self, header: Any) -> _PacketPlan:
        from dasflex_core.codecs.das2 import plane_fill
        from dasflex_core.tools._cdfistp import EPOCH_UNITS

        x_plane = header.x_plane
        if x_plane is None:
            from dasflex_core.errors import StreamError

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
        line_panels: dict[str, Any] = {}
        for index, plane in enumerate(header.planes):
            if plane is x_plane:
                continue
            fill = plane_fill(plane, header, self._stream)
            bins = self._panel_bins(header, plane, line_panels)
            feeds.append(_Feed(header.fields[index], fill, bins))
        return _PacketPlan(header.field(x_plane), x_units, tuple(feeds))

    def _panel_bins(self, header: Any, plane: Any, line_panels: dict[str, Any]) -> Any:
        import numpy as np

        from dasflex_core.tools._pngbin import LineBins, MeanBins
        from dasflex_core.tools._pngplot import LinePanel, SpectrumPanel

        if plane.kind == "yscan":
            bins: Any = MeanBins(self.columns, plane.nitems)
            label = _axis_label(_prop(header, plane, "yLabel", self._stream) or "", plane.yunits)
            colour = _axis_label(_prop(header, plane, "zLabel", self._stream) or plane.name, plane.zunits)
            self._panels.append(SpectrumPanel(label, bins, np.asarray(plane.ytag_values()),
                                              colour, _log_scale(header, plane, "y", self._stream),
                                              _log_scale(header, plane, "z", self._stream)))
            return bins
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

    def _data(self, run: DataRun) -> None:
        import numpy as np

        plan = self._plans[run.packet_id]
        if not plan.feeds or not run.count:
            return
        x = np.asarray(run.records[plan.x_field], dtype=np.float64)
        if plan.x_units is not None and plan.x_units != "us2000":
            from dasflex_core.dastime import convert_times

            x = np.asarray(convert_times(x, plan.x_units, "us2000"), dtype=np.float64)
        for feed in plan.feeds:
            values = np.asarray(run.records[feed.field], dtype=np.float64)
            valid = np.isfinite(values)
            if feed.fill is not None:
                spread = abs(feed.fill) * 1e-5  # das2C's relative fill tolerance
                valid &= ((values <= feed.fill - spread) | (values >= feed.fill + spread)
                          if spread else values != 0)
            feed.bins.add(x, values, valid)


def _prop(header: Any, plane: Any, name: str, stream: Any = None) -> str | None:
    levels = [plane.properties, header.properties]
    if stream is not None:
        levels.append(stream.properties)
    for props in levels:
        value = props.get(name)
        if value:
            return str(value)
    return None


def _log_scale(header: Any, plane: Any, axis: str, stream: Any = None) -> bool | None:
    value = _prop(header, plane, f"{axis}ScaleType", stream)
    return None if value is None else "log" in value.lower()


def _axis_label(label: str, units: str) -> str:
    from dasflex_core.tools._cdfistp import plain_text

    text = plain_text(label)
    units = units.strip()
    if units and units not in text:
        return f"{text} ({units})" if text else units
    return text


if __name__ == "__main__":
    raise SystemExit(main())
