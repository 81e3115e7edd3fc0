"""The Flask app over the core: one :class:`~dasflex_core.protocols.Server`, the views, the log.

:func:`dasflex_flask.create_app` is the public factory; it imports this module
when it builds an app, so importing :mod:`dasflex_flask` (as ``dasflex --help``
does for the ``serve`` command) loads neither Flask nor the core's protocols.
"""

from __future__ import annotations

from flask import Flask

from dasflex_core.model import Site
from dasflex_core.protocols import Server
from dasflex_core.requestlog import wrap_application
from dasflex_core.settings import Settings, load_settings
from dasflex_core.sources.loader import load_site
from dasflex_flask import views
from dasflex_flask.extension import attach


def new_app(settings: Settings | None = None, *, site: Site | None = None) -> Flask:
    """The WSGI application for ``settings`` (default: loaded) and ``site`` (default: loaded)."""
    settings = settings or load_settings()
    if site is None:
        site = load_site(settings.site_dir)
    app = Flask("dasflex_flask")
    attach(app, Server(settings, site))
    views.register(app)
    app.wsgi_app = wrap_application(app.wsgi_app, settings)  # type: ignore[method-assign]
    return app
