"""Load a site directory: every source definition below it, validated once.

Layout: ``ROOT/<dirs...>/<Name>.dsdf`` or ``<Name>.json`` defines the source
``<dirs...>/<Name>``; ``_dirinfo_.dsdf`` in a directory gives its title.  Names
starting with ``_`` or ``.`` (other than ``_dirinfo_.dsdf``) are skipped, so
readers and their data can live in e.g. ``ROOT/_readers/``.  Relative paths
in a definition's commands resolve against the definition's own directory.
A ``_commands.json`` at the root is the site's own command table, loaded and
validated here once (:attr:`Site.commands`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from dasflex_core.commands import parse_command_table, schema_path, validate_document
from dasflex_core.errors import DefinitionError
from dasflex_core.model import CommandTable, Directory, Site, SourceDef
from dasflex_core.sources import common
from dasflex_core.sources.checks import SchemaChecks
from dasflex_core.sources.dsdf import load_dsdf, read_dsdf
from dasflex_core.sources.jsondef import load_json_definition, read_json_definition

DIRINFO_NAME = "_dirinfo_.dsdf"
DEFINITION_SUFFIXES = (".dsdf", ".json")
#: Name of the optional command table file at the root of a site.
SITE_TABLE_NAME = "_commands.json"


@dataclass(frozen=True, slots=True)
class SiteReport:
    """A loaded site plus every problem found (bad definitions are left out)."""

    site: Site
    problems: tuple[DefinitionError, ...]
    files: int

    @property
    def ok(self) -> bool:
        """True when every definition loaded."""
        return not self.problems


def default_variables() -> dict[str, str]:
    """Variables every definition may use, before the configuration's own."""
    return {"PYTHON": sys.executable}


def _definition_files(root: Path) -> Iterator[Path]:
    """Definition files and ``_dirinfo_.dsdf`` files below ``root``, sorted."""
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name == DIRINFO_NAME and entry.is_file():
            yield entry
        elif entry.name.startswith(("_", ".")):
            continue
        elif entry.is_dir():
            yield from _definition_files(entry)
        elif entry.is_file() and entry.suffix.lower() in DEFINITION_SUFFIXES:
            yield entry


def source_id_for(root: Path, path: Path) -> str:
    """``ROOT/Examples/Random.dsdf`` -> ``Examples/Random``."""
    return path.relative_to(root).with_suffix("").as_posix()


def load_source(path: Path, source_id: str, variables: Mapping[str, str] | None = None,
                checks: SchemaChecks | None = None) -> SourceDef:
    """Load one definition file (DSDF or JSON, chosen by extension)."""
    merged = {**default_variables(), **(variables or {})}
    if path.suffix.lower() == ".json":
        return load_json_definition(path, source_id, merged, checks)
    return load_dsdf(path, source_id, merged)


def _directory_from_dirinfo(root: Path, path: Path, variables: Mapping[str, str]) -> Directory:
    document = read_dsdf(path, {**default_variables(), **variables})
    dir_id = path.parent.relative_to(root).as_posix()
    hapi_entry = document.get("hapi")
    try:
        hapi = common.parse_bool(hapi_entry.value) if hapi_entry else False
    except ValueError as exc:
        raise document.error(hapi_entry, f"hapi: {exc}") from None
    return Directory(dir_id if dir_id != "." else "", document.value("description") or "",
                     document.value("summary") or "", hapi)


def _implied_directories(source_ids: list[str]) -> dict[str, Directory]:
    """Every directory that holds a source, at any depth."""
    found: dict[str, Directory] = {}
    for source_id in source_ids:
        parts = source_id.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            dir_id = "/".join(parts[:depth])
            found.setdefault(dir_id, Directory(dir_id))
    return found


def scan_site(root: Path | str, variables: Mapping[str, str] | None = None,
              checks: SchemaChecks | None = None) -> SiteReport:
    """Load every definition below ``root``, collecting problems instead of stopping.

    ``checks`` remembers JSON documents that passed their schema in earlier
    runs (:mod:`dasflex_core.sources.checks`); by default every one is checked.
    """
    root = Path(root).resolve()
    variables = dict(variables or {})
    if not root.is_dir():
        problem = DefinitionError(str(root), None, "site directory does not exist")
        return SiteReport(Site(root, MappingProxyType({})), (problem,), 0)
    sources: dict[str, SourceDef] = {}
    lower_ids: dict[str, str] = {}
    dirinfo: dict[str, Directory] = {}
    problems: list[DefinitionError] = []
    files = 0
    for path in _definition_files(root):
        files += 1
        try:
            if path.name == DIRINFO_NAME:
                directory = _directory_from_dirinfo(root, path, variables)
                dirinfo[directory.id] = directory
                continue
            source_id = source_id_for(root, path)
            if source_id.lower() in lower_ids:
                raise DefinitionError(str(path), None,
                                      f"source id {source_id!r} is already defined by "
                                      f"{sources[lower_ids[source_id.lower()]].definition_path}")
            sources[source_id] = load_source(path, source_id, variables, checks)
            lower_ids[source_id.lower()] = source_id
        except DefinitionError as exc:
            problems.append(exc)
    directories = _implied_directories(list(sources))
    directories.update(dirinfo)
    commands = None
    try:
        commands = site_command_table(root, checks)
    except DefinitionError as exc:
        problems.append(exc)
    site = Site(root, MappingProxyType(sources), MappingProxyType(directories), commands)
    return SiteReport(site, tuple(problems), files)


def check_schemas(root: Path | str, checks: SchemaChecks) -> None:
    """Check every JSON document of the site against its schema, building nothing.

    ``checks`` then knows their digests, so a later :func:`load_site` with it
    skips jsonschema (``dasflex serve`` checks in a child process this way).
    """
    root = Path(root).resolve()
    for path in _definition_files(root):
        if path.suffix.lower() == ".json":
            read_json_definition(path, checks)
    if (root / SITE_TABLE_NAME).is_file():
        load_command_table(root / SITE_TABLE_NAME, checks=checks)


def site_command_table(root: Path, checks: SchemaChecks | None = None) -> CommandTable | None:
    """The site's own command table (``ROOT/_commands.json``), validated; None if absent."""
    path = root / SITE_TABLE_NAME
    return load_command_table(path, checks=checks) if path.is_file() else None


def load_command_table(path: Path | str, validate: bool = True,
                       checks: SchemaChecks | None = None) -> CommandTable:
    """Read and check a command table file (a site's ``_commands.json``).

    Raises
    ------
    DefinitionError
        Naming the file, the key and the reason.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise DefinitionError(str(path), None, f"cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise DefinitionError(str(path), None, f"invalid JSON: {exc}") from exc
    if validate and checks is not None:
        checks.check(document, str(path), schema_path(), validate_document)
    elif validate:
        validate_document(document, str(path))
    return parse_command_table(document, str(path))


def load_site(root: Path | str, variables: Mapping[str, str] | None = None,
              checks: SchemaChecks | None = None) -> Site:
    """Load the site at ``root``; raise the first problem if any definition is bad."""
    report = scan_site(root, variables, checks)
    if report.problems:
        first = report.problems[0]
        more = len(report.problems) - 1
        if more:
            raise DefinitionError(first.path, first.where,
                                  f"{first.reason} (and {more} more problem{'s' if more > 1 else ''})")
        raise first
    return report.site
