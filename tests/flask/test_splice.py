"""Zero-copy relay: spliced bodies are byte-identical to read-and-write ones."""

from __future__ import annotations

import os
import socket
import urllib.request

import pytest

from tests.support.http import raw_http10

TEN_DAYS = "/source/test/ramp/flex?read.time.min=2020-01-01&read.time.max=2020-01-11"


def _drain(connection: socket.socket) -> bytes:
    received = bytearray()
    while chunk := connection.recv(65536):
        received += chunk
    return bytes(received)


@pytest.mark.parametrize("chunked", [False, True])
def test_splicer_moves_pipe_bytes_with_the_right_framing(chunked: bool) -> None:
    from dasflex_flask.splice import SocketSplicer

    payload = bytes(range(256)) * 40
    read_end, write_end = os.pipe()
    left, right = socket.socketpair()
    try:
        os.write(write_end, payload)
        os.close(write_end)
        sink = SocketSplicer(left, chunked)
        moved = []
        while count := sink(read_end, 4000):
            moved.append(count)
        left.close()
        received = _drain(right)
    finally:
        os.close(read_end)
        right.close()
    assert sum(moved) == len(payload) and max(moved) <= 4000
    if chunked:
        expected = b"".join(b"%X\r\n" % len(part) + part + b"\r\n" for part in
                            (payload[i:i + 4000] for i in range(0, len(payload), 4000)))
        assert received == expected
    else:
        assert received == payload


def test_spliced_streams_equal_the_in_process_body(server_url: str, client) -> None:
    expected = client.get(TEN_DAYS).get_data()
    assert len(expected) > 500_000
    head, body = raw_http10(server_url, TEN_DAYS)
    assert b" 200 " in head.split(b"\r\n")[0]
    assert body == expected
    with urllib.request.urlopen(server_url + TEN_DAYS, timeout=30) as reply:
        assert reply.headers["Transfer-Encoding"] == "chunked"
        assert reply.read() == expected
