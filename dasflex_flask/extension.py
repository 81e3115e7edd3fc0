"""The dasflex :class:`~dasflex_core.protocols.Server` a Flask app serves.

:func:`attach` stores it when :func:`dasflex_flask.create_app` builds the
app; :func:`server_of` hands it back (to the views, to ``dasflex serve``
and to tests), so nothing else knows where Flask keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from dasflex_core.protocols import Server

#: The key of the Server in ``app.extensions``.
_KEY = "dasflex"


def attach(app: Flask, server: Server) -> None:
    """Make ``server`` the one ``app`` serves."""
    app.extensions[_KEY] = server


def server_of(app: Flask) -> Server:
    """The Server ``app`` serves; LookupError when ``create_app`` did not build ``app``."""
    try:
        server: Server = app.extensions[_KEY]
    except KeyError:
        raise LookupError(f"{app.name} is not a dasflex app (build it with create_app)") from None
    return server
