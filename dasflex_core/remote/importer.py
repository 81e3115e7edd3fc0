"""``dasflex import-hapi`` and ``dasflex import-das2``: a remote catalog as definitions.

Each remote dataset becomes one JSON definition ``SITE/PREFIX/<path>.json``
(source id ``PREFIX/<path>``) whose ``remote`` block names it
(:mod:`dasflex_core.sources.remote`).  :func:`id_path` maps a remote id to a
path: every ``/``-separated part becomes a directory level; in each part a
character other than a letter, digit, ``_``, ``.`` or ``-`` becomes ``_``; a
part starting with ``_`` or ``.`` (names the site loader skips) gets an ``x``
in front; a name already taken (in any case) gets ``_2``, ``_3``...

Re-running an import finds the definitions it wrote by their ``remote``
block, rewrites only the keys it owns (:data:`OWNED_KEYS`), keeps every other
key an administrator added (``cacheLevels``, ``access``, ``hidden``...),
removes the definitions of datasets the remote no longer lists, and reports
what was added, updated (with the changed keys), removed, unchanged or skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dasflex_core import keys
from dasflex_core.codecs.das2 import parse_stream_header
from dasflex_core.errors import DasFlexError, DefinitionError, RemoteError, StreamError
from dasflex_core.remote.client import RemoteClient, Target, with_query
from dasflex_core.remote.hapi_columns import ContentError, columns_of, hapi_units
from dasflex_core.remote.policy import RemotePolicy
from dasflex_core.remote.times import duration_seconds, hapi_time, parse_ns2000
from dasflex_core.sources import common
from dasflex_core.sources.jsondef import to_source, validate

#: Keys an import writes (and rewrites on every run); others are the administrator's.
OWNED_KEYS = ("$comment", "version", "title", "summary", "contacts", "validRange", "remote",
              "requiresInterval", "reducible", "examples", "coords", "data")
#: Keys set only when a definition is created.
INITIAL_KEYS = {"hapi": True}

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_TIME_COORD = {"name": "time", "title": "Time", "units": "UTC"}
_DAY = 86400.0


@dataclass
class ImportReport:
    """What an import did, dataset by dataset (source ids)."""

    added: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when a definition was written or removed."""
        return bool(self.added or self.updated or self.removed)

    def lines(self) -> list[str]:
        """The report as text lines, changes first, then a summary."""
        lines = [f"added    {source_id}" for source_id in self.added]
        lines += [f"updated  {source_id} ({', '.join(keys)})" for source_id, keys in self.updated]
        lines += [f"removed  {source_id} (no longer listed by the remote)"
                  for source_id in self.removed]
        lines += [f"skipped  {name}: {reason}" for name, reason in self.skipped]
        lines.append(f"{len(self.added)} added, {len(self.updated)} updated, "
                     f"{len(self.removed)} removed, {len(self.unchanged)} unchanged, "
                     f"{len(self.skipped)} skipped")
        return lines


# -- paths and the definitions already there --------------------------------------------


def safe_part(part: str) -> str:
    """One part of a remote id as a file or directory name.

    >>> safe_part("spase:AC H0"), safe_part("_hidden")
    ('spase_AC_H0', 'x_hidden')
    """
    name = _UNSAFE.sub("_", part)
    return f"x{name}" if name[:1] in ("_", ".", "") else name


def id_path(remote_id: str) -> str:
    """A remote id as a relative path (``/`` parts are directories).

    >>> id_path("Examples/Spectra"), id_path("//a b//c.d")
    ('Examples/Spectra', 'a_b/c.d')
    """
    parts = [safe_part(part) for part in remote_id.split("/") if part]
    return "/".join(parts) or "x"


def default_prefix(url: str) -> str:
    """The default directory of an import: the remote's host (and port).

    >>> default_prefix("http://127.0.0.1:8080/hapi")
    '127.0.0.1_8080'
    """
    return safe_part(Target.parse(url).netloc.replace(":", "_"))


def imported(directory: Path, kind: str, url: str) -> dict[str, Path]:
    """Definitions below ``directory`` that relay ``url``'s datasets: remote id -> file."""
    found: dict[str, Path] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.rglob("*.json")):
        try:
            remote = json.loads(path.read_text(encoding="utf-8")).get("remote", {})
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(remote, dict) and remote.get("type") == kind \
                and remote.get("server") == url and isinstance(remote.get("dataset"), str):
            found[remote["dataset"]] = path
    return found


class _Writer:
    """Writes definitions into ``site/prefix`` and keeps the report."""

    def __init__(self, site: Path, prefix: str, kind: str, url: str) -> None:
        self.site = site.resolve()
        self.directory = self.site / prefix if prefix else self.site
        self.prefix = prefix
        self.kind, self.url = kind, url
        self.existing = imported(self.directory, kind, url)
        self.taken = {p.relative_to(self.directory).with_suffix("").as_posix().lower()
                      for p in self.directory.rglob("*.json")} if self.directory.is_dir() else set()
        self.report = ImportReport()
        self.seen: set[str] = set()

    def source_id(self, path: Path) -> str:
        return path.relative_to(self.site).with_suffix("").as_posix()

    def path_for(self, remote_id: str) -> Path:
        if remote_id in self.existing:
            return self.existing[remote_id]
        base = id_path(remote_id)
        name, number = base, 1
        while name.lower() in self.taken:
            number += 1
            name = f"{base}_{number}"
        self.taken.add(name.lower())
        return self.directory / f"{name}.json"

    def write(self, remote_id: str, owned: Mapping[str, Any]) -> None:
        """Write (or update) the definition of ``remote_id`` from its owned keys."""
        self.seen.add(remote_id)
        path = self.path_for(remote_id)
        old = _read(path)
        document = {**owned, **{k: v for k, v in old.items() if k not in OWNED_KEYS}}
        if not old:
            document.update(INITIAL_KEYS)
        _check(document, path)
        source_id = self.source_id(path)
        if old == document:
            self.report.unchanged.append(source_id)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if old:
            keys = [k for k in OWNED_KEYS if old.get(k) != document.get(k)]
            self.report.updated.append((source_id, keys))
        else:
            self.report.added.append(source_id)

    def skip(self, remote_id: str, reason: str) -> None:
        self.seen.add(remote_id)
        self.report.skipped.append((remote_id, reason))

    def remove_unseen(self, selected: Callable[[str], bool]) -> None:
        """Remove definitions of (selected) datasets the remote did not list."""
        for remote_id, path in sorted(self.existing.items()):
            if remote_id not in self.seen and selected(remote_id):
                path.unlink()
                self.report.removed.append(self.source_id(path))


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _check(document: Mapping[str, Any], path: Path) -> None:
    """Refuse a definition that would not load (DefinitionError)."""
    validate(document, str(path))
    to_source(document, path, "check")


def _comment(tool: str, kind: str, url: str) -> str:
    return (f"Imported from the {kind} server {url} by dasflex {tool}; running it again "
            f"rewrites the keys it wrote and keeps any other key added here.")


def _selector(only: str | None) -> Callable[[str], bool]:
    if not only:
        return lambda _remote_id: True
    try:
        pattern = re.compile(only)
    except re.error as exc:
        raise DefinitionError("--only", None, f"bad regular expression: {exc}") from None
    return lambda remote_id: pattern.search(remote_id) is not None


# -- HAPI -----------------------------------------------------------------------------------


def import_hapi(url: str, site: Path, prefix: str | None = None, only: str | None = None,
                client: RemoteClient | None = None) -> ImportReport:
    """Write a definition per dataset of the HAPI server ``url`` into ``site``."""
    url = url.rstrip("/")
    selected = _selector(only)
    own = client or RemoteClient(url, RemotePolicy(), kind="HAPI")
    try:
        formats = _get_json(own, f"{url}/capabilities").get("outputFormats") or ["csv"]
        catalog = _get_json(own, f"{url}/catalog").get("catalog")
        if not isinstance(catalog, list):
            raise own.failure("sent a catalog without a 'catalog' list")
        writer = _Writer(site, default_prefix(url) if prefix is None else prefix.strip("/"),
                         "hapi", url)
        output = "binary" if "binary" in formats else "csv"
        for entry in catalog:
            remote_id = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(remote_id, str) or not selected(remote_id):
                continue
            _import_dataset(own, writer, url, entry, output)
        writer.remove_unseen(selected)
    finally:
        if client is None:
            own.close()
    return writer.report


def _import_dataset(client: RemoteClient, writer: _Writer, url: str, entry: Mapping[str, Any],
                    output: str) -> None:
    remote_id = str(entry["id"])
    try:
        info = _get_json(client, with_query(f"{url}/info", {"id": remote_id}))
        owned = hapi_definition(url, remote_id, entry, info, output)
    except (RemoteError, ContentError) as error:
        writer.skip(remote_id, str(error))
        return
    if owned is None:
        writer.skip(remote_id, "no parameter that a das2 stream can carry")
        return
    try:
        writer.write(remote_id, owned)
    except DefinitionError as error:
        writer.skip(remote_id, error.reason)


def _get_json(client: RemoteClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    if response.status != 200:
        response.discard()
        raise client.failure(f"answered HTTP {response.status} {response.reason} for {url}")
    document = response.json()
    if not isinstance(document, dict):
        raise client.failure("sent a document that is not a JSON object")
    return document


def hapi_definition(url: str, remote_id: str, entry: Mapping[str, Any],
                    info: Mapping[str, Any], output: str) -> dict[str, Any] | None:
    """The owned keys of the definition of one HAPI dataset (None if das2 can carry nothing)."""
    columns = columns_of(info)
    kept = [column for column in columns if column.kept]
    if not kept:
        return None
    description = " ".join(str(info.get("description") or "").split())
    title = " ".join(str(entry.get("title") or "").split()) or description or remote_id
    remote: dict[str, Any] = {"type": "hapi", "server": url, "dataset": remote_id}
    if len(kept) < len(columns) - 1:
        remote["parameters"] = [column.name for column in kept]
    remote["format"] = output
    if isinstance(info.get("maxRequestDuration"), str):
        remote["maxRequestDuration"] = info["maxRequestDuration"]
    document: dict[str, Any] = {
        "$comment": _comment("import-hapi", "HAPI", url), "version": "1", "title": title[:300]}
    if description and description != title:
        document["summary"] = description
    if isinstance(info.get("contact"), str):
        document["contacts"] = _contacts(info["contact"], "technical")
    valid = _valid_range(info)
    if valid:
        document["validRange"] = list(valid)
    document["remote"] = remote
    document["examples"] = _hapi_examples(info, valid)
    document["coords"] = [_TIME_COORD]
    document["data"] = [_variable(column.name, column.info) for column in kept]
    return {key: value for key, value in document.items() if value}


def _variable(name: str, info: Mapping[str, Any]) -> dict[str, str]:
    variable = {"name": name}
    title = info.get("description") or info.get("label")
    if isinstance(title, str) and title.strip():
        variable["title"] = " ".join(title.split())[:300]
    units = hapi_units(info.get("units"))
    if units:
        variable["units"] = units
    return variable


def _valid_range(info: Mapping[str, Any]) -> tuple[str, str] | None:
    start, stop = info.get("startDate"), info.get("stopDate")
    try:
        first, last = parse_ns2000(str(start)), parse_ns2000(str(stop))
    except DasFlexError:
        return None
    return (hapi_time(first), hapi_time(last)) if first < last else None


def _hapi_examples(info: Mapping[str, Any], valid: tuple[str, str] | None) -> list[dict[str, Any]]:
    """A sample range at full resolution and, from ``cadence``, a longer one averaged."""
    cadence = duration_seconds(str(info.get("cadence", ""))) if info.get("cadence") else None
    span = _sample_span(info, valid, cadence)
    if span is None:
        return []
    begin, end = span
    examples = [{"label": "Sample range", "settings": {
        keys.READ_TIME_MIN: hapi_time(begin), keys.READ_TIME_MAX: hapi_time(end)}}]
    if cadence and valid:
        last = parse_ns2000(valid[1])
        longer = min(last, begin + int(max(end - begin, 1e9 * cadence * 20000)))
        resolution = max(cadence * 10, (longer - begin) / 1e9 / 2000)
        if longer > end:
            examples.append({"label": f"Averaged to {resolution:g} s", "settings": {
                keys.READ_TIME_MIN: hapi_time(begin), keys.READ_TIME_MAX: hapi_time(longer),
                keys.BIN_TIME_MAX: f"{resolution:g}"}})
    return examples


def _sample_span(info: Mapping[str, Any], valid: tuple[str, str] | None,
                 cadence: float | None) -> tuple[int, int] | None:
    """``sampleStartDate``-``sampleStopDate``, else the first day (or 1000 records) of data."""
    try:
        begin = parse_ns2000(str(info["sampleStartDate"]))
        end = parse_ns2000(str(info["sampleStopDate"]))
        if begin < end:
            return begin, end
    except (KeyError, DasFlexError):
        pass
    if valid is None:
        return None
    first, last = parse_ns2000(valid[0]), parse_ns2000(valid[1])
    seconds = min(_DAY, max(3600.0, 1000 * cadence)) if cadence else _DAY
    return first, min(last, first + int(seconds * 1e9))


# -- das2 -----------------------------------------------------------------------------------


def import_das2(url: str, site: Path, prefix: str | None = None, only: str | None = None,
                client: RemoteClient | None = None) -> ImportReport:
    """Write a definition per source of the das2 server ``url`` into ``site``."""
    selected = _selector(only)
    own = client or RemoteClient(url, RemotePolicy(), kind="das2")
    try:
        listing = _get_text(own, with_query(url, {"server": "list"}))
        writer = _Writer(site, default_prefix(url) if prefix is None else prefix.strip("/"),
                         "das2", url)
        for remote_id, title in _listed_sources(listing):
            if selected(remote_id):
                _import_source(own, writer, url, remote_id, title)
        writer.remove_unseen(selected)
    finally:
        if client is None:
            own.close()
    return writer.report


def _get_text(client: RemoteClient, url: str) -> str:
    response = client.get(url)
    if response.status != 200:
        response.discard()
        raise client.failure(f"answered HTTP {response.status} {response.reason} for {url}")
    return response.read_all().decode("utf-8", "replace")


def _listed_sources(listing: str) -> Iterable[tuple[str, str]]:
    """``(id, title)`` of the ``ID|title`` lines of ``?server=list`` (directories skipped)."""
    for line in listing.splitlines():
        remote_id, _, title = line.partition("|")
        remote_id = remote_id.strip()
        if remote_id and not remote_id.endswith("/"):
            yield remote_id, title.strip()


def _import_source(client: RemoteClient, writer: _Writer, url: str, remote_id: str,
                   title: str) -> None:
    try:
        header = _get_text(client, with_query(url, {"server": "dsdf", "dataset": remote_id}))
        properties = dsdf_properties(header.encode("utf-8"))
    except (RemoteError, ValueError) as error:
        writer.skip(remote_id, str(error))
        return
    reason = _unrelayable(properties)
    if reason:
        writer.skip(remote_id, reason)
        return
    try:
        writer.write(remote_id, das2_definition(url, remote_id, title, properties))
    except DefinitionError as error:
        writer.skip(remote_id, error.reason)


def dsdf_properties(stream: bytes) -> dict[str, str]:
    """The properties of a ``?server=dsdf`` answer (a das2 stream header packet)."""
    match = re.match(rb"\s*\[00\](\d{6})", stream)
    if match is None:
        raise ValueError("its dsdf answer is not a das2 stream header")
    xml = stream[match.end():match.end() + int(match.group(1))]
    try:
        header = parse_stream_header(xml)
    except StreamError as error:
        raise ValueError(f"its dsdf answer is not a das2 stream header ({error.reason})") from None
    return {item.name: item.text for item in header.properties}


def _flag(properties: Mapping[str, str], name: str) -> bool:
    """A DSDF flag property (absent or unreadable: false)."""
    try:
        return common.parse_bool(properties.get(name, ""))
    except ValueError:
        return False


def _unrelayable(properties: Mapping[str, str]) -> str:
    """Why a das2 source cannot be relayed ("" when it can)."""
    if properties.get("securityRealm"):
        return "protected at the remote (a relay has no credentials for it)"
    if not _flag(properties, "das2Stream"):
        return "not a das2 stream source (qstream, das1 and das3 sources are not relayed)"
    return ""


def das2_definition(url: str, remote_id: str, title: str,
                    properties: Mapping[str, str]) -> dict[str, Any]:
    """The owned keys of the definition of one das2 source, from its DSDF properties."""
    description = " ".join((properties.get("description") or title or remote_id).split())
    document: dict[str, Any] = {"$comment": _comment("import-das2", "das2", url),
                                "version": "1", "title": description[:300]}
    if properties.get("summary"):
        document["summary"] = " ".join(properties["summary"].split())
    document["contacts"] = _das2_contacts(properties)
    if properties.get("validRange"):
        try:
            document["validRange"] = list(common.parse_time_range(properties["validRange"]))
        except ValueError:
            pass
    document["remote"] = {"type": "das2", "server": url, "dataset": remote_id}
    if _flag(properties, "requiresInterval"):
        document["requiresInterval"] = True
    if any(_flag(properties, key) for key in ("not_reducible", "not_reducable", "pre_reduced")):
        document["reducible"] = False
    document["examples"] = _das2_examples(properties)
    document["coords"] = _das2_variables(properties, ("coord",)) or [_TIME_COORD]
    document["data"] = _das2_variables(properties, ("item", "data"))
    return {key: value for key, value in document.items() if value or key == "reducible"}


def _das2_contacts(properties: Mapping[str, str]) -> list[dict[str, str]]:
    return [contact for key, role in (("techContact", "technical"), ("sciContact", "scientific"))
            for contact in _contacts(properties.get(key, ""), role)]


def _contacts(text: str, role: str) -> list[dict[str, str]]:
    """``Name <email>, ...`` as definition contacts (text that does not parse: one name)."""
    try:
        people = common.parse_contacts(text, role)
    except ValueError:
        name = " ".join(text.split())[:200]
        return [{"name": name, "role": role}] if name else []
    return [{"name": c.name, **({"email": c.email} if c.email else {}), "role": role}
            for c in people]


def _das2_examples(properties: Mapping[str, str]) -> list[dict[str, Any]]:
    examples = []
    for key in sorted(k for k in properties if k.startswith("exampleRange_")):
        index = key.rsplit("_", 1)[1]
        text, _, label = properties[key].partition("|")
        try:
            begin, end = common.parse_time_range(text)
        except ValueError:
            continue
        settings = {keys.READ_TIME_MIN: begin, keys.READ_TIME_MAX: end}
        if properties.get(f"exampleParams_{index}"):
            settings[keys.READ_OPTS] = properties[f"exampleParams_{index}"].strip()
        if properties.get(f"exampleInterval_{index}"):
            settings[keys.READ_TIME_INTERVAL] = properties[f"exampleInterval_{index}"].strip()
        examples.append({"label": label.strip() or f"{begin} to {end}", "settings": settings})
    return examples


def _das2_variables(properties: Mapping[str, str], bases: tuple[str, ...]) -> list[dict[str, str]]:
    variables = []
    for key in sorted(properties):
        base, _, index = key.rpartition("_")
        if base not in bases or not index.isdigit():
            continue
        try:
            variable = common.parse_variable(properties[key])
        except ValueError:
            continue
        variables.append({k: v for k, v in (("name", variable.name), ("title", variable.title),
                                            ("units", variable.units)) if v})
    return variables
