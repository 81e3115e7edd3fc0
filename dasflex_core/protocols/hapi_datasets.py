"""HAPI datasets and their ``/info`` documents, shared by every HAPI endpoint.

A dataset is a source flagged ``hapi`` (local, das2, with a time range) or
one of its ``subSource_NN`` (:class:`SubDataset`).  Its info is built from
the definition, plus what one probe of its reader says
(:mod:`.hapi_info`), once per server.  :mod:`.hapi` (the metadata
endpoints) and :mod:`.hapi_data` (``/data``) both read them here, and so
do the request errors (:class:`HapiError`) they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from dasflex_core import keys
from dasflex_core.dastime.hapi import HapiTime, to_hapi_time
from dasflex_core.errors import QueryError
from dasflex_core.http import Request
from dasflex_core.model import Access, Contact, Example, SourceDef, SubSource, Variable
from dasflex_core.protocols import Server, authorize, catalog_filter
from dasflex_core.protocols.hapi_info import Probe, probe_parameters
from dasflex_core.sources.common import parse_duration

#: Output formats served (see :mod:`.hapi_encode`).
OUTPUT_FORMATS = ("csv", "binary", "json")

#: Width of the time column: ``YYYY-MM-DDTHH:MM:SS.sssZ``.
TIME_LENGTH = 24

#: Longest sample range advertised (clients and the verifier fetch it).
MAX_SAMPLE_SECONDS = 3600

#: A HAPI JSON document, or one object in it (an info, a parameter).
Document = dict[str, object]

_MESSAGES = {
    1400: "Bad request - user input error",
    1401: "Bad request - unknown API parameter name",
    1402: "Bad request - error in start time",
    1403: "Bad request - error in stop time",
    1404: "Bad request - start time equal to or after stop time",
    1405: "Bad request - time outside valid range",
    1406: "Bad request - unknown dataset id",
    1407: "Bad request - unknown dataset parameter",
    1408: "Bad request - too much time or data requested",
    1409: "Bad request - unsupported output format",
    1410: "Bad request - unsupported include value",
    1411: "Bad request - out of order or duplicate parameters",
    1412: "Bad request - unsupported resolve_references value",
    1413: "Bad request - unsupported depth value",
}


class HapiError(QueryError):
    """A HAPI request error carrying its specific 14xx code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.hapi_code = code
        self.hapi_message = _MESSAGES.get(code, _MESSAGES[1400])
        self.status = 404 if code in (1406, 1407) else 400


def param(request: Request, new: str, old: str) -> str | None:
    """The value of HAPI 3 key ``new``, else of its HAPI 2 name ``old``."""
    value = request.query.get(new)
    return value if value is not None else request.query.get(old)


# -- datasets ----------------------------------------------------------------


class SubDataset:
    """A HAPI dataset ``ID,KEY`` made from a source's ``subSource_NN``.

    It reads as its source (access rules, ranges, variables) except for its
    id, title and description, and it adds :attr:`query` (the sub-source's
    resolution or interval and reader options) to every pipeline it plans.
    """

    def __init__(self, source: SourceDef, sub: SubSource, query: Mapping[str, str]) -> None:
        self.definition = source
        self.id = f"{source.id},{sub.key}"
        description = sub.description.strip()
        self.title = f"{source.title} ({description})" if description else self.id
        self.summary = description or source.summary
        self.query = dict(query)

    @property
    def access(self) -> Access | None:
        """The source's access rules."""
        return self.definition.access

    @property
    def protected(self) -> bool:
        """True when the source has access rules."""
        return self.definition.protected

    @property
    def valid_range(self) -> tuple[str, str] | None:
        """The source's valid range."""
        return self.definition.valid_range

    @property
    def examples(self) -> tuple[Example, ...]:
        """The source's examples."""
        return self.definition.examples

    @property
    def data(self) -> tuple[Variable, ...]:
        """The source's data items."""
        return self.definition.data

    @property
    def contacts(self) -> tuple[Contact, ...]:
        """The source's contacts."""
        return self.definition.contacts


#: A dataset served through HAPI: a source, or a sub-dataset of one.
Dataset: TypeAlias = SourceDef | SubDataset


def definition_of(dataset: Dataset) -> SourceDef:
    """The source definition behind a HAPI dataset (itself, or a sub-dataset's source)."""
    return dataset.definition if isinstance(dataset, SubDataset) else dataset


def dataset_query(dataset: Dataset, query: Mapping[str, str]) -> dict[str, str]:
    """``query`` plus what a sub-dataset adds (resolution, interval, reader options)."""
    return {**query, **(dataset.query if isinstance(dataset, SubDataset) else {})}


def sub_datasets(source: SourceDef) -> list[SubDataset]:
    """The sub-datasets of ``source`` that can be planned.

    A source that needs a time interval gets one only from a numeric
    resolution; the reader options go in when the source takes options.
    """
    accepted = {parameter.key for parameter in source.params}
    found = []
    for sub in source.sub_sources:
        query: dict[str, str] = {}
        seconds = _seconds(sub.resolution)
        if source.requires_interval:
            if seconds is None or keys.READ_TIME_INTERVAL not in accepted:
                continue
            query[keys.READ_TIME_INTERVAL] = f"{seconds:g}"
        elif seconds is not None and keys.BIN_TIME_MAX in accepted:
            query[keys.BIN_TIME_MAX] = f"{seconds:g}"
        if sub.params.strip() and keys.READ_OPTS in accepted:
            query[keys.READ_OPTS] = sub.params.strip()
        found.append(SubDataset(source, sub, query))
    return found


def _seconds(text: str) -> float | None:
    """A sub-source's resolution in seconds, or None when it is not a positive duration."""
    try:
        seconds = parse_duration(text) if text.strip() else 0.0
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def hapi_sources(server: Server) -> list[Dataset]:
    """Datasets served through HAPI: sources flagged ``hapi``, local, das2, with a time range.

    Each ``subSource_NN`` adds a dataset ``ID,KEY`` (:class:`SubDataset`); a
    source that needs a time interval is served only through its
    sub-datasets.  Protected sources are included; :func:`listed_sources`
    hides them from requests that may not read them and
    :func:`dataset_source` checks access.
    """
    def build() -> list[Dataset]:
        datasets: list[Dataset] = []
        for source in server.site:
            if not (source.hapi and not source.redirect and not source.hidden
                    and source.output is not None and source.output.mime == "das2"
                    and _date_range(source) is not None):
                continue
            if not source.requires_interval:
                datasets.append(source)
            datasets.extend(sub_datasets(source))
        return datasets

    return list(server.memo("hapi-sources", build))


def public_sources(server: Server) -> list[Dataset]:
    """The HAPI sources anyone may read (no access rules)."""
    return [source for source in hapi_sources(server) if not source.protected]


def listed_sources(server: Server, request: Request) -> list[Dataset]:
    """The HAPI sources a catalog shows to ``request``.

    Protected sources appear only for clients an ``IP`` rule or ``allow_from``
    admits, and for authenticated users a ``USER`` or ``GROUP`` rule names.
    """
    visible = catalog_filter(server, request)
    return [source for source in hapi_sources(server) if visible(source)]


def dataset_source(server: Server, request: Request,
                   stop: str | None = None) -> Dataset:
    """The source named by ``dataset`` (1406 if none), after its access check.

    ``stop`` (the request's stop time) decides ``AGE`` rules; without it
    (``/info``) the dataset's start date does, so that metadata of data old
    enough to be public is public too.  Refusals are 401 or 403.
    """
    dataset = param(request, "dataset", "id")
    if not dataset:
        raise HapiError(1400, "the 'dataset' parameter is required")
    for source in hapi_sources(server):
        if source.id == dataset:
            end_time = stop or (_date_range(source) or ("", ""))[0]
            authorize(server, source, request, end_time)
            return source
    raise HapiError(1406, "unknown dataset id; see /hapi/catalog for the ids")


# -- info documents ----------------------------------------------------------


def source_info(server: Server, request: Request, source: Dataset) -> Document:
    """The ``/info`` body (without HAPI and status) for a source, built once."""
    return dict(server.memo(f"hapi-info:{source.id}",
                            lambda: _build_info(server, request, source)))


def _build_info(server: Server, request: Request, source: Dataset) -> Document:
    start, stop = _date_range(source) or ("", "")
    info: Document = {"startDate": start, "stopDate": stop}
    sample = _sample_range(source)
    if sample:
        info["sampleStartDate"], info["sampleStopDate"] = sample
    info["timeStampLocation"] = "center"
    if source.summary or source.title:
        info["description"] = (source.summary or source.title).strip()
    probe = _probe(server, request, source, sample) if sample else None
    if probe is not None and probe.cadence:
        info["cadence"] = probe.cadence
    data = (_described(probe.parameters, source) if probe and probe.parameters
            else [_data_parameter(v) for v in source.data])
    info["parameters"] = [_time_parameter(), *data]
    contact = next((c for c in source.contacts if c.email or c.name), None)
    if contact is not None:
        info["contact"] = f"{contact.name} <{contact.email}>" if contact.email else contact.name
    return info


def _probe(server: Server, request: Request, source: Dataset,
           sample: tuple[str, str]) -> Probe | None:
    """What the reader's stream over the ``sample`` range says of ``source``."""
    query = dataset_query(source, {"read.time.min": sample[0], "read.time.max": sample[1]})
    return probe_parameters(server, request, source.id, definition_of(source), query)


def _described(parameters: list[Document], source: Dataset) -> list[Document]:
    """Probed parameters with the definition's titles as descriptions."""
    titles = {variable.name: variable.title for variable in source.data if variable.title}
    return [{**p, "description": titles[str(p["name"])]} if p["name"] in titles else p
            for p in parameters]


def _time_parameter() -> Document:
    return {"name": "Time", "type": "isotime", "units": "UTC", "fill": None,
            "length": TIME_LENGTH, "description": "time of each record"}


def _data_parameter(variable: Variable) -> Document:
    parameter: Document = {
        "name": variable.name,
        "type": getattr(variable, "type", None) or "double",
        "units": variable.units or None,
        "fill": getattr(variable, "fill", None),
    }
    size = getattr(variable, "size", None)
    if size:
        parameter["size"] = list(size)
    if variable.title:
        parameter["description"] = variable.title
    return parameter


def info_parameters(info: Mapping[str, object]) -> list[Document]:
    """The ``parameters`` of an info document (Time first)."""
    parameters = info["parameters"]
    assert isinstance(parameters, list)
    return list(parameters)


def select_parameters(info: Mapping[str, object], requested: str | None) -> list[Document]:
    """The info parameters named in ``requested`` (Time always first).

    Unknown names raise 1407; repeated or out-of-order names raise 1411.
    """
    parameters = info_parameters(info)
    if not requested:
        return parameters
    positions = {str(parameter["name"]): index for index, parameter in enumerate(parameters)}
    names = requested.split(",")
    unknown = [name for name in names if name not in positions]
    if unknown:
        raise HapiError(1407, "unknown parameter name; the parameters are "
                              + ", ".join(positions))
    indexes = [positions[name] for name in names]
    if len(set(indexes)) != len(indexes):
        raise HapiError(1411, "a parameter is named more than once")
    if indexes != sorted(indexes):
        raise HapiError(1411, "parameters must be in the order /info lists them")
    wanted = set(indexes) | {0}
    return [parameter for index, parameter in enumerate(parameters) if index in wanted]


# -- times -------------------------------------------------------------------

def _date_range(source: Dataset) -> tuple[str, str] | None:
    """``startDate`` and ``stopDate`` from validRange, else from the examples."""
    bounds = _range_times(source.valid_range) if source.valid_range else None
    if bounds is None:
        spans = [span for span in map(_example_span, source.examples) if span]
        if not spans:
            return None
        bounds = (min(s[0] for s in spans), max(s[1] for s in spans))
    start, stop = bounds
    if source.valid_range and source.valid_range[1].strip().lower() == "now":
        stop = HapiTime(stop.ns2000 + 86400 * 1_000_000_000)
    return start.iso(0), stop.iso(0)


def _range_times(pair: tuple[str, str]) -> tuple[HapiTime, HapiTime] | None:
    start, stop = to_hapi_time(pair[0]), to_hapi_time(pair[1])
    if start is None or stop is None or start >= stop:
        return None
    return start, stop


def _example_span(example: Example) -> tuple[HapiTime, HapiTime] | None:
    settings = example.settings
    begin = next((v for k, v in settings.items() if k.endswith(("time.min", "start_time"))), None)
    end = next((v for k, v in settings.items() if k.endswith(("time.max", "end_time"))), None)
    return _range_times((begin, end)) if begin and end else None


def _sample_range(source: Dataset) -> tuple[str, str] | None:
    """The first example's range, at most :data:`MAX_SAMPLE_SECONDS` long."""
    for example in source.examples:
        span = _example_span(example)
        if span:
            start, stop = span
            limit = HapiTime(start.ns2000 + MAX_SAMPLE_SECONDS * 1_000_000_000)
            return start.iso(0), min(stop, limit).iso(0)
    return None
