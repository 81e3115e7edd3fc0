"""Validate each JSON definition once, not on every CGI request.

Checking a definition against its schema needs jsonschema, whose import and
validator set-up cost about as much as the rest of a CGI request's start.
The core's :class:`~dasflex_core.sources.checks.SchemaChecks` skips documents
whose digest (content plus schema) passed before; this module keeps those
digests between requests in a file of a directory only this user may write
(``$TMPDIR/dasflex-cgi-UID/validated.json``).  An edited definition, command
table or schema is checked again.  A store that is missing, unreadable, or
not private is ignored.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from dasflex_core.sources.checks import SchemaChecks
from dasflex_core.sources.loader import load_site as load

#: Most definition digests kept (the oldest are dropped first).
MAX_DIGESTS = 10000
#: The store's format version (digests of another version are not trusted).
STORE_VERSION = 2


def load_site(site_dir: Path | str, store: Path | None = None) -> Any:
    """:func:`dasflex_core.sources.loader.load_site`, skipping checks already passed."""
    checks = open_checks(store)
    site = load(site_dir, checks=checks)
    save_checks(checks, store)
    return site


def open_checks(store: Path | None = None) -> SchemaChecks:
    """A :class:`SchemaChecks` that knows the digests kept in ``store``."""
    return SchemaChecks(read_digests(store or default_store()))


def save_checks(checks: SchemaChecks, store: Path | None = None) -> None:
    """Keep the digests of documents that passed for the first time in ``checks``."""
    if checks.added:
        added = set(checks.added)
        write_digests(store or default_store(),
                      [*sorted(checks.known - added), *checks.added])


def default_store() -> Path:
    """This user's private store of validated digests."""
    return Path(tempfile.gettempdir()) / f"dasflex-cgi-{os.getuid()}" / "validated.json"


def read_digests(store: Path) -> set[str]:
    """Digests that passed earlier; empty when the store is absent or not private."""
    if not _private(store.parent) or not _private(store):
        return set()
    try:
        document = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(document, dict) or document.get("version") != STORE_VERSION:
        return set()
    digests = document.get("digests")
    return {d for d in digests if isinstance(d, str)} if isinstance(digests, list) else set()


def write_digests(store: Path, digests: list[str]) -> None:
    """Replace the store (atomically); failures are ignored (the next request checks again)."""
    try:
        store.parent.mkdir(mode=0o700, exist_ok=True)
        if not _private(store.parent):
            return
        text = json.dumps({"version": STORE_VERSION, "digests": digests[-MAX_DIGESTS:]})
        handle, temporary = tempfile.mkstemp(dir=store.parent, prefix=".validated-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, store)
    except OSError:
        return


def _private(path: Path) -> bool:
    """True when ``path`` is owned by this user and nobody else may write it."""
    try:
        info = path.lstat()
    except OSError:
        return False
    writable_by_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return info.st_uid == os.getuid() and not writable_by_others and not stat.S_ISLNK(info.st_mode)
