"""The request protocols a dasflex server speaks, independent of any web framework.

Each module maps a :class:`~dasflex_core.http.Request` to a
:class:`~dasflex_core.http.Response`: ``legacy`` (the das2.2 ``?server=`` API),
``source_data`` (``/source/<id>/flex`` and ``/source/<id>/das2`` data),
``catalog_files`` (``/catalog.json``, ``/source/...`` node files), ``hapi``
(HAPI 3.3), ``html`` (pages), ``verify_page`` (``/verify``) and ``admin``;
``routes`` is the one table that picks among them.  They share the
:class:`Server` context and :func:`stream_plan`, the one place a planned
pipeline is run and streamed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from dasflex_core import auth, keys, runner
from dasflex_core.errors import DasFlexError, NoDataError, NotFoundError
from dasflex_core.http import (
    CORS_HEADERS,
    Request,
    Response,
    error_response,
    inband_error,
)
from dasflex_core.planner import Plan, Planner, planner_for_site
from dasflex_core.remote.policy import export_policy
from dasflex_core.requestlog import note_pipeline

if TYPE_CHECKING:
    from dasflex_core.cache import BlockJob
    from dasflex_core.jobs import JobQueue
    from dasflex_core.model import Access, Site, SourceDef
    from dasflex_core.settings import Settings

LOG = logging.getLogger("dasflex.protocols")

_Built = TypeVar("_Built")


class Guarded(Protocol):
    """What access checks read: a source, or a HAPI sub-dataset of one."""

    @property
    def id(self) -> str: ...

    @property
    def access(self) -> Access | None: ...

    @property
    def protected(self) -> bool: ...


class ServedPlan(runner.PlanLike, Protocol):
    """What :func:`stream_plan` needs from a :class:`~dasflex_core.planner.Plan`.

    The stages to run (:class:`~dasflex_core.runner.PlanLike`) and how to
    label their output.
    """

    @property
    def mime(self) -> str: ...

    @property
    def disposition(self) -> str: ...

    @property
    def filename(self) -> str: ...


@dataclass(frozen=True)
class Server:
    """What every protocol handler needs: the settings and the loaded site."""

    settings: Settings
    site: Site
    cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
    started: float = field(default_factory=time.time, compare=False)

    def __post_init__(self) -> None:
        export_policy(self.settings)  # the limits and User-Agent of remote sources' fetches

    @property
    def last_modified(self) -> str:
        """When the site was loaded, as an HTTP date (for metadata responses)."""
        return formatdate(self.started, usegmt=True)

    def base_url(self, request: Request) -> str:
        """The server's external base URL (configured, else from the request)."""
        return self.settings.server_url or request.base_url

    def source(self, source_id: str) -> SourceDef:
        """The source with this id, in any case; :class:`NotFoundError` if none."""
        found = self.site.get(source_id)
        if found is None:
            raise NotFoundError(f"no data source '{printable(source_id)}' on this server")
        return found

    def memo(self, key: str, build: Callable[[], _Built]) -> _Built:
        """A value built once per server (catalog documents, HAPI infos).

        One key always holds one kind of value: the builder's type is the result's.
        """
        if key not in self.cache:
            self.cache[key] = build()
        return cast("_Built", self.cache[key])


def printable(text: str, limit: int = 80) -> str:
    """A short, control-character-free echo of user input."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def request_span(server: Server, request: Request, source: SourceDef,
                 query: Mapping[str, str], convention: str) -> tuple[str | None, str | None]:
    """The first and last time ``query`` asks for (either may be None), as the planner reads it.

    The planner translates ``convention``'s keys (:meth:`Planner.translate`),
    so access checks see the very range the pipeline will read.
    """
    values = site_planner(server, request).translate(query, convention, source)
    return values.get(keys.READ_TIME_MIN), values.get(keys.READ_TIME_MAX)


def accounts(server: Server) -> auth.Accounts:
    """The server's users and groups, read once."""
    settings = server.settings
    return server.memo("accounts", lambda: auth.load_accounts(settings.users_file,
                                                              settings.groups_file))


def trusted_ranges(server: Server) -> list[str]:
    """The ``allow_from`` CIDR ranges of trusted clients."""
    return server.settings.allow_from.split()


def max_request_days(server: Server, source: SourceDef) -> float:
    """The longest time range one request for ``source`` may span (0: no limit)."""
    return source.max_request_days or server.settings.max_request_days


def check_access(server: Server, source: SourceDef, request: Request,
                 end_time: str | None = None, begin_time: str | None = None) -> None:
    """Raise 401/403 unless ``request`` may read ``source``, 413 when its range is too long.

    Every data path calls this before planning, with the request's time
    range (:func:`request_span`); the end time decides ``AGE`` rules, the
    client address ``IP`` rules and ``allow_from``.
    """
    authorize(server, source, request, end_time)
    auth.check_span(source.id, begin_time, end_time, max_request_days(server, source))


def authorize(server: Server, source: Guarded, request: Request,
              end_time: str | None) -> str | None:
    """Raise 401/403 unless ``request`` may read ``source``; return the verified user, if any."""
    if not source.protected:
        return None
    return auth.authorize(source, authorization=request.header("authorization"),
                          remote_addr=request.remote_addr, end_time=end_time,
                          accounts=accounts(server), allow_from=trusted_ranges(server))


def catalog_filter(server: Server, request: Request) -> Callable[[Guarded], bool]:
    """A test of whether a catalog answering ``request`` may list a source.

    Public and IP-admitted sources are listed for everyone; other protected
    sources only when the request's credentials verify and a ``USER`` or
    ``GROUP`` rule names that user (checked once per request, lazily).
    """
    allow_from = trusted_ranges(server)
    verified: list[str | None] = []

    def user() -> str | None:
        if not verified:
            credentials = auth.parse_basic(request.header("authorization"))
            valid = credentials is not None and accounts(server).verify(*credentials)
            verified.append(credentials[0] if credentials and valid else None)
        return verified[0]

    def visible(source: Guarded) -> bool:
        if auth.may_list(source, remote_addr=request.remote_addr, allow_from=allow_from):
            return True
        name = user()
        return name is not None and auth.admits_user(source, name, accounts(server))

    return visible


def plan_for(source: SourceDef, query: Mapping[str, str], convention: str,
             server: Server, request: Request) -> Plan:
    """Plan a pipeline for ``source`` with this server's planner (one per base URL).

    The planner uses the site's command table and, with a ``cache_dir``,
    reads covered requests from the cache; the missing blocks a plan reports
    (``cache_gaps``) are queued when ``cache_on_demand`` is set.
    """
    plan = site_planner(server, request).plan(source, dict(query), convention)
    if plan.cache_gaps and server.settings.cache_on_demand:
        queue_blocks(server, plan.cache_gaps)
    return plan


def site_planner(server: Server, request: Request) -> Planner:
    """This server's planner for ``request``'s base URL (made once per base URL)."""
    base = server.base_url(request)
    return server.memo(f"planner:{base}", lambda: _site_planner(server, base))


def _site_planner(server: Server, base: str) -> Planner:
    return planner_for_site(server.site, base, server.settings.cache_dir)


def job_queue(server: Server) -> JobQueue | None:
    """The server's job queue (:mod:`dasflex_core.jobs`), made once; None without a cache."""
    if server.settings.cache_dir is None:
        return None

    def build() -> JobQueue:
        from dasflex_core.jobs import make_queue  # threads, temporary files; RQ with Redis

        return make_queue(server.settings, server.site)

    return server.memo("jobs", build)


def queue_blocks(server: Server, jobs: Iterable[BlockJob]) -> int:
    """Queue cache blocks for building; never raises and never blocks a request for long."""
    try:
        queue = job_queue(server)
        return 0 if queue is None else int(queue.submit(jobs))
    except Exception as error:  # noqa: BLE001 - a request never fails because of the queue
        LOG.warning("cache blocks not queued: %s", error)
        return 0


def content_headers(plan: ServedPlan) -> list[tuple[str, str]]:
    """Content-Type, Content-Disposition and cache headers of a planned reply."""
    headers = [("Content-Type", plan.mime)]
    filename = plan.filename
    disposition = plan.disposition or "inline"
    if "filename=" not in disposition and filename:
        safe = "".join(ch for ch in filename if ch.isprintable() and ch not in '"\\')
        disposition = f'{disposition}; filename="{safe}"'
    headers.append(("Content-Disposition", disposition))
    headers.append(("Cache-Control", "no-store"))
    return [*headers, *CORS_HEADERS]


def stream_plan(plan: ServedPlan, request: Request, style: str, server: Server,
                *, headers: list[tuple[str, str]] | None = None,
                prefix: bytes = b"", suffix: bytes = b"",
                empty: Callable[[NoDataError], Response] | None = None) -> Response:
    """Run ``plan`` and stream its stdout; errors before the first byte get a status.

    HEAD requests are answered from the plan without running anything.  A
    pipeline that writes nothing, or reports no data before its first byte,
    is answered by ``empty`` (default: a no-data error in ``style``).  After
    the first byte a failure becomes an in-band packet in the plan's
    ``error_format``, or aborts the connection when the output has none (CSV,
    HAPI, images).  ``prefix`` and ``suffix``
    frame the output (a HAPI header, a JSON wrapper).
    """
    headers = headers if headers is not None else content_headers(plan)
    if request.is_head:
        return Response(200, headers, b"")
    chunks: Iterator[bytes] | None = None
    try:
        chunks = runner.run(plan, first_byte_timeout=server.settings.first_byte_timeout,
                            total_timeout=server.settings.total_timeout)
        note_pipeline(plan, chunks)
        first = _first_chunk(chunks)
        if not first:
            raise NoDataError("No data in the requested interval")
    except Exception as error:
        _close(chunks)
        if isinstance(error, NoDataError) and empty is not None:
            return empty(error)
        return error_response(error, style)
    except BaseException:
        _close(chunks)
        raise
    body = _body(first, chunks, plan.error_format or "", prefix, suffix)
    return Response(200, headers, body, close=lambda: _close(chunks),
                    zero_copy=lambda sink: _set_splice_sink(chunks, sink))


def _set_splice_sink(chunks: Iterator[bytes], sink: Callable[[int, int], int]) -> None:
    if isinstance(chunks, runner.PipelineRun):
        chunks.splice_sink = sink


def _first_chunk(chunks: Iterable[bytes]) -> bytes:
    for chunk in chunks:
        if chunk:
            return bytes(chunk)
    return b""


def _body(first: bytes, chunks: Iterator[bytes], style: str, prefix: bytes,
          suffix: bytes) -> Iterator[bytes]:
    try:
        if prefix:
            yield prefix
        yield first
        for chunk in chunks:
            if chunk:
                yield bytes(chunk)
    except DasFlexError as error:
        packet = inband_error(error, style)
        if not packet:
            raise
        yield packet
        return
    finally:
        _close(chunks, log=True)
    if suffix:
        yield suffix


def _close(chunks: Iterator[bytes] | None, *, log: bool = False) -> None:
    """Stop the pipeline (any iterator of chunks with a ``close``); log how its stages ended."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    if log and isinstance(chunks, runner.PipelineRun) and LOG.isEnabledFor(logging.INFO):
        LOG.info("pipeline finished: %s", chunks.log_record())
