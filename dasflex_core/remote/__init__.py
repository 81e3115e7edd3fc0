"""Other servers as sources: remote HAPI datasets and das2/das3 sources.

* :mod:`.spec`: a definition's ``remote`` block and the reader command it becomes;
* :mod:`.policy`: limits, timeouts and User-Agent, from the settings;
* :mod:`.limits`: per-remote fetch slots and request rate, shared by processes;
* :mod:`.client`: the polite HTTP client (keep-alive, gzip, timeouts, retries);
* :mod:`.hapi_fetch` and :mod:`.hapi_das2`: HAPI data to das2 streams;
* :mod:`.das2_fetch`: das2 and das3 streams passed through whole packets;
* :mod:`.importer`: ``dasflex import-hapi`` and ``dasflex import-das2``.

The fetch itself is the stream tool ``dasflex_fetch``
(:mod:`dasflex_core.tools.dasflex_fetch`).  See ``docs/federation.md``.
"""
