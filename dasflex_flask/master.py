"""The gunicorn master of ``dasflex serve``: the app loaded once, before workers fork.

Settings and the site are checked before any worker starts, so a bad
definition is one clear line.  Schema checks and the HAPI infos are built
in forked children, so the master (whose pages every worker shares) never
imports jsonschema, numpy or networkx.  Workers are gunicorn ``gthread``
workers: long streams do not trip the worker timeout, and HTTP/1.0 clients
(das2) get close-delimited bodies, never chunked ones.  Pass-through streams
are relayed with splice(2) (:mod:`dasflex_flask.splice`).  The listening
socket is bound here, before gunicorn starts, so a busy port is one clear
line instead of gunicorn's retries.
"""

from __future__ import annotations

import gc
import json
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from dasflex_core.http import Request
from dasflex_core.protocols import hapi
from dasflex_core.settings import load_settings
from dasflex_core.sources.checks import SchemaChecks
from dasflex_core.sources.loader import check_schemas, load_site
from dasflex_flask.app import new_app
from dasflex_flask.extension import server_of

if TYPE_CHECKING:
    from flask import Flask

#: A JSON value a forked child hands back.
JSONValue = Any


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: any free port), for gunicorn to listen on.

    Raises OSError (``EADDRINUSE`` for a busy port) as ``bind`` does.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    return listener


def build_app(config: Path | None, overrides: Mapping[str, Any], url: str) -> Flask:
    """The app of the settings (``config`` file, then ``overrides``) and their site.

    ``url`` is the server's address when the settings give no ``server_url``
    (the HAPI infos, built here, name it).
    """
    checks = _checked_in_child(config, overrides)
    settings = load_settings(config, checks=checks, **overrides)
    app = new_app(settings, site=load_site(settings.site_dir, checks=checks))
    if settings.hapi_enabled:
        _warm_hapi(app, settings.server_url or url)
    return app


def serve(app: Flask, listener: socket.socket, *, workers: int, threads: int) -> None:
    """Run gunicorn on ``listener`` with ``app`` until the master is stopped."""
    _freeze_heap()
    options = _options(listener.detach(), workers, threads)
    _GunicornApplication(app, options).run()


def _checked_in_child(config: Path | None, overrides: Mapping[str, Any]) -> SchemaChecks:
    """The schema checks of the settings file and the site, done in a forked child.

    The master then loads both trusting those digests, so it never imports
    jsonschema (whose modules every forked worker would carry).  When the
    child fails (a bad file, no fork), the master checks everything itself
    and reports the problem.
    """

    def check() -> list[str]:
        checks = SchemaChecks()
        settings = load_settings(config, checks=checks, **overrides)
        check_schemas(settings.site_dir, checks)
        return sorted(checks.known)

    return SchemaChecks(_built_in_child(check) or ())


def _warm_hapi(app: Flask, base_url: str) -> None:
    """Build the HAPI infos once, before the workers fork, so that each inherits them.

    They are built in a child process that hands them back as JSON: probing
    a reader's stream imports numpy and the planner imports networkx, and
    neither should stay in the master (every worker would carry its pages).
    Where fork is not available they are built here.
    """
    server = server_of(app)
    request = Request(base_url=base_url)
    infos = _built_in_child(lambda: hapi.built_infos(server, request))
    if infos is None:
        hapi.warm(server, request)
    else:
        hapi.seed_infos(server, infos)


def _built_in_child(build: Callable[[], JSONValue]) -> JSONValue:
    """``build()`` run in a forked child, its JSON result read back; None if that failed."""
    if not hasattr(os, "fork"):
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: build, write, leave without running the parent's clean-up
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as out:
                out.write(json.dumps(build()).encode("utf-8"))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    return json.loads(data)


def _freeze_heap() -> None:
    """Move the loaded app's objects out of the collector's reach before workers fork.

    A collection in a worker would otherwise write to every inherited
    object's header and copy its page, so each worker would soon own a
    private copy of what the master loaded.
    """
    gc.collect()
    gc.freeze()


def _options(listener_fd: int, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": f"fd://{listener_fd}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 5,
        "preload_app": True,
        "control_socket_disable": True,
        "when_ready": _print_url,
    }


def _print_url(arbiter: Any) -> None:
    for listener in arbiter.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"dasflex serving on http://{shown}:{port}/", flush=True)


class _GunicornApplication(BaseApplication):
    """A gunicorn application serving an already-built app."""

    def __init__(self, app: Flask, options: Mapping[str, Any]) -> None:
        self._app = app
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app
