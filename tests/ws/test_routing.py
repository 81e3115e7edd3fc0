"""The daemon's sans-I/O routing: source paths, subprotocols, close reasons, planning."""

from __future__ import annotations

import pytest

from dasflex_core.errors import NotFoundError, QueryError
from dasflex_ws.routing import (
    SUBPROTOCOL,
    build_request,
    choose_subprotocol,
    offered_subprotocols,
    prepare_stream,
    source_path,
)
from dasflex_ws.server import close_reason
from tests.support.paths import EXAMPLE_SITE


def test_paths_name_the_source_in_every_accepted_form() -> None:
    assert source_path("/dasws/Examples/Realtime/flexRT?a=b") == "Examples/Realtime"
    assert source_path("/dasws/Examples/Realtime") == "Examples/Realtime"
    assert source_path("/source/examples/realtime/flexRT") == "examples/realtime"
    assert source_path("/ws/source/a%20b/flexRT", "/ws") == "a b"
    assert source_path("/dasws/flexRT") == ""
    with pytest.raises(QueryError, match="UTF-8"):
        source_path("/dasws/%ff/flexRT")
    with pytest.raises(QueryError, match="control"):
        source_path("/dasws/a%0ab/flexRT")
    with pytest.raises(QueryError, match="longer"):
        source_path("/dasws/" + "a" * 2000)


def test_subprotocol_choice() -> None:
    assert offered_subprotocols(["chat, forward-stream-v1.das2.org", " request"]) == [
        "chat", SUBPROTOCOL, "request"]
    assert choose_subprotocol([]) is None
    assert choose_subprotocol(["request", SUBPROTOCOL]) == SUBPROTOCOL
    assert choose_subprotocol(["request"]) == "request"
    with pytest.raises(QueryError, match="unsupported websocket subprotocol 'chat'"):
        choose_subprotocol(["chat"])


def test_close_reasons_fit_a_close_frame() -> None:
    assert close_reason("short") == "short"
    cut = close_reason("é" * 100)
    assert len(cut.encode()) <= 123 and cut.endswith("...")


def test_example_realtime_source_plans_with_the_flexrt_convention() -> None:
    from dasflex_core.protocols import Server
    from dasflex_core.settings import load_settings
    from dasflex_core.sources.loader import load_site

    settings = load_settings(environ={}, site_dir=EXAMPLE_SITE)
    server = Server(settings, load_site(settings.site_dir))
    request = build_request("/dasws/examples/realtime/flexRT?read.time.min=2024-01-01"
                            "&read.time.max=2099-01-01", {"Host": "h"})
    setup = prepare_stream(server, request, [SUBPROTOCOL])
    assert setup.source_id == "Examples/Realtime" and setup.subprotocol == SUBPROTOCOL
    reader = setup.plan.stages[0]
    assert reader[1].endswith("realtime_reader.py")
    assert reader[2:] == ("2024-01-01T00:00:00", "2099-01-01T00:00:00")
    with pytest.raises(NotFoundError):
        prepare_stream(server, build_request("/dasws/examples/none/flexRT", {}))
