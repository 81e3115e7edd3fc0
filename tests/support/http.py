"""HTTP clients' pieces: Basic credentials, a das2C-style HTTP/1.0 request, HTML form reading."""

from __future__ import annotations

import base64
import socket
from html.parser import HTMLParser
from urllib.parse import urlsplit


def basic_header(user: str, password: str) -> str:
    """An ``Authorization: Basic`` header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def basic(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header, as a headers mapping."""
    return {"Authorization": basic_header(user, password)}


def raw_http10(url: str, path: str) -> tuple[bytes, bytes]:
    """Send a das2C-style HTTP/1.0 GET (host without port) and read until close."""
    parts = urlsplit(url)
    request = (f"GET {path} HTTP/1.0\r\nHost: {parts.hostname}\r\n"
               "User-Agent: libdas2/2.3\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as connection:
        connection.sendall(request)
        received = bytearray()
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    return head, body


class FormReader(HTMLParser):
    """Collects the first form's action and its named controls."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.controls: list[dict[str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form" and not self.action:
            self.action = values.get("action", "")
        elif tag in ("input", "select") and "name" in values:
            self.controls.append({"tag": tag, **values})
        elif tag == "a" and "href" in values:
            self.links.append(values["href"])


def read_page(body: bytes) -> FormReader:
    reader = FormReader()
    reader.feed(body.decode("utf-8"))
    return reader
