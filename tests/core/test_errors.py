"""errors.py: the one owner of exception types on the wire (das2, das3, "no data")."""

from __future__ import annotations

import pytest

from dasflex_core.codecs import das2, das3
from dasflex_core.codecs.das2to3_stream import convert_das2_to_das3, convert_das3_to_das2
from dasflex_core.codecs.events import StreamException
from dasflex_core.errors import (
    DAS2_TO_DAS3_TYPES,
    DAS3_STREAM_TYPES,
    DAS3_TO_DAS2_TYPES,
    NO_DATA_TYPES,
    DasFlexError,
    NoDataError,
    QueryError,
    das2_exception_type,
    das3_exception_type,
)
from dasflex_core.runner import no_data_message


def _all_error_classes() -> list[type[DasFlexError]]:
    found, pending = [], [DasFlexError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_the_type_maps_are_the_classes_attributes() -> None:
    assert dict(DAS2_TO_DAS3_TYPES) == {"NoDataInInterval": "NoMatchingData",
                                        "IllegalArgument": "QueryError"}
    for cls in _all_error_classes():
        if cls.das2_type != cls.das3_type:
            assert DAS2_TO_DAS3_TYPES[cls.das2_type] == cls.das3_type, cls
            assert DAS3_TO_DAS2_TYPES[cls.das3_type] == cls.das2_type, cls


def test_each_das2_type_has_one_das3_spelling() -> None:
    pairs = {(cls.das2_type, cls.das3_type) for cls in _all_error_classes()}
    das2_types = [das2_type for das2_type, _ in pairs]
    assert len(das2_types) == len(set(das2_types)), pairs


def test_maps_are_read_only() -> None:
    with pytest.raises(TypeError):
        DAS2_TO_DAS3_TYPES["Oddity"] = "QueryError"  # type: ignore[index]


@pytest.mark.parametrize(("das2_type", "default", "expected"), [
    ("NoDataInInterval", "ServerError", "NoMatchingData"),
    ("IllegalArgument", "ServerError", "QueryError"),
    ("ServerError", "ServerError", "ServerError"),
    ("Unauthorized", "ServerError", "ServerError"),
    ("Oddity", "ServerError", "ServerError"),
    ("Oddity", None, "Oddity"),
    ("NoDataInInterval", None, "NoMatchingData"),
])
def test_das3_exception_type(das2_type: str, default: str | None, expected: str) -> None:
    assert das3_exception_type(das2_type, default=default) == expected


@pytest.mark.parametrize(("das3_type", "expected"), [
    ("NoMatchingData", "NoDataInInterval"),
    ("QueryError", "IllegalArgument"),
    ("ServerError", "ServerError"),
    ("Oddity", "Oddity"),
])
def test_das2_exception_type(das3_type: str, expected: str) -> None:
    assert das2_exception_type(das3_type) == expected


def test_das3_stream_types_and_no_data_types() -> None:
    assert DAS3_STREAM_TYPES == ("NoMatchingData", "ServerError", "QueryError")
    assert NO_DATA_TYPES == (NoDataError.das2_type, NoDataError.das3_type)
    assert QueryError.das3_type in DAS3_STREAM_TYPES
    assert set(DAS2_TO_DAS3_TYPES.values()) <= set(DAS3_STREAM_TYPES)


def test_no_data_is_recognised_through_errors() -> None:
    from dasflex_core import runner
    from dasflex_core.protocols import hapi_encode
    from dasflex_core.tools.hapi import stream as hapi_stream

    for user in (runner, hapi_encode, hapi_stream):
        assert user.NO_DATA_TYPES is NO_DATA_TYPES, user.__name__
    assert no_data_message(das2.encode_exception("NoDataInInterval", "none")) == "none"
    assert no_data_message(das3.encode_exception("NoMatchingData", "nothing")) == "nothing"
    assert no_data_message(das2.encode_exception("IllegalArgument", "bad")) is None


def test_the_codec_converters_use_the_maps() -> None:
    header = das2.encode_header_packet(0, '<stream version="2.2"></stream>\n')
    data = header + b"".join(das2.encode_exception(kind, "m") for kind in
                             ("NoDataInInterval", "IllegalArgument", "Oddity"))
    as_das3 = das3.read_all(b"".join(convert_das2_to_das3(das2.read_all(data))))
    kinds = [event.type for event in as_das3 if isinstance(event, StreamException)]
    assert kinds == [das3_exception_type(kind) for kind in
                     ("NoDataInInterval", "IllegalArgument", "Oddity")]
    back = das2.read_all(b"".join(convert_das3_to_das2(as_das3)))
    assert [event.type for event in back if isinstance(event, StreamException)] == [
        "NoDataInInterval", "IllegalArgument", "ServerError"]
