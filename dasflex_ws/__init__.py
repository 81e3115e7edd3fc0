"""The websocket daemon (``dasflex ws``): live das2/das3 streams over websockets.

Clients open ``ws://HOST:PORT/dasws/<source id>/flexRT?read.time.min=...``
with the subprotocol ``forward-stream-v1.das2.org`` (as the catalog's
``flexRT.json`` advertises) and receive the planned pipeline's output as
binary messages until it ends or they leave.  Modules:

* :mod:`dasflex_ws.routing`: paths, subprotocols, planning and refusals (no I/O);
* :mod:`dasflex_ws.pipeline`: the asyncio argv pipeline with backpressure;
* :mod:`dasflex_ws.server`: the websockets server, signals and the pid file.

Importing this package imports nothing else (``dasflex --help`` reads the
defaults below through :mod:`dasflex_ws.ws_cmd`); ``websockets`` is loaded
by :mod:`dasflex_ws.server` only.
"""

#: Default path prefix stripped from request paths.
DEFAULT_PREFIX = "/dasws"
#: Default address and port the daemon listens on.
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 52242
