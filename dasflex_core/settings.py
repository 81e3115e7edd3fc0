"""Typed server settings: defaults, then a TOML file, then ``DASFLEX_*`` environment.

:func:`load_settings` is the one place that resolves the precedence and checks
every value, once, at start-up.  A bad value raises
:class:`~dasflex_core.errors.DefinitionError` naming the file or variable and
the key.  Settings never appear in any HTTP response.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dasflex_core.errors import DefinitionError

if TYPE_CHECKING:
    from dasflex_core.sources.checks import SchemaChecks

#: Environment variable prefix; ``DASFLEX_SITE_DIR`` sets ``site_dir``.
ENV_PREFIX = "DASFLEX_"

#: Environment variable naming the settings file (TOML).
CONFIG_ENV = "DASFLEX_CONFIG"

#: URL schemes redis-py accepts for ``redis_url``.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

PROJECT_DIR = Path(__file__).resolve().parent.parent

#: The JSON Schema a settings file must satisfy.
SCHEMA_PATH = PROJECT_DIR / "schemas" / "settings.schema.json"


def default_site_dir() -> Path:
    """The bundled example site (``examples/site`` if present, else ``examples``)."""
    examples = PROJECT_DIR / "examples"
    nested = examples / "site"
    return nested if nested.is_dir() else examples


def _setting(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every server setting, with its default; build with :func:`load_settings`."""

    site_dir: Path = field(default_factory=default_site_dir,
                           metadata={"help": "the site: source definitions and catalog"})
    server_url: str = _setting("", "canonical external base URL; empty: taken from each request")
    site_title: str = _setting("dasflex example site", "organisation or site name (pages, ?server=id)")
    server_id: str = _setting("dasflex", "short server identifier shown on pages")
    contact_email: str = _setting("", "administrator email shown on pages and in HAPI about")
    contact_url: str = _setting("", "administrator contact page")
    hapi_enabled: bool = _setting(True, "serve the HAPI 3.3 API under /hapi")
    hapi_max_request_days: float = _setting(0.0, "largest HAPI data request in days; 0: no limit")
    logo_file: Path | None = _setting(None, "image served by ?server=logo and /logo.png")
    peers_file: Path | None = _setting(None, "INI file of peer servers (sections with url, description)")
    users_file: Path | None = _setting(None, "users for protected sources: "
                                             "name:HASH (scrypt or pbkdf2_sha256; see docs/security.md)")
    groups_file: Path | None = _setting(None, "groups for protected sources: group: user1, user2")
    allow_from: str = _setting("", "whitespace-separated CIDR ranges of trusted clients, "
                                   "admitted to protected sources without a password")
    max_request_days: float = _setting(0.0, "longest time range of one data request in days, "
                                            "unless a source sets its own; 0: no limit")
    ignore_redirect: bool = _setting(False, "serve sources whose definition names another server")
    first_byte_timeout: float = _setting(60.0, "seconds a pipeline may take to write its first byte")
    total_timeout: float = _setting(3600.0, "seconds a pipeline may run in total")
    sample_source: str = _setting("", "source id used in the home page's example queries")
    request_log: Path | None = _setting(None, "JSON-lines request log file; unset: no file log")
    request_log_max_bytes: float = _setting(52428800.0, "rotate the request log at this size")
    request_log_backups: float = _setting(5.0, "rotated request logs kept")
    metrics_dir: Path | None = _setting(None, "directory where workers share /metrics counters")
    admin_group: str = _setting("admin", "group whose members may read /admin/log, /admin/usage "
                                         "and /admin/jobs")
    cache_dir: Path | None = _setting(None, "directory of pre-reduced cache blocks, shared by every "
                                            "front end and worker; unset: no cache")
    redis_url: str = _setting("", "Redis server of the shared job queue (redis://host:6379/0); "
                                  "empty: embedded in-process workers")
    job_queue: str = _setting("dasflex", "name of the job queue (Redis mode)")
    cache_on_demand: bool = _setting(True, "queue the missing cache blocks a request finds")
    job_timeout: float = _setting(3600.0, "seconds one cache block build may run")
    job_workers: int = _setting(1, "worker threads of the embedded job queue (per process)")
    job_queue_limit: int = _setting(10000, "most jobs waiting in the embedded queue; "
                                           "further ones are dropped")
    remote_concurrency: int = _setting(2, "fetches one remote server (HAPI, das2) may have "
                                          "running at once, all processes together")
    remote_rate: float = _setting(5.0, "requests per second sent to one remote server, "
                                       "all processes together")
    remote_host_limits: str = _setting("", "per-server exceptions to remote_concurrency and "
                                           "remote_rate: HOST[:PORT]=CONCURRENCY/RATE ...")
    remote_connect_timeout: float = _setting(10.0, "seconds to connect to a remote server")
    remote_first_byte_timeout: float = _setting(30.0, "seconds a remote server may take to "
                                                      "answer (keep below first_byte_timeout)")
    remote_idle_timeout: float = _setting(60.0, "seconds a remote server may pause mid-answer")
    remote_retries: int = _setting(2, "times a failed remote request is sent again "
                                      "(only before its first byte)")
    remote_gzip: bool = _setting(True, "ask remote servers for gzip-compressed answers (off on "
                                       "fast links, where compressing costs more than it saves)")
    remote_lock_dir: Path | None = _setting(None, "directory of the per-remote limits shared by "
                                                  "every process; unset: a per-user "
                                                  "directory under the system's temporary one")


def setting_names() -> tuple[str, ...]:
    """Names of every setting, in declaration order."""
    return tuple(item.name for item in dataclasses.fields(Settings))


def setting_help() -> dict[str, str]:
    """One line of help per setting (for docs and ``--help`` texts)."""
    return {item.name: item.metadata["help"] for item in dataclasses.fields(Settings)}


def load_settings(path: Path | str | None = None, *,
                  environ: Mapping[str, str] | None = None,
                  checks: SchemaChecks | None = None,
                  **overrides: Any) -> Settings:
    """Resolve defaults, then the file, then ``DASFLEX_*`` variables, then ``overrides``.

    ``path`` defaults to ``$DASFLEX_CONFIG`` when set; the file is checked
    against ``schemas/settings.schema.json`` (``checks`` may remember that it
    passed before).  Unknown keys and bad values raise :class:`DefinitionError`.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_path = path if path is not None else environ.get(CONFIG_ENV) or None
    if config_path is not None:
        values.update(_read_file(Path(config_path), checks))
    values.update(_read_environment(environ))
    for name, value in overrides.items():
        values[name] = _coerce("arguments", name, value)
    return _validated(Settings(**values))


def _read_file(path: Path, checks: SchemaChecks | None = None) -> dict[str, Any]:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DefinitionError(str(path), None, f"cannot read settings file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionError(str(path), None, f"not valid TOML: {exc}") from None
    if checks is None:
        validate_settings_document(table, str(path))
    else:
        checks.check(table, str(path), SCHEMA_PATH, validate_settings_document)
    values = {}
    for key, value in table.get("dasflex", table).items():
        coerced = _coerce(str(path), key, value)
        if isinstance(coerced, Path) and not coerced.is_absolute():
            coerced = (path.parent / coerced).resolve()
        values[key] = coerced
    return values


def validate_settings_document(table: Any, where: str) -> None:
    """Check a parsed settings file against ``schemas/settings.schema.json``."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(table))
    if error is None:
        return
    key = ".".join(str(part) for part in error.absolute_path) or None
    if error.validator == "maxProperties":
        raise DefinitionError(where, None, "with a [dasflex] table, every setting must be in it")
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(setting_names()) - {"dasflex"})
        known = ", ".join(setting_names())
        raise DefinitionError(where, unknown[0] if unknown else key,
                              f"unknown setting (known: {known})")
    raise DefinitionError(where, key, error.message)


def _read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for variable, text in environ.items():
        if not variable.startswith(ENV_PREFIX) or variable == CONFIG_ENV:
            continue
        name = variable[len(ENV_PREFIX):].lower()
        if name in setting_names():
            values[name] = _coerce("environment", variable, text)
    return values


def _field_type(name: str) -> str:
    for item in dataclasses.fields(Settings):
        if item.name == name:
            return str(item.type)
    raise KeyError(name)


def _coerce(origin: str, key: str, value: Any) -> Any:
    """Convert ``value`` (from a file, the environment or code) to the type of ``key``."""
    name = key[len(ENV_PREFIX):].lower() if key.startswith(ENV_PREFIX) else key
    try:
        kind = _field_type(name)
    except KeyError:
        known = ", ".join(setting_names())
        raise DefinitionError(origin, key, f"unknown setting (known: {known})") from None
    try:
        return _convert(kind, value)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(origin, key, str(exc)) from None


def _convert(kind: str, value: Any) -> Any:
    if kind == "bool":
        return _to_bool(value)
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError(f"expected a number, not {value!r}")
        return float(value)
    if kind == "int":
        return _to_int(value)
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError(f"expected a string, not {type(value).__name__}")
        return value
    if value is None or value == "":
        if kind.endswith("| None"):
            return None
        raise ValueError("a path is required")
    if not isinstance(value, (str, Path)):
        raise TypeError(f"expected a path, not {type(value).__name__}")
    return Path(value).expanduser()


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"expected a whole number, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, not {value!r}") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def _check_networks(text: str) -> None:
    for item in text.split():
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise DefinitionError("settings", "allow_from",
                                  f"bad address range {item!r} (expected CIDR, e.g. 10.0.0.0/8)") from None


def _check_jobs(settings: Settings) -> None:
    if settings.cache_dir is not None and settings.cache_dir.exists() \
            and not settings.cache_dir.is_dir():
        raise DefinitionError("settings", "cache_dir", "not a directory")
    if settings.redis_url and not settings.redis_url.startswith(REDIS_SCHEMES):
        raise DefinitionError("settings", "redis_url",
                              "must start with redis://, rediss:// or unix://")
    if not settings.job_queue.strip():
        raise DefinitionError("settings", "job_queue", "must not be empty")


@dataclass(frozen=True, slots=True)
class HostLimits:
    """Fetches one remote server may have running at once, and requests per second."""

    concurrency: int
    rate: float


_HOST_LIMIT = re.compile(r"(?P<host>[A-Za-z0-9.\-]+(?::\d{1,5})?)=(?P<slots>\d+)/(?P<rate>[0-9.]+)")


def parse_host_limits(text: str) -> dict[str, HostLimits]:
    """Read the ``remote_host_limits`` setting: ``HOST[:PORT]=CONCURRENCY/RATE ...``.

    >>> parse_host_limits("cdaweb.gsfc.nasa.gov=4/10 127.0.0.1:8080=1/0.5")["127.0.0.1:8080"]
    HostLimits(concurrency=1, rate=0.5)
    """
    limits: dict[str, HostLimits] = {}
    for item in text.split():
        match = _HOST_LIMIT.fullmatch(item)
        if match is None:
            raise ValueError(f"bad remote limit {item!r} (expected HOST[:PORT]=CONCURRENCY/RATE, "
                             "e.g. cdaweb.gsfc.nasa.gov=2/5)")
        slots, rate = int(match.group("slots")), float(match.group("rate"))
        if slots < 1 or not rate > 0:
            raise ValueError(f"bad remote limit {item!r}: concurrency and rate must be positive")
        limits[match.group("host").lower()] = HostLimits(slots, rate)
    return limits


def _check_remote(settings: Settings) -> None:
    for name in ("remote_concurrency", "remote_rate", "remote_connect_timeout",
                 "remote_first_byte_timeout", "remote_idle_timeout"):
        if getattr(settings, name) <= 0:
            raise DefinitionError("settings", name, "must be positive")
    if settings.remote_retries < 0:
        raise DefinitionError("settings", "remote_retries", "must not be negative")
    try:
        parse_host_limits(settings.remote_host_limits)
    except ValueError as exc:
        raise DefinitionError("settings", "remote_host_limits", str(exc)) from None


def _validated(settings: Settings) -> Settings:
    if not settings.site_dir.is_dir():
        raise DefinitionError(str(settings.site_dir), "site_dir", "no such directory")
    for name in ("logo_file", "peers_file", "users_file", "groups_file"):
        path = getattr(settings, name)
        if path is not None and not path.is_file():
            raise DefinitionError("settings", name, "no such file")
    for name in ("first_byte_timeout", "total_timeout", "job_timeout", "job_workers",
                 "job_queue_limit"):
        if getattr(settings, name) <= 0:
            raise DefinitionError("settings", name, "must be positive")
    _check_jobs(settings)
    _check_remote(settings)
    for name in ("hapi_max_request_days", "max_request_days"):
        if getattr(settings, name) < 0:
            raise DefinitionError("settings", name, "must not be negative")
    _check_networks(settings.allow_from)
    url = settings.server_url
    if url and not url.startswith(("http://", "https://")):
        raise DefinitionError("settings", "server_url", "must start with http:// or https://")
    if url.endswith("/"):
        return dataclasses.replace(settings, server_url=url.rstrip("/"))
    return settings
