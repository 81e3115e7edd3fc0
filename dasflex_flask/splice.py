"""Zero-copy relay under gunicorn: move a pipeline's stdout to the client socket with splice(2).

After the first body chunk has gone through gunicorn (so the status line and
headers are on the wire), the rest of a pass-through stream never enters
Python: ``os.splice`` moves it from the pipe to the socket inside the kernel.
HTTP/1.1 bodies keep gunicorn's chunked framing (a size line before each
spliced run, CRLF after it); gunicorn still writes the final empty chunk.
``DASFLEX_SPLICE=0`` in the server's environment turns it off.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios
from collections.abc import Mapping
from typing import Any

from dasflex_core.http import Response


class SocketSplicer:
    """``sink(pipe_fd, limit)``: splice up to ``limit`` waiting bytes to a socket."""

    def __init__(self, connection: socket.socket, chunked: bool) -> None:
        self.connection = connection
        self.chunked = chunked

    def __call__(self, pipe_fd: int, limit: int) -> int:
        """Bytes moved; 0 at end of input (the pipe was readable but empty)."""
        if not self.chunked:
            return os.splice(pipe_fd, self.connection.fileno(), limit)
        waiting = min(_bytes_waiting(pipe_fd), limit)
        if waiting == 0:
            return 0
        self.connection.sendall(b"%X\r\n" % waiting)
        moved = 0
        while moved < waiting:
            count = os.splice(pipe_fd, self.connection.fileno(), waiting - moved)
            if count == 0:
                raise BrokenPipeError("the pipeline's output ended inside a spliced chunk")
            moved += count
        self.connection.sendall(b"\r\n")
        return moved


def _bytes_waiting(pipe_fd: int) -> int:
    raw = fcntl.ioctl(pipe_fd, termios.FIONREAD, b"\0\0\0\0")
    return int(struct.unpack("i", raw)[0])


def enable(response: Response, environ: Mapping[str, Any]) -> None:
    """Hand ``response`` a splice sink when gunicorn serves it over a plain socket."""
    connection = environ.get("gunicorn.socket")
    if (response.zero_copy is None or not hasattr(os, "splice")
            or os.environ.get("DASFLEX_SPLICE", "1") == "0"
            or not isinstance(connection, socket.socket)
            or environ.get("wsgi.url_scheme") != "http"
            or environ.get("REQUEST_METHOD") == "HEAD"
            or response.header("Content-Length") is not None):
        return
    chunked = str(environ.get("SERVER_PROTOCOL", "HTTP/1.0")) not in ("HTTP/1.0", "HTTP/0.9")
    response.zero_copy(SocketSplicer(connection, chunked))
