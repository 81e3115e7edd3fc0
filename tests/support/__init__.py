"""Plain helpers shared by the tests (no fixtures, no tests).

Fixtures live in the ``conftest.py`` files; everything a test module or a
conftest imports from another file of the suite comes from here
(tests/test_layout.py checks it):

* :mod:`~tests.support.paths`: the project's folders;
* :mod:`~tests.support.system`: the ``system`` marker's guard and ``require_program``;
* :mod:`~tests.support.servers`: ``dasflex serve``, ``dasflex ws``, redis-server, free ports,
  the tests' own HTTP servers in a thread (``serving``);
* :mod:`~tests.support.hapi_server`: a HAPI 3.3 server that fails on demand;
* :mod:`~tests.support.processes`: ``dasflex`` run as a process, processes left behind;
* :mod:`~tests.support.remote_fetch`: ``dasflex_fetch`` run under a test fetch policy;
* :mod:`~tests.support.readers`: the test reader programs and the das2 packet framing they share;
* sites: :mod:`~tests.support.front_site`, :mod:`~tests.support.deploy_site`,
  :mod:`~tests.support.tiny_site`, :mod:`~tests.support.cache_site`;
* streams: :mod:`~tests.support.das2_streams`, :mod:`~tests.support.das3_columns`,
  :mod:`~tests.support.big_streams` (any size, for the bounded-memory tests);
* callers: :mod:`~tests.support.http`, :mod:`~tests.support.wsgi`, :mod:`~tests.support.tools`,
  :mod:`~tests.support.recorder`;
* data and parsers: :mod:`~tests.support.payloads`, :mod:`~tests.support.prometheus`.
"""
