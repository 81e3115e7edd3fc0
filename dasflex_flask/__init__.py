"""The Flask WSGI front end: ``create_app()`` builds one app over the sans-I/O core.

Serve it with gunicorn (``gunicorn 'dasflex_flask:create_app()'``, or
``dasflex serve``).  Settings come from :func:`dasflex_core.settings.load_settings`
(``DASFLEX_*`` environment, ``$DASFLEX_CONFIG``) unless passed in; the site is
loaded once, here, so a broken definition stops the server at start-up.
:func:`server_of` gives the :class:`~dasflex_core.protocols.Server` an app serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dasflex_flask.extension import server_of

if TYPE_CHECKING:
    from flask import Flask

    from dasflex_core.model import Site
    from dasflex_core.settings import Settings

__all__ = ["create_app", "server_of"]


def create_app(settings: Settings | None = None, *, site: Site | None = None) -> Flask:
    """Build the WSGI application for ``settings`` (default: loaded) and ``site``."""
    from dasflex_flask.app import new_app  # Flask and the protocols load when an app is built

    return new_app(settings, site=site)
