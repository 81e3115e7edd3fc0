"""Remember which JSON documents already passed their schema.

Validating with jsonschema costs more than the rest of a CGI request's
start-up.  A :class:`SchemaChecks` records the digest of every document
that passed (canonical JSON, salted with the schema's own digest), so a
loader given the digests of earlier runs skips those checks; an edited
document or schema is checked again.  Where the digests are kept between
runs is the caller's choice (the CGI keeps them in a private file).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

#: Checks one document, raising DefinitionError naming ``where`` when it is invalid.
Validator = Callable[[Any, str], None]


class SchemaChecks:
    """Digests of documents known valid; :meth:`check` validates only new ones."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.known = set(known)
        self.added: list[str] = []

    def check(self, document: Any, where: str, schema: Path, validate: Validator) -> None:
        """Validate ``document`` against ``schema`` unless it passed before."""
        digest = document_digest(document, schema)
        if digest in self.known:
            return
        validate(document, where)
        self.known.add(digest)
        self.added.append(digest)


def document_digest(document: Any, schema: Path) -> str:
    """SHA-256 of ``document`` in canonical form, salted with the schema's digest."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{schema_digest(schema)}:{text}".encode()).hexdigest()


@cache
def schema_digest(schema: Path) -> str:
    """SHA-256 of a schema file's bytes (read once per process)."""
    return hashlib.sha256(schema.read_bytes()).hexdigest()
