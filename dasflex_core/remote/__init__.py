"""Other servers as sources: remote HAPI datasets and das2/das3 sources (the library).

* :mod:`.policy`: limits, timeouts and User-Agent, from the settings;
* :mod:`.limits`: per-remote fetch slots and request rate, shared by processes;
* :mod:`.client`: the polite HTTP client (keep-alive, gzip, timeouts, retries);
* :mod:`.times`: request times, ISO 8601 durations, ranges split by a remote's limit;
* :mod:`.hapi_columns`: a HAPI ``info`` header's parameters as das2 can carry them;
* :mod:`.hapi_fetch` and :mod:`.hapi_das2`: HAPI data to das2 streams;
* :mod:`.das2_fetch`: das2 and das3 streams passed through whole packets;
* :mod:`.importer`: ``dasflex import-hapi`` and ``dasflex import-das2``.

A definition's ``remote`` block and the reader command it becomes are
:mod:`dasflex_core.sources.remote`; the fetch itself is the stream tool
``dasflex_fetch`` (:mod:`dasflex_core.tools.dasflex_fetch`, its work in
:mod:`dasflex_core.tools.fetch`).  Nothing here imports the tools, the
planner or a protocol.  See ``docs/federation.md``.
"""
