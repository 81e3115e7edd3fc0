"""The catalog documents the protocols serve, built once per server and base URL.

:func:`dasflex_core.sources.catalog.build_files` makes the das2 list, the
``das2.d2t`` headers and the JSON nodes; this module looks them up by their
path below the server root and memoises them on the :class:`Server`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dasflex_core.errors import NotFoundError
from dasflex_core.http import Request
from dasflex_core.protocols import Server, catalog_filter, site_planner
from dasflex_core.sources.catalog import build_files, listed_site
from dasflex_core.sources.catalog import das2_list as build_list

if TYPE_CHECKING:
    from dasflex_core.model import SourceDef

#: Files of a source directory that are never served, whatever the builder says.
PRIVATE_NAMES = ("internal.json",)


def site_files(server: Server, request: Request) -> Mapping[str, bytes]:
    """Every catalog file by its path below the server root (e.g. ``root.json``).

    Listings leave out the protected sources ``request`` may not read
    (:func:`unlisted_ids`); one set of files is built per base URL and
    distinct set of unlisted sources.
    """
    base = server.base_url(request)
    unlisted = unlisted_ids(server, request)

    def build() -> Mapping[str, bytes]:
        files = build_files(server.site, base, site_planner(server, request).output_formats,
                            server_name=server.settings.server_id, unlisted=unlisted)
        return {
            name.strip("/"): content.encode("utf-8") if isinstance(content, str) else content
            for name, content in files.items()
            if name.rsplit("/", 1)[-1] not in PRIVATE_NAMES
        }

    return server.memo(f"files:{base}:{','.join(sorted(unlisted))}", build)


def unlisted_ids(server: Server, request: Request) -> frozenset[str]:
    """Ids of the protected sources that listings answering ``request`` leave out.

    The rule is the HAPI catalog's (:func:`dasflex_core.protocols.catalog_filter`):
    a protected source is listed only to clients that could read it.
    """
    protected = server.memo("protected-ids", lambda: tuple(
        source for source in server.site if source.protected and not source.hidden))
    if not protected:
        return frozenset()
    visible = catalog_filter(server, request)
    return frozenset(source.id for source in protected if not visible(source))


def site_file(server: Server, request: Request, name: str) -> bytes | None:
    """One catalog file (case-insensitive below ``source/``), or None."""
    files = site_files(server, request)
    if name in files:
        return files[name]
    lowered = name.lower()
    return files.get(lowered) if lowered.startswith("source/") else None


def source_file(server: Server, request: Request, source: SourceDef, name: str) -> bytes:
    """A file of one source's directory, e.g. ``das2.d2t``."""
    found = site_file(server, request, f"source/{source.id.lower()}/{name}")
    if found is None:
        raise NotFoundError(f"data source '{source.id}' has no {name}")
    return found


def das2_list(server: Server, request: Request, *, discovery: bool = False) -> str:
    """The ``?server=list`` text (``discovery``: only sources with examples)."""
    if not discovery:
        return site_files(server, request)["das2list.txt"].decode("utf-8")

    unlisted = unlisted_ids(server, request)
    return str(server.memo(f"discovery:{','.join(sorted(unlisted))}", lambda: build_list(
        listed_site(server.site, unlisted), discovery=True)))
