"""A definition's ``remote`` block: which remote server a source relays, as a reader command.

A source may name, instead of a reader program, a remote source:

* ``hapi``: a HAPI ``server`` (its URL ends in ``/hapi``), a ``dataset`` and
  optionally its ``parameters``, the ``format`` to ask (``binary`` or
  ``csv``) and the dataset's ``maxRequestDuration``;
* ``das2``: a das2 ``server`` (the URL that answers ``?server=``) and a
  ``dataset`` id;
* ``das3``: a ``flex`` URL (``.../source/<id>/flex``), read as a das2 stream
  unless ``stream`` is ``das3``.

At load time it becomes an ordinary reader command running
``dasflex_fetch`` (:mod:`dasflex_core.tools.dasflex_fetch`, over the library
:mod:`dasflex_core.remote`): the planner then
applies reduction, spectra, every output format, the cache, access rules,
forms and catalogs to it as to any reader.  Every argument is one argv
element; URLs and ids are percent-encoded (:func:`encode_argument`) so that
they never clash with the template language, and query values reach the
fetch only through ``#[...]`` slots.

JSON (``schemas/source.schema.json``)::

    "remote": {"type": "hapi", "server": "https://cdaweb.gsfc.nasa.gov/hapi",
               "dataset": "AC_H0_MFI", "parameters": ["Magnitude", "BGSEc"]}

DSDF: ``remote = 'hapi | URL | DATASET [| PARAM,PARAM]'``,
``remote = 'das2 | URL | DATASET'`` or ``remote = 'das3 | URL [| das3]'``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from dasflex_core import keys
from dasflex_core.model import DAS2_BINARY, DAS3_BINARY, CommandDef, CommandRole, StreamType
from dasflex_core.sources import common

#: The program that fetches remote data (a console script of this package).
FETCH_PROGRAM = "dasflex_fetch"
#: The kinds of remote source.
REMOTE_KINDS = ("hapi", "das2", "das3")
#: HAPI formats a remote may be asked for.
HAPI_FORMATS = ("binary", "csv")

#: Characters left as they are in an encoded argument (no blank, ``#``, ``[``, ``]``, ``@``, ``%``).
_SAFE = "/:?&=,+;.-_~!$'()*"
_PARAMETER = re.compile(r"[^,]+")


@dataclass(frozen=True, slots=True)
class RemoteSpec:
    """A remote source a definition relays."""

    kind: str
    url: str
    dataset: str = ""
    parameters: tuple[str, ...] = ()
    format: str = ""
    max_duration: str = ""
    stream: str = "das2"

    @property
    def output(self) -> StreamType:
        """The stream the fetch writes: das2, or das3 for a das3 remote read as das3."""
        return DAS3_BINARY if self.kind == "das3" and self.stream == "das3" else DAS2_BINARY


def encode_argument(text: str) -> str:
    """``text`` percent-encoded for a command template (:func:`decode_argument` reverses it).

    >>> encode_argument("a b#[c]%")
    'a%20b%23%5Bc%5D%25'
    """
    return quote(text, safe=_SAFE)


def decode_argument(text: str) -> str:
    """Undo :func:`encode_argument`."""
    return unquote(text)


def check_url(url: str) -> str:
    """``url`` when it is an absolute http(s) URL without a fragment; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise ValueError(f"expected an absolute http or https URL, not {url!r}")
    if parts.fragment or any(ch.isspace() for ch in url):
        raise ValueError(f"the URL {url!r} may hold no blank and no '#' fragment")
    return url


def spec_from_json(block: Mapping[str, Any]) -> RemoteSpec:
    """The spec of a JSON definition's ``remote`` block (already schema-checked)."""
    kind = str(block.get("type", ""))
    if kind not in REMOTE_KINDS:
        raise ValueError(f"unknown remote type {kind!r} (one of {', '.join(REMOTE_KINDS)})")
    address = str(block.get("flex" if kind == "das3" else "server", ""))
    url = check_url(address.rstrip("/") if kind == "hapi" else address)
    dataset = str(block.get("dataset", ""))
    if kind in ("hapi", "das2") and not dataset:
        raise ValueError(f"a {kind} remote needs a 'dataset'")
    parameters = tuple(str(name) for name in block.get("parameters", ()))
    for name in parameters:
        if not _PARAMETER.fullmatch(name):
            raise ValueError(f"bad HAPI parameter name {name!r} (a name holds no comma)")
    output_format = str(block.get("format", ""))
    if output_format and output_format not in HAPI_FORMATS:
        raise ValueError(f"format must be one of {', '.join(HAPI_FORMATS)}")
    return RemoteSpec(kind, url, dataset, parameters, output_format,
                      str(block.get("maxRequestDuration", "")), str(block.get("stream", "das2")))


def spec_from_text(text: str) -> RemoteSpec:
    """Read a DSDF ``remote`` value: ``KIND | URL | DATASET [| PARAMETERS or das3]``.

    >>> spec_from_text("hapi | http://h.example.org/hapi | AC_H0 | B,V").parameters
    ('B', 'V')
    """
    kind, url, third, fourth = common.split_fields(text, 4)
    block: dict[str, Any] = {"type": kind.lower(), "server": url, "flex": url}
    if block["type"] == "das3":
        block["stream"] = third or "das2"
    else:
        block["dataset"] = third
        if fourth:
            block["parameters"] = [name.strip() for name in fourth.split(",") if name.strip()]
    return spec_from_json(block)


def reader_command(spec: RemoteSpec, *, requires_interval: bool = False,
                   cwd: str | None = None) -> CommandDef:
    """The reader command that runs ``dasflex_fetch`` for ``spec``."""
    tokens = [FETCH_PROGRAM, spec.kind, encode_argument(spec.url)]
    if spec.kind != "das3":
        tokens.append(encode_argument(spec.dataset))
    tokens += [f"#[{keys.READ_TIME_MIN}]", f"#[{keys.READ_TIME_MAX}]"]
    if spec.kind == "hapi":
        if spec.parameters:
            tokens.append("--parameters=" + encode_argument(",".join(spec.parameters)))
        if spec.format:
            tokens.append(f"--format={spec.format}")
        if spec.max_duration:
            tokens.append("--max-duration=" + encode_argument(spec.max_duration))
        tokens.append(f"#[{keys.READ_OPTS} # --client-parameters=@ #]")
    else:
        if spec.kind == "das3" and spec.stream == "das3":
            tokens.append("--stream=das3")
        tokens.append(f"#[{keys.READ_OPTS} # --params=@ #]")
        if requires_interval:
            tokens.append(f"#[{keys.READ_TIME_INTERVAL} # --interval=@ #]")
    label = {"hapi": "Remote HAPI dataset", "das2": "Remote das2 source",
             "das3": "Remote das3 source"}[spec.kind]
    return CommandDef(name="reader", role=CommandRole.READER, template=tuple(tokens),
                      output=spec.output, label=label,
                      title=f"Fetches the data from a remote {spec.kind} server", cwd=cwd)
