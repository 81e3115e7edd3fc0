"""How politely fetches treat remote servers: limits, timeouts and the User-Agent.

The policy comes from the server's settings (``remote_*``).  Each fetch is a
pipeline stage of its own process, started with a clean environment, so the
server hands the policy down as one JSON environment variable
(:data:`POLICY_VARIABLE`, passed on by :func:`dasflex_core.stages.clean_environment`):
:func:`export_policy` sets it where settings are loaded (the server, ``dasflex
cache build``, ``dasflex worker``) and :func:`current_policy` reads it back in
the fetch (defaults when it is absent, e.g. when a fetch is run by hand).

Limits are per remote server (``host:port``) and hold across every process
that shares :attr:`RemotePolicy.lock_dir` (see :mod:`dasflex_core.remote.limits`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

from dasflex_core import __version__
from dasflex_core.settings import HostLimits, Settings, parse_host_limits
from dasflex_core.stages import STAGE_VARIABLE_PREFIX

#: The environment variable carrying the policy to fetch processes.
POLICY_VARIABLE = f"{STAGE_VARIABLE_PREFIX}REMOTE_POLICY"

def default_lock_dir() -> str:
    """``<temporary dir>/dasflex-remote-<uid>``: shared by every process of this user."""
    return os.path.join(tempfile.gettempdir(), f"dasflex-remote-{os.getuid()}")


@dataclass(frozen=True, slots=True)
class RemotePolicy:
    """Everything a fetch needs to know about being a good citizen."""

    agent: str = f"dasflex/{__version__}"
    lock_dir: str = field(default_factory=default_lock_dir)
    concurrency: int = 2
    rate: float = 5.0
    connect_timeout: float = 10.0
    first_byte_timeout: float = 30.0
    idle_timeout: float = 60.0
    retries: int = 2
    gzip: bool = True
    #: Seconds a fetch may take to its first output, waits and retries included (a little
    #: less than the server's first_byte_timeout, so that the fetch says what went wrong).
    patience: float = 54.0
    hosts: Mapping[str, HostLimits] = field(default_factory=lambda: MappingProxyType({}))

    def limits_for(self, host: str, port: int) -> HostLimits:
        """The limits of ``host:port`` (a per-host override, else the defaults)."""
        for key in (f"{host}:{port}".lower(), host.lower()):
            if key in self.hosts:
                return self.hosts[key]
        return HostLimits(self.concurrency, self.rate)

    def to_json(self) -> str:
        """The policy as the JSON text :func:`policy_from_json` reads."""
        document: dict[str, Any] = {name: getattr(self, name) for name in self.__dataclass_fields__}
        document["hosts"] = {host: asdict(limits) for host, limits in self.hosts.items()}
        return json.dumps(document, sort_keys=True)


def user_agent(site_title: str, server_url: str) -> str:
    """``dasflex/VERSION (+URL; TITLE)``: names dasflex and the site a remote serves.

    >>> user_agent("Iowa das2 site", "https://das2.example.org")
    'dasflex/0.1.0 (+https://das2.example.org; Iowa das2 site)'
    """
    details = "; ".join(part for part in (f"+{server_url}" if server_url else "",
                                          " ".join(site_title.split())) if part)
    agent = f"dasflex/{__version__}"
    return f"{agent} ({details})" if details else agent


def policy_from_settings(settings: Settings) -> RemotePolicy:
    """The policy the ``remote_*`` settings describe."""
    return RemotePolicy(
        agent=user_agent(settings.site_title, settings.server_url),
        lock_dir=str(settings.remote_lock_dir or default_lock_dir()),
        concurrency=settings.remote_concurrency,
        rate=settings.remote_rate,
        connect_timeout=settings.remote_connect_timeout,
        first_byte_timeout=settings.remote_first_byte_timeout,
        idle_timeout=settings.remote_idle_timeout,
        retries=settings.remote_retries,
        gzip=settings.remote_gzip,
        patience=0.9 * settings.first_byte_timeout,
        hosts=MappingProxyType(parse_host_limits(settings.remote_host_limits)),
    )


def export_policy(settings: Settings) -> None:
    """Hand the settings' policy down to every fetch this process starts."""
    os.environ[POLICY_VARIABLE] = policy_from_settings(settings).to_json()


def policy_from_json(text: str) -> RemotePolicy:
    """Read :meth:`RemotePolicy.to_json` text (unknown keys are ignored)."""
    document: dict[str, Any] = json.loads(text)
    hosts = {host: HostLimits(int(value["concurrency"]), float(value["rate"]))
             for host, value in document.pop("hosts", {}).items()}
    known = {name: document[name] for name in RemotePolicy.__dataclass_fields__
             if name in document}
    return RemotePolicy(**known, hosts=MappingProxyType(hosts))


def current_policy(environ: Mapping[str, str] | None = None) -> RemotePolicy:
    """The policy handed down by the server, else the defaults."""
    text = (os.environ if environ is None else environ).get(POLICY_VARIABLE)
    if not text:
        return RemotePolicy()
    try:
        return policy_from_json(text)
    except (ValueError, TypeError, KeyError, AttributeError):
        return RemotePolicy()
