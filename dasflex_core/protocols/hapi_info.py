"""HAPI parameters of a das2 source, read from its stream's first packet header.

A definition names its data items but not their shapes (a ``<yscan>`` of 100
frequencies, its yTags, its units).  :func:`probe_parameters` runs the
source's reader once over the sample range and describes the first packet
type the way ``das2_hapi`` turns it into columns: ``<y>`` and ``<z>`` planes
are scalar doubles, a ``<yscan>`` is a double array of ``nitems`` with its
yTags as ``bins``; unnamed planes are called ``Y_n``, ``Z_n`` and ``YSCAN_n``.
The result is memoised per server, so a reader runs at most once per source.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dasflex_core import runner
from dasflex_core.codecs import new_reader
from dasflex_core.codecs.das2_props import cascade
from dasflex_core.codecs.events import EventStream, HeaderDefined, StreamStart
from dasflex_core.errors import DasFlexError
from dasflex_core.http import Request
from dasflex_core.protocols import Server, plan_for
from dasflex_core.units import seconds_per_unit

if TYPE_CHECKING:
    from dasflex_core.codecs.das2 import PacketHeader, Plane, StreamHeader
    from dasflex_core.model import SourceDef
    from dasflex_core.planner import Plan

LOG = logging.getLogger("dasflex.hapi")

#: Seconds a probe may take (first byte and in total).
PROBE_TIMEOUT = 30.0

_UNNAMED = {"y": "Y", "z": "Z", "yscan": "YSCAN"}


@dataclass(frozen=True, slots=True)
class Probe:
    """What a source's stream says about itself: its parameters and cadence."""

    parameters: list[dict[str, object]]
    cadence: str | None = None


def probe_parameters(server: Server, request: Request, dataset_id: str, source: SourceDef,
                     query: Mapping[str, str]) -> Probe | None:
    """Data parameters (Time excluded) of dataset ``dataset_id``, or None.

    ``source`` is run for ``query`` (the sample range, plus what a sub-dataset adds).
    """
    try:
        plan = plan_for(source, query, "flex", server, request)
    except DasFlexError as error:
        LOG.warning("cannot plan a HAPI probe of %s: %s", dataset_id, error)
        return None
    if not plan.output.startswith("das2"):
        return None
    found = _first_packet_header(plan)
    if found is None:
        return None
    stream, header = found
    return Probe(parameters_from_header(header), _cadence(stream, header))


def _cadence(stream: StreamHeader | None, header: PacketHeader) -> str | None:
    """``xTagWidth`` as an ISO 8601 duration (``PT1S``), if the stream gives one."""
    levels = [item.properties for item in (header, stream) if item is not None]
    width = cascade("xTagWidth", *levels)
    value = width.value() if width is not None else None
    if not isinstance(value, tuple) or len(value) != 2:
        return None
    amount, units = value
    scale = seconds_per_unit(str(units).strip().lower())
    if scale is None or not isinstance(amount, (int, float)) or amount <= 0:
        return None
    return f"PT{float(amount) * scale:.9g}S"


class _FirstHeaders(EventStream[None]):
    """The stream header and the first packet header of a stream (then ``done``)."""

    stream: StreamHeader | None = None
    packet: PacketHeader | None = None

    def on_stream_start(self, event: StreamStart) -> None:
        self.stream = event.header

    def on_packet_header(self, event: HeaderDefined) -> None:
        self.packet = event.header
        self.done = True


def _first_packet_header(plan: Plan) -> tuple[StreamHeader | None, PacketHeader] | None:
    chunks = None
    try:
        chunks = runner.run(plan, first_byte_timeout=PROBE_TIMEOUT, total_timeout=PROBE_TIMEOUT)
        reader = new_reader("das2")
        headers = _FirstHeaders()
        for chunk in chunks:
            headers.handle(reader.feed(chunk))
            if headers.packet is not None:
                return headers.stream, headers.packet
    except DasFlexError as error:
        LOG.warning("HAPI probe of %s failed: %s", plan.source_id, error)
    finally:
        if chunks is not None:
            chunks.close()
    return None


def named_planes(header: PacketHeader) -> list[tuple[Plane, str]]:
    """Every non-``<x>`` plane of a das2 packet header with its HAPI name."""
    counts: dict[str, int] = {}
    named = []
    for plane in header.planes:
        if plane.kind == "x":
            continue
        index = counts.get(plane.kind, 0)
        counts[plane.kind] = index + 1
        named.append((plane, plane.name or f"{_UNNAMED.get(plane.kind, plane.kind.upper())}_{index}"))
    return named


def parameters_from_header(header: PacketHeader) -> list[dict[str, object]]:
    """HAPI parameters for every non-``<x>`` plane of a das2 packet header."""
    return [_parameter(plane, name) for plane, name in named_planes(header)]


def _parameter(plane: Plane, name: str) -> dict[str, object]:
    units = plane.zunits if plane.kind == "yscan" else plane.units
    parameter: dict[str, object] = {"name": name, "type": "double",
                                 "units": units or None, "fill": None}
    if plane.kind == "yscan":
        parameter["size"] = [int(plane.nitems)]
        centers = [_finite(value) for value in plane.ytag_values()]
        parameter["bins"] = [{
            "name": "frequency" if "hz" in (plane.yunits or "").lower() else "y",
            "units": plane.yunits or None,
            "centers": centers,
        }]
    return parameter


def _finite(value: float) -> float:
    number = float(f"{float(value):.7g}")
    return number if math.isfinite(number) else 0.0
