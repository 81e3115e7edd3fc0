"""A polite HTTP client for remote HAPI and das2 servers (standard library only).

One :class:`RemoteClient` talks to one server over one kept-alive
``http.client`` connection.  Every request:

* waits for its turn under the per-remote rate limit
  (:func:`~dasflex_core.remote.limits.wait_for_turn`);
* sends ``User-Agent`` (naming dasflex and the site) and
  ``Accept-Encoding: gzip`` (a gzip body is decoded as it streams; the
  ``remote_gzip`` setting turns this off);
* has three timeouts: connect, first byte (the status line and the first
  body chunk) and idle (between later body chunks);
* is retried, with a short back-off, only before its first byte: when the
  connection fails, times out, or the answer is 429 or 5xx; never once body
  bytes have been read, so no data is ever sent twice.

Failures become :class:`~dasflex_core.errors.RemoteError` (HTTP 502) with a
message naming the remote server, never a traceback.  :meth:`RemoteClient.slot`
holds one of the remote's fetch slots for the length of a fetch.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from dasflex_core.errors import RemoteError
from dasflex_core.remote.limits import fetch_slot, remote_key, wait_for_turn
from dasflex_core.remote.policy import RemotePolicy

#: Bytes asked of the socket per body read.
READ_BYTES = 1 << 18
#: Largest metadata document (catalog, info, list) read into memory.
MAX_DOCUMENT_BYTES = 64 << 20
#: Answers retried (before their first byte): too many requests, server errors.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Redirects followed per request.
MAX_REDIRECTS = 3
#: Longest back-off between retries, seconds (also caps ``Retry-After``).
MAX_BACKOFF = 5.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: scheme, host, port and the path with its query."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        """Split an absolute ``http``/``https`` URL (ValueError when it is not one)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http or https URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname, port, path)

    @property
    def netloc(self) -> str:
        """``host`` or ``host:port`` (the default port omitted): how messages name the remote."""
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def with_query(url: str, query: Mapping[str, str]) -> str:
    """``url`` with ``query`` appended (after its own query, if it has one)."""
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(list(query.items()))}"


class RemoteResponse:
    """An answer whose body is read in decoded chunks (:meth:`chunks`)."""

    def __init__(self, client: RemoteClient, response: http.client.HTTPResponse) -> None:
        self.client = client
        self.status = response.status
        self.reason = response.reason or ""
        self.headers = response.headers
        self._response = response
        encoding = (response.getheader("Content-Encoding") or "").strip().lower()
        self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        self.body_bytes = 0

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case."""
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def chunks(self) -> Iterator[bytes]:
        """The decoded body, chunk by chunk; RemoteError if it breaks off or stalls."""
        first = True
        try:
            while True:
                self.client.set_read_timeout(first)
                raw = self._read()
                if not raw:
                    if self._response.length:  # fewer bytes than Content-Length promised
                        raise self.client.failure("broke off the answer mid-stream")
                    self._read(whole=True)  # ends the answer so that the connection is reused
                    break
                first = False
                self.body_bytes += len(raw)
                data = self._decoder.decompress(raw) if self._decoder else raw
                if data:
                    yield data
            if self._decoder is not None:
                tail = self._decoder.flush()
                if not self._decoder.eof:
                    raise self.client.failure("sent a gzip body that breaks off")
                if tail:
                    yield tail
        finally:
            self.client.release(self._response)

    def _read(self, whole: bool = False) -> bytes:
        try:
            return self._response.read() if whole else self._response.read1(READ_BYTES)
        except TimeoutError:
            raise self.client.failure(f"sent no data for {self.client.current_timeout():g} s") \
                from None
        except http.client.IncompleteRead:
            raise self.client.failure("broke off the answer mid-stream") from None
        except (OSError, http.client.HTTPException) as error:
            raise self.client.failure(f"broke off the answer ({_describe(error)})") from None
        except zlib.error:
            raise self.client.failure("sent a gzip body that cannot be decoded") from None

    def read_all(self, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
        """The whole decoded body (RemoteError beyond ``limit`` bytes)."""
        parts: list[bytes] = []
        size = 0
        for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                raise self.client.failure(f"sent a document larger than {limit >> 20} MiB")
            parts.append(chunk)
        return b"".join(parts)

    def json(self) -> Any:
        """The body parsed as JSON (RemoteError when it is not JSON)."""
        body = self.read_all()
        try:
            return json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise self.client.failure("sent a document that is not JSON") from None

    def discard(self) -> None:
        """Drop the rest of the body (the connection is closed, not reused)."""
        self.client.release(self._response, reuse=False)


class RemoteClient:
    """Requests to one remote server, under the policy's limits and timeouts."""

    def __init__(self, url: str, policy: RemotePolicy, *, kind: str = "remote") -> None:
        try:
            self.base = Target.parse(url)
        except ValueError as error:
            raise RemoteError(f"Bad remote server address: {error}") from None
        self.url = url
        self.policy = policy
        self.kind = kind
        self.limits = policy.limits_for(self.base.host, self.base.port)
        self.key = remote_key(self.base.host, self.base.port)
        self.requests = 0
        #: While set (monotonic seconds), waits, timeouts and retries end by then: a fetch
        #: must say what went wrong before the server gives up on its first byte.
        self.deadline: float | None = None
        self._connection: http.client.HTTPConnection | None = None
        self._connected_to: tuple[str, str, int] | None = None

    # -- naming and failing -------------------------------------------------

    @property
    def remote(self) -> str:
        """How messages name the remote server: ``host[:port]``."""
        return self.base.netloc

    def failure(self, what: str) -> RemoteError:
        """``RemoteError("The remote <kind> server <host> <what>")``."""
        return RemoteError(f"The remote {self.kind} server {self.remote} {what}")

    def sibling(self) -> RemoteClient:
        """Another client of the same server, with its own connection (while a body is open)."""
        sibling = RemoteClient(self.url, self.policy, kind=self.kind)
        sibling.deadline = self.deadline
        return sibling

    def hurry(self, seconds: float | None) -> None:
        """End every wait, timeout and retry within ``seconds`` from now (None: no hurry)."""
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def _limited(self, seconds: float) -> float:
        """``seconds``, cut to what is left before the deadline (at least 50 ms)."""
        if self.deadline is None:
            return seconds
        return max(0.05, min(seconds, self.deadline - time.monotonic()))

    # -- limits --------------------------------------------------------------

    @contextlib.contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one of this remote's fetch slots (waits up to the first-byte timeout)."""
        with fetch_slot(self.policy.lock_dir, self.key, self.limits.concurrency,
                        self._limited(self.policy.first_byte_timeout), self.remote) as number:
            yield number

    # -- requests ------------------------------------------------------------

    def get(self, url: str) -> RemoteResponse:
        """GET ``url`` (absolute) and return the answer once its headers are in.

        Redirects are followed; 429 and 5xx answers and failures before the
        answer are retried up to ``policy.retries`` times.
        """
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get_once(url)
            if response.status not in _REDIRECTS:
                return response
            location = response.headers.get("Location")
            response.discard()
            if not location:
                raise self.failure(f"answered {response.status} without a Location")
            url = urljoin(url, location)
        raise self.failure("redirected too many times")

    def _get_once(self, url: str) -> RemoteResponse:
        try:
            target = Target.parse(url)
        except ValueError as error:
            raise self.failure(f"sent a bad redirect ({error})") from None
        attempts = 1 + max(0, self.policy.retries)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._exchange(target)
            except _RetryableError as error:
                delay = self._retry_delay(attempt, None)
                if last or delay is None:
                    raise self.failure(error.what) from None
                time.sleep(delay)
                continue
            if response.status in RETRY_STATUSES and not last:
                delay = self._retry_delay(attempt, response.headers.get("Retry-After"))
                if delay is not None:
                    response.discard()
                    time.sleep(delay)
                    continue
            return response
        raise self.failure("could not be reached")  # not reached: the last attempt returns

    def _exchange(self, target: Target) -> RemoteResponse:
        """One request and its status line (a stale kept-alive connection is reopened once)."""
        wait_for_turn(self.policy.lock_dir, self.key, self.limits.rate)
        self.requests += 1
        for fresh in (False, True):
            reused = self._connection is not None and not fresh
            connection = self._connect(target, fresh=fresh)
            try:
                connection.request("GET", target.path, headers=self._headers(target))
                return RemoteResponse(self, connection.getresponse())
            except TimeoutError:
                waited = self.current_timeout()
                self._drop()
                raise _RetryableError(f"did not answer within {waited:g} s") from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                self._drop()
                if reused:
                    continue  # the server closed an idle kept-alive connection: reopen once
                raise _RetryableError(f"closed the connection ({_describe(error)})") from None
            except (OSError, http.client.HTTPException) as error:
                self._drop()
                raise _RetryableError(f"failed ({_describe(error)})") from None
        raise _RetryableError("closed the connection")

    def _connect(self, target: Target, *, fresh: bool) -> http.client.HTTPConnection:
        where = (target.scheme, target.host, target.port)
        if fresh or self._connected_to != where:
            self._drop()
        if self._connection is not None:
            return self._connection
        timeout = self._limited(self.policy.connect_timeout)
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                                     context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
        try:
            connection.connect()
        except TimeoutError:
            raise _RetryableError(f"did not accept a connection within {timeout:.3g} s") from None
        except socket.gaierror:
            raise _RetryableError(f"has an address that does not resolve ({target.host})") from None
        except ConnectionRefusedError:
            raise _RetryableError("refused the connection") from None
        except OSError as error:
            raise _RetryableError(f"could not be reached ({_describe(error)})") from None
        assert connection.sock is not None
        connection.sock.settimeout(self._limited(self.policy.first_byte_timeout))
        self._connection, self._connected_to = connection, where
        return connection

    def _headers(self, target: Target) -> dict[str, str]:
        return {"User-Agent": self.policy.agent,
                "Accept-Encoding": "gzip" if self.policy.gzip else "identity",
                "Connection": "keep-alive", "Accept": "*/*"}

    def _retry_delay(self, attempt: int, retry_after: str | None) -> float | None:
        """Seconds to wait before the next attempt; None when the deadline leaves no time."""
        delay = min(MAX_BACKOFF, 0.5 * 2 ** attempt)
        if retry_after and retry_after.strip().isdigit():
            delay = min(MAX_BACKOFF, max(delay, float(retry_after.strip())))
        if self.deadline is not None and self.deadline - time.monotonic() < delay + 0.5:
            return None
        return delay

    def current_timeout(self) -> float:
        """The timeout of the connection's socket, in seconds (for messages)."""
        sock = self._connection.sock if self._connection is not None else None
        seconds = sock.gettimeout() if sock is not None else None
        return round(seconds or 0.0, 3)

    # -- the connection ------------------------------------------------------

    def timeout_for(self, *, first: bool) -> float:
        """The read timeout before the first body byte, or between later ones."""
        return self._limited(self.policy.first_byte_timeout if first else self.policy.idle_timeout)

    def set_read_timeout(self, first: bool) -> None:
        """Use the first-byte or the idle timeout for the next body read."""
        if self._connection is not None and self._connection.sock is not None:
            self._connection.sock.settimeout(self.timeout_for(first=first))

    def release(self, response: http.client.HTTPResponse, *, reuse: bool = True) -> None:
        """After a body: keep the connection when it was read to the end and the server agrees."""
        if reuse and response.isclosed() and not response.will_close:
            if self._connection is not None and self._connection.sock is not None:
                self._connection.sock.settimeout(self._limited(self.policy.first_byte_timeout))
            return
        response.close()
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection, self._connected_to = None, None

    def close(self) -> None:
        """Close the connection."""
        self._drop()

    def __enter__(self) -> RemoteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _RetryableError(Exception):
    """A failure before the answer's first byte: the request may be sent again."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _describe(error: BaseException) -> str:
    """A short, path-free description of a socket or HTTP error."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return type(error).__name__
