"""dasflex as a CGI program: the plain WSGI app under :class:`wsgiref.handlers.CGIHandler`.

Apache (or any CGI server) runs the ``dasflex-cgi`` console script, or a
symlink to it, once per request; the request comes in the CGI environment and
the response goes to stdout as ``Status:`` and header lines, then the body.
Settings come from :func:`dasflex_core.settings.load_settings`: set
``DASFLEX_CONFIG`` (or ``DASFLEX_*`` variables) with Apache's ``SetEnv``.

A CGI process pays for its imports on every request, so this module imports
only what every request needs: the Flask-free WSGI callable
(:mod:`dasflex_core.protocols.wsgi`), the settings and the site loader.  When Apache stops the program
(the client went away: SIGTERM, or a broken pipe on stdout), the running
pipeline is closed, so its readers never outlive the request.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from wsgiref.handlers import BaseCGIHandler, read_environ

from dasflex_cgi.validated import open_checks, save_checks
from dasflex_core.errors import DasFlexError
from dasflex_core.protocols.wsgi import make_wsgi_app
from dasflex_core.settings import load_settings
from dasflex_core.sources.loader import load_site

__all__ = ["Terminated", "build_application", "main", "serve"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Signals that end a CGI request early (Apache's cleanup sends SIGTERM).
STOP_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")


class Terminated(BaseException):
    """Raised in the request when a stop signal arrives, so cleanup code runs."""


def main(argv: Sequence[str] | None = None) -> int:
    """Answer the one request described by the CGI environment; return 0.

    ``argv`` is accepted for console-script symmetry; a CGI program takes no
    arguments (Apache passes a search query as arguments; they are ignored).
    """
    _install_stop_handlers()
    _configure_logging()
    try:
        serve(build_application(os.environ), sys.stdin.buffer, sys.stdout.buffer,
              sys.stderr, read_environ())
    except Terminated:
        return 0
    return 0


def build_application(environ: dict[str, str] | Any) -> WsgiApp:
    """The WSGI app for this environment's settings; a fixed 500 app if they are bad.

    A broken configuration is one line in the server's error log and a short
    ``500`` for the client: never a traceback.
    """
    try:
        checks = open_checks()  # settings and definitions already checked are not again
        settings = load_settings(environ=environ, checks=checks)
        site = load_site(settings.site_dir, checks=checks)
        save_checks(checks)
        return make_wsgi_app(settings, site=site)
    except DasFlexError as error:
        logging.getLogger("dasflex.cgi").error("cannot start: %s", error)
        return _unavailable_app


def serve(app: WsgiApp, stdin: Any, stdout: Any, stderr: Any,
          environ: dict[str, str]) -> None:
    """Run ``app`` for one CGI request on the given streams and environment.

    ``environ`` holds WSGI strings (latin-1 views of the raw bytes), as
    :func:`wsgiref.handlers.read_environ` makes them from ``os.environ``.
    """
    handler = _handler_class()(stdin, stdout, stderr, environ,
                               multithread=False, multiprocess=True)
    handler.run(app)


def _handler_class() -> type:
    """A CGI handler that logs one line per failure instead of a traceback."""
    class CgiHandler(BaseCGIHandler):
        wsgi_run_once = True
        error_body = b"ServerError: Internal server error\n"
        error_headers = [("Content-Type", "text/plain; charset=utf-8"),
                         ("Content-Length", str(len(error_body)))]

        def log_exception(self, exc_info: Any) -> None:
            error = exc_info[1]
            if isinstance(error, Terminated):
                line = f"request stopped by signal {error.args[0]} (the client left?)"
            else:
                line = f"request failed: {type(error).__name__}: {error}"
            stream = self.get_stderr()
            stream.write(f"dasflex-cgi: {line}\n")
            stream.flush()

    return CgiHandler


def _unavailable_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answer every request with a one-line 500 (the server is misconfigured)."""
    body = b"ServerError: the server is not configured correctly; see its error log\n"
    start_response("500 Internal Server Error", [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ])
    return [body]


def _install_stop_handlers() -> None:
    """Turn stop signals into :class:`Terminated` so the pipeline is closed."""
    def stop(signal_number: int, _frame: object) -> None:
        signal.signal(signal_number, signal.SIG_IGN)
        raise Terminated(signal_number)

    for name in STOP_SIGNALS:
        signal.signal(getattr(signal, name), stop)


def _configure_logging() -> None:
    """Warnings and errors to stderr (the web server's error log), one line each."""
    logging.basicConfig(level=logging.WARNING, format="dasflex-cgi: %(name)s: %(message)s")
