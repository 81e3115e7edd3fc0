"""The one exception tree of dasflex.

Every error a user can cause or meet is a :class:`DasFlexError`.  Each class
carries how it is reported on every protocol: an HTTP status, a das2 exception
type, a das3 exception type and a HAPI status code.  Front-ends map errors in
exactly one place by reading these attributes; nothing else decides a status.
"""

from __future__ import annotations


class DasFlexError(Exception):
    """Base of all dasflex errors: an internal server error unless refined."""

    status: int = 500
    das2_type: str = "ServerError"
    das3_type: str = "ServerError"
    hapi_code: int = 1500
    hapi_message: str = "Internal server error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class StreamError(DasFlexError):
    """A das2 or das3 stream is invalid; ``offset`` is the byte where it failed."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        where = f" (at byte {offset})" if offset is not None else ""
        super().__init__(f"{message}{where}")
        self.reason = message
        self.offset = offset


class TimeError(DasFlexError):
    """A time string could not be parsed or a time value is out of range."""

    status = 400
    das2_type = "IllegalArgument"
    das3_type = "QueryError"
    hapi_code = 1400
    hapi_message = "Bad request - user input error"


class DefinitionError(DasFlexError):
    """A source definition, command table or config file is invalid.

    The message names the file, the key or line, and the reason.
    """

    def __init__(self, path: str, where: str | None, reason: str) -> None:
        location = f"{path}: {where}" if where else path
        super().__init__(f"{location}: {reason}")
        self.path = path
        self.where = where
        self.reason = reason


class QueryError(DasFlexError):
    """The request is malformed or asks for something the source cannot do."""

    status = 400
    das2_type = "IllegalArgument"
    das3_type = "QueryError"
    hapi_code = 1400
    hapi_message = "Bad request - user input error"


class NoPipelineError(QueryError):
    """No chain of commands turns the source's output into what was asked."""


class TooLargeError(QueryError):
    """The request exceeds a size or time-range limit."""

    status = 413
    hapi_code = 1408
    hapi_message = "Bad request - too much time or data requested"


class NotFoundError(DasFlexError):
    """No such data source, catalog node or page."""

    status = 404
    das2_type = "IllegalArgument"
    das3_type = "QueryError"
    hapi_code = 1406
    hapi_message = "Bad request - unknown dataset id"


class UnauthorizedError(DasFlexError):
    """Credentials are missing or wrong; ``realm`` goes in the challenge."""

    status = 401
    das2_type = "Unauthorized"
    das3_type = "Unauthorized"
    hapi_code = 1401
    hapi_message = "Unauthorized"

    def __init__(self, message: str, realm: str) -> None:
        super().__init__(message)
        self.realm = realm


class ForbiddenError(DasFlexError):
    """The user is known but may not read this data."""

    status = 403
    das2_type = "Forbidden"
    das3_type = "Forbidden"
    hapi_code = 1401
    hapi_message = "Forbidden"


class NoDataError(DasFlexError):
    """The request was valid but no data lie in the interval (not a failure)."""

    status = 200
    das2_type = "NoDataInInterval"
    das3_type = "NoMatchingData"
    hapi_code = 1201
    hapi_message = "OK - no data for time range"


class ReaderError(DasFlexError):
    """A reader or another pipeline stage failed."""

    status = 500


class PipelineTimeoutError(ReaderError):
    """A pipeline produced no first byte, or did not finish, in time."""

    status = 504


class QueueUnavailableError(DasFlexError):
    """The cache job queue cannot be reached (Redis down or not configured)."""

    status = 503


class RemoteError(ReaderError):
    """A remote server that a source relays (HAPI, das2, das3) failed or could not be reached."""

    status = 502
    hapi_code = 1501
    hapi_message = "Internal server error - upstream request error"


class RemoteBusyError(RemoteError):
    """Every fetch slot of a remote server stayed taken (the per-remote limit)."""

    status = 503


class OutOfRangeError(QueryError):
    """The requested time range lies outside the range the data cover."""

    hapi_code = 1405
    hapi_message = "Bad request - time outside valid range"


#: How a pipeline stage names its error on stderr: ``dasflex-error: CLASS: message``.
STAGE_ERROR_PREFIX = "dasflex-error:"

#: The errors a stage may report this way (the runner raises them instead of a ReaderError).
STAGE_ERRORS: dict[str, type[DasFlexError]] = {
    cls.__name__: cls for cls in (RemoteError, RemoteBusyError, OutOfRangeError, TooLargeError)
}


def stage_error_line(error: DasFlexError) -> str:
    """The stderr line a stage writes to report ``error`` (one line, newline ended).

    >>> stage_error_line(RemoteError("remote host example.org refused the connection"))
    'dasflex-error: RemoteError: remote host example.org refused the connection\\n'
    """
    name = type(error).__name__ if type(error).__name__ in STAGE_ERRORS else "RemoteError"
    return f"{STAGE_ERROR_PREFIX} {name}: {' '.join(error.message.split())}\n"


def reported_error(stderr: bytes) -> DasFlexError | None:
    """The error a stage reported in ``stderr`` (its last such line), or None.

    >>> reported_error(b"dasflex-error: OutOfRangeError: before the data\\n").status
    400
    """
    found: DasFlexError | None = None
    for line in stderr.decode("utf-8", "replace").splitlines():
        if not line.startswith(STAGE_ERROR_PREFIX):
            continue
        name, _, message = line[len(STAGE_ERROR_PREFIX):].strip().partition(": ")
        cls = STAGE_ERRORS.get(name)
        if cls is not None and message:
            found = cls(message)
    return found
