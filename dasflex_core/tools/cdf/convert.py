"""A das2 (or das3) stream written as an ISTP-style CDF file (``das2_cdf``).

Every das2 packet type becomes a set of ISTP-style zVariables
(:mod:`.istp`): ``Epoch`` (CDF_TIME_TT2000, leap seconds from
:mod:`dasflex_core.dastime`) or an ``<x>`` support variable, one data
variable per ``<y>``/``<z>``/``<yscan>`` plane (``DEPEND_0``, and for
spectrograms ``DEPEND_1`` naming the yTags), with CATDESC, FIELDNAM, UNITS,
FILLVAL, VALIDMIN/VALIDMAX (the range of the valid data), DISPLAY_TYPE,
VAR_TYPE, LABLAXIS, FORMAT and SCALETYP.  A packet id re-defined with the
same planes continues its variables; a different definition gets new ones.
das3 input is converted to das2 packets first (datasets without a das2 form
are errors).

The file is built in a temporary directory (``-T``, else ``$TMPDIR``) with
record data appended in chunks (:mod:`.write`), so memory stays bounded;
it is copied to stdout and removed at the end, also on failure.  Comments
are ignored; a ``NoDataInInterval`` exception gives a CDF without records;
any other exception in the input is an error.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from dasflex_core.codecs.das2 import PacketHeader, Properties, StreamHeader
from dasflex_core.codecs.events import (
    DataRun,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.dastime import convert_times, parse_time, to_tt2000
from dasflex_core.errors import ReaderError
from dasflex_core.tools.cdf.istp import (
    TT2000_FILL,
    CdfVariable,
    NameRegistry,
    PacketLayout,
    global_attributes,
    packet_variables,
    typed,
)
from dasflex_core.tools.cdf.write import ChunkedCdf
from dasflex_core.tools.convert.to_das2 import AsDas2
from dasflex_core.tools.streamio import binary_stdout, located, stream_events

#: VALIDMIN/VALIDMAX of an Epoch variable without valid times.
DEFAULT_EPOCH_RANGE = ("1990-01-01", "2100-01-01")
#: Bytes copied to stdout per write.
COPY_BYTES = 1 << 20


def write_cdf(overrides: dict[str, str], tmpdir: str | None = None,
              source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Write the stream on ``source`` (stdin) as a CDF file to ``sink`` (stdout); return 0.

    ``overrides`` set global attributes; the file is built in a temporary
    directory under ``tmpdir`` (default: ``$TMPDIR``), removed at the end.
    """
    workdir = Path(tempfile.mkdtemp(prefix="das2_cdf_", dir=tmpdir))
    try:
        path = workdir / "stream.cdf"
        converter = CdfConverter(ChunkedCdf(path), overrides)
        as_das2 = AsDas2(encode=False)
        converter.handle(as_das2.events(stream_events(source)))
        converter.finish(as_das2.source_version)
        out = sink if sink is not None else binary_stdout()
        with path.open("rb") as cdf_file:
            shutil.copyfileobj(cdf_file, out, COPY_BYTES)
        out.flush()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


@dataclass(slots=True)
class _Range:
    """Smallest and largest valid value seen in one variable."""

    low: float | int | None = None
    high: float | int | None = None

    def update(self, low: float | int, high: float | int) -> None:
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)


@dataclass(slots=True)
class _Active:
    """The variables a packet id currently writes to."""

    key: bytes
    layout: PacketLayout
    ranges: dict[str, _Range] = field(default_factory=dict)


class CdfConverter(EventStream[None]):
    """Feeds das2 events into a :class:`ChunkedCdf`; :meth:`finish` completes it."""

    def __init__(self, cdf: ChunkedCdf, overrides: dict[str, str] | None = None) -> None:
        self.cdf = cdf
        self.overrides = overrides or {}
        self._names: NameRegistry = NameRegistry()
        self._stream: StreamHeader | None = None
        self._version = "2.2"
        self._active: dict[int, _Active] = {}
        self._known: dict[tuple[int, bytes], _Active] = {}
        self._all: list[_Active] = []
        self._first_epoch: int | None = None

    def on_packet_header(self, event: HeaderDefined) -> None:
        with located(event.offset):
            self._define(event.packet_id, event.header)

    def on_stream_start(self, event: StreamStart) -> None:
        self._stream = event.header
        self._version = event.version

    def on_exception(self, event: StreamException) -> None:
        if event.type != "NoDataInInterval":
            raise ReaderError(f"the input stream reported {event.type or 'an error'}: "
                              f"{event.message.strip()}")

    def _define(self, packet_id: int, header: PacketHeader) -> None:
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

    def on_data(self, run: DataRun) -> None:
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
                ) -> tuple[np.ndarray, tuple[float | int, float | int] | None]:
    """The values to store and (low, high) of the valid ones (None if there are none).

    Values keep their own float type; those within das2's fill tolerance
    (``|fill - v| < 1e-5 |fill|``) are set to exactly the fill.
    """
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
    if not values.size:
        return None
    low, high = float(values.min()), float(values.max())
    if np.isfinite(low) and np.isfinite(high):
        return low, high
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def _valid_range(variable: CdfVariable, extent: _Range) -> dict[str, Any]:
    low, high = extent.low, extent.high
    if low is None or high is None:
        if variable.epoch_units is not None:
            low, high = (to_tt2000(parse_time(text)) for text in DEFAULT_EPOCH_RANGE)
        else:
            low, high = -1e30, 1e30
    return {"VALIDMIN": typed(low, variable.cdf_type), "VALIDMAX": typed(high, variable.cdf_type)}
