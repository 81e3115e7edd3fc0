"""Which cache level to read, and the checked request (``das2_cache_rdr``).

The level read is the coarsest ``cacheLevel_NN`` of a DSDF (or
``cacheLevels`` entry of a JSON definition) whose params normalise to the
requested PARAMSET and whose bin size is at most the requested resolution,
or the level named by its key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dasflex_core.cache.layout import level_subdir, normalise_params, paramset_name
from dasflex_core.dastime import parse_us2000
from dasflex_core.errors import QueryError
from dasflex_core.model import CacheLevel
from dasflex_core.sources.common import parse_cache_level
from dasflex_core.sources.dsdf import parse_dsdf_text


@dataclass(frozen=True, slots=True)
class CacheRequest:
    """What to read: the chosen level's directory and the time range (us2000)."""

    level_dir: Path
    subdir: str
    period: str
    begin: float
    end: float
    pad: float
    resolution: float
    begin_text: str
    end_text: str


def _parse_time(text: str) -> float:
    return float(parse_us2000(text.strip().rstrip("Zz")))


def _parse_resolution(text: str) -> float:
    if text.strip().lower() == "intrinsic":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise QueryError(f"resolution '{text}' is not a number of seconds") from None
    if not 0.0 <= value < float("inf"):
        raise QueryError(f"resolution {text} must be a finite number >= 0")
    return value


def definition_levels(definition: Path) -> list[CacheLevel]:
    """The cache levels of a DSDF (``cacheLevel_NN``) or JSON definition (``cacheLevels``)."""
    try:
        text = definition.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        kind = "JSON definition" if _is_json(definition) else "DSDF"
        raise QueryError(f"cannot read {kind} {definition}: {exc.strerror or exc}") from None
    entries = _json_level_entries(definition, text) if _is_json(definition) \
        else _dsdf_level_entries(definition, text)
    levels = []
    for key, name, value in entries:
        try:
            levels.append(parse_cache_level(key, value))
        except ValueError as exc:
            raise QueryError(f"{definition}: bad {name}: {exc}") from None
    return levels


def _is_json(definition: Path) -> bool:
    return definition.suffix.lower() == ".json"


def _dsdf_level_entries(definition: Path, text: str) -> list[tuple[str, str, str]]:
    document = parse_dsdf_text(text, str(definition))
    return [(entry.index or "", entry.key, entry.value) for entry in document.items("cacheLevel")]


def _json_level_entries(definition: Path, text: str) -> list[tuple[str, str, str]]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise QueryError(f"{definition}: invalid JSON: {exc}") from None
    levels = document.get("cacheLevels", []) if isinstance(document, dict) else []
    if not isinstance(levels, list) or not all(isinstance(item, str) for item in levels):
        raise QueryError(f"{definition}: cacheLevels must be a list of strings")
    return [(f"{index:02d}", f"cacheLevels.{index}", value) for index, value in enumerate(levels)]


def choose_level(definition: Path, paramset: str, resolution: float,
                 level_key: str | None = None) -> CacheLevel:
    """The level to read: the one keyed ``level_key``, else the coarsest fitting one.

    A level fits when its params normalise to ``paramset`` and its bin size
    is at most ``resolution``.
    """
    wanted = paramset_name(paramset)
    levels = definition_levels(definition)
    if level_key is not None:
        return _keyed_level(definition, levels, level_key, wanted)
    candidates = [(level.resolution or 0.0, level) for level in levels
                  if normalise_params(level.params) == wanted
                  and (level.resolution or 0.0) <= resolution]
    if not candidates:
        raise QueryError(
            f"{definition} has no cache level for params '{wanted}' at {resolution:g} s "
            "resolution or finer"
        )
    return max(candidates, key=lambda pair: pair[0])[1]


def _keyed_level(definition: Path, levels: list[CacheLevel], key: str, wanted: str) -> CacheLevel:
    """The level whose key (``NN`` of ``cacheLevel_NN``) is ``key``, for ``wanted`` params."""
    found = next((level for level in levels if level.key == key), None)
    if found is None:
        known = ", ".join(level.key for level in levels) or "none"
        raise QueryError(f"{definition} has no cache level '{key}' (levels: {known})")
    if normalise_params(found.params) != wanted:
        raise QueryError(f"cache level '{key}' of {definition} is for params "
                         f"'{normalise_params(found.params)}', not '{wanted}'")
    return found


@dataclass(frozen=True, slots=True)
class CacheArguments:
    """The command line of das2_cache_rdr, as given (texts not yet checked)."""

    definition: str
    cache_dir: str
    paramset: str
    resolution: str
    begin: str
    end: str
    pad_seconds: float = 0.0
    level: str | None = None


def build_request(arguments: CacheArguments) -> CacheRequest:
    """Check the arguments and pick the cache level to read."""
    resolution = _parse_resolution(arguments.resolution)
    begin, end = _parse_time(arguments.begin), _parse_time(arguments.end)
    if not end > begin:
        raise QueryError(f"END ({arguments.end}) must be after BEGIN ({arguments.begin})")
    level = choose_level(Path(arguments.definition), arguments.paramset, resolution,
                         arguments.level)
    subdir = level_subdir(level.resolution_text)
    return CacheRequest(
        level_dir=Path(arguments.cache_dir) / paramset_name(arguments.paramset) / subdir,
        subdir=subdir,
        period=level.block,
        begin=begin,
        end=end,
        pad=arguments.pad_seconds * 1.0e6,
        resolution=resolution,
        begin_text=arguments.begin.strip(),
        end_text=arguments.end.strip(),
    )
