"""The one exception tree of dasflex.

Every error a user can cause or meet is a :class:`DasFlexError`.  Each class
carries how it is reported on every protocol: an HTTP status, a das2 exception
type, a das3 exception type and a HAPI status code.  Front-ends map errors in
exactly one place by reading these attributes; nothing else decides a status.

The translations between das2 and das3 exception types, and the types that
only say "no data", are derived here from those attributes
(:data:`DAS2_TO_DAS3_TYPES`, :func:`das3_exception_type`,
:func:`das2_exception_type`, :data:`NO_DATA_TYPES`); codecs, tools and
protocols ask this module instead of keeping their own tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType


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


class ParameterError(QueryError):
    """A requested data parameter is unknown, repeated or out of order."""

    hapi_code = 1407
    hapi_message = "Bad request - unknown dataset parameter"


# --------------------------------------------------------------------------
# Exception types on the wire, derived from the classes above


def _error_classes(root: type[DasFlexError] = DasFlexError) -> Iterator[type[DasFlexError]]:
    """``root`` and every class below it, parents first."""
    yield root
    for child in root.__subclasses__():
        yield from _error_classes(child)


#: das2 exception types whose das3 spelling differs (NoDataInInterval ->
#: NoMatchingData, IllegalArgument -> QueryError); the others are spelled alike.
DAS2_TO_DAS3_TYPES: Mapping[str, str] = MappingProxyType({
    error.das2_type: error.das3_type for error in _error_classes()
    if error.das2_type != error.das3_type
})
#: The inverse of :data:`DAS2_TO_DAS3_TYPES`.
DAS3_TO_DAS2_TYPES: Mapping[str, str] = MappingProxyType(
    {das3: das2 for das2, das3 in DAS2_TO_DAS3_TYPES.items()})
#: The exception types das2C writes in das3 streams.
DAS3_STREAM_TYPES = (NoDataError.das3_type, DasFlexError.das3_type, QueryError.das3_type)
#: Exception types (das2 and das3 spellings) that only say "no data".
NO_DATA_TYPES = (NoDataError.das2_type, NoDataError.das3_type)


def das3_exception_type(das2_type: str, default: str | None = DasFlexError.das3_type) -> str:
    """The das3 exception type for a das2 one.

    Types without their own das3 spelling become ``default`` (None keeps them).

    >>> das3_exception_type("NoDataInInterval"), das3_exception_type("Odd")
    ('NoMatchingData', 'ServerError')
    >>> das3_exception_type("Odd", default=None)
    'Odd'
    """
    return DAS2_TO_DAS3_TYPES.get(das2_type, das2_type if default is None else default)


def das2_exception_type(das3_type: str) -> str:
    """The das2 exception type for a das3 one (QueryError -> IllegalArgument); others unchanged."""
    return DAS3_TO_DAS2_TYPES.get(das3_type, das3_type)
