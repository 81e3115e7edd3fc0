"""``das2_cdf``: write a das2 (or das3) stream on stdin as a CDF file on stdout.

Every das2 packet type becomes a set of ISTP-style zVariables
(:mod:`._cdfistp`): ``Epoch`` (CDF_TIME_TT2000, leap seconds from
:mod:`dasflex_core.dastime`) or an ``<x>`` support variable, one data
variable per ``<y>``/``<z>``/``<yscan>`` plane (``DEPEND_0``, and for
spectrograms ``DEPEND_1`` naming the yTags), with CATDESC, FIELDNAM, UNITS,
FILLVAL, VALIDMIN/VALIDMAX (the range of the valid data), DISPLAY_TYPE,
VAR_TYPE, LABLAXIS, FORMAT and SCALETYP.  A packet id re-defined with the
same planes continues its variables; a different definition gets new ones.
das3 input is converted to das2 packets first (datasets without a das2 form
are errors).

The file is built in a temporary directory (``-T``, else ``$TMPDIR``) with
record data appended in chunks (:mod:`._cdfwrite`), so memory stays bounded;
it is copied to stdout and removed at the end, also on failure.  Comments
are ignored; a ``NoDataInInterval`` exception gives a CDF without records;
any other exception in the input is an error.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dasflex_core.tools._common import ToolParser, run_tool

if TYPE_CHECKING:
    import numpy as np

    from dasflex_core.codecs.events import DataRun, Event
    from dasflex_core.tools._cdfistp import CdfVariable, NameRegistry, PacketLayout
    from dasflex_core.tools._cdfwrite import ChunkedCdf

PROGRAM = "das2_cdf"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as an ISTP-style CDF file on stdout.
Times become CDF_TIME_TT2000 (Epoch); <y> planes time series and <yscan>
planes spectrograms with their yTags as DEPEND_1."""
#: VALIDMIN/VALIDMAX of an Epoch variable without valid times.
DEFAULT_EPOCH_RANGE = ("1990-01-01", "2100-01-01")
#: Bytes copied to stdout per write.
COPY_BYTES = 1 << 20


def _global_setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not '{text}'")
    return name.strip(), value


def build_parser() -> ToolParser:
    """The ``das2_cdf`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument("-g", "--global", dest="globals", type=_global_setting, action="append",
                        default=[], metavar="NAME=VALUE",
                        help="set (or override) a global attribute; may be repeated")
    parser.add_argument("-T", "--tmpdir", metavar="DIR",
                        help="directory for the temporary CDF file (default: $TMPDIR)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_cdf``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    import shutil
    import tempfile
    from pathlib import Path

    from dasflex_core.tools._cdfwrite import ChunkedCdf
    from dasflex_core.tools._common import binary_stdout
    from dasflex_core.tools.das2_to_das3 import stream_events
    from dasflex_core.tools.das3_to_das2 import AsDas2

    workdir = Path(tempfile.mkdtemp(prefix="das2_cdf_", dir=args.tmpdir))
    try:
        path = workdir / "stream.cdf"
        converter = CdfConverter(ChunkedCdf(path), dict(args.globals))
        as_das2 = AsDas2(encode=False)
        for event in as_das2.events(stream_events()):
            converter.handle(event)
        converter.finish(as_das2.source_version)
        sink = binary_stdout()
        with path.open("rb") as cdf_file:
            shutil.copyfileobj(cdf_file, sink, COPY_BYTES)
        sink.flush()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


@dataclass(slots=True)
class _Range:
    """Smallest and largest valid value seen in one variable."""

    low: float | int | None = None
    high: float | int | None = None

    def update(self, low: Any, high: Any) -> None:
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)


@dataclass(slots=True)
class _Active:
    """The variables a packet id currently writes to."""

    key: bytes
    layout: PacketLayout
    ranges: dict[str, _Range] = field(default_factory=dict)


class CdfConverter:
    """Feeds das2 events into a :class:`ChunkedCdf`; :meth:`finish` completes it."""

    def __init__(self, cdf: ChunkedCdf, overrides: dict[str, str] | None = None) -> None:
        from dasflex_core.tools._cdfistp import NameRegistry

        self.cdf = cdf
        self.overrides = overrides or {}
        self._names: NameRegistry = NameRegistry()
        self._stream: Any = None
        self._version = "2.2"
        self._active: dict[int, _Active] = {}
        self._known: dict[tuple[int, bytes], _Active] = {}
        self._all: list[_Active] = []
        self._first_epoch: int | None = None

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
            self._version = event.version
        elif isinstance(event, StreamException) and event.type != "NoDataInInterval":
            from dasflex_core.errors import ReaderError

            raise ReaderError(f"the input stream reported {event.type or 'an error'}: "
                              f"{event.message.strip()}")

    def _define(self, packet_id: int, header: Any) -> None:
        from dasflex_core.tools._cdfistp import packet_variables

        key = header.to_xml().encode()
        known = self._known.get((packet_id, key))
        if known is None:
            layout = packet_variables(header, self._stream, self._names)
            known = _Active(key, layout)
            for constant in layout.constants:
                self.cdf.define_constant(constant.name, constant.cdf_type, constant.values,
                                         constant.attributes)
            for variable in layout.variables:
                self.cdf.define(variable.name, variable.cdf_type, variable.dims,
                                variable.attributes)
                known.ranges[variable.name] = _Range()
            self._known[(packet_id, key)] = known
            self._all.append(known)
        self._active[packet_id] = known

    def _data(self, run: DataRun) -> None:
        active = self._active[run.packet_id]
        for variable in active.layout.variables:
            values, extremes = _cdf_values(variable, run.records[variable.source])
            if extremes is not None:
                active.ranges[variable.name].update(*extremes)
            if variable.epoch_units and self._first_epoch is None and len(values):
                self._first_epoch = int(values[0])
            self.cdf.append(variable.name, values)

    def finish(self, source_version: str | None = None) -> None:
        """Write VALIDMIN/VALIDMAX and the global attributes; close the file.

        ``source_version`` is the version of the stream read (default: that
        of the das2 events handled).
        """
        from dasflex_core.codecs.das2 import Properties
        from dasflex_core.tools._cdfistp import global_attributes

        extra: dict[str, dict[str, Any]] = {}
        for active in self._all:
            for variable in active.layout.variables:
                extra[variable.name] = _valid_range(variable, active.ranges[variable.name])
        self.cdf.write_variable_attributes(extra)
        props = self._stream.properties if self._stream is not None else Properties()
        version = source_version or self._version
        self.cdf.write_global_attributes(global_attributes(props, version,
                                                           self._first_epoch, self.overrides))
        self.cdf.close()


def _cdf_values(variable: CdfVariable, column: np.ndarray
                ) -> tuple[np.ndarray, tuple[Any, Any] | None]:
    """The values to store and (low, high) of the valid ones (None if there are none).

    Values keep their own float type; those within das2's fill tolerance
    (``|fill - v| < 1e-5 |fill|``) are set to exactly the fill.
    """
    import numpy as np

    from dasflex_core.dastime import convert_times
    from dasflex_core.tools._cdfistp import TT2000_FILL

    if variable.epoch_units is not None:
        values = convert_times(column, variable.epoch_units, "TT2000")
        valid = values[values > TT2000_FILL + 2]
        return values, (int(valid.min()), int(valid.max())) if valid.size else None
    values = np.asarray(column)
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    is_fill = _near_fill(values, variable.fill)
    if is_fill is not None:
        values = np.where(is_fill, values.dtype.type(variable.fill), values)
        usable = values[~is_fill & np.isfinite(values)]
        return values, _extremes(usable)
    return values, _extremes(values)


def _near_fill(values: np.ndarray, fill: float | None) -> np.ndarray | None:
    """Mask of fill values (das2C's relative tolerance), or None when there are none."""
    if fill is None:
        return None
    spread = abs(fill) * 1e-5
    mask = (values > fill - spread) & (values < fill + spread) if spread else values == 0
    return mask if mask.any() else None


def _extremes(values: np.ndarray) -> tuple[float, float] | None:
    """Smallest and largest finite value, or None."""
    import numpy as np

    if not values.size:
        return None
    low, high = float(values.min()), float(values.max())
    if np.isfinite(low) and np.isfinite(high):
        return low, high
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def _valid_range(variable: CdfVariable, extent: _Range) -> dict[str, Any]:
    from dasflex_core.tools._cdfistp import typed

    low, high = extent.low, extent.high
    if low is None or high is None:
        if variable.epoch_units is not None:
            from dasflex_core.dastime import parse_time, to_tt2000

            low, high = (to_tt2000(parse_time(text)) for text in DEFAULT_EPOCH_RANGE)
        else:
            low, high = -1e30, 1e30
    return {"VALIDMIN": typed(low, variable.cdf_type), "VALIDMAX": typed(high, variable.cdf_type)}


if __name__ == "__main__":
    raise SystemExit(main())
