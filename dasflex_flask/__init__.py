"""The Flask WSGI front end: ``create_app()`` builds one app over the sans-I/O core.

Serve it with gunicorn (``gunicorn 'dasflex_flask:create_app()'``, or
``dasflex serve``).  Settings come from :func:`dasflex_core.settings.load_settings`
(``DASFLEX_*`` environment, ``$DASFLEX_CONFIG``) unless passed in; the site is
loaded once, here, so a broken definition stops the server at start-up.
:func:`server_of` gives the :class:`~dasflex_core.protocols.Server` an app serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dasflex_flask.extension import attach, server_of

if TYPE_CHECKING:
    from flask import Flask

    from dasflex_core.model import Site
    from dasflex_core.settings import Settings

__all__ = ["create_app", "server_of"]


def create_app(settings: Settings | None = None, *, site: Site | None = None) -> Flask:
    """Build the WSGI application for ``settings`` (default: loaded) and ``site``."""
    from flask import Flask

    from dasflex_core.protocols import Server
    from dasflex_core.settings import load_settings
    from dasflex_flask import views

    settings = settings or load_settings()
    if site is None:
        from dasflex_core.sources.loader import load_site

        site = load_site(settings.site_dir)
    app = Flask(__name__)
    attach(app, Server(settings, site))
    views.register(app)
    from dasflex_core.requestlog import wrap_application

    app.wsgi_app = wrap_application(app.wsgi_app, settings)  # type: ignore[method-assign]
    return app
