"""The catalog documents the protocols serve, built once per server and base URL.

:func:`dasflex_core.sources.catalog.build_files` makes the das2 list, the
``das2.d2t`` headers and the JSON nodes; this module looks them up by their
path below the server root and memoises them on the :class:`Server`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dasflex_core.errors import NotFoundError
from dasflex_core.http import Request
from dasflex_core.protocols import Server

#: Files of a source directory that are never served, whatever the builder says.
PRIVATE_NAMES = ("internal.json",)


def site_files(server: Server, request: Request) -> Mapping[str, bytes]:
    """Every catalog file by its path below the server root (e.g. ``root.json``)."""
    base = server.base_url(request)

    def build() -> Mapping[str, bytes]:
        from dasflex_core.sources.catalog import build_files

        files = build_files(server.site, base, server_name=server.settings.server_id)
        return {
            name.strip("/"): content.encode("utf-8") if isinstance(content, str) else content
            for name, content in files.items()
            if name.rsplit("/", 1)[-1] not in PRIVATE_NAMES
        }

    return server.memo(f"files:{base}", build)


def site_file(server: Server, request: Request, name: str) -> bytes | None:
    """One catalog file (case-insensitive below ``source/``), or None."""
    files = site_files(server, request)
    if name in files:
        return files[name]
    lowered = name.lower()
    return files.get(lowered) if lowered.startswith("source/") else None


def source_file(server: Server, request: Request, source: Any, name: str) -> bytes:
    """A file of one source's directory, e.g. ``das2.d2t``."""
    found = site_file(server, request, f"source/{source.id.lower()}/{name}")
    if found is None:
        raise NotFoundError(f"data source '{source.id}' has no {name}")
    return found


def das2_list(server: Server, request: Request, *, discovery: bool = False) -> str:
    """The ``?server=list`` text (``discovery``: only sources with examples)."""
    if not discovery:
        return site_files(server, request)["das2list.txt"].decode("utf-8")
    from dasflex_core.sources.catalog import das2_list as build_list

    return str(server.memo("discovery", lambda: build_list(server.site, discovery=True)))
